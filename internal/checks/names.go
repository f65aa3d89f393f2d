package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
)

// privateNamespaces are suffixes that never exist in the public DNS, with
// why. Any other TLD absent from the Public Suffix List is private too.
var privateNamespaces = []struct{ suffix, why string }{
	{"local", "reserved for multicast DNS (RFC 6762)"},
	{"home.arpa", "reserved for home networks (RFC 8375)"},
	{"localhost", "special-use loopback name (RFC 6761)"},
	{"localdomain", "a conventional private domain, not a public TLD"},
	{"internal", "reserved by ICANN for private use, never delegated"},
	{"lan", "a conventional private domain, not a public TLD"},
	{"corp", "a conventional private domain, not delegated (ICANN name-collision list)"},
	{"home", "a conventional private domain, not delegated (ICANN name-collision list)"},
	{"intranet", "a conventional private domain, not a public TLD"},
	{"private", "a conventional private domain, not a public TLD"},
	{"test", "special-use name for testing (RFC 6761)"},
	{"invalid", "special-use invalid name (RFC 6761)"},
	{"example", "special-use name for documentation (RFC 6761)"},
}

// privateNamespace says why target lies in a non-public namespace, or false.
// A namespace the audited domain itself lies in is not private for this
// audit: auditing corp.example.test from inside a lab, or an internal zone,
// makes its own suffix the public space.
func privateNamespace(target, audited string) (suffix, why string, ok bool) {
	if target == "" || target == "." {
		return "", "", false
	}
	if !strings.Contains(target, ".") {
		return "", "a single-label name, resolved only through resolver search lists", true
	}
	for _, p := range privateNamespaces {
		if dnsname.IsSubdomain(target, p.suffix) {
			if dnsname.IsSubdomain(audited, p.suffix) {
				return "", "", false
			}
			return p.suffix, p.why, true
		}
	}
	if _, listed := dnsname.PublicSuffix(target); listed {
		return "", "", false
	}
	tld := target[strings.LastIndexByte(target, '.')+1:]
	if dnsname.IsSubdomain(audited, tld) {
		return "", "", false
	}
	return tld, "a TLD absent from the Public Suffix List", true
}

// nameTargets returns the names a record points at, with the field name.
func nameTargets(rr dns.RR) [][2]string {
	switch r := rr.(type) {
	case *dns.CNAME:
		return [][2]string{{"CNAME target", r.Target}}
	case *dns.MX:
		return [][2]string{{"MX exchange", r.Mx}}
	case *dns.NS:
		return [][2]string{{"NS target", r.Ns}}
	case *dns.SRV:
		return [][2]string{{"SRV target", r.Target}}
	case *dns.PTR:
		return [][2]string{{"PTR target", r.Ptr}}
	case *dns.SOA:
		return [][2]string{{"SOA MNAME", r.Ns}, {"SOA RNAME", r.Mbox}}
	}
	return nil
}

var internalNameLeakCheck = Check{
	ID:       "internal-name-leak",
	Title:    "Public DNS points at internal (non-public) names",
	Severity: []Rating{{finding.Medium, ""}},
	Remediation: "Remove records that point into internal namespaces from the public zone (keep them in an " +
		"internal view), and use a registered domain (or home.arpa/.internal only internally) for " +
		"internal names.",
	References: []string{refRFC6761, refRFC6762, refRFC8375, refPSL, refATTACK, refM1056, refCWE200},
	Doc: Doc{
		Detects: "CNAME, MX, NS, SRV, PTR and SOA (MNAME and RNAME's domain) targets in namespaces that do not " +
			"exist publicly: `.local`, `.home.arpa`, `.localhost`, `.localdomain`, `.internal`, `.lan`, " +
			"`.corp`, `.home`, `.intranet`, `.private`, `.test`, `.invalid`, `.example`, single-label names, " +
			"and any TLD absent from the Public Suffix List. Subject: the owner name.",
		How: "each target's suffix is compared with that list and with `dnsname.PublicSuffix`. The null MX and " +
			"the SRV \"no service\" target (`.`) are not targets. The end of every alias's CNAME chain as recon " +
			"followed it (`names[].chain.target`) counts too, even when the hop that leads there is out of scope. " +
			"Lab-world rule: see above.",
		Severity: "the names map the internal network (domain controllers, mail servers), and undelegated TLDs can " +
			"be delegated later (name collision).",
		Fix: "keep such records in an internal view; use a registered domain (or `home.arpa`/`.internal` only " +
			"internally) for internal names.",
		References: "RFC 6761, RFC 6762, RFC 8375, Public Suffix List; ATT&CK T1596.001, M1056; CWE-200.",
	},
	Run: checkInternalNameLeak,
}

func checkInternalNameLeak(_ context.Context, env *Env) ([]finding.Finding, error) {
	audited := dnsname.FromWire(env.Result.Domain)
	byOwner := make(map[string][]string)
	for _, r := range env.records() {
		for _, t := range nameTargets(r.rr) {
			target := dnsname.FromWire(t[1])
			domain := target
			if t[0] == "SOA RNAME" {
				// A mailbox: its first label is the local part.
				if domain = dnsname.Parent(target); domain == "." {
					continue
				}
			}
			suffix, why, ok := privateNamespace(domain, audited)
			if !ok {
				continue
			}
			line := fmt.Sprintf("%s %s: .%s is %s", t[0], target, suffix, why)
			if suffix == "" {
				line = fmt.Sprintf("%s %s is %s", t[0], target, why)
			}
			if !slices.Contains(byOwner[r.owner], line) {
				byOwner[r.owner] = append(byOwner[r.owner], line)
			}
		}
	}
	// An alias whose chain leaves scope and ends in a private namespace
	// leaks it too, though the hop that points there is not in scope.
	for owner, end := range env.chainEnds() {
		suffix, why, ok := privateNamespace(dnsname.FromWire(end.Target), audited)
		if !ok {
			continue
		}
		line := fmt.Sprintf("CNAME chain ends at %s: .%s is %s", end.Target, suffix, why)
		if suffix == "" {
			line = fmt.Sprintf("CNAME chain ends at %s, which is %s", end.Target, why)
		}
		if !slices.Contains(byOwner[owner], line) {
			byOwner[owner] = append(byOwner[owner], line)
		}
	}
	var out []finding.Finding
	for owner, ev := range byOwner {
		slices.Sort(ev)
		out = append(out, newFinding(finding.Medium, owner, ev...))
	}
	return out, nil
}
