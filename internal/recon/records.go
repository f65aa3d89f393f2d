package recon

import (
	"context"
	"net/netip"
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

// apexRecords asks every apex type of zone z and fills the zone facts.
func (r *run) apexRecords(ctx context.Context, z *Zone) {
	msgs := make([]*dns.Msg, len(apexTypes))
	parallel(ctx, len(apexTypes), len(apexTypes), func(i int) {
		m, err := r.query(ctx, z.Name, apexTypes[i])
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
	switch {
	case strings.HasPrefix(name, "_"):
		types = []uint16{dns.TypeSRV, dns.TypeTXT}
	case r.names[name] != nil && onlyFrom(r.names[name].name.Sources, SourceBruteforce):
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

// markAnswered notes that name answered qtype (NOERROR), and that it is a
// CNAME when the answer says so.
func (r *run) markAnswered(name string, qtype uint16, m *dns.Msg) {
	if m.Rcode != dns.RcodeSuccess {
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
	a[qtype] = true
	for _, x := range m.Answer {
		if x.Header().Rrtype == dns.TypeCNAME && rr.Owner(x) == name {
			a[dns.TypeCNAME] = true
		}
	}
}

// absorb keeps the records of a response to a query for name/qtype, follows
// a CNAME chain the resolver left unfinished, and attaches the addresses at
// the chain's end to name.
func (r *run) absorb(ctx context.Context, name string, qtype uint16, m *dns.Msg, source string) {
	r.markAnswered(name, qtype, m)
	answer := m.Answer
	for depth := 0; ; depth++ {
		for _, x := range answer {
			r.addRecord(x, source)
			if c, ok := x.(*dns.CNAME); ok {
				r.addRef(dnsname.FromWire(c.Target), rr.Owner(x), "CNAME")
			}
		}
		end, addrs, open := chainEnd(name, answer)
		for _, a := range addrs {
			r.addAddress(name, a)
		}
		if !open || depth >= maxChain || m.Rcode != dns.RcodeSuccess || qtype == dns.TypeCNAME {
			return
		}
		// The chain ends in a CNAME whose target the answer does not
		// resolve: follow it ourselves.
		next, err := r.query(ctx, end, qtype)
		if err != nil || next.Rcode != dns.RcodeSuccess || len(next.Answer) == 0 {
			return
		}
		m, answer = next, append(answer, next.Answer...)
	}
}

// chainEnd follows name through the CNAMEs of answer. It returns the last
// name of the chain, the addresses found at it, and whether the chain ends
// in a CNAME target that answer holds no records for (open). A loop ends
// the walk as closed.
func chainEnd(name string, answer []dns.RR) (end string, addrs []netip.Addr, open bool) {
	seen := map[string]bool{}
	cur := name
	for !seen[cur] {
		seen[cur] = true
		target := ""
		for _, x := range answer {
			if rr.Owner(x) != cur {
				continue
			}
			switch v := x.(type) {
			case *dns.CNAME:
				target = dnsname.FromWire(v.Target)
			case *dns.A:
				if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
					addrs = append(addrs, a)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(v.AAAA); ok {
					addrs = append(addrs, a.Unmap())
				}
			}
		}
		if target == "" {
			return cur, addrs, false
		}
		cur = target
		if !hasOwner(answer, cur) {
			return cur, addrs, true
		}
	}
	return cur, addrs, false
}

func hasOwner(answer []dns.RR, name string) bool {
	for _, x := range answer {
		if rr.Owner(x) == name {
			return true
		}
	}
	return false
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

// coveredByTransfer reports whether name lies in a zone whose full content
// a zone transfer already gave us (so asking its types again adds nothing).
func (r *run) coveredByTransfer(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	best := ""
	for z := range r.zones {
		if dnsname.IsSubdomain(name, z) && len(z) > len(best) {
			best = z
		}
	}
	return best != "" && r.transferred[best]
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
		if st := r.names[name]; !containsStr(st.name.Sources, source) {
			st.name.Sources = append(st.name.Sources, source)
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
		m, err := r.query(ctx, n, dns.TypeA)
		if err != nil {
			return
		}
		r.noteLiveness(ctx, n, m)
		if l, _ := r.liveness(n); l == passive.LiveNXDomain || m.Rcode != dns.RcodeSuccess {
			return // gone, a wildcard's echo, or no usable answer
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
