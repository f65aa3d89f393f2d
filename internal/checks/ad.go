package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// adMarkers are owner-name prefixes that only a Kerberos realm or an Active
// Directory domain publishes. A plain _ldap._tcp is ordinary LDAP and counts
// only beside one of these.
var adMarkers = []string{
	"_kerberos._tcp.", "_kerberos._udp.", "_kerberos-master._tcp.", "_kerberos-master._udp.",
	"_kpasswd._tcp.", "_kpasswd._udp.", "_gc._tcp.",
	"_ldap._tcp.dc._msdcs.", "_ldap._tcp.gc._msdcs.", "_ldap._tcp.pdc._msdcs.",
	"_kerberos._tcp.dc._msdcs.",
}

// adDomain returns the directory domain an AD/Kerberos SRV owner name
// belongs to (the labels after the last underscore label, e.g.
// _ldap._tcp.dc._msdcs.corp.example.com -> corp.example.com) and whether
// the name is an AD marker.
func adDomain(owner string) (domain string, marker bool) {
	labels := strings.Split(owner, ".")
	last := -1
	for i, l := range labels {
		if strings.HasPrefix(l, "_") {
			last = i
		}
	}
	if last < 0 || last == len(labels)-1 {
		return "", false
	}
	domain = strings.Join(labels[last+1:], ".")
	if slices.Contains(labels, "_msdcs") {
		return domain, true
	}
	for _, m := range adMarkers {
		if strings.HasPrefix(owner+".", m) {
			return domain, true
		}
	}
	if strings.HasPrefix(owner, "_ldap._tcp.") {
		return domain, false
	}
	return "", false
}

var adSRVExposedCheck = Check{
	ID:       "ad-srv-exposed",
	Title:    "Active Directory service records in public DNS",
	Severity: []Rating{{finding.Medium, ""}},
	Remediation: "Serve the Active Directory zone (_msdcs, _kerberos, _ldap, _gc, _kpasswd) only on internal DNS; " +
		"public DNS needs none of it.",
	References: []string{refMSADSRV, refRFC2782, refATTACK, refM1056, refCWE200},
	Doc: Doc{
		Detects: "Active Directory / Kerberos SRV records in public DNS: anything under `_msdcs`, " +
			"`_kerberos._tcp|_udp`, `_kerberos-master`, `_kpasswd`, `_gc._tcp` (a plain `_ldap._tcp` counts " +
			"only next to one of those). Subject: the directory domain (the labels after the last `_` label).",
		Severity: "it names the domain controllers and the AD domain — the map an intruder needs for Kerberos and " +
			"LDAP attacks.",
		Fix: "serve the AD zones only on internal DNS.",
		References: "Microsoft \"Verify SRV DNS records have been created\", RFC 2782; ATT&CK T1596.001, M1056; " +
			"CWE-200.",
	},
	Run: checkADSRV,
}

func checkADSRV(_ context.Context, env *Env) ([]finding.Finding, error) {
	type acc struct {
		ev     []string
		marker bool
	}
	byDomain := make(map[string]*acc)
	for _, r := range env.recordsOf(dns.TypeSRV) {
		d, marker := adDomain(r.owner)
		if d == "" {
			continue
		}
		a := byDomain[d]
		if a == nil {
			a = &acc{}
			byDomain[d] = a
		}
		s := r.rr.(*dns.SRV)
		line := fmt.Sprintf("%s SRV %d %d %d %s", r.owner, s.Priority, s.Weight, s.Port, s.Target)
		if !slices.Contains(a.ev, line) {
			a.ev = append(a.ev, line)
		}
		a.marker = a.marker || marker
	}
	var out []finding.Finding
	for d, a := range byDomain {
		if !a.marker {
			continue
		}
		slices.Sort(a.ev)
		out = append(out, newFinding(finding.Medium, d, a.ev...))
	}
	return out, nil
}
