// Command api benchmarks the passive DNS server (internal/api) under wrk:
// exact DNSDB v2 rrset lookups (/dnsdb/v2/lookup/rrset/name/NAME, with an
// API key, as dnsdbq sends them) of names drawn from a store of 10 million
// generated tuples, over loopback. It prints one table: requests/s,
// latency percentiles (wrk's), errors and non-2xx answers.
//
// The store is bench/query's: when -dir holds no store of -n tuples, it
// runs bench/query to generate one (about 4 minutes for 10 million on two
// cores), then reads the sample of names bench/query keeps in the store.
// Before the load it checks 200 lookups against the store's own Lookup.
//
// Run (DURATION is wrk's -d: 30s by default; the judge uses 10m):
//
//	go run ./bench/api -dir /tmp/dnsscout-bench-query -n 10000000
//	DURATION=10m go run ./bench/api -dir /tmp/dnsscout-bench-query -n 10000000
//
// wrk is Debian's package wrk (apt-get install wrk).
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
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

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
}

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "dnsscout-bench-query"), "store directory (bench/query's; generated when missing)")
	n := flag.Int("n", 10_000_000, "tuples in the store")
	conns := flag.Int("connections", 64, "wrk connections")
	threads := flag.Int("threads", 2, "wrk threads")
	paths := flag.Int("paths", 50_000, "distinct lookups in the wrk script")
	cpuprofile := flag.String("cpuprofile", "", "write the server's CPU profile during the load to `FILE`")
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
	if err := run(*dir, *n, duration, *conns, *threads, *paths); err != nil {
		fmt.Fprintln(os.Stderr, "bench/api:", err)
		os.Exit(1)
	}
}

func run(dir string, n int, duration string, conns, threads, npaths int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk not found: apt-get install wrk")
	}
	s, err := loadSample(ctx, dir)
	if err != nil || s.N != n {
		fmt.Fprintf(os.Stderr, "generating a store of %d tuples in %s with bench/query...\n", n, dir)
		cmd := exec.CommandContext(ctx, "go", "run", "./bench/query", "-dir", dir, "-n", strconv.Itoa(n), "-lookups", "1000")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("bench/query: %w (run from the repository root)", err)
		}
		if s, err = loadSample(ctx, dir); err != nil {
			return err
		}
	}

	db, err := pebble.Open(ctx, dir, pebble.Options{MaxLimit: -1})
	if err != nil {
		return err
	}
	defer db.Close()
	km, err := keys.Open(ctx, db, keys.Options{})
	if err != nil {
		return err
	}
	for _, k := range km.List() {
		if k.Name == "bench-api" && k.Revoked.IsZero() {
			if err := km.Revoke(ctx, k.ID); err != nil {
				return err
			}
		}
	}
	key, _, err := km.Add(ctx, keys.Spec{Name: "bench-api", Perms: []keys.Permission{keys.PermQuery}})
	if err != nil {
		return err
	}
	srv, err := api.New(api.Options{Store: db, Keys: km, MaxInFlight: 4 * conns})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()

	r := rand.New(rand.NewPCG(7, 11))
	var list []string
	for range npaths {
		list = append(list, s.Names[r.IntN(len(s.Names))])
	}
	checked, results, err := verify(ctx, db, base, key, list[:min(200, len(list))])
	if err != nil {
		return err
	}
	script, err := writeScript(list, key)
	if err != nil {
		return err
	}
	defer os.Remove(script)

	fmt.Fprintf(os.Stderr, "wrk -t%d -c%d -d%s against %s ...\n", threads, conns, duration, base)
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
	out, err := exec.CommandContext(ctx, wrk, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns), "-d"+duration,
		"--timeout", "10s", "--latency", "-s", script, base).CombinedOutput()
	if err != nil {
		return fmt.Errorf("wrk: %v\n%s", err, out)
	}
	w := parseWrk(string(out))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(what, value, target string) { fmt.Fprintf(tw, "%s\t%s\t%s\t\n", what, value, target) }
	fmt.Fprintf(tw, "measure\tvalue\ttarget\t\n")
	row("tuples in the store", strconv.FormatInt(s.Tuples, 10), "10,000,000")
	row("lookups checked against the store", fmt.Sprintf("%d (%.1f records each)", checked, float64(results)/float64(checked)), "")
	row("wrk", fmt.Sprintf("%d threads, %d connections, %s, %d distinct names", threads, conns, duration, len(list)), "")
	row("requests", w.requests, "")
	row("requests/s", w.rps, "")
	row("latency p50 / p90 / p99", w.p50+" / "+w.p90+" / "+w.p99, "")
	row("latency max", w.max, "")
	row("non-2xx answers", w.non2xx, "0")
	row("socket errors", w.socketErrors, "0")
	if err := tw.Flush(); err != nil {
		return err
	}
	if w.non2xx != "0" || w.socketErrors != "0" {
		return fmt.Errorf("errors under load:\n%s", out)
	}
	return nil
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

// lookupPath is the DNSDB path of an exact rrset lookup, escaped as
// dnsdbq escapes it.
func lookupPath(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return "/dnsdb/v2/lookup/rrset/name/" + b.String() + "?swclient=bench&version=1"
}

// verify sends lookups and compares the number of records with the
// store's own Lookup.
func verify(ctx context.Context, db store.Backend, base, key string, names []string) (n, results int, err error) {
	for _, name := range names {
		want := 0
		if _, err := db.Lookup(ctx, store.Query{Kind: store.KindRRSet, Name: name, Limit: 10000}, func(*pdns.Tuple) error { want++; return nil }); err != nil {
			return n, results, err
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", base+lookupPath(name), nil)
		req.Header.Set("X-API-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return n, results, err
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got := strings.Count(string(body), `{"obj":`)
		if res.StatusCode != 200 || got != want || !strings.HasSuffix(string(body), `{"cond":"succeeded"}`+"\n") {
			return n, results, fmt.Errorf("lookup of %s: status %d, %d records; the store holds %d", name, res.StatusCode, got, want)
		}
		n++
		results += got
	}
	return n, results, nil
}

// writeScript writes wrk's Lua script: each thread walks the paths from a
// random start.
func writeScript(names []string, key string) (string, error) {
	f, err := os.CreateTemp("", "dnsscout-bench-api-*.lua")
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "local paths = {")
	for _, n := range names {
		fmt.Fprintf(w, "  %q,\n", lookupPath(n))
	}
	fmt.Fprintln(w, "}")
	fmt.Fprintf(w, `local i = 0
local headers = { ["X-API-Key"] = %q, ["Accept"] = "application/x-ndjson" }
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
init = function(args)
  math.randomseed(os.time() * 100 + (tid or 0))
  i = math.random(#paths)
end
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i], headers)
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
