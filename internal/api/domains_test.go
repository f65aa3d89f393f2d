package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/watch"
)

// managedWatch is a running watch for the management endpoints: its
// configured domains, and how often it was woken.
type managedWatch struct {
	mu     sync.Mutex
	config []string
	wakes  int
}

func (f *managedWatch) Status() []watch.DomainStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []watch.DomainStatus
	for _, d := range f.config {
		out = append(out, watch.DomainStatus{Domain: d, Every: time.Hour, Source: watch.SourceConfig})
	}
	return out
}

func (f *managedWatch) Wake() {
	f.mu.Lock()
	f.wakes++
	f.mu.Unlock()
}

func (f *managedWatch) woken() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wakes
}

// TestDomainsManage: adding, listing and removing watched domains
// through the API, each request's status, answer and what the store's
// list holds afterwards.
func TestDomainsManage(t *testing.T) {
	fw := &managedWatch{config: []string{"example.com"}}
	e := newEnv(t, func(o *Options) { o.Watch = fw; o.MaxWatched = 5 })
	admin := e.addKey(keys.Spec{Name: "admin", Perms: []keys.Permission{keys.PermQuery, keys.PermAdmin}})
	query := e.addKey(keys.Spec{Name: "reader"})
	ingest := e.addKey(keys.Spec{Name: "sensor", Perms: []keys.Permission{keys.PermIngest}})
	hdr := func(tok string) map[string]string {
		return map[string]string{"X-API-Key": tok, "Content-Type": "application/json"}
	}
	many := func(n int) string {
		var ds []string
		for i := range n {
			ds = append(ds, fmt.Sprintf("%q", fmt.Sprintf("d%d.example.net", i)))
		}
		return `{"domains": [` + strings.Join(ds, ",") + `]}`
	}
	list, err := store.WatchedOf(e.db)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, tok, body string
		code                          int
		// want are substrings of the answer; managed the list afterwards.
		want    []string
		managed string
	}{
		{"no key", "POST", "/api/v1/domains", "", `{"domain": "example.org"}`, 401, nil, ""},
		{"query key", "POST", "/api/v1/domains", query, `{"domain": "example.org"}`, 403, []string{"admin"}, ""},
		{"ingest key", "DELETE", "/api/v1/domains/example.org", ingest, "", 403, nil, ""},
		{"add one, IDNA", "POST", "/api/v1/domains", admin, `{"domain": "Bücher.example.org.", "every": "2h"}`, 200,
			[]string{`"domain":"xn--bcher-kva.example.org","status":"added","every_ns":7200000000000`, `"managed":1`}, "xn--bcher-kva.example.org=2h0m0s"},
		{"add many: URL, wildcard prefix, duplicate, configured", "POST", "/api/v1/domains", admin,
			`{"domains": ["https://www.example.net:8443/x", "*.example.org", "www.example.net", "example.com"]}`, 200,
			[]string{`"domain":"www.example.net","status":"added"`, `"domain":"example.org","status":"added"`, `"domain":"example.com","status":"configured"`, `"managed":3`},
			"example.org=0s www.example.net=0s xn--bcher-kva.example.org=2h0m0s"},
		{"again: unchanged", "POST", "/api/v1/domains", admin, `{"domain": "example.org"}`, 200,
			[]string{`"status":"unchanged"`, `"managed":3`}, "example.org=0s www.example.net=0s xn--bcher-kva.example.org=2h0m0s"},
		{"new interval: updated", "POST", "/api/v1/domains", admin, `{"domain": "example.org", "every": "30m"}`, 200,
			[]string{`"status":"updated"`}, "example.org=30m0s www.example.net=0s xn--bcher-kva.example.org=2h0m0s"},
		{"a bad name refuses the request", "POST", "/api/v1/domains", admin, `{"domains": ["example.info", "exa mple.org"]}`, 400,
			[]string{`domains[1]`, `more than one field`}, "example.org=30m0s www.example.net=0s xn--bcher-kva.example.org=2h0m0s"},
		{"an address", "POST", "/api/v1/domains", admin, `{"domain": "192.0.2.1"}`, 400, []string{"IP address"}, ""},
		{"a single label", "POST", "/api/v1/domains", admin, `{"domain": "localhost"}`, 400, []string{"single label"}, ""},
		{"a control character", "POST", "/api/v1/domains", admin, `{"domain": "a\nexample.org"}`, 400, []string{"not a domain name"}, ""},
		{"interval too short", "POST", "/api/v1/domains", admin, `{"domain": "example.info", "every": "1ms"}`, 400, []string{"every"}, ""},
		{"unknown field", "POST", "/api/v1/domains", admin, `{"domian": "example.info"}`, 400, nil, ""},
		{"nothing", "POST", "/api/v1/domains", admin, `{}`, 400, []string{"no domain"}, ""},
		{"not JSON", "POST", "/api/v1/domains", admin, `example.info`, 400, nil, ""},
		{"too many in one request", "POST", "/api/v1/domains", admin, many(MaxAddDomains + 1), 400, []string{"more than 1000"}, ""},
		{"too many in all", "POST", "/api/v1/domains", admin, many(3), 400, []string{"more than the server's 5"},
			"example.org=30m0s www.example.net=0s xn--bcher-kva.example.org=2h0m0s"},
		{"remove unknown", "DELETE", "/api/v1/domains/example.info", admin, "", 404, []string{"not managed"}, ""},
		{"remove configured", "DELETE", "/api/v1/domains/example.com", admin, "", 409, []string{"configuration"}, ""},
		{"remove, IDNA", "DELETE", "/api/v1/domains/B%C3%BCcher.example.org", admin, "", 200,
			[]string{`"domain":"xn--bcher-kva.example.org","status":"removed"`, `"managed":2`}, "example.org=30m0s www.example.net=0s"},
		{"remove a bad name", "DELETE", "/api/v1/domains/exa%20mple.org", admin, "", 400, nil, ""},
		{"PUT is not a method here", "PUT", "/api/v1/domains", admin, "", 405, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wakes := fw.woken()
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			var code int
			var h http.Header
			var got string
			if body != nil {
				code, h, got = e.do(tc.method, tc.path, hdr(tc.tok), body)
			} else {
				code, h, got = e.do(tc.method, tc.path, hdr(tc.tok), nil)
			}
			if code != tc.code {
				t.Fatalf("%d, want %d: %s", code, tc.code, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("answer lacks %s:\n%s", w, got)
				}
			}
			if code == 405 && h.Get("Allow") != "GET, POST" {
				t.Errorf("Allow %q, want GET, POST", h.Get("Allow"))
			}
			if code == 200 && fw.woken() == wakes {
				t.Error("the watch was not woken")
			}
			if tc.managed != "" {
				ds, err := list.List(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				var have []string
				for _, d := range ds {
					have = append(have, d.Domain+"="+d.Every.String())
				}
				if g := strings.Join(have, " "); g != tc.managed {
					t.Errorf("list %q, want %q", g, tc.managed)
				}
			}
		})
	}
	// The inventory shows each domain's source and interval, API domains
	// not yet picked up by the watch included.
	code, _, got := e.get("/api/v1/domains", map[string]string{"X-API-Key": query})
	if code != 200 {
		t.Fatalf("GET: %d %s", code, got)
	}
	var inv DomainList
	if err := json.Unmarshal([]byte(got), &inv); err != nil {
		t.Fatal(err)
	}
	src := map[string]string{}
	for _, d := range inv.Domains {
		src[d.Domain] = fmt.Sprintf("%s/%v", d.Source, d.Every)
	}
	for d, w := range map[string]string{"example.com": "config/1h0m0s", "example.org": "api/30m0s", "www.example.net": "api/0s"} {
		if src[d] != w {
			t.Errorf("GET: %s is %q, want %q (%v)", d, src[d], w, src)
		}
	}
}

// TestDomainsManageDisabled: without a running watch, the management
// endpoints answer 404 and say why.
func TestDomainsManageDisabled(t *testing.T) {
	e := newEnv(t, nil)
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/api/v1/domains", `{"domain": "example.org"}`},
		{"DELETE", "/api/v1/domains/example.org", ""},
	} {
		var code int
		var got string
		if r.body != "" {
			code, _, got = e.do(r.method, r.path, map[string]string{"Content-Type": "application/json"}, strings.NewReader(r.body))
		} else {
			code, _, got = e.do(r.method, r.path, nil, nil)
		}
		if code != 404 || !strings.Contains(got, "--watch") {
			t.Errorf("%s %s: %d %s, want 404 naming --watch", r.method, r.path, code, got)
		}
	}
}
