package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
)

// TestMisbehaviourIsPenalized: a key whose ingest bodies are refused
// for too many bad lines more than MaxStrikes times has its next upload
// held for the penalty and refused (429, Retry-After, connection
// closed) when the penalty outlasts QueueTimeout; its lookups and
// another key's uploads are untouched; once forgiven, it is served
// again.
func TestMisbehaviourIsPenalized(t *testing.T) {
	const penalty = 2 * time.Second
	e := newEnv(t, func(o *Options) {
		o.MaxIngestBadLines, o.MaxStrikes, o.StrikePenalty, o.QueueTimeout = 10, 2, penalty, 100*time.Millisecond
	})
	perms := []keys.Permission{keys.PermQuery, keys.PermIngest}
	bad := map[string]string{"X-API-Key": e.addKey(keys.Spec{Name: "bombs", Perms: perms})}
	good := map[string]string{"X-API-Key": e.addKey(keys.Spec{Name: "sensor", Perms: perms})}
	braces := gzipBytes(t, []byte(strings.Repeat("{}\n", 10_000)))
	tuple := []byte(`{"rrname":"ok.example.com","rrtype":"A","rdata":"192.0.2.7","time_first":1700000000,"time_last":1700000000}` + "\n")

	start := time.Now()
	for i := range 3 {
		if code, _, body := e.post("/api/v1/ingest", bad, braces); code != http.StatusBadRequest {
			t.Fatalf("bomb %d: %d %s, want 400", i+1, code, body)
		}
	}
	// Three strikes, two allowed: the next upload waits QueueTimeout and
	// is refused, unless the test itself took a penalty to get here.
	req, _ := http.NewRequest("POST", e.url+"/api/v1/ingest", strings.NewReader(string(tuple)))
	req.Header.Set("X-API-Key", bad["X-API-Key"])
	t0 := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if time.Since(start) < penalty {
		if res.StatusCode != http.StatusTooManyRequests || !res.Close || res.Header.Get("Retry-After") == "" {
			t.Fatalf("upload after three strikes: %d, Retry-After %q, close %v; want 429, a Retry-After, the connection closed",
				res.StatusCode, res.Header.Get("Retry-After"), res.Close)
		}
		if waited := time.Since(t0); waited < 100*time.Millisecond {
			t.Errorf("refused after %v, want after the queue timeout (100ms)", waited)
		}
		if n := e.metric(t, `dnsscout_api_rejected_total{reason="penalized"}`); n != 1 {
			t.Errorf("penalized refusals counted: %v, want 1", n)
		}
	}
	// The same key's lookups and the other key's uploads are not penalized.
	if code, _, body := e.get("/dnsdb/v2/lookup/rrset/name/www.example.com", bad); code != http.StatusOK {
		t.Errorf("the penalized key's lookup: %d %s", code, body)
	}
	if code, _, body := e.post("/api/v1/ingest", good, tuple); code != http.StatusOK {
		t.Errorf("another key's upload: %d %s", code, body)
	}
	// Forgiven after the penalty: no upload of the key is admitted before
	// start + penalty (the third strike is forgiven penalty after the
	// first at the earliest).
	for {
		code, _, body := e.post("/api/v1/ingest", bad, tuple)
		if code == http.StatusOK {
			if time.Since(start) < penalty {
				t.Fatalf("upload admitted %v after the first strike, before the penalty (%v)", time.Since(start), penalty)
			}
			break
		}
		if code != http.StatusTooManyRequests {
			t.Fatalf("upload while penalized: %d %s, want 429", code, body)
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("still penalized 30 s after three strikes")
		}
	}
}

// TestPenaltyWaitedOut: with a QueueTimeout longer than the penalty, the
// penalized key's request waits it out and is then worked on.
func TestPenaltyWaitedOut(t *testing.T) {
	const penalty = time.Second
	e := newEnv(t, func(o *Options) {
		o.MaxIngestBadLines, o.MaxStrikes, o.StrikePenalty, o.QueueTimeout = 10, 1, penalty, 10*time.Second
	})
	bad := map[string]string{"X-API-Key": e.addKey(keys.Spec{Name: "bombs", Perms: []keys.Permission{keys.PermIngest}})}
	braces := []byte(strings.Repeat("{}\n", 100))
	start := time.Now()
	for i := range 3 {
		if code, _, body := e.post("/api/v1/ingest", bad, braces); code != http.StatusBadRequest || !strings.Contains(body, "bad lines") {
			t.Fatalf("body %d: %d %s, want 400 for its bad lines", i+1, code, body)
		}
		// The second strike (one allowed) penalizes: the third body is
		// admitted only once the first strike is forgiven.
		if i == 2 && time.Since(start) < penalty {
			t.Fatalf("third body answered %v after the first, before the penalty (%v) passed", time.Since(start), penalty)
		}
	}
	if n := e.metric(t, `dnsscout_api_rejected_total{reason="penalized"}`); n != 0 {
		t.Errorf("penalized refusals: %v, want 0 (the wait was within the queue timeout)", n)
	}
}

// busyCheap makes admission see cheap queries come thick and fast
// until the returned function is called.
func busyCheap(a *admission) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(cheapWindow / 4)
		defer tick.Stop()
		for {
			for range cheapBusy {
				a.cheapRate.came(monotonic())
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// pausedSince is when a member of a paused for cheap queries, 0 when
// none is paused.
func pausedSince(a *admission) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := a.all.head; c != nil; c = c.links[1].next {
		if since := c.pauseSince.Load(); since != 0 {
			return since
		}
	}
	return 0
}

// TestExpensivePacedWhileCheapWork: an expensive query pauses between
// writes while cheap queries come thick and fast, and does not while
// they do not; its answer is complete either way.
func TestExpensivePacedWhileCheapWork(t *testing.T) {
	// A hundredth of the processors: less than one query uses on any
	// machine.
	l := newLive(t, func(o *Options) { o.ExpensiveShare, o.WriteTimeout = 0.01, time.Minute })
	const search = "/dnsdb/v2/lookup/rrset/name/*." + floodName + "?limit=20000"
	want := 20000 + 2 // begin and succeeded
	paused := func() float64 { return l.metric(t, "dnsscout_api_expensive_paused_seconds_total") }

	code, _, body := l.get(search, nil)
	if code != 200 || strings.Count(body, "\n") != want {
		t.Fatalf("search: %d, %d lines; want 200, %d", code, strings.Count(body, "\n"), want)
	}
	if p := paused(); p != 0 {
		t.Fatalf("paused %vs with no cheap query coming", p)
	}
	stop := busyCheap(l.srv.adm)
	code, _, body = l.get(search, nil)
	stop()
	if code != 200 || strings.Count(body, "\n") != want {
		t.Fatalf("paced search: %d, %d lines; want 200, %d", code, strings.Count(body, "\n"), want)
	}
	if p := paused(); p <= 0 {
		t.Fatal("the search did not pause while cheap queries came")
	}
	l.drained(t)
}

// TestPacer: the pacer lets paceBurst of expensive work pass, asks for
// the pause that keeps more within the share, and drops the debt when
// forgiving; a share of 1 paces nothing.
func TestPacer(t *testing.T) {
	if p := newPacer(1); p != nil {
		t.Fatal("a share of 1 makes a pacer")
	}
	p := newPacer(0.25)
	now := monotonic()
	if d := p.charge(now, paceBurst); d != 0 {
		t.Fatalf("the first %v: pause %v, want none", paceBurst, d)
	}
	// 10 ms of work at a share of 0.25 of the processors: 10 ms / (0.25
	// × GOMAXPROCS) of wall time.
	want := time.Duration(float64(10*time.Millisecond) / (0.25 * float64(runtime.GOMAXPROCS(0))))
	if d := p.charge(now, 10*time.Millisecond); d < want-time.Microsecond || d > want+time.Microsecond {
		t.Fatalf("10ms more: pause %v, want %v", d, want)
	}
	p.forgive(now)
	if d := p.charge(now, time.Microsecond); d > 10*time.Microsecond {
		t.Fatalf("after forgiving: pause %v for 1µs of work", d)
	}
}

// TestCheapRate: cheap queries are busy from cheapBusy of them within
// cheapWindow, for two windows after.
func TestCheapRate(t *testing.T) {
	var r cheapRate
	now := monotonic()
	step := int64(cheapWindow) / (2 * cheapBusy)
	for i := range cheapBusy - 1 {
		r.came(now + int64(i)*step)
	}
	if r.busy(now + int64(cheapWindow)/2) {
		t.Fatalf("busy after %d cheap queries", cheapBusy-1)
	}
	r.came(now + int64(cheapBusy-1)*step)
	at := now + int64(cheapBusy-1)*step
	if !r.busy(at) || !r.busy(at+2*int64(cheapWindow)) {
		t.Fatalf("not busy after %d cheap queries within a window", cheapBusy)
	}
	if r.busy(at + 3*int64(cheapWindow)) {
		t.Fatal("still busy three windows after")
	}
	// A trickle, one per window, is never busy.
	var trickle cheapRate
	for i := range 10 * cheapBusy {
		trickle.came(now + int64(i)*int64(cheapWindow)*11/10)
		if trickle.busy(now + int64(i)*int64(cheapWindow)*11/10) {
			t.Fatalf("busy after %d cheap queries, one per window", i+1)
		}
	}
}

// TestPauseEndsWithTheCheapWork: a pause for cheap queries ends when
// none is at work any more, however long the pacer asked for.
func TestPauseEndsWithTheCheapWork(t *testing.T) {
	l := newLive(t, func(o *Options) { o.ExpensiveShare, o.WriteTimeout = 1e-6, time.Minute })
	const search = "/dnsdb/v2/lookup/rrset/name/*." + floodName + "?limit=20000"
	stop := busyCheap(l.srv.adm)
	type answer struct {
		code  int
		lines int
		at    time.Time
	}
	searched := make(chan answer, 1)
	go func() {
		res, err := http.Get(l.url + search)
		if err != nil {
			searched <- answer{}
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		searched <- answer{res.StatusCode, bytes.Count(body, []byte("\n")), time.Now()}
	}()
	eventually(t, "the search to pause", func() bool { return pausedSince(l.srv.adm) != 0 })
	stop()
	stopped := time.Now()
	// 20,000 results take milliseconds of work: at a millionth of the
	// processors, pauses of a second at every write unless they end
	// with the cheap queries.
	got := <-searched
	if took := got.at.Sub(stopped); got.code != 200 || got.lines != 20002 || took > 20*time.Second {
		t.Fatalf("search: %d, %d lines, %v after the cheap queries stopped; want 200, 20002 lines, the pauses over with them", got.code, got.lines, took)
	}
	if p := l.metric(t, "dnsscout_api_expensive_paused_seconds_total"); p <= 0 {
		t.Fatal("the search did not pause")
	}
	l.drained(t)
}

// TestWaitForATurnIsNotWork: the time an expensive query waits for its
// tenant's turn counts as queued, not as work (the pacer and the work
// budget charge work only).
func TestWaitForATurnIsNotWork(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxExpensivePerTenant = 1 })
	call := func() *call {
		r := httptest.NewRequest("GET", "/dnsdb/v2/lookup/rrset/name/*.example.com", nil)
		return &call{s: e.srv, r: r, start: time.Now()}
	}
	first, second := call(), call()
	if err := e.srv.adm.acquireExpensive(first); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- e.srv.adm.acquireExpensive(second) }()
	eventually(t, "the second to wait for its turn", func() bool {
		e.srv.adm.mu.Lock()
		defer e.srv.adm.mu.Unlock()
		return first.expensive.users == 2
	})
	time.Sleep(200 * time.Millisecond)
	e.srv.adm.releaseExpensive(first)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	defer e.srv.adm.releaseExpensive(second)
	// Its work is what it did outside the wait: next to nothing.
	if w := second.workTime(time.Now().UnixNano()); w >= 100*time.Millisecond {
		t.Fatalf("work time %v (queued %v) after a wait of 200ms for its turn", w, second.queued)
	}
}

// TestPenalizedGoOneByOne: requests waiting out a penalty go a few at a
// time (releasesPerPenalty per StrikePenalty), not all at once when it
// ends.
func TestPenalizedGoOneByOne(t *testing.T) {
	const penalty = 800 * time.Millisecond
	e := newEnv(t, func(o *Options) {
		o.MaxIngestBadLines, o.MaxStrikes, o.StrikePenalty, o.QueueTimeout = 10, 1, penalty, 10*time.Second
	})
	key := map[string]string{"X-API-Key": e.addKey(keys.Spec{Name: "bombs", Perms: []keys.Permission{keys.PermIngest}})}
	braces := []byte(strings.Repeat("{}\n", 100))
	// Three strikes, one allowed: penalized for 1.6 s from the first, so
	// that the uploads below come while it lasts.
	for range 3 {
		if code, _, body := e.post("/api/v1/ingest", key, braces); code != http.StatusBadRequest {
			t.Fatalf("bad body: %d %s", code, body)
		}
	}
	tuple := []byte(`{"rrname":"ok.example.com","rrtype":"A","rdata":"192.0.2.7","time_first":1700000000,"time_last":1700000000}` + "\n")
	const n = 3
	at := make(chan time.Time, n)
	for range n {
		go func() {
			code, _, body := e.post("/api/v1/ingest", key, tuple)
			if code != http.StatusOK {
				t.Errorf("upload after the penalty: %d %s", code, body)
			}
			at <- time.Now()
		}()
	}
	var first, last time.Time
	for i := range n {
		x := <-at
		if i == 0 || x.Before(first) {
			first = x
		}
		if x.After(last) {
			last = x
		}
	}
	// Measured by the client, whose requests may take a little longer
	// one than another: three quarters of the spacing at least.
	if spread, want := last.Sub(first), (n-1)*penalty/releasesPerPenalty*3/4; spread < want {
		t.Fatalf("%d waiting uploads went within %v, want spaced over %v or more", n, spread, want)
	}
}

// TestPauseLendsItsSlot: a search paused for cheap queries lends its
// slot: a lookup of its tenant, which has one slot, is served while the
// search's pause goes on.
func TestPauseLendsItsSlot(t *testing.T) {
	l := newLive(t, func(o *Options) {
		o.ExpensiveShare, o.WriteTimeout = 1e-6, time.Minute
		o.MaxInFlightPerClient = 1
	})
	a := l.srv.adm
	stop := busyCheap(a)
	searched := make(chan string, 1)
	go func() {
		res, err := http.Get(l.url + "/dnsdb/v2/lookup/rrset/name/*." + floodName + "?limit=20000")
		if err != nil {
			searched <- err.Error()
			return
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		searched <- fmt.Sprintf("%d %d lines %v", res.StatusCode, bytes.Count(body, []byte("\n")), err)
	}()
	lent := false
	for range 20 {
		var since int64
		eventually(t, "the search to pause", func() bool { since = pausedSince(a); return since != 0 })
		if code, _, body := l.get("/dnsdb/v2/lookup/rrset/name/www.example.com", nil); code != 200 {
			t.Fatalf("lookup beside the paused search: %d %s", code, body)
		}
		if msg := a.check(); msg != "" {
			t.Fatalf("admission accounting during a pause: %s", msg)
		}
		if pausedSince(a) == since {
			lent = true
			break
		}
	}
	stop()
	if got := <-searched; got != "200 20002 lines <nil>" {
		t.Fatalf("search: %s, want 200 20002 lines", got)
	}
	if !lent {
		t.Fatal("no lookup was served during a pause of the search holding its tenant's only slot")
	}
	l.drained(t)
}
