// Command soak runs the hostile clients of issue 11 against a real
// "dnsscout serve" on loopback while a well-behaved client measures its
// latency, and prints one table. It is bounded in time: every phase lasts
// -phase, with keys and without (-keys), about two minutes in all.
//
// The store holds -names hosts under example.com, so that
// *.example.com?limit=0 is a large answer. The phases, each beside the
// well-behaved client (-rate exact lookups per second, each answer read
// whole):
//
//   - alone: the client by itself;
//   - slow bodies: 260 ingest POSTs sending their body at 1 byte/s;
//   - unread answers: 260 lookups of *.example.com?limit=0 never read;
//   - gzip bombs: 30 KB and 300 KB gzip bodies of "{}" lines, in a loop;
//   - flood: 64 connections of *.example.com?limit=10000 lookups, read;
//   - all at once.
//
// The hostile clients run in child processes (soak -hostile KIND), so
// that their goroutines do not delay the measuring client's.
//
// With keys, the hostile clients share one key and the measuring client
// has its own; without, every client comes from 127.0.0.1 but the flood,
// from 127.0.0.2 (the clients of one address share its slots). The run fails
// (exit 1) when the well-behaved client saw a 503 or another error, or
// its p99 reached -p99 in any phase.
//
//	go run ./bench/soak                 # or scripts/soak-serve.sh
//	go run ./bench/soak -phase 30s -keys on
//	go run ./bench/soak -keys on -only "all at once" -phase 20s
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dnsscout/dnsscout/bench/internal/abuse"
	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// config is the command line.
type config struct {
	bin    string
	names  int
	phase  time.Duration
	rate   int
	modes  []bool // with keys?
	p99    time.Duration
	serveF []string
	only   string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "", "dnsscout binary (default: go build ./cmd/dnsscout)")
	flag.IntVar(&cfg.names, "names", 200_000, "hosts under example.com in the store")
	flag.DurationVar(&cfg.phase, "phase", 10*time.Second, "length of each phase")
	flag.IntVar(&cfg.rate, "rate", 100, "lookups per second of the well-behaved client")
	flag.DurationVar(&cfg.p99, "p99", 50*time.Millisecond, "the well-behaved client's p99 must stay below this")
	modes := flag.String("keys", "both", "run with API keys (on), without (off), or both")
	flag.StringVar(&cfg.only, "only", "", "run only the phases whose name contains this (e.g. \"all at once\")")
	extra := flag.String("serve-flags", "", "more flags for dnsscout serve, space-separated")
	hostileKind := flag.String("hostile", "", "run one hostile client (slow, unread, bombs, flood) until killed (internal)")
	addr := flag.String("addr", "", "server address of -hostile")
	key := flag.String("key", "", "API key of -hostile")
	from := flag.String("from", "", "source address of -hostile")
	flag.Parse()
	if *hostileKind != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := hostile(ctx, *hostileKind, abuse.Target{Addr: *addr, Key: *key, From: *from}); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(2)
		}
		return
	}
	switch *modes {
	case "on":
		cfg.modes = []bool{true}
	case "off":
		cfg.modes = []bool{false}
	case "both":
		cfg.modes = []bool{false, true}
	default:
		fmt.Fprintln(os.Stderr, "soak: -keys must be on, off or both")
		os.Exit(2)
	}
	cfg.serveF = strings.Fields(*extra)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	if !ok {
		fmt.Println("FAIL: the well-behaved client saw an error or a p99 at or above", cfg.p99)
		os.Exit(1)
	}
	fmt.Println("PASS")
}

// result is one row of the table.
type result struct {
	keys     bool
	phase    string
	m        *abuse.Measure
	rejected map[string]int64
}

func run(ctx context.Context, cfg config) (bool, error) {
	tmp, err := os.MkdirTemp("", "dnsscout-soak-*")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	if cfg.bin == "" {
		cfg.bin = filepath.Join(tmp, "dnsscout")
		fmt.Fprintln(os.Stderr, "building dnsscout...")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", cfg.bin, "./cmd/dnsscout")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return false, fmt.Errorf("go build: %w (run from the repository root)", err)
		}
	}
	var results []result
	for _, withKeys := range cfg.modes {
		dir := filepath.Join(tmp, fmt.Sprintf("store-keys-%v", withKeys))
		good, bad, err := makeStore(ctx, dir, cfg.names, withKeys)
		if err != nil {
			return false, err
		}
		rs, err := soak(ctx, cfg, dir, good, bad, withKeys)
		results = append(results, rs...)
		if err != nil {
			return false, err
		}
	}
	return report(os.Stdout, cfg, results), nil
}

// makeStore writes names hosts under example.com (and www.example.com)
// and, with keys, a key for the measuring client and one for the hostile
// clients.
func makeStore(ctx context.Context, dir string, names int, withKeys bool) (good, bad string, err error) {
	fmt.Fprintf(os.Stderr, "writing %d names to %s...\n", names, dir)
	db, err := pebble.Open(ctx, dir, pebble.Options{NoSync: true})
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	batch := make([]pdns.Tuple, 0, 10_000)
	for i := range names + 1 {
		name := "h" + strconv.Itoa(i) + ".example.com"
		if i == names {
			name = "www.example.com"
		}
		batch = append(batch, pdns.Tuple{RRName: name, RRType: 1, RData: fmt.Sprintf("192.0.2.%d", i%250+1),
			Count: 1, TimeFirst: 1700000000, TimeLast: 1700000000, SensorIDs: []string{"soak"}})
		if len(batch) == cap(batch) || i == names {
			if err := db.Upsert(ctx, batch); err != nil {
				return "", "", err
			}
			batch = batch[:0]
		}
	}
	if !withKeys {
		return "", "", nil
	}
	km, err := keys.Open(ctx, db, keys.Options{})
	if err != nil {
		return "", "", err
	}
	if good, _, err = km.Add(ctx, keys.Spec{Name: "well-behaved", Perms: []keys.Permission{keys.PermQuery}}); err != nil {
		return "", "", err
	}
	bad, _, err = km.Add(ctx, keys.Spec{Name: "hostile", Perms: []keys.Permission{keys.PermQuery, keys.PermIngest}})
	return good, bad, err
}

// soak starts serve on dir and runs the phases.
func soak(ctx context.Context, cfg config, dir, good, bad string, withKeys bool) ([]result, error) {
	args := append([]string{"serve", "--db", dir, "--listen", "127.0.0.1:0", "--stats-interval", "0", "--log-level", "warn",
		"--admin-socket", "none"}, cfg.serveF...)
	cmd := exec.Command(cfg.bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	addr, err := servingAddr(stderr)
	if err != nil {
		return nil, err
	}
	target := abuse.Target{Addr: addr, Key: good}
	r := rand.New(rand.NewPCG(1, 2))
	var paths []string
	for range 1000 {
		paths = append(paths, abuse.LookupPath("h"+strconv.Itoa(r.IntN(cfg.names))+".example.com"))
	}
	fmt.Fprintf(os.Stderr, "serve on %s, keys %v\n", addr, withKeys)
	// The flood is one client asking for more than its share: one key,
	// or without keys one other address (the clients of one address
	// share its slots).
	floodFrom := ""
	if !withKeys {
		floodFrom = "127.0.0.2"
	}
	phases := []struct {
		name  string
		kinds []string
	}{
		{"alone", nil},
		{"260 slow bodies (1 byte/s)", []string{"slow"}},
		{"260 unread answers (*.example.com, limit=0)", []string{"unread"}},
		{"gzip bombs (30 KB, 300 KB of {} lines)", []string{"bombs"}},
		{"flood: 64 connections of 10,000-record lookups", []string{"flood"}},
		{"all at once", []string{"slow", "unread", "bombs", "flood"}},
	}
	var out []result
	for _, p := range phases {
		if !strings.Contains(p.name, cfg.only) {
			continue
		}
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "phase: %s (%v)...\n", p.name, cfg.phase)
		before, err := abuse.Rejections(target)
		if err != nil {
			return out, err
		}
		var children []*exec.Cmd
		for _, kind := range p.kinds {
			args := []string{"-hostile", kind, "-addr", addr, "-key", bad}
			if kind == "flood" && floodFrom != "" {
				args = append(args, "-from", floodFrom)
			}
			child := exec.CommandContext(ctx, os.Args[0], args...)
			child.Stderr = os.Stderr
			if err := child.Start(); err != nil {
				return out, err
			}
			children = append(children, child)
		}
		pctx, cancel := context.WithTimeout(ctx, cfg.phase)
		m := abuse.WellBehaved(pctx, target, cfg.rate, paths)
		cancel()
		for _, child := range children {
			child.Process.Signal(syscall.SIGTERM)
			child.Wait()
		}
		after, err := abuse.Rejections(target)
		if err != nil {
			return out, err
		}
		for k, v := range before {
			after[k] -= v
			if after[k] == 0 {
				delete(after, k)
			}
		}
		out = append(out, result{keys: withKeys, phase: p.name, m: m, rejected: after})
		time.Sleep(time.Second) // let the server close what the phase left
	}
	return out, nil
}

// hostile runs one kind of hostile client until ctx ends.
func hostile(ctx context.Context, kind string, t abuse.Target) error {
	var st abuse.Stats
	switch kind {
	case "slow":
		abuse.SlowBodies(ctx, t, 260, time.Second, &st)
	case "unread":
		abuse.UnreadAnswers(ctx, t, 260, "/dnsdb/v2/lookup/rrset/name/*.example.com?limit=0", &st)
	case "bombs":
		abuse.Bombs(ctx, t, 4, [][]byte{abuse.Braces(30 << 20), abuse.Braces(300 << 20)}, &st)
	case "flood":
		var paths []string
		for i := range 10 {
			paths = append(paths, fmt.Sprintf("/dnsdb/v2/lookup/rrset/name/*.example.com?limit=10000&offset=%d", i*10000))
		}
		abuse.Flood(ctx, t, 64, paths, &st)
	default:
		return fmt.Errorf("unknown hostile client %q", kind)
	}
	return nil
}

var reServing = regexp.MustCompile(`serving on http://(\S+)`)

// servingAddr reads serve's standard error until it says where it
// listens, then keeps draining it (to the soak's standard error).
func servingAddr(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := reServing.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
					fmt.Fprintln(os.Stderr, "serve:", sc.Text())
				}
			}()
			return m[1], nil
		}
		fmt.Fprintln(os.Stderr, "serve:", sc.Text())
	}
	return "", errors.New("serve exited before listening")
}

// report prints the table and says whether every phase passed.
func report(w io.Writer, cfg config, results []result) bool {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "keys\tphase\trequests\t503\tother errors\tp50\tp99\tmax\trefused or cut by the server\t\n")
	ok := true
	for _, r := range results {
		m := r.m
		var reasons []string
		for k, v := range r.rejected {
			reasons = append(reasons, fmt.Sprintf("%s %d", k, v))
		}
		slices.Sort(reasons)
		p99 := m.Percentile(99)
		pass := m.Failed() == 0 && p99 < cfg.p99 && m.Requests > 0
		ok = ok && pass
		mark := ""
		if !pass {
			mark = " FAIL"
		}
		keys := "off"
		if r.keys {
			keys = "on"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%v\t%v%s\t%v\t%s\t\n", keys, r.phase, m.Requests, m.Unavailable(), m.Failed()-m.Unavailable(),
			m.Percentile(50).Round(10*time.Microsecond), p99.Round(10*time.Microsecond), mark, m.Percentile(100).Round(10*time.Microsecond),
			strings.Join(reasons, ", "))
	}
	tw.Flush()
	return ok
}
