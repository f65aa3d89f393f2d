package dnstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server kinds reported by Server.Kind.
const (
	KindInProcess = "in-process"
	KindBIND      = "bind"
	KindNSD       = "nsd"
	KindKnot      = "knot"
	KindUnbound   = "unbound"
)

// Server is a running DNS server: in-process (StartServer) or a real BIND,
// NSD, Knot or Unbound process. It listens on UDP and TCP at Addr.
type Server struct {
	// Addr is where the server listens, UDP and TCP on the same port.
	Addr netip.AddrPort
	// Kind is one of the Kind constants.
	Kind string
	// Dir holds a real server's configuration, zone files and keys; empty
	// for in-process servers.
	Dir string
	// Zones lists the origins the server is authoritative for.
	Zones []string

	queries atomic.Int64

	mu      sync.Mutex
	stopped bool
	stopFn  func() error // stops the current incarnation
	startFn func() error // starts a new incarnation (real servers)
	logFn   func() string
}

// Stop stops the server and waits until it has exited. It is idempotent and
// is also registered with t.Cleanup by every starter.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.stopFn == nil {
		return
	}
	s.stopped = true
	_ = s.stopFn()
}

// Restart stops a real server and starts it again from the same
// configuration (an empty cache for Unbound), waiting until it is ready.
// In-process servers restart their listeners.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped && s.stopFn != nil {
		_ = s.stopFn()
	}
	s.stopped = true
	if s.startFn == nil {
		return fmt.Errorf("%w: %s at %s cannot restart", ErrServerStart, s.Kind, s.Addr)
	}
	if err := s.startFn(); err != nil {
		return err
	}
	s.stopped = false
	return nil
}

// Log returns what a real server wrote to stdout and stderr so far (the
// last MiB); empty for in-process servers.
func (s *Server) Log() string {
	if s.logFn == nil {
		return ""
	}
	return s.logFn()
}

// Queries returns how many messages an in-process server has handled.
func (s *Server) Queries() int64 { return s.queries.Load() }

func (s *Server) String() string { return fmt.Sprintf("%s@%s", s.Kind, s.Addr) }

// life is what the starters need from a testing.TB; StartWorld provides its
// own implementation for use outside tests. All methods are safe to call
// from any goroutine.
type life interface {
	Cleanup(func())
	TempDir() string
	Logf(format string, args ...any)
	Failed() bool
}

var _ life = testing.TB(nil)

// StartServer serves h on UDP and TCP at addr (port 0 picks a free port,
// the same for both) and returns once both listeners accept queries. Every
// message that is not a response reaches h, whatever its opcode or section
// counts, so handlers can test corner cases. The server stops on cleanup.
func StartServer(t testing.TB, addr netip.AddrPort, h dns.Handler) *Server {
	t.Helper()
	s, err := startInProcess(t, addr, h)
	if err != nil {
		t.Fatalf("dnstest.StartServer: %v", err)
	}
	return s
}

func startInProcess(l life, addr netip.AddrPort, h dns.Handler) (*Server, error) {
	s := &Server{Kind: KindInProcess}
	counted := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		s.queries.Add(1)
		h.ServeDNS(w, r)
	})
	start := func(ap netip.AddrPort) error {
		stop, bound, err := serveOn(ap, counted)
		if err != nil {
			return err
		}
		s.Addr = bound
		s.stopFn = stop
		return nil
	}
	if err := start(addr); err != nil {
		return nil, err
	}
	// A restart binds the same address and port again.
	s.startFn = func() error { return start(s.Addr) }
	l.Cleanup(s.Stop)
	return s, nil
}

// acceptRequests passes every request to the handler; only responses are
// dropped.
func acceptRequests(dh dns.Header) dns.MsgAcceptAction {
	if dh.Bits&(1<<15) != 0 {
		return dns.MsgIgnore
	}
	return dns.MsgAccept
}

// serveOn starts UDP and TCP dns.Servers for h on addr and returns a stop
// function and the bound address.
func serveOn(addr netip.AddrPort, h dns.Handler) (func() error, netip.AddrPort, error) {
	pc, ln, err := listenBoth(addr)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	bound := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	bound = netip.AddrPortFrom(bound.Addr().Unmap(), bound.Port())
	udp := &dns.Server{PacketConn: pc, Handler: h, UDPSize: dns.MaxMsgSize, MsgAcceptFunc: acceptRequests}
	tcp := &dns.Server{Listener: ln, Handler: h, MsgAcceptFunc: acceptRequests}
	var wg sync.WaitGroup
	started := make(chan struct{}, 2)
	errs := make(chan error, 2)
	for _, srv := range []*dns.Server{udp, tcp} {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ActivateAndServe(); err != nil {
				errs <- err
			}
		}()
	}
	for range 2 {
		select {
		case <-started:
		case err := <-errs:
			_ = pc.Close()
			_ = ln.Close()
			return nil, netip.AddrPort{}, fmt.Errorf("%w: in-process server at %s: %v", ErrServerStart, bound, err)
		}
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := errors.Join(udp.ShutdownContext(ctx), tcp.ShutdownContext(ctx))
		wg.Wait()
		return err
	}
	return stop, bound, nil
}

// listenBoth binds UDP and TCP on the same address and port; with port 0 it
// retries until one port is free for both.
func listenBoth(addr netip.AddrPort) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 50 {
		pc, err := net.ListenPacket("udp", addr.String())
		if err != nil {
			return nil, nil, fmt.Errorf("%w: listen udp %s: %v", ErrServerStart, addr, err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addr.Addr(), uint16(port)).String())
		if err == nil {
			return pc, ln, nil
		}
		_ = pc.Close()
		lastErr = err
		if addr.Port() != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("%w: listen tcp %s: %v", ErrServerStart, addr, lastErr)
}

// isRoot reports whether the process may bind port 53 and add addresses.
func isRoot() bool { return os.Geteuid() == 0 }

// MustParseZone is ParseZone for tests: it fails t on error.
func MustParseZone(t testing.TB, origin, text string) *Zone {
	t.Helper()
	z, err := ParseZone(origin, text)
	if err != nil {
		t.Fatalf("dnstest.MustParseZone(%q): %v", origin, err)
	}
	return z
}

// ServeZones serves zones with a ZoneHandler on a fresh AllocAddr address
// and a free port (UDP and TCP). Configure the handler (Version, NSID...)
// or swap zones through the returned ZoneHandler.
func ServeZones(t testing.TB, zones ...*Zone) (*Server, *ZoneHandler) {
	t.Helper()
	h := NewZoneHandler(zones...)
	s := StartServer(t, netip.AddrPortFrom(AllocAddr(t), 0), h)
	s.Zones = make([]string, 0, len(zones))
	for _, z := range zones {
		s.Zones = append(s.Zones, z.Origin)
	}
	return s, h
}
