// Command api benchmarks the passive DNS server (internal/api) under wrk:
// exact DNSDB v2 rrset lookups (/dnsdb/v2/lookup/rrset/name/NAME, with an
// API key, as dnsdbq sends them) of names drawn from a store of 10 million
// generated tuples, over loopback. The server runs as "dnsscout serve"
// does (api.Server.Serve, default admission limits), with a block cache
// of -cache (serve --cache-size) and an answer cache of -answer-cache
// (serve --answer-cache; 0 = none, so that every request reads the
// store). It prints one table: requests/s, latency percentiles (wrk's),
// errors and non-2xx answers, the CPU per request of the server and of
// wrk, and how many requests the answer cache answered.
//
// With -abuse, the same run has hostile clients beside wrk, with a key
// of their own: 260 ingest POSTs sending their body at 1 byte/s, 260
// wildcard lookups of large zones (limit=0) whose answers are never
// read, gzip bombs, and a flood of large-zone lookups from 16
// connections. The table adds what /metrics counted against them, and
// how long expensive queries paused to leave the cores to cheap ones
// (serve --expensive-share).
//
// With -floor, the same wrk run is repeated against a bare net/http
// server (the same timeouts) that answers every request with one real
// answer of average size: its CPU per request is what net/http and the
// kernel cost on this machine at this load, the floor under the server's
// own figure.
//
// The store is bench/query's: when -dir holds no store of -n tuples, it
// runs bench/query to generate one (about 4 minutes for 10 million on two
// cores), then reads the sample of names bench/query keeps in the store.
// Before the load it checks 200 lookups against the store's own Lookup.
//
// Run (DURATION is wrk's -d: 30s by default; the judge uses 10m):
//
//	go run ./bench/api -dir /tmp/dnsscout-bench-query -n 10000000
//	go run ./bench/api -dir /tmp/dnsscout-bench-query -n 10000000 -abuse
//	go run ./bench/api -dir /tmp/dnsscout-bench-query -n 10000000 -floor
//	go run ./bench/api -dir /tmp/dnsscout-bench-query -n 10000000 -answer-cache 0
//	DURATION=10m go run ./bench/api -dir /tmp/dnsscout-bench-query -n 10000000
//
// wrk is Debian's package wrk (apt-get install wrk). Measure on a quiet
// machine: wrk and the server share its cores.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dnsscout/dnsscout/bench/internal/abuse"
	"github.com/dnsscout/dnsscout/internal/api"
	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// profile is the -cpuprofile file.
var profile string

// sample is the part of bench/query's sample this benchmark uses.
type sample struct {
	N      int      `json:"n"`
	Tuples int64    `json:"tuples"`
	Names  []string `json:"names"`
	Big    []string `json:"big"`
}

// config is the command line.
type config struct {
	dir                    string
	n                      int
	duration               string
	conns, threads, npaths int
	cache, answers         int64
	abuse, floor           bool
}

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "dnsscout-bench-query"), "store directory (bench/query's; generated when missing)")
	n := flag.Int("n", 10_000_000, "tuples in the store")
	conns := flag.Int("connections", 64, "wrk connections")
	// One wrk thread: on two cores the server needs more than one, and a
	// second wrk thread costs wrk a fifth more CPU per request (20-23 µs
	// against 16-18 µs) in contention with the server.
	threads := flag.Int("threads", 1, "wrk threads (-threads 2: the server's figure with more contention)")
	paths := flag.Int("paths", 50_000, "distinct lookups in the wrk script")
	cpuprofile := flag.String("cpuprofile", "", "write the server's CPU profile during the load to `FILE`")
	cacheMiB := flag.Int64("cache", 512, "block cache of the store in MiB (serve --cache-size)")
	answersMiB := flag.Int64("answer-cache", 64, "answer cache of the server in MiB (serve --answer-cache; 0 = none)")
	withAbuse := flag.Bool("abuse", false, "run hostile clients beside wrk")
	withFloor := flag.Bool("floor", false, "repeat the run against bare net/http answering one real answer (the floor)")
	flag.Parse()
	profile = *cpuprofile
	duration := os.Getenv("DURATION")
	if duration == "" {
		duration = "30s"
	}
	if _, err := time.ParseDuration(duration); err != nil {
		fmt.Fprintf(os.Stderr, "bench/api: DURATION %q: %v\n", duration, err)
		os.Exit(2)
	}
	cfg := config{dir: *dir, n: *n, duration: duration, conns: *conns, threads: *threads, npaths: *paths,
		cache: *cacheMiB << 20, answers: *answersMiB << 20, abuse: *withAbuse, floor: *withFloor}
	if cfg.answers == 0 {
		cfg.answers = -1
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/api:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk not found: apt-get install wrk")
	}
	s, err := ensureStore(ctx, cfg.dir, cfg.n)
	if err != nil {
		return err
	}
	db, err := pebble.Open(ctx, cfg.dir, pebble.Options{MaxLimit: -1, CacheBytes: cfg.cache})
	if err != nil {
		return err
	}
	defer db.Close()
	km, err := keys.Open(ctx, db, keys.Options{})
	if err != nil {
		return err
	}
	key, err := benchKey(ctx, km, "bench-api", keys.PermQuery)
	if err != nil {
		return err
	}
	abuserKey, err := benchKey(ctx, km, "bench-api-abuser", keys.PermQuery, keys.PermIngest)
	if err != nil {
		return err
	}
	srv, err := api.New(api.Options{Store: db, Keys: km, StatsInterval: 0, AnswerCacheBytes: cfg.answers})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(srvCtx, ln) }()
	defer func() { stopSrv(); <-served }()
	base := "http://" + ln.Addr().String()

	r := rand.New(rand.NewPCG(7, 11))
	var list []string
	for range cfg.npaths {
		list = append(list, s.Names[r.IntN(len(s.Names))])
	}
	checked, results, typical, err := verify(ctx, db, base, key, list[:min(200, len(list))])
	if err != nil {
		return err
	}
	// Warm the block cache with the names wrk asks for: the run measures
	// the server in its steady state, not the store's first reads.
	for _, name := range list {
		if _, err := db.Lookup(ctx, store.Query{Kind: store.KindRRSet, Name: name, Limit: 10000}, func(*pdns.Tuple) error { return nil }); err != nil {
			return err
		}
	}
	script, err := writeScript(list, key)
	if err != nil {
		return err
	}
	defer os.Remove(script)

	var hostile *hostiles
	if cfg.abuse {
		hostile = startHostiles(ctx, abuse.Target{Addr: ln.Addr().String(), Key: abuserKey}, s.Big)
	}
	fmt.Fprintf(os.Stderr, "wrk -t%d -c%d -d%s against %s ...\n", cfg.threads, cfg.conns, cfg.duration, base)
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	self := abuse.Target{Addr: ln.Addr().String()}
	hits0, _ := abuse.Counter(self, "dnsscout_api_answer_cache_hits_total")
	out, cpu, wcpu, err := runWrk(ctx, wrk, cfg, script, base)
	if err != nil {
		return err
	}
	hits, _ := abuse.Counter(self, "dnsscout_api_answer_cache_hits_total")
	hits -= hits0
	var rejected map[string]int64
	var paused float64
	if hostile != nil {
		rejected, _ = abuse.Rejections(self)
		paused, _ = abuse.Counter(self, "dnsscout_api_expensive_paused_seconds_total")
		hostile.stop()
	}
	w := parseWrk(string(out))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(what, value, target string) { fmt.Fprintf(tw, "%s\t%s\t%s\t\n", what, value, target) }
	fmt.Fprintf(tw, "measure\tvalue\ttarget\t\n")
	row("tuples in the store", strconv.FormatInt(s.Tuples, 10), "10,000,000")
	row("block cache", fmt.Sprintf("%d MiB", cfg.cache>>20), "")
	row("lookups checked against the store", fmt.Sprintf("%d (%.1f records each)", checked, float64(results)/float64(checked)), "")
	row("wrk", fmt.Sprintf("%d threads, %d connections, %s, %d distinct names", cfg.threads, cfg.conns, cfg.duration, distinct(list)), "")
	if cfg.answers > 0 {
		row("answer cache", fmt.Sprintf("%d MiB", cfg.answers>>20), "")
	} else {
		row("answer cache", "none: every request reads the store", "")
	}
	row("requests", w.requests, "")
	row("requests/s", w.rps, ">= 30,000")
	row("latency p50 / p90 / p99", w.p50+" / "+w.p90+" / "+w.p99, "p99 < 10ms")
	row("latency max", w.max, "")
	if n, _ := strconv.ParseFloat(w.requests, 64); n > 0 {
		row("server CPU per request", (cpu / time.Duration(n)).String(), "")
		row("wrk CPU per request", (wcpu / time.Duration(n)).String(), "")
		row("answered from the answer cache", fmt.Sprintf("%.0f (%.1f%%)", hits, 100*hits/n), "")
	}
	row("non-2xx answers", w.non2xx, "0")
	row("socket errors", w.socketErrors, "0")
	if hostile != nil {
		hostile.rows(row, rejected)
		row("expensive queries paused for cheap ones", fmt.Sprintf("%.1f s", paused), "")
	}
	if cfg.floor {
		stopSrv() // the floor run has the cores to itself
		f, fcpu, fwcpu, err := floor(ctx, wrk, cfg, script, typical)
		if err != nil {
			return err
		}
		fw := parseWrk(string(f))
		row("floor: net/http alone, one answer of", fmt.Sprintf("%d bytes", len(typical)), "")
		row("floor: requests/s", fw.rps, "")
		row("floor: latency p50 / p90 / p99", fw.p50+" / "+fw.p90+" / "+fw.p99, "")
		if n, _ := strconv.ParseFloat(fw.requests, 64); n > 0 {
			row("floor: CPU per request", (fcpu / time.Duration(n)).String(), "")
			row("floor: wrk CPU per request", (fwcpu / time.Duration(n)).String(), "")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if w.non2xx != "0" || w.socketErrors != "0" {
		return fmt.Errorf("errors under load:\n%s", out)
	}
	return nil
}

// runWrk runs wrk with the configuration's threads, connections and
// duration against base, and returns its output, the CPU time this
// process used meanwhile (the server's: wrk is another process) and
// wrk's.
func runWrk(ctx context.Context, wrk string, cfg config, script, base string) (out []byte, server, client time.Duration, err error) {
	cpu0, wrk0 := processCPU(syscall.RUSAGE_SELF), processCPU(syscall.RUSAGE_CHILDREN)
	out, err = exec.CommandContext(ctx, wrk, "-t"+strconv.Itoa(cfg.threads), "-c"+strconv.Itoa(cfg.conns), "-d"+cfg.duration,
		"--timeout", "10s", "--latency", "-s", script, base).CombinedOutput()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	return out, processCPU(syscall.RUSAGE_SELF) - cpu0, processCPU(syscall.RUSAGE_CHILDREN) - wrk0, nil
}

// floor runs wrk as the benchmark does against a bare net/http server,
// with serve's timeouts, that answers every request with body.
func floor(ctx context.Context, wrk string, cfg config, script string, body []byte) ([]byte, time.Duration, time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, 0, err
	}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10*time.Second + 5*time.Minute, IdleTimeout: 2 * time.Minute,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Write(body)
		})}
	go hs.Serve(ln)
	defer hs.Close()
	fmt.Fprintf(os.Stderr, "wrk against bare net/http (the floor) ...\n")
	return runWrk(ctx, wrk, cfg, script, "http://"+ln.Addr().String())
}

// ensureStore returns bench/query's sample, generating the store first
// when dir holds none of n tuples.
func ensureStore(ctx context.Context, dir string, n int) (*sample, error) {
	s, err := loadSample(ctx, dir)
	if err == nil && s.N == n {
		return s, nil
	}
	fmt.Fprintf(os.Stderr, "generating a store of %d tuples in %s with bench/query...\n", n, dir)
	cmd := exec.CommandContext(ctx, "go", "run", "./bench/query", "-dir", dir, "-n", strconv.Itoa(n), "-lookups", "1000")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bench/query: %w (run from the repository root)", err)
	}
	return loadSample(ctx, dir)
}

// benchKey revokes the earlier runs' keys of this name and adds a new
// one.
func benchKey(ctx context.Context, km *keys.Manager, name string, perms ...keys.Permission) (string, error) {
	for _, k := range km.List() {
		if k.Name == name && k.Revoked.IsZero() {
			if err := km.Revoke(ctx, k.ID); err != nil {
				return "", err
			}
		}
	}
	tok, _, err := km.Add(ctx, keys.Spec{Name: name, Perms: perms})
	return tok, err
}

// hostiles are the abusive clients of -abuse.
type hostiles struct {
	cancel                     context.CancelFunc
	done                       chan struct{}
	slow, unread, bombs, flood abuse.Stats
}

func startHostiles(ctx context.Context, t abuse.Target, big []string) *hostiles {
	ctx, cancel := context.WithCancel(ctx)
	h := &hostiles{cancel: cancel, done: make(chan struct{})}
	var floodPaths []string
	for _, z := range big {
		floodPaths = append(floodPaths, "/dnsdb/v2/lookup/rrset/name/*."+z+"?limit=10000")
	}
	unreadPath := "/dnsdb/v2/lookup/rrset/name/*." + big[0] + "?limit=0"
	bombs := [][]byte{abuse.Braces(30 << 20), abuse.Braces(300 << 20)}
	go func() {
		defer close(h.done)
		var wg sync.WaitGroup
		wg.Go(func() { abuse.SlowBodies(ctx, t, 260, time.Second, &h.slow) })
		wg.Go(func() { abuse.UnreadAnswers(ctx, t, 260, unreadPath, &h.unread) })
		wg.Go(func() { abuse.Bombs(ctx, t, 2, bombs, &h.bombs) })
		wg.Go(func() { abuse.Flood(ctx, t, 16, floodPaths, &h.flood) })
		wg.Wait()
	}()
	return h
}

func (h *hostiles) stop() {
	h.cancel()
	<-h.done
}

func (h *hostiles) rows(row func(what, value, target string), rejected map[string]int64) {
	row("hostile: slow bodies (1 byte/s)", fmt.Sprintf("260 at once, %d started", h.slow.Requests.Load()), "")
	row("hostile: unread answers (limit=0)", fmt.Sprintf("260 at once, %d started", h.unread.Requests.Load()), "")
	row("hostile: gzip bombs (30 MB, 300 MB of {} lines)", fmt.Sprintf("%d sent, %d refused", h.bombs.Requests.Load(), h.bombs.Cut.Load()), "")
	row("hostile: flood of large-zone lookups", fmt.Sprintf("16 connections, %d sent, %d refused", h.flood.Requests.Load(), h.flood.Cut.Load()), "")
	var reasons []string
	for r, n := range rejected {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
	}
	slices.Sort(reasons)
	row("dnsscout_api_rejected_total", strings.Join(reasons, ", "), "")
}

// processCPU is the CPU time (user and system) used so far by this
// process (RUSAGE_SELF: the server's, during the load) or by its waited-for
// children (RUSAGE_CHILDREN: wrk's, once it ended).
func processCPU(who int) time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(who, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
	if len(s.Names) == 0 {
		return nil, errors.New("bench/query's sample holds no names")
	}
	return &s, nil
}

// verify sends lookups and compares the number of records with the
// store's own Lookup. typical is an answer with the mean number of
// records (for -floor).
func verify(ctx context.Context, db store.Backend, base, key string, names []string) (n, results int, typical []byte, err error) {
	bodies := map[int][]byte{}
	for _, name := range names {
		want := 0
		if _, err := db.Lookup(ctx, store.Query{Kind: store.KindRRSet, Name: name, Limit: 10000}, func(*pdns.Tuple) error { want++; return nil }); err != nil {
			return n, results, nil, err
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", base+abuse.LookupPath(name), nil)
		req.Header.Set("X-API-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return n, results, nil, err
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got := strings.Count(string(body), `{"obj":`)
		if res.StatusCode != 200 || got != want || !strings.HasSuffix(string(body), `{"cond":"succeeded"}`+"\n") {
			return n, results, nil, fmt.Errorf("lookup of %s: status %d, %d records; the store holds %d", name, res.StatusCode, got, want)
		}
		bodies[got] = body
		n++
		results += got
	}
	if n > 0 {
		mean := (results + n/2) / n
		for d := 0; typical == nil && d <= results; d++ {
			if typical = bodies[mean-d]; typical == nil {
				typical = bodies[mean+d]
			}
		}
	}
	return n, results, typical, nil
}

// distinct counts the different strings of list.
func distinct(list []string) int {
	seen := map[string]bool{}
	for _, s := range list {
		seen[s] = true
	}
	return len(seen)
}

// writeScript writes wrk's Lua script: each thread formats the requests
// once, then walks them from a random start.
func writeScript(names []string, key string) (string, error) {
	f, err := os.CreateTemp("", "dnsscout-bench-api-*.lua")
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "local paths = {")
	for _, n := range names {
		fmt.Fprintf(w, "  %q,\n", abuse.LookupPath(n))
	}
	fmt.Fprintln(w, "}")
	fmt.Fprintf(w, `local i = 0
local headers = { ["X-API-Key"] = %q, ["Accept"] = "application/x-ndjson" }
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local reqs = {}
init = function(args)
  math.randomseed(os.time() * 100 + (tid or 0))
  i = math.random(#paths)
  for j = 1, #paths do reqs[j] = wrk.format("GET", paths[j], headers) end
end
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return reqs[i]
end
`, key)
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

type wrkResult struct {
	requests, rps, p50, p90, p99, max, non2xx, socketErrors string
}

var (
	reRequests = regexp.MustCompile(`(\d+) requests in`)
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reLatency  = regexp.MustCompile(`(?m)^\s+Latency\s+\S+\s+\S+\s+(\S+)`)
	rePct      = regexp.MustCompile(`(?m)^\s+(50|90|99)%\s+(\S+)`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func parseWrk(out string) wrkResult {
	w := wrkResult{non2xx: "0", socketErrors: "0"}
	if m := reRequests.FindStringSubmatch(out); m != nil {
		w.requests = m[1]
	}
	if m := reRPS.FindStringSubmatch(out); m != nil {
		w.rps = m[1]
	}
	if m := reLatency.FindStringSubmatch(out); m != nil {
		w.max = m[1]
	}
	for _, m := range rePct.FindAllStringSubmatch(out, -1) {
		switch m[1] {
		case "50":
			w.p50 = m[2]
		case "90":
			w.p90 = m[2]
		case "99":
			w.p99 = m[2]
		}
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		w.non2xx = m[1]
	}
	if m := reSocket.FindStringSubmatch(out); m != nil {
		total := 0
		for _, x := range m[1:] {
			v, _ := strconv.Atoi(x)
			total += v
		}
		w.socketErrors = strconv.Itoa(total)
	}
	return w
}
