package passive

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var fixedNow = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func newCrtShTest(t *testing.T, h http.HandlerFunc, mod func(*CrtShOptions)) *CrtShSource {
	t.Helper()
	srv := serve(t, h)
	o := CrtShOptions{URL: srv.URL + "/", HTTP: fast, Now: func() time.Time { return fixedNow }}
	if mod != nil {
		mod(&o)
	}
	s, err := NewCrtShSource(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCrtSh(t *testing.T) {
	var query atomic.Value
	s := newCrtShTest(t, func(w http.ResponseWriter, r *http.Request) {
		query.Store(r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(readTestdata(t, "crtsh/example.com.json"))
	}, nil)
	obs, st := collect(t, s, "Example.COM.")
	if q := query.Load().(string); q != "q=%25.example.com&output=json" {
		t.Errorf("query string %q, want q=%%25.example.com&output=json", q)
	}
	want := []string{"example.com", "dev.example.com", "vpn.example.com", "www.example.com", "xn--bcher-kva.example.com"}
	if got := names(obs); !slices.Equal(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
	for _, o := range obs {
		if o.Type != "" || o.Data != "" || o.Source != "crtsh" {
			t.Errorf("%s: type %q data %q source %q; want a record-less crtsh observation", o.Name, o.Type, o.Data, o.Source)
		}
		if o.LastSeen.After(fixedNow) {
			t.Errorf("%s: last seen %v is after now", o.Name, o.LastSeen)
		}
	}
	www := obs[3]
	if www.Count != 2 || !strings.HasPrefix(www.Detail, "crt.sh id 1005 ") ||
		!www.FirstSeen.Equal(time.Date(2023, 1, 13, 0, 0, 0, 0, time.UTC)) ||
		!www.LastSeen.Equal(time.Date(2023, 8, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("www: %+v; want 2 certificates, newest id 1005, 2023-01-13 .. 2023-08-01", www)
	}
	// admin@, other.example.net, 192.0.2.7, the malformed entry, the entry
	// with a bad time, example.com.evil.example.net, foo*.example.com.
	if st.Skipped != 7 {
		t.Errorf("skipped %d, want 7", st.Skipped)
	}
	if apex := obs[0]; apex.Count != 2 {
		t.Errorf("example.com in %d certificates, want 2 (1001 and *.*.example.com in 1007)", apex.Count)
	}
	golden(t, "crtsh.json", obs)
}

func TestCrtShErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		mod       func(*CrtShOptions)
		wantErr   error
		wantNames []string
		requests  int32
	}{
		{name: "empty array", status: 200, body: "crtsh/empty.json", requests: 1},
		{name: "empty body", status: 200, body: "", requests: 1},
		{name: "html page", status: 200, body: "crtsh/overloaded.html", wantErr: ErrProtocol, requests: 1},
		{name: "truncated keeps names read", status: 200, body: "crtsh/truncated.json", wantErr: ErrTruncated, wantNames: []string{"a.example.com"}, requests: 1},
		{name: "502 retried", status: 502, body: "crtsh/overloaded.html", wantErr: ErrHTTP, requests: 3},
		{name: "429", status: 429, header: map[string]string{"Retry-After": "120"}, wantErr: ErrQuota, requests: 1},
		{name: "403", status: 403, wantErr: ErrAuth, requests: 1},
		{name: "size limit", status: 200, body: "crtsh/example.com.json", mod: func(o *CrtShOptions) { o.HTTP.MaxBody = 100 }, wantErr: ErrTruncated, requests: 1},
		{name: "entry cap", status: 200, body: "crtsh/example.com.json", mod: func(o *CrtShOptions) { o.MaxEntries = 1 },
			wantNames: []string{"example.com", "www.example.com"}, requests: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			s := newCrtShTest(t, func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				if tc.body != "" {
					_, _ = w.Write(readTestdata(t, tc.body))
				}
			}, tc.mod)
			var got []string
			err := s.Names(context.Background(), "example.com", func(o Observation) error {
				got = append(got, o.Name)
				return nil
			})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.wantNames) {
				t.Errorf("names %q, want %q", got, tc.wantNames)
			}
			if n.Load() != tc.requests {
				t.Errorf("%d requests, want %d", n.Load(), tc.requests)
			}
			var he *HTTPError
			if tc.status == 429 {
				if !errors.As(err, &he) || he.RetryAfter != 2*time.Minute || !strings.Contains(err.Error(), "retry after 2m0s") {
					t.Errorf("429 error %v does not carry Retry-After 120s", err)
				}
			}
		})
	}
}

func TestCertDNSName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"www.example.com", "www.example.com", true},
		{"*.a.example.com", "a.example.com", true},
		{"*.*.a.example.com", "a.example.com", true},
		{"WWW.Example.COM.", "www.example.com", true},
		{"bücher.example.com", "xn--bcher-kva.example.com", true},
		{"_dmarc.example.com", "_dmarc.example.com", true},
		{"admin@example.com", "", false},
		{"192.0.2.1", "", false},
		{"2001:db8::1", "", false},
		{"https://www.example.com/", "", false},
		{"foo*.example.com", "", false},
		{"*", "", false},
		{"localhost", "", false},
		{"www..example.com", "", false},
		{"Example Corp", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := certDNSName(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("certDNSName(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
