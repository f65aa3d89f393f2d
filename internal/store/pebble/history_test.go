package pebble_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/history"

	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

func TestHistoryConformance(t *testing.T) {
	dirs := map[store.Backend]string{}
	open := func(t *testing.T) store.Backend {
		t.Helper()
		dir := t.TempDir()
		db, err := pebble.Open(context.Background(), dir, pebble.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		dirs[db] = dir
		t.Cleanup(func() { db.Close() })
		return db
	}
	reopen := func(t *testing.T, b store.Backend) store.Backend {
		t.Helper()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		db, err := pebble.Open(context.Background(), dirs[b], pebble.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dirs[db] = dirs[b]
		t.Cleanup(func() { db.Close() })
		return db
	}
	storetest.RunHistory(t, open, reopen)
}

func TestHistoryReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := pebble.Open(ctx, dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := db.History()
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	st := history.Advance(nil, nil, history.Snapshot{Domain: "example.com", Names: []string{"www.example.com"}},
		history.Scan{ID: history.NewScanID(t0), Domain: "example.com", Started: t0, Complete: true})
	if err := h.Record(ctx, &st); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, _, err := h.Scans(ctx, store.ScanQuery{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Scans after Close: %v, want ErrClosed", err)
	}
	ro, err := pebble.Open(ctx, dir, pebble.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	h, _ = ro.History()
	if err := h.Record(ctx, &st); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("Record on a read-only store: %v, want ErrReadOnly", err)
	}
	if _, err := h.PruneHistory(ctx, t0.Add(time.Hour)); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("PruneHistory on a read-only store: %v, want ErrReadOnly", err)
	}
	if last, base, _, err := h.Last(ctx, "example.com"); err != nil || last.ID != st.Scan.ID || base == nil {
		t.Errorf("Last on a read-only store: %s %v %v", last.ID, base, err)
	}
}
