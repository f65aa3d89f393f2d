package recon

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

// scope is what every technique of one run works with: the ledger of
// shared facts, the options, and the services that ask questions — queries
// (routed to a zone's own servers when the resolver cannot answer for it),
// delegation walks, the wildcard judgement, the stage shown in progress.
// It holds no discoveries itself; those go to the ledger.
type scope struct {
	// root is the context of the whole run (techniques derive budgets
	// from it; stopped asks whether it ended).
	root   context.Context
	ex     *countingExchanger
	opts   Options
	apex   string
	words  []string // the brute-force word list (nil: brute force is off)
	log    *slog.Logger
	ledger *ledger
	// enumerate opens a zone found during expansion (the scheduler's
	// run.zone).
	enumerate func(ctx context.Context, zone string) error

	// delegs caches the delegation walks (delegationOf).
	delegMu sync.Mutex
	delegs  map[string]*delegationCall
	// routes sends the queries of unreachable zones to their own servers.
	routes    atomic.Pointer[routeTable]
	routeMu   sync.Mutex
	routeNext atomic.Uint32

	wcMu    sync.Mutex
	wcCalls map[string]*wildcardCall

	// current is the stage running now (a string).
	current atomic.Value
}

func newScope(ex Exchanger, apex string, opts Options) *scope {
	log := opts.Logger.With("component", "recon", "domain", apex)
	s := &scope{
		ex:      &countingExchanger{Exchanger: ex, observe: opts.Observe},
		opts:    opts,
		apex:    apex,
		log:     log,
		ledger:  newLedger(apex, &opts, log),
		delegs:  map[string]*delegationCall{},
		wcCalls: map[string]*wildcardCall{},
	}
	s.words = opts.Wordlist
	if s.words == nil {
		s.words = DefaultWordlist()
	}
	if opts.NoBruteforce {
		s.words = nil
	}
	s.ledger.onRecord = (&miner{l: s.ledger, prefix4: opts.PTRPrefix4, prefix6: opts.PTRPrefix6}).mine
	return s
}

// stage names the work running now, for progress and partial results.
func (s *scope) stage(name string) {
	s.current.Store(name)
	if p := s.opts.Progress; p != nil {
		p.Stage.Store(name)
	}
	s.log.Debug("stage", "stage", name)
}

// stopped reports whether the run as a whole was stopped (interrupted,
// out of time), as opposed to a technique running out of its own budget.
func (s *scope) stopped() bool { return s.root.Err() != nil }

// inScope reports whether name is at or below the target domain.
func (s *scope) inScope(name string) bool { return dnsname.IsSubdomain(name, s.apex) }

// query sends one recursive query and returns the message. Timeouts and
// exhausted retries come back as errors.
func (s *scope) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	return s.queryOpts(ctx, resolver.Query{Name: name, Type: qtype})
}

func (s *scope) queryOpts(ctx context.Context, q resolver.Query) (*dns.Msg, error) {
	s.plan(1)
	resp, err := s.send(ctx, q)
	s.done(1)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// send sends one recursive query, or, for a name in a zone the resolver
// cannot answer for, asks the zone's own servers (see routeFor). A
// SERVFAIL or REFUSED from the resolver is asked again at the zone's
// authoritative servers when they are known: an alias whose target's zone
// is broken exists all the same, and its server says so where a resolver
// gives up on the whole chain.
func (s *scope) send(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	name := dnsname.FromWire(q.Name)
	if servers := s.routeFor(name); servers != nil {
		return s.routeDirect(ctx, servers, q)
	}
	resp, err := s.ex.Exchange(ctx, q)
	switch {
	case err == nil && resp.Msg.Rcode != dns.RcodeServerFailure && resp.Msg.Rcode != dns.RcodeRefused:
		return resp, nil
	case err != nil && !errors.Is(err, resolver.ErrTimeout):
		return nil, err
	}
	if servers := s.ledger.authFor(name); len(servers) > 0 {
		if auth, _ := s.askAuth(ctx, servers, q); auth != nil {
			return auth, nil
		}
	}
	return resp, err
}

// direct sends one query to a chosen server.
func (s *scope) direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	s.plan(1)
	resp, err := s.ex.Direct(ctx, server, q)
	s.done(1)
	return resp, err
}

func (s *scope) plan(n int) {
	if p := s.opts.Progress; p != nil {
		p.Planned.Add(int64(n))
	}
}

func (s *scope) done(n int) {
	if p := s.opts.Progress; p != nil {
		p.Done.Add(int64(n))
	}
}

// queryDO sends a recursive query with the DNSSEC OK bit.
func (s *scope) queryDO(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	return s.queryOpts(ctx, resolver.Query{Name: name, Type: qtype, DO: true})
}
