package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/dnsscout/dnsscout/internal/baseline/change"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
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

func writeTable(w io.Writer, results []*recon.Result, opts Options) error {
	ew := &errWriter{w: w}
	paint := func(code, s string) string {
		if !opts.Color || code == "" {
			return s
		}
		return code + s + ansiReset
	}
	for i, v := range buildViews(results, opts) {
		if i > 0 {
			ew.printf("\n")
		}
		head := v.Domain
		if v.DomainUnicode != "" {
			head += " (" + v.DomainUnicode + ")"
		}
		ew.printf("%s\n", paint("\x1b[1m", "== "+head))
		if v.Partial != "" {
			ew.printf("%s\n", paint("\x1b[1;31m", "!! "+v.Partial))
		}
		for _, g := range v.Gaps {
			ew.printf("not covered: %s\n", tabSafe(g))
		}
		var facts []string
		if v.Started != "" {
			facts = append(facts, "started "+v.Started)
		}
		if v.Duration != "" {
			facts = append(facts, "took "+v.Duration)
		}
		facts = append(facts, plural(int(v.Stats.Queries), "query", "queries"))
		ew.printf("%s\n", strings.Join(facts, ", "))
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

		if len(v.Groups) > 0 {
			ew.printf("\nFINDINGS\n")
			for _, g := range v.Groups {
				for _, f := range g.Findings {
					tag := ""
					if f.Change != "" {
						tag = " " + paint("\x1b[1;32m", "["+f.Change+"]")
					}
					ew.printf("%s %s  %s  %s%s\n", paint(ansiSeverity[g.Severity], fmt.Sprintf("%-8s", g.Name)), f.ID, f.Subject, f.Title, tag)
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

		if len(v.Names) > 0 {
			ew.printf("\nNAMES (%d)\n", len(v.Names))
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			if v.HasSeen {
				fmt.Fprintf(tw, "NAME\tADDRESSES\tSOURCES\tFIRST SEEN\tLAST SEEN\tCHANGE\n")
			} else {
				fmt.Fprintf(tw, "NAME\tADDRESSES\tSOURCES\tCHANGE\n")
			}
			for _, n := range v.Names {
				name := n.Name
				if n.Unicode != "" {
					name += " (" + n.Unicode + ")"
				}
				ch := n.Change
				if n.Change == change.Changed && len(n.Previous) > 0 {
					ch += " (was " + strings.Join(n.Previous, ",") + ")"
				}
				seen := ""
				if v.HasSeen {
					seen = tabSafe(n.FirstSeen) + "\t" + tabSafe(n.LastSeen) + "\t"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", tabSafe(name), tabSafe(n.AddrText(",")), tabSafe(n.SourcesText()), seen, tabSafe(ch))
			}
			tw.Flush()
		}

		if len(v.Networks) > 0 {
			ew.printf("\nNETWORKS (%d)\n", len(v.Networks))
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "NETWORK\tAS\tCC\tNAMES\tADDRESSES\n")
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

		if len(v.Historic) > 0 {
			ew.printf("\nSEEN BEFORE, GONE NOW (%d)\n", len(v.Historic))
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "NAME\tWHAT\tTARGET\tLAST SEEN\tSOURCES\tRECORDS\tFINDING\n")
			for _, h := range v.Historic {
				name := h.Name
				if h.Unicode != "" {
					name += " (" + h.Unicode + ")"
				}
				fd := ""
				if h.Finding != nil {
					fd = h.Finding.Severity.String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tabSafe(name), tabSafe(h.KindText()), tabSafe(h.Target), tabSafe(h.LastSeen),
					tabSafe(strings.Join(h.Sources, ",")), tabSafe(strings.Join(h.Records, "; ")), tabSafe(fd))
			}
			tw.Flush()
		}

		if len(v.Nameservers) > 0 {
			ew.printf("\nNAMESERVERS (%d)\n", len(v.Nameservers))
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "NAME\tZONE\tADDRESS\tAUTH\tAXFR\tIXFR\tSERIAL\tRECURSION\tIDENTITY\n")
			for _, ns := range v.Nameservers {
				name := ns.Name
				if ns.Unicode != "" {
					name += " (" + ns.Unicode + ")"
				}
				if len(ns.Servers) == 0 {
					why := "no address"
					if ns.Error != "" {
						why = ns.Error
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t-\t-\n", tabSafe(name), tabSafe(ns.Zone), tabSafe(why))
					continue
				}
				for _, s := range ns.Servers {
					auth := yesNo(s.Authoritative)
					if !s.Responding {
						auth = "silent"
					}
					serial := "-"
					if s.Serial != 0 {
						serial = strconv.FormatUint(uint64(s.Serial), 10)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tabSafe(name), tabSafe(ns.Zone), tabSafe(s.Address), auth,
						tabSafe(dash(s.AXFR)), tabSafe(dash(s.IXFR)), serial, yesNo(s.Recursion), tabSafe(dash(identity(s))))
				}
			}
			tw.Flush()
		}

		if len(v.Wildcards) > 0 {
			ew.printf("\nWILDCARDS (%d)\n", len(v.Wildcards))
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "NAME\tTYPE\tDATA\n")
			for _, wc := range v.Wildcards {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", tabSafe(wc.Name), tabSafe(wc.Type), tabSafe(strings.Join(wc.Data, ",")))
			}
			tw.Flush()
		}

		if z := v.NSEC3; z != nil {
			ew.printf("\nNSEC3 %s: %d hashes, %d cracked, %d iterations, salt %q, opt-out %s, chain complete %s\n",
				z.Zone, z.Hashes, z.Cracked, z.Iterations, z.Salt, yesNo(z.OptOut), yesNo(z.Complete))
		}

		if cs := v.Changes; cs != nil && len(v.GoneFindings)+len(v.GoneNames)+len(v.GoneRecords) > 0 {
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
	}
	return ew.err
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
