package recon

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// A zone the resolver cannot answer for (its servers time out or refuse,
// its DNSSEC is broken, the resolver itself is lame for it) is still
// audited: recon asks the parent zone's servers directly for the
// delegation (NS, glue, DS), walking down from the closest ancestor whose
// servers the resolver can name (the root at worst: the root servers the
// resolver itself uses, never resolv.conf), probes every nameserver
// address of the delegation directly, and, when one of them answers
// authoritatively, sends every later query for names of that zone straight
// to the servers that do (routes).

// maxReferrals bounds the referrals followed from the starting zone down
// to the zone asked (a hostile parent could refer forever).
const maxReferrals = 32

// delegation is what the parent side of a zone cut says about it.
type delegation struct {
	// zone is the deepest zone cut found at or above the name asked;
	// parent is the zone that delegates it.
	zone, parent string
	// ns are the NS names of the delegation, sorted; glue their
	// addresses as the parent gives them (in its bailiwick only).
	ns   []string
	glue map[string][]netip.Addr
	// records are the delegation's NS, DS and glue records.
	records []dns.RR
}

// delegationCall shares one walk between concurrent callers.
type delegationCall struct {
	done chan struct{}
	d    *delegation
	err  error
}

// delegationOf returns the delegation of the deepest zone cut at or above
// name, as the parent's servers give it (one walk per name per run). It
// returns ErrNoSuchDomain when an authoritative server of an ancestor says
// name does not exist, and ErrNoAnswer when no server on the way answers.
func (s *scope) delegationOf(ctx context.Context, name string) (*delegation, error) {
	s.delegMu.Lock()
	c, ok := s.delegs[name]
	if !ok {
		c = &delegationCall{done: make(chan struct{})}
		s.delegs[name] = c
	}
	s.delegMu.Unlock()
	if !ok {
		c.d, c.err = s.walkDelegation(ctx, name)
		close(c.done)
	}
	select {
	case <-c.done:
		return c.d, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *scope) walkDelegation(ctx context.Context, name string) (*delegation, error) {
	zone, servers := s.startServers(ctx, name)
	if len(servers) == 0 {
		return nil, fmt.Errorf("%w: %s: no server of any parent zone is known", ErrNoAnswer, name)
	}
	var found *delegation
	for range maxReferrals {
		m, from := s.askFirst(ctx, servers, resolver.Query{Name: name, Type: dns.TypeNS})
		if m == nil {
			break // no server of zone answers: the last delegation stands
		}
		v := judge(name, dns.TypeNS, m)
		if v.known && !v.exists && m.Authoritative {
			return nil, fmt.Errorf("%w: %s (%s answered NXDOMAIN for %s)", ErrNoSuchDomain, name, from, zone)
		}
		cut, ns := referral(name, zone, m)
		if cut == "" {
			break // name lies inside zone: no further cut
		}
		d := &delegation{zone: cut, parent: zone, ns: ns, glue: glue(m, ns, zone)}
		for _, x := range append(m.Answer, m.Ns...) {
			if x.Header().Rrtype == dns.TypeNS && rr.Owner(x) == cut {
				d.records = append(d.records, x)
			}
		}
		for _, x := range m.Extra {
			if addrs := d.glue[rr.Owner(x)]; len(addrs) > 0 && (x.Header().Rrtype == dns.TypeA || x.Header().Rrtype == dns.TypeAAAA) {
				d.records = append(d.records, x)
			}
		}
		if ds, _ := s.askFirst(ctx, servers, resolver.Query{Name: cut, Type: dns.TypeDS}); ds != nil {
			for _, x := range ds.Answer {
				if x.Header().Rrtype == dns.TypeDS && rr.Owner(x) == cut {
					d.records = append(d.records, x)
				}
			}
		}
		found = d
		if cut == name || m.Authoritative {
			// An authoritative NS answer means the parent's servers serve
			// the child too: there is nothing further down to ask.
			break
		}
		zone, servers = cut, s.serversOf(ctx, d, false)
		if len(servers) == 0 {
			break
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s: no server of %s answered for it", ErrNoAnswer, name, zone)
	}
	return found, nil
}

// startServers finds the closest ancestor of name whose NS set the
// resolver gives, and the addresses of its servers. Walking up ends at the
// root, whose servers are the resolver's own root hints.
func (s *scope) startServers(ctx context.Context, name string) (string, []netip.AddrPort) {
	for z := dnsname.Parent(name); ctx.Err() == nil; z = dnsname.Parent(z) {
		if m, err := s.query(ctx, z, dns.TypeNS); err == nil {
			var ns []string
			for _, x := range m.Answer {
				if n, ok := x.(*dns.NS); ok && rr.Owner(x) == z {
					ns = appendUnique(ns, dnsname.FromWire(n.Ns))
				}
			}
			sort.Strings(ns)
			if servers := s.serversOf(ctx, &delegation{zone: z, ns: ns}, true); len(servers) > 0 {
				return z, servers
			}
		}
		if z == "." {
			break
		}
	}
	return "", nil
}

// serversOf returns the addresses of a delegation's servers: the glue,
// else what the resolver gives for each name. Names inside the delegated
// zone have only their glue, unless resolve says the resolver can answer
// for the zone.
func (s *scope) serversOf(ctx context.Context, d *delegation, resolve bool) []netip.AddrPort {
	var (
		mu  sync.Mutex
		out []netip.AddrPort
	)
	parallel(ctx, len(d.ns), len(d.ns), func(i int) {
		n := d.ns[i]
		addrs := d.glue[n]
		if len(addrs) == 0 && (resolve || !dnsname.IsSubdomain(n, d.zone)) {
			addrs, _ = s.addresses(ctx, n)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, a := range addrs {
			ap := netip.AddrPortFrom(a, s.opts.NameserverPort)
			if !slices.Contains(out, ap) {
				out = append(out, ap)
			}
		}
	})
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out
}

// askFirst sends q (no recursion) to each server in turn and returns the
// first answer that is not an error, SERVFAIL or REFUSED, with the server
// that gave it.
func (s *scope) askFirst(ctx context.Context, servers []netip.AddrPort, q resolver.Query) (*dns.Msg, netip.AddrPort) {
	for _, srv := range servers {
		resp, err := s.direct(ctx, srv, q)
		if ctx.Err() != nil {
			return nil, netip.AddrPort{}
		}
		if err != nil || resp.Msg.Rcode == dns.RcodeServerFailure || resp.Msg.Rcode == dns.RcodeRefused {
			continue
		}
		return resp.Msg, srv
	}
	return nil, netip.AddrPort{}
}

// referral returns the zone cut m points at for name when asked of a
// server of zone — the owner of the NS set in the answer or authority
// section, strictly below zone and at or above name — and its NS names.
func referral(name, zone string, m *dns.Msg) (string, []string) {
	cut := ""
	var ns []string
	for _, x := range append(append([]dns.RR(nil), m.Answer...), m.Ns...) {
		n, ok := x.(*dns.NS)
		if !ok {
			continue
		}
		owner := rr.Owner(x)
		if owner == zone || !dnsname.IsSubdomain(owner, zone) || !dnsname.IsSubdomain(name, owner) {
			continue
		}
		if cut == "" || len(owner) > len(cut) {
			cut, ns = owner, nil
		}
		if owner == cut {
			ns = appendUnique(ns, dnsname.FromWire(n.Ns))
		}
	}
	sort.Strings(ns)
	return cut, ns
}

// glue returns the addresses m's additional section gives for the NS
// names, keeping only records in the bailiwick of zone (the zone the
// answering server is authoritative for): out-of-bailiwick additional data
// is never accepted.
func glue(m *dns.Msg, ns []string, zone string) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	for _, x := range m.Extra {
		owner := rr.Owner(x)
		if !slices.Contains(ns, owner) || !dnsname.IsSubdomain(owner, zone) {
			continue
		}
		switch v := x.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(v.A.To4()); ok && !slices.Contains(out[owner], a) {
				out[owner] = append(out[owner], a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(v.AAAA); ok && !slices.Contains(out[owner], a.Unmap()) {
				out[owner] = append(out[owner], a.Unmap())
			}
		}
	}
	return out
}

// routeTable sends the queries for names of some zones straight to
// authoritative servers: zones the resolver cannot answer for, whose
// servers do. It is copied on write and read without locks on every query.
type routeTable map[string][]netip.AddrPort

// route makes every later query for names in zone go to servers.
func (s *scope) route(zone string, servers []netip.AddrPort) {
	s.routeMu.Lock()
	defer s.routeMu.Unlock()
	old := s.routes.Load()
	t := routeTable{}
	if old != nil {
		for k, v := range *old {
			t[k] = v
		}
	}
	t[zone] = servers
	s.routes.Store(&t)
}

// routeFor returns the servers queries for name go to, or nil for the
// resolver. A sub-zone that was not routed itself goes to the resolver
// (routeDirect falls back to it on a referral too).
func (s *scope) routeFor(name string) []netip.AddrPort {
	t := s.routes.Load()
	if t == nil {
		return nil
	}
	for n := name; ; n = dnsname.Parent(n) {
		if s, ok := (*t)[n]; ok {
			return s
		}
		if n == "." {
			return nil
		}
	}
}

// routeDirect asks the routed servers of a zone and returns the first
// authoritative answer. A referral to a sub-zone, or no answer from any of
// them, sends the query to the resolver.
func (s *scope) routeDirect(ctx context.Context, servers []netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	resp, lastErr := s.askAuth(ctx, servers, q)
	if resp != nil || ctx.Err() != nil {
		return resp, lastErr
	}
	resp, err := s.ex.Exchange(ctx, q)
	if err != nil && lastErr != nil {
		return nil, fmt.Errorf("%w (and the zone's own servers: %v)", err, lastErr)
	}
	return resp, err
}

// askAuth asks authoritative servers (in turn, starting at a different one
// each time, without recursion) and returns the first answer that is
// neither SERVFAIL, REFUSED nor a referral; nil when none gives one.
func (s *scope) askAuth(ctx context.Context, servers []netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	q.RD = false
	start := int(s.routeNext.Add(1))
	var lastErr error
	for i := range servers {
		srv := servers[(start+i)%len(servers)]
		resp, err := s.ex.Direct(ctx, srv, q)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
			continue
		}
		m := resp.Msg
		if m.Rcode == dns.RcodeServerFailure || m.Rcode == dns.RcodeRefused {
			continue
		}
		if !m.Authoritative && isReferral(dnsname.FromWire(q.Name), m) {
			return nil, nil // a sub-zone: the resolver's business
		}
		return resp, nil
	}
	return nil, lastErr
}

// failText says why a response or error settled nothing.
func failText(m *dns.Msg, err error) string {
	if err != nil {
		return errText(err)
	}
	return strings.ToLower(rcodeString(m.Rcode))
}
