package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/baseline"
	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current output")

// loadSample reads the rich sample result (testdata/sample.json): IDNs, a
// Unicode name, several nameservers, findings of every severity,
// wildcards, NSEC3 facts, and TXT records with HTML and Markdown in them.
func loadSample(t testing.TB) *scan.Report {
	t.Helper()
	return loadResult(t, "testdata/sample.json")
}

func loadResult(t testing.TB, path string) *scan.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r scan.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// withBaseline returns the sample annotated against testdata/baseline-prev.json.
func withBaseline(t testing.TB) (*scan.Report, map[string]*change.Set) {
	t.Helper()
	r := loadSample(t)
	f, err := baseline.Load("testdata/baseline-prev.json")
	if err != nil {
		t.Fatal(err)
	}
	f.Path = "baseline-prev.json" // stable in golden files
	return r, scan.Annotate(f, []*scan.Report{r})
}

// second is a small second domain for multi-domain reports.
func second() *scan.Report {
	return &scan.Report{Result: &recon.Result{
		Domain:   "example.net",
		Started:  time.Date(2026, 11, 27, 10, 1, 0, 0, time.UTC),
		Finished: time.Date(2026, 11, 27, 10, 1, 3, 0, time.UTC),
		Nameservers: []recon.Nameserver{{Name: "ns.example.net", Zone: "example.net", Sources: []string{"parent"}, Addresses: []string{"198.51.100.53"}, Resolves: true,
			Servers: []recon.Server{{Address: "198.51.100.53", Responding: true, Authoritative: true, AXFR: recon.TransferRefused, IXFR: recon.TransferRefused, Serial: 7}}}},
		Names:   []recon.Name{{Name: "example.net", Addresses: []string{"198.51.100.80"}, Sources: []string{"standard"}}},
		Records: []recon.Record{{Name: "example.net", Type: "A", TTL: 60, Data: "198.51.100.80", Source: "standard"}},
	},
		Findings: []finding.Finding{{ID: "dmarc-missing", Severity: finding.Medium, Title: "No DMARC record", Subject: "_dmarc.example.net",
			Evidence: []string{"_dmarc.example.net: NXDOMAIN"}, Remediation: "Publish a DMARC record."}},
		Stats: scan.Stats{Queries: 40, DurationMS: 3000},
	}
}

func render(t testing.TB, format string, results []*scan.Report, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, results, opts); err != nil {
		t.Fatalf("Write %s: %v", format, err)
	}
	return buf.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; create it with: go test ./internal/report -run '%s' -update", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		line := 0
		for line < len(gl) && line < len(wl) && gl[line] == wl[line] {
			line++
		}
		g, w := "<end>", "<end>"
		if line < len(gl) {
			g = gl[line]
		}
		if line < len(wl) {
			w = wl[line]
		}
		t.Errorf("output differs from %s at line %d:\n got: %.300s\nwant: %.300s\nIf the change is intended, run: go test ./internal/report -run '%s' -update", path, line+1, g, w, t.Name())
	}
}

func TestGolden(t *testing.T) {
	for _, format := range []string{"table", "json", "csv", "md", "html"} {
		t.Run("sample."+format, func(t *testing.T) {
			checkGolden(t, "sample."+format, render(t, format, []*scan.Report{loadSample(t)}, Options{Version: "test"}))
		})
		t.Run("baseline."+format, func(t *testing.T) {
			r, _ := withBaseline(t)
			checkGolden(t, "baseline."+format, render(t, format, []*scan.Report{r}, Options{Version: "test"}))
		})
		t.Run("multi."+format, func(t *testing.T) {
			checkGolden(t, "multi."+format, render(t, format, []*scan.Report{loadSample(t), second()}, Options{Version: "test"}))
		})
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		results []*scan.Report
		want    error
	}{
		{"unknown format", "yaml", []*scan.Report{second()}, ErrUnknownFormat},
		{"ndjson is streamed elsewhere", "ndjson", []*scan.Report{second()}, ErrUnknownFormat},
		{"nil result", "json", []*scan.Report{second(), nil}, ErrNilResult},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.format, tc.results, Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Write: %v, want %v", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriteReportsWriterErrors(t *testing.T) {
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			err := Write(&failWriter{}, format, []*scan.Report{loadSample(t)}, Options{})
			if err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("Write to a failing writer: %v, want the writer's error", err)
			}
		})
	}
}

func TestEmptyResults(t *testing.T) {
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			empty := &scan.Report{Result: &recon.Result{Domain: "example.org"}}
			out := render(t, format, []*scan.Report{empty}, Options{})
			if len(out) == 0 {
				t.Fatal("no output for an empty result")
			}
		})
	}
	if got := string(render(t, "json", nil, Options{})); strings.TrimSpace(got) != "[]" {
		t.Errorf("json of no results = %q, want []", got)
	}
}

func TestJSONContract(t *testing.T) {
	r, _ := withBaseline(t)
	one := render(t, "json", []*scan.Report{r}, Options{})
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(one, &obj); err != nil {
		t.Fatalf("single result is not a JSON object: %v", err)
	}
	for _, k := range []string{"domain", "nameservers", "names", "records", "wildcards", "nsec3", "addresses", "historic", "passive_sources", "findings", "stats", "changes"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("JSON object lacks %q", k)
		}
	}
	var changes change.Set
	if err := json.Unmarshal(obj["changes"], &changes); err != nil {
		t.Fatal(err)
	}
	if changes.Summary.Findings.New != 1 || changes.Summary.Findings.Gone != 1 {
		t.Errorf("changes summary %+v, want 1 new and 1 gone finding", changes.Summary.Findings)
	}
	// The JSON output round-trips as a baseline.
	f, err := baseline.Parse(one)
	if err != nil {
		t.Fatalf("report json does not load as a baseline: %v", err)
	}
	if f.Lookup("example.com") == nil {
		t.Fatal("baseline from report json lacks example.com")
	}
	many := render(t, "json", []*scan.Report{loadSample(t), second()}, Options{})
	var arr []map[string]any
	if err := json.Unmarshal(many, &arr); err != nil || len(arr) != 2 {
		t.Fatalf("two results: %v, %d objects; want an array of 2", err, len(arr))
	}
	if arr[1]["domain"] != "example.net" {
		t.Errorf("second object is %v, want example.net", arr[1]["domain"])
	}
	if _, ok := arr[0]["changes"]; ok {
		t.Error("changes present without a baseline")
	}
}

func TestCSV(t *testing.T) {
	r := loadSample(t)
	r.Records = append(r.Records, recon.Record{Name: "x.example.com", Type: "TYPE65534", TTL: 1, Data: `=HYPERLINK("http://example.net","x")`, Source: "axfr"})
	rows, err := csv.NewReader(bytes.NewReader(render(t, "csv", []*scan.Report{r}, Options{}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "name,type,ttl,data,source" {
		t.Fatalf("header %v", rows[0])
	}
	if len(rows) != len(r.Records)+1 {
		t.Fatalf("%d rows, want %d records + header", len(rows), len(r.Records))
	}
	for i, rec := range r.Records {
		row := rows[i+1]
		if row[0] != rec.Name || row[1] != rec.Type || row[2] != fmt.Sprint(rec.TTL) {
			t.Fatalf("row %d = %v, want %v", i+1, row, rec)
		}
	}
	if last := rows[len(rows)-1][3]; last != `'=HYPERLINK("http://example.net","x")` {
		t.Errorf("formula cell not neutralised: %q", last)
	}
	// With a baseline: a change column and the gone records.
	rb, cs := withBaseline(t)
	rows, err = csv.NewReader(bytes.NewReader(render(t, "csv", []*scan.Report{rb}, Options{}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, row := range rows[1:] {
		counts[row[5]]++
	}
	if counts["gone"] != cs["example.com"].Summary.Records.Gone || counts["new"] != cs["example.com"].Summary.Records.New {
		t.Errorf("change column counts %v, want the diff's %+v", counts, cs["example.com"].Summary.Records)
	}
}

func TestCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"192.0.2.1", "192.0.2.1"},
		{`"v=spf1 -all"`, `"v=spf1 -all"`},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
	}
	for _, tc := range tests {
		if got := cell(tc.in); got != tc.want {
			t.Errorf("cell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"www.example.com", "www.example.com"},
		{"bücher.example.com", "bücher.example.com"},
		{"a\x1b[31mred", `a\x1b[31mred`},
		{"tab\there", `tab\x09here`},
		{"new\nline", `new\x0aline`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"c1\u0085", `c1\u0085`},
		{"nonchar\uffff", `nonchar\uffff`},
	}
	for _, tc := range tests {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTableEscapesTerminalControls(t *testing.T) {
	r := second()
	r.Names[0].Name = "evil\x1b]0;pwned\x07.example.net"
	r.Findings[0].Evidence = []string{"\x1b[2J cleared"}
	out := string(render(t, "table", []*scan.Report{r}, Options{}))
	if strings.ContainsRune(out, 0x1b) || strings.ContainsRune(out, 0x07) {
		t.Fatalf("table output carries raw control characters:\n%q", out)
	}
	if !strings.Contains(out, `evil\x1b]0;pwned\x07.example.net`) {
		t.Errorf("escaped name missing from table:\n%s", out)
	}
	colored := string(render(t, "table", []*scan.Report{r}, Options{Color: true}))
	if !strings.Contains(colored, "\x1b[33m") {
		t.Error("Color: no colour for the medium finding")
	}
}

func TestMarkdownEscaping(t *testing.T) {
	tests := []struct{ in, code string }{
		{"plain", "`plain`"},
		{"a`b", "``a`b``"},
		{"`x", "`` `x ``"},
		{"a``b`", "``` a``b` ```"},
	}
	for _, tc := range tests {
		if got := mdCode(tc.in); got != tc.code {
			t.Errorf("mdCode(%q) = %q, want %q", tc.in, got, tc.code)
		}
	}
	if got := mdCell("a|b"); got != "`a\\|b`" {
		t.Errorf("mdCell = %q", got)
	}
	if got := mdText("<b>&x</b> *y*"); got != `\<b\>\&x\</b\> \*y\*` {
		t.Errorf("mdText = %q", got)
	}
	// In the sample, the TXT with HTML never appears outside a code span.
	md := string(render(t, "md", []*scan.Report{loadSample(t)}, Options{}))
	for _, line := range strings.Split(md, "\n") {
		if i := strings.Index(line, "<script>"); i >= 0 && strings.Count(line[:i], "`")%2 == 0 {
			t.Fatalf("raw <script> outside a code span: %s", line)
		}
	}
}

func TestHTMLLeadsWithWhatToFix(t *testing.T) {
	out := string(render(t, "html", []*scan.Report{loadSample(t)}, Options{}))
	fix := strings.Index(out, "What to fix first")
	crit := strings.Index(out, "Allow AXFR only to your secondary servers")
	findings := strings.Index(out, `id="d0-findings"`)
	mapAt := strings.Index(out, `<svg xmlns="http://www.w3.org/2000/svg" class="dmap"`)
	names := strings.Index(out, `id="d0-names"`)
	if fix < 0 || crit < 0 || findings < 0 || mapAt < 0 || names < 0 {
		t.Fatalf("missing sections: fix %d, remedy %d, findings %d, map %d, names %d", fix, crit, findings, mapAt, names)
	}
	if !(fix < crit && crit < findings && findings < mapAt && mapAt < names) {
		t.Errorf("order: fix-first %d, critical remedy %d, findings %d, map %d, names %d", fix, crit, findings, mapAt, names)
	}
	// Severity groups in order, worst first.
	last := -1
	for _, s := range []string{"critical", "high", "medium", "low", "info"} {
		i := strings.Index(out, `id="d0-sev-`+s+`"`)
		if i < last {
			t.Errorf("severity group %s at %d, before the previous group at %d", s, i, last)
		}
		last = i
	}
	// No external resources in the style sheet or the script.
	for _, bad := range []string{"http:", "https:", "@import", "url(", "fetch(", "XMLHttpRequest", "WebSocket"} {
		if strings.Contains(reportCSS+reportJS, bad) {
			t.Errorf("inline CSS or JS refers to something external: %q", bad)
		}
	}
}

func TestFixFirst(t *testing.T) {
	r := second()
	r.Findings = []finding.Finding{
		{ID: "a", Severity: finding.Info, Subject: "example.net"},
		{ID: "b", Severity: finding.Low, Subject: "example.net"},
	}
	v := buildView(0, r, nil)
	if len(v.FixFirst) != 1 || v.FixFirst[0].ID != "b" {
		t.Errorf("fix first = %v, want only the low finding (info waits)", v.FixFirst)
	}
	r.Findings = r.Findings[:1]
	v = buildView(0, r, nil)
	if len(v.FixFirst) != 1 || v.FixFirst[0].ID != "a" {
		t.Errorf("fix first with only info = %v", v.FixFirst)
	}
	for i := 0; i < 9; i++ {
		r.Findings = append(r.Findings, finding.Finding{ID: fmt.Sprint("h", i), Severity: finding.High})
	}
	v = buildView(0, r, nil)
	if len(v.FixFirst) != fixFirstLimit || v.FixFirst[0].ID != "h0" {
		t.Errorf("fix first = %d items starting %s, want %d starting h0", len(v.FixFirst), v.FixFirst[0].ID, fixFirstLimit)
	}
}

func TestNDJSONLine(t *testing.T) {
	tests := []struct {
		kind string
		v    any
		want string
	}{
		{"name", recon.Name{Name: "www.example.com", Addresses: []string{"192.0.2.1"}, Sources: []string{"axfr"}},
			`{"kind":"name","name":"www.example.com","addresses":["192.0.2.1"],"sources":["axfr"]}` + "\n"},
		{"empty", struct{}{}, `{"kind":"empty"}` + "\n"},
		{"count", 3, `{"kind":"count","data":3}` + "\n"},
	}
	for _, tc := range tests {
		got, err := NDJSONLine(tc.kind, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("NDJSONLine(%s) = %s, want %s", tc.kind, got, tc.want)
		}
		var m map[string]any
		if err := json.Unmarshal(got, &m); err != nil {
			t.Errorf("line is not JSON: %v", err)
		}
	}
	if _, err := NDJSONLine("bad", func() {}); err == nil {
		t.Error("NDJSONLine accepted a func")
	}
}
