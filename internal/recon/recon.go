package recon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/ipintel"
	"github.com/dnsscout/dnsscout/internal/passive"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// Exchanger is what recon needs from the query engine: recursive queries
// through the configured resolvers, direct queries to a chosen
// (authoritative) server, and zone transfers. *resolver.Resolver
// implements it.
type Exchanger interface {
	Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error)
	Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error)
	Transfer(ctx context.Context, server netip.AddrPort, zone string, qtype uint16, serial uint32) <-chan resolver.Envelope
}

// Errors returned by Run.
var (
	ErrNoSuchDomain = errors.New("recon: domain does not exist (NXDOMAIN)")
	ErrNoAnswer     = errors.New("recon: no resolver answered for the domain")
)

// Options tunes a run. The zero value runs every stage with the built-in
// word list.
type Options struct {
	// Wordlist is the brute-force word list. nil uses the built-in list
	// (DefaultWordlist); an empty non-nil slice disables brute force.
	Wordlist []string
	// Alterations, when true, also tries amass-style alterations of the
	// labels discovered (dev -> dev1, dev-api, api-dev, ...), at most
	// MaxAlterations candidates per zone. Default false.
	Alterations    bool
	MaxAlterations int // default 20,000

	NoAXFR       bool // skip AXFR and IXFR attempts
	NoBruteforce bool // skip word-list brute force
	NoWalk       bool // skip NSEC walking and NSEC3 chain collection
	NoPTR        bool // skip PTR sweeps
	NoSRV        bool // skip SRV and well-known service-label probes

	// PTRPrefix4 and PTRPrefix6 are the neighbourhood swept around every
	// discovered address; defaults /24 and /120. PTRMax bounds the PTR
	// queries of a run; default 65,536.
	PTRPrefix4 int
	PTRPrefix6 int
	PTRMax     int

	// NSEC3MaxQueries bounds the queries spent collecting one zone's
	// NSEC3 chain and WalkMax the steps of one zone's NSEC walk; default
	// DefaultWalkMax each. WalkTimeout bounds the time spent on one
	// zone's chain (walk or collection, and again cracking); default
	// DefaultWalkTimeout. A chain that did not close by then is kept and
	// says why it stopped (Zone.WalkStopped, NSEC3Info.Stopped).
	NSEC3MaxQueries int
	WalkMax         int
	WalkTimeout     time.Duration

	// MaxTime bounds the whole run; when it runs out the run stops, and
	// the Result holds what was found, marked partial (Complete false, a
	// "max-time" gap), with a nil error. Default 0: no bound.
	MaxTime time.Duration

	// TransferMaxRecords caps the records kept from one zone transfer
	// (AXFR or IXFR, per server address); default
	// DefaultTransferMaxRecords. TransferTimeout caps its duration;
	// default DefaultTransferTimeout. A transfer that reaches either is
	// kept and reported as partial.
	TransferMaxRecords int
	TransferTimeout    time.Duration

	// NameserverPort is the port used for direct queries to nameserver
	// addresses; default 53. Only the in-process demo world changes it.
	NameserverPort uint16

	// Concurrency is the number of queries recon keeps in flight; default
	// 1,000. The exchanger may bound it further.
	Concurrency int

	// MaxRecursive bounds the discovered names brute-forced below (empty
	// non-terminals first, then names with known children); default 16,
	// negative disables.
	MaxRecursive int

	// MaxNames stops expansion after this many in-scope names; default
	// 1,000,000.
	MaxNames int

	// Passive are the passive sources asked first for names under the
	// target (nil: none). Their names are verified like mined ones; names
	// that no longer resolve become Result.Historic.
	Passive []passive.Source
	// PassiveOnly sends no DNS query about the target at all: the result
	// holds what the passive sources say, unverified. Default false.
	PassiveOnly bool
	// Annotator adds network, AS and country to every address (nil:
	// none).
	Annotator Annotator

	// Observe, when set, sees every response recon receives (from several
	// goroutines at once): `recon --db` stores them as passive DNS.
	Observe func(*resolver.Response)

	// OnEvent receives each discovery as it happens (from several
	// goroutines, one call at a time). nil discards.
	OnEvent func(Event)
	// Progress, when non-nil, is updated as the run advances.
	Progress *Progress
	// Logger receives debug and warning logs; nil discards.
	Logger *slog.Logger
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Default limits.
const (
	// DefaultTransferMaxRecords and DefaultTransferTimeout bound one zone
	// transfer. See Options. With them, `dnsscout recon` of a server that
	// streams records forever ends in about 20 s at about 270 MiB RSS
	// (bench/hostile; the whole program, audit and JSON included, takes
	// ~1.3 KiB per record kept).
	DefaultTransferMaxRecords = 200_000
	DefaultTransferTimeout    = 60 * time.Second
	// DefaultWalkMax and DefaultWalkTimeout bound one zone's NSEC walk or
	// NSEC3 collection. See Options.
	DefaultWalkMax     = 100_000
	DefaultWalkTimeout = 60 * time.Second
)

// Annotator is the address intelligence recon needs; *ipintel.Annotator
// implements it.
type Annotator interface {
	Lookup(ctx context.Context, a netip.Addr) (ipintel.Info, error)
}

// Event is one discovery streamed while the run goes on. Exactly one of
// Name, Record, Wildcard, Nameserver is set.
type Event struct {
	Domain     string
	Name       *Name
	Record     *Record
	Wildcard   *Wildcard
	Nameserver *Nameserver
}

// Progress counts work for a progress display. Fields are updated
// atomically while the run goes on.
type Progress struct {
	Planned atomic.Int64 // queries planned so far
	Done    atomic.Int64 // queries answered or given up
	Names   atomic.Int64 // in-scope names found
	Stage   atomic.Value // string: the stage running now
}

func (o *Options) fill() {
	if o.MaxAlterations == 0 {
		o.MaxAlterations = 20000
	}
	if o.PTRPrefix4 == 0 {
		o.PTRPrefix4 = 24
	}
	if o.PTRPrefix6 == 0 {
		o.PTRPrefix6 = 120
	}
	if o.PTRMax == 0 {
		o.PTRMax = 65536
	}
	if o.NSEC3MaxQueries == 0 {
		o.NSEC3MaxQueries = DefaultWalkMax
	}
	if o.WalkMax == 0 {
		o.WalkMax = DefaultWalkMax
	}
	if o.WalkTimeout == 0 {
		o.WalkTimeout = DefaultWalkTimeout
	}
	if o.NameserverPort == 0 {
		o.NameserverPort = 53
	}
	if o.TransferMaxRecords == 0 {
		o.TransferMaxRecords = DefaultTransferMaxRecords
	}
	if o.TransferTimeout == 0 {
		o.TransferTimeout = DefaultTransferTimeout
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1000
	}
	if o.MaxRecursive == 0 {
		o.MaxRecursive = 16
	}
	if o.MaxNames == 0 {
		o.MaxNames = 1000000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func (o *Options) validate() error {
	if o.PTRPrefix4 < 16 || o.PTRPrefix4 > 32 {
		return fmt.Errorf("recon: IPv4 PTR sweep prefix /%d out of range /16../32", o.PTRPrefix4)
	}
	if o.PTRPrefix6 < 104 || o.PTRPrefix6 > 128 {
		return fmt.Errorf("recon: IPv6 PTR sweep prefix /%d out of range /104../128", o.PTRPrefix6)
	}
	if o.PTRMax < 0 || o.MaxNames < 0 || o.NSEC3MaxQueries < 0 || o.WalkMax < 0 || o.MaxAlterations < 0 ||
		o.TransferMaxRecords < 0 || o.TransferTimeout < 0 || o.WalkTimeout < 0 || o.MaxTime < 0 {
		return errors.New("recon: limits must not be negative")
	}
	return nil
}

// Run discovers domain (any case, Unicode accepted) through ex. It returns
// the Result even when some stages failed; the error is non-nil only when
// the domain could not be examined at all (invalid name, NXDOMAIN at its
// parent, no server answering on the way to it) or ctx ended. When ctx
// ends (or Options.MaxTime runs out) the Result holds everything found so
// far, marked partial; only the end of ctx is returned as an error.
func Run(ctx context.Context, ex Exchanger, domain string, opts Options) (*Result, error) {
	opts.fill()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	apex, err := dnsname.Normalize(domain)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(apex, "*") {
		return nil, fmt.Errorf("recon: %q: a wildcard is not a domain", domain)
	}
	r := newRun(ex, apex, opts)
	runCtx := ctx
	if opts.MaxTime > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.MaxTime)
		defer cancel()
	}
	err = r.run(runCtx)
	switch {
	case ctx.Err() != nil:
		r.partial("interrupted", "the run was stopped")
		err = ctx.Err()
	case runCtx.Err() != nil:
		r.partial("max-time", fmt.Sprintf("--max-time %v reached", opts.MaxTime))
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil
		}
	}
	st := r.s.ex.stats()
	return r.s.ledger.result(opts.Now().UTC(), st), err
}

// partial marks the result as cut short, naming the stage that was
// running.
func (r *run) partial(stage, why string) {
	at, _ := r.s.current.Load().(string)
	if at != "" {
		why += " during stage " + at
	}
	r.s.ledger.markPartial(Gap{Stage: stage, Reason: why})
}

// run is the scheduler of one Run: it finds the zone that holds the
// target, enumerates it with the zone techniques, then runs expansion
// rounds until nothing new turns up. What techniques find is in the
// scope's ledger; the scheduler itself only remembers which zones the
// resolver could not answer for.
type run struct {
	s          *scope
	techniques []technique
	// unreachable holds, per zone the resolver could not answer for, why.
	unreachable map[string]string
}

func newRun(ex Exchanger, apex string, opts Options) *run {
	r := &run{s: newScope(ex, apex, opts), unreachable: map[string]string{}}
	r.s.ledger.res.Started = opts.Now().UTC()
	r.s.enumerate = r.zone
	r.techniques = techniques(&r.s.opts, r.s.words)
	return r
}

func (r *run) run(ctx context.Context) error {
	s := r.s
	s.root = ctx
	if s.opts.PassiveOnly {
		// Not one packet about the target: what passive sources say, and
		// address intelligence (which asks databases and Team Cymru, never
		// the target's servers).
		s.ledger.addName(s.apex, SourcePassive)
		r.start(ctx)
		annotate(ctx, s)
		return ctx.Err()
	}
	zoneName, err := r.target(ctx)
	if err != nil {
		return err
	}
	s.ledger.addName(s.apex, SourceStandard)
	r.start(ctx)
	if err := r.zone(ctx, zoneName); err != nil {
		return err
	}
	// Expand until nothing new turns up: each round runs every round
	// technique in table order (see techniques).
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		progressed := false
		for _, t := range r.techniques {
			if rt, ok := t.(roundTechnique); ok && rt.round(ctx, s) {
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	for _, t := range r.techniques {
		if f, ok := t.(finisher); ok {
			f.finish(ctx, s)
		}
	}
	annotate(ctx, s)
	return ctx.Err()
}

// start runs the techniques that run once before any zone.
func (r *run) start(ctx context.Context) {
	for _, t := range r.techniques {
		if st, ok := t.(starter); ok {
			st.start(ctx, r.s)
		}
	}
}

// target checks that the apex exists (an SOA query tells that and where
// the zone cut is) and returns the zone that holds it: the apex itself
// when it is a zone cut, else the enclosing zone named by the SOA in the
// authority section, or by the delegation when the resolver cannot answer.
func (r *run) target(ctx context.Context) (string, error) {
	s := r.s
	s.stage("apex")
	soa, err := s.query(ctx, s.apex, dns.TypeSOA)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	var v verdict
	if err == nil {
		v = judge(s.apex, dns.TypeSOA, soa)
	}
	switch {
	case v.known && !v.exists:
		return "", fmt.Errorf("%w: %s", ErrNoSuchDomain, s.apex)
	case !v.known:
		// The resolver cannot answer for the target (timeout, SERVFAIL,
		// REFUSED): its delegation can.
		why := "resolver: " + failText(soa, err)
		d, derr := s.delegationOf(ctx, s.apex)
		if derr != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("recon: %s: %s; %w", s.apex, why, derr)
		}
		r.unreachable[d.zone] = why
		return d.zone, nil
	}
	if owner := soaOwner(soa); owner != "" && owner != s.apex && dnsname.IsSubdomain(s.apex, owner) {
		return owner, nil
	}
	return s.apex, nil
}

// zone enumerates one zone (the target's or a delegated sub-zone): records
// at the apex (through the zone's own servers when the resolver cannot
// answer for it), then every zone technique in table order.
func (r *run) zone(ctx context.Context, name string) error {
	s := r.s
	z := s.ledger.addZone(name)
	if z == nil {
		return nil
	}
	// base is where names are sought: the zone apex, or the target itself
	// when the target lies inside a zone without being its apex.
	base := name
	if !s.inScope(name) {
		base = s.apex
	}

	s.ledger.addName(name, SourceStandard)
	why, lame := r.unreachable[name]
	if !lame {
		s.stage("records " + name)
		if answered, failure := apexRecords(ctx, s, z); !answered && ctx.Err() == nil {
			// A sub-zone the resolver cannot answer for.
			if d, err := s.delegationOf(ctx, name); err == nil && d.zone == name {
				why, lame = "resolver: "+failure, true
			}
		}
	}
	if lame && !r.viaDelegation(ctx, z, why) {
		return nil
	}
	for _, t := range r.techniques {
		if zt, ok := t.(zoneTechnique); ok {
			zt.zone(ctx, s, z, base)
		}
	}
	return nil
}

// viaDelegation handles zone z that the resolver could not answer for: it
// keeps the delegation's records, probes every nameserver the parent
// names, and when some answer authoritatively, routes the zone's queries
// to them and asks the apex records there. It reports whether the zone
// can be enumerated further.
func (r *run) viaDelegation(ctx context.Context, z *Zone, why string) bool {
	s := r.s
	d, err := s.delegationOf(ctx, z.Name)
	if err != nil {
		s.ledger.gap(Gap{Stage: "resolver", Zone: z.Name, Reason: why})
		return false
	}
	for _, x := range d.records {
		s.ledger.addRecord(x, SourceStandard)
	}
	s.stage("nameservers " + z.Name)
	probeNameservers(ctx, s, z)
	auth := s.ledger.authOf(z.Name)
	if len(auth) == 0 {
		s.ledger.gap(Gap{Stage: "nameservers", Zone: z.Name,
			Reason: why + "; no nameserver of the delegation answers authoritatively: the zone's records, DNSSEC chain, services and names could not be enumerated"})
		return false
	}
	s.ledger.gap(Gap{Stage: "resolver", Zone: z.Name, Reason: why + "; the zone's names were asked at its authoritative servers directly"})
	s.route(z.Name, auth)
	s.ledger.editZone(z, func(z *Zone) {
		for _, a := range auth {
			z.Direct = appendUnique(z.Direct, a.Addr().String())
		}
	})
	s.stage("records " + z.Name)
	apexRecords(ctx, s, z)
	return true
}

// parallel runs fn for every index in [0, n) on at most limit goroutines
// and returns when all are done or ctx ends.
func parallel(ctx context.Context, n, limit int, fn func(i int)) {
	if n == 0 {
		return
	}
	limit = min(limit, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range limit {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// soaOwner returns the owner of the SOA record in the answer or authority
// section of m: the zone that answered.
func soaOwner(m *dns.Msg) string {
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, x := range sec {
			if x.Header().Rrtype == dns.TypeSOA {
				return rr.Owner(x)
			}
		}
	}
	return ""
}

// nameLess orders names by their reversed labels so that a zone's names
// group under it (example.com, a.example.com, b.a.example.com, b.example.com).
// It compares as dnsname.Reverse(a) < dnsname.Reverse(b) does, label by
// label from the right without building the reversed strings (sorting a
// million-name result calls it tens of millions of times).
func nameLess(a, b string) bool {
	if a == b {
		return false
	}
	ia, ib := len(a), len(b) // ends of the current labels
	for {
		sa := strings.LastIndexByte(a[:ia], '.') + 1
		sb := strings.LastIndexByte(b[:ib], '.') + 1
		la, lb := a[sa:ia], b[sb:ib]
		moreA, moreB := sa > 0, sb > 0 // a '.' and more labels follow
		n := min(len(la), len(lb))
		if la[:n] != lb[:n] {
			return la[:n] < lb[:n]
		}
		switch {
		case len(la) < len(lb):
			return !moreA || '.' < lb[n]
		case len(la) > len(lb):
			return moreB && la[n] < '.'
		case !moreA || !moreB:
			return !moreA && moreB
		}
		ia, ib = sa-1, sb-1
	}
}

func sortAddrStrings(s []string) { sort.Slice(s, func(i, j int) bool { return addrLess(s[i], s[j]) }) }

func addrLess(a, b string) bool {
	pa, ea := netip.ParseAddr(a)
	pb, eb := netip.ParseAddr(b)
	if ea != nil || eb != nil {
		return a < b
	}
	return pa.Less(pb)
}
