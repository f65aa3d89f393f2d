package checks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/passive"
)

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
		out = append(out, newFinding("historic-dangling", sev, h.Name, ev...))
	}
	return out, nil
}
