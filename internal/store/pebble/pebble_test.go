package pebble_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

func openTemp(t *testing.T) store.Backend {
	t.Helper()
	db, err := pebble.Open(context.Background(), t.TempDir(), pebble.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, openTemp) }

// TestConformanceBulk runs the suite with every Upsert written as ingested
// tables (bulk.go), the path large batches take.
func TestConformanceBulk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Backend {
		t.Helper()
		db, err := pebble.Open(context.Background(), t.TempDir(), pebble.Options{NoSync: true, BulkTuples: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// viaTuples is a store whose Upsert goes through UpsertTuples.
type viaTuples struct{ *pebble.DB }

func (v viaTuples) Upsert(ctx context.Context, tuples []pdns.Tuple) error {
	return v.UpsertTuples(ctx, storetest.ScratchTuples(tuples))
}

// TestConformanceTuples runs the suite with every Upsert made through
// UpsertTuples, as tables (bulk.go) and as batches.
func TestConformanceTuples(t *testing.T) {
	for name, bulk := range map[string]int{"bulk": 1, "batch": 0} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Backend {
				t.Helper()
				db, err := pebble.Open(context.Background(), t.TempDir(), pebble.Options{NoSync: true, BulkTuples: bulk})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return viaTuples{db}
			})
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := pebble.Open(ctx, dir+"/none", pebble.Options{ReadOnly: true}); !errors.Is(err, pebble.ErrNoStore) {
		t.Errorf("read-only open of nothing: %v, want ErrNoStore", err)
	}
	db, err := pebble.Open(ctx, dir, pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pebble.Open(ctx, dir, pebble.Options{ReadOnly: true}); !errors.Is(err, pebble.ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
	tu := []pdns.Tuple{{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Count: 1}}
	if err := db.Upsert(ctx, tu); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if err := db.Upsert(ctx, tu); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Upsert after Close: %v", err)
	}
	ro, err := store.Open(ctx, "pebble://"+dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Upsert(ctx, tu); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("Upsert on a read-only store: %v", err)
	}
	n := 0
	if _, err := ro.Lookup(ctx, store.Query{Kind: store.KindRRSet, Name: "www.example.com"}, func(*pdns.Tuple) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("read-only lookup: %d tuples, %v", n, err)
	}
}
