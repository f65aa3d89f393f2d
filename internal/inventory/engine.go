package inventory

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// DefaultSharedMax bounds the answers the per-run cache keeps.
const DefaultSharedMax = 100_000

// shared is the engine every domain of an inventory uses: the caller's
// engine, with the answers that do not depend on the domain asked,
// asked once per run and handed to every domain that asks again:
//
//   - a nameserver address's identity (CHAOS TXT version.bind,
//     hostname.bind, ...) and whether it recurses (". NS" with RD),
//     however many domains the address serves;
//   - any question about a name outside the domain examined (see view):
//     its parents' apex and delegation (NS, SOA, DS), its nameservers'
//     addresses, its mail exchangers' elsewhere — so that a thousand
//     domains under one parent ask the parent's NS/SOA/DS once.
//
// Only answers are kept (an error is asked again by the next domain, and
// so is a SERVFAIL, REFUSED or truncated answer to a question outside the
// domain), at most max of them; the rest passes through.
type shared struct {
	wrapped
	max int

	mu          sync.Mutex
	calls       map[sharedKey]*sharedCall
	hits        int64 // nameserver questions answered from the cache
	outsideHits int64 // questions outside the domain answered from it
	// progress, when set, counts the hits too (Progress.CacheHits).
	progress *Progress
}

type sharedKey struct {
	server netip.AddrPort // zero for a question to the resolvers
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

// keepable reports whether a response is an answer worth handing to
// other domains: a name error or a success, complete.
func keepable(r *resolver.Response) bool {
	return r != nil && r.Msg != nil && !r.Msg.Truncated &&
		(r.Msg.Rcode == dns.RcodeSuccess || r.Msg.Rcode == dns.RcodeNameError)
}

// Direct answers zone-free questions from the run's cache.
func (s *shared) Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	if !zoneFree(q) {
		return s.Engine.Direct(ctx, server, q)
	}
	return s.cached(ctx, server, q, &s.hits, anyResponse)
}

// anyResponse keeps every response: what a nameserver says to a CHAOS or
// recursion question (REFUSED, NOTIMP included) is its answer for every
// domain.
func anyResponse(*resolver.Response) bool { return true }

// cached answers q from the cache, or asks it once (concurrent askers wait
// for the first) and keeps the response when keep says so; hits counts
// the answers given from the cache.
func (s *shared) cached(ctx context.Context, server netip.AddrPort, q resolver.Query, hits *int64, keep func(*resolver.Response) bool) (*resolver.Response, error) {
	ask := func() (*resolver.Response, error) {
		if server.IsValid() {
			return s.Engine.Direct(ctx, server, q)
		}
		return s.Engine.Exchange(ctx, q)
	}
	k := sharedKey{server, q}
	k.q.Name = dnsname.FromWire(q.Name)
	for {
		s.mu.Lock()
		c, ok := s.calls[k]
		if !ok {
			if len(s.calls) >= s.max {
				s.mu.Unlock()
				return ask()
			}
			c = &sharedCall{done: make(chan struct{})}
			s.calls[k] = c
			s.mu.Unlock()
			c.resp, c.err = ask()
			if c.err == nil && !keep(c.resp) {
				c.err = errNotKept
			}
			if c.err != nil {
				s.mu.Lock()
				delete(s.calls, k) // not kept: the next domain asks again
				s.mu.Unlock()
			}
			close(c.done)
			if errors.Is(c.err, errNotKept) {
				return c.resp, nil
			}
			return copyResponse(c.resp), c.err
		}
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if c.err == nil {
			s.mu.Lock()
			*hits++
			s.mu.Unlock()
			if s.progress != nil {
				s.progress.CacheHits.Add(1)
			}
			return copyResponse(c.resp), nil
		}
		// The first asker failed (its own deadline, say) or got an answer
		// not to share: ask ourselves.
	}
}

// errNotKept marks, inside cached, an answer not shared with the waiters.
var errNotKept = errors.New("inventory: answer not kept")

// view is one domain's view of the shared engine: questions about names
// outside the domain (its parents, its nameservers' names, ...) are
// answered once per run, the domain's own names always go to the engine.
type view struct {
	*shared
	domain string // canonical
}

// forDomain returns the engine domain's scan uses.
func (s *shared) forDomain(domain string) scan.Engine {
	return view{shared: s, domain: dnsname.FromWire(domain)}
}

// outside reports whether name lies outside the domain.
func (v view) outside(name string) bool {
	return !dnsname.IsSubdomain(dnsname.FromWire(name), v.domain)
}

func (v view) Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	if !v.outside(q.Name) {
		return v.Engine.Exchange(ctx, q)
	}
	return v.cached(ctx, netip.AddrPort{}, q, &v.outsideHits, keepable)
}

func (v view) Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	switch {
	case zoneFree(q):
		return v.cached(ctx, server, q, &v.hits, anyResponse)
	case v.outside(q.Name):
		return v.cached(ctx, server, q, &v.outsideHits, keepable)
	}
	return v.Engine.Direct(ctx, server, q)
}

// Hits is the number of nameserver questions (identity, recursion)
// answered from the cache; OutsideHits the number of questions about
// names outside the domain asking.
func (s *shared) Hits() (nameservers, outside int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits, s.outsideHits
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
	_ scan.Health = view{}
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
