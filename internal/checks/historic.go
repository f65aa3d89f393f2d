package checks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/passive"
)

var historicDanglingCheck = Check{
	ID:       "historic-dangling",
	Title:    "Passive DNS knows a name (or alias target) that no longer exists",
	Severity: []Rating{{finding.High, "takeover-prone or registrable target"}, {finding.Medium, "CNAME target gone"}, {finding.Low, "name gone"}},
	Remediation: "Delete what still points at the vanished name: CNAMEs to a removed target are takeover bait, and " +
		"forgotten names in passive DNS tell an adversary which services existed; check that the " +
		"resources behind them are really gone, and that no CNAME, MX, NS or link still refers to them.",
	References: []string{refTakeover, refTakeover2, refRFC1034, refCWE350},
	Doc: Doc{
		Detects: "what passive DNS (the local store with `--db`, CIRCL/DNSDB services, certificate transparency) " +
			"knew of the domain that live DNS no longer has: a name that no longer resolves (kind `gone`), or " +
			"a name passive DNS saw as a CNAME whose target no longer exists (kind `cname-target-gone`; " +
			"targets outside the domain included). Subject: the name.",
		How: "recon resolves every name the passive sources return and every former CNAME target (`historic` " +
			"in the JSON); a name that only a wildcard answers counts as gone. Nothing is reported in " +
			"`--passive-only` mode (nothing is resolved then).",
		Severity: "low for a name that is gone (forgotten names tell an adversary which services existed, and " +
			"whatever still links to them is a liability); medium for a vanished CNAME target; high when that " +
			"target is a service listed as vulnerable to takeover, or its registrable domain does not exist.",
		Fix: "delete what still points at the vanished name or target (CNAMEs, MX, NS, links) and make sure " +
			"the resources behind it are really gone.",
		References: "can-i-take-over-xyz, MDN \"Subdomain takeovers\", RFC 1034; CWE-350; ATT&CK T1596.001 (passive DNS " +
			"is exactly what adversaries search).",
	},
	Run: checkHistoricDangling,
}

// checkHistoricDangling reports what passive DNS knew that live DNS no
// longer has (recon fills Result.Historic by resolving every passive name
// and every former CNAME target): names that no longer resolve, and names
// whose former CNAME target no longer exists. A vanished target that a
// third-party service hands out, or whose domain is unregistered, is the
// subdomain-takeover case and rates high.
func checkHistoricDangling(ctx context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, h := range env.Result.Historic {
		var ev []string
		sev := finding.Low
		seen := "passive DNS (" + strings.Join(h.Sources, ", ") + ")"
		if !h.LastSeen.IsZero() {
			seen += " last saw it " + h.LastSeen.UTC().Format(time.DateOnly)
		}
		switch h.Kind {
		case passive.StaleTarget:
			sev = finding.Medium
			ev = append(ev, fmt.Sprintf("%s knew %s as an alias of %s; %s does not exist now (NXDOMAIN)", seen, h.Name, h.Target, h.Target))
			if svc, suffix, ok := matchTakeover(h.Target); ok {
				ev = append(ev, fmt.Sprintf("%s matches %s (%s), listed as %s to takeover by can-i-take-over-xyz", h.Target, svc.Service, suffix, svc.Status))
				if svc.Status == statusVulnerable {
					sev = finding.High
				}
			}
			if env.Exchanger != nil {
				if reg, missing := env.registrableMissing(ctx, h.Target); missing {
					sev = finding.High
					ev = append(ev, fmt.Sprintf("the domain %s does not exist (NXDOMAIN): anyone can register it", reg))
				}
			}
		default:
			ev = append(ev, fmt.Sprintf("%s knew %s; it does not resolve now", seen, h.Name))
			if h.Target != "" {
				ev = append(ev, "it was an alias of "+h.Target)
			}
		}
		for _, r := range h.Records {
			ev = append(ev, "was: "+h.Name+" "+r)
		}
		out = append(out, newFinding(sev, h.Name, ev...))
	}
	return out, nil
}
