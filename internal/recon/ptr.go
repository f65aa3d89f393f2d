package recon

import (
	"context"
	"net/netip"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// ptrSweep asks PTR for every address of the neighbourhood (/24 and /120
// by default) of each address discovered so far, and of the SPF ranges
// mined, within the run's PTR budget (Options.PTRMax), and keeps the
// in-scope names the PTR records reveal. It remembers the prefixes it
// swept and the budget used.
type ptrSweep struct {
	swept map[netip.Prefix]bool
	used  int
}

func newPTRSweep() *ptrSweep { return &ptrSweep{swept: map[netip.Prefix]bool{}} }

func (t *ptrSweep) name() string { return "ptr" }

// round sweeps the neighbourhoods not swept yet and reports whether a new
// name turned up.
func (t *ptrSweep) round(ctx context.Context, s *scope) bool {
	s.stage("ptr")
	var prefixes []netip.Prefix
	consider := func(a netip.Addr) {
		if !sweepable(a) {
			return
		}
		bits := s.opts.PTRPrefix4
		if a.Is6() {
			bits = s.opts.PTRPrefix6
		}
		p, err := a.Prefix(bits)
		if err != nil || t.swept[p] {
			return
		}
		size := 1 << (a.BitLen() - bits)
		if t.used+size > s.opts.PTRMax {
			return
		}
		t.swept[p] = true
		t.used += size
		prefixes = append(prefixes, p)
	}
	s.ledger.eachName(func(_ string, addrs []string) {
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil {
				consider(ip)
			}
		}
	})
	for _, a := range s.ledger.takeSweeps() {
		consider(a)
	}
	if len(prefixes) == 0 {
		return false
	}

	var addrs []netip.Addr
	for _, p := range prefixes {
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			addrs = append(addrs, a)
			if !a.Next().IsValid() {
				break
			}
		}
	}
	var found atomic.Int64
	parallel(ctx, len(addrs), s.opts.Concurrency, func(i int) {
		arpa, err := dns.ReverseAddr(addrs[i].String())
		if err != nil {
			return
		}
		m, err := s.query(ctx, arpa, dns.TypePTR)
		if err != nil {
			return
		}
		v := judge(dnsname.FromWire(arpa), dns.TypePTR, m)
		if !v.exists {
			return
		}
		// A classless delegation (RFC 2317) reaches the PTR through a
		// CNAME: the chain's records count, no others.
		for _, x := range m.Answer {
			p, ok := x.(*dns.PTR)
			if !ok || !v.onChain(x) {
				continue
			}
			targets := rr.Targets(p)
			if len(targets) == 0 || !s.ledger.inScope(targets[0]) {
				continue
			}
			if s.ledger.addName(targets[0], SourcePTR) {
				found.Add(1)
			}
			s.ledger.addRecord(p, SourcePTR)
		}
	})
	return found.Load() > 0
}

// sweepable reports whether a's neighbourhood is worth PTR queries: unicast
// addresses, private ones included (internal reverse zones served publicly
// are a leak), but not loopback, unspecified or multicast.
func sweepable(a netip.Addr) bool {
	return a.IsValid() && !a.IsLoopback() && !a.IsUnspecified() && !a.IsMulticast() &&
		!a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast()
}
