package api

import (
	"net/http"
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

// TestExpensivePacedWhileCheapWork: an expensive query pauses between
// writes while cheap queries are being worked on, and does not while
// none are; its answer is complete either way, and the pauses are not
// counted against its work budget.
func TestExpensivePacedWhileCheapWork(t *testing.T) {
	l := newLive(t, func(o *Options) { o.ExpensiveShare, o.WriteTimeout = 0.1, time.Minute })
	const search = "/dnsdb/v2/lookup/rrset/name/*." + floodName + "?limit=20000"
	want := 20000 + 2 // begin and succeeded
	paused := func() float64 { return l.metric(t, "dnsscout_api_expensive_paused_seconds_total") }

	code, _, body := l.get(search, nil)
	if code != 200 || strings.Count(body, "\n") != want {
		t.Fatalf("search: %d, %d lines; want 200, %d", code, strings.Count(body, "\n"), want)
	}
	if p := paused(); p != 0 {
		t.Fatalf("paused %vs with no cheap query at work", p)
	}
	// A cheap query at work (as admission counts them) paces the search.
	l.srv.adm.cheap.Add(1)
	code, _, body = l.get(search, nil)
	l.srv.adm.cheap.Add(-1)
	if code != 200 || strings.Count(body, "\n") != want {
		t.Fatalf("paced search: %d, %d lines; want 200, %d", code, strings.Count(body, "\n"), want)
	}
	if p := paused(); p <= 0 {
		t.Fatal("the search did not pause while a cheap query was at work")
	}
	l.drained(t)
}

// TestPaceDelay: the pacer lets paceBurst of expensive work pass, then
// asks for the pause that keeps the work within the share.
func TestPaceDelay(t *testing.T) {
	s, err := New(Options{Store: fixtureDB(t), ExpensiveShare: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	a := s.adm
	now := time.Now()
	if d := a.paceDelay(now, paceBurst); d != 0 {
		t.Fatalf("the first %v: pause %v, want none", paceBurst, d)
	}
	// 10 ms of work at a share of 0.25 of the processors: 10 ms / (0.25
	// × GOMAXPROCS) of wall time.
	want := time.Duration(float64(10*time.Millisecond) / (0.25 * float64(runtime.GOMAXPROCS(0))))
	if d := a.paceDelay(now, 10*time.Millisecond); d < want-time.Millisecond || d > want+time.Millisecond {
		t.Fatalf("10ms more: pause %v, want %v", d, want)
	}
}

// TestCheapQueriesCounted: admission counts a cheap query while it is
// worked on, not an expensive one, and neither once it ended.
func TestCheapQueriesCounted(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 10)
	e := newEnv(t, func(o *Options) {
		o.Store = &blockingStore{Backend: o.Store, gate: gate, entered: entered}
		o.AnswerCacheBytes = -1
	})
	done := make(chan int, 2)
	for _, path := range []string{"/dnsdb/v2/lookup/rrset/name/www.example.com", "/dnsdb/v2/lookup/rrset/name/*.example.com?limit=1000"} {
		go func() { c, _, _ := e.get(path, nil); done <- c }()
		<-entered
	}
	if n := e.srv.adm.cheap.Load(); n != 1 {
		t.Errorf("an exact lookup and a wildcard at work: %d cheap counted, want 1", n)
	}
	close(gate)
	for range 2 {
		if c := <-done; c != 200 {
			t.Errorf("lookup: %d", c)
		}
	}
	if n := e.srv.adm.cheap.Load(); n != 0 {
		t.Errorf("after the lookups: %d cheap counted, want 0", n)
	}
}
