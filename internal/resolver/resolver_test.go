package resolver

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// go test -race ./internal/resolver/

func TestNewValidates(t *testing.T) {
	good := netip.MustParseAddrPort("127.53.200.250:53")
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"zero value", Options{}, true},
		{"servers", Options{Servers: []netip.AddrPort{good, good}}, true},
		{"4in6 server", Options{Servers: []netip.AddrPort{netip.MustParseAddrPort("[::ffff:127.53.200.250]:53")}}, true},
		{"no retries", Options{Retries: -1}, true},
		{"negative rate", Options{Rate: -1}, false},
		{"NaN rate", Options{ServerRate: nanRate()}, false},
		{"negative concurrency", Options{Concurrency: -1}, false},
		{"negative timeout", Options{Timeout: -time.Second}, false},
		{"retries -2", Options{Retries: -2}, false},
		{"tiny UDP size", Options{UDPSize: 100}, false},
		{"too many sockets", Options{SocketsPerServer: 1000}, false},
		{"port zero", Options{Servers: []netip.AddrPort{netip.MustParseAddrPort("127.53.200.250:0")}}, false},
		{"unspecified", Options{Servers: []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:53")}}, false},
		{"invalid", Options{Servers: []netip.AddrPort{{}}}, false},
		{"negative max records", Options{MaxTransferRecords: -5}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.o)
			if tc.ok != (err == nil) {
				t.Fatalf("New(%+v) error = %v, want ok=%v", tc.o, err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrBadOptions) && !errors.Is(err, ErrBadServer) {
					t.Errorf("error %v is neither ErrBadOptions nor ErrBadServer", err)
				}
				return
			}
			defer r.Close()
			if len(r.Servers()) > 1 {
				t.Errorf("duplicate servers not merged: %v", r.Servers())
			}
		})
	}
	r, err := New(Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.opts.Retries != 0 || r.opts.Concurrency != DefaultConcurrency || r.opts.UDPSize != DefaultUDPSize || r.opts.Timeout != DefaultTimeout {
		t.Errorf("defaults not filled: %+v", r.opts)
	}
}

func nanRate() float64 { z := 0.0; return z / z }

func optOf(m *dns.Msg) *dns.OPT {
	if m == nil {
		return nil
	}
	return m.IsEdns0()
}

func TestExchange(t *testing.T) {
	srv := newTestServer(t, func(q *request) {
		if q.msg == nil || len(q.msg.Question) != 1 {
			return
		}
		qu := q.msg.Question[0]
		var m *dns.Msg
		switch {
		case qu.Qclass == dns.ClassCHAOS && strings.EqualFold(qu.Name, "version.bind."):
			m = q.answer(dns.RcodeSuccess, `version.bind. 0 CH TXT "9.18.1-test"`)
		case strings.EqualFold(qu.Name, "www.example.com.") && qu.Qtype == dns.TypeA:
			m = q.answer(dns.RcodeSuccess, "www.example.com. 300 IN A 192.0.2.10")
		case strings.EqualFold(qu.Name, "upper.example.com."):
			// Answer with the question in another case (0x20 style).
			m = q.answer(dns.RcodeSuccess, "UPPER.EXAMPLE.COM. 300 IN A 192.0.2.11")
			m.Question[0].Name = "UpPeR.eXaMpLe.CoM."
		case strings.EqualFold(qu.Name, "example.com.") && qu.Qtype == dns.TypeDNSKEY:
			m = q.answer(dns.RcodeSuccess)
			if o := optOf(q.msg); o != nil && o.Do() {
				m.Answer = append(m.Answer, mustRR("example.com. 300 IN RRSIG DNSKEY 13 2 300 20300101000000 20200101000000 12345 example.com. AAAA"))
			}
		default:
			m = q.answer(dns.RcodeNameError)
		}
		if o := optOf(q.msg); o != nil {
			ro := new(dns.OPT)
			ro.Hdr = dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}
			if o.Do() {
				ro.SetDo()
			}
			for _, opt := range o.Option {
				if opt.Option() == dns.EDNS0NSID {
					ro.Option = append(ro.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: hex.EncodeToString([]byte("ns1.test"))})
				}
			}
			m.Extra = append(m.Extra, ro)
		}
		q.reply(m)
	})
	r := newTestResolver(t, []*testServer{srv}, nil)
	ctx := context.Background()

	tests := []struct {
		name     string
		q        Query
		rcode    int
		answers  int
		nsid     string
		do       bool // DO bit expected in the request
		wantCD   bool
		wantData string
	}{
		{name: "A", q: Query{Name: "www.example.com", Type: dns.TypeA}, rcode: dns.RcodeSuccess, answers: 1, wantData: "192.0.2.10"},
		{name: "trailing dot and case", q: Query{Name: "WWW.Example.COM.", Type: dns.TypeA}, rcode: dns.RcodeSuccess, answers: 1},
		{name: "question echoed in other case", q: Query{Name: "upper.example.com", Type: dns.TypeA}, rcode: dns.RcodeSuccess, answers: 1},
		{name: "NXDOMAIN", q: Query{Name: "nope.example.com", Type: dns.TypeA}, rcode: dns.RcodeNameError},
		{name: "CHAOS version.bind", q: Query{Name: "version.bind", Type: dns.TypeTXT, Class: dns.ClassCHAOS}, rcode: dns.RcodeSuccess, answers: 1, wantData: "9.18.1-test"},
		{name: "NSID", q: Query{Name: "nope.example.com", Type: dns.TypeA, NSID: true}, rcode: dns.RcodeNameError, nsid: "ns1.test"},
		{name: "DO bit", q: Query{Name: "example.com", Type: dns.TypeDNSKEY, DO: true}, rcode: dns.RcodeSuccess, answers: 1, do: true},
		{name: "no DO bit", q: Query{Name: "example.com", Type: dns.TypeDNSKEY}, rcode: dns.RcodeSuccess, answers: 0},
		{name: "CD bit", q: Query{Name: "www.example.com", Type: dns.TypeA, CD: true}, rcode: dns.RcodeSuccess, answers: 1, wantCD: true},
		{name: "forced TCP", q: Query{Name: "www.example.com", Type: dns.TypeA, TCP: true}, rcode: dns.RcodeSuccess, answers: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.requests())
			resp, err := r.Exchange(ctx, tc.q)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if resp.Msg.Rcode != tc.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[resp.Msg.Rcode], dns.RcodeToString[tc.rcode])
			}
			if len(resp.Msg.Answer) != tc.answers {
				t.Errorf("answers = %d, want %d: %v", len(resp.Msg.Answer), tc.answers, resp.Msg.Answer)
			}
			if tc.wantData != "" && (len(resp.Msg.Answer) == 0 || !strings.Contains(resp.Msg.Answer[0].String(), tc.wantData)) {
				t.Errorf("answer %v does not contain %q", resp.Msg.Answer, tc.wantData)
			}
			if got := NSID(resp.Msg); got != tc.nsid {
				t.Errorf("NSID = %q, want %q", got, tc.nsid)
			}
			if resp.Server != srv.addr {
				t.Errorf("Server = %v, want %v", resp.Server, srv.addr)
			}
			if resp.TCP != tc.q.TCP {
				t.Errorf("TCP = %v, want %v", resp.TCP, tc.q.TCP)
			}
			reqs := srv.requests()
			if len(reqs) != before+1 {
				t.Fatalf("server saw %d queries, want 1", len(reqs)-before)
			}
			req := reqs[len(reqs)-1].msg
			if req == nil {
				t.Fatal("server could not unpack our query")
			}
			if !req.RecursionDesired {
				t.Error("Exchange did not set RD")
			}
			if req.CheckingDisabled != tc.wantCD {
				t.Errorf("CD = %v, want %v", req.CheckingDisabled, tc.wantCD)
			}
			opt := req.IsEdns0()
			if opt == nil {
				t.Fatal("query has no EDNS0 OPT record")
			}
			if opt.UDPSize() != DefaultUDPSize {
				t.Errorf("EDNS UDP size = %d, want %d", opt.UDPSize(), DefaultUDPSize)
			}
			if opt.Do() != tc.do {
				t.Errorf("DO = %v, want %v", opt.Do(), tc.do)
			}
			class := tc.q.Class
			if class == 0 {
				class = dns.ClassINET
			}
			if req.Question[0].Qclass != class || req.Question[0].Qtype != tc.q.Type {
				t.Errorf("question %v, want type %d class %d", req.Question[0], tc.q.Type, class)
			}
		})
	}
	st := r.Stats()
	if st.Dropped != 0 {
		t.Errorf("dropped %d valid responses: %v", st.Dropped, st.DroppedBy)
	}
	if st.Responses != uint64(len(tests)) || st.Queries != uint64(len(tests)) || st.TCP != 1 {
		t.Errorf("stats = %+v, want %d queries and responses, 1 TCP", st, len(tests))
	}
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}

func TestBadQueries(t *testing.T) {
	r := newTestResolver(t, []*testServer{newTestServer(t, nxdomain)}, nil)
	long := strings.Repeat("a", 64) + ".example.com"
	longName := strings.Repeat("abcdefghi.", 26) + "example.com"
	for _, q := range []Query{
		{Name: "", Type: dns.TypeA},
		{Name: long, Type: dns.TypeA},
		{Name: longName, Type: dns.TypeA},
		{Name: "a..example.com", Type: dns.TypeA},
		{Name: "example.com", Type: dns.TypeAXFR},
		{Name: "example.com", Type: dns.TypeIXFR},
		{Name: "example.com", Type: dns.TypeOPT},
	} {
		if _, err := r.Exchange(context.Background(), q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("Exchange(%q, %d) error = %v, want ErrBadQuery", q.Name, q.Type, err)
		}
	}
	if _, err := r.Direct(context.Background(), netip.AddrPort{}, Query{Name: "example.com", Type: dns.TypeA}); !errors.Is(err, ErrBadServer) {
		t.Errorf("Direct to invalid address: %v, want ErrBadServer", err)
	}
}

func TestEscapedName(t *testing.T) {
	srv := newTestServer(t, nxdomain)
	r := newTestResolver(t, []*testServer{srv}, nil)
	resp, err := r.Exchange(context.Background(), Query{Name: `a\.b.example.com`, Type: dns.TypeA})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Msg.Question[0].Name; got != `a\.b.example.com.` {
		t.Errorf("question %q", got)
	}
}

func TestTruncationFallsBackToTCP(t *testing.T) {
	var rrs []string
	for i := range 200 {
		rrs = append(rrs, fmt.Sprintf("big.example.com. 60 IN A 198.51.100.%d", i))
	}
	srv := newTestServer(t, func(q *request) {
		if q.tcp {
			q.reply(q.answer(dns.RcodeSuccess, rrs...))
			return
		}
		m := q.answer(dns.RcodeSuccess)
		m.Truncated = true
		q.reply(m)
	})
	r := newTestResolver(t, []*testServer{srv}, nil)
	resp, err := r.Exchange(context.Background(), Query{Name: "big.example.com", Type: dns.TypeA})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.TCP || len(resp.Msg.Answer) != 200 {
		t.Errorf("TCP=%v answers=%d, want TCP with 200", resp.TCP, len(resp.Msg.Answer))
	}
	st := r.Stats()
	if st.Truncated != 1 || st.TCP != 1 || st.Queries != 2 {
		t.Errorf("stats %+v: want 1 truncated, 1 TCP, 2 queries", st)
	}
	if srv.tcpQ.Load() != 1 {
		t.Errorf("server saw %d TCP queries", srv.tcpQ.Load())
	}
}

// TestInvalidResponsesDropped sends a bad datagram before the good one and
// checks the bad one is counted under its reason while the answer arrives.
func TestInvalidResponsesDropped(t *testing.T) {
	good := func(q *request) *dns.Msg {
		return q.answer(dns.RcodeSuccess, "www.example.com. 60 IN A 192.0.2.1")
	}
	pack := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			panic(err)
		}
		return b
	}
	tests := []struct {
		name   string
		reason string
		bad    func(q *request) // sends the bad message(s)
	}{
		{"wrong ID", "id", func(q *request) {
			m := good(q)
			m.Id ^= 0x5a5a
			q.reply(m)
		}},
		{"wrong name", "question", func(q *request) {
			m := good(q)
			m.Question[0].Name = "www.example.net."
			q.reply(m)
		}},
		{"wrong type", "question", func(q *request) {
			m := good(q)
			m.Question[0].Qtype = dns.TypeAAAA
			q.reply(m)
		}},
		{"wrong class", "question", func(q *request) {
			m := good(q)
			m.Question[0].Qclass = dns.ClassCHAOS
			q.reply(m)
		}},
		{"no question", "question", func(q *request) {
			m := good(q)
			m.Question = nil
			q.reply(m)
		}},
		{"two questions", "question", func(q *request) {
			m := good(q)
			m.Question = append(m.Question, m.Question[0])
			q.reply(m)
		}},
		{"query not response", "header", func(q *request) {
			m := good(q)
			m.Response = false
			q.reply(m)
		}},
		{"opcode", "header", func(q *request) {
			m := good(q)
			m.Opcode = dns.OpcodeNotify
			q.reply(m)
		}},
		{"short", "short", func(q *request) { q.write([]byte{1, 2, 3}) }},
		{"garbage after valid header", "malformed", func(q *request) {
			b := pack(good(q))
			q.write(append(b[:len(b)-6], 0xff, 0xff, 0xff))
		}},
		{"wrong source port", "source", func(q *request) {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(q.srv.addr.Addr(), 0)))
			if err != nil {
				panic(err)
			}
			defer c.Close()
			c.WriteToUDPAddrPort(pack(good(q)), q.from)
		}},
		{"wrong source address", "source", func(q *request) {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(testIP(), 0)))
			if err != nil {
				panic(err)
			}
			defer c.Close()
			c.WriteToUDPAddrPort(pack(good(q)), q.from)
		}},
	}
	for _, tc := range tests {
		for _, direct := range []bool{false, true} {
			name := tc.name + "/exchange"
			if direct {
				name = tc.name + "/direct" // the socket shared by Direct-only servers
			}
			t.Run(name, func(t *testing.T) { testInvalidResponse(t, direct, tc.reason, tc.bad, good) })
		}
	}
}

func testInvalidResponse(t *testing.T, direct bool, reason string, bad func(q *request), good func(q *request) *dns.Msg) {
	t.Helper()
	srv := newTestServer(t, func(q *request) {
		if q.msg == nil {
			return
		}
		// Loopback sendto queues the datagram on our socket before it
		// returns, so the bad one is always read before the good one.
		bad(q)
		q.reply(good(q))
	})
	pool := []*testServer{srv}
	if direct {
		pool = nil
	}
	r := newTestResolver(t, pool, func(o *Options) { o.Timeout = 2 * time.Second; o.SocketsPerServer = 1 })
	q := Query{Name: "www.example.com", Type: dns.TypeA}
	var resp *Response
	var err error
	if direct {
		resp, err = r.Direct(context.Background(), srv.addr, q)
	} else {
		resp, err = r.Exchange(context.Background(), q)
	}
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if len(resp.Msg.Answer) != 1 || resp.Msg.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("wrong answer delivered: %v", resp.Msg)
	}
	st := r.Stats()
	if st.DroppedBy[reason] != 1 || st.Dropped != 1 {
		t.Errorf("dropped %v, want exactly one %q", st.DroppedBy, reason)
	}
	if st.Responses != 1 {
		t.Errorf("responses = %d, want 1", st.Responses)
	}
}

// TestErrorResponseWithoutQuestion: REFUSED/FORMERR without a question
// section (as some servers send) are accepted.
func TestErrorResponseWithoutQuestion(t *testing.T) {
	srv := newTestServer(t, func(q *request) {
		m := q.answer(dns.RcodeRefused)
		m.Question = nil
		q.reply(m)
	})
	r := newTestResolver(t, []*testServer{srv}, func(o *Options) { o.Retries = -1 })
	resp, err := r.Direct(context.Background(), srv.addr, Query{Name: "www.example.com", Type: dns.TypeA})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Msg.Rcode != dns.RcodeRefused {
		t.Errorf("rcode %d", resp.Msg.Rcode)
	}
}

func TestHugeResponses(t *testing.T) {
	txt := strings.Repeat("x", 255)
	var rrs []string
	for range 230 { // ~60 KB: beyond the advertised 1232 and near the UDP maximum
		rrs = append(rrs, fmt.Sprintf(`huge.example.com. 60 IN TXT "%s"`, txt))
	}
	srv := newTestServer(t, func(q *request) {
		q.reply(q.answer(dns.RcodeSuccess, rrs...))
	})
	r := newTestResolver(t, []*testServer{srv}, nil)
	for _, tcp := range []bool{false, true} {
		resp, err := r.Exchange(context.Background(), Query{Name: "huge.example.com", Type: dns.TypeTXT, TCP: tcp})
		if err != nil {
			t.Fatalf("tcp=%v: %v", tcp, err)
		}
		if len(resp.Msg.Answer) != len(rrs) {
			t.Errorf("tcp=%v: %d answers, want %d", tcp, len(resp.Msg.Answer), len(rrs))
		}
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	srv := newTestServer(t, silent)
	r := newTestResolver(t, []*testServer{srv}, func(o *Options) {
		o.Timeout = 30 * time.Millisecond
		o.Retries = 2
	})
	_, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("error = %v, want ErrTimeout", err)
	}
	if n := srv.queries.Load(); n != 3 {
		t.Errorf("server saw %d queries, want 3 (1 + 2 retries)", n)
	}
	st := r.Stats()
	if st.Timeouts != 3 || st.Retries != 2 || st.Queries != 3 {
		t.Errorf("stats %+v", st)
	}
	// The only server is never dropped for timeouts.
	if ss := r.Servers(); !ss[0].Healthy {
		t.Errorf("last server dropped: %+v", ss[0])
	}
	// Direct retries on the same server too.
	_, err = r.Direct(context.Background(), srv.addr, Query{Name: "www.example.com", Type: dns.TypeA})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Direct error = %v, want ErrTimeout", err)
	}
	if n := srv.queries.Load(); n != 6 {
		t.Errorf("server saw %d queries, want 6", n)
	}
}

// TestSlowServer: the first answer arrives after the attempt timed out; the
// retry is answered. The late answer is dropped (its ID is no longer
// waited for), the retry's answer delivered.
func TestSlowServer(t *testing.T) {
	var n atomic.Int32
	retried := make(chan struct{})
	lateSent := make(chan struct{})
	srv := newTestServer(t, func(q *request) {
		if n.Add(1) == 1 {
			// Answer the first query only after the retry was answered.
			select {
			case <-retried:
			case <-q.srv.done:
				return
			}
			q.reply(q.answer(dns.RcodeSuccess, "www.example.com. 60 IN A 192.0.2.1"))
			close(lateSent)
			return
		}
		q.reply(q.answer(dns.RcodeSuccess, "www.example.com. 60 IN A 192.0.2.2"))
		close(retried)
	})
	r := newTestResolver(t, []*testServer{srv}, func(o *Options) { o.Timeout = time.Second })
	resp, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Msg.Answer[0].(*dns.A).A.String(); got != "192.0.2.2" {
		t.Errorf("answer %s, want the retry's 192.0.2.2", got)
	}
	<-lateSent
	waitFor(t, "late answer counted", func() bool { return r.Stats().DroppedBy["id"] == 1 })
	st := r.Stats()
	if st.Timeouts != 1 || st.Retries != 1 {
		t.Errorf("stats %+v, want 1 timeout and 1 retry", st)
	}
}

// waitFor polls cond (an event, not a duration) for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestBackoffAndNoRetries(t *testing.T) {
	srv := newTestServer(t, silent)
	r := newTestResolver(t, []*testServer{srv}, func(o *Options) {
		o.Timeout = 20 * time.Millisecond
		o.Retries = -1
	})
	if _, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA}); !errors.Is(err, ErrTimeout) {
		t.Fatal(err)
	}
	if n := srv.queries.Load(); n != 1 {
		t.Errorf("Retries -1: server saw %d queries, want 1", n)
	}
	// A backoff longer than the context's life ends the call with the
	// context's error while it waits.
	r2 := newTestResolver(t, []*testServer{srv}, func(o *Options) {
		o.Timeout = 20 * time.Millisecond
		o.Backoff = time.Hour
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := r2.Exchange(ctx, Query{Name: "www.example.com", Type: dns.TypeA}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want DeadlineExceeded during backoff", err)
	}
	if n := srv.queries.Load(); n != 2 {
		t.Errorf("server saw %d queries, want 2 (one more, then backoff)", n)
	}
}

func TestServfailAndRefusedMoveToAnotherServer(t *testing.T) {
	for _, rcode := range []int{dns.RcodeServerFailure, dns.RcodeRefused} {
		t.Run(dns.RcodeToString[rcode], func(t *testing.T) {
			bad := newTestServer(t, func(q *request) { q.reply(q.answer(rcode)) })
			good := newTestServer(t, fixedA("192.0.2.7"))
			r := newTestResolver(t, []*testServer{bad, good}, func(o *Options) { o.MaxRefused = 1000 })
			for i := range 10 {
				resp, err := r.Exchange(context.Background(), Query{Name: fmt.Sprintf("h%d.example.com", i), Type: dns.TypeA})
				if err != nil {
					t.Fatal(err)
				}
				if resp.Msg.Rcode != dns.RcodeSuccess || resp.Server != good.addr {
					t.Fatalf("query %d: %s from %v, want NOERROR from %v", i, dns.RcodeToString[resp.Msg.Rcode], resp.Server, good.addr)
				}
			}
			if bad.queries.Load() == 0 {
				t.Error("round-robin never tried the failing server")
			}
			if good.queries.Load() != 10 {
				t.Errorf("good server saw %d queries, want 10", good.queries.Load())
			}
		})
	}
}

func TestServfailSingleServerReturnedAfterBudget(t *testing.T) {
	srv := newTestServer(t, func(q *request) { q.reply(q.answer(dns.RcodeServerFailure)) })
	r := newTestResolver(t, []*testServer{srv}, func(o *Options) { o.Retries = 3 })
	resp, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Msg.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s", dns.RcodeToString[resp.Msg.Rcode])
	}
	if n := srv.queries.Load(); n != 4 {
		t.Errorf("server saw %d queries, want 4", n)
	}
	if ss := r.Servers()[0]; ss.ServFail != 4 || !ss.Healthy {
		t.Errorf("server status %+v", ss)
	}
	// NXDOMAIN is returned at once.
	srv.setHandler(nxdomain)
	before := srv.queries.Load()
	resp, err = r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA})
	if err != nil || resp.Msg.Rcode != dns.RcodeNameError {
		t.Fatalf("%v %v", resp, err)
	}
	if n := srv.queries.Load() - before; n != 1 {
		t.Errorf("NXDOMAIN took %d queries", n)
	}
}

func TestEDNSFallback(t *testing.T) {
	for _, rcode := range []int{dns.RcodeFormatError, dns.RcodeNotImplemented} {
		t.Run(dns.RcodeToString[rcode], func(t *testing.T) {
			srv := newTestServer(t, func(q *request) {
				if q.msg.IsEdns0() != nil {
					m := q.answer(rcode)
					m.Question = nil // old servers often drop the question too
					q.reply(m)
					return
				}
				fixedA("192.0.2.3")(q)
			})
			r := newTestResolver(t, []*testServer{srv}, nil)
			resp, err := r.Exchange(context.Background(), Query{Name: "old.example.com", Type: dns.TypeA})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Msg.Rcode != dns.RcodeSuccess || len(resp.Msg.Answer) != 1 {
				t.Errorf("got %v", resp.Msg)
			}
			reqs := srv.requests()
			if len(reqs) != 2 || reqs[0].msg.IsEdns0() == nil || reqs[1].msg.IsEdns0() != nil {
				t.Errorf("want one EDNS query then one without, got %d queries", len(reqs))
			}
		})
	}
}

func TestNoEDNSOption(t *testing.T) {
	srv := newTestServer(t, nxdomain)
	r := newTestResolver(t, []*testServer{srv}, func(o *Options) { o.NoEDNS = true; o.UDPSize = 4096 })
	for _, q := range []Query{{Name: "a.example.com", Type: dns.TypeA}, {Name: "b.example.com", Type: dns.TypeA, DO: true}} {
		if _, err := r.Exchange(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.requests()
	if reqs[0].msg.IsEdns0() != nil {
		t.Error("NoEDNS query carried OPT")
	}
	if o := reqs[1].msg.IsEdns0(); o == nil || !o.Do() || o.UDPSize() != 4096 {
		t.Errorf("DO query must carry OPT with DO and size 4096: %v", o)
	}
}

func TestDirect(t *testing.T) {
	pool := newTestServer(t, nxdomain)
	auth := newTestServer(t, func(q *request) {
		m := q.answer(dns.RcodeSuccess, "www.example.com. 60 IN A 192.0.2.9")
		m.Authoritative = true
		q.reply(m)
	})
	lame := newTestServer(t, func(q *request) { q.reply(q.answer(dns.RcodeRefused)) })
	r := newTestResolver(t, []*testServer{pool}, nil)
	for _, rd := range []bool{false, true} {
		resp, err := r.Direct(context.Background(), auth.addr, Query{Name: "www.example.com", Type: dns.TypeA, RD: rd})
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Msg.Authoritative || resp.Server != auth.addr {
			t.Errorf("resp %v from %v", resp.Msg, resp.Server)
		}
		reqs := auth.requests()
		if got := reqs[len(reqs)-1].msg.RecursionDesired; got != rd {
			t.Errorf("RD = %v, want %v", got, rd)
		}
	}
	if pool.queries.Load() != 0 {
		t.Error("Direct used the pool")
	}
	// REFUSED from an authoritative server is an answer: returned at once.
	resp, err := r.Direct(context.Background(), lame.addr, Query{Name: "www.example.com", Type: dns.TypeA})
	if err != nil || resp.Msg.Rcode != dns.RcodeRefused {
		t.Fatalf("%v %v", resp, err)
	}
	if lame.queries.Load() != 1 {
		t.Errorf("lame server saw %d queries, want 1", lame.queries.Load())
	}
	if len(r.Servers()) != 1 {
		t.Errorf("Direct servers leaked into Servers(): %v", r.Servers())
	}
}

func TestRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rate, srvR float64
	}{
		{"global", 400, 0},
		{"per server", 0, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestServer(t, nxdomain)
			b := newTestServer(t, nxdomain)
			r := newTestResolver(t, []*testServer{a, b}, func(o *Options) { o.Rate = tc.rate; o.ServerRate = tc.srvR })
			const n = 120
			start := time.Now()
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					if _, err := r.Exchange(context.Background(), Query{Name: fmt.Sprintf("r%d.example.com", i), Type: dns.TypeA}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start).Seconds()
			// A token bucket can never let more than burst + rate×elapsed
			// queries through; count what the servers received.
			check := func(what string, got int64, limit float64) {
				allowed := float64(burst(limit)) + limit*elapsed
				if float64(got) > allowed {
					t.Errorf("%s: %d queries in %.3fs exceeds %.0f/s (max %.1f)", what, got, elapsed, limit, allowed)
				}
			}
			if tc.rate > 0 {
				check("global", a.queries.Load()+b.queries.Load(), tc.rate)
			}
			if tc.srvR > 0 {
				check("server a", a.queries.Load(), tc.srvR)
				check("server b", b.queries.Load(), tc.srvR)
			}
			if got := a.queries.Load() + b.queries.Load(); got != n {
				t.Errorf("servers saw %d queries, want %d", got, n)
			}
		})
	}
}

func TestConcurrencyBound(t *testing.T) {
	const limit = 5
	var inflight, peak atomic.Int64
	srv := newTestServer(t, func(q *request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
		inflight.Add(-1)
		nxdomain(q)
	})
	r := newTestResolver(t, []*testServer{srv}, func(o *Options) { o.Concurrency = limit; o.Timeout = 5 * time.Second })
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			if _, err := r.Exchange(context.Background(), Query{Name: fmt.Sprintf("c%d.example.com", i), Type: dns.TypeA}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit || p < 2 {
		t.Errorf("peak in flight at the server = %d, want 2..%d", p, limit)
	}
}

// pendingCount counts queries registered in the ID tables of a server.
func pendingCount(r *Resolver, a netip.AddrPort) int {
	r.mu.Lock()
	s := r.servers[a]
	r.mu.Unlock()
	n := 0
	for _, sock := range s.socks {
		for i := range sock.table.chunks {
			c := sock.table.chunks[i].Load()
			if c == nil {
				continue
			}
			for j := range c {
				if c[j].Load() != nil {
					n++
				}
			}
		}
	}
	return n
}

func TestContextCancellation(t *testing.T) {
	got := make(chan struct{}, 10)
	srv := newTestServer(t, func(q *request) { got <- struct{}{} })
	r := newTestResolver(t, []*testServer{srv}, func(o *Options) { o.Concurrency = 1; o.Timeout = time.Hour })

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.Exchange(ctx, Query{Name: "www.example.com", Type: dns.TypeA})
		errc <- err
	}()
	<-got // the query is in flight
	if n := pendingCount(r, srv.addr); n != 1 {
		t.Errorf("%d IDs registered while in flight, want 1", n)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if n := pendingCount(r, srv.addr); n != 0 {
		t.Errorf("%d IDs still registered after cancel", n)
	}
	// The only slot was freed: the next query gets through.
	srv.setHandler(nxdomain)
	if _, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA}); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
	// A cancelled context never sends. The server reads datagrams in
	// order, so once a later query is answered it has seen any earlier one.
	before := srv.queries.Load()
	for _, tcp := range []bool{false, true} {
		if _, err := r.Exchange(ctx, Query{Name: "www.example.com", Type: dns.TypeA, TCP: tcp}); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled ctx: %v", err)
		}
		if _, err := r.Direct(ctx, srv.addr, Query{Name: "www.example.com", Type: dns.TypeA, TCP: tcp}); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled ctx, Direct: %v", err)
		}
	}
	if _, err := r.Exchange(context.Background(), Query{Name: "sync.example.com", Type: dns.TypeA}); err != nil {
		t.Fatal(err)
	}
	if n := srv.queries.Load() - before; n != 1 {
		t.Errorf("server saw %d queries, want only the last one: sent on a cancelled context", n)
	}
	// Deadline.
	srv.setHandler(silent)
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	if _, err := r.Exchange(dctx, Query{Name: "www.example.com", Type: dns.TypeA, TCP: true}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("TCP with deadline: %v", err)
	}
}

func TestCloseWithQueriesInFlight(t *testing.T) {
	before := runtime.NumGoroutine()
	got := make(chan struct{}, 100)
	srv := newTestServer(t, func(q *request) { got <- struct{}{} })
	o := Options{Servers: []netip.AddrPort{srv.addr}, Timeout: time.Hour, Rate: 1000}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	errc := make(chan error, n+1)
	for i := range n {
		go func() {
			_, err := r.Exchange(context.Background(), Query{Name: fmt.Sprintf("q%d.example.com", i), Type: dns.TypeA})
			errc <- err
		}()
	}
	go func() {
		_, err := r.Exchange(context.Background(), Query{Name: "tcp.example.com", Type: dns.TypeA, TCP: true})
		errc <- err
	}()
	for range n + 1 {
		<-got
	}
	xfr := r.Transfer(context.Background(), srv.addr, "example.com", dns.TypeAXFR, 0)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for range n + 1 {
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Errorf("in-flight query returned %v, want ErrClosed", err)
		}
	}
	var last error
	for env := range xfr {
		last = env.Err
	}
	if last == nil {
		t.Error("transfer ended without error on Close")
	}
	if _, err := r.Exchange(context.Background(), Query{Name: "x.example.com", Type: dns.TypeA}); !errors.Is(err, ErrClosed) {
		t.Errorf("Exchange after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	srv.close()
	waitFor(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

func TestHealthDropsDuringRun(t *testing.T) {
	t.Run("silent", func(t *testing.T) {
		dead := newTestServer(t, silent)
		good := newTestServer(t, nxdomain)
		r := newTestResolver(t, []*testServer{dead, good}, func(o *Options) {
			o.Timeout = 150 * time.Millisecond
			o.MaxTimeouts = 3
			o.Retries = 5
		})
		for i := 0; r.Servers()[0].Healthy; i++ {
			if i > 100 {
				t.Fatal("silent server never dropped")
			}
			if _, err := r.Exchange(context.Background(), Query{Name: fmt.Sprintf("h%d.example.com", i), Type: dns.TypeA}); err != nil {
				t.Fatalf("query %d failed although a good server exists: %v", i, err)
			}
		}
		ss := r.Servers()
		if !strings.HasPrefix(ss[0].Reason, "timeouts") || !ss[1].Healthy {
			t.Errorf("servers %+v", ss)
		}
		before := dead.queries.Load()
		for i := range 10 {
			if _, err := r.Exchange(context.Background(), Query{Name: fmt.Sprintf("after%d.example.com", i), Type: dns.TypeA}); err != nil {
				t.Fatal(err)
			}
		}
		if dead.queries.Load() != before {
			t.Error("dropped server still used")
		}
	})
	t.Run("refusing", func(t *testing.T) {
		ref := newTestServer(t, func(q *request) { q.reply(q.answer(dns.RcodeRefused)) })
		good := newTestServer(t, nxdomain)
		r := newTestResolver(t, []*testServer{ref, good}, func(o *Options) { o.MaxRefused = 3 })
		for i := range 20 {
			if _, err := r.Exchange(context.Background(), Query{Name: fmt.Sprintf("h%d.example.com", i), Type: dns.TypeA}); err != nil {
				t.Fatal(err)
			}
		}
		if ss := r.Servers(); ss[0].Healthy || !strings.HasPrefix(ss[0].Reason, "refused") || ss[0].Refused != 3 {
			t.Errorf("servers %+v", ss)
		}
	})
	t.Run("last server kept", func(t *testing.T) {
		ref := newTestServer(t, func(q *request) { q.reply(q.answer(dns.RcodeRefused)) })
		r := newTestResolver(t, []*testServer{ref}, func(o *Options) { o.MaxRefused = 1; o.Retries = -1 })
		for range 5 {
			resp, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA})
			if err != nil || resp.Msg.Rcode != dns.RcodeRefused {
				t.Fatal(resp, err)
			}
		}
		if !r.Servers()[0].Healthy {
			t.Error("last server dropped for a transient reason")
		}
	})
	t.Run("all dropped", func(t *testing.T) {
		srv := newTestServer(t, nxdomain)
		r := newTestResolver(t, []*testServer{srv}, nil)
		if !r.Drop(srv.addr, "lies: test") {
			t.Fatal("Drop returned false")
		}
		if _, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA}); !errors.Is(err, ErrNoServers) {
			t.Errorf("error %v, want ErrNoServers", err)
		}
		if r.Drop(srv.addr, "again") {
			t.Error("second Drop reported true")
		}
	})
}

func TestNoServers(t *testing.T) {
	r := newTestResolver(t, nil, nil)
	if _, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA}); !errors.Is(err, ErrNoServers) {
		t.Errorf("Exchange on empty pool: %v", err)
	}
	if err := r.Probe(context.Background(), nil); !errors.Is(err, ErrNoServers) {
		t.Errorf("Probe on empty pool: %v", err)
	}
}

func TestNSID(t *testing.T) {
	tests := []struct {
		name string
		nsid []byte
		want string
	}{
		{"printable", []byte("ns1.example.net"), "ns1.example.net"},
		{"binary", []byte{0, 1, 0xfe}, "0001fe"},
		{"empty option", []byte{}, ""},
		{"none", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetEdns0(1232, false)
			if tc.nsid != nil {
				o := m.IsEdns0()
				o.Option = append(o.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: hex.EncodeToString(tc.nsid)})
			}
			if got := NSID(m); got != tc.want {
				t.Errorf("NSID = %q, want %q", got, tc.want)
			}
		})
	}
	if NSID(nil) != "" || NSID(new(dns.Msg)) != "" {
		t.Error("NSID of nil or OPT-less message not empty")
	}
}

// TestPackMatchesMiekg checks the hand-written packer against dns.Msg.Pack.
func TestPackMatchesMiekg(t *testing.T) {
	tests := []struct {
		name string
		q    Query
		o    wireOpts
	}{
		{"plain", Query{Name: "www.example.com", Type: dns.TypeA}, wireOpts{rd: true}},
		{"root", Query{Name: ".", Type: dns.TypeNS}, wireOpts{rd: true, edns: true, udpSize: 1232}},
		{"DO NSID CD", Query{Name: "Example.NET.", Type: dns.TypeDNSKEY}, wireOpts{cd: true, edns: true, do: true, nsid: true, udpSize: 4096}},
		{"chaos", Query{Name: "id.server", Type: dns.TypeTXT, Class: dns.ClassCHAOS}, wireOpts{}},
		{"underscore", Query{Name: "_ldap._tcp.example.com", Type: dns.TypeSRV}, wireOpts{rd: true, edns: true, udpSize: 1232}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			class := tc.q.Class
			if class == 0 {
				class = dns.ClassINET
			}
			q, err := newQuestion(tc.q.Name, tc.q.Type, class)
			if err != nil {
				t.Fatal(err)
			}
			got := appendQuery(nil, 0x1234, &q, tc.o)
			m := new(dns.Msg)
			m.Id = 0x1234
			m.RecursionDesired = tc.o.rd
			m.CheckingDisabled = tc.o.cd
			m.Question = []dns.Question{{Name: dns.Fqdn(tc.q.Name), Qtype: tc.q.Type, Qclass: class}}
			if tc.o.edns {
				m.SetEdns0(tc.o.udpSize, tc.o.do)
				if tc.o.nsid {
					o := m.IsEdns0()
					o.Option = append(o.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
				}
			}
			want, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("packed\n%x\nwant\n%x", got, want)
			}
		})
	}
}

func TestCheckQuestionFolding(t *testing.T) {
	q, _ := newQuestion("www.example.com", dns.TypeA, dns.ClassINET)
	tests := []struct {
		name string
		resp string
		ok   bool
	}{
		{"same", "www.example.com.", true},
		{"upper", "WWW.EXAMPLE.COM.", true},
		{"other name", "www.example.net.", false},
		{"prefix", "ww.example.com.", false},
		{"longer", "wwww.example.com.", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(tc.resp, dns.TypeA)
			m.Response = true
			b, _ := m.Pack()
			if got := checkQuestion(b, q.wire) == dropNone; got != tc.ok {
				t.Errorf("checkQuestion(%q) ok = %v, want %v", tc.resp, got, tc.ok)
			}
		})
	}
	// Non-letters differing by 0x20 must not fold.
	a, _ := newQuestion("a-b.example.com", dns.TypeA, dns.ClassINET)
	m := new(dns.Msg)
	m.SetQuestion("a\\013b.example.com.", dns.TypeA) // '\r' is '-' ^ 0x20
	m.Response = true
	b, _ := m.Pack()
	if checkQuestion(b, a.wire) == dropNone {
		t.Error("'-' folded onto '\\r'")
	}
}

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		base time.Duration
		k    int
		want time.Duration // before jitter
	}{
		{50 * time.Millisecond, 1, 50 * time.Millisecond},
		{50 * time.Millisecond, 2, 100 * time.Millisecond},
		{50 * time.Millisecond, 4, 400 * time.Millisecond},
		{50 * time.Millisecond, 40, maxBackoff},
		{time.Hour, 5, time.Hour},
		{time.Nanosecond, 1, time.Nanosecond},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v-%d", tc.base, tc.k), func(t *testing.T) {
			lo, hi := tc.want/2, tc.want/2+tc.want
			seen := map[time.Duration]bool{}
			for range 200 {
				d := backoffDelay(tc.base, tc.k)
				if d < lo || d >= max(hi, lo+1) {
					t.Fatalf("delay %v outside [%v, %v)", d, lo, hi)
				}
				seen[d] = true
			}
			if tc.want > time.Microsecond && len(seen) < 2 {
				t.Error("no jitter")
			}
		})
	}
}

// TestRandomIDs: IDs are neither sequential nor repeated across a run of
// queries (65,536 possible values; 200 draws repeat with probability ~26%,
// so only a long sequential or constant run fails).
func TestRandomIDs(t *testing.T) {
	srv := newTestServer(t, nxdomain)
	r := newTestResolver(t, []*testServer{srv}, nil)
	for i := range 200 {
		if _, err := r.Exchange(context.Background(), Query{Name: fmt.Sprintf("id%d.example.com", i), Type: dns.TypeA}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.requests()
	seen := map[uint16]int{}
	ascending := 0
	for i, q := range reqs {
		seen[q.msg.Id]++
		if i > 0 && q.msg.Id == reqs[i-1].msg.Id+1 {
			ascending++
		}
	}
	if len(seen) < 190 || ascending > 5 {
		t.Errorf("%d distinct IDs in %d queries, %d sequential steps: not random", len(seen), len(reqs), ascending)
	}
}
