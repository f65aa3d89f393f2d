package resolver

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/miekg/dns"
)

// pending is one UDP query in flight. It is registered in its socket's ID
// table; whoever removes it from the table (the reader with a valid
// response, or the waiter on timeout/cancel) owns it, so a response is
// delivered at most once and never to the wrong query. Entries are not
// pooled: a reader may still hold a pointer to an entry it lost the race
// for, and reuse would let it read a recycled question (their channels
// are pooled, see replyChanPool).
type pending struct {
	q    []byte         // question in wire form (name, type, class)
	from netip.AddrPort // the server asked: the only valid source
	ch   chan reply
}

// reply is what the reader hands to the waiting caller.
type reply struct {
	msg *dns.Msg // nil when tc
	tc  bool
}

// idTable maps a 16-bit ID to the query waiting for it: an array of
// atomic pointers indexed by ID, so lookups and registrations are
// lock-free and cost one or two cache misses, whatever the number in
// flight. It is allocated lazily in 256 chunks of 256 IDs: a socket that
// sends a few queries (most Direct use) costs a few KiB, a busy one
// 512 KiB.
type idTable struct {
	chunks [256]atomic.Pointer[[256]atomic.Pointer[pending]]
}

func (t *idTable) slot(id uint16, create bool) *atomic.Pointer[pending] {
	c := t.chunks[id>>8].Load()
	if c == nil {
		if !create {
			return nil
		}
		n := new([256]atomic.Pointer[pending])
		if !t.chunks[id>>8].CompareAndSwap(nil, n) {
			n = t.chunks[id>>8].Load()
		}
		c = n
	}
	return &c[id&0xff]
}

// register stores p under a random free ID. IDs come from math/rand/v2's
// per-thread ChaCha8 generator (seeded from the OS), so they are not
// predictable from earlier ones. With at most Concurrency queries in
// flight per socket the table is sparse and the first draw nearly always
// succeeds.
func (t *idTable) register(p *pending) (uint16, bool) {
	for range 64 {
		id := uint16(rand.Uint32())
		if t.slot(id, true).CompareAndSwap(nil, p) {
			return id, true
		}
	}
	return 0, false
}

// release removes p from the table if it is still there. It reports
// whether the caller won (false: the reader already claimed p and a reply
// is on p.ch or about to be).
func (t *idTable) release(id uint16, p *pending) bool {
	return t.slot(id, true).CompareAndSwap(p, nil)
}

// udpSocket is one unconnected UDP socket with its reader goroutine and
// ID table. A pool server has SocketsPerServer sockets of its own (peer
// set); servers used only by Direct share one socket per address family
// (peer unset), so recon can talk to hundreds of nameservers without
// hundreds of descriptors.
//
// Sockets are not connect(2)ed, so that datagrams from a wrong address or
// port reach us and are counted (a connected socket has the kernel discard
// them silently); handle does the same filtering. Connected sockets
// measured 5-8% less CPU per query in BenchmarkExchange, not enough to
// give up that visibility.
//
// Reads are one recvfrom per datagram. recvmmsg through
// golang.org/x/net/ipv4 ReadBatch made no measurable difference
// (14.4 vs 14.3 CPU µs per query, +2 allocs/op): on this machine a bare
// syscall costs ~115 ns while a loopback sendto+recvfrom pair costs
// ~4.2 µs, so per-packet kernel work dominates and batching the syscalls
// (sendmmsg included) could save only a few percent.
type udpSocket struct {
	r     *Resolver
	peer  netip.AddrPort // dedicated socket: the only server it talks to
	conn  *net.UDPConn
	table idTable
}

func newUDPSocket(r *Resolver, v6 bool, peer netip.AddrPort) (*udpSocket, error) {
	network, laddr := "udp4", &net.UDPAddr{IP: net.IPv4zero}
	if v6 {
		network, laddr = "udp6", &net.UDPAddr{IP: net.IPv6unspecified}
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	// A burst of responses must not overflow the receive queue: at 60,000
	// responses/s the default 208 KiB lasts a few ms of reader stall. The
	// kernel caps this at net.core.rmem_max; errors are harmless.
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(1 << 20)
	return &udpSocket{r: r, peer: peer, conn: conn}, nil
}

// sameAddr compares a received source with a normalised server address.
func sameAddr(from, want netip.AddrPort) bool {
	return from.Port() == want.Port() && from.Addr().Unmap() == want.Addr()
}

// readLoop reads datagrams until the socket is closed.
func (s *udpSocket) readLoop() {
	defer s.r.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.handle(buf[:n], from)
	}
}

// handle validates one datagram and hands it to the query waiting for it.
// b is only borrowed: dns.Msg.Unpack copies what it keeps.
func (s *udpSocket) handle(b []byte, from netip.AddrPort) {
	if s.peer.IsValid() && !sameAddr(from, s.peer) {
		s.r.drop(dropSource)
		return
	}
	if d := checkHeader(b); d != dropNone {
		s.r.drop(d)
		return
	}
	id := binary.BigEndian.Uint16(b)
	slot := s.table.slot(id, false)
	if slot == nil {
		s.r.drop(dropID)
		return
	}
	p := slot.Load()
	if p == nil {
		s.r.drop(dropID)
		return
	}
	if !sameAddr(from, p.from) {
		s.r.drop(dropSource)
		return
	}
	if d := checkQuestion(b, p.q); d != dropNone {
		s.r.drop(d)
		return
	}
	var rep reply
	if truncated(b) {
		rep.tc = true
	} else {
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			s.r.drop(dropMalformed)
			return
		}
		rep.msg = m
	}
	if !slot.CompareAndSwap(p, nil) {
		// The waiter gave up between Load and here.
		s.r.drop(dropID)
		return
	}
	p.ch <- rep // cap 1 and we are the only sender
}
