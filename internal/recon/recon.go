// Package recon discovers what a domain's DNS reveals: its records, every
// nameserver and what each address answers, zone transfers, brute-forced
// names with wildcard filtering, NSEC walks and NSEC3 chains, SRV services,
// PTR neighbourhoods and names mined from record data. Each stage streams
// what it finds through Options.OnEvent and the whole is returned as a
// Result. recon sends every query through the exchanger it is given; it
// never opens sockets or reads resolv.conf itself, and it does not judge
// what it finds (package checks does).
package recon

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/netip"
	"slices"
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
	r.res.Started = opts.Now().UTC()
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
	r.finish()
	return r.res, err
}

// partial marks the result as cut short, naming the stage that was
// running.
func (r *run) partial(stage, why string) {
	at, _ := r.current.Load().(string)
	if at != "" {
		why += " during stage " + at
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.MarkPartial(Gap{Stage: stage, Reason: why})
}

// run holds the state of one Run. Maps are guarded by mu; stages run
// concurrently and call the add* methods.
type run struct {
	// root is the context of the whole run (stages derive budgets from
	// it; stopped asks whether it ended).
	root   context.Context
	ex     *countingExchanger
	opts   Options
	apex   string
	log    *slog.Logger
	words  []string
	emitMu sync.Mutex

	mu        sync.Mutex
	res       *Result
	names     map[string]*nameState
	records   recordIndex
	refs      map[Reference]bool
	wildcards map[string]*wildcardLevel // by parent name
	zones     map[string]*Zone
	nsIndex   map[[2]string]int // (zone, ns name) -> index into res.Nameservers
	pending   []string          // names waiting for expansion
	swept     map[netip.Prefix]bool
	ptrUsed   int
	knownAddr map[netip.Addr]bool
	// candidates are in-scope names that data mentions, waiting to be
	// verified, with the source that mentioned them.
	candidates map[string]string
	// transferred marks zones whose content a zone transfer gave us; cuts
	// marks the owners of NS records seen (zone apexes and delegations).
	transferred map[string]bool
	cuts        map[string]bool
	// sweepExtra are addresses from SPF ranges whose neighbourhood the
	// next PTR sweep covers.
	sweepExtra []netip.Addr
	// bruteDone marks names brute-forced below; recursed counts them.
	bruteDone map[string]bool
	recursed  int
	// altDone marks names whose labels alterations have been tried on.
	altDone map[string]bool
	// answered marks, per name, the types that got a NOERROR answer (and
	// TypeCNAME when the name is an alias).
	answered map[string]map[uint16]bool
	// passive holds what the passive sources know, by name; live what a
	// query says of a name's existence today.
	passive map[string]passive.NameInfo
	live    map[string]passive.Liveness
	// bitmaps holds the types an NSEC or NSEC3 record lists for a name.
	bitmaps map[string][]uint16
	// chains holds the NSEC3 chain collected for each NSEC3 zone.
	chains map[string]*nsec3Chain
	// auth lists, per zone, the addresses that answered authoritatively.
	auth map[string][]netip.AddrPort
	// delegs caches the delegation walks (delegationOf); unreachable
	// holds, per zone the resolver could not answer for, why.
	delegs      map[string]*delegationCall
	unreachable map[string]string
	// routes sends the queries of unreachable zones to their own servers.
	routes    atomic.Pointer[routeTable]
	routeNext atomic.Uint32

	wcMu    sync.Mutex
	wcCalls map[string]*wildcardCall

	// current is the stage running now (a string).
	current atomic.Value
}

// nameState is what the run knows of one name; finish turns it into a
// Name. It is kept small: a transferred zone makes a million of them.
type nameState struct {
	sources []string
	// addrs are the name's addresses, its own and at its chain's end (a
	// short list: a map per name costs far more in a million-name zone).
	addrs []string
	chain *ChainEnd
	// seen is what passive data says of the name; nil when nothing.
	seen *passiveSeen
}

type passiveSeen struct {
	sources     []string
	first, last time.Time
}

// sourceLists are the one-source lists names start with, shared (a
// transferred zone's million names all come from "axfr"); cap 1 makes an
// append copy before adding a second source.
var sourceLists = func() map[string][]string {
	m := map[string][]string{}
	for _, s := range []string{SourceStandard, SourceAXFR, SourceIXFR, SourceBruteforce, SourceNSEC, SourceNSEC3, SourcePTR, SourceSRV, SourceMined, SourcePassive} {
		m[s] = []string{s}[:1:1]
	}
	return m
}()

func sourceList(source string) []string {
	if l, ok := sourceLists[source]; ok {
		return l
	}
	return []string{source}
}

func (st *nameState) addAddr(a string) {
	if !slices.Contains(st.addrs, a) {
		st.addrs = append(st.addrs, a)
	}
}

type recordKey struct{ name, typ, data string }

// recordIndex finds the records kept by their (name, type, data): by a
// 64-bit hash of the key into res.Records, the rare keys whose hash
// another key already has in a map of their own. It costs a few bytes per
// record where a map of the three strings cost ~100 (a transfer keeps
// millions).
type recordIndex struct {
	seed   maphash.Seed
	byHash map[uint64]int32
	more   map[recordKey]bool
}

func newRecordIndex() recordIndex {
	return recordIndex{seed: maphash.MakeSeed(), byHash: map[uint64]int32{}, more: map[recordKey]bool{}}
}

// add reports whether k is new among records, and notes it at index
// len(records) when it is.
func (x *recordIndex) add(records []Record, k recordKey) bool {
	var h maphash.Hash
	h.SetSeed(x.seed)
	h.WriteString(k.name)
	h.WriteByte(0)
	h.WriteString(k.typ)
	h.WriteByte(0)
	h.WriteString(k.data)
	return x.addHashed(records, k, h.Sum64())
}

func (x *recordIndex) addHashed(records []Record, k recordKey, sum uint64) bool {
	i, taken := x.byHash[sum]
	if !taken {
		x.byHash[sum] = int32(len(records))
		return true
	}
	if e := records[i]; e.Name == k.name && e.Type == k.typ && e.Data == k.data || x.more[k] {
		return false
	}
	x.more[k] = true
	return true
}

func newRun(ex Exchanger, apex string, opts Options) *run {
	r := &run{
		ex:          &countingExchanger{Exchanger: ex, observe: opts.Observe},
		opts:        opts,
		apex:        apex,
		log:         opts.Logger.With("component", "recon", "domain", apex),
		res:         &Result{Domain: apex},
		names:       map[string]*nameState{},
		records:     newRecordIndex(),
		refs:        map[Reference]bool{},
		wildcards:   map[string]*wildcardLevel{},
		zones:       map[string]*Zone{},
		nsIndex:     map[[2]string]int{},
		swept:       map[netip.Prefix]bool{},
		knownAddr:   map[netip.Addr]bool{},
		transferred: map[string]bool{},
		cuts:        map[string]bool{},
		unreachable: map[string]string{},
		auth:        map[string][]netip.AddrPort{},
		wcCalls:     map[string]*wildcardCall{},
	}
	r.words = opts.Wordlist
	if r.words == nil {
		r.words = DefaultWordlist()
	}
	if opts.NoBruteforce {
		r.words = nil
	}
	return r
}

func (r *run) stage(name string) {
	r.current.Store(name)
	if p := r.opts.Progress; p != nil {
		p.Stage.Store(name)
	}
	r.log.Debug("stage", "stage", name)
}

func (r *run) run(ctx context.Context) error {
	r.root = ctx
	if r.opts.PassiveOnly {
		// Not one packet about the target: what passive sources say, and
		// address intelligence (which asks databases and Team Cymru, never
		// the target's servers).
		r.addName(r.apex, SourcePassive)
		r.collectPassive(ctx)
		r.annotate(ctx)
		return ctx.Err()
	}
	// The apex must exist: an SOA query tells us that and where the zone
	// cut is.
	r.stage("apex")
	soa, err := r.query(ctx, r.apex, dns.TypeSOA)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var v verdict
	if err == nil {
		v = judge(r.apex, dns.TypeSOA, soa)
	}
	// The zone that holds the apex: the apex itself when it is a zone cut,
	// else the enclosing zone named by the SOA in the authority section.
	zoneName := r.apex
	switch {
	case v.known && !v.exists:
		return fmt.Errorf("%w: %s", ErrNoSuchDomain, r.apex)
	case !v.known:
		// The resolver cannot answer for the target (timeout, SERVFAIL,
		// REFUSED): its delegation can.
		why := "resolver: " + failText(soa, err)
		d, derr := r.delegationOf(ctx, r.apex)
		if derr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("recon: %s: %s; %w", r.apex, why, derr)
		}
		zoneName = d.zone
		r.mu.Lock()
		r.unreachable[zoneName] = why
		r.mu.Unlock()
	default:
		if owner := soaOwner(soa); owner != "" && owner != r.apex && dnsname.IsSubdomain(r.apex, owner) {
			zoneName = owner
		}
	}
	r.addName(r.apex, SourceStandard)
	r.collectPassive(ctx)
	if err := r.zone(ctx, zoneName); err != nil {
		return err
	}

	// Expand until nothing new turns up: each round resolves pending names,
	// mines them, enumerates new sub-zones and sweeps new neighbourhoods.
	for round := 0; ; round++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.stage("expand")
		progressed := r.expandPending(ctx)
		if r.subzones(ctx) {
			progressed = true
		}
		if !r.opts.NoPTR {
			r.stage("ptr")
			if r.ptrSweep(ctx) {
				progressed = true
			}
		}
		if r.opts.Alterations && r.alterations(ctx) {
			progressed = true
		}
		if r.recrack(ctx) {
			progressed = true
		}
		if r.bruteforceDeeper(ctx) {
			progressed = true
		}
		if !progressed {
			break
		}
	}
	r.historic(ctx)
	r.annotate(ctx)
	return ctx.Err()
}

// zone enumerates one zone (the target's or a delegated sub-zone):
// records at the apex, nameservers and their behaviour, zone transfers,
// DNSSEC chain walking, SRV labels and brute force.
func (r *run) zone(ctx context.Context, name string) error {
	r.mu.Lock()
	if _, done := r.zones[name]; done {
		r.mu.Unlock()
		return nil
	}
	z := &Zone{Name: name}
	r.zones[name] = z
	r.mu.Unlock()

	// base is where names are sought: the zone apex, or the target itself
	// when the target lies inside a zone without being its apex.
	base := name
	if !r.inScope(name) {
		base = r.apex
	}

	r.addName(name, SourceStandard)
	r.mu.Lock()
	why, lame := r.unreachable[name]
	r.mu.Unlock()
	if !lame {
		r.stage("records " + name)
		if answered, failure := r.apexRecords(ctx, z); !answered && ctx.Err() == nil {
			// A sub-zone the resolver cannot answer for.
			if d, err := r.delegationOf(ctx, name); err == nil && d.zone == name {
				why, lame = "resolver: "+failure, true
			}
		}
	}
	if lame && !r.viaDelegation(ctx, z, why) {
		return nil
	}

	r.stage("nameservers " + name)
	r.nameservers(ctx, z)

	if !r.opts.NoWalk {
		r.stage("dnssec " + name)
		r.dnssec(ctx, z)
	}
	if !r.opts.NoSRV {
		r.stage("srv " + name)
		r.srv(ctx, base)
	}
	if len(r.words) > 0 {
		r.stage("bruteforce " + base)
		r.bruteforce(ctx, base, r.words, SourceBruteforce)
	}
	return nil
}

// viaDelegation handles zone z that the resolver could not answer for: it
// keeps the delegation's records, probes every nameserver the parent
// names, and when some answer authoritatively, routes the zone's queries
// to them and asks the apex records there. It reports whether the zone
// can be enumerated further.
func (r *run) viaDelegation(ctx context.Context, z *Zone, why string) bool {
	d, err := r.delegationOf(ctx, z.Name)
	if err != nil {
		r.gap(Gap{Stage: "resolver", Zone: z.Name, Reason: why})
		return false
	}
	for _, x := range d.records {
		r.addRecord(x, SourceStandard)
	}
	r.stage("nameservers " + z.Name)
	r.nameservers(ctx, z)
	r.mu.Lock()
	auth := append([]netip.AddrPort(nil), r.auth[z.Name]...)
	r.mu.Unlock()
	if len(auth) == 0 {
		r.gap(Gap{Stage: "nameservers", Zone: z.Name,
			Reason: why + "; no nameserver of the delegation answers authoritatively: the zone's records, DNSSEC chain, services and names could not be enumerated"})
		return false
	}
	r.gap(Gap{Stage: "resolver", Zone: z.Name, Reason: why + "; the zone's names were asked at its authoritative servers directly"})
	r.route(z.Name, auth)
	r.mu.Lock()
	for _, a := range auth {
		z.Direct = appendUnique(z.Direct, a.Addr().String())
	}
	r.mu.Unlock()
	r.stage("records " + z.Name)
	r.apexRecords(ctx, z)
	return true
}

// finish sorts the result into its stable JSON order.
func (r *run) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.res
	res.Finished = r.opts.Now().UTC()
	res.Names = make([]Name, 0, len(r.names))
	direct, cnames := r.addressIndex()
	for name, st := range r.names {
		n := Name{Name: name, Sources: st.sources, Chain: st.chain}
		if st.seen != nil {
			n.PassiveSources, n.FirstSeen, n.LastSeen = st.seen.sources, st.seen.first, st.seen.last
		}
		// Addresses at the end of the CNAME chains the records kept
		// describe.
		for cur, hops := cnames[name], 0; cur != "" && hops < maxChain; cur, hops = cnames[cur], hops+1 {
			for _, a := range direct[cur] {
				st.addAddr(a)
			}
		}
		n.Addresses = st.addrs
		if n.Addresses == nil {
			n.Addresses = []string{}
		}
		sortAddrStrings(n.Addresses)
		sort.Strings(n.Sources)
		res.Names = append(res.Names, n)
	}
	sort.Slice(res.Names, func(i, j int) bool { return nameLess(res.Names[i].Name, res.Names[j].Name) })
	sort.SliceStable(res.Records, func(i, j int) bool {
		a, b := res.Records[i], res.Records[j]
		if a.Name != b.Name {
			return nameLess(a.Name, b.Name)
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Data < b.Data
	})
	res.References = res.References[:0]
	for ref := range r.refs {
		res.References = append(res.References, ref)
	}
	sort.Slice(res.References, func(i, j int) bool {
		a, b := res.References[i], res.References[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.Via < b.Via
	})
	res.Zones = res.Zones[:0]
	for _, z := range r.zones {
		res.Zones = append(res.Zones, *z)
	}
	sort.Slice(res.Zones, func(i, j int) bool { return nameLess(res.Zones[i].Name, res.Zones[j].Name) })
	for _, z := range res.Zones {
		if z.Name == r.apex || (res.NSEC3.Hashes == 0 && z.NSEC3 != nil && dnsname.IsSubdomain(r.apex, z.Name)) {
			if z.NSEC3 != nil {
				res.NSEC3 = *z.NSEC3
			}
		}
	}
	for i := range res.Nameservers {
		ns := &res.Nameservers[i]
		sort.Strings(ns.Sources)
		sortAddrStrings(ns.Addresses)
		sort.Slice(ns.Servers, func(a, b int) bool { return addrLess(ns.Servers[a].Address, ns.Servers[b].Address) })
	}
	sort.Slice(res.Nameservers, func(i, j int) bool {
		a, b := res.Nameservers[i], res.Nameservers[j]
		if a.Zone != b.Zone {
			return nameLess(a.Zone, b.Zone)
		}
		return a.Name < b.Name
	})
	sort.Slice(res.Wildcards, func(i, j int) bool {
		a, b := res.Wildcards[i], res.Wildcards[j]
		if a.Name != b.Name {
			return nameLess(a.Name, b.Name)
		}
		return a.Type < b.Type
	})
	st := r.ex.stats()
	st.DurationMS = res.Finished.Sub(res.Started).Milliseconds()
	res.Stats = st
	// Empty lists are [] in JSON, never null.
	if res.Records == nil {
		res.Records = []Record{}
	}
	if res.Wildcards == nil {
		res.Wildcards = []Wildcard{}
	}
	if res.Nameservers == nil {
		res.Nameservers = []Nameserver{}
	}
	if res.Addresses == nil {
		res.Addresses = []AddressInfo{}
	}
}

// addressIndex gives every known name the addresses of its own A and AAAA
// records kept (transfers and walks bring records whose owners were not
// known yet when they arrived), and returns each alias's CNAME target and
// the addresses of the names CNAMEs point at, from the records kept.
// Callers hold mu. It allocates per alias, not per record: a transferred
// zone holds millions of addresses.
func (r *run) addressIndex() (targets map[string][]string, cnames map[string]string) {
	cnames = map[string]string{}
	for _, rec := range r.res.Records {
		if rec.Type == "CNAME" {
			cnames[rec.Name] = dnsname.FromWire(rec.Data)
		}
	}
	targets = make(map[string][]string, len(cnames))
	for _, t := range cnames {
		targets[t] = nil
	}
	for _, rec := range r.res.Records {
		if rec.Type != "A" && rec.Type != "AAAA" {
			continue
		}
		if st := r.names[rec.Name]; st != nil {
			st.addAddr(rec.Data)
		}
		if list, ok := targets[rec.Name]; ok {
			targets[rec.Name] = append(list, rec.Data)
		}
	}
	return targets, cnames
}

// emit hands an event to the caller's sink, one call at a time.
func (r *run) emit(ev Event) {
	if r.opts.OnEvent == nil {
		return
	}
	ev.Domain = r.apex
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.opts.OnEvent(ev)
}

// stopped reports whether the run as a whole was stopped (interrupted,
// out of time), as opposed to a stage running out of its own budget.
func (r *run) stopped() bool { return r.root.Err() != nil }

// inScope reports whether name is at or below the target domain.
func (r *run) inScope(name string) bool { return dnsname.IsSubdomain(name, r.apex) }

// addName records an in-scope name and the source that revealed it. It
// returns true when the name is new; new names wait for expansion.
func (r *run) addName(name, source string) bool {
	if !r.inScope(name) || strings.HasPrefix(name, "*") {
		return false
	}
	r.mu.Lock()
	st, ok := r.names[name]
	if ok {
		if !slices.Contains(st.sources, source) {
			st.sources = append(st.sources, source)
		}
		r.mu.Unlock()
		return false
	}
	if len(r.names) >= r.opts.MaxNames {
		r.mu.Unlock()
		r.log.Warn("name limit reached; not expanding further", "limit", r.opts.MaxNames)
		return false
	}
	st = &nameState{sources: sourceList(source)}
	r.names[name] = st
	r.pending = append(r.pending, name)
	var ev *Name
	if r.opts.OnEvent != nil {
		ev = &Name{Name: name, Sources: []string{source}, Addresses: []string{}}
	}
	r.mu.Unlock()
	if p := r.opts.Progress; p != nil {
		p.Names.Add(1)
	}
	if ev != nil {
		r.emit(Event{Name: ev})
	}
	return true
}

// hasName reports whether name is already known.
func (r *run) hasName(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.names[name]
	return ok
}

// addRecord keeps one record (first source wins) and feeds it to the miner.
// Records of out-of-scope owners are not kept; their owners become
// references of the in-scope name that led to them.
func (r *run) addRecord(x dns.RR, source string) {
	h := x.Header()
	switch h.Rrtype {
	case dns.TypeOPT, dns.TypeTSIG, dns.TypeSIG:
		return
	}
	owner := rr.Owner(x)
	if !r.inScope(owner) && h.Rrtype != dns.TypePTR {
		return
	}
	// The owner and data strings are kept for the whole run: copied out
	// of the message's (the data is a slice of the record's whole text).
	rec := Record{Name: strings.Clone(owner), Type: rr.Type(x), TTL: h.Ttl, Data: strings.Clone(rr.Data(x)), Source: source}
	if strings.HasPrefix(owner, "*.") && h.Rrtype != dns.TypeRRSIG && h.Rrtype != dns.TypeNSEC {
		r.addWildcardData(owner, rec.Type, rec.Data)
	}
	key := recordKey{rec.Name, rec.Type, rec.Data}
	r.mu.Lock()
	if !r.records.add(r.res.Records, key) {
		r.mu.Unlock()
		return
	}
	r.res.Records = append(r.res.Records, rec)
	if h.Rrtype == dns.TypeNS {
		r.cuts[owner] = true
	}
	if st, ok := r.names[owner]; ok && (h.Rrtype == dns.TypeA || h.Rrtype == dns.TypeAAAA) {
		st.addAddr(rec.Data)
	}
	r.mu.Unlock()
	if r.opts.OnEvent != nil {
		ev := rec
		r.emit(Event{Record: &ev})
	}
	r.mine(x, rec.Name)
}

// addAddress attaches an address reached through a CNAME chain to an
// in-scope name.
func (r *run) addAddress(name string, a netip.Addr) {
	r.mu.Lock()
	if st, ok := r.names[name]; ok {
		st.addAddr(a.String())
	}
	r.mu.Unlock()
}

// addRef records an out-of-scope name that in-scope data points at.
func (r *run) addRef(name, from, via string) {
	if name == "" || name == "." || r.inScope(name) {
		return
	}
	r.mu.Lock()
	r.refs[Reference{Name: name, From: from, Via: via}] = true
	r.mu.Unlock()
}

// takePending returns and clears the names waiting for expansion.
func (r *run) takePending() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pending
	r.pending = nil
	return p
}

// query sends one recursive query and returns the message. Timeouts and
// exhausted retries come back as errors.
func (r *run) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	return r.queryOpts(ctx, resolver.Query{Name: name, Type: qtype})
}

func (r *run) queryOpts(ctx context.Context, q resolver.Query) (*dns.Msg, error) {
	r.plan(1)
	resp, err := r.send(ctx, q)
	r.done(1)
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
func (r *run) send(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	name := dnsname.FromWire(q.Name)
	if servers := r.routeFor(name); servers != nil {
		return r.routeDirect(ctx, servers, q)
	}
	resp, err := r.ex.Exchange(ctx, q)
	switch {
	case err == nil && resp.Msg.Rcode != dns.RcodeServerFailure && resp.Msg.Rcode != dns.RcodeRefused:
		return resp, nil
	case err != nil && !errors.Is(err, resolver.ErrTimeout):
		return nil, err
	}
	if servers := r.authFor(name); len(servers) > 0 {
		if auth, _ := r.askAuth(ctx, servers, q); auth != nil {
			return auth, nil
		}
	}
	return resp, err
}

// direct sends one query to a chosen server.
func (r *run) direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	r.plan(1)
	resp, err := r.ex.Direct(ctx, server, q)
	r.done(1)
	return resp, err
}

func (r *run) plan(n int) {
	if p := r.opts.Progress; p != nil {
		p.Planned.Add(int64(n))
	}
}

func (r *run) done(n int) {
	if p := r.opts.Progress; p != nil {
		p.Done.Add(int64(n))
	}
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
