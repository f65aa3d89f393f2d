package recon

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// The existence rule. Every stage that asks "does this name exist" —
// brute force, alterations, SRV and TXT labels, PTR sweeps, mined and
// passive candidates, wildcard probes, the apex itself — reads the
// response through judge, so that one rule decides everywhere:
//
//   - a record owned by the name asked (any type, CNAME included; or a
//     DNAME that rewrites it) means the name exists, whatever the RCODE:
//     NOERROR, NXDOMAIN (RFC 6604: the RCODE describes the end of the
//     chain, not the alias), SERVFAIL after a CNAME;
//   - NOERROR with an empty answer is NODATA: the name exists without
//     records of the type asked (an empty non-terminal, or other types),
//     unless the authority section is a referral to servers below, which
//     settles nothing;
//   - NXDOMAIN without such a record: the name does not exist;
//   - anything else (SERVFAIL, REFUSED, FORMERR, a NOERROR answer about
//     other names only) says nothing either way.

// verdict is what one response says about the name asked.
type verdict struct {
	// known is false when the response does not settle existence.
	known bool
	// exists: the name exists (valid only when known).
	exists bool
	// nodata: it exists without records of the type asked.
	nodata bool
	// alias: the name owns a CNAME (or a DNAME rewrote it); end says
	// where the chain stops and what was answered there.
	alias bool
	end   ChainEnd
	// dname: a DNAME owned by an ancestor rewrote the name (the name
	// mirrors another zone's).
	dname bool
	// name is the name asked; chain the names after it on its alias
	// chain (CNAME targets, DNAME owners): the only owners whose records
	// in the answer are accepted (see onChain).
	name  string
	chain []string
	// addrs are the A/AAAA addresses found at the chain's end.
	addrs []netip.Addr
	// open: the chain ends in a target that the answer holds no records
	// for and the RCODE is NOERROR: the resolver (or an authoritative
	// server) left the rest to us.
	open bool
}

// judge applies the existence rule to m, the response to "name qtype".
func judge(name string, qtype uint16, m *dns.Msg) verdict {
	v := walkChain(name, qtype, m)
	owned := false
	for _, x := range m.Answer {
		if rr.Owner(x) == name {
			owned = true
			break
		}
	}
	switch {
	case owned || v.alias:
		v.known, v.exists = true, true
		v.nodata = !v.alias && m.Rcode == dns.RcodeSuccess && !hasType(m.Answer, name, qtype)
	case m.Rcode == dns.RcodeNameError:
		v.known = true
	case m.Rcode != dns.RcodeSuccess:
		// SERVFAIL, REFUSED, ...: no statement about the name.
	case len(m.Answer) > 0:
		// NOERROR with records of other names only: a broken or lying
		// server; nothing it says about this name is taken.
	case isReferral(name, m):
		// A non-authoritative pointer to servers further down.
	default:
		v.known, v.exists, v.nodata = true, true, true
	}
	return v
}

// walkChain follows name through the CNAME and DNAME records of m's answer
// and fills the chain fields of a verdict. A loop or a chain longer than
// the answer ends the walk.
func walkChain(name string, qtype uint16, m *dns.Msg) verdict {
	v := verdict{name: name}
	if len(m.Answer) == 0 {
		return v // the common case (NXDOMAIN, NODATA): nothing to follow
	}
	cur := name
	var seen map[string]bool
	for hop := 0; hop <= len(m.Answer); hop++ {
		next := v.step(cur, m.Answer)
		if next == "" {
			break
		}
		v.alias = true
		v.end.Hops++
		if seen == nil {
			seen = map[string]bool{name: true}
		}
		if seen[next] {
			v.end.Loop = true
			cur = next
			break
		}
		seen[next] = true
		v.chain = append(v.chain, next)
		cur = next
	}
	if !v.alias {
		return v
	}
	v.end.Target = cur
	switch {
	case v.end.Loop:
		v.end.Rcode = RcodeLoop
	case hasType(m.Answer, cur, qtype) || (qtype == dns.TypeANY && hasOwner(m.Answer, cur)):
		v.end.Rcode = dns.RcodeToString[dns.RcodeSuccess]
	case m.Rcode == dns.RcodeSuccess && hasOwner(m.Answer, cur):
		// The end holds records, none of the type asked.
		v.end.Rcode = RcodeNoData
	case m.Rcode == dns.RcodeSuccess:
		// Nothing about the target: either NODATA or a chain the server
		// did not follow (it is not authoritative for the target).
		v.open = true
		v.end.Rcode = RcodeNoData
		if isReferral(cur, m) || !hasSOA(m.Ns) {
			v.end.Rcode = ""
		}
	default:
		v.end.Rcode = rcodeString(m.Rcode)
	}
	return v
}

// step reads the answer's records about cur, the chain's current name: it
// collects cur's addresses and returns the name a CNAME or DNAME sends cur
// to ("" at the chain's end).
func (v *verdict) step(cur string, answer []dns.RR) string {
	next := ""
	for _, x := range answer {
		owner := rr.Owner(x)
		switch t := x.(type) {
		case *dns.CNAME:
			if owner == cur {
				next = dnsname.FromWire(t.Target)
			}
		case *dns.DNAME:
			// A DNAME redirects the names below its owner.
			if next == "" && owner != cur && dnsname.IsSubdomain(cur, owner) {
				if cur == v.name {
					v.dname = true
				}
				target := dnsname.FromWire(t.Target)
				rest := strings.TrimSuffix(cur, "."+owner)
				if target == "." {
					next = rest
				} else {
					next = rest + "." + target
				}
				v.chain = append(v.chain, owner)
			}
		case *dns.A:
			if owner == cur {
				if a, ok := netip.AddrFromSlice(t.A.To4()); ok {
					v.addrs = append(v.addrs, a)
				}
			}
		case *dns.AAAA:
			if owner == cur {
				if a, ok := netip.AddrFromSlice(t.AAAA); ok {
					v.addrs = append(v.addrs, a.Unmap())
				}
			}
		}
	}
	return next
}

// Pseudo-RCODEs of ChainEnd.
const (
	// RcodeNoData: the chain's end exists without records of the type.
	RcodeNoData = "NODATA"
	// RcodeLoop: the chain comes back to a name it passed.
	RcodeLoop = "LOOP"
)

func rcodeString(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rc)
}

// state names what a verdict says about its name, in ChainEnd's terms:
// NOERROR (records of the type asked), NODATA, NXDOMAIN, or the RCODE of
// an answer that settled nothing.
func (v *verdict) state(m *dns.Msg) string {
	switch {
	case v.alias:
		return v.end.Rcode
	case !v.known:
		return rcodeString(m.Rcode)
	case !v.exists:
		return dns.RcodeToString[dns.RcodeNameError]
	case v.nodata:
		return RcodeNoData
	}
	return dns.RcodeToString[dns.RcodeSuccess]
}

// hasType reports whether answer holds a record of qtype owned by name.
func hasType(answer []dns.RR, name string, qtype uint16) bool {
	for _, x := range answer {
		if x.Header().Rrtype == qtype && rr.Owner(x) == name {
			return true
		}
	}
	return false
}

// hasOwner reports whether answer holds a record owned by name.
func hasOwner(answer []dns.RR, name string) bool {
	for _, x := range answer {
		if rr.Owner(x) == name {
			return true
		}
	}
	return false
}

func hasSOA(sec []dns.RR) bool {
	for _, x := range sec {
		if x.Header().Rrtype == dns.TypeSOA {
			return true
		}
	}
	return false
}

// isReferral reports whether m (NOERROR, no answer for name) points at
// other servers: NS records in the authority section, no SOA, and not
// owned by name itself (a delegation point does exist).
func isReferral(name string, m *dns.Msg) bool {
	if hasSOA(m.Ns) || m.Authoritative && len(m.Ns) == 0 {
		return false
	}
	ns := false
	for _, x := range m.Ns {
		if x.Header().Rrtype == dns.TypeNS {
			if rr.Owner(x) == name {
				return false
			}
			ns = true
		}
	}
	return ns
}

// onChain reports whether x belongs to the answer about the chain v
// describes: its owner is a name of the chain. Records about other names
// are never accepted from an answer (a poisoning attempt, or a server's
// mistake).
func (v *verdict) onChain(x dns.RR) bool {
	owner := rr.Owner(x)
	if owner == v.name {
		return true
	}
	for _, n := range v.chain {
		if n == owner {
			return true
		}
	}
	return false
}
