package checks

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"text/template"
	"unicode/utf8"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// docPath is the generated page; docTemplate holds its fixed prose.
const (
	docPath     = "../../docs/checks.md"
	docTemplate = "testdata/checks.md.tmpl"
	docWidth    = 104 // columns of a wrapped bullet line
)

// TestChecksDoc generates docs/checks.md from the registry (each check's
// Doc, Severity and id) and the template; -update writes it.
func TestChecksDoc(t *testing.T) {
	got := renderDoc(t)
	if *update {
		if err := os.WriteFile(docPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/checks.md is not what the checks say; run go test ./internal/checks -run TestChecksDoc -update and review the diff")
	}
}

func renderDoc(t *testing.T) []byte {
	t.Helper()
	tmpl, err := template.New("checks.md.tmpl").Funcs(template.FuncMap{
		"ids":      severityIDs,
		"sections": docSections,
	}).ParseFiles(docTemplate)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// severityIDs lists, in registry order, the checks that can give findings
// of the named severity, with when: "`dangling-ns` (name does not resolve)".
func severityIDs(name string) (string, error) {
	level, err := finding.ParseSeverity(name)
	if err != nil {
		return "", err
	}
	var out []string
	for _, c := range All() {
		for _, r := range c.Severity {
			if r.Level != level {
				continue
			}
			s := "`" + c.ID + "`"
			if r.When != "" {
				s += " (" + r.When + ")"
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, ", "), nil
}

// docSections renders the section of every check, in registry order.
func docSections() string {
	var b strings.Builder
	for _, c := range All() {
		b.WriteString("## `" + c.ID + "`\n\n")
		sev := "Severity"
		if len(c.Severity) == 1 {
			sev += " " + c.Severity[0].Level.String()
		}
		for _, bullet := range []struct{ label, text string }{
			{"**Detects** ", c.Doc.Detects},
			{"**How**: ", c.Doc.How},
			{"**" + sev + "**: ", c.Doc.Severity},
			{"**Fix**: ", c.Doc.Fix},
			{"**References**: ", c.Doc.References},
			{"**Data**: ", c.Doc.Data},
		} {
			if bullet.text != "" {
				b.WriteString(wrapBullet(bullet.label+bullet.text, docWidth))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// wrapBullet renders text as a Markdown list item of lines at most width
// columns (a longer word gets a line of its own), continuation lines
// indented by two spaces.
func wrapBullet(text string, width int) string {
	var b strings.Builder
	line := "-"
	for _, w := range strings.Fields(text) {
		if utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width && line != "-" {
			b.WriteString(line + "\n")
			line = " "
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
	return b.String()
}
