package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

// Fuzz targets; their seed corpora are in testdata/fuzz/<name>/. Run each
// with e.g.
//
//	go test ./internal/api -run '^$' -fuzz '^FuzzRouter$' -fuzztime 20s

// fuzzKey is the API key the router fuzzer's server knows; seeds use it
// so that the fuzzer reaches past authentication.
const fuzzKey = "dss_aaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaa"

// fuzzServer builds a server over the fixture with one known key.
func fuzzServer(t testing.TB) http.Handler {
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir(), pebble.Options{NoSync: true, MaxLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Upsert(ctx, storetest.Fixture()); err != nil {
		t.Fatal(err)
	}
	// A fixed key: zero random bytes make fuzzKey.
	km, err := keys.Open(ctx, db, keys.Options{Rand: bytes.NewReader(make([]byte, 64))})
	if err != nil {
		t.Fatal(err)
	}
	if tok, _, err := km.Add(ctx, keys.Spec{Perms: []keys.Permission{keys.PermQuery, keys.PermIngest}}); err != nil || tok != fuzzKey {
		t.Fatalf("fuzz key: %q %v", tok, err)
	}
	srv, err := New(Options{Store: db, Keys: km, FlexTimeout: 2 * time.Second, MaxIngestBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return srv.Handler()
}

// FuzzRouter sends arbitrary requests to the whole handler: whatever a
// client sends, the answer is never a 5xx and never a panic.
func FuzzRouter(f *testing.F) {
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, method, target, key, accept, extra string, body []byte) {
		if !strings.HasPrefix(target, "/") {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		switch method {
		case "GET", "POST", "HEAD", "PUT", "DELETE":
		default:
			method = "GET"
		}
		req := &http.Request{Method: method, URL: u, RequestURI: target, Header: http.Header{}, Host: "127.0.0.1",
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Body: http.NoBody}
		if len(body) > 0 {
			req.Body = readCloser{bytes.NewReader(body)}
			req.ContentLength = int64(len(body))
		}
		req = req.WithContext(context.Background())
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if name, value, ok := strings.Cut(extra, ":"); ok && name != "" && !strings.ContainsAny(name, " \r\n") {
			req.Header.Set(name, strings.TrimSpace(value))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s (key %q, accept %q, %q): status %d: %s", method, target, key, accept, extra, rec.Code, rec.Body.String())
		}
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// FuzzParseDNSDB: the DNSDB parser returns a valid request or one of its
// documented errors.
func FuzzParseDNSDB(f *testing.F) {
	f.Fuzz(func(t *testing.T, path, query string) {
		req, err := parseDNSDB(path, query, testNow)
		if err != nil {
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrBadRequest) && !errors.Is(err, store.ErrBadQuery) && !errors.Is(err, ErrOffsetRange) {
				t.Fatalf("parseDNSDB(%q, %q): undocumented error %v", path, query, err)
			}
			return
		}
		for _, q := range req.qs {
			if err := q.Validate(); err != nil {
				t.Fatalf("parseDNSDB(%q) gave an invalid query %+v: %v", path, q, err)
			}
		}
		if req.limit < -1 || req.offset < 0 {
			t.Fatalf("negative limit or offset: %+v", req)
		}
		if (req.verb == "regex" || req.verb == "glob") != (req.flex != nil) {
			t.Fatalf("flex request without pattern: %+v", req)
		}
	})
}

// FuzzParseCIRCL: likewise for CIRCL paths and dribble headers.
func FuzzParseCIRCL(f *testing.F) {
	f.Fuzz(func(t *testing.T, path, rrtype, count, cursor string) {
		h := http.Header{}
		h.Set("dribble-filter-rrtype", rrtype)
		h.Set("dribble-paginate-count", count)
		h.Set("dribble-paginate-cursor", cursor)
		req, err := parseCIRCL(path, h)
		if err != nil {
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrBadRequest) && !errors.Is(err, store.ErrBadQuery) {
				t.Fatalf("parseCIRCL(%q): undocumented error %v", path, err)
			}
			return
		}
		if len(req.qs) == 0 || req.page < 0 || req.cursor < 0 {
			t.Fatalf("parseCIRCL(%q) = %+v", path, req)
		}
	})
}

// FuzzGlob: a glob either fails with ErrBadRequest or becomes an anchored
// regexp that compiles and matches the glob's literal text when it has
// no wildcard.
func FuzzGlob(f *testing.F) {
	f.Fuzz(func(t *testing.T, glob string) {
		expr, err := globToRegexp(glob)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("globToRegexp(%q): %v", glob, err)
			}
			return
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			t.Fatalf("glob %q became %q, which does not compile: %v", glob, expr, err)
		}
		if !strings.ContainsAny(glob, `*?[\`) && utf8.ValidString(glob) && !re.MatchString(glob) {
			t.Fatalf("glob %q (%s) does not match itself", glob, expr)
		}
		_ = literalSuffix(expr)
	})
}

// FuzzJSONString: appendJSONString writes JSON that decodes to the input
// (invalid UTF-8 becomes U+FFFD, as encoding/json does).
func FuzzJSONString(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if utf8.ValidString(s) && got != want {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
	})
}

// FuzzRDataQueries: any bytes under any type filter decode without panic
// into valid exact-rdata queries.
func FuzzRDataQueries(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte, typ string) {
		tf, err := store.ParseTypeFilter(typ)
		if err != nil || len(raw) == 0 {
			return
		}
		for _, q := range rdataQueries(raw, tf) {
			if err := q.Validate(); err != nil {
				t.Fatalf("rdataQueries(%x, %s): invalid query %+v: %v", raw, typ, q, err)
			}
		}
	})
}

// FuzzReconDomain: the recon page's request body parses to a domain name
// or fails with a documented error.
func FuzzReconDomain(f *testing.F) {
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/recon", bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		d, err := parseReconDomain(httptest.NewRecorder(), req)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrMediaType) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("parseReconDomain(%q, %q): undocumented error %v", ctype, body, err)
			}
			if code := statusOf(flavorAPI, err); code >= 500 {
				t.Fatalf("parseReconDomain error maps to %d", code)
			}
			return
		}
		if d == "" || strings.Contains(d, "*") || strings.HasSuffix(d, ".") {
			t.Fatalf("parseReconDomain(%q) = %q", body, d)
		}
	})
}
