package report

import (
	"bufio"
	_ "embed"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/scan"
)

//go:embed assets/inventory.html.tmpl
var inventoryTemplate string

// inventoryTmpl is the report's templates and the inventory's, parsed on
// first use from the sources: tmpl cannot be cloned once a report has
// been executed with it.
var inventoryTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(parseReport().Parse(inventoryTemplate))
})

// InventorySource is an inventory's reports, read one at a time so that
// an inventory of any size renders in the memory of its largest domain.
// Package inventory's output directory implements it.
type InventorySource interface {
	// Domains lists the domains of the inventory.
	Domains() ([]string, error)
	// Load reads one domain's report. A domain that could not be
	// examined returns a nil report and why (failure).
	Load(domain string) (rep *scan.Report, failure string, err error)
}

// InventoryFormats are the formats WriteInventory knows.
func InventoryFormats() []string { return []string{"html", "xlsx", "csv"} }

// inventoryRow is what the overview keeps of one domain.
type inventoryRow struct {
	Domain, Failure     string
	Anchor              string
	Counts              [5]int
	Exposure            int
	Names, Records, NSs int
	Partial             bool
}

// Exposure weighs a domain's findings by severity (critical 1000, high
// 100, medium 10, low 1, info 0): the order of an inventory report, worst
// first.
func Exposure(counts [5]int) int {
	return 1000*counts[finding.Critical] + 100*counts[finding.High] + 10*counts[finding.Medium] + counts[finding.Low]
}

// WriteInventory renders a whole inventory from src in format (html: an
// overview table sortable by exposure, then one section per domain, worst
// first; xlsx: an Overview sheet, then one sheet per kind of item with a
// Domain column; csv: every finding, one per row, worst domains first).
// Each domain is read, rendered and dropped before the next.
func WriteInventory(w io.Writer, format string, src InventorySource, opts Options) error {
	opts = opts.withDefaults()
	rows, err := inventoryRows(src)
	if err != nil {
		return err
	}
	switch strings.ToLower(format) {
	case "html":
		return writeInventoryHTML(w, src, rows, opts)
	case "xlsx":
		return writeInventoryXLSX(w, src, rows, opts)
	case "csv":
		return writeInventoryCSV(w, src, rows)
	default:
		return fmt.Errorf("%w %q for an inventory (want one of %s)", ErrUnknownFormat, format, strings.Join(InventoryFormats(), ", "))
	}
}

// inventoryRows reads every domain once for the overview, worst first.
func inventoryRows(src InventorySource) ([]inventoryRow, error) {
	domains, err := src.Domains()
	if err != nil {
		return nil, fmt.Errorf("report: inventory: %w", err)
	}
	rows := make([]inventoryRow, 0, len(domains))
	for _, d := range domains {
		rep, failure, err := src.Load(d)
		if err != nil {
			return nil, fmt.Errorf("report: inventory: %s: %w", d, err)
		}
		row := inventoryRow{Domain: clean(d), Failure: clean(failure)}
		if rep != nil {
			for _, f := range rep.Findings {
				if f.Severity >= finding.Info && f.Severity <= finding.Critical {
					row.Counts[f.Severity]++
				}
			}
			row.Exposure = Exposure(row.Counts)
			row.Names, row.Records, row.NSs, row.Partial = len(rep.Names), len(rep.Records), len(rep.Nameservers), rep.Partial()
		}
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b inventoryRow) int {
		if a.Exposure != b.Exposure {
			return b.Exposure - a.Exposure
		}
		return strings.Compare(a.Domain, b.Domain)
	})
	for i := range rows {
		rows[i].Anchor = fmt.Sprintf("d%d", i)
	}
	return rows, nil
}

// inventoryViews yields the view of each examined domain in rows' order.
func inventoryViews(src InventorySource, rows []inventoryRow) iter.Seq2[*view, error] {
	return func(yield func(*view, error) bool) {
		for i, row := range rows {
			if row.Failure != "" {
				continue
			}
			rep, _, err := src.Load(row.Domain)
			if err == nil && rep == nil {
				continue
			}
			var v *view
			if err == nil {
				v = buildView(i, rep, rep.Changes)
			}
			if !yield(v, err) {
				return
			}
		}
	}
}

// inventoryPage is what the inventory template draws around the domains.
type inventoryPage struct {
	htmlPage
	Rows                      []inventoryRow
	Domains, Failed, Findings int
	Totals                    [5]int
}

func writeInventoryHTML(w io.Writer, src InventorySource, rows []inventoryRow, opts Options) error {
	page := inventoryPage{
		htmlPage: htmlPage{Title: opts.Title, Version: clean(opts.Version), Multi: true,
			CSP: contentSecurityPolicy(), CSS: template.CSS(reportCSS), JS: template.JS(reportJS)},
		Rows: rows, Domains: len(rows),
	}
	if page.Title == "" {
		page.Title = fmt.Sprintf("DNS exposure inventory: %d domains", len(rows))
	}
	for _, r := range rows {
		if r.Failure != "" {
			page.Failed++
		}
		for s, n := range r.Counts {
			page.Totals[s] += n
			page.Findings += n
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := inventoryTmpl().ExecuteTemplate(bw, "inventory-head", page); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	i := 0
	for _, row := range rows {
		if row.Failure != "" {
			continue
		}
		rep, _, err := src.Load(row.Domain)
		if err != nil {
			return fmt.Errorf("report: inventory: %s: %w", row.Domain, err)
		}
		v := buildView(i, rep, rep.Changes)
		v.Anchor = row.Anchor
		if err := inventoryTmpl().ExecuteTemplate(bw, "domain", htmlView{view: v, Map: buildMap(rep, v, opts)}); err != nil {
			return fmt.Errorf("report: html: %w", err)
		}
		i++
	}
	if err := inventoryTmpl().ExecuteTemplate(bw, "inventory-foot", page); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return bw.Flush()
}

// inventoryOverviewSheet is the first sheet of an inventory workbook.
var inventoryOverviewSheet = xlsxSheet{name: "Overview", widths: []float64{30, 10, 9, 9, 9, 9, 9, 9, 9, 12, 10, 50},
	header: []string{"Domain", "Exposure", "Critical", "High", "Medium", "Low", "Info", "Names", "Records", "Nameservers", "Complete", "Error"}}

func writeInventoryXLSX(w io.Writer, src InventorySource, rows []inventoryRow, _ Options) error {
	sheets := append([]xlsxSheet{inventoryOverviewSheet}, slices.DeleteFunc(slices.Clone(xlsxSheets), func(s xlsxSheet) bool { return s.withChanges })...)
	b, err := newXLSXBook(sheets)
	if b != nil {
		defer b.f.Close()
	}
	if err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	// The overview comes from the rows already read; each other sheet
	// reads the domains again, one at a time.
	overview := sheets[0]
	overview.rows = func(b *xlsxBook, v *view, add xlsxAdd) error {
		r := rows[v.Index]
		complete := "yes"
		if r.Partial {
			complete = "partial"
		}
		if r.Failure != "" {
			complete = "no"
		}
		return add(r.Domain, r.Exposure, r.Counts[finding.Critical], r.Counts[finding.High], r.Counts[finding.Medium], r.Counts[finding.Low], r.Counts[finding.Info],
			r.Names, r.Records, r.NSs, complete, r.Failure)
	}
	index := func(yield func(*view, error) bool) {
		for i := range rows {
			if !yield(&view{Index: i}, nil) {
				return
			}
		}
	}
	if err := b.write(overview, index); err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	for _, s := range sheets[1:] {
		if err := b.write(s, inventoryViews(src, rows)); err != nil {
			return fmt.Errorf("report: xlsx: %w", err)
		}
	}
	b.f.SetActiveSheet(0)
	if err := b.f.Write(w); err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	return nil
}

// writeInventoryCSV writes every finding, worst domains first, and one row
// for each domain that could not be examined.
func writeInventoryCSV(w io.Writer, src InventorySource, rows []inventoryRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"domain", "severity", "id", "title", "subject", "evidence", "remediation"}); err != nil {
		return err
	}
	for _, row := range rows {
		if row.Failure != "" {
			if err := cw.Write([]string{cell(row.Domain), "", "", "not examined", "", cell(row.Failure), ""}); err != nil {
				return err
			}
			continue
		}
		rep, _, err := src.Load(row.Domain)
		if err != nil {
			return fmt.Errorf("report: inventory: %s: %w", row.Domain, err)
		}
		fs := slices.Clone(rep.Findings)
		slices.SortStableFunc(fs, func(a, b finding.Finding) int { return int(b.Severity) - int(a.Severity) })
		for _, f := range fs {
			f = cleanFinding(f)
			if err := cw.Write([]string{cell(row.Domain), f.Severity.String(), cell(f.ID), cell(f.Title), cell(f.Subject),
				cell(strings.Join(f.Evidence, "\n")), cell(f.Remediation)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
