package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// TestPruneHistory: pdns prune --before prunes the scan history at the
// same cut-off as the passive DNS data.
func TestPruneHistory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pdns")
	ctx := context.Background()
	db, err := pebble.Open(ctx, dir, pebble.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := db.History()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var base *history.Snapshot
	var states []history.FindingState
	for i, f := range [][]finding.Finding{{{ID: "axfr-allowed", Subject: "example.com", Severity: finding.High}}, nil} {
		at := t0.Add(time.Duration(i) * 48 * time.Hour)
		st := history.Advance(base, states, history.Snapshot{Domain: "example.com", Names: []string{"www.example.com"}, Findings: f},
			history.Scan{ID: history.NewScanID(at), Domain: "example.com", Started: at, Complete: true})
		if err := h.Record(ctx, &st); err != nil {
			t.Fatal(err)
		}
		base, states = st.Baseline, st.States
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	code := Run(ctx, []string{"pdns", "prune", "--db", dir, "--before", "2024-03-02"}, strings.NewReader(""), &out, &errs)
	want := "pruned 0 records and 0 NXDOMAIN names last seen before 2024-03-02T00:00:00Z\n" +
		"pruned 1 scans, 2 events and 0 finding states of the scan history before 2024-03-02T00:00:00Z\n"
	if code != ExitOK || out.String() != want {
		t.Fatalf("pdns prune: exit %d\n got %q\nwant %q\nstderr %q", code, out.String(), want, errs.String())
	}
	db, err = pebble.Open(ctx, dir, pebble.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, _ = db.History()
	scans, _, err := h.Scans(ctx, store.ScanQuery{})
	if err != nil || len(scans) != 1 || !scans[0].Started.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("after prune: %+v, %v; want the second scan", scans, err)
	}
}
