// Package abuse holds the hostile clients of issue 11 and the
// well-behaved client that measures beside them, for the whole-server
// benchmarks (bench/api) and the soak (bench/soak,
// scripts/soak-serve.sh). Every client talks to one loopback base URL
// and stops when its context ends.
//
// It does not start servers or judge results: the commands do.
package abuse

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is a server under test.
type Target struct {
	// Addr is the server's host:port (loopback).
	Addr string
	// Key is sent as X-API-Key when set.
	Key string
	// From is the loopback address the client connects from ("" = any).
	From string
}

// dialer connects from t.From.
func (t Target) dialer() *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if t.From != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(t.From)}
	}
	return d
}

// client is an HTTP client for t with conns keep-alive connections.
func (t Target) client(conns int, timeout time.Duration) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: t.dialer().DialContext, MaxIdleConnsPerHost: conns}, Timeout: timeout}
}

// Stats counts what a hostile client did.
type Stats struct {
	// Requests is the number of requests started.
	Requests atomic.Int64
	// Cut is the number that the server answered with an error status
	// or cut short.
	Cut atomic.Int64
}

// head sends a request head on a new connection.
func (t Target) head(ctx context.Context, method, path string, contentLength int, extra string) (net.Conn, error) {
	c, err := t.dialer().DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, err
	}
	h := method + " " + path + " HTTP/1.1\r\nHost: " + t.Addr + "\r\n"
	if t.Key != "" {
		h += "X-API-Key: " + t.Key + "\r\n"
	}
	if contentLength >= 0 {
		h += "Content-Length: " + strconv.Itoa(contentLength) + "\r\n"
	}
	if _, err := io.WriteString(c, h+extra+"\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// SlowBodies runs n ingest POSTs that send their body at one byte per
// interval; each starts again once the server cuts it.
func SlowBodies(ctx context.Context, t Target, n int, interval time.Duration, st *Stats) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				st.Requests.Add(1)
				c, err := t.head(ctx, "POST", "/api/v1/ingest", 1<<20, "Content-Type: application/x-ndjson\r\n")
				if err != nil {
					sleep(ctx, interval)
					continue
				}
				for ctx.Err() == nil {
					if _, err := c.Write([]byte("{")); err != nil {
						break
					}
					sleep(ctx, interval)
				}
				c.Close()
				if ctx.Err() == nil {
					st.Cut.Add(1)
				}
			}
		})
	}
	wg.Wait()
}

// UnreadAnswers runs n lookups of path (a large answer) whose answers
// are never read, each on its own connection held until ctx ends.
func UnreadAnswers(ctx context.Context, t Target, n int, path string, st *Stats) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			st.Requests.Add(1)
			c, err := t.head(ctx, "GET", path, -1, "")
			if err != nil {
				return
			}
			<-ctx.Done()
			c.Close()
		})
	}
	wg.Wait()
}

// Braces returns a gzip body of "{}" lines that inflates to n bytes:
// every line is malformed COF.
func Braces(n int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	line := bytes.Repeat([]byte("{}\n"), 4096)
	for written := 0; written < n; written += len(line) {
		zw.Write(line)
	}
	zw.Close()
	return buf.Bytes()
}

// Bombs posts the bodies to /api/v1/ingest from workers goroutines in
// a loop, gzip-encoded.
func Bombs(ctx context.Context, t Target, workers int, bodies [][]byte, st *Stats) {
	repeat(ctx, t, workers, st, func(i int) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+t.Addr+"/api/v1/ingest", bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("Content-Type", "application/x-ndjson")
		return req
	})
}

// Flood sends paths back to back from conns connections, reading every
// answer: one key (or address) asking for more than its share.
func Flood(ctx context.Context, t Target, conns int, paths []string, st *Stats) {
	repeat(ctx, t, conns, st, func(i int) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+t.Addr+paths[i%len(paths)], nil)
		return req
	})
}

// repeat sends the requests that next makes, back to back from workers
// connections, reading every answer, until ctx ends.
func repeat(ctx context.Context, t Target, workers int, st *Stats, next func(i int) *http.Request) {
	client := t.client(workers, 5*time.Minute)
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i += workers {
				req := next(i)
				if t.Key != "" {
					req.Header.Set("X-API-Key", t.Key)
				}
				st.Requests.Add(1)
				res, err := client.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode >= 400 {
					st.Cut.Add(1)
				}
			}
		})
	}
	wg.Wait()
}

// Measure is what the well-behaved client saw.
type Measure struct {
	Requests  int
	Codes     map[int]int // status codes; 0 counts transport errors
	Latencies []time.Duration
}

// Percentile returns the p-th percentile latency (0 < p <= 100).
func (m *Measure) Percentile(p float64) time.Duration {
	if len(m.Latencies) == 0 {
		return 0
	}
	l := slices.Clone(m.Latencies)
	slices.Sort(l)
	i := int(float64(len(l))*p/100+0.5) - 1
	return l[max(0, min(i, len(l)-1))]
}

// Unavailable is the number of 503 answers.
func (m *Measure) Unavailable() int { return m.Codes[http.StatusServiceUnavailable] }

// Failed is the number of answers other than 200, 503 included.
func (m *Measure) Failed() int {
	n := 0
	for code, k := range m.Codes {
		if code != http.StatusOK {
			n += k
		}
	}
	return n
}

// WellBehaved sends the paths in turn at rate requests per second (from
// as many connections as it needs, each answer read whole) until ctx
// ends, and records every status and latency. An answer must end with
// DNSDB's success terminator to count as 200.
func WellBehaved(ctx context.Context, t Target, rate int, paths []string) *Measure {
	client := t.client(16, time.Minute)
	defer client.CloseIdleConnections()
	m := &Measure{Codes: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return m
		case <-tick.C:
		}
		path := paths[i%len(paths)]
		wg.Go(func() {
			req, _ := http.NewRequest("GET", "http://"+t.Addr+path, nil)
			if t.Key != "" {
				req.Header.Set("X-API-Key", t.Key)
			}
			start := time.Now()
			code := 0
			if res, err := client.Do(req); err == nil {
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				code = res.StatusCode
				if code == 200 && (err != nil || !bytes.HasSuffix(body, []byte(`"cond":"succeeded"}`+"\n"))) {
					code = 0
				}
			}
			el := time.Since(start)
			mu.Lock()
			m.Requests++
			m.Codes[code]++
			m.Latencies = append(m.Latencies, el)
			mu.Unlock()
		})
	}
}

// LookupPath is the DNSDB path of an exact rrset lookup, escaped as
// dnsdbq escapes it.
func LookupPath(name string) string {
	return "/dnsdb/v2/lookup/rrset/name/" + url.PathEscape(name) + "?swclient=bench&version=1"
}

// Rejections reads dnsscout_api_rejected_total by reason from /metrics.
func Rejections(t Target) (map[string]int64, error) {
	res, err := http.Get("http://" + t.Addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, `dnsscout_api_rejected_total{reason="`)
		if !ok {
			continue
		}
		reason, v, _ := strings.Cut(rest, `"} `)
		n, _ := strconv.ParseFloat(v, 64)
		if n > 0 {
			out[reason] = int64(n)
		}
	}
	return out, nil
}

// Counter reads an unlabelled counter or gauge from the server's
// /metrics (0 when absent).
func Counter(t Target, name string) (float64, error) {
	res, err := http.Get("http://" + t.Addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
