package alert

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
)

// Rule sends the alerts it matches to its sinks. Every criterion that is
// set must hold; a list matches when any of its entries does. A rule with
// no criteria matches every alert.
type Rule struct {
	// Name identifies the rule in errors and logs. Required.
	Name string `json:"name"`
	// MinSeverity is the lowest severity that matches. Default info (all).
	MinSeverity finding.Severity `json:"min_severity"`
	// FindingIDs select alerts whose finding has one of these IDs
	// (docs/checks.md); alerts without a finding never match.
	FindingIDs []string `json:"finding_ids,omitempty"`
	// Kinds select alerts of these kinds (Kinds).
	Kinds []string `json:"kinds,omitempty"`
	// Domains select alerts whose domain matches one of these patterns:
	// a name ("example.com"), "*.example.com" (every name below it, not
	// example.com itself) or a glob of path.Match ("shop-?.example.*").
	// Case does not matter; Unicode names are compared as A-labels.
	Domains []string `json:"domains,omitempty"`
	// Sinks name the sinks the matched alerts go to. Required.
	Sinks []string `json:"sinks"`
}

// Match reports whether a satisfies every criterion of r.
func (r *Rule) Match(a *Alert) bool {
	if a.Severity < r.MinSeverity {
		return false
	}
	if len(r.FindingIDs) > 0 && (a.Finding == nil || !slices.Contains(r.FindingIDs, a.Finding.ID)) {
		return false
	}
	if len(r.Kinds) > 0 && !slices.Contains(r.Kinds, a.Kind) {
		return false
	}
	if len(r.Domains) > 0 {
		d := strings.TrimSuffix(strings.ToLower(a.Domain), ".")
		if !slices.ContainsFunc(r.Domains, func(p string) bool { return matchDomain(p, d) }) {
			return false
		}
	}
	return true
}

// matchDomain matches a canonical domain against a normalised pattern.
func matchDomain(pattern, domain string) bool {
	ok, err := path.Match(pattern, domain)
	return ok && err == nil
}

// route returns the names of the sinks a goes to: those of every rule it
// matches, each once, in the order the rules first name them.
func route(rules []Rule, a *Alert) []string {
	var out []string
	for i := range rules {
		if !rules[i].Match(a) {
			continue
		}
		for _, s := range rules[i].Sinks {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// normalizeDomainPattern lower-cases a domain pattern and converts names
// (with at most a leading "*." wildcard) to A-labels; other globs must be
// ASCII and valid for path.Match.
func normalizeDomainPattern(p string) (string, error) {
	p = strings.TrimSuffix(strings.TrimSpace(p), ".")
	if p == "" {
		return "", fmt.Errorf("empty pattern")
	}
	if strings.HasSuffix(p, ".") {
		return "", fmt.Errorf("empty label at the end")
	}
	if p == "*" {
		return p, nil
	}
	rest, wild := strings.CutPrefix(p, "*.")
	if !strings.ContainsAny(rest, "*?[]\\") {
		n, err := dnsname.Normalize(rest)
		if err != nil {
			return "", err
		}
		if wild {
			return "*." + n, nil
		}
		return n, nil
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x21 || c > 0x7e {
			return "", fmt.Errorf("a glob must be printable ASCII (write IDN labels as xn--)")
		}
	}
	p = strings.ToLower(p)
	if _, err := path.Match(p, ""); err != nil {
		return "", err
	}
	return p, nil
}
