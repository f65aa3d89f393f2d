package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

// cnameChain follows the CNAME records of an answer from name and returns
// the names visited, name first. Loops end the walk.
func cnameChain(m *dns.Msg, name string) []string {
	chain := []string{dnsname.FromWire(name)}
	for range len(m.Answer) {
		cur := chain[len(chain)-1]
		next := ""
		for _, rr := range m.Answer {
			if c, ok := rr.(*dns.CNAME); ok && dnsname.FromWire(c.Hdr.Name) == cur {
				next = dnsname.FromWire(c.Target)
				break
			}
		}
		if next == "" || slices.Contains(chain, next) {
			break
		}
		chain = append(chain, next)
	}
	return chain
}

var danglingCNAMECheck = Check{
	ID:       "dangling-cname",
	Title:    "CNAME points at a name that does not exist",
	Severity: []Rating{{finding.High, "takeover-prone or registrable target"}, {finding.Medium, "other"}, {finding.Low, "service listed as not vulnerable"}},
	Remediation: "Remove the CNAME, or recreate the resource it points at; when the target lies in a third-party " +
		"service or an unregistered domain, do it now: whoever claims the name serves content under your " +
		"domain.",
	References: []string{refTakeover, refTakeover2, refRFC1034, refCWE350},
	Doc: Doc{
		Detects: "a CNAME whose target does not exist (NXDOMAIN through the resolver, chains followed). Subject: " +
			"the CNAME owner.",
		How: "each CNAME target is resolved; for an NXDOMAIN the chain is matched against the takeover " +
			"patterns (below), and the registrable domain of the dangling end is asked for its SOA (only " +
			"where registration is possible: an ICANN suffix, or a lab world's own TLD).",
		Severity: "high when the target matches a service listed as vulnerable to takeover, or its registrable " +
			"domain does not exist (anyone can register it and serve content under your name); medium for an " +
			"\"edge case\" service or an unknown target; low for a service listed as not vulnerable. Offline, or " +
			"when the lookup settles nothing (timeout, SERVFAIL), the chain end recon recorded for the alias " +
			"(`names[].chain`, `\"rcode\": \"NXDOMAIN\"`) is the evidence; the registrable-domain question needs " +
			"the network and is then skipped.",
		Fix: "remove the CNAME or recreate the resource it points at — now, if the target is claimable.",
		References: "[can-i-take-over-xyz](https://github.com/EdOverflow/can-i-take-over-xyz), MDN \"Subdomain " +
			"takeovers\", RFC 1034; CWE-350.",
		Data: "`internal/checks/takeover.json`, derived from can-i-take-over-xyz's `fingerprints.json` (commit " +
			"5bd4e1283791): service, status (vulnerable / edge case / not vulnerable), the NXDOMAIN flag, the " +
			"discussion link and every CNAME value that is a domain name (26 services). The copy of the " +
			"source in `internal/checks/testdata/takeover/` is the input of `TestTakeoverData`, which fails " +
			"when the shipped file is not exactly its derivation (`go test ./internal/checks -run " +
			"TestTakeoverData -update` rewrites it).",
	},
	Run: checkDanglingCNAME,
}

// chainEnds returns, per alias name of the result, where recon saw its
// chain end.
func (e *Env) chainEnds() map[string]recon.ChainEnd {
	out := map[string]recon.ChainEnd{}
	for _, n := range e.Result.Names {
		if n.Chain != nil {
			out[dnsname.FromWire(n.Name)] = *n.Chain
		}
	}
	return out
}

func checkDanglingCNAME(ctx context.Context, env *Env) ([]finding.Finding, error) {
	// Offline (or when a lookup settles nothing), the chain end recon
	// recorded for the alias is the evidence.
	ends := env.chainEnds()
	type pair struct{ owner, target string }
	var pairs []pair
	for _, r := range env.recordsOf(dns.TypeCNAME) {
		t := dnsname.FromWire(r.rr.(*dns.CNAME).Target)
		if t == "." || t == r.owner {
			continue
		}
		pairs = append(pairs, pair{r.owner, t})
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmpStrings(a.owner, b.owner, a.target, b.target) })
	pairs = slices.Compact(pairs)
	results := make([]*finding.Finding, len(pairs))
	err := env.forEach(ctx, len(pairs), func(i int) {
		p := pairs[i]
		st, m := env.exists(ctx, p.target, dns.TypeA)
		var chain []string
		switch end, seen := ends[p.owner]; {
		case st == stateNXDomain:
			chain = cnameChain(m, p.target)
		case st == stateUnknown && seen && end.Rcode == "NXDOMAIN":
			chain = []string{p.target}
			if end.Target != p.target {
				chain = append(chain, end.Target)
			}
		default:
			return
		}
		end := chain[len(chain)-1]
		ev := []string{fmt.Sprintf("%s CNAME %s: the target does not exist (NXDOMAIN)", p.owner, p.target)}
		if len(chain) > 1 {
			ev = append(ev, fmt.Sprintf("chain %s ends at %s, which does not exist", strings.Join(chain, " -> "), end))
		}
		sev := finding.Medium
		// The dangling end decides; an intermediate name that points into
		// a service counts too.
		for j := len(chain) - 1; j >= 0; j-- {
			svc, suffix, ok := matchTakeover(chain[j])
			if !ok {
				continue
			}
			line := fmt.Sprintf("%s matches %s (%s), listed as %s to takeover by can-i-take-over-xyz", chain[j], svc.Service, suffix, svc.Status)
			if svc.Discussion != "" {
				line += " (" + svc.Discussion + ")"
			}
			ev = append(ev, line)
			switch svc.Status {
			case statusVulnerable:
				sev = finding.High
			case statusNotVulnerable:
				sev = finding.Low
			}
			break
		}
		if reg, missing := env.registrableMissing(ctx, end); missing {
			sev = finding.High
			ev = append(ev, fmt.Sprintf("the domain %s does not exist (NXDOMAIN): anyone can register it and serve %s", reg, p.owner))
		}
		f := newFinding(sev, p.owner, ev...)
		results[i] = &f
	})
	return collect(results), err
}
