package pebble_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/miekg/dns"
)

// The whole-store figures (10 million tuples, bytes per tuple, p99) come
// from bench/query; these measure the hot paths on a small store.
//
// Run: go test ./internal/store/pebble -run '^$' -bench . -benchtime 2s

// benchTuples returns n tuples in 1,000 zones under example.com,
// example.net and .test, with addresses in the documentation ranges.
func benchTuples(n int, seed uint64) []pdns.Tuple {
	r := rand.New(rand.NewPCG(seed, 1))
	parents := []string{"example.com", "example.net", "test"}
	nets := []netip.Addr{netip.MustParseAddr("192.0.2.0"), netip.MustParseAddr("198.51.100.0"), netip.MustParseAddr("203.0.113.0")}
	out := make([]pdns.Tuple, n)
	for i := range out {
		z := r.IntN(1000)
		zone := fmt.Sprintf("zone%d.%s", z, parents[z%3])
		name := fmt.Sprintf("host%d.%s", r.IntN(200), zone)
		first := int64(1_700_000_000 + r.IntN(90_000_000))
		t := pdns.Tuple{RRName: name, RRType: dns.TypeA, Bailiwick: zone, TimeFirst: first,
			TimeLast: first + int64(r.IntN(10_000_000)), Count: uint64(1 + r.IntN(50)), SensorIDs: []string{"bench"}}
		switch r.IntN(10) {
		case 0:
			t.RRType, t.RData = dns.TypeCNAME, fmt.Sprintf("host%d.%s.", r.IntN(200), zone)
		case 1:
			t.RRType, t.RData = dns.TypeTXT, fmt.Sprintf(`"token-%x"`, r.Uint64())
		default:
			b := nets[z%3].As4()
			b[3] = byte(r.IntN(256))
			t.RData = netip.AddrFrom4(b).String()
		}
		out[i] = t
	}
	return out
}

func benchStore(b *testing.B, n int) (*pebble.DB, []pdns.Tuple) {
	b.Helper()
	db, err := pebble.Open(context.Background(), b.TempDir(), pebble.Options{NoSync: true, MaxLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ts := benchTuples(n, 1)
	for i := 0; i < len(ts); i += 10_000 {
		if err := db.Upsert(context.Background(), ts[i:min(i+10_000, len(ts))]); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Compact(context.Background()); err != nil {
		b.Fatal(err)
	}
	return db, ts
}

// BenchmarkUpsert writes batches of new tuples into a store, as a batch
// through the write-ahead log and the memtable ("wal") and as ingested
// tables ("bulk", bulk.go). Options.BulkTuples comes from it.
//
//	go test ./internal/store/pebble -run '^$' -bench BenchmarkUpsert -benchtime 10x
func BenchmarkUpsert(b *testing.B) {
	for _, size := range []int{1000, 10_000, 100_000} {
		for _, mode := range []struct {
			name string
			bulk int
		}{{"wal", -1}, {"bulk", 1}} {
			b.Run(fmt.Sprintf("%s/%d", mode.name, size), func(b *testing.B) {
				db, err := pebble.Open(context.Background(), b.TempDir(), pebble.Options{NoSync: true, BulkTuples: mode.bulk})
				if err != nil {
					b.Fatal(err)
				}
				batch := benchTuples(size, 2)
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					if err := db.Upsert(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
					n += len(batch)
				}
				// Closing flushes the memtable: part of the cost of the
				// batch path.
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tuples/s")
			})
		}
	}
}

// BenchmarkLookupExact looks up owner names one after the other, as
// the API's exact lookups do; cpu-ns/op is the process's CPU time per
// lookup, the figure that survives a shared machine.
//
//	go test ./internal/store/pebble -run '^$' -bench LookupExact -benchtime 100000x -count 10
func BenchmarkLookupExact(b *testing.B) {
	db, ts := benchStore(b, 200_000)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	cpu0 := processCPU()
	for b.Loop() {
		q := store.Query{Kind: store.KindRRSet, Name: ts[i%len(ts)].RRName}
		i += 7919
		if _, err := db.Lookup(ctx, q, func(*pdns.Tuple) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// processCPU is the CPU time (user and system) of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkScanWildcard(b *testing.B) {
	db, _ := benchStore(b, 200_000)
	ctx := context.Background()
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		q := store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft}
		if _, err := db.Lookup(ctx, q, func(*pdns.Tuple) error { records++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkLookupPrefix(b *testing.B) {
	db, _ := benchStore(b, 200_000)
	ctx := context.Background()
	lo, hi, _ := store.ParseIPQuery("192.0.2.0/28")
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		q := store.Query{Kind: store.KindRDataIP, IPLow: lo, IPHigh: hi}
		if _, err := db.Lookup(ctx, q, func(*pdns.Tuple) error { records++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
