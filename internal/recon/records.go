package recon

import (
	"context"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
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
func apexRecords(ctx context.Context, s *scope, z *Zone) (answered bool, why string) {
	msgs := make([]*dns.Msg, len(apexTypes))
	why = "no answer"
	parallel(ctx, len(apexTypes), len(apexTypes), func(i int) {
		m, err := s.query(ctx, z.Name, apexTypes[i])
		if apexTypes[i] == dns.TypeSOA {
			if err == nil && judge(z.Name, dns.TypeSOA, m).known {
				answered = true
			} else {
				why = failText(m, err)
			}
		}
		if err != nil {
			s.log.Debug("apex query failed", "zone", z.Name, "type", rr.TypeString(apexTypes[i]), "err", err)
			return
		}
		msgs[i] = m
		s.absorb(ctx, z.Name, apexTypes[i], m, SourceStandard)
	})
	s.ledger.editZone(z, func(z *Zone) { zoneFacts(z, msgs) })
	return answered, why
}

// zoneFacts fills zone z's facts from the answers at its apex.
func zoneFacts(z *Zone, msgs []*dns.Msg) {
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

// absorb keeps the records of a response to a query for name/qtype that
// belong to name's chain (records about other names are never taken from
// an answer), follows a CNAME chain the resolver left open, attaches the
// addresses at the chain's end to name and records where the chain ends.
// It returns the verdict on name (see judge).
func (s *scope) absorb(ctx context.Context, name string, qtype uint16, m *dns.Msg, source string) verdict {
	v := judge(name, qtype, m)
	s.ledger.markAnswered(name, qtype, m, &v)
	s.keepChain(&v, m, source)
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
		next, err := s.query(ctx, end.Target, qtype)
		if err != nil {
			end.Rcode = ""
			break
		}
		w := judge(end.Target, qtype, next)
		s.keepChain(&w, next, source)
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
		s.ledger.addAddress(name, a)
	}
	if v.alias {
		v.end = end
		s.ledger.setChain(name, qtype, end)
	}
	return v
}

// keepChain keeps the records of m that belong to v's chain, and notes
// out-of-scope chain names as references.
func (s *scope) keepChain(v *verdict, m *dns.Msg, source string) {
	for _, x := range m.Answer {
		if !v.onChain(x) {
			continue
		}
		s.ledger.addRecord(x, source)
		if c, ok := x.(*dns.CNAME); ok {
			s.ledger.addRef(dnsname.FromWire(c.Target), rr.Owner(x), "CNAME")
		}
	}
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
