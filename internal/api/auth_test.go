package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestAuthStatuses: each API answers a missing, wrong, revoked or expired
// key, or a key without the permission, with its own status code.
func TestAuthStatuses(t *testing.T) {
	e := newEnv(t, nil)
	good := e.addKey(keys.Spec{Name: "alice"})
	ingestOnly := e.addKey(keys.Spec{Perms: []keys.Permission{keys.PermIngest}})
	revoked := e.addKey(keys.Spec{})
	id, _, _ := keys.ParseToken(revoked)
	if err := e.keys.Revoke(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	expired := e.addKey(keys.Spec{Expires: testNow.Add(-time.Second)})
	gid, gsecret, _ := keys.ParseToken(good)
	wrong := "dss_" + gid + "_" + strings.Repeat("a", 26)

	const dnsdb, circl, search = "/dnsdb/v2/lookup/rrset/name/www.example.com", "/pdns/query/www.example.com", "/api/v1/search?q=www.example.com"
	for _, tc := range []struct {
		name string
		path string
		hdr  map[string]string
		code int
	}{
		{"dnsdb no key", dnsdb, nil, 403},
		{"dnsdb wrong key", dnsdb, map[string]string{"X-API-Key": wrong}, 403},
		{"dnsdb garbage key", dnsdb, map[string]string{"X-API-Key": "hello"}, 403},
		{"dnsdb revoked", dnsdb, map[string]string{"X-API-Key": revoked}, 401},
		{"dnsdb expired", dnsdb, map[string]string{"X-API-Key": expired}, 401},
		{"dnsdb no permission", dnsdb, map[string]string{"X-API-Key": ingestOnly}, 401},
		{"dnsdb ok", dnsdb, map[string]string{"X-API-Key": good}, 200},
		{"dnsdb header case", dnsdb, map[string]string{"x-api-key": good}, 200},
		{"dnsdb ping without key", "/dnsdb/v2/ping", nil, 403},
		{"dnsdb ping with an ingest key", "/dnsdb/v2/ping", map[string]string{"X-API-Key": ingestOnly}, 200},
		{"circl no key", circl, nil, 401},
		{"circl wrong basic", circl, map[string]string{"Authorization": basic(gid, strings.Repeat("b", 26))}, 401},
		{"circl revoked", circl, map[string]string{"Authorization": basic("x", revoked)}, 401},
		{"circl no permission", circl, map[string]string{"Authorization": basic("x", ingestOnly)}, 403},
		{"circl basic id:secret", circl, map[string]string{"Authorization": basic(gid, gsecret)}, 200},
		{"circl basic token as password", circl, map[string]string{"Authorization": basic("anyone", good)}, 200},
		{"circl raw token", circl, map[string]string{"Authorization": good}, 200},
		{"circl bearer", circl, map[string]string{"Authorization": "Bearer " + good}, 200},
		{"circl bad base64", circl, map[string]string{"Authorization": "Basic !!!"}, 401},
		{"search no key", search, nil, 401},
		{"search no permission", search, map[string]string{"X-API-Key": ingestOnly}, 403},
		{"search ok", search, map[string]string{"X-API-Key": good}, 200},
		{"info is public", "/api/v1/info", nil, 200},
		{"healthz is public", "/healthz", nil, 200},
		{"ui is public", "/", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := e.get(tc.path, tc.hdr)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			if code == 401 && !strings.HasPrefix(tc.name, "dnsdb") && h.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without a WWW-Authenticate challenge")
			}
		})
	}
	var info Info
	_, _, body := e.get("/api/v1/info", nil)
	if err := json.Unmarshal([]byte(body), &info); err != nil || !info.AuthRequired {
		t.Fatalf("info %q: auth_required should be true", body)
	}
}

// TestNoAuthSwitch: --insecure-no-auth serves without keys even when keys
// exist; without keys at all the server is open.
func TestNoAuthSwitch(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.NoAuth = true })
	e.addKey(keys.Spec{})
	if code, _, body := e.get("/dnsdb/v2/lookup/rrset/name/www.example.com", nil); code != 200 {
		t.Fatalf("NoAuth with keys: %d %s", code, body)
	}
	open := newEnv(t, nil)
	if code, _, body := open.get("/pdns/query/www.example.com", nil); code != 200 {
		t.Fatalf("no keys: %d %s", code, body)
	}
}

// TestQuotaAndRateLimitHTTP: the daily quota ends in 429 with Retry-After;
// rate_limit and the X-RateLimit headers track it; ping and rate_limit
// do not consume it; another key's quota is untouched (no cross-key
// leakage).
func TestQuotaAndRateLimitHTTP(t *testing.T) {
	e := newEnv(t, nil)
	a := e.addKey(keys.Spec{Name: "a", Limits: keys.Limits{DailyQuota: 3, MaxResults: 2, MaxOffset: 7}})
	b := e.addKey(keys.Spec{Name: "b", Limits: keys.Limits{DailyQuota: 3}})
	ha, hb := map[string]string{"X-API-Key": a}, map[string]string{"X-API-Key": b}
	const path = "/dnsdb/v2/lookup/rrset/name/*.example.com"
	for i := range 3 {
		e.get("/dnsdb/v2/ping", ha)
		e.get("/dnsdb/v2/rate_limit", ha)
		code, h, body := e.get(path, ha)
		if code != 200 {
			t.Fatalf("query %d: %d %s", i, code, body)
		}
		if got := h.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Fatalf("query %d: X-RateLimit-Remaining %q", i, got)
		}
		if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("rate headers %v", h)
		}
		if a := parseSAF(t, body); len(a.objs) != 2 || a.cond != "limited" {
			t.Fatalf("key's max_results 2 not applied: %d objects, %s", len(a.objs), a.cond)
		}
	}
	code, h, body := e.get(path, ha)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("4th query: %d %v %s", code, h, body)
	}
	if code, _, _ := e.get("/pdns/query/www.example.com", ha); code != http.StatusTooManyRequests {
		t.Fatalf("CIRCL past the quota: %d", code)
	}
	_, _, body = e.get("/dnsdb/v2/rate_limit", ha)
	var rl struct {
		Rate map[string]any `json:"rate"`
	}
	if err := json.Unmarshal([]byte(body), &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Rate["remaining"] != float64(0) || rl.Rate["limit"] != float64(3) || rl.Rate["results_max"] != float64(2) || rl.Rate["offset_max"] != float64(7) {
		t.Fatalf("rate_limit of a: %s", body)
	}
	// b is untouched.
	_, _, body = e.get("/dnsdb/v2/rate_limit", hb)
	if err := json.Unmarshal([]byte(body), &rl); err != nil || rl.Rate["remaining"] != float64(3) {
		t.Fatalf("rate_limit of b after a used its quota: %s", body)
	}
	if code, _, _ := e.get(path, hb); code != 200 {
		t.Fatalf("b's query: %d", code)
	}
	if code, _, _ := e.get(path+"?offset=8", hb); code != 200 {
		t.Fatalf("b's offset is not capped by a's max_offset: %d", code)
	}
}

func TestBurstAndConcurrencyHTTP(t *testing.T) {
	e := newEnv(t, nil)
	burst := e.addKey(keys.Spec{Limits: keys.Limits{BurstSize: 2, BurstWindow: keys.Seconds(time.Hour)}})
	h := map[string]string{"X-API-Key": burst}
	for range 2 {
		if code, _, _ := e.get("/pdns/query/www.example.com", h); code != 200 {
			t.Fatalf("within the burst: %d", code)
		}
	}
	code, hdr, _ := e.get("/pdns/query/www.example.com", h)
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("past the burst: %d %v", code, hdr)
	}
	_, _, body := e.get("/dnsdb/v2/rate_limit", h)
	if !strings.Contains(body, `"burst_size":2,"burst_window":3600`) {
		t.Fatalf("rate_limit without the burst: %s", body)
	}

	// Concurrency: a store that blocks lets us hold requests in flight.
	gate := make(chan struct{})
	entered := make(chan struct{}, 10)
	e2 := newEnv(t, func(o *Options) { o.Store = &blockingStore{Backend: o.Store, gate: gate, entered: entered} })
	conc := e2.addKey(keys.Spec{Limits: keys.Limits{MaxConcurrent: 1}})
	other := e2.addKey(keys.Spec{Limits: keys.Limits{MaxConcurrent: 1}})
	var wg sync.WaitGroup
	var first int
	wg.Go(func() {
		first, _, _ = e2.get("/dnsdb/v2/lookup/rrset/name/www.example.com", map[string]string{"X-API-Key": conc})
	})
	<-entered
	if code, _, body := e2.get("/dnsdb/v2/lookup/rrset/name/www.example.com", map[string]string{"X-API-Key": conc}); code != http.StatusServiceUnavailable {
		t.Fatalf("2nd concurrent request: %d %s", code, body)
	}
	// The other key is not held back by the first key's request.
	var second int
	wg.Go(func() {
		second, _, _ = e2.get("/dnsdb/v2/lookup/rrset/name/www.example.com", map[string]string{"X-API-Key": other})
	})
	<-entered
	close(gate)
	wg.Wait()
	if first != 200 || second != 200 {
		t.Fatalf("held requests: %d, %d", first, second)
	}
}

// blockingStore makes every Lookup wait for gate, announcing itself on
// entered.
type blockingStore struct {
	store.Backend
	gate    chan struct{}
	entered chan struct{}
}

func (b *blockingStore) Lookup(ctx context.Context, q store.Query, fn func(*pdns.Tuple) error) (string, error) {
	if q.Name != "healthz.invalid" {
		b.entered <- struct{}{}
		select {
		case <-b.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return b.Backend.Lookup(ctx, q, fn)
}

func TestServerInFlightCap(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 10)
	e := newEnv(t, func(o *Options) {
		o.Store = &blockingStore{Backend: o.Store, gate: gate, entered: entered}
		o.MaxInFlight = 1
	})
	var wg sync.WaitGroup
	wg.Go(func() { e.get("/pdns/query/www.example.com", nil) })
	<-entered
	if code, h, _ := e.get("/pdns/query/www.example.com", nil); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("past the server's in-flight cap: %d", code)
	}
	close(gate)
	wg.Wait()
}

// TestAuthOneConnection: under Serve, the requests of one connection
// share a memo of the key it verified last (keys.Memo): every answer is
// what a fresh connection gets — a wrong secret after a good one, another
// key, a key revoked between two requests.
func TestAuthOneConnection(t *testing.T) {
	e := newEnv(t, nil)
	tokA, tokB := e.addKey(keys.Spec{}), e.addKey(keys.Spec{})
	idA, _, err := keys.ParseToken(tokA)
	if err != nil {
		t.Fatal(err)
	}
	wrongA := tokA[:len(tokA)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(tokA, "a")]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	t.Cleanup(client.CloseIdleConnections)
	conns := map[string]bool{}
	for i, st := range []struct {
		name   string
		before func()
		token  string
		want   int
	}{
		{name: "key A", token: tokA, want: 200},
		{name: "key A again", token: tokA, want: 200},
		{name: "wrong secret of A", token: wrongA, want: 403},
		{name: "key A after a wrong one", token: tokA, want: 200},
		{name: "key B", token: tokB, want: 200},
		{name: "key A after B", token: tokA, want: 200},
		{name: "key A revoked", before: func() {
			if err := e.keys.Revoke(context.Background(), idA); err != nil {
				t.Fatal(err)
			}
		}, token: tokA, want: 401},
		{name: "key B after a refusal", token: tokB, want: 200},
	} {
		if st.before != nil {
			st.before()
		}
		req, err := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/dnsdb/v2/lookup/rrset/name/www.example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-API-Key", st.token)
		var local string
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(ci httptrace.GotConnInfo) { local = ci.Conn.LocalAddr().String() },
		}))
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("step %d (%s): %v", i, st.name, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != st.want {
			t.Errorf("step %d (%s): status %d, want %d", i, st.name, res.StatusCode, st.want)
		}
		conns[local] = true
	}
	if len(conns) != 1 {
		t.Errorf("the requests went over %d connections, want 1: %v", len(conns), conns)
	}
}

// TestIntValue: a rate header value is the number it is asked for,
// shared while the number stays the same.
func TestIntValue(t *testing.T) {
	var iv intValue
	var prev []string
	for i, tc := range []struct {
		n      int64
		want   string
		shared bool // the same slice as the step before
	}{
		{1000, "1000", false},
		{1000, "1000", true},
		{999, "999", false},
		{1000, "1000", false},
		{-1, "-1", false},
		{1717200000, "1717200000", false},
		{1717200000, "1717200000", true},
	} {
		v := iv.of(tc.n)
		if len(v) != 1 || v[0] != tc.want {
			t.Fatalf("step %d: of(%d) = %q, want [%q]", i, tc.n, v, tc.want)
		}
		if same := prev != nil && &v[0] == &prev[0]; same != tc.shared {
			t.Fatalf("step %d: of(%d) shared with the step before: %v, want %v", i, tc.n, same, tc.shared)
		}
		prev = v
	}
}
