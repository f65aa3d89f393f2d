package inventory_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/inventory"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/dnsscout/dnsscout/internal/watch"
)

// TestInventoryRecordsHistory: an inventory with the history sink
// records one scan per domain examined in the store's scan history (the
// one watch keeps), with the findings of its report open; a second run
// adds a second scan to each; a domain that does not exist is no scan.
func TestInventoryRecordsHistory(t *testing.T) {
	listed, eng := inventory.StartPortfolio(t, 6, 0)
	domains := append(slices.Clone(listed), "nowhere.test")
	db, err := pebble.Open(context.Background(), t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h, err := store.HistoryOf(db)
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		dir, err := inventory.OpenDir(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		sum, err := inventory.Run(context.Background(), eng, domains, inventory.PortfolioOptions(), dir, watch.NewHistorySink(h))
		if err != nil || sum.Failed != 1 {
			t.Fatalf("run %d: summary %+v, %v", run, sum, err)
		}
		summaries, err := h.Domains(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(summaries) != len(listed) {
			t.Fatalf("run %d: history of %d domains, want %d: %+v", run, len(summaries), len(listed), summaries)
		}
		for _, d := range listed {
			scans, _, err := h.Scans(context.Background(), store.ScanQuery{Domain: d})
			if err != nil || len(scans) != run {
				t.Fatalf("run %d: %s has %d scans (%v), want %d", run, d, len(scans), err, run)
			}
			if !scans[0].Complete || scans[0].Outage {
				t.Errorf("run %d: %s: scan %+v, want complete", run, d, scans[0])
			}
			doc, err := os.ReadFile(filepath.Join(dir.Path(), inventory.FileName(d)))
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
