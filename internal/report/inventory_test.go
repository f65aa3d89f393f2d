package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/dnsscout/dnsscout/internal/scan"
)

// memSource is an inventory in memory that counts its loads.
type memSource struct {
	order    []string
	reports  map[string]*scan.Report
	failures map[string]string
	loads    int
	broken   string
}

func (m *memSource) Domains() ([]string, error) { return m.order, nil }

func (m *memSource) Load(d string) (*scan.Report, string, error) {
	m.loads++
	if d == m.broken {
		return nil, "", errors.New("unreadable")
	}
	return m.reports[d], m.failures[d], nil
}

func inventorySample(t *testing.T) *memSource {
	return &memSource{
		order:    []string{"example.net", "gone.example", "example.com"},
		reports:  map[string]*scan.Report{"example.com": loadSample(t), "example.net": second()},
		failures: map[string]string{"gone.example": "recon: domain does not exist (NXDOMAIN): gone.example"},
	}
}

func TestWriteInventory(t *testing.T) {
	t.Run("html", func(t *testing.T) {
		src := inventorySample(t)
		var buf bytes.Buffer
		if err := WriteInventory(&buf, "html", src, Options{Version: "test"}); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		// The sample (findings of every severity) comes first, then
		// example.net (one medium), then the domain not examined.
		com, net, gone := strings.Index(page, `<a href="#d0">example.com</a>`), strings.Index(page, `<a href="#d1">example.net</a>`), strings.Index(page, "not examined: recon: domain does not exist")
		if com < 0 || net < com || gone < net {
			t.Fatalf("overview not worst first: example.com at %d, example.net at %d, gone.example at %d", com, net, gone)
		}
		if strings.Count(page, `<section class="domain" id="d0"`) != 1 || strings.Count(page, `<section class="domain" id="d1"`) != 1 {
			t.Errorf("want one section per examined domain, anchored as the overview links them")
		}
		if !strings.Contains(page, "Content-Security-Policy") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
			t.Errorf("page is not whole")
		}
		// Read once for the overview, once to render: never all at once.
		if src.loads != 3+2 {
			t.Errorf("%d loads", src.loads)
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteInventory(&buf, "xlsx", inventorySample(t), Options{}); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if sheets[0] != "Overview" || !strings.Contains(strings.Join(sheets, " "), "Findings") {
			t.Fatalf("sheets %v", sheets)
		}
		rows, _ := f.GetRows("Overview")
		if len(rows) != 4 || rows[1][0] != "example.com" || rows[3][0] != "gone.example" || rows[3][10] != "no" {
			t.Fatalf("overview rows %v", rows)
		}
		findings, _ := f.GetRows("Findings")
		if len(findings) < 3 {
			t.Fatalf("findings rows %v", findings)
		}
	})
	t.Run("csv", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteInventory(&buf, "csv", inventorySample(t), Options{}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := 1 + len(loadSample(t).Findings) + 1 + 1
		if len(recs) != want || recs[1][0] != "example.com" || recs[1][1] != "critical" || recs[len(recs)-1][3] != "not examined" {
			t.Fatalf("%d rows (want %d): first %v last %v", len(recs), want, recs[1], recs[len(recs)-1])
		}
	})
	t.Run("unreadable domain", func(t *testing.T) {
		src := inventorySample(t)
		src.broken = "example.net"
		err := WriteInventory(&bytes.Buffer{}, "html", src, Options{})
		if err == nil || !strings.Contains(err.Error(), "example.net: unreadable") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		if err := WriteInventory(&bytes.Buffer{}, "md", inventorySample(t), Options{}); !errors.Is(err, ErrUnknownFormat) {
			t.Fatalf("err = %v", err)
		}
	})
}
