package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// The abusive clients of issue 11 against a server run by Serve (the
// whole lifecycle) with small limits: slow bodies and unread answers
// must not make a well-behaved client see a 503, with and without keys.
// scripts/soak-serve.sh runs the same clients at full size against a
// real "dnsscout serve".

// floodName is the zone whose wildcard lookup floodStore answers with as
// many tuples as the query's limit allows.
const floodName = "flood.example.com"

// floodStore answers a left-hand wildcard lookup of floodName with
// generated tuples (up to the query's limit), so that an answer can be
// as large as a test needs; every other query goes to the store. pause,
// when set, is slept every 100 tuples.
type floodStore struct {
	store.Backend
	pause time.Duration
}

func (f *floodStore) Lookup(ctx context.Context, q store.Query, fn func(*pdns.Tuple) error) (string, error) {
	if q.Name != floodName || q.Wildcard != store.WildLeft {
		return f.Backend.Lookup(ctx, q, fn)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1 << 30
	}
	for i := range limit {
		if i%100 == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			if f.pause > 0 {
				time.Sleep(f.pause)
			}
		}
		t := pdns.Tuple{RRName: "h" + strconv.Itoa(i) + "." + floodName, RRType: 1, RData: "192.0.2.1", Count: 1,
			TimeFirst: 1700000000, TimeLast: 1700000000}
		if err := fn(&t); err != nil {
			return "", err
		}
	}
	return "", nil
}

// live is a server run by Serve on a loopback port.
type live struct {
	*env
	addr string
	srv  *Server
}

// smallBuffers shrinks the socket buffers of accepted connections, so
// that an unread answer blocks the server after a few KiB.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// newLive serves a store holding the fixture (with floodStore in front)
// through Serve, with few work slots; mod may change the options.
func newLive(t *testing.T, mod func(*Options)) *live {
	t.Helper()
	var opts Options
	e := newEnv(t, func(o *Options) {
		o.Store = &floodStore{Backend: o.Store}
		o.MaxInFlight = 16
		o.MaxInFlightPerKey, o.MaxInFlightPerClient = 2, 2
		o.QueueTimeout = 5 * time.Second
		o.BodyGrace, o.WriteTimeout = 300*time.Millisecond, time.Second
		o.ShutdownTimeout = 2 * time.Second
		if mod != nil {
			mod(o)
		}
		opts = *o
	})
	if os.Getenv("API_TEST_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, smallBuffers{ln}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	l := &live{env: e, addr: ln.Addr().String(), srv: srv}
	l.url = "http://" + l.addr
	return l
}

// rawRequest opens a connection with a small receive buffer and sends a
// request head.
func (l *live) rawRequest(t *testing.T, method, path, key string, contentLength int) net.Conn {
	return l.rawRequestBuf(t, 4<<10, method, path, key, contentLength)
}

// rawRequestBuf is rawRequest with a receive buffer of readBuffer bytes
// (0: the system's default). A buffer so small that it holds less than a
// segment leaves the window shut, once full, until the server's
// zero-window probe, which backs off to seconds: a test that reads the
// answer after a stall needs a default one.
func (l *live) rawRequestBuf(t *testing.T, readBuffer int, method, path, key string, contentLength int) net.Conn {
	c, err := net.Dial("tcp", l.addr)
	if err != nil {
		t.Errorf("dial: %v", err)
		return nil
	}
	if readBuffer > 0 {
		c.(*net.TCPConn).SetReadBuffer(readBuffer)
	}
	head := method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	if key != "" {
		head += "X-API-Key: " + key + "\r\n"
	}
	if contentLength > 0 {
		head += "Content-Length: " + strconv.Itoa(contentLength) + "\r\n"
	}
	if _, err := io.WriteString(c, head+"\r\n"); err != nil {
		c.Close()
		return nil
	}
	return c
}

// slowBody sends an ingest body at one byte per interval until the
// server cuts it or ctx ends, then starts again an interval later.
func (l *live) slowBody(ctx context.Context, t *testing.T, key string, interval time.Duration) {
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval):
			}
		}
		c := l.rawRequest(t, "POST", "/api/v1/ingest", key, 100_000)
		if c == nil {
			return
		}
		for ctx.Err() == nil {
			if _, err := c.Write([]byte("{")); err != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(interval):
			}
		}
		c.Close()
	}
}

// unread asks for a huge answer and never reads it, until ctx ends.
func (l *live) unread(ctx context.Context, t *testing.T, key string) {
	c := l.rawRequest(t, "GET", "/dnsdb/v2/lookup/rrset/name/*."+floodName+"?limit=0", key, 0)
	if c == nil {
		return
	}
	<-ctx.Done()
	c.Close()
}

// wellBehaved sends lookups from workers goroutines for d and returns
// the status codes seen and the latencies.
func (l *live) wellBehaved(t *testing.T, key string, workers int, d time.Duration) (map[int]int, []time.Duration) {
	var mu sync.Mutex
	codes := map[int]int{}
	var lat []time.Duration
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	for range workers {
		wg.Go(func() {
			for time.Now().Before(end) {
				req, _ := http.NewRequest("GET", l.url+"/dnsdb/v2/lookup/rrset/name/www.example.com", nil)
				if key != "" {
					req.Header.Set("X-API-Key", key)
				}
				start := time.Now()
				res, err := client.Do(req)
				code := -1
				if err != nil {
					t.Logf("well-behaved request: %v", err)
				} else {
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					code = res.StatusCode
					if code == 200 && !strings.HasSuffix(string(body), `{"cond":"succeeded"}`+"\n") {
						code = -2
					}
				}
				mu.Lock()
				codes[code]++
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return codes, lat
}

// metric reads one sample of /metrics.
func (e *env) metric(t *testing.T, name string) float64 {
	t.Helper()
	_, _, body := e.get("/metrics", nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// drained waits until admission holds nothing: no slot, member or
// tenant leaks once the clients are gone.
func (l *live) drained(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if msg := l.srv.adm.check(); msg != "" {
			t.Fatalf("admission accounting: %s", msg)
		}
		a, n, ten := l.srv.adm.counts()
		if a == 0 && n == 0 && ten == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("admission still holds %d slots, %d requests, %d tenants after the clients left", a, n, ten)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

// TestAbusiveClientsDoNotLockOthersOut reproduces issue 11's lock-outs:
// 260 ingest POSTs sending their body at one byte per 100 ms, and 260
// lookups of a huge answer that is never read, against a server whose
// limits are far below 260; a well-behaved client meanwhile never sees
// a 503. Without keys every client shares 127.0.0.1; with keys the
// abusers share one key.
func TestAbusiveClientsDoNotLockOthersOut(t *testing.T) {
	const abusers = 260
	for _, tc := range []struct {
		name    string
		keys    bool
		abuse   string
		reasons []string
	}{
		{"slow bodies without keys", false, "slow", []string{reasonSlowBody}},
		{"slow bodies with keys", true, "slow", []string{reasonSlowBody}},
		{"unread answers without keys", false, "unread", []string{reasonCut, reasonWriteTimeout}},
		{"unread answers with keys", true, "unread", []string{reasonCut, reasonWriteTimeout}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLive(t, nil)
			var bad, good string
			if tc.keys {
				bad = l.addKey(keys.Spec{Name: "abuser", Perms: []keys.Permission{keys.PermQuery, keys.PermIngest}})
				good = l.addKey(keys.Spec{Name: "analyst"})
			}
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range abusers {
				wg.Go(func() {
					if tc.abuse == "slow" {
						l.slowBody(ctx, t, bad, 100*time.Millisecond)
					} else {
						l.unread(ctx, t, bad)
					}
				})
			}
			codes, lat := l.wellBehaved(t, good, 4, time.Second)
			eventually(t, "an abuser to be cut", func() bool {
				cut := 0.0
				for _, r := range tc.reasons {
					cut += l.metric(t, `dnsscout_api_rejected_total{reason="`+r+`"}`)
				}
				return cut > 0
			})
			stop()
			wg.Wait()
			t.Logf("well-behaved client: %v, p99 %v over %d requests", codes, p99(lat), len(lat))
			_, _, m := l.get("/metrics", nil)
			t.Logf("%s", grepLines(m, "rejected_total"))
			if len(codes) != 1 || codes[200] == 0 {
				t.Errorf("the well-behaved client saw %v, want only 200", codes)
			}
			l.drained(t)
		})
	}
}

// TestKeyFloodWaitsInItsQueue: a key at its slots waits in its own queue
// while another key is served at once; a full queue refuses only the
// key that filled it.
func TestKeyFloodWaitsInItsQueue(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 10)
	e := newEnv(t, func(o *Options) {
		o.Store = &blockingStore{Backend: o.Store, gate: gate, entered: entered}
		o.MaxInFlightPerKey, o.MaxQueue = 1, 1
	})
	a := map[string]string{"X-API-Key": e.addKey(keys.Spec{Name: "a"})}
	b := map[string]string{"X-API-Key": e.addKey(keys.Spec{Name: "b"})}
	const path = "/dnsdb/v2/lookup/rrset/name/www.example.com"
	var wg sync.WaitGroup
	var first, queued atomic.Int32
	wg.Go(func() { c, _, _ := e.get(path, a); first.Store(int32(c)) })
	<-entered
	wg.Go(func() { c, _, _ := e.get(path, a); queued.Store(int32(c)) })
	eventually(t, "a's second request to queue", func() bool {
		_, n, _ := e.srv.adm.counts()
		return n == 2
	})
	if code, h, body := e.get(path, a); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "wait") {
		t.Fatalf("a's third request, its queue full: %d %s", code, body)
	}
	var other atomic.Int32
	wg.Go(func() { c, _, _ := e.get(path, b); other.Store(int32(c)) })
	<-entered // b is served beside a's held request
	close(gate)
	wg.Wait()
	if first.Load() != 200 || queued.Load() != 200 || other.Load() != 200 {
		t.Fatalf("a: %d, a queued: %d, b: %d; want 200s", first.Load(), queued.Load(), other.Load())
	}
	_, _, m := e.get("/metrics", nil)
	if !strings.Contains(m, `dnsscout_api_rejected_total{reason="queue_full"} 1`) {
		t.Errorf("/metrics does not count the queue_full refusal:\n%s", grepLines(m, "rejected"))
	}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestDeadlines: a body below the minimum rate is answered 408 after the
// grace, an answer nobody reads is cut after the write timeout, and a
// request past its work budget is cut; each frees what it held and is
// counted by reason.
func TestDeadlines(t *testing.T) {
	t.Run("slow body", func(t *testing.T) {
		l := newLive(t, func(o *Options) { o.BodyGrace = 200 * time.Millisecond })
		c := l.rawRequest(t, "POST", "/api/v1/ingest", "", 1000)
		defer c.Close()
		go func() {
			for range 100 {
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "slower than") {
			t.Fatalf("slow body: %d %s", res.StatusCode, body)
		}
		if v := l.metric(t, `dnsscout_api_rejected_total{reason="slow_body"}`); v != 1 {
			t.Errorf("slow_body = %v, want 1", v)
		}
		l.drained(t)
	})
	t.Run("unread answer", func(t *testing.T) {
		l := newLive(t, func(o *Options) { o.WriteTimeout = 200 * time.Millisecond })
		c := l.rawRequest(t, "GET", "/dnsdb/v2/lookup/rrset/name/*."+floodName+"?limit=0", "", 0)
		defer c.Close()
		eventually(t, "the write timeout", func() bool {
			return l.metric(t, `dnsscout_api_rejected_total{reason="write_timeout"}`) == 1
		})
		l.drained(t)
	})
	t.Run("work budget", func(t *testing.T) {
		l := newLive(t, func(o *Options) {
			o.WorkBudget = 100 * time.Millisecond
			o.Store.(*floodStore).pause = time.Millisecond
		})
		res, err := http.Get(l.url + "/dnsdb/v2/lookup/rrset/name/*." + floodName + "?limit=0")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil || strings.Contains(string(body), `"cond":"succeeded"`) || strings.Contains(string(body), `"cond":"limited"`) {
			t.Fatalf("a lookup past its budget was not cut: %d, %d bytes, %v", res.StatusCode, len(body), err)
		}
		if v := l.metric(t, `dnsscout_api_rejected_total{reason="work_budget"}`); v != 1 {
			t.Errorf("work_budget = %v, want 1", v)
		}
		l.drained(t)
	})
}

// TestIngestBudgets: compressed bodies stop at their ratio, malformed
// ones at their bad-line budget, long before they are read whole.
func TestIngestBudgets(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxIngestBadLines = 10 })
	braces := []byte(strings.Repeat("{}\n", 10_000))
	line := `{"rrname":"bomb.example.com","rrtype":"A","rdata":"192.0.2.9","time_first":1700000000,"time_last":1700000000}` + "\n"
	for _, tc := range []struct {
		name   string
		body   []byte
		code   int
		want   string
		reason string
	}{
		{"braces", braces, 400, "more than 10 bad lines", reasonBadLines},
		{"gzip braces", gzipBytes(t, braces), 400, "more than 10 bad lines", reasonBadLines},
		{"gzip zeros", gzipBytes(t, make([]byte, 2<<20)), 413, "inflating more than 100 times", reasonRatio},
		{"gzip of one tuple repeated", gzipBytes(t, []byte(strings.Repeat(line, 20_000))), 413, "inflating more than 100 times", reasonRatio},
		{"empty", nil, 400, "empty body", ""},
		{"blank lines", []byte("\n\n \n"), 400, "empty body", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := e.post("/api/v1/ingest", nil, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s, want %d %q", code, body, tc.code, tc.want)
			}
			if tc.reason == "" {
				return
			}
			_, _, m := e.get("/metrics", nil)
			if !regexp.MustCompile(`dnsscout_api_rejected_total\{reason="` + tc.reason + `"\} [1-9]`).MatchString(m) {
				t.Errorf("reason %s not counted:\n%s", tc.reason, grepLines(m, "rejected"))
			}
		})
	}
	if code, _, body := e.post("/api/v1/ingest/nxdomain", nil, nil); code != 400 || !strings.Contains(body, "empty body") {
		t.Fatalf("empty NXDOMAIN body: %d %s", code, body)
	}
}

// TestServeShutdown: Serve stops on its context, lets a request in
// progress finish, and leaves no admin socket behind.
func TestServeShutdown(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	sock := t.TempDir() + "/admin.sock"
	e := newEnv(t, func(o *Options) {
		o.Store = &blockingStore{Backend: o.Store, gate: gate, entered: entered}
		o.AdminSocket = sock
	})
	srv := e.srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	eventually(t, "the admin socket", func() bool {
		_, err := NewAdminClient(sock).List(context.Background())
		return err == nil
	})
	got := make(chan int, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/dnsdb/v2/lookup/rrset/name/www.example.com")
		if err != nil {
			got <- -1
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		got <- res.StatusCode
	}()
	<-entered
	cancel()
	eventually(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(gate)
	if code := <-got; code != 200 {
		t.Fatalf("request in progress at shutdown: %d", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Fatal("admin socket still answers")
	}
}

// waitingOnClient counts the held requests waiting on their client.
func (l *live) waitingOnClient() int {
	a := l.srv.adm
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for c := a.all.head; c != nil; c = c.links[a.all.which].next {
		if c.ioSince.Load() != 0 {
			n++
		}
	}
	return n
}

// cuttable reports whether admission would cut a held request of key
// tok to make room (one has waited minCut on its client).
func (l *live) cuttable(tok string) bool {
	id, _, _ := keys.ParseToken(tok)
	a := l.srv.adm
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tenants[tenantKey{key: id}]
	return t != nil && a.longestWaiting(&t.members) != nil
}

// TestStalledRequestLendsItsSlot: a request blocked on a client that does
// not read its answer holds no slot another request of its tenant needs.
func TestStalledRequestLendsItsSlot(t *testing.T) {
	l := newLive(t, func(o *Options) { o.MaxInFlightPerClient, o.MaxQueue, o.QueueTimeout = 1, 1, 10*time.Second })
	c := l.rawRequest(t, "GET", "/dnsdb/v2/lookup/rrset/name/*."+floodName+"?limit=0", "", 0)
	defer c.Close()
	eventually(t, "the unread answer to block", func() bool { return l.waitingOnClient() == 1 })
	for i := range 20 {
		if code, _, _ := l.get("/dnsdb/v2/lookup/rrset/name/www.example.com", nil); code != 200 {
			t.Fatalf("request %d beside a stalled one of the same client: %d", i, code)
		}
	}
	if v := l.metric(t, `dnsscout_api_rejected_total{reason="queue_timeout"}`); v != 0 {
		t.Fatalf("queue_timeout = %v", v)
	}
}

// TestRequestCapsCutTheStalled: past MaxRequestsPerClient, the request
// that has waited longest on its client is cut to make room, so a key
// that holds answers nobody reads can still be used; another key is not
// touched.
//
// Each of a's searches takes the turn of its expensive query from the one
// before once that one has stalled for expensiveStall, so the answers
// block one by one: the write timeout is long enough not to cut them
// first.
func TestRequestCapsCutTheStalled(t *testing.T) {
	l := newLive(t, func(o *Options) { o.MaxRequestsPerClient, o.WriteTimeout = 4, time.Minute })
	a := l.addKey(keys.Spec{Name: "a"})
	b := l.addKey(keys.Spec{Name: "b"})
	held := l.rawRequest(t, "GET", "/dnsdb/v2/lookup/rrset/name/*."+floodName+"?limit=0", b, 0)
	defer held.Close()
	eventually(t, "b's answer to block", func() bool { return l.waitingOnClient() == 1 })
	for i := range 10 {
		if i >= 4 {
			eventually(t, "a stalled request to be old enough to cut", func() bool { return l.cuttable(a) })
		}
		c := l.rawRequest(t, "GET", "/dnsdb/v2/lookup/rrset/name/*."+floodName+"?limit=0", a, 0)
		defer c.Close()
		eventually(t, "a's answer to block", func() bool {
			return l.waitingOnClient() == min(i+1, 4)+1 &&
				l.metric(t, `dnsscout_api_rejected_total{reason="cut_waiting_on_client"}`) == float64(max(i-3, 0))
		})
	}
	eventually(t, "a stalled request to be old enough to cut", func() bool { return l.cuttable(a) })
	if code, _, _ := l.get("/dnsdb/v2/lookup/rrset/name/www.example.com", map[string]string{"X-API-Key": a}); code != 200 {
		t.Fatalf("a's lookup beside its stalled requests: %d", code)
	}
	if v := l.metric(t, `dnsscout_api_rejected_total{reason="cut_waiting_on_client"}`); v != 7 {
		t.Errorf("cut_waiting_on_client = %v, want 7 (6 for a's stalled answers, 1 for its lookup)", v)
	}
	// b's request, alone in its tenant, was never cut: it still waits.
	held.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(held).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("b's held answer: %q %v", line, err)
	}
}

// turns counts, for key tok, the expensive queries holding a turn and
// those whose turn was taken while they waited on their client.
func (l *live) turns(tok string) (held, taken int) {
	id, _, _ := keys.ParseToken(tok)
	a := l.srv.adm
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := a.all.head; c != nil; c = c.links[a.all.which].next {
		if c.expensive == nil || c.expensive.id.key != id {
			continue
		}
		if _, ok := c.expensive.holders[c]; ok {
			held++
		} else if c.member {
			taken++
		}
	}
	return held, taken
}

// TestExpensiveTurnTakenFromTheStalled: a search whose client stops
// reading gives its turn to the key's next search, and waits for a turn
// again when its client reads, so that the key never has more searches
// worked on than MaxExpensivePerTenant; both answers end complete.
func TestExpensiveTurnTakenFromTheStalled(t *testing.T) {
	l := newLive(t, func(o *Options) { o.MaxExpensivePerTenant, o.WriteTimeout = 1, time.Minute })
	a := l.addKey(keys.Spec{Name: "a"})
	const search = "/dnsdb/v2/lookup/rrset/name/*." + floodName + "?limit=20000"
	first := l.rawRequestBuf(t, 0, "GET", search, a, 0)
	defer first.Close()
	eventually(t, "the first answer to block", func() bool { return l.waitingOnClient() == 1 })
	if held, taken := l.turns(a); held != 1 || taken != 0 {
		t.Fatalf("one search: %d turns held, %d taken; want 1, 0", held, taken)
	}
	second := l.rawRequestBuf(t, 0, "GET", search, a, 0)
	defer second.Close()
	eventually(t, "the second to take the turn and block", func() bool {
		held, taken := l.turns(a)
		return l.waitingOnClient() == 2 && held == 1 && taken == 1
	})
	// Reading the first answer makes it wait for the turn, which it takes
	// back from the second once that has stalled long enough.
	answers := make(chan string, 2)
	read := func(c net.Conn) {
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			answers <- err.Error()
			return
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			answers <- err.Error()
			return
		}
		answers <- fmt.Sprintf("%d %d lines, last %q", res.StatusCode, bytes.Count(body, []byte("\n")), lastLine(body))
	}
	go read(first)
	want := fmt.Sprintf("200 %d lines, last %q", 20002, `{"cond":"succeeded"}`)
	if got := <-answers; got != want {
		t.Fatalf("first answer: %s, want %s", got, want)
	}
	if held, taken := l.turns(a); held != 0 || taken != 1 {
		_, _, m := l.get("/metrics", nil)
		t.Log(regexp.MustCompile(`(?m)^dnsscout_api_rejected.*[1-9]$`).FindAllString(m, -1))
		t.Fatalf("after the first answer: %d turns held, %d taken, %d waiting on client; want 0, 1 (the second's was taken back)", held, taken, l.waitingOnClient())
	}
	go read(second)
	if got := <-answers; got != want {
		t.Fatalf("second answer: %s, want %s", got, want)
	}
}

// lastLine is the last non-empty line of b.
func lastLine(b []byte) string {
	b = bytes.TrimRight(b, "\n")
	return string(b[bytes.LastIndexByte(b, '\n')+1:])
}
