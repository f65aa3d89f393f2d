package resolver

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// server is one destination: a pool resolver or a server used by Direct.
type server struct {
	addr    netip.AddrPort
	pool    bool
	socks   []*udpSocket
	next    atomic.Uint32
	limiter *limiter // nil: unlimited

	queries, responses, timeouts, servfail, refused atomic.Uint64

	// Health (pool servers, Exchange only).
	consecTimeouts atomic.Int64
	consecRefused  atomic.Int64
	lastResponse   atomic.Int64 // ns since r.epoch of the last response (or creation)
	healthy        atomic.Bool
	mu             sync.Mutex
	reason         string
}

// server returns the server for a, creating it (sockets and reader
// goroutines) on first use.
func (r *Resolver) server(a netip.AddrPort, pool bool) (*server, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if s := r.servers[a]; s != nil {
		return s, nil
	}
	s := &server{addr: a, pool: pool}
	s.healthy.Store(true)
	s.lastResponse.Store(int64(time.Since(r.epoch)))
	if r.opts.ServerRate > 0 {
		s.limiter = newLimiter(r.opts.ServerRate)
	}
	if pool {
		for range r.opts.SocketsPerServer {
			sock, err := r.newSocket(a.Addr().Is6(), a)
			if err != nil {
				return nil, err
			}
			s.socks = append(s.socks, sock)
		}
	} else {
		sock, err := r.directSocket(a.Addr().Is6())
		if err != nil {
			return nil, err
		}
		s.socks = []*udpSocket{sock}
	}
	r.servers[a] = s
	return s, nil
}

// newSocket opens a socket and starts its reader. r.mu is held.
func (r *Resolver) newSocket(v6 bool, peer netip.AddrPort) (*udpSocket, error) {
	sock, err := newUDPSocket(r, v6, peer)
	if err != nil {
		return nil, err
	}
	r.socks = append(r.socks, sock)
	r.wg.Add(1)
	go sock.readLoop()
	return sock, nil
}

// directSocket returns the socket shared by Direct-only servers of one
// address family, opening it on first use. r.mu is held.
func (r *Resolver) directSocket(v6 bool) (*udpSocket, error) {
	i := 0
	if v6 {
		i = 1
	}
	if r.direct[i] == nil {
		sock, err := r.newSocket(v6, netip.AddrPort{})
		if err != nil {
			return nil, err
		}
		r.direct[i] = sock
	}
	return r.direct[i], nil
}

// sock picks the next socket round-robin.
func (s *server) sock() *udpSocket {
	if len(s.socks) == 1 {
		return s.socks[0]
	}
	return s.socks[uint(s.next.Add(1))%uint(len(s.socks))]
}

// count tallies an RCODE.
func (s *server) count(rcode int) {
	switch rcode {
	case dns.RcodeServerFailure:
		s.servfail.Add(1)
	case dns.RcodeRefused:
		s.refused.Add(1)
	}
}

// noteTimeout records an Exchange timeout on a pool server and drops it
// when it has been silent for long (a transient reason: never the last).
func (r *Resolver) noteTimeout(s *server) {
	n := s.consecTimeouts.Add(1)
	if n < int64(r.opts.MaxTimeouts) {
		return
	}
	silent := time.Duration(int64(time.Since(r.epoch)) - s.lastResponse.Load())
	if silent >= 3*r.opts.Timeout {
		r.markUnhealthy(s, fmt.Sprintf("timeouts: %d in a row, no response for %v", n, silent.Round(time.Millisecond)), true)
	}
}

// noteResponse records an Exchange response from a pool server.
func (r *Resolver) noteResponse(s *server, rcode int) {
	s.count(rcode)
	s.consecTimeouts.Store(0)
	s.lastResponse.Store(int64(time.Since(r.epoch)))
	if rcode != dns.RcodeRefused {
		if s.consecRefused.Load() != 0 {
			s.consecRefused.Store(0)
		}
		return
	}
	if n := s.consecRefused.Add(1); n >= int64(r.opts.MaxRefused) {
		r.markUnhealthy(s, fmt.Sprintf("refused: %d recursive queries in a row", n), true)
	}
}

// markUnhealthy drops s from the pool. A transient reason (timeouts,
// refusals) never drops the last healthy server; a lie does.
func (r *Resolver) markUnhealthy(s *server, reason string, transient bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !s.healthy.Load() {
		return false
	}
	if transient {
		n := 0
		for _, x := range r.pool {
			if x.healthy.Load() {
				n++
			}
		}
		if n <= 1 {
			return false
		}
	}
	s.healthy.Store(false)
	s.mu.Lock()
	s.reason = reason
	s.mu.Unlock()
	r.publishHealthyLocked()
	r.log.Warn("resolver dropped", "server", s.addr.String(), "reason", reason)
	return true
}

// Drop removes a pool server for a reason found by the caller (for
// example recon seeing it answer names other resolvers call NXDOMAIN). It
// drops even the last server and reports whether server was healthy and
// in the pool.
func (r *Resolver) Drop(server netip.AddrPort, reason string) bool {
	a, err := checkAddr(server)
	if err != nil {
		return false
	}
	r.mu.Lock()
	s := r.servers[a]
	r.mu.Unlock()
	if s == nil || !s.pool {
		return false
	}
	return r.markUnhealthy(s, reason, false)
}

func (r *Resolver) publishHealthy() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishHealthyLocked()
}

func (r *Resolver) publishHealthyLocked() {
	list := make([]*server, 0, len(r.pool))
	for _, s := range r.pool {
		if s.healthy.Load() {
			list = append(list, s)
		}
	}
	r.healthy.Store(&list)
}

// Servers reports the health and counters of every pool server, in the
// order given in Options.Servers.
func (r *Resolver) Servers() []ServerStatus {
	r.mu.Lock()
	pool := append([]*server(nil), r.pool...)
	r.mu.Unlock()
	out := make([]ServerStatus, 0, len(pool))
	for _, s := range pool {
		s.mu.Lock()
		reason := s.reason
		s.mu.Unlock()
		out = append(out, ServerStatus{
			Address:   s.addr,
			Healthy:   s.healthy.Load(),
			Reason:    reason,
			Queries:   s.queries.Load(),
			Responses: s.responses.Load(),
			Timeouts:  s.timeouts.Load(),
			ServFail:  s.servfail.Load(),
			Refused:   s.refused.Load(),
		})
	}
	return out
}
