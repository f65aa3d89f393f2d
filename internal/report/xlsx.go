package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

// Sheets of the workbook, in order. A Changes sheet follows when a
// baseline was given.
var xlsxSheets = []string{"Names", "Records", "Nameservers", "Networks", "Historic", "Findings"}

// writeXLSX writes a workbook with one sheet per kind of item (as
// DNSDumpster exports), every domain's rows in one sheet with a Domain
// column. Cells are typed strings or numbers, never formulas.
func writeXLSX(w io.Writer, results []*recon.Result, opts Options) error {
	f := excelize.NewFile()
	defer f.Close()
	views := buildViews(results, opts)
	if err := f.SetSheetName("Sheet1", xlsxSheets[0]); err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	for _, s := range xlsxSheets[1:] {
		if _, err := f.NewSheet(s); err != nil {
			return fmt.Errorf("report: xlsx: %w", err)
		}
	}
	withChanges := anyChanges(results)
	if withChanges {
		if _, err := f.NewSheet("Changes"); err != nil {
			return fmt.Errorf("report: xlsx: %w", err)
		}
	}
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DEE2E6"}}})
	if err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	sevStyle := map[finding.Severity]int{}
	for s, color := range map[finding.Severity]string{finding.Critical: "A61E2B", finding.High: "D9480F", finding.Medium: "E8A317", finding.Low: "1C7ED6", finding.Info: "6C757D"} {
		id, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{color}}, Alignment: &excelize.Alignment{Vertical: "top"}})
		if err != nil {
			return fmt.Errorf("report: xlsx: %w", err)
		}
		sevStyle[s] = id
	}

	sheet := func(name string, widths []float64, header []string, rows func(add func(cells ...any) error) error) error {
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return err
		}
		for i, wd := range widths {
			if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
				return err
			}
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		hdr := make([]any, len(header))
		for i, h := range header {
			hdr[i] = excelize.Cell{StyleID: head, Value: h}
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
		if err := rows(add); err != nil {
			return err
		}
		// A table gives every column a filter and sort button; on a
		// stream it costs nothing, unlike AutoFilter, which re-reads the
		// whole sheet.
		last, err := excelize.CoordinatesToCellName(len(header), max(n, 2))
		if err != nil {
			return err
		}
		stripes := true
		if err := sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: name + "Table", StyleName: "TableStyleLight1", ShowRowStripes: &stripes}); err != nil {
			return err
		}
		return sw.Flush()
	}

	err = sheet("Names", []float64{22, 40, 30, 40, 24, 10, 30, 18, 30, 10, 24, 22, 22},
		[]string{"Domain", "Name", "Unicode", "Addresses", "Sources", "Change", "Networks", "AS", "AS name", "Country", "Passive sources", "First seen", "Last seen"},
		func(add func(...any) error) error {
			for _, v := range views {
				for _, n := range v.Names {
					nets, asns, asNames, countries := v.intel.summarise(n.Addresses)
					if err := add(v.Domain, n.Name, n.Unicode, strings.Join(n.Addresses, " "), strings.Join(n.Sources, ", "), nameChangeText(n),
						strings.Join(nets, " "), strings.Join(asns, " "), strings.Join(asNames, "; "), strings.Join(countries, " "),
						strings.Join(n.PassiveSources, ", "), n.FirstSeenFull, n.LastSeenFull); err != nil {
						return err
					}
				}
			}
			return nil
		})
	if err == nil {
		err = sheet("Records", []float64{22, 40, 8, 8, 60, 12, 10}, []string{"Domain", "Name", "Type", "TTL", "Data", "Source", "Change"}, func(add func(...any) error) error {
			for _, v := range views {
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
			}
			return nil
		})
	}
	if err == nil {
		err = sheet("Nameservers", []float64{22, 22, 30, 20, 24, 11, 13, 10, 8, 10, 12, 10, 20, 16, 20, 16, 16, 30, 22, 12, 30, 10},
			[]string{"Domain", "Zone", "Nameserver", "Unicode", "Address", "Responding", "Authoritative", "AXFR", "AXFR records", "IXFR", "Serial", "Recursion",
				"version.bind", "version.server", "hostname.bind", "id.server", "NSID", "Error", "Network", "AS", "AS name", "Country"}, func(add func(...any) error) error {
				for _, v := range views {
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
				}
				return nil
			})
	}
	if err == nil {
		err = sheet("Networks", []float64{22, 24, 12, 30, 10, 8, 60, 10, 60, 30},
			[]string{"Domain", "Network", "AS", "AS name", "Country", "Names", "Name list", "Addresses", "Address list", "Data"}, func(add func(...any) error) error {
				for _, v := range views {
					for _, n := range v.Networks {
						if err := add(v.Domain, n.Prefix, n.AS, n.ASName, n.Country, len(n.Names), excelize.Cell{StyleID: wrap, Value: strings.Join(n.Names, "\n")},
							len(n.Addrs), excelize.Cell{StyleID: wrap, Value: strings.Join(n.Addrs, "\n")}, n.DataText()); err != nil {
							return err
						}
					}
				}
				return nil
			})
	}
	if err == nil {
		err = sheet("Historic", []float64{22, 40, 18, 36, 22, 24, 60, 20},
			[]string{"Domain", "Name", "Kind", "Target", "Last seen", "Sources", "Records", "Finding"}, func(add func(...any) error) error {
				for _, v := range views {
					for _, h := range v.Historic {
						fd := ""
						if h.Finding != nil {
							fd = h.Finding.Severity.String() + " " + h.Finding.ID
						}
						if err := add(v.Domain, h.Name, h.Kind, h.Target, h.LastSeenFull, strings.Join(h.Sources, ", "),
							excelize.Cell{StyleID: wrap, Value: strings.Join(h.Records, "\n")}, fd); err != nil {
							return err
						}
					}
				}
				return nil
			})
	}
	if err == nil {
		err = sheet("Findings", []float64{22, 10, 24, 40, 34, 60, 60, 30, 10}, []string{"Domain", "Severity", "ID", "Title", "Subject", "Evidence", "Remediation", "References", "Change"}, func(add func(...any) error) error {
			for _, v := range views {
				for _, g := range v.Groups {
					for _, fv := range g.Findings {
						if err := add(v.Domain, excelize.Cell{StyleID: sevStyle[g.Severity], Value: g.Name}, fv.ID, fv.Title, fv.Subject,
							excelize.Cell{StyleID: wrap, Value: strings.Join(fv.Evidence, "\n")}, excelize.Cell{StyleID: wrap, Value: fv.Remediation},
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
			}
			return nil
		})
	}
	if err == nil && withChanges {
		err = sheet("Changes", []float64{22, 10, 10, 40, 60}, []string{"Domain", "Kind", "Change", "Item", "Detail"}, func(add func(...any) error) error {
			for _, v := range views {
				cs := v.Changes
				if cs == nil {
					continue
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
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
	}
	f.SetActiveSheet(0)
	if err := f.Write(w); err != nil {
		return fmt.Errorf("report: xlsx: %w", err)
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
