package recon

import (
	"context"
	"net/netip"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// addSweep asks for the neighbourhood of addresses in p to be swept (SPF
// ranges). Ranges wider than the sweep prefix are left alone.
func (r *run) addSweep(p netip.Prefix) {
	bits := r.opts.PTRPrefix4
	if p.Addr().Is6() {
		bits = r.opts.PTRPrefix6
	}
	if p.Bits() < bits {
		return
	}
	r.mu.Lock()
	r.sweepExtra = append(r.sweepExtra, p.Addr())
	r.mu.Unlock()
}

// ptrSweep asks PTR for every address of the neighbourhood (/24 and /120
// by default) of each address discovered so far, within the run's PTR
// budget, and keeps the in-scope names the PTR records reveal. It reports
// whether a new name turned up.
func (r *run) ptrSweep(ctx context.Context) bool {
	r.mu.Lock()
	var prefixes []netip.Prefix
	consider := func(a netip.Addr) {
		if !sweepable(a) {
			return
		}
		bits := r.opts.PTRPrefix4
		if a.Is6() {
			bits = r.opts.PTRPrefix6
		}
		p, err := a.Prefix(bits)
		if err != nil || r.swept[p] {
			return
		}
		size := 1 << (a.BitLen() - bits)
		if r.ptrUsed+size > r.opts.PTRMax {
			return
		}
		r.swept[p] = true
		r.ptrUsed += size
		prefixes = append(prefixes, p)
	}
	for _, st := range r.names {
		for _, a := range st.addrs {
			if ip, err := netip.ParseAddr(a); err == nil {
				consider(ip)
			}
		}
	}
	for _, a := range r.sweepExtra {
		consider(a)
	}
	r.sweepExtra = nil
	r.mu.Unlock()
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
	parallel(ctx, len(addrs), r.opts.Concurrency, func(i int) {
		arpa, err := dns.ReverseAddr(addrs[i].String())
		if err != nil {
			return
		}
		m, err := r.query(ctx, arpa, dns.TypePTR)
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
			if len(targets) == 0 || !r.inScope(targets[0]) {
				continue
			}
			if r.addName(targets[0], SourcePTR) {
				found.Add(1)
			}
			r.addRecord(p, SourcePTR)
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
