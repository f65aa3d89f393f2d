package report

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// readWorkbook opens an xlsx written by Write and returns every sheet's
// rows.
func readWorkbook(t *testing.T, b []byte) ([]string, map[string][][]string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("excelize cannot read the workbook: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	rows := map[string][][]string{}
	for _, s := range sheets {
		r, err := f.GetRows(s)
		if err != nil {
			t.Fatal(err)
		}
		rows[s] = r
	}
	return sheets, rows
}

func TestXLSXRoundTrip(t *testing.T) {
	r, cs := withBaseline(t)
	b := render(t, "xlsx", []*scan.Report{r, second()}, Options{})
	sheets, rows := readWorkbook(t, b)
	if want := []string{"Names", "Records", "Nameservers", "Networks", "Historic", "Findings", "Changes"}; !slices.Equal(sheets, want) {
		t.Fatalf("sheets %v, want %v", sheets, want)
	}
	if got := strings.Join(rows["Records"][0], ","); got != "Domain,Name,Type,TTL,Data,Source,Change" {
		t.Errorf("Records header %s", got)
	}
	// Every record, in order, with its data verbatim (HTML included).
	wantRecords := len(r.Records) + cs["example.com"].Summary.Records.Gone + len(second().Records)
	if got := len(rows["Records"]) - 1; got != wantRecords {
		t.Fatalf("%d record rows, want %d", got, wantRecords)
	}
	for i, rec := range r.Records {
		row := rows["Records"][i+1]
		if row[0] != "example.com" || row[1] != rec.Name || row[2] != rec.Type || row[3] != strconv.Itoa(int(rec.TTL)) || row[4] != rec.Data {
			t.Fatalf("record row %d = %q, want %+v", i+1, row, rec)
		}
	}
	// Names carry the Unicode form and the change.
	found := false
	for _, row := range rows["Names"][1:] {
		if row[1] == "xn--bcher-kva.example.com" && row[2] == "bücher.example.com" {
			found = true
		}
		if row[1] == "intranet.example.com" && (len(row) < 6 || row[5] != "new") {
			t.Errorf("intranet row %q, want change new", row)
		}
	}
	if !found {
		t.Error("IDN row with its Unicode form missing from Names")
	}
	// One nameserver row per server address, plus the one without any.
	servers := 0
	for _, ns := range r.Nameservers {
		servers += max(1, len(ns.Servers))
	}
	if got := len(rows["Nameservers"]) - 1; got != servers+1 {
		t.Errorf("%d nameserver rows, want %d", got, servers+1)
	}
	// Findings: worst first, evidence kept, the gone finding listed.
	if got := len(rows["Findings"]) - 1; got != len(r.Findings)+1+len(second().Findings) {
		t.Errorf("%d finding rows", got)
	}
	if rows["Findings"][1][1] != "critical" || !strings.Contains(rows["Findings"][1][5], "returned 37 records") {
		t.Errorf("first finding row %q", rows["Findings"][1])
	}
	gone := false
	for _, row := range rows["Findings"][1:] {
		if row[2] == "dmarc-missing" && row[len(row)-1] == "gone" {
			gone = true
		}
	}
	if !gone {
		t.Error("gone finding missing from Findings")
	}
}

func TestXLSXGolden(t *testing.T) {
	r, _ := withBaseline(t)
	sheets, rows := readWorkbook(t, render(t, "xlsx", []*scan.Report{r}, Options{}))
	var dump bytes.Buffer
	for _, s := range sheets {
		fmt.Fprintf(&dump, "== %s\n", s)
		for _, row := range rows[s] {
			fmt.Fprintf(&dump, "%q\n", row)
		}
	}
	checkGolden(t, "baseline.xlsx.txt", dump.Bytes())
}

func TestXLSXLongAndHostileCells(t *testing.T) {
	r := second()
	long := strings.Repeat("a", excelize.TotalCellChars+100)
	r.Records = append(r.Records, recon.Record{Name: "x.example.net", Type: "TXT", Data: long},
		recon.Record{Name: "y.example.net", Type: "TXT", Data: "=cmd|' /C calc'!A0 \x00\x1b"})
	_, rows := readWorkbook(t, render(t, "xlsx", []*scan.Report{r}, Options{}))
	recs := rows["Records"]
	if n := len([]rune(recs[2][4])); n != excelize.TotalCellChars {
		t.Errorf("long cell has %d characters, want the limit %d", n, excelize.TotalCellChars)
	}
	if got := recs[3][4]; got != `=cmd|' /C calc'!A0 \x00\x1b` {
		t.Errorf("hostile cell read back as %q", got)
	}
	f, err := excelize.OpenReader(bytes.NewReader(render(t, "xlsx", []*scan.Report{r}, Options{})))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if formula, _ := f.GetCellFormula("Records", "E4"); formula != "" {
		t.Errorf("cell became a formula: %q", formula)
	}
}
