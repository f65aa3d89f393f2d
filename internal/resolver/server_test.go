package resolver

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Test servers listen on 127.53.200.0/24 .. 127.53.209.255 (this package's
// range), one address per server, on a random port shared by UDP and TCP.

var nextTestIP atomic.Uint32

func testIP() netip.Addr {
	n := nextTestIP.Add(1) % (9 * 256) // 127.53.209.x is left for fixed services
	return netip.AddrFrom4([4]byte{127, 53, byte(200 + n/256), byte(n % 256)})
}

// request is one query received by a testServer.
type request struct {
	msg  *dns.Msg // nil when the bytes do not unpack
	raw  []byte
	tcp  bool
	from netip.AddrPort
	srv  *testServer
	conn net.Conn // TCP only
}

// write sends raw bytes back (length-prefixed over TCP).
func (q *request) write(b []byte) error {
	if q.tcp {
		out := binary.BigEndian.AppendUint16(nil, uint16(len(b)))
		_, err := q.conn.Write(append(out, b...))
		return err
	}
	_, err := q.srv.udp.WriteToUDPAddrPort(b, q.from)
	return err
}

// reply packs and sends m.
func (q *request) reply(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	return q.write(b)
}

// answer builds a response to the request with rcode and the given RRs
// (presentation form) in the answer section.
func (q *request) answer(rcode int, rrs ...string) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(q.msg, rcode)
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	return m
}

type handler func(q *request)

// testServer is a UDP+TCP DNS server on its own loopback address whose
// behaviour is a function, so tests can misbehave in any way.
type testServer struct {
	t       testing.TB
	addr    netip.AddrPort
	udp     *net.UDPConn
	tcp     *net.TCPListener
	handler atomic.Pointer[handler]
	queries atomic.Int64 // UDP + TCP queries received
	tcpQ    atomic.Int64
	wg      sync.WaitGroup
	done    chan struct{} // closed when the server shuts down

	mu   sync.Mutex
	seen []*request
}

func newTestServer(t testing.TB, h handler) *testServer {
	t.Helper()
	ip := testIP()
	var (
		udp *net.UDPConn
		tcp *net.TCPListener
		err error
	)
	for range 20 {
		udp, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			t.Fatalf("listen udp %s: %v", ip, err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		tcp, err = net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, port)))
		if err == nil {
			break
		}
		udp.Close()
	}
	if err != nil {
		t.Fatalf("listen tcp on %s: %v", ip, err)
	}
	s := &testServer{t: t, udp: udp, tcp: tcp, addr: udp.LocalAddr().(*net.UDPAddr).AddrPort(), done: make(chan struct{})}
	s.setHandler(h)
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) setHandler(h handler) { s.handler.Store(&h) }

func (s *testServer) close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.udp.Close()
	s.tcp.Close()
	s.wg.Wait()
}

func (s *testServer) record(q *request) {
	s.queries.Add(1)
	s.mu.Lock()
	s.seen = append(s.seen, q)
	s.mu.Unlock()
}

// requests returns the queries received so far.
func (s *testServer) requests() []*request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*request(nil), s.seen...)
}

func (s *testServer) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		q := &request{raw: append([]byte(nil), buf[:n]...), from: from, srv: s}
		m := new(dns.Msg)
		if m.Unpack(q.raw) == nil {
			q.msg = m
		}
		s.record(q)
		h := *s.handler.Load()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			h(q)
		}()
	}
}

func (s *testServer) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			stop := make(chan struct{})
			defer close(stop)
			go func() { // unblock reads when the server closes
				select {
				case <-stop:
				case <-s.done:
					c.Close()
				}
			}()
			for {
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				raw := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, raw); err != nil {
					return
				}
				q := &request{raw: raw, tcp: true, srv: s, conn: c}
				q.from = c.RemoteAddr().(*net.TCPAddr).AddrPort()
				m := new(dns.Msg)
				if m.Unpack(raw) == nil {
					q.msg = m
				}
				s.tcpQ.Add(1)
				s.record(q)
				(*s.handler.Load())(q)
			}
		}()
	}
}

// Canned handlers.

// nxdomain answers every query NXDOMAIN with no records.
func nxdomain(q *request) {
	if q.msg != nil {
		q.reply(q.answer(dns.RcodeNameError))
	}
}

// fixedA answers every A query with the given address.
func fixedA(ip string) handler {
	return func(q *request) {
		if q.msg == nil {
			return
		}
		name := q.msg.Question[0].Name
		if q.msg.Question[0].Qtype != dns.TypeA {
			q.reply(q.answer(dns.RcodeSuccess))
			return
		}
		q.reply(q.answer(dns.RcodeSuccess, fmt.Sprintf("%s 60 IN A %s", name, ip)))
	}
}

func silent(*request) {}

// newTestResolver builds a resolver over the given servers; tweak adjusts
// the options. The timeout is generous so that a loaded machine (these
// tests run with -race beside other jobs) causes no spurious retries in
// tests that count queries; tests about timeouts set their own.
func newTestResolver(t testing.TB, servers []*testServer, tweak func(*Options)) *Resolver {
	t.Helper()
	o := Options{Timeout: 3 * time.Second, Backoff: 5 * time.Millisecond, Retries: 2, SocketsPerServer: 2}
	for _, s := range servers {
		o.Servers = append(o.Servers, s.addr)
	}
	if tweak != nil {
		tweak(&o)
	}
	r, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
