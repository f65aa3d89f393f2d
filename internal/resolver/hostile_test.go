package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
)

// The hostile-server suite of the query engine: servers that lie, loop,
// stall, flood or break the stream. Every case has a time bound (a context
// deadline far above what a correct engine needs: it catches hangs, it
// does not measure speed) and, where a peer can inflate memory, a bound on
// the heap.

// hangGuard is the deadline of every hostile case.
const hangGuard = 30 * time.Second

// pointerLoop is a response to q whose answer owner is a compression
// pointer to itself.
func pointerLoop(q *request) []byte {
	b := make([]byte, 12, 512)
	copy(b, q.raw[:2])
	binary.BigEndian.PutUint16(b[2:], 0x8180) // QR RD RA
	binary.BigEndian.PutUint16(b[4:], 1)
	binary.BigEndian.PutUint16(b[6:], 1)
	qlen := len(q.raw) - 12
	if q.msg != nil && q.msg.IsEdns0() != nil {
		qlen -= 11 // the OPT record is not echoed
	}
	b = append(b, q.raw[12:12+qlen]...)
	off := len(b)
	b = append(b, 0xC0|byte(off>>8), byte(off)) // owner: pointer to itself
	b = append(b, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1)
	return b
}

// truncateUDP answers a UDP query with TC=1 (so the client asks over TCP)
// and reports whether it did.
func truncateUDP(q *request) bool {
	if q.tcp {
		return false
	}
	m := q.answer(dns.RcodeSuccess)
	m.Truncated = true
	_ = q.reply(m)
	return true
}

// stall holds the connection 20 s, or until the server stops.
func stall(q *request) {
	select {
	case <-time.After(20 * time.Second):
	case <-q.srv.done:
	}
}

func TestHostileExchange(t *testing.T) {
	bigTXT := func(q *request) *dns.Msg {
		m := q.answer(dns.RcodeSuccess)
		for i := range 240 {
			txt := &dns.TXT{Hdr: dns.RR_Header{Name: q.msg.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: []string{fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 240))}}
			m.Answer = append(m.Answer, txt)
		}
		return m
	}
	tests := []struct {
		name    string
		h       handler
		opts    func(*Options)
		ctx     time.Duration // a caller deadline; 0: none
		want    error         // nil: an answer
		dropped string        // a drop counter that must have moved
		check   func(t *testing.T, r *Response)
	}{
		{name: "compression pointer loop", h: func(q *request) {
			if !q.tcp && q.msg != nil {
				_ = q.write(pointerLoop(q))
			}
		}, want: ErrTimeout, dropped: "malformed"},
		{name: "wrong IDs only", h: func(q *request) {
			m := q.answer(dns.RcodeSuccess, "www.example.com. 60 IN A 192.0.2.66")
			for i := range 20 {
				m.Id = q.msg.Id + uint16(i) + 1
				_ = q.reply(m)
			}
		}, want: ErrTimeout, dropped: "id"},
		{name: "wrong ID then the right one", h: func(q *request) {
			bad := q.answer(dns.RcodeSuccess, "www.example.com. 60 IN A 192.0.2.66")
			bad.Id++
			_ = q.reply(bad)
			_ = q.reply(q.answer(dns.RcodeSuccess, "www.example.com. 60 IN A 192.0.2.1"))
		}, dropped: "id", check: func(t *testing.T, r *Response) {
			if a, ok := r.Msg.Answer[0].(*dns.A); !ok || a.A.String() != "192.0.2.1" {
				t.Errorf("answer %v: the forged reply was taken", r.Msg.Answer)
			}
		}},
		{name: "20 s stall", h: func(q *request) {
			stall(q)
		}, want: ErrTimeout},
		{name: "20 s stall, caller deadline", h: func(q *request) {
			stall(q)
		}, opts: func(o *Options) { o.Timeout = time.Minute }, ctx: 300 * time.Millisecond, want: context.DeadlineExceeded},
		{name: "60 KB TCP answer", h: func(q *request) {
			if truncateUDP(q) {
				return
			}
			_ = q.reply(bigTXT(q))
		}, check: func(t *testing.T, r *Response) {
			if !r.TCP || len(r.Msg.Answer) != 240 {
				t.Errorf("TCP %v, %d records, want the 240 TXT records over TCP", r.TCP, len(r.Msg.Answer))
			}
		}},
		{name: "TCP closed mid-message", h: func(q *request) {
			if truncateUDP(q) {
				return
			}
			_, _ = q.conn.Write([]byte{0xea, 0x60, 0, 1, 2, 3})
			q.conn.Close()
		}, want: ErrMalformed},
		{name: "TCP stall mid-message", h: func(q *request) {
			if truncateUDP(q) {
				return
			}
			_, _ = q.conn.Write([]byte{0xea, 0x60, 0, 1, 2, 3})
			stall(q)
		}, want: ErrTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, tc.h)
			r := newTestResolver(t, []*testServer{srv}, func(o *Options) {
				// A case that waits for the timeout gets a short one; a
				// case that expects an answer or another error gets one
				// a loaded machine cannot miss.
				o.Timeout, o.Retries, o.Backoff = 5*time.Second, -1, -1
				if errors.Is(tc.want, ErrTimeout) {
					o.Timeout = 200 * time.Millisecond
				}
				if tc.opts != nil {
					tc.opts(o)
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			if tc.ctx > 0 {
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			var (
				resp *Response
				err  error
			)
			peak := dnstest.HeapPeak(func() {
				resp, err = r.Exchange(ctx, Query{Name: "www.example.com", Type: dns.TypeA})
			})
			if errors.Is(err, context.DeadlineExceeded) && tc.want != context.DeadlineExceeded {
				t.Fatalf("hang guard hit: %v", err)
			}
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("error %v, want %v", err, tc.want)
				}
			} else if err != nil {
				t.Fatalf("error %v", err)
			}
			if tc.check != nil {
				tc.check(t, resp)
			}
			if tc.dropped != "" && r.Stats().DroppedBy[tc.dropped] == 0 {
				t.Errorf("drops %v, want some %q", r.Stats().DroppedBy, tc.dropped)
			}
			if peak > 64<<20 {
				t.Errorf("heap grew by %d MiB answering one query", peak>>20)
			}
		})
	}
}

// TestHostileTransfer: a server streaming AXFR records forever ends at the
// record cap with everything streamed, the memory of the transfer staying
// flat (the records are handed on, not collected).
func TestHostileTransfer(t *testing.T) {
	const limit = 200_000
	srv := newTestServer(t, func(q *request) {
		if !q.tcp {
			return
		}
		sendXFR(q, []dns.RR{soa(1)}, 1)
		for i := 0; ; i += 100 {
			m := new(dns.Msg)
			m.SetReply(q.msg)
			m.Question = nil
			for j := range 100 {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: fmt.Sprintf("x%d.example.com.", i+j), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A: []byte{192, 0, 2, byte(j)}})
			}
			if q.reply(m) != nil {
				return
			}
		}
	})
	r := newTestResolver(t, nil, func(o *Options) { o.MaxTransferRecords = limit })
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var n int
	var err error
	peak := dnstest.HeapPeak(func() {
		for env := range r.Transfer(ctx, srv.addr, "example.com", dns.TypeAXFR, 0) {
			n += len(env.RR)
			if env.Err != nil {
				err = env.Err
			}
		}
	})
	if !errors.Is(err, ErrTransferTooLarge) {
		t.Fatalf("error %v, want ErrTransferTooLarge", err)
	}
	if n != limit {
		t.Errorf("%d records streamed, want the %d below the cap", n, limit)
	}
	if peak > 64<<20 {
		t.Errorf("heap grew by %d MiB streaming a transfer", peak>>20)
	}
}
