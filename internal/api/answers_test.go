package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

// cacheCounts reads the answer cache's hit and miss counters.
func (e *env) cacheCounts() (hits, misses float64) {
	e.t.Helper()
	_, _, m := e.get("/metrics", nil)
	for _, line := range strings.Split(m, "\n") {
		var v float64
		if _, err := fmt.Sscanf(line, "dnsscout_api_answer_cache_hits_total %g", &v); err == nil {
			hits = v
		}
		if _, err := fmt.Sscanf(line, "dnsscout_api_answer_cache_misses_total %g", &v); err == nil {
			misses = v
		}
	}
	return hits, misses
}

// TestAnswerCache checks that a repeated lookup is answered from the
// cache with the same body, that a write to the store is seen by the
// next lookup, that answers are kept per result cap, and that relative
// time fences are never cached.
func TestAnswerCache(t *testing.T) {
	e := newEnv(t, nil)
	key := e.addKey(keys.Spec{})
	capped := e.addKey(keys.Spec{Limits: keys.Limits{MaxResults: 1}})
	hdr := map[string]string{"X-API-Key": key}
	const path = "/dnsdb/v2/lookup/rrset/name/www.example.com/A"
	get := func(h map[string]string, p string) string {
		t.Helper()
		code, _, body := e.get(p, h)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		return body
	}
	first := get(hdr, path)
	h0, _ := e.cacheCounts()
	if again := get(hdr, path); again != first {
		t.Fatalf("cached answer differs:\n%s\nfirst:\n%s", again, first)
	}
	if h1, _ := e.cacheCounts(); h1 != h0+1 {
		t.Fatalf("the repeated lookup was not answered from the cache (hits %v -> %v)", h0, h1)
	}

	// A key whose cap is one result gets its own answer.
	one := get(map[string]string{"X-API-Key": capped}, path)
	if n := strings.Count(one, `{"obj":`); n != 1 || !strings.Contains(one, `"cond":"limited"`) {
		t.Fatalf("capped key got %d records:\n%s", n, one)
	}
	if again := get(hdr, path); again != first {
		t.Fatalf("after the capped key, the full answer changed:\n%s", again)
	}

	// A write is seen at once.
	tu := pdns.Tuple{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.99", Bailiwick: "example.com",
		TimeFirst: storetest.T0 + 500, TimeLast: storetest.T0 + 600, Count: 1}
	if err := e.db.Upsert(context.Background(), []pdns.Tuple{tu}); err != nil {
		t.Fatal(err)
	}
	after := get(hdr, path)
	if !strings.Contains(after, "192.0.2.99") {
		t.Fatalf("the lookup after a write does not show it:\n%s", after)
	}
	h2, _ := e.cacheCounts()
	if again := get(hdr, path); again != after {
		t.Fatalf("cached answer after the write differs:\n%s", again)
	}
	if h3, _ := e.cacheCounts(); h3 != h2+1 {
		t.Fatalf("the new answer was not cached (hits %v -> %v)", h2, h3)
	}

	// Relative fences move with the clock: never cached.
	rel := path + "?time_last_after=-100000"
	get(hdr, rel)
	h4, _ := e.cacheCounts()
	get(hdr, rel)
	if h5, _ := e.cacheCounts(); h5 != h4 {
		t.Fatalf("a lookup with a relative fence was answered from the cache")
	}
}

// TestAnswerCacheOutgrown: an entry whose new answer no longer fits in a
// half leaves the cache, and its request (which knows its entry) is not
// answered from it.
func TestAnswerCacheOutgrown(t *testing.T) {
	fv := &fakeVersion{}
	hot := &dnsdbRequest{verb: "lookup", raw: "/hot"}
	c := &answerCache{st: fv, half: hot.size() + 1500, cur: map[string]*answerEntry{}}
	v, _ := c.begin()
	c.put(hot, v, 10, make([]byte, 1000), 3)
	if _, _, _, ok := c.get(hot, 10); !ok {
		t.Fatal("an answer that fits was not kept")
	}
	c.put(hot, v, 10, make([]byte, 2000), 3)
	if body, _, _, ok := c.get(hot, 10); ok {
		t.Fatalf("an answer was served (%d bytes) after its entry outgrew a half", len(body))
	}
	if c.request(hot.raw) != nil {
		t.Fatal("the request of an entry that outgrew a half is still kept")
	}
}

// TestAnswerCacheKey: a request's cache key (its target as sent, or its
// escaped path and query for a request made in-process) gives back the
// escaped path and raw query the request is parsed from: one key, one
// parse, whatever the spelling.
func TestAnswerCacheKey(t *testing.T) {
	for _, target := range []string{
		"/dnsdb/v2/lookup/rrset/name/www.example.com",
		"/dnsdb/v2/lookup/rrset/name/www.example.com/A?limit=1&swclient=dnsdbq",
		"/dnsdb/v2/lookup/rrset/name/www.example.com?",
		"/dnsdb/v2/lookup/rrset/name/www%2Eexample.com",
		"/dnsdb/v2/lookup/rrset/raw/03777777076578616d706c6503636f6d00",
		"/dnsdb/v2/lookup/rrset/name/a%2Fb%3Fc.example.com?limit=2",
		"/dnsdb/v2/lookup/rdata/name/%2A.example.com",
		"http://example.com/dnsdb/v2/lookup/rrset/name/www.example.com?limit=3",
	} {
		t.Run(target, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, target, nil)
			bare := r.Clone(context.Background())
			bare.RequestURI = ""
			for _, req := range []*http.Request{r, bare} {
				key := cacheKey(req)
				u, err := url.ParseRequestURI(key)
				if err != nil {
					t.Fatalf("key %q (RequestURI %q): %v", key, req.RequestURI, err)
				}
				if u.EscapedPath() != req.URL.EscapedPath() || u.RawQuery != req.URL.RawQuery {
					t.Errorf("key %q (RequestURI %q) reads as %q ? %q, the request as %q ? %q", key, req.RequestURI,
						u.EscapedPath(), u.RawQuery, req.URL.EscapedPath(), req.URL.RawQuery)
				}
			}
			// An absolute-form target shares the origin form's entry.
			if !strings.HasPrefix(target, "/") && cacheKey(r) != cacheKey(bare) {
				t.Errorf("absolute-form key %q, origin-form key %q", cacheKey(r), cacheKey(bare))
			}
		})
	}
}

// TestAnswerCacheOff checks that a negative size disables the cache.
func TestAnswerCacheOff(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AnswerCacheBytes = -1 })
	if e.srv.answers != nil {
		t.Fatal("cache enabled with AnswerCacheBytes -1")
	}
	_, _, m := e.get("/metrics", nil)
	if strings.Contains(m, "answer_cache") {
		t.Fatal("/metrics shows an answer cache that is off")
	}
}

// fakeVersion is a store.Versioned under the test's control.
type fakeVersion struct {
	v      atomic.Uint64
	unstab atomic.Bool
}

func (f *fakeVersion) Version() (uint64, bool) { return f.v.Load(), !f.unstab.Load() }

// TestAnswerCacheBounds checks the memory bound, that entries in use
// survive the turning of halves, and that an answer read across a write
// is not kept.
func TestAnswerCacheBounds(t *testing.T) {
	fv := &fakeVersion{}
	const max = 64 << 10
	c := &answerCache{st: fv, half: max / 2, cur: map[string]*answerEntry{}}
	body := make([]byte, 1000)
	hot := &dnsdbRequest{verb: "lookup", raw: "/hot"}
	v, _ := c.begin()
	c.put(hot, v, 10, body, 3)
	for i := range 1000 {
		req := &dnsdbRequest{verb: "lookup", raw: fmt.Sprintf("/n%d", i)}
		c.put(req, v, 10, body, 3)
		if _, _, _, ok := c.get(hot, 10); !ok {
			t.Fatalf("the entry in use was evicted after %d others", i)
		}
		var total int64
		for _, m := range []map[string]*answerEntry{c.cur, c.old} {
			for _, e := range m {
				total += e.size
			}
		}
		if total > max {
			t.Fatalf("entries hold %d bytes, above the bound %d", total, max)
		}
	}
	if _, _, _, ok := c.get(hot, 11); ok {
		t.Fatal("an answer was served for another limit")
	}
	// A write between begin and put: not kept.
	cold := &dnsdbRequest{verb: "lookup", raw: "/cold"}
	v, _ = c.begin()
	fv.v.Add(1)
	c.put(cold, v, 10, body, 3)
	if _, _, _, ok := c.get(cold, 10); ok {
		t.Fatal("an answer read across a write was kept")
	}
	// The old answers are stale now.
	if _, _, _, ok := c.get(hot, 10); ok {
		t.Fatal("an answer of an older version was served")
	}
	// A write in progress: nothing kept, nothing served.
	v, _ = c.begin()
	c.put(hot, v, 10, body, 3)
	fv.unstab.Store(true)
	if _, _, _, ok := c.get(hot, 10); ok {
		t.Fatal("an answer was served while a write is in progress")
	}
	// Oversized answers are not kept.
	fv.unstab.Store(false)
	c.put(cold, v, 10, make([]byte, maxCachedAnswer+1), 3)
	if _, _, _, ok := c.get(cold, 10); ok {
		t.Fatal("an oversized answer was kept")
	}
}

// TestAnswerCacheConcurrentWrites checks freshness under load: while a
// writer adds records to a name one write at a time, readers look it up
// through the server, and every lookup started after the writer said a
// write returned shows at least that many records.
func TestAnswerCacheConcurrentWrites(t *testing.T) {
	e := newEnv(t, nil)
	key := e.addKey(keys.Spec{})
	const path = "/dnsdb/v2/lookup/rrset/name/fresh.example.com"
	var written, reads atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(stop)
		for i := range 40 {
			// Let the readers fill the cache between two writes.
			for r := reads.Load(); reads.Load() < r+8 && !t.Failed(); {
				runtime.Gosched()
			}
			tu := pdns.Tuple{RRName: "fresh.example.com", RRType: dns.TypeA, RData: fmt.Sprintf("192.0.2.%d", i+1),
				Bailiwick: "example.com", TimeFirst: storetest.T0, TimeLast: storetest.T0 + 1, Count: 1}
			if err := e.db.Upsert(context.Background(), []pdns.Tuple{tu}); err != nil {
				t.Error(err)
				return
			}
			written.Add(1)
		}
	})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				min := written.Load()
				code, _, body := e.get(path, map[string]string{"X-API-Key": key})
				reads.Add(1)
				got := int64(strings.Count(body, `{"obj":`))
				if code != 200 {
					t.Errorf("status %d: %s", code, body)
					return
				}
				if got < min {
					t.Errorf("a lookup after %d writes shows %d records", min, got)
					return
				}
			}
		})
	}
	wg.Wait()
}

// hookStore runs a hook once, after a Lookup has read the store and
// before the answer is complete.
type hookStore struct {
	*pebble.DB
	hook atomic.Pointer[func()]
}

func (h *hookStore) Lookup(ctx context.Context, q store.Query, fn func(*pdns.Tuple) error) (string, error) {
	cur, err := h.DB.Lookup(ctx, q, fn)
	if f := h.hook.Swap(nil); f != nil {
		(*f)()
	}
	return cur, err
}

// TestAnswerCacheWriteDuringLookup checks the order the cache relies on:
// the store's version is read before the lookup, so an answer read before
// a write that returned while the lookup was finishing is not kept.
func TestAnswerCacheWriteDuringLookup(t *testing.T) {
	ctx := context.Background()
	db := fixtureDB(t)
	hs := &hookStore{DB: db}
	srv, err := New(Options{Store: hs, NoAuth: true, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	const path = "/dnsdb/v2/lookup/rrset/name/www.example.com/A"
	get := func() string {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	write := func() {
		tu := pdns.Tuple{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.99", Bailiwick: "example.com",
			TimeFirst: storetest.T0, TimeLast: storetest.T0 + 1, Count: 1}
		if err := db.Upsert(ctx, []pdns.Tuple{tu}); err != nil {
			t.Error(err)
		}
	}
	hs.hook.Store(&write)
	if first := get(); strings.Contains(first, "192.0.2.99") {
		t.Fatalf("the lookup saw a write made after it read the store:\n%s", first)
	}
	if again := get(); !strings.Contains(again, "192.0.2.99") {
		t.Fatalf("a lookup after the write returned misses it:\n%s", again)
	}
}

// TestAnswerCacheMemory checks that requests refused before their lookup
// leave nothing in the cache, and that the cache's memory stays near its
// bound with requests whose parsed form is much larger than their path
// (rdata/raw without a type: one query per type the bytes decode as).
func TestAnswerCacheMemory(t *testing.T) {
	// Each request parses into about 300 KB: one fits in a half.
	const bound = 1 << 20
	e := newEnv(t, func(o *Options) { o.AnswerCacheBytes = bound })
	key := e.addKey(keys.Spec{})
	path := func(i int) string {
		return fmt.Sprintf("/dnsdb/v2/lookup/rdata/raw/%s?swclient=%d", strings.Repeat("00", 6144), i)
	}
	for i := range 20 {
		if code, _, body := e.get(path(i), nil); code != 401 && code != 403 {
			t.Fatalf("without a key: %d %s", code, body)
		}
	}
	c := e.srv.answers
	c.mu.Lock()
	n := len(c.cur) + len(c.old)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d requests refused before their lookup were kept", n)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 30 {
		if code, _, body := e.get(path(i), map[string]string{"X-API-Key": key}); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	c.mu.Lock()
	n = len(c.cur) + len(c.old)
	c.mu.Unlock()
	if n == 0 {
		t.Fatal("nothing was kept: the test measures nothing")
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4*bound {
		t.Fatalf("the heap grew %d bytes with a cache of %d (%d entries)", grew, bound, n)
	}
}

// blockStore holds every wildcard lookup until release is closed, and
// counts the lookups that entered.
type blockStore struct {
	*pebble.DB
	entered atomic.Int32
	release chan struct{}
}

func (b *blockStore) Lookup(ctx context.Context, q store.Query, fn func(*pdns.Tuple) error) (string, error) {
	if q.Wildcard != store.WildNone {
		b.entered.Add(1)
		<-b.release
	}
	return b.DB.Lookup(ctx, q, fn)
}

// TestExpensivePerTenant checks Options.MaxExpensivePerTenant: a key's
// second large wildcard search waits while its first is worked on,
// another key's does not, and the key's cheap lookups pass meanwhile.
func TestExpensivePerTenant(t *testing.T) {
	ctx := context.Background()
	db := fixtureDB(t)
	km, err := keys.Open(ctx, db, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tokA, _, err := km.Add(ctx, keys.Spec{Perms: []keys.Permission{keys.PermQuery}})
	if err != nil {
		t.Fatal(err)
	}
	tokB, _, err := km.Add(ctx, keys.Spec{Perms: []keys.Permission{keys.PermQuery}})
	if err != nil {
		t.Fatal(err)
	}
	bs := &blockStore{DB: db, release: make(chan struct{})}
	srv, err := New(Options{Store: bs, Keys: km, MaxExpensivePerTenant: 1, AnswerCacheBytes: -1, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	get := func(path, key string) int {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		req.Header.Set("X-API-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		return res.StatusCode
	}
	const wild = "/dnsdb/v2/lookup/rrset/name/*.example.com?limit=1000" // expected cost 5 ms
	codes := make(chan int, 3)
	var wg sync.WaitGroup
	for _, key := range []string{tokA, tokA, tokB} {
		wg.Go(func() { codes <- get(wild, key) })
	}
	deadline := time.Now().Add(5 * time.Second)
	for bs.entered.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for a third to enter wrongly
	if n := bs.entered.Load(); n != 2 {
		t.Errorf("%d wildcard searches worked on at once, want 2 (one per key)", n)
	}
	if code := get("/dnsdb/v2/lookup/rrset/name/www.example.com", tokA); code != 200 {
		t.Errorf("key A's exact lookup beside its waiting search: %d", code)
	}
	close(bs.release)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Errorf("a search ended with %d", code)
		}
	}
	if n := bs.entered.Load(); n != 3 {
		t.Errorf("%d searches ran in all, want 3", n)
	}
}
