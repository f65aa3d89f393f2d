package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// writeXLSX writes a workbook with one sheet per kind of item (as
// DNSDumpster exports), every domain's rows in one sheet with a Domain
// column. Cells are typed strings or numbers, never formulas.
func writeXLSX(w io.Writer, results []*scan.Report, opts Options) error {
	views := buildViews(results, opts)
	sheets := xlsxSheets
	if !anyChanges(results) {
		sheets = slices.DeleteFunc(slices.Clone(sheets), func(s xlsxSheet) bool { return s.withChanges })
	}
	b, err := newXLSXBook(sheets)
	if b != nil {
		defer b.f.Close()
	}
	if err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	for _, s := range sheets {
		if err := b.write(s, views); err != nil {
			return fmt.Errorf("report: xlsx: %w", err)
		}
	}
	b.f.SetActiveSheet(0)
	if err := b.f.Write(w); err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	return nil
}

// An xlsxSheet is one sheet of the workbook: its columns, and the rows one
// domain gives it.
type xlsxSheet struct {
	name   string
	widths []float64
	header []string
	rows   func(b *xlsxBook, v *view, add xlsxAdd) error
	// withChanges: the sheet exists only when a baseline was given.
	withChanges bool
}

// xlsxAdd appends a row of cells (strings, numbers or excelize.Cell).
type xlsxAdd func(cells ...any) error

// xlsxSheets are the sheets of the workbook, in order.
var xlsxSheets = []xlsxSheet{
	{name: "Names", widths: []float64{22, 40, 30, 40, 24, 10, 30, 18, 30, 10, 24, 22, 22},
		header: []string{"Domain", "Name", "Unicode", "Addresses", "Sources", "Change", "Networks", "AS", "AS name", "Country", "Passive sources", "First seen", "Last seen"},
		rows:   xlsxNames},
	{name: "Records", widths: []float64{22, 40, 8, 8, 60, 12, 10},
		header: []string{"Domain", "Name", "Type", "TTL", "Data", "Source", "Change"},
		rows:   xlsxRecords},
	{name: "Nameservers", widths: []float64{22, 22, 30, 20, 24, 11, 13, 10, 8, 10, 12, 10, 20, 16, 20, 16, 16, 30, 22, 12, 30, 10},
		header: []string{"Domain", "Zone", "Nameserver", "Unicode", "Address", "Responding", "Authoritative", "AXFR", "AXFR records", "IXFR", "Serial", "Recursion",
			"version.bind", "version.server", "hostname.bind", "id.server", "NSID", "Error", "Network", "AS", "AS name", "Country"},
		rows: xlsxNameservers},
	{name: "Networks", widths: []float64{22, 24, 12, 30, 10, 8, 60, 10, 60, 30},
		header: []string{"Domain", "Network", "AS", "AS name", "Country", "Names", "Name list", "Addresses", "Address list", "Data"},
		rows:   xlsxNetworks},
	{name: "Historic", widths: []float64{22, 40, 18, 36, 22, 24, 60, 20},
		header: []string{"Domain", "Name", "Kind", "Target", "Last seen", "Sources", "Records", "Finding"},
		rows:   xlsxHistoric},
	{name: "Findings", widths: []float64{22, 10, 24, 40, 34, 60, 60, 30, 10},
		header: []string{"Domain", "Severity", "ID", "Title", "Subject", "Evidence", "Remediation", "References", "Change"},
		rows:   xlsxFindings},
	{name: "Changes", widths: []float64{22, 10, 10, 40, 60},
		header: []string{"Domain", "Kind", "Change", "Item", "Detail"},
		rows:   xlsxChanges, withChanges: true},
}

// xlsxSeverityColors are the fill colours of the severity cells.
var xlsxSeverityColors = map[finding.Severity]string{
	finding.Critical: "A61E2B", finding.High: "D9480F", finding.Medium: "E8A317", finding.Low: "1C7ED6", finding.Info: "6C757D",
}

// xlsxBook is the workbook being written and its cell styles.
type xlsxBook struct {
	f    *excelize.File
	head int // header row
	wrap int // wrapped text
	sev  map[finding.Severity]int
}

// newXLSXBook creates the workbook with its sheets and styles.
func newXLSXBook(sheets []xlsxSheet) (*xlsxBook, error) {
	b := &xlsxBook{f: excelize.NewFile(), sev: map[finding.Severity]int{}}
	if err := b.f.SetSheetName("Sheet1", sheets[0].name); err != nil {
		return b, err
	}
	for _, s := range sheets[1:] {
		if _, err := b.f.NewSheet(s.name); err != nil {
			return b, err
		}
	}
	var err error
	if b.head, err = b.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DEE2E6"}}}); err != nil {
		return b, err
	}
	if b.wrap, err = b.f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}); err != nil {
		return b, err
	}
	for _, s := range severities {
		id, err := b.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"},
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{xlsxSeverityColors[s]}}, Alignment: &excelize.Alignment{Vertical: "top"}})
		if err != nil {
			return b, err
		}
		b.sev[s] = id
	}
	return b, nil
}

// write streams one sheet: widths, a frozen header row, every domain's
// rows, and a table over them.
func (b *xlsxBook) write(s xlsxSheet, views []*view) error {
	sw, err := b.f.NewStreamWriter(s.name)
	if err != nil {
		return err
	}
	for i, wd := range s.widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	hdr := make([]any, len(s.header))
	for i, h := range s.header {
		hdr[i] = excelize.Cell{StyleID: b.head, Value: h}
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return err
	}
	n := 1
	add := func(cells ...any) error {
		n++
		for i, c := range cells {
			switch c := c.(type) {
			case string:
				cells[i] = xlsxText(c)
			case excelize.Cell:
				if s, ok := c.Value.(string); ok {
					c.Value = xlsxText(s)
					cells[i] = c
				}
			}
		}
		cell, err := excelize.CoordinatesToCellName(1, n)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, cells)
	}
	for _, v := range views {
		if err := s.rows(b, v, add); err != nil {
			return err
		}
	}
	// A table gives every column a filter and sort button; on a stream it
	// costs nothing, unlike AutoFilter, which re-reads the whole sheet.
	last, err := excelize.CoordinatesToCellName(len(s.header), max(n, 2))
	if err != nil {
		return err
	}
	stripes := true
	if err := sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: s.name + "Table", StyleName: "TableStyleLight1", ShowRowStripes: &stripes}); err != nil {
		return err
	}
	return sw.Flush()
}

// wrapped is a cell whose text wraps.
func (b *xlsxBook) wrapped(s string) excelize.Cell { return excelize.Cell{StyleID: b.wrap, Value: s} }

func xlsxNames(_ *xlsxBook, v *view, add xlsxAdd) error {
	for _, n := range v.Names {
		nets, asns, asNames, countries := v.intel.summarise(n.Addresses)
		if err := add(v.Domain, n.Name, n.Unicode, strings.Join(n.Addresses, " "), strings.Join(n.Sources, ", "), nameChangeText(n),
			strings.Join(nets, " "), strings.Join(asns, " "), strings.Join(asNames, "; "), strings.Join(countries, " "),
			strings.Join(n.PassiveSources, ", "), n.FirstSeenFull, n.LastSeenFull); err != nil {
			return err
		}
	}
	return nil
}

func xlsxRecords(_ *xlsxBook, v *view, add xlsxAdd) error {
	for _, r := range v.Records {
		if err := add(v.Domain, r.Name, r.Type, r.TTL, r.Data, r.Source, r.Change); err != nil {
			return err
		}
	}
	for _, r := range v.GoneRecords {
		if err := add(v.Domain, r.Name, r.Type, r.TTL, r.Data, r.Source, r.Change); err != nil {
			return err
		}
	}
	return nil
}

func xlsxNameservers(_ *xlsxBook, v *view, add xlsxAdd) error {
	for _, ns := range v.Nameservers {
		if len(ns.Servers) == 0 {
			if err := add(v.Domain, ns.Zone, ns.Name, ns.Unicode, "", "", "", "", "", "", "", "", "", "", "", "", "", ns.Error, "", "", "", ""); err != nil {
				return err
			}
		}
		for _, s := range ns.Servers {
			nets, asns, asNames, countries := v.intel.summarise([]string{s.Address})
			if err := add(v.Domain, ns.Zone, ns.Name, ns.Unicode, s.Address, yesNo(s.Responding), yesNo(s.Authoritative), s.AXFR, s.AXFRRecords,
				s.IXFR, s.Serial, yesNo(s.Recursion), s.Version, s.VersionServer, s.Hostname, s.ID, s.NSID, s.Error,
				strings.Join(nets, " "), strings.Join(asns, " "), strings.Join(asNames, "; "), strings.Join(countries, " ")); err != nil {
				return err
			}
		}
	}
	return nil
}

func xlsxNetworks(b *xlsxBook, v *view, add xlsxAdd) error {
	for _, n := range v.Networks {
		if err := add(v.Domain, n.Prefix, n.AS, n.ASName, n.Country, len(n.Names), b.wrapped(strings.Join(n.Names, "\n")),
			len(n.Addrs), b.wrapped(strings.Join(n.Addrs, "\n")), n.DataText()); err != nil {
			return err
		}
	}
	return nil
}

func xlsxHistoric(b *xlsxBook, v *view, add xlsxAdd) error {
	for _, h := range v.Historic {
		fd := ""
		if h.Finding != nil {
			fd = h.Finding.Severity.String() + " " + h.Finding.ID
		}
		if err := add(v.Domain, h.Name, h.Kind, h.Target, h.LastSeenFull, strings.Join(h.Sources, ", "),
			b.wrapped(strings.Join(h.Records, "\n")), fd); err != nil {
			return err
		}
	}
	return nil
}

func xlsxFindings(b *xlsxBook, v *view, add xlsxAdd) error {
	for _, g := range v.Groups {
		for _, fv := range g.Findings {
			if err := add(v.Domain, excelize.Cell{StyleID: b.sev[g.Severity], Value: g.Name}, fv.ID, fv.Title, fv.Subject,
				b.wrapped(strings.Join(fv.Evidence, "\n")), b.wrapped(fv.Remediation),
				strings.Join(fv.References, "\n"), fv.Change); err != nil {
				return err
			}
		}
	}
	for _, fc := range v.GoneFindings {
		if err := add(v.Domain, fc.Severity.String(), fc.ID, fc.Title, fc.Subject, strings.Join(fc.Evidence, "\n"), fc.Remediation, "", fc.Change); err != nil {
			return err
		}
	}
	return nil
}

func xlsxChanges(_ *xlsxBook, v *view, add xlsxAdd) error {
	cs := v.Changes
	if cs == nil {
		return nil
	}
	for _, fc := range cs.Findings {
		if err := add(v.Domain, "finding", fc.Change, clean(fc.ID+" "+fc.Subject), clean(fc.Severity.String()+" "+fc.Title)); err != nil {
			return err
		}
	}
	for _, n := range cs.Names {
		detail := strings.Join(n.Addresses, " ")
		if n.PreviousAddresses != nil {
			detail = "was " + strings.Join(n.PreviousAddresses, " ") + ", now " + detail
		}
		if err := add(v.Domain, "name", n.Change, clean(n.Name), clean(detail)); err != nil {
			return err
		}
	}
	for _, r := range cs.Records {
		if err := add(v.Domain, "record", r.Change, clean(r.Name+" "+r.Type), clean(r.Data)); err != nil {
			return err
		}
	}
	return nil
}

// xlsxText keeps a string inside the cell limit; clean has already made it
// valid XML text.
func xlsxText(s string) string {
	if len([]rune(s)) <= excelize.TotalCellChars {
		return s
	}
	r := []rune(s)
	return string(r[:excelize.TotalCellChars-1]) + "…"
}
