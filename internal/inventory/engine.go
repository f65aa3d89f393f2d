package inventory

import (
	"context"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// DefaultSharedMax bounds the answers the per-run cache keeps.
const DefaultSharedMax = 100_000

// shared is the engine every domain of an inventory uses: the caller's
// engine, with the answers that do not depend on the domain asked —
// a nameserver address's identity (CHAOS TXT version.bind, hostname.bind,
// ...) and whether it recurses (". NS" with RD) — asked once per run
// however many domains the address serves. Only answers are kept (an
// error is asked again by the next domain), at most max of them; the rest
// passes through.
type shared struct {
	wrapped
	max int

	mu    sync.Mutex
	calls map[sharedKey]*sharedCall
	hits  int64
}

type sharedKey struct {
	server netip.AddrPort
	q      resolver.Query
}

type sharedCall struct {
	done chan struct{}
	resp *resolver.Response
	err  error
}

func newShared(eng scan.Engine, max int) *shared {
	return &shared{wrapped: wrapped{eng}, max: max, calls: map[sharedKey]*sharedCall{}}
}

// zoneFree reports whether q's answer is the same for every domain the
// server serves.
func zoneFree(q resolver.Query) bool {
	return q.Class == dns.ClassCHAOS || q.Type == dns.TypeNS && q.RD && strings.Trim(q.Name, ".") == ""
}

// Direct answers zone-free questions from the run's cache.
func (s *shared) Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	if !zoneFree(q) {
		return s.Engine.Direct(ctx, server, q)
	}
	k := sharedKey{server, q}
	for {
		s.mu.Lock()
		c, ok := s.calls[k]
		if !ok {
			if len(s.calls) >= s.max {
				s.mu.Unlock()
				return s.Engine.Direct(ctx, server, q)
			}
			c = &sharedCall{done: make(chan struct{})}
			s.calls[k] = c
			s.mu.Unlock()
			c.resp, c.err = s.Engine.Direct(ctx, server, q)
			if c.err != nil {
				s.mu.Lock()
				delete(s.calls, k) // not kept: the next domain asks again
				s.mu.Unlock()
			}
			close(c.done)
			return copyResponse(c.resp), c.err
		}
		s.hits++
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if c.err == nil {
			return copyResponse(c.resp), nil
		}
		// The first asker failed (its own deadline, say): ask ourselves.
	}
}

// Hits is the number of questions answered from the cache.
func (s *shared) Hits() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func copyResponse(r *resolver.Response) *resolver.Response {
	if r == nil {
		return nil
	}
	c := *r
	if r.Msg != nil {
		c.Msg = r.Msg.Copy()
	}
	return &c
}

// wrapped is an engine wrapper that passes the engine's health through
// (scan.Health), so that reports still list the resolvers.
type wrapped struct{ scan.Engine }

func (w wrapped) Stats() resolver.Stats {
	if h, ok := w.Engine.(scan.Health); ok {
		return h.Stats()
	}
	return resolver.Stats{}
}

func (w wrapped) Servers() []resolver.ServerStatus {
	if h, ok := w.Engine.(scan.Health); ok {
		return h.Servers()
	}
	return nil
}

var (
	_ scan.Health = (*shared)(nil)
	_ scan.Health = (*limited)(nil)
)

// limited is one domain's view of the run's engine: at most cap(slots)
// of its queries in flight at once, whatever its stages ask for (recon's
// concurrency bounds its big stages; wildcard probes and per-address
// checks come in bursts of their own). A zone transfer is not counted: it
// is one long stream per server, bounded by the transfer caps.
type limited struct {
	wrapped
	slots chan struct{}
}

func newLimited(eng scan.Engine, n int) *limited {
	return &limited{wrapped: wrapped{eng}, slots: make(chan struct{}, n)}
}

func (l *limited) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limited) Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-l.slots }()
	return l.Engine.Exchange(ctx, q)
}

func (l *limited) Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-l.slots }()
	return l.Engine.Direct(ctx, server, q)
}
