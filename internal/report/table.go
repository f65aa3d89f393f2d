package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// ANSI colours of the table format.
var ansiSeverity = map[finding.Severity]string{
	finding.Critical: "\x1b[1;97;41m",
	finding.High:     "\x1b[1;31m",
	finding.Medium:   "\x1b[33m",
	finding.Low:      "\x1b[36m",
	finding.Info:     "\x1b[2m",
}

const ansiReset = "\x1b[0m"

// errWriter remembers the first write error so that the formatting code
// can stay linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }

// writeTable writes the terminal format: per domain a summary, then one
// section per kind of item (tableSections).
func writeTable(w io.Writer, results []*scan.Report, opts Options) error {
	t := &tableWriter{ew: &errWriter{w: w}, color: opts.Color}
	for i, v := range buildViews(results, opts) {
		if i > 0 {
			t.ew.printf("\n")
		}
		for _, section := range tableSections {
			section(t, v)
		}
	}
	return t.ew.err
}

// tableSections are the sections of one domain in the table format, in
// order.
var tableSections = []func(*tableWriter, *view){
	(*tableWriter).summary,
	(*tableWriter).findings,
	(*tableWriter).names,
	(*tableWriter).networks,
	(*tableWriter).historic,
	(*tableWriter).nameservers,
	(*tableWriter).wildcards,
	(*tableWriter).nsec3,
	(*tableWriter).gone,
}

// tableWriter writes the table format.
type tableWriter struct {
	ew    *errWriter
	color bool
}

// paint wraps s in an ANSI colour when colours are on.
func (t *tableWriter) paint(code, s string) string {
	if !t.color || code == "" {
		return s
	}
	return code + s + ansiReset
}

// columns starts a titled section of aligned columns; the caller writes
// the rows and flushes.
func (t *tableWriter) columns(title string, n int, header string) *tabwriter.Writer {
	t.ew.printf("\n%s (%d)\n", title, n)
	tw := tabwriter.NewWriter(t.ew, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, header)
	return tw
}

// withUnicode is "name (Unicode form)", or the name alone.
func withUnicode(name, unicode string) string {
	if unicode != "" {
		return name + " (" + unicode + ")"
	}
	return name
}

func (t *tableWriter) summary(v *view) {
	ew := t.ew
	ew.printf("%s\n", t.paint("\x1b[1m", "== "+withUnicode(v.Domain, v.DomainUnicode)))
	if v.Partial != "" {
		ew.printf("%s\n", t.paint("\x1b[1;31m", "!! "+v.Partial))
	}
	for _, g := range v.Gaps {
		ew.printf("not covered: %s\n", tabSafe(g))
	}
	ew.printf("%s\n", strings.Join(v.scanFacts(), ", "))
	ew.printf("%s in %s, %s, %s; findings: %s\n", plural(len(v.Names), "name", "names"), plural(len(v.Networks), "network", "networks"),
		plural(len(v.Records), "record", "records"), plural(len(v.Nameservers), "nameserver", "nameservers"), countsLine(v.Counts))
	if len(v.Historic) > 0 {
		ew.printf("seen before, gone now: %s\n", plural(len(v.Historic), "name", "names"))
	}
	for _, p := range v.Passive {
		ew.printf("passive source %s\n", p.Text())
	}
	if cs := v.Changes; cs != nil {
		if cs.Missing {
			ew.printf("since baseline: domain not in the baseline, everything is new\n")
		} else {
			ew.printf("since baseline: names %s; records %s; findings %s\n", changeLine(cs.Summary.Names), changeLine(cs.Summary.Records), changeLine(cs.Summary.Findings))
		}
	}
}

func (t *tableWriter) findings(v *view) {
	if len(v.Groups) == 0 {
		return
	}
	ew := t.ew
	ew.printf("\nFINDINGS\n")
	for _, g := range v.Groups {
		for _, f := range g.Findings {
			tag := ""
			if f.Change != "" {
				tag = " " + t.paint("\x1b[1;32m", "["+f.Change+"]")
			}
			ew.printf("%s %s  %s  %s%s\n", t.paint(ansiSeverity[g.Severity], fmt.Sprintf("%-8s", g.Name)), f.ID, f.Subject, f.Title, tag)
			for _, e := range f.Evidence {
				ew.printf("         evidence: %s\n", e)
			}
			if f.Previous != nil {
				ew.printf("         was: %s %s\n", f.Previous.Severity, strings.Join(f.Previous.Evidence, "; "))
			}
			if f.Remediation != "" {
				ew.printf("         fix: %s\n", f.Remediation)
			}
		}
	}
}

func (t *tableWriter) names(v *view) {
	if len(v.Names) == 0 {
		return
	}
	header := "NAME\tADDRESSES\tSOURCES\tCHANGE\n"
	if v.HasSeen {
		header = "NAME\tADDRESSES\tSOURCES\tFIRST SEEN\tLAST SEEN\tCHANGE\n"
	}
	tw := t.columns("NAMES", len(v.Names), header)
	for _, n := range v.Names {
		ch := n.Change
		if n.Change == change.Changed && len(n.Previous) > 0 {
			ch += " (was " + strings.Join(n.Previous, ",") + ")"
		}
		seen := ""
		if v.HasSeen {
			seen = tabSafe(n.FirstSeen) + "\t" + tabSafe(n.LastSeen) + "\t"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", tabSafe(withUnicode(n.Name, n.Unicode)), tabSafe(n.AddrText(",")), tabSafe(n.SourcesText()), seen, tabSafe(ch))
	}
	tw.Flush()
}

func (t *tableWriter) networks(v *view) {
	if len(v.Networks) == 0 {
		return
	}
	tw := t.columns("NETWORKS", len(v.Networks), "NETWORK\tAS\tCC\tNAMES\tADDRESSES\n")
	for _, n := range v.Networks {
		prefix := n.Prefix
		if n.Fallback {
			prefix += " (no data)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", tabSafe(prefix), tabSafe(n.ASText()), tabSafe(n.Country),
			tabSafe(countList(n.Names)), tabSafe(countList(n.Addrs)))
	}
	tw.Flush()
}

func (t *tableWriter) historic(v *view) {
	if len(v.Historic) == 0 {
		return
	}
	tw := t.columns("SEEN BEFORE, GONE NOW", len(v.Historic), "NAME\tWHAT\tTARGET\tLAST SEEN\tSOURCES\tRECORDS\tFINDING\n")
	for _, h := range v.Historic {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tabSafe(withUnicode(h.Name, h.Unicode)), tabSafe(h.KindText()), tabSafe(h.Target), tabSafe(h.LastSeen),
			tabSafe(strings.Join(h.Sources, ",")), tabSafe(strings.Join(h.Records, "; ")), tabSafe(h.severityText()))
	}
	tw.Flush()
}

func (t *tableWriter) nameservers(v *view) {
	if len(v.Nameservers) == 0 {
		return
	}
	tw := t.columns("NAMESERVERS", len(v.Nameservers), "NAME\tZONE\tADDRESS\tAUTH\tAXFR\tIXFR\tSERIAL\tRECURSION\tIDENTITY\n")
	for _, ns := range v.Nameservers {
		name := withUnicode(ns.Name, ns.Unicode)
		if len(ns.Servers) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t-\t-\n", tabSafe(name), tabSafe(ns.Zone), tabSafe(ns.noServerText()))
			continue
		}
		for _, s := range ns.Servers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tabSafe(name), tabSafe(ns.Zone), tabSafe(s.Address), authText(s, "silent"),
				tabSafe(dash(s.AXFR)), tabSafe(dash(s.IXFR)), serialText(s, "-"), yesNo(s.Recursion), tabSafe(dash(identity(s))))
		}
	}
	tw.Flush()
}

func (t *tableWriter) wildcards(v *view) {
	if len(v.Wildcards) == 0 {
		return
	}
	tw := t.columns("WILDCARDS", len(v.Wildcards), "NAME\tTYPE\tDATA\n")
	for _, wc := range v.Wildcards {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", tabSafe(wc.Name), tabSafe(wc.Type), tabSafe(strings.Join(wc.Data, ",")))
	}
	tw.Flush()
}

func (t *tableWriter) nsec3(v *view) {
	if z := v.NSEC3; z != nil {
		t.ew.printf("\nNSEC3 %s: %d hashes, %d cracked, %d iterations, salt %q, opt-out %s, chain complete %s\n",
			z.Zone, z.Hashes, z.Cracked, z.Iterations, z.Salt, yesNo(z.OptOut), yesNo(z.Complete))
	}
}

func (t *tableWriter) gone(v *view) {
	if v.Changes == nil || len(v.GoneFindings)+len(v.GoneNames)+len(v.GoneRecords) == 0 {
		return
	}
	ew := t.ew
	ew.printf("\nGONE SINCE BASELINE\n")
	for _, f := range v.GoneFindings {
		ew.printf("finding  %s %s  %s  %s\n", f.Severity, f.ID, f.Subject, f.Title)
	}
	for _, n := range v.GoneNames {
		ew.printf("name     %s  %s\n", n.Name, strings.Join(n.Addresses, ","))
	}
	for _, r := range v.GoneRecords {
		ew.printf("record   %s %s %s\n", r.Name, r.Type, r.Data)
	}
}

// tableListLimit is how many names or addresses of a network the table
// format lists; the terminal is narrow.
const tableListLimit = 4

// countList is "3: a, b, c", the first few of a list with its length.
func countList(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return strconv.Itoa(len(items)) + ": " + listText(items, ", ", tableListLimit)
}

// tabSafe keeps a cell on its tabwriter column: clean has already escaped
// tabs and newlines, so only an empty cell needs care.
func tabSafe(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
