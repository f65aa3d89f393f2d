package recon

import (
	"context"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/passive"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// apexTypes are asked at every zone apex.
var apexTypes = []uint16{
	dns.TypeSOA, dns.TypeNS, dns.TypeMX, dns.TypeTXT, dns.TypeA, dns.TypeAAAA,
	dns.TypeCNAME, dns.TypeCAA, dns.TypeSRV, dns.TypeDNSKEY, dns.TypeDS,
	dns.TypeNSEC3PARAM, dns.TypeHTTPS, dns.TypeSVCB,
}

// nameTypes are asked at every other discovered name. NS finds delegated
// sub-zones; the rest are what hosts and services publish.
var nameTypes = []uint16{
	dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeMX, dns.TypeTXT,
	dns.TypeNS, dns.TypeCAA, dns.TypeHTTPS,
}

// maxChain bounds CNAME chains followed by hand.
const maxChain = 16

// apexRecords asks every apex type of zone z and fills the zone facts. It
// reports whether the SOA query got an answer that settles the zone's
// existence, and if not, why.
func (r *run) apexRecords(ctx context.Context, z *Zone) (answered bool, why string) {
	msgs := make([]*dns.Msg, len(apexTypes))
	why = "no answer"
	parallel(ctx, len(apexTypes), len(apexTypes), func(i int) {
		m, err := r.query(ctx, z.Name, apexTypes[i])
		if apexTypes[i] == dns.TypeSOA {
			if err == nil && judge(z.Name, dns.TypeSOA, m).known {
				answered = true
			} else {
				why = failText(m, err)
			}
		}
		if err != nil {
			r.log.Debug("apex query failed", "zone", z.Name, "type", rr.TypeString(apexTypes[i]), "err", err)
			return
		}
		msgs[i] = m
		r.absorb(ctx, z.Name, apexTypes[i], m, SourceStandard)
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		if m == nil {
			continue
		}
		for _, x := range m.Answer {
			if rr.Owner(x) != z.Name {
				continue
			}
			switch v := x.(type) {
			case *dns.SOA:
				z.SOA = rr.Data(v)
			case *dns.NS:
				z.ChildNS = appendUnique(z.ChildNS, dnsname.FromWire(v.Ns))
			case *dns.DNSKEY:
				z.Signed = true
			case *dns.NSEC3PARAM:
				z.Denial = "nsec3"
			}
		}
	}
	return answered, why
}

// bruteTypes are asked at names that only brute force found, beyond the A
// query that found them: what hosts commonly publish, and NS to find
// delegated sub-zones.
var bruteTypes = []uint16{dns.TypeAAAA, dns.TypeMX, dns.TypeTXT, dns.TypeNS}

// typesFor returns the types still worth asking at a discovered name:
// nothing for a CNAME (its owner holds no other data and the chain was
// followed), SRV and TXT for service labels, the lean bruteTypes for names
// only brute force found, nameTypes otherwise — minus the types already
// answered.
func (r *run) typesFor(name string) []uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answered[name][dns.TypeCNAME] {
		return nil
	}
	types := nameTypes
	bitmap, walked := r.bitmaps[name]
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
	case r.names[name] != nil && onlyFrom(r.names[name].sources, SourceBruteforce):
		types = bruteTypes
	}
	var out []uint16
	for _, t := range types {
		// An answered A query also told whether the name is a CNAME.
		if r.answered[name][t] || (t == dns.TypeCNAME && r.answered[name][dns.TypeA]) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// noteTypes keeps the type bitmap an NSEC or NSEC3 record gave for name:
// expansion asks only those types (a hostile chain that invents names
// costs one query per name, not one per type).
func (r *run) noteTypes(name string, bitmap []uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bitmaps == nil {
		r.bitmaps = map[string][]uint16{}
	}
	r.bitmaps[name] = bitmap
}

// markAnswered notes that name answered qtype (NOERROR), and that it is an
// alias when the answer says so (whatever the RCODE: an alias whose target
// is gone answers NXDOMAIN).
func (r *run) markAnswered(name string, qtype uint16, m *dns.Msg, v *verdict) {
	if m.Rcode != dns.RcodeSuccess && !v.alias {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answered == nil {
		r.answered = map[string]map[uint16]bool{}
	}
	a := r.answered[name]
	if a == nil {
		a = map[uint16]bool{}
		r.answered[name] = a
	}
	if m.Rcode == dns.RcodeSuccess {
		a[qtype] = true
	}
	if v.alias {
		a[dns.TypeCNAME] = true
	}
}

// absorb keeps the records of a response to a query for name/qtype that
// belong to name's chain (records about other names are never taken from
// an answer), follows a CNAME chain the resolver left open, attaches the
// addresses at the chain's end to name and records where the chain ends.
// It returns the verdict on name (see judge).
func (r *run) absorb(ctx context.Context, name string, qtype uint16, m *dns.Msg, source string) verdict {
	v := judge(name, qtype, m)
	r.markAnswered(name, qtype, m, &v)
	r.keepChain(&v, m, source)
	end := v.end
	var seen map[string]bool // the chain's names, when it has to be followed
	if v.open {
		seen = map[string]bool{name: true}
		for _, n := range v.chain {
			seen[n] = true
		}
	}
	addrs := v.addrs
	for depth := 0; v.open && !end.Loop && qtype != dns.TypeCNAME; depth++ {
		if depth >= maxChain {
			end.Rcode = "" // longer than we follow: not settled
			break
		}
		// The chain ends in a target the answer holds nothing for:
		// follow it ourselves.
		next, err := r.query(ctx, end.Target, qtype)
		if err != nil {
			end.Rcode = ""
			break
		}
		w := judge(end.Target, qtype, next)
		r.keepChain(&w, next, source)
		addrs = append(addrs, w.addrs...)
		end.Rcode = w.state(next)
		if w.alias {
			end.Hops += w.end.Hops
			end.Target = w.end.Target
			for _, n := range w.chain {
				if seen[n] {
					end.Loop, end.Rcode = true, RcodeLoop
				}
				seen[n] = true
			}
			end.Loop = end.Loop || w.end.Loop
		}
		v.open = w.open
	}
	for _, a := range addrs {
		r.addAddress(name, a)
	}
	if v.alias {
		v.end = end
		r.setChain(name, qtype, end)
	}
	return v
}

// keepChain keeps the records of m that belong to v's chain, and notes
// out-of-scope chain names as references.
func (r *run) keepChain(v *verdict, m *dns.Msg, source string) {
	for _, x := range m.Answer {
		if !v.onChain(x) {
			continue
		}
		r.addRecord(x, source)
		if c, ok := x.(*dns.CNAME); ok {
			r.addRef(dnsname.FromWire(c.Target), rr.Owner(x), "CNAME")
		}
	}
}

// setChain records where name's alias chain ends. The answer to an A query
// wins over others (NODATA for MX says less than NXDOMAIN for A).
func (r *run) setChain(name string, qtype uint16, end ChainEnd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.names[name]
	if !ok {
		return
	}
	if st.chain == nil || qtype == dns.TypeA || st.chain.Rcode == "" {
		e := end
		st.chain = &e
	}
}

// expandPending resolves every name waiting for expansion with the
// standard types, and verifies mined candidates. It reports whether
// anything was done.
func (r *run) expandPending(ctx context.Context) bool {
	progressed := r.verifyCandidates(ctx)
	for {
		names := r.takePending()
		if len(names) == 0 {
			return progressed
		}
		progressed = true
		type job struct {
			name  string
			qtype uint16
		}
		var jobs []job
		for _, n := range names {
			if r.coveredByTransfer(n) || isZoneApexName(r, n) {
				continue // a transfer or zone() already has its records
			}
			for _, t := range r.typesFor(n) {
				jobs = append(jobs, job{n, t})
			}
		}
		parallel(ctx, len(jobs), r.opts.Concurrency, func(i int) {
			j := jobs[i]
			m, err := r.query(ctx, j.name, j.qtype)
			if err != nil {
				return
			}
			r.absorb(ctx, j.name, j.qtype, m, SourceStandard)
		})
		r.verifyCandidates(ctx)
	}
}

// signedZone reports whether the closest known zone enclosing name is
// DNSSEC-signed: there signatures can tell wildcard expansions from real
// names.
func (r *run) signedZone(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	best := ""
	for z := range r.zones {
		if dnsname.IsSubdomain(name, z) && len(z) > len(best) {
			best = z
		}
	}
	return best != "" && r.zones[best].Signed
}

func isZoneApexName(r *run, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.zones[name]
	return ok
}

// coveredByTransfer reports whether name lies in a zone whose content a
// zone transfer already gave us (so asking its types again adds nothing):
// its closest enclosing zone cut — a zone enumerated, or an owner of NS
// records seen, such as a delegation inside a transferred zone — was
// transferred.
func (r *run) coveredByTransfer(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for n := name; ; n = dnsname.Parent(n) {
		if _, zone := r.zones[n]; zone || r.cuts[n] {
			return r.transferred[n]
		}
		if n == "." {
			return false
		}
	}
}

// candidate queues a name that record data mentions; it becomes a
// discovery once a query shows it exists.
func (r *run) candidate(name, source string) {
	if !r.inScope(name) || strings.HasPrefix(name, "*") {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, known := r.names[name]; known {
		if st := r.names[name]; !containsStr(st.sources, source) {
			st.sources = append(st.sources, source)
		}
		return
	}
	if r.candidates == nil {
		r.candidates = map[string]string{}
	}
	if _, queued := r.candidates[name]; !queued {
		r.candidates[name] = source
	}
}

// verifyCandidates resolves queued candidates; those that exist (and are
// not just a wildcard's echo) become names.
func (r *run) verifyCandidates(ctx context.Context) bool {
	r.mu.Lock()
	cands := r.candidates
	r.candidates = nil
	r.mu.Unlock()
	if len(cands) == 0 {
		return false
	}
	names := make([]string, 0, len(cands))
	for n := range cands {
		names = append(names, n)
	}
	parallel(ctx, len(names), r.opts.Concurrency, func(i int) {
		n := names[i]
		if r.hasName(n) {
			r.addName(n, cands[n])
			return
		}
		if r.coveredByTransfer(n) {
			// Not in the zone's transfer: it does not exist (or is a
			// wildcard's), or lies past a capped transfer's end.
			return
		}
		m, err := r.query(ctx, n, dns.TypeA)
		if err != nil {
			return
		}
		r.noteLiveness(ctx, n, m)
		if l, known := r.liveness(n); !known || l == passive.LiveNXDomain {
			return // no usable answer, gone, or a wildcard's echo
		}
		r.addName(n, cands[n])
		r.absorb(ctx, n, dns.TypeA, m, SourceStandard)
	})
	return true
}

// subzones enumerates every delegated sub-zone found inside scope: names
// below a known zone apex that carry NS records. It reports whether a new
// zone was enumerated.
func (r *run) subzones(ctx context.Context) bool {
	r.mu.Lock()
	var found []string
	for _, rec := range r.res.Records {
		if rec.Type != "NS" || !r.inScope(rec.Name) {
			continue
		}
		if _, known := r.zones[rec.Name]; !known && !containsStr(found, rec.Name) {
			found = append(found, rec.Name)
		}
	}
	r.mu.Unlock()
	for _, z := range found {
		if ctx.Err() != nil {
			break
		}
		r.log.Debug("delegated sub-zone", "zone", z)
		if err := r.zone(ctx, z); err != nil {
			r.log.Warn("sub-zone enumeration failed", "zone", z, "err", err)
		}
	}
	return len(found) > 0
}

// queryDO sends a recursive query with the DNSSEC OK bit.
func (r *run) queryDO(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	return r.queryOpts(ctx, resolver.Query{Name: name, Type: qtype, DO: true})
}

func appendUnique(s []string, v string) []string {
	if containsStr(s, v) {
		return s
	}
	return append(s, v)
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// onlyFrom reports whether source is the only source listed.
func onlyFrom(sources []string, source string) bool {
	return len(sources) == 1 && sources[0] == source
}
