package remote

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/api"
	"github.com/dnsscout/dnsscout/internal/ingest"
	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// recorder is a fake server that keeps what it receives and can fail.
type recorder struct {
	mu      sync.Mutex
	batches map[string][]pdns.Tuple // by Idempotency-Key
	order   []string
	headers []http.Header
	// fail, when set, answers a request with this status instead.
	fail func(n int) int
	n    atomic.Int64
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(rc.n.Add(1))
	if r.URL.Path != IngestPath || r.Method != http.MethodPost {
		http.Error(w, "wrong endpoint", 404)
		return
	}
	if rc.fail != nil {
		if code := rc.fail(n); code != 0 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":"test failure %d"}`, code)
			return
		}
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	dec := pdns.NewDecoder(zr)
	var ts []pdns.Tuple
	for {
		ts, err = dec.Decode(ts)
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.batches == nil {
		rc.batches = map[string][]pdns.Tuple{}
	}
	key := r.Header.Get("Idempotency-Key")
	dup := rc.batches[key] != nil
	if !dup {
		rc.batches[key] = ts
		rc.order = append(rc.order, key)
	}
	rc.headers = append(rc.headers, r.Header.Clone())
	fmt.Fprintf(w, `{"accepted":%d,"rejected":0,"duplicate":%v}`, len(ts), dup)
}

func (rc *recorder) tuples() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, b := range rc.batches {
		n += len(b)
	}
	return n
}

func testTuples(n int, prefix string) []pdns.Tuple {
	var out []pdns.Tuple
	for i := range n {
		out = append(out, pdns.Tuple{RRName: fmt.Sprintf("%s%d.example.com", prefix, i), RRType: 1,
			RData: fmt.Sprintf("192.0.2.%d", i%250), TimeFirst: 1700000000, TimeLast: 1700000000 + int64(i), Count: uint64(i + 1),
			SensorIDs: []string{"s1"}})
	}
	return out
}

func newTestSink(t *testing.T, url, dir string, mod func(*Options)) *Sink {
	t.Helper()
	o := Options{URL: url, Key: "dss_test", SpoolDir: dir, BatchTuples: 3, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		DrainTimeout: 5 * time.Second, RequestTimeout: 5 * time.Second}
	if mod != nil {
		mod(&o)
	}
	s, err := NewSink(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func flush(t *testing.T, s *Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("flush: %v (stats %+v)", err, s.Stats())
	}
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".ndjson.gz") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestDeliver(t *testing.T) {
	rc := &recorder{}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	dir := t.TempDir()
	s := newTestSink(t, hs.URL, dir, nil)
	if err := s.Upsert(context.Background(), testTuples(7, "d")); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if rc.tuples() != 7 || len(rc.order) != 3 || st.Batches != 3 || st.Tuples != 7 || st.PendingBatches != 0 {
		t.Fatalf("server got %d tuples in %d batches; stats %+v", rc.tuples(), len(rc.order), st)
	}
	for _, h := range rc.headers {
		if h.Get("X-API-Key") != "dss_test" || h.Get("Content-Encoding") != "gzip" || len(h.Get("Idempotency-Key")) != 32 {
			t.Fatalf("request headers %v", h)
		}
	}
	// Batches arrive in the order they were spooled.
	if got := rc.batches[rc.order[0]][0].RRName; got != "d0.example.com" {
		t.Fatalf("first batch starts with %s", got)
	}
	if f := spoolFiles(t, dir); len(f) != 0 {
		t.Fatalf("spool not empty: %v", f)
	}
	if err := s.Upsert(context.Background(), testTuples(1, "late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Upsert after Close: %v", err)
	}
}

func TestRetryWithBackoff(t *testing.T) {
	rc := &recorder{fail: func(n int) int {
		switch n {
		case 1:
			return 503
		case 2:
			return 429
		case 3:
			return 500
		}
		return 0
	}}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	s := newTestSink(t, hs.URL, t.TempDir(), nil)
	defer s.Close(context.Background())
	if err := s.Upsert(context.Background(), testTuples(2, "r")); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if st := s.Stats(); st.Retries != 3 || st.Batches != 1 || rc.tuples() != 2 {
		t.Fatalf("stats %+v, server tuples %d", st, rc.tuples())
	}
}

// TestSpoolSurvivesRestart: batches spooled while the server is down stay
// on disk through a sensor restart and are delivered, once, by the next
// run.
func TestSpoolSurvivesRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	dir := t.TempDir()
	s := newTestSink(t, "http://"+addr, dir, func(o *Options) { o.DrainTimeout = 100 * time.Millisecond })
	if err := s.Upsert(context.Background(), testTuples(8, "sp")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files := spoolFiles(t, dir)
	if len(files) != 3 || s.Stats().PendingBatches != 3 {
		t.Fatalf("spool after a failed run: %v, stats %+v", files, s.Stats())
	}
	spooled := 0
	for _, f := range files {
		ts, err := ReadBatch(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		spooled += len(ts)
	}
	if spooled != 8 {
		t.Fatalf("the spool holds %d tuples, want 8", spooled)
	}
	// A half-written file from a crash is discarded on recovery.
	if err := os.WriteFile(filepath.Join(dir, ".tmp-0000000000000009-x-1.ndjson.gz"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc := &recorder{}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s not reusable: %v", addr, err)
	}
	hs := &http.Server{Handler: rc}
	go hs.Serve(ln2)
	defer hs.Close()
	s2 := newTestSink(t, "http://"+addr, dir, nil)
	flush(t, s2)
	s2.Close(context.Background())
	if rc.tuples() != 8 || len(rc.order) != 3 {
		t.Fatalf("after restart the server got %d tuples in %d batches", rc.tuples(), len(rc.order))
	}
	var ids []string
	for _, f := range files {
		sp, _ := parseSpoolName(f)
		ids = append(ids, sp.id)
	}
	if strings.Join(ids, ",") != strings.Join(rc.order, ",") {
		t.Fatalf("batch keys %v, server saw %v", ids, rc.order)
	}
	if left, _ := os.ReadDir(dir); len(left) != 2 { // lock and rejected/
		t.Fatalf("spool after delivery holds %d entries", len(left))
	}
}

func TestSpoolBound(t *testing.T) {
	rc := &recorder{fail: func(int) int { return 503 }}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	s := newTestSink(t, hs.URL, t.TempDir(), func(o *Options) {
		o.SpoolBytes = 1 << 20
		o.BatchTuples = 100
		o.FullWait = 200 * time.Millisecond
		o.DrainTimeout = time.Millisecond
	})
	defer s.Close(context.Background())
	// Incompressible rdata: about 400 KiB per batch of 100.
	big := func() []pdns.Tuple {
		ts := testTuples(100, "big")
		for i := range ts {
			b := make([]byte, 2000)
			rand.Read(b)
			ts[i].RRType = 16
			ts[i].RData = `"` + hex.EncodeToString(b) + `"`
		}
		return ts
	}
	var err error
	for i := 0; i < 5 && err == nil; i++ {
		err = s.Upsert(context.Background(), big())
	}
	if !errors.Is(err, ErrSpoolFull) {
		t.Fatalf("Upsert into a full spool: %v (stats %+v)", err, s.Stats())
	}
	if st := s.Stats(); st.PendingBytes > 1<<20 {
		t.Fatalf("spool grew to %d bytes, bound 1 MiB", st.PendingBytes)
	}
	// A cancelled context ends the wait too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Upsert(ctx, big()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Upsert with a cancelled context: %v", err)
	}
}

func TestRejectedAndRefused(t *testing.T) {
	rc := &recorder{fail: func(n int) int {
		if n == 1 {
			return 400
		}
		return 0
	}}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	dir := t.TempDir()
	s := newTestSink(t, hs.URL, dir, nil)
	if err := s.Upsert(context.Background(), testTuples(5, "x")); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	s.Close(context.Background())
	rej, _ := os.ReadDir(filepath.Join(dir, "rejected"))
	if st := s.Stats(); st.Rejected != 1 || len(rej) != 1 || rc.tuples() != 2 {
		t.Fatalf("stats %+v, rejected files %d, delivered %d", st, len(rej), rc.tuples())
	}
	// A refused key keeps the batches spooled.
	rc2 := &recorder{fail: func(int) int { return 403 }}
	hs2 := httptest.NewServer(rc2)
	defer hs2.Close()
	dir2 := t.TempDir()
	s2 := newTestSink(t, hs2.URL, dir2, func(o *Options) { o.DrainTimeout = 100 * time.Millisecond })
	s2.Upsert(context.Background(), testTuples(1, "k"))
	s2.Close(context.Background())
	if len(spoolFiles(t, dir2)) != 1 || s2.Stats().Retries == 0 {
		t.Fatalf("403: spool %v stats %+v", spoolFiles(t, dir2), s2.Stats())
	}
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, "http://127.0.0.1:9", dir, func(o *Options) { o.DrainTimeout = time.Millisecond })
	defer s.Close(context.Background())
	if _, err := NewSink(Options{URL: "http://127.0.0.1:9", SpoolDir: dir}); !errors.Is(err, ErrSpoolLocked) {
		t.Fatalf("second sink on one spool: %v", err)
	}
	for _, o := range []Options{
		{URL: "ftp://x"}, {URL: "127.0.0.1:8053"}, {URL: "http://"}, {URL: "http://h/?q=1"},
		{URL: "http://h", SpoolBytes: 10}, {URL: "http://h", BatchTuples: -1},
		{URL: "http://h", Key: "a\nb"}, {URL: "http://h", MinBackoff: time.Second, MaxBackoff: time.Millisecond},
	} {
		o.SpoolDir = t.TempDir()
		if _, err := NewSink(o); !errors.Is(err, ErrOptions) {
			t.Errorf("NewSink(%+v): %v, want ErrOptions", o, err)
		}
	}
	d, err := defaultSpoolDir(func(k string) string { return map[string]string{"HOME": "/home/u"}[k] }, "[::1]:8053")
	if err != nil || d != "/home/u/.local/state/dnsscout/spool/___1__8053" {
		t.Fatalf("default spool dir %q %v", d, err)
	}
}

// apiServer is a real dnsscout server over a store, on addr ("" = any
// loopback port), that can be stopped and started again.
type apiServer struct {
	t    *testing.T
	db   *pebble.DB
	srv  *api.Server
	hs   *http.Server
	addr string
	// lose, when > 0, makes the next requests be applied but their
	// answers lost (a 502 instead), as when a connection drops.
	lose atomic.Int64
}

func (a *apiServer) start() {
	a.t.Helper()
	addr := a.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.t.Skipf("listen %s: %v", addr, err)
	}
	a.addr = ln.Addr().String()
	h := a.srv.Handler()
	a.hs = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.lose.Add(-1) >= 0 {
			h.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(w, "answer lost", http.StatusBadGateway)
			return
		}
		h.ServeHTTP(w, r)
	})}
	go a.hs.Serve(ln)
}

func (a *apiServer) stop() { a.hs.Close() }

func (a *apiServer) count(name string) uint64 {
	var n uint64
	_, err := a.db.Lookup(context.Background(), store.Query{Kind: store.KindRRSet, Name: name}, func(t *pdns.Tuple) error {
		n += t.Count
		return nil
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return n
}

// TestEndToEnd runs package ingest into a remote sink and a real server:
// through a server restart and a lost answer, every tuple arrives and no
// count is doubled.
// startServer runs a real api.Server over a Pebble store on loopback and
// returns it with a key that has the ingest permission.
func startServer(t *testing.T) (*apiServer, string) {
	t.Helper()
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir(), pebble.Options{NoSync: true, MaxLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	km, err := keys.Open(ctx, db, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := km.Add(ctx, keys.Spec{Name: "sensor-e2e", Perms: []keys.Permission{keys.PermIngest}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Store: db, Keys: km})
	if err != nil {
		t.Fatal(err)
	}
	as := &apiServer{t: t, db: db, srv: srv}
	as.start()
	t.Cleanup(as.stop)
	return as, tok
}

func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	as, tok := startServer(t)
	db := as.db
	sink := newTestSink(t, "http://"+as.addr, t.TempDir(), func(o *Options) { o.Key = tok; o.BatchTuples = 50 })
	in, err := ingest.New(sink, ingest.Options{SensorID: "edge", BatchSize: 100, Memory: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	feed := func(prefix string, n int) {
		for _, tu := range testTuples(n, prefix) {
			if err := in.Tuple(ctx, &tu); err != nil {
				t.Fatal(err)
			}
		}
		if err := in.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	feed("a", 120)
	flush(t, sink)
	// The server goes away; the sensor keeps spooling.
	as.stop()
	feed("b", 120)
	time.Sleep(50 * time.Millisecond) // let the sender fail at least once
	// It comes back on the same address; the first answer is lost.
	as.lose.Store(1)
	as.start()
	if err := in.Close(ctx); err != nil {
		t.Fatal(err)
	}
	flush(t, sink)
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := sink.Stats()
	if st.Duplicates != 1 || st.PendingBatches != 0 {
		t.Fatalf("sink stats %+v: want one duplicate answer and an empty spool", st)
	}
	for _, p := range []string{"a", "b"} {
		for i := range 120 {
			name := fmt.Sprintf("%s%d.example.com", p, i)
			if got := as.count(name); got != uint64(i+1) {
				t.Fatalf("%s: count %d, want %d", name, got, i+1)
			}
		}
	}
	var sensors []string
	db.Lookup(ctx, store.Query{Kind: store.KindRRSet, Name: "a0.example.com"}, func(t *pdns.Tuple) error {
		sensors = t.SensorIDs
		return nil
	})
	if strings.Join(sensors, ",") != "s1" {
		t.Fatalf("sensor ids %v: the tuples' own sensor must be kept", sensors)
	}
}

// A Sink is an ingest.NXSink: the ingester hands it NXDOMAIN counters,
// which reach the server's store through their own endpoint, once each
// even when an answer is lost.
var _ ingest.NXSink = (*Sink)(nil)

func TestEndToEndNXDomain(t *testing.T) {
	ctx := context.Background()
	as, tok := startServer(t)
	sink := newTestSink(t, "http://"+as.addr, t.TempDir(), func(o *Options) { o.Key = tok; o.BatchTuples = 2 })
	as.lose.Store(1)
	counts := []store.NXCount{
		{Name: "gone.example.com", Count: 3, TimeFirst: 1700000000, TimeLast: 1700000100},
		{Name: "typo.example.com", Count: 1, TimeFirst: 1700000050, TimeLast: 1700000050},
		{Name: "gone.example.com", Count: 2, TimeFirst: 1699999000, TimeLast: 1700000200},
	}
	if err := sink.AddNXDomain(ctx, counts); err != nil {
		t.Fatal(err)
	}
	if err := sink.Upsert(ctx, testTuples(1, "nx")); err != nil {
		t.Fatal(err)
	}
	flush(t, sink)
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := sink.Stats()
	if st.NXNames != 3 || st.Tuples != 1 || st.Batches != 3 || st.Duplicates != 1 || st.PendingBatches != 0 {
		t.Fatalf("sink stats %+v: want 3 counters and 1 tuple in 3 batches, one answer lost", st)
	}
	got := map[string]store.NXCount{}
	q, err := store.ParseQuery("*.example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = as.db.LookupNXDomain(ctx, q, func(c *store.NXCount) error {
		got[c.Name] = *c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]store.NXCount{
		"gone.example.com": {Name: "gone.example.com", Count: 5, TimeFirst: 1699999000, TimeLast: 1700000200},
		"typo.example.com": {Name: "typo.example.com", Count: 1, TimeFirst: 1700000050, TimeLast: 1700000050},
	}
	if len(got) != len(want) || got["gone.example.com"] != want["gone.example.com"] || got["typo.example.com"] != want["typo.example.com"] {
		t.Fatalf("server store holds %+v, want %+v", got, want)
	}
	if n := as.count("nx0.example.com"); n != 1 {
		t.Fatalf("the tuple batch beside them: count %d", n)
	}
}

// FuzzParseSpoolName: spool file names from disk are parsed without
// panics, and what parses has the documented shape.
func FuzzParseSpoolName(f *testing.F) {
	f.Add("0000000000000001-0123456789abcdef0123456789abcdef-3.ndjson.gz")
	f.Add("0000000000000002-0123456789abcdef0123456789abcdef-2.nx.ndjson.gz")
	f.Fuzz(func(t *testing.T, name string) {
		sp, ok := parseSpoolName(name)
		if !ok {
			return
		}
		if sp.name != name || len(sp.id) != 32 || sp.tuples < 0 || !strings.HasSuffix(name, ".ndjson.gz") || sp.nx != strings.HasSuffix(name, ".nx.ndjson.gz") {
			t.Fatalf("parseSpoolName(%q) = %+v", name, sp)
		}
	})
}
