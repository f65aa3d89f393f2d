package inventory

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// TestInventoryRecordsHistory: an inventory with the history sink
// records one scan per domain examined in the store's scan history (the
// one watch keeps), with the findings of its report open; a second run
// adds a second scan to each; a domain that does not exist is no scan.
func TestInventoryRecordsHistory(t *testing.T) {
	p := startPortfolio(t, 6, 0)
	domains := append(slices.Clone(p.domains), "nowhere.test")
	db, err := pebble.Open(context.Background(), t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h, err := store.HistoryOf(db)
	if err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, p.resolver)
	for run := 1; run <= 2; run++ {
		dir, err := OpenDir(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		sum, err := Run(context.Background(), eng, domains, portfolioOptions(), dir, NewHistorySink(h))
		if err != nil || sum.Failed != 1 {
			t.Fatalf("run %d: summary %+v, %v", run, sum, err)
		}
		summaries, err := h.Domains(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(summaries) != len(p.domains) {
			t.Fatalf("run %d: history of %d domains, want %d: %+v", run, len(summaries), len(p.domains), summaries)
		}
		for _, d := range p.domains {
			scans, _, err := h.Scans(context.Background(), store.ScanQuery{Domain: d})
			if err != nil || len(scans) != run {
				t.Fatalf("run %d: %s has %d scans (%v), want %d", run, d, len(scans), err, run)
			}
			if !scans[0].Complete || scans[0].Outage {
				t.Errorf("run %d: %s: scan %+v, want complete", run, d, scans[0])
			}
			doc, err := os.ReadFile(filepath.Join(dir.Path(), FileName(d)))
			if err != nil {
				t.Fatal(err)
			}
			var rep struct{ Findings []finding.Finding }
			if err := json.Unmarshal(doc, &rep); err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for i := range rep.Findings {
				want[history.FindingKey(&rep.Findings[i])] = true
			}
			states, _, err := h.Findings(context.Background(), store.FindingQuery{Domain: d, State: history.StateOpen})
			if err != nil {
				t.Fatal(err)
			}
			if len(states) != len(want) {
				t.Errorf("run %d: %s: %d open findings in the history, %d in the report", run, d, len(states), len(want))
			}
			for _, st := range states {
				if !want[st.Key] {
					t.Errorf("run %d: %s: open finding %q not in the report", run, d, st.Key)
				}
			}
		}
	}
}
