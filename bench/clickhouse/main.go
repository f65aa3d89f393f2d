// Command clickhouse benchmarks the ClickHouse passive DNS backend against
// the embedded Pebble store on the same generated data (bench/query's
// generator; gen.go here is a link to it): ingest tuples/s into Pebble,
// into one local ClickHouse server and into a local two-shard cluster, then
// lookup latency and scan rates on each. It starts the ClickHouse servers
// itself (clickhouse-server from Debian, on 127.0.0.1 with free ports, data
// in a temporary directory) and removes everything afterwards.
//
// Run (about two minutes on two cores for the default size):
//
//	go run ./bench/clickhouse
//	go run ./bench/clickhouse -n 2000000 -batch 100000 -writers 2
//
// It prints one table with a column per store.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse/chtest"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

type sample struct {
	names, ips, targets, big []string
}

// result is one store's column of the table.
type result struct {
	name  string
	cells map[string]string
}

func main() {
	n := flag.Int("n", 1_000_000, "tuples to generate")
	seed := flag.Uint64("seed", 1, "generator seed")
	batch := flag.Int("batch", 50_000, "tuples per Upsert (a collector's flush)")
	writers := flag.Int("writers", 2, "concurrent Upserts (collectors)")
	lookups := flag.Int("lookups", 2000, "exact lookups to time")
	dir := flag.String("dir", "", "scratch directory (default: a new temporary one, removed afterwards)")
	stores := flag.String("stores", "pebble,1,2", "stores to measure: pebble, 1 (one ClickHouse server), 2 (two shards)")
	flag.Parse()
	if err := run(*n, *seed, *batch, *writers, *lookups, *dir, strings.Split(*stores, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "bench/clickhouse:", err)
		os.Exit(1)
	}
}

func run(n int, seed uint64, batch, writers, lookups int, dir string, stores []string) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "dnsscout-bench-clickhouse-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Fprintf(os.Stderr, "generating %d tuples...\n", n)
	tuples, s := generate(n, seed)
	var results []result

	if slices.Contains(stores, "pebble") {
		pdb, err := pebble.Open(ctx, filepath.Join(dir, "pebble"), pebble.Options{NoSync: true, MaxLimit: -1})
		if err != nil {
			return err
		}
		r, err := measure(ctx, "pebble", pdb, tuples, s, batch, writers, lookups, seed)
		pdb.Close()
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	// ClickHouse: one server, then two shards.
	for _, shards := range []int{1, 2} {
		if !slices.Contains(stores, fmt.Sprint(shards)) {
			continue
		}
		name := "clickhouse 1 server"
		if shards > 1 {
			name = fmt.Sprintf("clickhouse %d shards", shards)
		}
		fmt.Fprintf(os.Stderr, "starting %s...\n", name)
		servers, err := startServers(ctx, filepath.Join(dir, fmt.Sprintf("ch%d", shards)), shards)
		if err != nil {
			return err
		}
		o := clickhouse.Options{Addrs: []string{servers[0].Addr}, Database: "bench", MaxLimit: -1}
		if shards > 1 {
			o.Cluster = "bench"
		}
		r, err := func() (result, error) {
			if _, err := clickhouse.Migrate(ctx, o); err != nil {
				return result{}, err
			}
			db, err := clickhouse.Open(ctx, o)
			if err != nil {
				return result{}, err
			}
			defer db.Close()
			return measure(ctx, name, db, tuples, s, batch, writers, lookups, seed)
		}()
		for _, sv := range servers {
			sv.Stop()
		}
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	printTable(results, n, batch, writers)
	return nil
}

// freePort asks the kernel for an unused port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startServers(ctx context.Context, dir string, n int) ([]*chtest.Server, error) {
	cfgs := make([]chtest.Config, n)
	var shards []string
	for i := range cfgs {
		var ports [3]int
		for j := range ports {
			p, err := freePort()
			if err != nil {
				return nil, err
			}
			ports[j] = p
		}
		cfgs[i] = chtest.Config{Dir: filepath.Join(dir, fmt.Sprint(i)), Host: "127.0.0.1", TCPPort: ports[0], HTTPPort: ports[1], InterserverPort: ports[2]}
		shards = append(shards, fmt.Sprintf("127.0.0.1:%d", ports[0]))
	}
	var servers []*chtest.Server
	for _, c := range cfgs {
		if n > 1 {
			c.Clusters = map[string][]string{"bench": shards}
		}
		s, err := chtest.Start(ctx, c)
		if err != nil {
			for _, x := range servers {
				x.Stop()
			}
			return nil, err
		}
		servers = append(servers, s)
	}
	return servers, nil
}

func generate(n int, seed uint64) ([]pdns.Tuple, *sample) {
	g := newGen(seed, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).Unix())
	s := &sample{}
	buf := make([]pdns.Tuple, 0, n+5000)
	zones := 0
	for len(buf) < n {
		start := len(buf)
		var apex string
		buf, apex = g.zone(buf)
		zones++
		zt := buf[start:]
		if zones%20 == 0 {
			s.names = append(s.names, apex, zt[g.r.IntN(len(zt))].RRName)
			for _, t := range zt {
				if _, ok := store.RDataIP(t.RRType, t.RData); ok {
					s.ips = append(s.ips, t.RData)
					break
				}
			}
			for _, t := range zt {
				if ns := store.RDataNames(t.RRType, t.RData); len(ns) > 0 && t.RRType != 2 && t.RRType != 6 {
					s.targets = append(s.targets, ns[0])
					break
				}
			}
		}
		if len(zt) > 1000 && len(s.big) < 20 {
			s.big = append(s.big, apex)
		}
	}
	return buf[:n], s
}

// measure loads the tuples with concurrent batched Upserts, then times
// lookups.
func measure(ctx context.Context, name string, db store.Backend, tuples []pdns.Tuple, s *sample, batch, writers, lookups int, seed uint64) (result, error) {
	res := result{name: name, cells: map[string]string{}}
	fmt.Fprintf(os.Stderr, "%s: loading...\n", name)
	t0 := time.Now()
	next := make(chan []pdns.Tuple)
	errc := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				if err := db.Upsert(ctx, b); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for i := 0; i < len(tuples); i += batch {
		next <- tuples[i:min(i+batch, len(tuples))]
	}
	close(next)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return res, fmt.Errorf("%s: upsert: %w", name, err)
	}
	el := time.Since(t0)
	res.cells["ingest"] = fmt.Sprintf("%.0f tuples/s", float64(len(tuples))/el.Seconds())
	// Lookups are timed on the store at rest: compacted (Pebble) or with
	// every partition merged to one part (ClickHouse's OPTIMIZE FINAL,
	// where background merges converge).
	fmt.Fprintf(os.Stderr, "%s: %s; compacting...\n", name, res.cells["ingest"])
	t0 = time.Now()
	if c, ok := db.(store.Compacter); ok {
		if err := c.Compact(ctx); err != nil {
			return res, fmt.Errorf("%s: compact: %w", name, err)
		}
	}
	res.cells["compaction"] = time.Since(t0).Round(100 * time.Millisecond).String()
	if sr, ok := db.(store.StatsReporter); ok {
		if st, err := sr.Stats(ctx); err == nil && st.Tuples > 0 {
			res.cells["tuples stored"] = fmt.Sprint(st.Tuples)
			res.cells["bytes on disk / tuple"] = fmt.Sprintf("%.1f", float64(st.BytesOnDisk)/float64(st.Tuples))
		}
	}
	fmt.Fprintf(os.Stderr, "%s: querying...\n", name)

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
	timed := func(label string, qs []store.Query) error {
		lat := make([]time.Duration, 0, len(qs))
		for _, q := range qs {
			t0 := time.Now()
			if _, err := count(q); err != nil {
				return fmt.Errorf("%s: %s: %w", name, label, err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		p := func(f float64) time.Duration {
			return lat[min(len(lat)-1, int(f*float64(len(lat))))].Round(time.Microsecond)
		}
		res.cells[label] = fmt.Sprintf("%v / %v", p(0.5), p(0.99))
		return nil
	}
	var qs []store.Query
	for _, nm := range pick(s.names, lookups) {
		qs = append(qs, store.Query{Kind: store.KindRRSet, Name: nm})
	}
	if err := timed("exact rrset p50 / p99", qs); err != nil {
		return res, err
	}
	qs = qs[:0]
	for _, ip := range pick(s.ips, lookups/4) {
		lo, hi, err := store.ParseIPQuery(ip)
		if err != nil {
			return res, err
		}
		qs = append(qs, store.Query{Kind: store.KindRDataIP, IPLow: lo, IPHigh: hi})
	}
	if err := timed("rdata ip p50 / p99", qs); err != nil {
		return res, err
	}
	qs = qs[:0]
	for _, t := range pick(s.targets, lookups/4) {
		qs = append(qs, store.Query{Kind: store.KindRDataName, Name: t, Limit: 1000})
	}
	if err := timed("rdata name (limit 1000) p50 / p99", qs); err != nil {
		return res, err
	}
	qs = qs[:0]
	for _, nm := range pick(s.names, lookups/4) {
		first, _, _ := strings.Cut(nm, ".")
		qs = append(qs, store.Query{Kind: store.KindRRSet, Name: first, Wildcard: store.WildRight, Limit: 100})
	}
	if err := timed("right wildcard (limit 100) p50 / p99", qs); err != nil {
		return res, err
	}
	t1 := time.Now()
	total := 0
	for _, z := range s.big {
		m, err := count(store.Query{Kind: store.KindRRSet, Name: z, Wildcard: store.WildLeft})
		if err != nil {
			return res, fmt.Errorf("%s: scan: %w", name, err)
		}
		total += m
	}
	res.cells["scan *.<large zone>"] = fmt.Sprintf("%.0f records/s", float64(total)/time.Since(t1).Seconds())
	t1 = time.Now()
	m, err := count(store.Query{Kind: store.KindRRSet, Name: "de", Wildcard: store.WildLeft, Type: store.TypeAll})
	if err != nil {
		return res, fmt.Errorf("%s: scan: %w", name, err)
	}
	res.cells["scan *.de"] = fmt.Sprintf("%d in %v", m, time.Since(t1).Round(time.Millisecond))
	if len(s.big) == 0 {
		return res, errors.New("no large zone generated; raise -n")
	}
	return res, nil
}

func printTable(rs []result, n, batch, writers int) {
	fmt.Printf("%d generated tuples, Upserts of %d by %d writers\n\n", n, batch, writers)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "measure\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t", r.name)
	}
	fmt.Fprintln(tw)
	for _, row := range []string{"ingest", "compaction", "tuples stored", "bytes on disk / tuple", "exact rrset p50 / p99", "rdata ip p50 / p99",
		"rdata name (limit 1000) p50 / p99", "right wildcard (limit 100) p50 / p99", "scan *.<large zone>", "scan *.de"} {
		fmt.Fprintf(tw, "%s\t", row)
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t", r.cells[row])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
