package pebble_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// rdataOf looks name up (exact rrset, and its addresses by rdata/ip) and
// returns the rdata found, sorted.
func rdataOf(t *testing.T, db *pebble.DB, q store.Query) []string {
	t.Helper()
	var out []string
	if _, err := db.Lookup(context.Background(), q, func(tp *pdns.Tuple) error { out = append(out, tp.RData); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestLookupSeesEveryWrite checks that lookups, which reuse iterators
// (iterpool.go), see every write that returned before they started:
// batches, ingested tables and prunes, by owner name and through the
// address index.
func TestLookupSeesEveryWrite(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []struct {
		name string
		bulk int
	}{{"batch", -1}, {"ingested tables", 1}} {
		t.Run(mode.name, func(t *testing.T) {
			db, err := pebble.Open(ctx, t.TempDir(), pebble.Options{NoSync: true, BulkTuples: mode.bulk})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			byName := store.Query{Kind: store.KindRRSet, Name: "www.example.com"}
			byIP := store.Query{Kind: store.KindRDataIP, IPLow: netip.MustParseAddr("192.0.2.0"), IPHigh: netip.MustParseAddr("192.0.2.255")}
			now := time.Now().Unix()
			var want []string
			for i := range 5 {
				// Twice, so that the second lookup takes the iterator the
				// first one left.
				for range 2 {
					if got := rdataOf(t, db, byName); !slices.Equal(got, want) {
						t.Fatalf("after %d writes, by name: %q, want %q", i, got, want)
					}
					if got := rdataOf(t, db, byIP); !slices.Equal(got, want) {
						t.Fatalf("after %d writes, by address: %q, want %q", i, got, want)
					}
				}
				a := fmt.Sprintf("192.0.2.%d", i+1)
				tp := pdns.Tuple{RRName: "www.example.com", RRType: dns.TypeA, RData: a, Count: 1,
					TimeFirst: now - int64(i)*86400, TimeLast: now - int64(i)*86400}
				if err := db.Upsert(ctx, []pdns.Tuple{tp}); err != nil {
					t.Fatal(err)
				}
				want = append(want, a)
				slices.Sort(want)
			}
			rdataOf(t, db, byName)
			// Prune what was last seen three days ago or before: 192.0.2.4
			// and .5.
			if _, err := db.Prune(ctx, time.Unix(now-2*86400-3600, 0)); err != nil {
				t.Fatal(err)
			}
			want = []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}
			if got := rdataOf(t, db, byName); !slices.Equal(got, want) {
				t.Fatalf("after the prune, by name: %q, want %q", got, want)
			}
			if got := rdataOf(t, db, byIP); !slices.Equal(got, want) {
				t.Fatalf("after the prune, by address: %q, want %q", got, want)
			}
		})
	}
}

// TestLookupsConcurrentWithWrites runs lookups beside writes: each
// lookup must see at least the writes that returned before it started,
// and never less than the lookup before it (run it with -race).
func TestLookupsConcurrentWithWrites(t *testing.T) {
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir(), pebble.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	written := 0 // tuples whose Upsert returned
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			q := store.Query{Kind: store.KindRRSet, Name: "example.com"}
			last := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				atLeast := written
				mu.Unlock()
				n := 0
				if _, err := db.Lookup(ctx, q, func(*pdns.Tuple) error { n++; return nil }); err != nil {
					t.Error(err)
					return
				}
				if n < atLeast || n < last {
					t.Errorf("a lookup found %d tuples; %d were written before it started, the one before found %d", n, atLeast, last)
					return
				}
				last = n
			}
		})
	}
	for i := range 300 {
		tp := pdns.Tuple{RRName: "example.com", RRType: dns.TypeTXT, RData: fmt.Sprintf(`"v%d"`, i), Count: 1}
		if err := db.Upsert(ctx, []pdns.Tuple{tp}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		written++
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
}

// TestVersionMovesWithWrites checks store.Versioned: every kind of write
// lookups see (a batch, ingested tables, a prune) changes the version;
// reads and meta writes (keys, usage counters) do not.
func TestVersionMovesWithWrites(t *testing.T) {
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir(), pebble.Options{NoSync: true, MaxLimit: -1, BulkTuples: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var _ store.Versioned = db
	v0, ok := db.Version()
	if !ok {
		t.Fatal("version unstable with no write in progress")
	}
	tu := pdns.Tuple{RRName: "v.example.com", RRType: dns.TypeA, RData: "192.0.2.1", TimeFirst: 100, TimeLast: 200, Count: 1}
	if err := db.Upsert(ctx, []pdns.Tuple{tu}); err != nil {
		t.Fatal(err)
	}
	v1, ok := db.Version()
	if !ok || v1 == v0 {
		t.Fatalf("version %d -> %d (stable %v) across an upsert", v0, v1, ok)
	}
	rdataOf(t, db, store.Query{Kind: store.KindRRSet, Name: "v.example.com"})
	if v, _ := db.Version(); v != v1 {
		t.Fatalf("a lookup moved the version %d -> %d", v1, v)
	}
	m, err := db.Meta("apikeys")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, ok := db.Version(); v != v1 || !ok {
		t.Fatalf("a meta write, which no lookup reads, moved the version %d -> %d", v1, v)
	}
	bulk := make([]pdns.Tuple, 50)
	for i := range bulk {
		bulk[i] = tu
		bulk[i].RData = fmt.Sprintf("192.0.2.%d", i+2)
	}
	if err := db.Upsert(ctx, bulk); err != nil {
		t.Fatal(err)
	}
	v2, _ := db.Version()
	if v2 == v1 {
		t.Fatal("a bulk write did not move the version")
	}
	if _, err := db.Prune(ctx, time.Unix(50, 0)); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Version(); v != v2 {
		t.Fatal("a prune that removed nothing moved the version")
	}
	if _, err := db.Prune(ctx, time.Unix(1000, 0)); err != nil {
		t.Fatal(err)
	}
	if v3, _ := db.Version(); v3 == v2 {
		t.Fatal("a prune did not move the version")
	}
}
