package report

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

//go:embed assets/report.html.tmpl
var htmlTemplate string

//go:embed assets/report.css
var reportCSS string

//go:embed assets/report.js
var reportJS string

// tmpl is parsed on first use: parsing at init cost every command (ingest,
// serve, ...) 5-9 ms of start-up.
var tmpl = sync.OnceValue(parseReport)

// parseReport parses the report's templates.
func parseReport() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"f":        func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) },
		"join":     strings.Join,
		"sev":      sevClass,
		"title":    func(s string) string { return strings.ToUpper(s[:1]) + s[1:] },
		"facts":    func(s recon.Server) string { return strings.Join(serverFacts(s), ", ") },
		"identity": identity,
		"yesno":    yesNo,
		"plural":   plural,
		"counts":   countsLine,
		"changes":  changeLine,
		"add":      func(a, b int) int { return a + b },
		"sevCards": sevCards,
		"serial": func(s uint32) string {
			if s == 0 {
				return ""
			}
			return strconv.FormatUint(uint64(s), 10)
		},
	}).Parse(htmlTemplate))
}

// htmlPage is what the template draws.
type htmlPage struct {
	Title    string
	Version  string
	Finished string
	Multi    bool
	Views    []htmlView
	CSP      string
	CSS      template.CSS
	JS       template.JS
}

type htmlView struct {
	*view
	Map *mapLayout
}

type sevCard struct {
	Name  string
	Count int
}

func sevCards(c [5]int) []sevCard {
	out := make([]sevCard, 0, len(severities))
	for _, s := range severities {
		out = append(out, sevCard{s.String(), c[s]})
	}
	return out
}

// contentSecurityPolicy allows nothing but the report's own style and
// script, identified by their hashes: no network, no injected script.
func contentSecurityPolicy() string {
	h := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return "default-src 'none'; script-src " + h(reportJS) + "; style-src " + h(reportCSS) +
		"; img-src data:; base-uri 'none'; form-action 'none'"
}

func writeHTML(w io.Writer, results []*scan.Report, opts Options) error {
	page := htmlPage{
		Title:   reportTitle(results, opts),
		Version: clean(opts.Version),
		Multi:   len(results) > 1,
		CSP:     contentSecurityPolicy(),
		CSS:     template.CSS(reportCSS),
		JS:      template.JS(reportJS),
	}
	for i, v := range buildViews(results, opts) {
		page.Views = append(page.Views, htmlView{view: v, Map: buildMap(results[i], v, opts)})
		if f := results[i].Finished; !f.IsZero() {
			if s := fmtTime(f); s > page.Finished {
				page.Finished = s
			}
		}
	}
	var buf bytes.Buffer
	if err := tmpl().ExecuteTemplate(&buf, "page", page); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// writeMapSVG writes one result's domain map as a standalone SVG document
// (the same markup the HTML report embeds).
func writeMapSVG(w io.Writer, r *scan.Report, opts Options) (*mapLayout, error) {
	opts = opts.withDefaults()
	v := buildView(0, r, r.Changes)
	m := buildMap(r, v, opts)
	var buf bytes.Buffer
	if err := tmpl().ExecuteTemplate(&buf, "map", m); err != nil {
		return nil, fmt.Errorf("report: map: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return m, err
}
