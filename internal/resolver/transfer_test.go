package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func soa(serial uint32) dns.RR {
	return mustRR(fmt.Sprintf("example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. %d 7200 900 1209600 300", serial))
}

// zone returns n A records under example.com.
func zoneRecords(n int) []dns.RR {
	rrs := make([]dns.RR, n)
	for i := range rrs {
		rrs[i] = mustRR(fmt.Sprintf("h%d.example.com. 300 IN A 192.0.2.%d", i, i%250+1))
	}
	return rrs
}

// sendXFR answers a transfer request with rrs split into messages of per
// records each.
func sendXFR(q *request, rrs []dns.RR, per int) { sendMessages(q, rrs, per, true) }

// sendMessages sends rrs in messages of per records; only the first
// carries the question when question is set (later ones may omit it).
func sendMessages(q *request, rrs []dns.RR, per int, question bool) {
	for i := 0; i < len(rrs); i += per {
		m := new(dns.Msg)
		m.SetReply(q.msg)
		if i > 0 || !question {
			m.Question = nil
		}
		m.Answer = rrs[i:min(i+per, len(rrs))]
		if err := q.reply(m); err != nil {
			return
		}
	}
}

func collect(ch <-chan Envelope) ([]dns.RR, error) {
	var rrs []dns.RR
	var err error
	for env := range ch {
		if env.Err != nil {
			if err != nil {
				return rrs, fmt.Errorf("two error envelopes: %v, %v", err, env.Err)
			}
			err = env.Err
		}
		rrs = append(rrs, env.RR...)
	}
	return rrs, err
}

func TestAXFR(t *testing.T) {
	body := zoneRecords(6000)
	full := append(append([]dns.RR{soa(2026112701)}, body...), soa(2026112701))
	firstSeen := make(chan struct{})
	srv := newTestServer(t, func(q *request) {
		if q.tcp && q.msg != nil && q.msg.Question[0].Qtype == dns.TypeAXFR {
			// Send half, and the rest only once the client has records
			// in hand: proof that they are streamed, not collected.
			sendXFR(q, full[:3000], 97)
			select {
			case <-firstSeen:
			case <-q.srv.done:
				return
			}
			sendMessages(q, full[3000:], 97, false)
		}
	})
	r := newTestResolver(t, nil, nil)
	ch := r.Transfer(context.Background(), srv.addr, "Example.COM.", dns.TypeAXFR, 0)
	var first Envelope
	select {
	case first = <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no envelope while the server holds back the rest: records are not streamed")
	}
	if first.Err != nil || len(first.RR) == 0 {
		t.Fatalf("first envelope %+v", first)
	}
	close(firstSeen)
	rest, err := collect(ch)
	rrs := append(first.RR, rest...)
	if err != nil {
		t.Fatal(err)
	}
	if len(rrs) != len(full) {
		t.Fatalf("got %d records, want %d", len(rrs), len(full))
	}
	for i := range rrs {
		if rrs[i].String() != full[i].String() {
			t.Fatalf("record %d = %v, want %v", i, rrs[i], full[i])
		}
	}
	if st := r.Stats(); st.TCP != 1 || st.Queries != 1 || st.Responses != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestIXFR(t *testing.T) {
	const clientSerial, newSerial = 10, 12
	incremental := []dns.RR{
		soa(newSerial),
		soa(10), mustRR("old.example.com. 300 IN A 192.0.2.1"), soa(11), mustRR("mid.example.com. 300 IN A 192.0.2.2"),
		soa(11), mustRR("mid.example.com. 300 IN A 192.0.2.2"), soa(newSerial), mustRR("new.example.com. 300 IN A 192.0.2.3"),
		soa(newSerial),
	}
	axfrForm := append(append([]dns.RR{soa(newSerial)}, zoneRecords(10)...), soa(newSerial))
	tests := []struct {
		name   string
		serial uint32
		reply  []dns.RR
		per    int
		want   int
	}{
		{"incremental one message", clientSerial, incremental, 100, len(incremental)},
		{"incremental one record per message", clientSerial, incremental, 1, len(incremental)},
		{"up to date", newSerial, []dns.RR{soa(newSerial)}, 1, 1},
		{"client newer", newSerial + 5, []dns.RR{soa(newSerial)}, 1, 1},
		{"AXFR form", clientSerial, axfrForm, 3, len(axfrForm)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var gotSerial uint32
			srv := newTestServer(t, func(q *request) {
				if !q.tcp || q.msg == nil || q.msg.Question[0].Qtype != dns.TypeIXFR || len(q.msg.Ns) != 1 {
					return
				}
				gotSerial = q.msg.Ns[0].(*dns.SOA).Serial
				sendXFR(q, tc.reply, tc.per)
				// Keep the connection open: the client must see the end by
				// itself, not by EOF.
				time.Sleep(50 * time.Millisecond)
			})
			r := newTestResolver(t, nil, func(o *Options) { o.Timeout = 5 * time.Second })
			rrs, err := collect(r.Transfer(context.Background(), srv.addr, "example.com", dns.TypeIXFR, tc.serial))
			if err != nil {
				t.Fatal(err)
			}
			if len(rrs) != tc.want {
				t.Errorf("got %d records, want %d", len(rrs), tc.want)
			}
			if gotSerial != tc.serial {
				t.Errorf("server saw serial %d in the authority SOA, want %d", gotSerial, tc.serial)
			}
		})
	}
}

func TestTransferFailures(t *testing.T) {
	full := append(append([]dns.RR{soa(1)}, zoneRecords(50)...), soa(1))
	rawLen := func(q *request, n uint16, body []byte) {
		q.conn.Write(append(binary.BigEndian.AppendUint16(nil, n), body...))
	}
	tests := []struct {
		name    string
		h       handler
		want    error
		maxRecs int
	}{
		{"refused", func(q *request) { q.reply(q.answer(dns.RcodeRefused)) }, ErrTransferRefused, 0},
		{"notauth", func(q *request) { q.reply(q.answer(dns.RcodeNotAuth)) }, ErrTransferRefused, 0},
		{"closed mid-stream", func(q *request) { sendXFR(q, full[:20], 5) }, ErrTransferIncomplete, 0},
		{"closed mid-message", func(q *request) {
			sendXFR(q, full[:10], 5)
			rawLen(q, 500, []byte{0, 1, 2})
		}, ErrTransferIncomplete, 0},
		{"closed at once", func(q *request) {}, ErrTransferIncomplete, 0},
		{"garbage length prefix", func(q *request) { rawLen(q, 3, []byte{1, 2, 3}) }, ErrMalformed, 0},
		{"garbage body", func(q *request) {
			m := q.answer(dns.RcodeSuccess, "example.com. 60 IN A 192.0.2.1")
			b, _ := m.Pack()
			rawLen(q, uint16(len(b)), append(b[:len(b)-4], 0xff, 0xff, 0xff, 0xff))
		}, ErrMalformed, 0},
		{"wrong ID", func(q *request) {
			m := q.answer(dns.RcodeSuccess, soa(1).String())
			m.Id++
			q.reply(m)
		}, ErrMalformed, 0},
		{"wrong question", func(q *request) {
			m := q.answer(dns.RcodeSuccess, soa(1).String())
			m.Question[0].Name = "example.net."
			q.reply(m)
		}, ErrMalformed, 0},
		{"no SOA first", func(q *request) { sendXFR(q, full[1:], 10) }, ErrMalformed, 0},
		{"stalls", func(q *request) {
			sendXFR(q, full[:10], 5)
			<-q.srv.done
		}, ErrTimeout, 0},
		{"streams forever", func(q *request) {
			sendXFR(q, full[:1], 1)
			for i := 0; ; i++ {
				m := new(dns.Msg)
				m.SetReply(q.msg)
				m.Question = nil
				m.Answer = []dns.RR{mustRR(fmt.Sprintf("x%d.example.com. 60 IN A 192.0.2.1", i))}
				if q.reply(m) != nil {
					return
				}
			}
		}, ErrTransferTooLarge, 1000},
		{"empty messages forever", func(q *request) {
			sendXFR(q, full[:1], 1)
			for {
				m := new(dns.Msg)
				m.SetReply(q.msg)
				if q.reply(m) != nil {
					return
				}
			}
		}, ErrTransferTooLarge, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, func(q *request) {
				if q.tcp && q.msg != nil {
					tc.h(q)
					q.conn.Close()
				}
			})
			r := newTestResolver(t, nil, func(o *Options) {
				o.Timeout = time.Second // only "stalls" waits for it
				o.MaxTransferRecords = tc.maxRecs
			})
			_, err := collect(r.Transfer(context.Background(), srv.addr, "example.com", dns.TypeAXFR, 0))
			if !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTransferOverallTimeout(t *testing.T) {
	// Drips one record every 20 ms: never stalls long enough for Timeout,
	// never ends; TransferTimeout stops it.
	srv := newTestServer(t, func(q *request) {
		if !q.tcp {
			return
		}
		sendXFR(q, []dns.RR{soa(1)}, 1)
		for i := 0; ; i++ {
			select {
			case <-q.srv.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			m := new(dns.Msg)
			m.SetReply(q.msg)
			m.Answer = []dns.RR{mustRR(fmt.Sprintf("x%d.example.com. 60 IN A 192.0.2.1", i))}
			if q.reply(m) != nil {
				return
			}
		}
	})
	r := newTestResolver(t, nil, func(o *Options) {
		o.Timeout = 2 * time.Second
		o.TransferTimeout = 300 * time.Millisecond
	})
	rrs, err := collect(r.Transfer(context.Background(), srv.addr, "example.com", dns.TypeAXFR, 0))
	if !errors.Is(err, ErrTransferTooLarge) {
		t.Errorf("error %v, want ErrTransferTooLarge", err)
	}
	if len(rrs) < 2 {
		t.Errorf("only %d records streamed before the cap", len(rrs))
	}
}

func TestTransferCancel(t *testing.T) {
	srv := newTestServer(t, func(q *request) {
		if q.tcp {
			sendXFR(q, []dns.RR{soa(1)}, 1)
			<-q.srv.done
		}
	})
	r := newTestResolver(t, nil, func(o *Options) { o.Timeout = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	ch := r.Transfer(ctx, srv.addr, "example.com", dns.TypeAXFR, 0)
	env := <-ch
	if env.Err != nil || len(env.RR) != 1 {
		t.Fatalf("first envelope %+v", env)
	}
	cancel()
	_, err := collect(ch)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestTransferConnectionRefused(t *testing.T) {
	srv := newTestServer(t, silent)
	srv.tcp.Close() // nothing listens on the TCP port any more
	r := newTestResolver(t, nil, nil)
	_, err := collect(r.Transfer(context.Background(), srv.addr, "example.com", dns.TypeAXFR, 0))
	if err == nil || errors.Is(err, ErrTransferRefused) || errors.Is(err, ErrTimeout) {
		t.Errorf("error %v, want a connection error", err)
	}
}

func TestTransferBadArgs(t *testing.T) {
	r := newTestResolver(t, nil, nil)
	srv := newTestServer(t, silent)
	for _, tc := range []struct {
		zone  string
		qtype uint16
		want  error
	}{
		{"example.com", dns.TypeA, ErrBadQuery},
		{"", dns.TypeAXFR, ErrBadQuery},
		{"a..example.com", dns.TypeAXFR, ErrBadQuery},
	} {
		if _, err := collect(r.Transfer(context.Background(), srv.addr, tc.zone, tc.qtype, 0)); !errors.Is(err, tc.want) {
			t.Errorf("Transfer(%q, %d) = %v, want %v", tc.zone, tc.qtype, err, tc.want)
		}
	}
}

// TestTCPGarbage: a forced-TCP exchange with servers that misbehave on the
// stream errors out, never hangs.
func TestTCPGarbage(t *testing.T) {
	tests := []struct {
		name string
		h    handler
		want error
	}{
		{"zero length", func(q *request) { q.conn.Write([]byte{0, 0}) }, ErrMalformed},
		{"short length", func(q *request) { q.conn.Write([]byte{0, 5, 1, 2, 3, 4, 5}) }, ErrMalformed},
		{"closed mid-message", func(q *request) { q.conn.Write([]byte{0xff, 0xff, 1, 2, 3}) }, ErrMalformed},
		{"closed before answering", func(q *request) {}, nil},
		{"wrong ID then silence", func(q *request) {
			m := q.answer(dns.RcodeSuccess)
			m.Id++
			q.reply(m)
			<-q.srv.done
		}, ErrTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, func(q *request) {
				if q.tcp {
					tc.h(q)
					q.conn.Close()
				}
			})
			r := newTestResolver(t, []*testServer{srv}, func(o *Options) { o.Timeout = time.Second; o.Retries = -1 })
			_, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA, TCP: true})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDeadlinesKillIsFinal: once a cancellation has killed a connection's
// deadlines, no later deadline brings blocked reads back to life (the race
// that made TestTransferCancel hang when a per-message deadline landed
// just after the cancellation).
func TestDeadlinesKillIsFinal(t *testing.T) {
	for _, tc := range []struct {
		name string
		arm  func(d *deadlines)
	}{
		{"read deadline", func(d *deadlines) { d.setRead(time.Now().Add(time.Hour)) }},
		{"deadline", func(d *deadlines) { d.set(time.Now().Add(time.Hour)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c1, c2 := net.Pipe()
			defer c1.Close()
			defer c2.Close()
			d := &deadlines{conn: c1}
			d.kill()
			tc.arm(d)
			done := make(chan error, 1)
			go func() {
				_, err := c1.Read(make([]byte, 1))
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("read error %v, want a deadline error", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("read still blocked: the cancellation was undone")
			}
		})
	}
}
