package recon

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// dnssec finds how a signed zone denies existence and, for NSEC, walks the
// chain; for NSEC3, collects the chain and cracks it offline.
func (r *run) dnssec(ctx context.Context, z *Zone) {
	r.mu.Lock()
	signed, denial := z.Signed, z.Denial
	servers := append([]netip.AddrPort(nil), r.auth[z.Name]...)
	r.mu.Unlock()
	if !signed || len(servers) == 0 {
		return
	}
	// The zone's budget: WalkTimeout for the whole of it, denial probe,
	// walk or collection and cracking included.
	ctx, cancel := context.WithTimeout(ctx, r.opts.WalkTimeout)
	defer cancel()
	if denial == "" {
		denial = r.denialKind(ctx, z.Name, servers)
	}
	r.mu.Lock()
	z.Denial = denial
	r.mu.Unlock()
	switch denial {
	case "nsec":
		r.walkNSEC(ctx, z, servers)
	case "nsec3":
		r.collectNSEC3(ctx, z, servers)
	}
}

// denialKind asks for a name that cannot exist and reads the proof.
func (r *run) denialKind(ctx context.Context, zone string, servers []netip.AddrPort) string {
	probe := randomLabel() + "." + zone
	for _, s := range servers {
		resp, err := r.direct(ctx, s, resolver.Query{Name: probe, Type: dns.TypeA, DO: true})
		if err != nil {
			continue
		}
		for _, x := range resp.Msg.Ns {
			switch x.(type) {
			case *dns.NSEC:
				return "nsec"
			case *dns.NSEC3:
				return "nsec3"
			}
		}
		return ""
	}
	return ""
}

// walkNSEC follows the NSEC chain of zone z from its apex until it closes,
// turning every owner name into a discovery. A server that synthesises
// minimal NSEC records on the fly ("white lies" / "black lies") yields no
// real successors; the walk stops and says so.
func (r *run) walkNSEC(ctx context.Context, z *Zone, servers []netip.AddrPort) {
	seen := map[string]bool{}
	cur := z.Name
	walked := 0
	complete := false
	stopped := ""
	for step := 0; ; step++ {
		if step >= r.opts.WalkMax {
			stopped = fmt.Sprintf("step budget of %d reached (--walk-max)", r.opts.WalkMax)
			break
		}
		if ctx.Err() != nil {
			stopped = r.budgetText(ctx)
			break
		}
		nsec := r.nsecAt(ctx, cur, servers)
		if nsec == nil {
			if ctx.Err() != nil {
				stopped = r.budgetText(ctx)
			}
			r.log.Debug("nsec walk stopped: no NSEC for name", "zone", z.Name, "name", cur)
			break
		}
		owner := rr.Owner(nsec)
		if !seen[owner] && dnsname.IsSubdomain(owner, z.Name) {
			seen[owner] = true
			walked++
			r.nsecOwner(owner, nsec)
		}
		next := dnsname.FromWire(nsec.NextDomain)
		if next == z.Name {
			complete = true
			break
		}
		if !dnsname.IsSubdomain(next, z.Name) || seen[next] || isSynthetic(owner, next) {
			r.log.Debug("nsec walk stopped", "zone", z.Name, "owner", owner, "next", next)
			break
		}
		cur = next
	}
	r.mu.Lock()
	z.Walked = walked
	z.WalkComplete = complete
	z.WalkStopped = stopped
	r.mu.Unlock()
	if stopped != "" {
		r.gap(Gap{Stage: "nsec", Zone: z.Name, Reason: fmt.Sprintf("walk stopped after %d names: %s", walked, stopped)})
	}
}

// budgetText says why ctx (a stage's budget under the run's context)
// ended: the run was stopped, or the stage's time budget ran out.
func (r *run) budgetText(ctx context.Context) string {
	if r.stopped() {
		return "the run was stopped"
	}
	return fmt.Sprintf("time budget of %v reached (--walk-timeout)", r.opts.WalkTimeout)
}

// isSynthetic recognises NSEC records made up per query: the next name is
// the owner with a \000 label prepended (RFC 4470 minimal covering, "black
// lies").
func isSynthetic(owner, next string) bool {
	return strings.HasPrefix(next, `\000.`) && strings.TrimPrefix(next, `\000.`) == owner
}

// nsecOwner records what an NSEC record reveals about its owner.
func (r *run) nsecOwner(owner string, nsec *dns.NSEC) {
	if strings.HasPrefix(owner, "*.") {
		var types []string
		for _, t := range nsec.TypeBitMap {
			if t != dns.TypeRRSIG && t != dns.TypeNSEC {
				types = append(types, rr.TypeString(t))
			}
		}
		r.addWildcardTypes(owner, types)
		return
	}
	r.addName(owner, SourceNSEC)
	r.noteTypes(owner, nsec.TypeBitMap)
}

// nsecAt returns the NSEC record whose owner is name, or, when name is a
// delegation or the server will not answer type NSEC there, the record
// covering the name that sorts right after name.
func (r *run) nsecAt(ctx context.Context, name string, servers []netip.AddrPort) *dns.NSEC {
	for _, s := range servers {
		resp, err := r.direct(ctx, s, resolver.Query{Name: name, Type: dns.TypeNSEC, DO: true})
		if err != nil {
			continue
		}
		for _, x := range resp.Msg.Answer {
			if n, ok := x.(*dns.NSEC); ok && rr.Owner(x) == name {
				return n
			}
		}
		// Ask for a name just after name in canonical order: its NSEC
		// proof covers the gap that starts at name.
		after := successor(name)
		if after == "" {
			return nil
		}
		resp, err = r.direct(ctx, s, resolver.Query{Name: after, Type: dns.TypeA, DO: true})
		if err != nil {
			continue
		}
		for _, x := range resp.Msg.Ns {
			if n, ok := x.(*dns.NSEC); ok && rr.Owner(x) == name {
				return n
			}
		}
		for _, x := range resp.Msg.Ns {
			if n, ok := x.(*dns.NSEC); ok && covers(rr.Owner(x), dnsname.FromWire(n.NextDomain), name) {
				return n
			}
		}
		return nil
	}
	return nil
}

// successor returns a name that sorts immediately after name and all names
// below it: its first label with a \000 octet appended.
func successor(name string) string {
	first, rest, _ := strings.Cut(name, ".")
	if len(first) >= 63 {
		return ""
	}
	if rest == "" {
		return first + `\000`
	}
	return first + `\000.` + rest
}

// covers reports whether name falls in the NSEC span [owner, next).
func covers(owner, next, name string) bool {
	if canonicalLess(owner, next) {
		return !canonicalLess(name, owner) && canonicalLess(name, next)
	}
	// The last NSEC wraps around to the apex.
	return !canonicalLess(name, owner)
}

// canonicalLess orders names as RFC 4034 section 6.1 does.
func canonicalLess(a, b string) bool {
	return dnsname.Compare(a, b) < 0
}

// randomLabel returns a label of 16 random lower-case letters and digits,
// which no real zone is expected to hold.
func randomLabel() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [16]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
