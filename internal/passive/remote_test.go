package passive

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// obsKey renders an observation compactly for comparisons.
func obsKey(o Observation) string {
	return fmt.Sprintf("%s %s %s %d..%d #%d", o.Name, o.Type, o.Data, o.FirstSeen.Unix(), o.LastSeen.Unix(), o.Count)
}

func obsKeys(obs []Observation) []string {
	var out []string
	for _, o := range obs {
		out = append(out, obsKey(o))
	}
	return out
}

func TestCIRCL(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.EscapedPath()+" cursor="+r.Header.Get("dribble-paginate-cursor"))
		mu.Unlock()
		if got, want := r.Header.Get("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte("user:secret")); got != want {
			http.Error(w, "not authenticated", http.StatusUnauthorized)
			return
		}
		if r.Header.Get("dribble-disable-active-query") != "1" || r.Header.Get("dribble-paginate-count") != "500" {
			http.Error(w, "missing dribble headers", http.StatusBadRequest)
			return
		}
		switch r.URL.EscapedPath() + "|" + r.Header.Get("dribble-paginate-cursor") {
		case "/pdns/query/example.com|":
			_, _ = w.Write(readTestdata(t, "circl/apex.ndjson"))
		case "/pdns/query/%2A.example.com|":
			w.Header().Set("x-dribble-cursor", "3")
			_, _ = w.Write(readTestdata(t, "circl/wild-1.ndjson"))
		case "/pdns/query/%2A.example.com|3":
			_, _ = w.Write(readTestdata(t, "circl/wild-2.ndjson"))
		default:
			http.Error(w, "unexpected request", http.StatusBadRequest)
		}
	})
	// A server root gets /pdns/query appended.
	s, err := NewCIRCLSource(CIRCLOptions{URL: srv.URL, Auth: "user:secret", PageSize: 500, HTTP: fast})
	if err != nil {
		t.Fatal(err)
	}
	if want := "circl:" + srv.URL + "/pdns/query"; s.Name() != want {
		t.Errorf("Name %q, want %q", s.Name(), want)
	}
	obs, st := collect(t, s, "example.com")
	if st.Err != nil {
		t.Fatalf("status error: %v (requests %q)", st.Err, seen)
	}
	want := []string{
		"example.com A 192.0.2.1 1600000000..1700000000 #12",
		"example.com MX 10 mail.example.com. 1600000000..1650000000 #3",
		"old.example.com CNAME old-app.cdn.example.net. 1500000000..1550000000 #5",
		"www.example.com A 192.0.2.10 1600000000..1700000000 #7",
		"www.example.com A 192.0.2.11 1600000000..1700000000 #7",
		"legacy.example.com AAAA 2001:db8::1 1400000000..1400000000 #1",
		"ftp.example.com TXT \"v=spf1 -all\" 1400000000..1450000000 #2",
	}
	if got := obsKeys(obs); !slices.Equal(got, want) {
		t.Errorf("observations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The non-JSON line and www.example.net.
	if st.Skipped != 2 || st.Names != 5 || st.Observations != 7 {
		t.Errorf("status %+v, want 7 observations of 5 names, 2 skipped", st)
	}
	for _, o := range obs {
		if o.Source != s.Name() {
			t.Errorf("source %q, want %q", o.Source, s.Name())
		}
	}
	if len(seen) != 3 {
		t.Errorf("requests %q, want 3", seen)
	}
}

func TestCIRCLErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr error
		want    int // observations delivered before the error
	}{
		{name: "401", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "not authenticated", http.StatusUnauthorized)
		}, wantErr: ErrAuth},
		{name: "429", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "quota", http.StatusTooManyRequests)
		}, wantErr: ErrQuota},
		{name: "404 is an error, not an empty answer", handler: func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		}, wantErr: ErrHTTP},
		{name: "empty body is no results", handler: func(w http.ResponseWriter, r *http.Request) {}},
		{name: "html page", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(readTestdata(t, "crtsh/overloaded.html"))
		}, wantErr: ErrProtocol},
		{name: "cursor repeats", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("x-dribble-cursor", "7")
			_, _ = w.Write([]byte(`{"rrname":"a.example.com","rrtype":"A","rdata":"192.0.2.1","time_first":1,"time_last":2}` + "\n"))
		}, wantErr: ErrProtocol, want: 2},
		{name: "cursor 0 ends", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("x-dribble-cursor", "0")
			_, _ = w.Write([]byte(`{"rrname":"a.example.com","rrtype":"A","rdata":"192.0.2.1","time_first":1,"time_last":2}` + "\n"))
		}, want: 2},
		{name: "server error retried then fails", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}, wantErr: ErrHTTP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.handler)
			s, err := NewCIRCLSource(CIRCLOptions{URL: srv.URL + "/pdns/query", Auth: "token", HTTP: fast})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			err = s.Names(context.Background(), "example.com", func(Observation) error { n++; return nil })
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if n != tc.want {
				t.Errorf("%d observations, want %d", n, tc.want)
			}
		})
	}
}

func TestDNSDB(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		mu.Unlock()
		if r.Header.Get("X-API-Key") != "k3y" {
			http.Error(w, "Error: missing or invalid API key", http.StatusForbidden)
			return
		}
		if r.Header.Get("Accept") != "application/x-ndjson" {
			http.Error(w, "unsupported", http.StatusUnsupportedMediaType)
			return
		}
		q := r.URL.Query()
		if q.Get("limit") != "2" || q.Get("swclient") != "dnsscout" {
			http.Error(w, "bad parameters", http.StatusBadRequest)
			return
		}
		switch r.URL.EscapedPath() + "|" + q.Get("offset") {
		case "/dnsdb/v2/lookup/rrset/name/example.com|":
			_, _ = w.Write(readTestdata(t, "dnsdb/apex.saf"))
		case "/dnsdb/v2/lookup/rrset/name/%2A.example.com|":
			_, _ = w.Write(readTestdata(t, "dnsdb/wild-0.saf"))
		case "/dnsdb/v2/lookup/rrset/name/%2A.example.com|2":
			_, _ = w.Write(readTestdata(t, "dnsdb/wild-2.saf"))
		default:
			http.Error(w, "unexpected", http.StatusNotFound)
		}
	})
	// A trailing /dnsdb/v2 is accepted.
	s, err := NewDNSDBSource(DNSDBOptions{URL: srv.URL + "/dnsdb/v2/", Key: "k3y", PageSize: 2, Label: "dnsdb", HTTP: fast})
	if err != nil {
		t.Fatal(err)
	}
	obs, st := collect(t, s, "example.com")
	if st.Err != nil {
		t.Fatalf("status error: %v (requests %q)", st.Err, seen)
	}
	want := []string{
		"example.com NS ns1.example.net. 1600000000..1700000000 #40",
		"example.com NS ns2.example.net. 1600000000..1700000000 #40",
		"old.example.com CNAME old-app.cdn.example.net. 1500000000..1550000000 #9",
		"intranet.example.com A 203.0.113.5 1450000000..1460000000 #2",
		"_sip._tcp.example.com SRV 10 5 5060 sip.example.com. 1400000000..1400000000 #1",
	}
	if got := obsKeys(obs); !slices.Equal(got, want) {
		t.Errorf("observations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st.Skipped != 1 {
		t.Errorf("skipped %d, want 1 (evil.example.net)", st.Skipped)
	}
	if len(seen) != 3 {
		t.Errorf("requests %q, want 3", seen)
	}
}

func TestDNSDBErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr error
		want    int
	}{
		{name: "403 bad key", status: 403, body: "Error: missing or invalid API key", wantErr: ErrAuth},
		{name: "401 key not allowed", status: 401, body: "Error: quota expired", wantErr: ErrAuth},
		{name: "429 quota", status: 429, wantErr: ErrQuota},
		{name: "failed", status: 200, body: "dnsdb/failed.saf", wantErr: ErrProtocol, want: 1},
		{name: "truncated", status: 200, body: "dnsdb/truncated.saf", wantErr: ErrTruncated, want: 1},
		{name: "plain COF is not DNSDB", status: 200, body: "circl/apex.ndjson", wantErr: ErrProtocol, want: 2},
		{name: "416 ends paging", status: 416},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				if strings.Contains(tc.body, "/") {
					_, _ = w.Write(readTestdata(t, tc.body))
				} else {
					_, _ = w.Write([]byte(tc.body))
				}
			})
			s, err := NewDNSDBSource(DNSDBOptions{URL: srv.URL, Key: "x", HTTP: fast})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			err = s.Names(context.Background(), "example.com", func(Observation) error { n++; return nil })
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if n != tc.want {
				t.Errorf("%d observations, want %d", n, tc.want)
			}
			if tc.status/100 == 4 && tc.status != 416 && tc.body != "" && !strings.Contains(err.Error(), tc.body) {
				t.Errorf("error %q does not carry the server's message %q", err, tc.body)
			}
		})
	}
}

func TestMaxResults(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(readTestdata(t, "circl/wild-1.ndjson"))
	})
	s, err := NewCIRCLSource(CIRCLOptions{URL: srv.URL, Auth: "a:b", MaxResults: 2, HTTP: fast})
	if err != nil {
		t.Fatal(err)
	}
	obs, st := collect(t, s, "example.com")
	if st.Err != nil || len(obs) != 2 {
		t.Errorf("%d observations (err %v), want 2", len(obs), st.Err)
	}
}

// TestRateLimit: with a rate that allows one request per ~11 days the
// second page cannot be fetched before the context's deadline, so the
// limiter refuses at once; the server sees exactly one request.
func TestRateLimit(t *testing.T) {
	var n atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("x-dribble-cursor", fmt.Sprint(n.Load()))
		_, _ = w.Write(readTestdata(t, "circl/apex.ndjson"))
	})
	s, err := NewCIRCLSource(CIRCLOptions{URL: srv.URL, Auth: "a:b", HTTP: HTTPOptions{Rate: 1e-6}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = s.Names(ctx, "example.com", func(Observation) error { return nil })
	if err == nil {
		t.Fatal("no error although the rate forbids a second request")
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}

func TestTimeout(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	s, err := NewDNSDBSource(DNSDBOptions{URL: srv.URL, Key: "x", HTTP: HTTPOptions{Rate: -1, Timeout: 20 * time.Millisecond, Retries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Names(context.Background(), "example.com", func(Observation) error { return nil })
	if !errors.Is(err, ErrHTTP) {
		t.Errorf("err %v, want ErrHTTP (timeout)", err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, u := range []string{"ftp://example.com", "example.com", "https://user:pw@example.com", "https://example.com/?x=1"} {
		if _, err := NewDNSDBSource(DNSDBOptions{URL: u}); !errors.Is(err, ErrConfig) {
			t.Errorf("DNSDB URL %q: err %v, want ErrConfig", u, err)
		}
		if _, err := NewCIRCLSource(CIRCLOptions{URL: u}); !errors.Is(err, ErrConfig) {
			t.Errorf("CIRCL URL %q: err %v, want ErrConfig", u, err)
		}
	}
	if _, err := NewCIRCLSource(CIRCLOptions{Auth: "a\r\nX-Evil: 1"}); !errors.Is(err, ErrConfig) {
		t.Errorf("auth with CRLF: err %v, want ErrConfig", err)
	}
	for _, d := range []string{"", "*.example.com", "exa mple.com"} {
		s, _ := NewDNSDBSource(DNSDBOptions{URL: "http://127.0.0.1:9", Key: "x"})
		if err := s.Names(context.Background(), d, nil); !errors.Is(err, ErrBadDomain) {
			t.Errorf("domain %q: err %v, want ErrBadDomain", d, err)
		}
	}
}

func TestNoRedirectToOtherHost(t *testing.T) {
	var leaked atomic.Int32
	// Another host: 127.0.0.2 (Linux routes all of 127.0.0.0/8 to lo).
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "" {
			leaked.Add(1)
		}
		_, _ = w.Write(readTestdata(t, "dnsdb/apex.saf"))
	}))
	other.Listener = ln
	other.Start()
	t.Cleanup(other.Close)
	target := other.URL
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusFound)
	})
	s, err := NewDNSDBSource(DNSDBOptions{URL: srv.URL, Key: "secret", HTTP: fast})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Names(context.Background(), "example.com", func(Observation) error { return nil })
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusFound {
		t.Errorf("err %v, want an HTTPError with status 302", err)
	}
	if leaked.Load() != 0 {
		t.Error("the API key reached another host")
	}
}

func TestOverlongLine(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"rrname":"a.example.com","rrtype":"TXT","rdata":"` + strings.Repeat("x", 5<<20) + `"}` + "\n"))
	})
	s, err := NewCIRCLSource(CIRCLOptions{URL: srv.URL, Auth: "a:b", HTTP: fast})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Names(context.Background(), "example.com", func(Observation) error { return nil }); !errors.Is(err, ErrProtocol) {
		t.Errorf("err %v, want ErrProtocol", err)
	}
}
