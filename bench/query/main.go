// Command query benchmarks the embedded passive DNS store (store/pebble)
// against issue 4's targets: on a store of 10 million generated tuples,
// exact lookups p99 under 5 ms, wildcard suffix scans over 500,000
// records/s, at most 40 bytes on disk per tuple after compaction.
//
// Run (about ten minutes on two cores for the default size; -reuse skips
// generation when the directory already holds a store of that size):
//
//	go run ./bench/query -dir /tmp/dnsscout-bench -n 10000000
//	go run ./bench/query -dir /tmp/dnsscout-bench -n 10000000 -reuse
//
// It prints one table: load rate, tuples, bytes on disk and per tuple,
// latency percentiles of exact, IP and rdata-name lookups, and scan rates.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// sample is what the load phase remembers for the query phase (kept in the
// store's Meta area so that -reuse works).
type sample struct {
	N       int      `json:"n"`
	Tuples  int64    `json:"tuples"`
	Names   []string `json:"names"`   // exact-lookup targets (apexes and hosts)
	Big     []string `json:"big"`     // registered domains with thousands of names
	IPs     []string `json:"ips"`     // addresses seen in A/AAAA rdata
	Targets []string `json:"targets"` // rdata names (mail hosts, CDN names)
	Load    string   `json:"load"`    // load-phase figures, for the table
}

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "dnsscout-bench-query"), "store directory (created)")
	n := flag.Int("n", 10_000_000, "tuples to generate")
	seed := flag.Uint64("seed", 1, "generator seed")
	reuse := flag.Bool("reuse", false, "reuse the store in -dir if it was generated with the same -n")
	lookups := flag.Int("lookups", 20_000, "exact lookups to time")
	batch := flag.Int("batch", 20_000, "tuples per Upsert")
	flag.Parse()
	if err := run(*dir, *n, *seed, *reuse, *lookups, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "bench/query:", err)
		os.Exit(1)
	}
}

func run(dir string, n int, seed uint64, reuse bool, lookups, batch int) error {
	ctx := context.Background()
	var s *sample
	if reuse {
		s, _ = loadSample(ctx, dir)
		if s != nil && s.N != n {
			s = nil
		}
	}
	if s == nil {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		var err error
		if s, err = generate(ctx, dir, n, seed, batch); err != nil {
			return err
		}
	}
	// Pebble keeps write-ahead logs for reuse until the next read-write
	// open; measure the store at rest, as a user finds it after a restart.
	rw, err := pebble.Open(ctx, dir, pebble.Options{})
	if err != nil {
		return err
	}
	if err := rw.Close(); err != nil {
		return err
	}
	size, sstSize, err := dirSize(dir)
	if err != nil {
		return err
	}
	db, err := pebble.Open(ctx, dir, pebble.Options{ReadOnly: true, MaxLimit: -1})
	if err != nil {
		return err
	}
	defer db.Close()

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(what, value, target string) { fmt.Fprintf(tw, "%s\t%s\t%s\t\n", what, value, target) }
	fmt.Fprintf(tw, "measure\tvalue\ttarget\t\n")
	row("tuples stored", fmt.Sprint(s.Tuples), "10,000,000")
	if s.Load != "" {
		row("load", s.Load, "")
	}
	row("bytes on disk (allocated)", fmt.Sprintf("%.1f MiB, of which sstables %.1f MiB", float64(size)/(1<<20), float64(sstSize)/(1<<20)), "")
	row("bytes per tuple", fmt.Sprintf("%.1f", float64(size)/float64(s.Tuples)), "<= 40")

	r := rand.New(rand.NewPCG(seed, 7))
	pick := func(from []string, k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = from[r.IntN(len(from))]
		}
		return out
	}
	count := func(q store.Query) (int, error) {
		m := 0
		_, err := db.Lookup(ctx, q, func(*pdns.Tuple) error { m++; return nil })
		return m, err
	}
	timed := func(label, target string, qs []store.Query) error {
		lat := make([]time.Duration, 0, len(qs))
		results := 0
		for _, q := range qs {
			t0 := time.Now()
			m, err := count(q)
			if err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			lat = append(lat, time.Since(t0))
			results += m
		}
		slices.Sort(lat)
		p := func(f float64) time.Duration { return lat[min(len(lat)-1, int(f*float64(len(lat))))] }
		row(label+" p50/p99/max", fmt.Sprintf("%v / %v / %v", p(0.50).Round(time.Microsecond), p(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond)),
			target)
		row(label+" results/query", fmt.Sprintf("%.2f", float64(results)/float64(len(qs))), "")
		return nil
	}
	var qs []store.Query
	for _, name := range pick(s.Names, lookups) {
		qs = append(qs, store.Query{Kind: store.KindRRSet, Name: name})
	}
	if err := timed("exact rrset", "p99 < 5ms", qs); err != nil {
		return err
	}
	qs = qs[:0]
	for i, name := range pick(s.Names, lookups/4) {
		qs = append(qs, store.Query{Kind: store.KindRRSet, Name: fmt.Sprintf("nx%d.%s", i, name)})
	}
	if err := timed("exact miss", "p99 < 5ms", qs); err != nil {
		return err
	}
	qs = qs[:0]
	for _, ip := range pick(s.IPs, lookups/4) {
		lo, hi, err := store.ParseIPQuery(ip)
		if err != nil {
			return err
		}
		qs = append(qs, store.Query{Kind: store.KindRDataIP, IPLow: lo, IPHigh: hi})
	}
	if err := timed("rdata ip", "", qs); err != nil {
		return err
	}
	qs = qs[:0]
	for _, t := range pick(s.Targets, lookups/4) {
		qs = append(qs, store.Query{Kind: store.KindRDataName, Name: t, Limit: 10000})
	}
	if err := timed("rdata name (limit 10000)", "", qs); err != nil {
		return err
	}

	scan := func(label, target string, qs []store.Query) error {
		t0 := time.Now()
		total := 0
		for _, q := range qs {
			m, err := count(q)
			if err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			total += m
		}
		el := time.Since(t0)
		row(label, fmt.Sprintf("%d records in %v = %.0f records/s", total, el.Round(time.Millisecond), float64(total)/el.Seconds()), target)
		return nil
	}
	qs = qs[:0]
	for _, z := range s.Big {
		qs = append(qs, store.Query{Kind: store.KindRRSet, Name: z, Wildcard: store.WildLeft})
	}
	if err := scan("scan *.<large zone>", "> 500,000/s", qs); err != nil {
		return err
	}
	for _, tld := range []string{"de", "nl"} {
		if err := scan("scan *."+tld, "> 500,000/s", []store.Query{{Kind: store.KindRRSet, Name: tld, Wildcard: store.WildLeft, Type: store.TypeAll}}); err != nil {
			return err
		}
	}
	qs = qs[:0]
	for _, ip := range pick(s.IPs, 20) {
		lo, hi, err := store.ParseIPQuery(ip + "/16")
		if err != nil {
			if lo, hi, err = store.ParseIPQuery(ip + "/48"); err != nil {
				return err
			}
		}
		qs = append(qs, store.Query{Kind: store.KindRDataIP, IPLow: lo, IPHigh: hi})
	}
	if err := scan("scan rdata ip /16 (v6 /48)", "", qs); err != nil {
		return err
	}
	qs = qs[:0]
	for _, name := range pick(s.Names, 200) {
		first, _, _ := strings.Cut(name, ".")
		qs = append(qs, store.Query{Kind: store.KindRRSet, Name: first, Wildcard: store.WildRight, Limit: 1000})
	}
	if err := scan("right wildcard <label>.* (limit 1000)", "", qs); err != nil {
		return err
	}
	return tw.Flush()
}

func generate(ctx context.Context, dir string, n int, seed uint64, batch int) (*sample, error) {
	db, err := pebble.Open(ctx, dir, pebble.Options{NoSync: true, MemTableBytes: 128 << 20})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	g := newGen(seed, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).Unix())
	s := &sample{N: n}
	var buf []pdns.Tuple
	written := 0
	t0 := time.Now()
	zones := 0
	for written < n {
		var apex string
		start := len(buf)
		buf, apex = g.zone(buf)
		zones++
		zoneTuples := buf[start:]
		if zones%40 == 0 {
			s.Names = append(s.Names, apex)
			h := zoneTuples[g.r.IntN(len(zoneTuples))]
			s.Names = append(s.Names, h.RRName)
			for _, t := range zoneTuples {
				if a, ok := store.RDataIP(t.RRType, t.RData); ok && a.IsValid() {
					s.IPs = append(s.IPs, t.RData)
					break
				}
			}
			for _, t := range zoneTuples {
				if ns := store.RDataNames(t.RRType, t.RData); len(ns) > 0 && t.RRType != 2 && t.RRType != 6 {
					s.Targets = append(s.Targets, ns[0])
					break
				}
			}
		}
		if len(zoneTuples) > 3000 && len(s.Big) < 50 {
			s.Big = append(s.Big, apex)
		}
		if len(buf) >= batch {
			if written+len(buf) > n {
				buf = buf[:n-written]
			}
			if err := db.Upsert(ctx, buf); err != nil {
				return nil, err
			}
			written += len(buf)
			buf = buf[:0]
			if written%1_000_000 < batch {
				fmt.Fprintf(os.Stderr, "loaded %d tuples (%.0f/s)\n", written, float64(written)/time.Since(t0).Seconds())
			}
		}
	}
	if len(buf) > 0 && written < n {
		if err := db.Upsert(ctx, buf[:min(len(buf), n-written)]); err != nil {
			return nil, err
		}
	}
	loadTime := time.Since(t0)
	fmt.Fprintf(os.Stderr, "compacting...\n")
	t1 := time.Now()
	if err := db.Compact(ctx); err != nil {
		return nil, err
	}
	compactTime := time.Since(t1)
	st, err := db.Stats(ctx)
	if err != nil {
		return nil, err
	}
	s.Tuples = st.Tuples
	s.Load = fmt.Sprintf("%d upserted in %v (%.0f/s), compaction %v, %d zones", n, loadTime.Round(time.Second),
		float64(n)/loadTime.Seconds(), compactTime.Round(time.Second), zones)
	fmt.Fprintf(os.Stderr, "%s\n", s.Load)
	slices.SortFunc(s.Big, cmp.Compare)
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	m, err := db.Meta("bench")
	if err != nil {
		return nil, err
	}
	if err := m.Put(ctx, "sample", b); err != nil {
		return nil, err
	}
	return s, nil
}

func loadSample(ctx context.Context, dir string) (*sample, error) {
	db, err := pebble.Open(ctx, dir, pebble.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	m, err := db.Meta("bench")
	if err != nil {
		return nil, err
	}
	b, err := m.Get(ctx, "sample")
	if err != nil {
		return nil, err
	}
	var s sample
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if s.Tuples == 0 || len(s.Names) == 0 {
		return nil, errors.New("incomplete sample")
	}
	return &s, nil
}

// dirSize returns the space allocated to the files in dir (st_blocks, so
// preallocated logs count in full) and the part that is sstables.
func dirSize(dir string) (total, sst int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n := info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n = max(n, st.Blocks*512)
		}
		total += n
		if strings.HasSuffix(path, ".sst") {
			sst += n
		}
		return nil
	})
	return total, sst, err
}
