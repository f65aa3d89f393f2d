package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

func TestMetrics(t *testing.T) {
	e := newEnv(t, nil)
	e.get("/dnsdb/v2/lookup/rrset/name/www.example.com", nil)
	e.get("/dnsdb/v2/lookup/rrset/name/www.example.com/BOGUS", nil)
	e.get("/pdns/query/www.example.com", nil)
	e.do(http.MethodPost, "/api/v1/ingest", nil, strings.NewReader(`{"rrname":"m.example.com","rrtype":"A","rdata":"192.0.2.4","time_first":1,"time_last":2}`+"\n"))
	code, h, body := e.get("/metrics", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", code, h.Get("Content-Type"))
	}
	for _, want := range []string{
		`dnsscout_http_requests_total{code="200",endpoint="dnsdb_lookup"} 1`,
		`dnsscout_http_requests_total{code="400",endpoint="dnsdb"} 1`,
		`dnsscout_http_requests_total{code="200",endpoint="circl"} 1`,
		`dnsscout_http_request_duration_seconds_bucket{endpoint="circl",le="+Inf"} 1`,
		`dnsscout_ingest_tuples_total 1`,
		`dnsscout_ingest_batches_total{result="ok"} 1`,
		`dnsscout_api_results_total{api="dnsdb"} 4`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, grepLines(body, "dnsscout_"))
		}
	}
	size := func(e *env) string {
		_, _, body := e.get("/metrics", nil)
		m := regexp.MustCompile(`(?m)^dnsscout_store_bytes (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no dnsscout_store_bytes")
		}
		return m[1]
	}
	if s := size(e); s == "-1" || s == "0" {
		t.Errorf("store size from the backend: %s", s)
	}
	// A backend that cannot tell: the directory is measured, else -1.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), make([]byte, 1234), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := size(newEnv(t, func(o *Options) { o.Store, o.StoreDir = plainStore{o.Store}, dir })); s != "1234" {
		t.Errorf("store size of a directory: %s, want 1234", s)
	}
	if s := size(newEnv(t, func(o *Options) { o.Store = plainStore{o.Store} })); s != "-1" {
		t.Errorf("store size unknown: %s, want -1", s)
	}
}

// plainStore hides every optional ability of a backend.
type plainStore struct{ b store.Backend }

func (p plainStore) Upsert(ctx context.Context, ts []pdns.Tuple) error { return p.b.Upsert(ctx, ts) }
func (p plainStore) Lookup(ctx context.Context, q store.Query, fn func(*pdns.Tuple) error) (string, error) {
	return p.b.Lookup(ctx, q, fn)
}
func (p plainStore) Close() error { return nil }

type failingStore struct{ store.Backend }

func (failingStore) Lookup(context.Context, store.Query, func(*pdns.Tuple) error) (string, error) {
	return "", store.ErrClosed
}

func TestHealthzAndServerErrors(t *testing.T) {
	e := newEnv(t, nil)
	if code, _, body := e.get("/healthz", nil); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	bad := newEnv(t, func(o *Options) { o.Store = failingStore{o.Store} })
	if code, _, _ := bad.get("/healthz", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("/healthz of a failing store: %d", code)
	}
	// A store failure is a 500 whose body does not leak internals.
	code, _, body := bad.get("/dnsdb/v2/lookup/rrset/name/www.example.com", nil)
	if code != 500 || strings.Contains(body, "closed") {
		t.Fatalf("store failure: %d %s", code, body)
	}
}

func TestUIFiles(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		path, ctype string
		code        int
	}{
		{"/", "text/html; charset=utf-8", 200},
		{"/index.html", "text/html; charset=utf-8", 200},
		{"/ui/app.js", "text/javascript; charset=utf-8", 200},
		{"/ui/app.css", "text/css; charset=utf-8", 200},
		{"/favicon.ico", "image/svg+xml", 200},
		{"/ui/missing.js", "application/json", 404},
		{"/../etc/passwd", "application/json", 404},
	} {
		code, h, body := e.get(tc.path, nil)
		if code != tc.code || h.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: %d %q", tc.path, code, h.Get("Content-Type"))
		}
		if code == 200 && (h.Get("Content-Security-Policy") == "" || len(body) == 0) {
			t.Errorf("%s: no CSP or empty body", tc.path)
		}
	}
	_, _, body := e.get("/", nil)
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("the page loads something from elsewhere")
	}
}

func TestAdminSocket(t *testing.T) {
	e := newEnv(t, nil)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: AdminHandler(e.keys)}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	c := NewAdminClient(sock)
	ctx := context.Background()
	added, err := c.Add(ctx, keys.Spec{Name: "remote", Perms: []keys.Permission{keys.PermQuery}, Limits: keys.Limits{DailyQuota: 9}})
	if err != nil {
		t.Fatal(err)
	}
	// The running server accepts the new key at once.
	if code, _, body := e.get("/dnsdb/v2/ping", map[string]string{"X-API-Key": added.Token}); code != 200 {
		t.Fatalf("new key: %d %s", code, body)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "remote" || list[0].DailyQuota != 9 || list[0].Hash == "" {
		t.Fatalf("List: %+v %v", list, err)
	}
	if _, err := c.Add(ctx, keys.Spec{Perms: []keys.Permission{"root"}}); err == nil {
		t.Fatal("bad spec accepted")
	}
	if _, err := c.Revoke(ctx, added.Key.ID); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := e.get("/dnsdb/v2/ping", map[string]string{"X-API-Key": added.Token}); code != 401 {
		t.Fatalf("revoked key: %d", code)
	}
	if _, err := c.Revoke(ctx, "zzzzzzzzzz"); err == nil {
		t.Fatal("revoking an unknown key succeeded")
	}
	var info Info
	_, _, body := e.get("/api/v1/info", nil)
	if err := json.Unmarshal([]byte(body), &info); err != nil || !info.AuthRequired {
		t.Fatalf("revoking the last key must keep auth on: %s", body)
	}
}

func TestSearchEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	var ans struct {
		Kind       string           `json:"kind"`
		Results    []map[string]any `json:"results"`
		More       bool             `json:"more"`
		NextOffset int              `json:"next_offset"`
	}
	for _, tc := range []struct {
		q    string
		q2   store.Query
		kind string
	}{
		{"q=www.example.com", store.Query{Kind: store.KindRRSet, Name: "www.example.com"}, "rrset"},
		{"q=www.example.com&side=rdata", store.Query{Kind: store.KindRDataName, Name: "www.example.com"}, "rdata-name"},
		{"q=192.0.2.0/24&type=A", store.Query{Kind: store.KindRDataIP, Type: 1}, "rdata-ip"},
		{"q=*.example.com&limit=2&offset=1", store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, Limit: 2, Offset: 1}, "rrset"},
	} {
		code, _, body := e.get("/api/v1/search?"+tc.q, nil)
		if code != 200 {
			t.Fatalf("%s: %d %s", tc.q, code, body)
		}
		if err := json.Unmarshal([]byte(body), &ans); err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		q := tc.q2
		if q.Kind == store.KindRDataIP {
			q = ipq(t, "192.0.2.0/24", store.OneType(1))
		}
		want := e.lookup(q)
		if ans.Kind != tc.kind || len(ans.Results) != len(want) {
			t.Fatalf("%s: kind %s, %d results; want %s, %d", tc.q, ans.Kind, len(ans.Results), tc.kind, len(want))
		}
		for i, r := range ans.Results {
			if r["rrname"] != want[i].RRName || r["rdata"].([]any)[0] != want[i].RData {
				t.Fatalf("%s: result %d %v, want %+v", tc.q, i, r, want[i])
			}
		}
	}
	if ans.NextOffset != 3 || !ans.More {
		t.Fatalf("paging: next_offset %d more %v", ans.NextOffset, ans.More)
	}
	for _, bad := range []string{"", "q=", "q=www..example.com", "q=x&side=left", "q=x&type=NOPE", "q=x&limit=-2", "q=192.0.2.0/24&type=MX"} {
		if code, _, _ := e.get("/api/v1/search?"+bad, nil); code != 400 {
			t.Errorf("search %q: %d, want 400", bad, code)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") && !strings.Contains(l, "_bucket") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
