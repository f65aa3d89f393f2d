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
