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

// dnssecChains finds how each signed zone denies existence and, for
// NSEC, walks the chain; for NSEC3, collects the chain and cracks it
// offline, and cracks it again each expansion round with the names found
// since. It keeps the NSEC3 chains it collected, by zone.
type dnssecChains struct {
	chains map[string]zoneChain
}

type zoneChain struct {
	z     *Zone
	chain *nsec3Chain
}

func newDNSSECChains() *dnssecChains { return &dnssecChains{chains: map[string]zoneChain{}} }

func (t *dnssecChains) name() string { return "dnssec" }

func (t *dnssecChains) zone(ctx context.Context, s *scope, z *Zone, _ string) {
	s.stage("dnssec " + z.Name)
	t.dnssec(ctx, s, z)
}

// round re-cracks the chains collected (see recrack).
func (t *dnssecChains) round(ctx context.Context, s *scope) bool { return t.recrack(ctx, s) }

// dnssec walks or collects the denial chain of zone z.
func (t *dnssecChains) dnssec(ctx context.Context, s *scope, z *Zone) {
	facts := s.ledger.zone(z)
	signed, denial := facts.Signed, facts.Denial
	servers := s.ledger.authOf(z.Name)
	if !signed || len(servers) == 0 {
		return
	}
	// The zone's budget: WalkTimeout for the whole of it, denial probe,
	// walk or collection and cracking included.
	ctx, cancel := context.WithTimeout(ctx, s.opts.WalkTimeout)
	defer cancel()
	if denial == "" {
		denial = t.denialKind(ctx, s, z.Name, servers)
	}
	s.ledger.editZone(z, func(z *Zone) { z.Denial = denial })
	switch denial {
	case "nsec":
		t.walkNSEC(ctx, s, z, servers)
	case "nsec3":
		t.collectNSEC3(ctx, s, z, servers)
	}
}

// denialKind asks for a name that cannot exist and reads the proof.
func (t *dnssecChains) denialKind(ctx context.Context, s *scope, zone string, servers []netip.AddrPort) string {
	probe := randomLabel() + "." + zone
	for _, srv := range servers {
		resp, err := s.direct(ctx, srv, resolver.Query{Name: probe, Type: dns.TypeA, DO: true})
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
func (t *dnssecChains) walkNSEC(ctx context.Context, s *scope, z *Zone, servers []netip.AddrPort) {
	seen := map[string]bool{}
	cur := z.Name
	walked := 0
	complete := false
	stopped := ""
	for step := 0; ; step++ {
		if step >= s.opts.WalkMax {
			stopped = fmt.Sprintf("step budget of %d reached (--walk-max)", s.opts.WalkMax)
			break
		}
		if ctx.Err() != nil {
			stopped = s.budgetText(ctx)
			break
		}
		nsec := t.nsecAt(ctx, s, cur, servers)
		if nsec == nil {
			if ctx.Err() != nil {
				stopped = s.budgetText(ctx)
			}
			s.log.Debug("nsec walk stopped: no NSEC for name", "zone", z.Name, "name", cur)
			break
		}
		owner := rr.Owner(nsec)
		if !seen[owner] && dnsname.IsSubdomain(owner, z.Name) {
			seen[owner] = true
			walked++
			t.nsecOwner(s, owner, nsec)
		}
		next := dnsname.FromWire(nsec.NextDomain)
		if next == z.Name {
			complete = true
			break
		}
		if !dnsname.IsSubdomain(next, z.Name) || seen[next] || isSynthetic(owner, next) {
			s.log.Debug("nsec walk stopped", "zone", z.Name, "owner", owner, "next", next)
			break
		}
		cur = next
	}
	s.ledger.editZone(z, func(z *Zone) {
		z.Walked = walked
		z.WalkComplete = complete
		z.WalkStopped = stopped
	})
	if stopped != "" {
		s.ledger.gap(Gap{Stage: "nsec", Zone: z.Name, Reason: fmt.Sprintf("walk stopped after %d names: %s", walked, stopped)})
	}
}

// budgetText says why ctx (a stage's budget under the run's context)
// ended: the run was stopped, or the stage's time budget ran out.
func (s *scope) budgetText(ctx context.Context) string {
	if s.stopped() {
		return "the run was stopped"
	}
	return fmt.Sprintf("time budget of %v reached (--walk-timeout)", s.opts.WalkTimeout)
}

// isSynthetic recognises NSEC records made up per query: the next name is
// the owner with a \000 label prepended (RFC 4470 minimal covering, "black
// lies").
func isSynthetic(owner, next string) bool {
	return strings.HasPrefix(next, `\000.`) && strings.TrimPrefix(next, `\000.`) == owner
}

// nsecOwner records what an NSEC record reveals about its owner.
func (t *dnssecChains) nsecOwner(s *scope, owner string, nsec *dns.NSEC) {
	if strings.HasPrefix(owner, "*.") {
		var types []string
		for _, t := range nsec.TypeBitMap {
			if t != dns.TypeRRSIG && t != dns.TypeNSEC {
				types = append(types, rr.TypeString(t))
			}
		}
		s.addWildcardTypes(owner, types)
		return
	}
	s.ledger.addName(owner, SourceNSEC)
	s.ledger.noteTypes(owner, nsec.TypeBitMap)
}

// nsecAt returns the NSEC record whose owner is name, or, when name is a
// delegation or the server will not answer type NSEC there, the record
// covering the name that sorts right after name.
func (t *dnssecChains) nsecAt(ctx context.Context, s *scope, name string, servers []netip.AddrPort) *dns.NSEC {
	for _, srv := range servers {
		resp, err := s.direct(ctx, srv, resolver.Query{Name: name, Type: dns.TypeNSEC, DO: true})
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
		resp, err = s.direct(ctx, srv, resolver.Query{Name: after, Type: dns.TypeA, DO: true})
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
