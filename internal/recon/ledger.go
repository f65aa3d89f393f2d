package recon

import (
	"hash/maphash"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/passive"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// ledger is what the techniques of one run share: the names, records,
// references, wildcards, zones, nameservers and gaps found so far, the
// names waiting for expansion, the name budget, and the events and
// progress counts that report them. It has one lock; every method takes
// it, so techniques never do (a technique's own state is its own, see
// technique.go). Callbacks (eachName) run under the lock and must not call
// the ledger.
type ledger struct {
	apex     string
	maxNames int
	log      *slog.Logger
	onEvent  func(Event)
	progress *Progress
	// onRecord sees every new record kept (the miner, see mine.go).
	onRecord func(x dns.RR, owner string)
	emitMu   sync.Mutex

	mu      sync.Mutex
	res     *Result
	names   map[string]*nameState
	records recordIndex
	refs    map[Reference]bool
	zones   map[string]*Zone
	nsIndex map[[2]string]int // (zone, ns name) -> index into res.Nameservers
	pending []string          // names waiting for expansion
	// candidates are in-scope names that data mentions, waiting to be
	// verified, with the source that mentioned them.
	candidates map[string]string
	// transferred marks zones whose content a zone transfer gave us; cuts
	// marks the owners of NS records seen (zone apexes and delegations).
	transferred map[string]bool
	cuts        map[string]bool
	// sweeps are addresses from SPF ranges whose neighbourhood the next
	// PTR sweep covers.
	sweeps []netip.Addr
	// answered marks, per name, the types that got a NOERROR answer (and
	// TypeCNAME when the name is an alias).
	answered map[string]map[uint16]bool
	// live is what a query says of a name's existence today.
	live map[string]passive.Liveness
	// bitmaps holds the types an NSEC or NSEC3 record lists for a name.
	bitmaps map[string][]uint16
	// auth lists, per zone, the addresses that answered authoritatively.
	auth map[string][]netip.AddrPort
}

func newLedger(apex string, opts *Options, log *slog.Logger) *ledger {
	return &ledger{
		apex:        apex,
		maxNames:    opts.MaxNames,
		log:         log,
		onEvent:     opts.OnEvent,
		progress:    opts.Progress,
		res:         &Result{Domain: apex},
		names:       map[string]*nameState{},
		records:     newRecordIndex(),
		refs:        map[Reference]bool{},
		zones:       map[string]*Zone{},
		nsIndex:     map[[2]string]int{},
		transferred: map[string]bool{},
		cuts:        map[string]bool{},
		auth:        map[string][]netip.AddrPort{},
	}
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

// emit hands an event to the caller's sink, one call at a time.
func (l *ledger) emit(ev Event) {
	if l.onEvent == nil {
		return
	}
	ev.Domain = l.apex
	l.emitMu.Lock()
	defer l.emitMu.Unlock()
	l.onEvent(ev)
}

// inScope reports whether name is at or below the target domain.
func (l *ledger) inScope(name string) bool { return dnsname.IsSubdomain(name, l.apex) }

// addName records an in-scope name and the source that revealed it. It
// returns true when the name is new; new names wait for expansion.
func (l *ledger) addName(name, source string) bool {
	if !l.inScope(name) || strings.HasPrefix(name, "*") {
		return false
	}
	l.mu.Lock()
	st, ok := l.names[name]
	if ok {
		if !slices.Contains(st.sources, source) {
			st.sources = append(st.sources, source)
		}
		l.mu.Unlock()
		return false
	}
	if len(l.names) >= l.maxNames {
		l.mu.Unlock()
		l.log.Warn("name limit reached; not expanding further", "limit", l.maxNames)
		return false
	}
	st = &nameState{sources: sourceList(source)}
	l.names[name] = st
	l.pending = append(l.pending, name)
	var ev *Name
	if l.onEvent != nil {
		ev = &Name{Name: name, Sources: []string{source}, Addresses: []string{}}
	}
	l.mu.Unlock()
	if p := l.progress; p != nil {
		p.Names.Add(1)
	}
	if ev != nil {
		l.emit(Event{Name: ev})
	}
	return true
}

// hasName reports whether name is already known.
func (l *ledger) hasName(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.names[name]
	return ok
}

// nameCount returns the number of names known.
func (l *ledger) nameCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.names)
}

// eachName calls fn with every known name and its addresses, under the
// lock (fn must not call the ledger, nor keep addrs).
func (l *ledger) eachName(fn func(name string, addrs []string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n, st := range l.names {
		fn(n, st.addrs)
	}
}

// addRecord keeps one record (first source wins) and hands it to onRecord.
// Records of out-of-scope owners are not kept; their owners become
// references of the in-scope name that led to them.
func (l *ledger) addRecord(x dns.RR, source string) {
	h := x.Header()
	switch h.Rrtype {
	case dns.TypeOPT, dns.TypeTSIG, dns.TypeSIG:
		return
	}
	owner := rr.Owner(x)
	if !l.inScope(owner) && h.Rrtype != dns.TypePTR {
		return
	}
	// The owner and data strings are kept for the whole run: copied out
	// of the message's (the data is a slice of the record's whole text).
	rec := Record{Name: strings.Clone(owner), Type: rr.Type(x), TTL: h.Ttl, Data: strings.Clone(rr.Data(x)), Source: source}
	if strings.HasPrefix(owner, "*.") && h.Rrtype != dns.TypeRRSIG && h.Rrtype != dns.TypeNSEC {
		l.addWildcardData(owner, rec.Type, rec.Data)
	}
	key := recordKey{rec.Name, rec.Type, rec.Data}
	l.mu.Lock()
	if !l.records.add(l.res.Records, key) {
		l.mu.Unlock()
		return
	}
	l.res.Records = append(l.res.Records, rec)
	if h.Rrtype == dns.TypeNS {
		l.cuts[owner] = true
	}
	if st, ok := l.names[owner]; ok && (h.Rrtype == dns.TypeA || h.Rrtype == dns.TypeAAAA) {
		st.addAddr(rec.Data)
	}
	l.mu.Unlock()
	if l.onEvent != nil {
		ev := rec
		l.emit(Event{Record: &ev})
	}
	if l.onRecord != nil {
		l.onRecord(x, rec.Name)
	}
}

// addAddress attaches an address reached through a CNAME chain to an
// in-scope name.
func (l *ledger) addAddress(name string, a netip.Addr) {
	l.mu.Lock()
	if st, ok := l.names[name]; ok {
		st.addAddr(a.String())
	}
	l.mu.Unlock()
}

// addRef records an out-of-scope name that in-scope data points at.
func (l *ledger) addRef(name, from, via string) {
	if name == "" || name == "." || l.inScope(name) {
		return
	}
	l.mu.Lock()
	l.refs[Reference{Name: name, From: from, Via: via}] = true
	l.mu.Unlock()
}

// takePending returns and clears the names waiting for expansion.
func (l *ledger) takePending() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pending
	l.pending = nil
	return p
}

// queue puts a name (a wildcard owner a denial chain revealed) on the
// expansion list without making it a discovery.
func (l *ledger) queue(name string) {
	l.mu.Lock()
	l.pending = append(l.pending, name)
	l.mu.Unlock()
}

// candidate queues a name that record data mentions; it becomes a
// discovery once a query shows it exists.
func (l *ledger) candidate(name, source string) {
	if !l.inScope(name) || strings.HasPrefix(name, "*") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st, known := l.names[name]; known {
		if !containsStr(st.sources, source) {
			st.sources = append(st.sources, source)
		}
		return
	}
	if l.candidates == nil {
		l.candidates = map[string]string{}
	}
	if _, queued := l.candidates[name]; !queued {
		l.candidates[name] = source
	}
}

// takeCandidates returns and clears the queued candidates.
func (l *ledger) takeCandidates() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.candidates
	l.candidates = nil
	return c
}

// gap notes a part of the run that could not be covered.
func (l *ledger) gap(g Gap) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.res.Gaps, g) {
		l.res.Gaps = append(l.res.Gaps, g)
	}
}

// markPartial marks the result as cut short.
func (l *ledger) markPartial(g Gap) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.MarkPartial(g)
}

// markAnswered notes that name answered qtype (NOERROR), and that it is an
// alias when the answer says so (whatever the RCODE: an alias whose target
// is gone answers NXDOMAIN).
func (l *ledger) markAnswered(name string, qtype uint16, m *dns.Msg, v *verdict) {
	if m.Rcode != dns.RcodeSuccess && !v.alias {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answered == nil {
		l.answered = map[string]map[uint16]bool{}
	}
	a := l.answered[name]
	if a == nil {
		a = map[uint16]bool{}
		l.answered[name] = a
	}
	if m.Rcode == dns.RcodeSuccess {
		a[qtype] = true
	}
	if v.alias {
		a[dns.TypeCNAME] = true
	}
}

// noteTypes keeps the type bitmap an NSEC or NSEC3 record gave for name:
// expansion asks only those types (a hostile chain that invents names
// costs one query per name, not one per type).
func (l *ledger) noteTypes(name string, bitmap []uint16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bitmaps == nil {
		l.bitmaps = map[string][]uint16{}
	}
	l.bitmaps[name] = bitmap
}

// typesFor returns the types still worth asking at a discovered name:
// nothing for a CNAME (its owner holds no other data and the chain was
// followed), SRV and TXT for service labels, the lean bruteTypes for names
// only brute force found, nameTypes otherwise — minus the types already
// answered.
func (l *ledger) typesFor(name string) []uint16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answered[name][dns.TypeCNAME] {
		return nil
	}
	types := nameTypes
	bitmap, walked := l.bitmaps[name]
	switch {
	case walked && slices.Contains(bitmap, dns.TypeCNAME):
		// An alias: an A query follows its chain.
		types = []uint16{dns.TypeA}
	case walked:
		// The denial chain listed the types the name holds: ask those.
		types = nil
		for _, t := range nameTypes {
			if slices.Contains(bitmap, t) {
				types = append(types, t)
			}
		}
	case strings.HasPrefix(name, "_"):
		types = []uint16{dns.TypeSRV, dns.TypeTXT}
	case l.names[name] != nil && onlyFrom(l.names[name].sources, SourceBruteforce):
		types = bruteTypes
	}
	var out []uint16
	for _, t := range types {
		// An answered A query also told whether the name is a CNAME.
		if l.answered[name][t] || (t == dns.TypeCNAME && l.answered[name][dns.TypeA]) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// setChain records where name's alias chain ends. The answer to an A query
// wins over others (NODATA for MX says less than NXDOMAIN for A).
func (l *ledger) setChain(name string, qtype uint16, end ChainEnd) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.names[name]
	if !ok {
		return
	}
	if st.chain == nil || qtype == dns.TypeA || st.chain.Rcode == "" {
		e := end
		st.chain = &e
	}
}

// addZone opens zone name; it returns nil when the zone was opened before.
func (l *ledger) addZone(name string) *Zone {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, done := l.zones[name]; done {
		return nil
	}
	z := &Zone{Name: name}
	l.zones[name] = z
	return z
}

// isZone reports whether name is a zone opened for enumeration.
func (l *ledger) isZone(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.zones[name]
	return ok
}

// zone returns a copy of the facts of zone z.
func (l *ledger) zone(z *Zone) Zone {
	l.mu.Lock()
	defer l.mu.Unlock()
	return *z
}

// editZone changes the facts of zone z under the lock.
func (l *ledger) editZone(z *Zone, fn func(z *Zone)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(z)
}

// newCuts returns the in-scope owners of NS records that are no zone yet:
// delegated sub-zones to enumerate.
func (l *ledger) newCuts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var found []string
	for _, rec := range l.res.Records {
		if rec.Type != "NS" || !l.inScope(rec.Name) {
			continue
		}
		if _, known := l.zones[rec.Name]; !known && !containsStr(found, rec.Name) {
			found = append(found, rec.Name)
		}
	}
	return found
}

// signedZone reports whether the closest known zone enclosing name is
// DNSSEC-signed: there signatures can tell wildcard expansions from real
// names.
func (l *ledger) signedZone(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	best := ""
	for z := range l.zones {
		if dnsname.IsSubdomain(name, z) && len(z) > len(best) {
			best = z
		}
	}
	return best != "" && l.zones[best].Signed
}

// markTransferred notes that a zone transfer gave us zone's content.
func (l *ledger) markTransferred(zone string) {
	l.mu.Lock()
	l.transferred[zone] = true
	l.mu.Unlock()
}

// coveredByTransfer reports whether name lies in a zone whose content a
// zone transfer already gave us (so asking its types again adds nothing):
// its closest enclosing zone cut — a zone enumerated, or an owner of NS
// records seen, such as a delegation inside a transferred zone — was
// transferred.
func (l *ledger) coveredByTransfer(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n := name; ; n = dnsname.Parent(n) {
		if _, zone := l.zones[n]; zone || l.cuts[n] {
			return l.transferred[n]
		}
		if n == "." {
			return false
		}
	}
}

// authOf returns the addresses that answered authoritatively for zone.
func (l *ledger) authOf(zone string) []netip.AddrPort {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]netip.AddrPort(nil), l.auth[zone]...)
}

// authFor returns the servers that answered authoritatively for the
// closest zone enumerated that encloses name.
func (l *ledger) authFor(name string) []netip.AddrPort {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n := name; ; n = dnsname.Parent(n) {
		if _, zone := l.zones[n]; zone {
			return l.auth[n]
		}
		if n == "." {
			return nil
		}
	}
}

// probedNameserver adds sources to the nameserver name of zone when it was
// probed already, and reports whether it was.
func (l *ledger) probedNameserver(zone, name string, sources []string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, done := l.nsIndex[[2]string{zone, name}]
	if !done {
		return false
	}
	ns := &l.res.Nameservers[i]
	for _, x := range sources {
		ns.Sources = appendUnique(ns.Sources, x)
	}
	return true
}

// addNameservers keeps the nameservers probed for zone (those not kept
// yet), notes the addresses that answered authoritatively, and emits them.
func (l *ledger) addNameservers(zone string, port uint16, nss []Nameserver) {
	l.mu.Lock()
	for i := range nss {
		if nss[i].Name == "" {
			continue // never started: the run was interrupted
		}
		key := [2]string{zone, nss[i].Name}
		if _, dup := l.nsIndex[key]; dup {
			continue
		}
		l.nsIndex[key] = len(l.res.Nameservers)
		l.res.Nameservers = append(l.res.Nameservers, nss[i])
		for _, s := range nss[i].Servers {
			if s.Authoritative {
				ap := netip.AddrPortFrom(netip.MustParseAddr(s.Address), port)
				if !slices.Contains(l.auth[zone], ap) {
					l.auth[zone] = append(l.auth[zone], ap)
				}
			}
		}
	}
	l.mu.Unlock()
	for i := range nss {
		if nss[i].Name == "" {
			continue
		}
		ns := nss[i]
		l.emit(Event{Nameserver: &ns})
	}
}

// addSweep asks for the neighbourhood of a to be swept by the next PTR
// sweep.
func (l *ledger) addSweep(a netip.Addr) {
	l.mu.Lock()
	l.sweeps = append(l.sweeps, a)
	l.mu.Unlock()
}

// takeSweeps returns and clears the addresses added by addSweep.
func (l *ledger) takeSweeps() []netip.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sweeps
	l.sweeps = nil
	return s
}

// setLiveness records what a query said of name's existence today.
func (l *ledger) setLiveness(name string, live passive.Liveness) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.live == nil {
		l.live = map[string]passive.Liveness{}
	}
	l.live[name] = live
}

func (l *ledger) liveness(name string) (passive.Liveness, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lv, ok := l.live[name]
	return lv, ok
}

// addWildcardData adds one datum to the wildcard entry owner/typ.
func (l *ledger) addWildcardData(owner, typ, data string) {
	l.mu.Lock()
	for i := range l.res.Wildcards {
		w := &l.res.Wildcards[i]
		if w.Name == owner && w.Type == typ {
			if !slices.Contains(w.Data, data) {
				w.Data = append(w.Data, data)
				sort.Strings(w.Data)
			}
			l.mu.Unlock()
			return
		}
	}
	w := Wildcard{Name: owner, Type: typ, Data: []string{data}}
	l.res.Wildcards = append(l.res.Wildcards, w)
	l.mu.Unlock()
	l.emit(Event{Wildcard: &w})
}

// deeperCandidates returns, sorted, the names worth brute-forcing below:
// empty non-terminals (a name that answered NOERROR without records of
// its own has children) and then names with children already known —
// never a zone apex, a name still waiting for expansion or a service
// label.
func (l *ledger) deeperCandidates() (ents, parents []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	hasRecords := map[string]bool{}
	for _, rec := range l.res.Records {
		hasRecords[rec.Name] = true
	}
	hasChild := map[string]bool{}
	for n := range l.names {
		hasChild[dnsname.Parent(n)] = true
	}
	pending := map[string]bool{}
	for _, n := range l.pending {
		pending[n] = true
	}
	for n := range l.names {
		if _, isZone := l.zones[n]; isZone || pending[n] || strings.HasPrefix(n, "_") {
			continue
		}
		switch {
		case !hasRecords[n] && len(l.answered[n]) > 0:
			// It answered NOERROR and holds no records: an empty
			// non-terminal. (A PTR target that does not exist forward
			// never answered NOERROR.)
			ents = append(ents, n)
		case hasChild[n]:
			parents = append(parents, n)
		}
	}
	sort.Strings(ents)
	sort.Strings(parents)
	return ents, parents
}

// addPassiveStatuses keeps what each passive source delivered.
func (l *ledger) addPassiveStatuses(sts []PassiveStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.PassiveSources = append(l.res.PassiveSources, sts...)
}

// addHistoric keeps names passive data knows that no longer resolve, and
// marks the live names passive data knew with when it saw them.
func (l *ledger) addHistoric(hs []HistoricName, known map[string]passive.NameInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.Historic = append(l.res.Historic, hs...)
	for name, st := range l.names {
		if p, ok := known[name]; ok {
			st.seen = &passiveSeen{sources: p.Sources}
			if !p.FirstSeen.IsZero() {
				st.seen.first = p.FirstSeen.UTC()
				st.seen.last = p.LastSeen.UTC()
			}
		}
	}
}

// addresses returns every address the ledger holds (of names, address
// records and nameservers), sorted.
func (l *ledger) addresses() []netip.Addr {
	l.mu.Lock()
	set := map[netip.Addr]bool{}
	add := func(a string) {
		if ip, err := netip.ParseAddr(a); err == nil {
			set[ip] = true
		}
	}
	for _, st := range l.names {
		for _, a := range st.addrs {
			add(a)
		}
	}
	for _, rec := range l.res.Records {
		if rec.Type == "A" || rec.Type == "AAAA" {
			add(rec.Data)
		}
	}
	for _, ns := range l.res.Nameservers {
		for _, a := range ns.Addresses {
			add(a)
		}
	}
	l.mu.Unlock()
	addrs := make([]netip.Addr, 0, len(set))
	for a := range set {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	return addrs
}

// setAddresses keeps the address list of the result.
func (l *ledger) setAddresses(out []AddressInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.Addresses = out
}
