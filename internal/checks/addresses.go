package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
)

// specialRange is one entry of the IANA IPv4 and IPv6 Special-Purpose
// Address Registries (RFC 6890). Global mirrors the registry's "Globally
// Reachable" column; globally reachable entries are listed only where they
// carve an exception out of a larger non-global block (the longest match
// decides).
type specialRange struct {
	prefix netip.Prefix
	name   string
	rfc    string
	global bool
	// internal marks ranges that reveal an internal network (private use,
	// shared, unique-local, link-local): medium severity. Other non-global
	// ranges are unroutable placeholders: low.
	internal bool
	// documentation marks the documentation ranges, reported only with
	// Env.ReportDocumentation.
	documentation bool
}

// specialRanges is the table, from iana-ipv4-special-registry and
// iana-ipv6-special-registry (registry state of 2025).
var specialRanges = []specialRange{
	// IPv4
	{prefix: mp("0.0.0.0/8"), name: "\"This network\"", rfc: "RFC 791"},
	{prefix: mp("10.0.0.0/8"), name: "Private-Use", rfc: "RFC 1918", internal: true},
	{prefix: mp("100.64.0.0/10"), name: "Shared Address Space", rfc: "RFC 6598", internal: true},
	{prefix: mp("127.0.0.0/8"), name: "Loopback", rfc: "RFC 1122"},
	{prefix: mp("169.254.0.0/16"), name: "Link Local", rfc: "RFC 3927", internal: true},
	{prefix: mp("172.16.0.0/12"), name: "Private-Use", rfc: "RFC 1918", internal: true},
	{prefix: mp("192.0.0.0/24"), name: "IETF Protocol Assignments", rfc: "RFC 6890"},
	{prefix: mp("192.0.0.0/29"), name: "IPv4 Service Continuity Prefix", rfc: "RFC 7335"},
	{prefix: mp("192.0.0.8/32"), name: "IPv4 dummy address", rfc: "RFC 7600"},
	{prefix: mp("192.0.0.9/32"), name: "Port Control Protocol Anycast", rfc: "RFC 7723", global: true},
	{prefix: mp("192.0.0.10/32"), name: "Traversal Using Relays around NAT Anycast", rfc: "RFC 8155", global: true},
	{prefix: mp("192.0.0.170/32"), name: "NAT64/DNS64 Discovery", rfc: "RFC 8880"},
	{prefix: mp("192.0.0.171/32"), name: "NAT64/DNS64 Discovery", rfc: "RFC 8880"},
	{prefix: mp("192.0.2.0/24"), name: "Documentation (TEST-NET-1)", rfc: "RFC 5737", documentation: true},
	{prefix: mp("192.168.0.0/16"), name: "Private-Use", rfc: "RFC 1918", internal: true},
	{prefix: mp("198.18.0.0/15"), name: "Benchmarking", rfc: "RFC 2544"},
	{prefix: mp("198.51.100.0/24"), name: "Documentation (TEST-NET-2)", rfc: "RFC 5737", documentation: true},
	{prefix: mp("203.0.113.0/24"), name: "Documentation (TEST-NET-3)", rfc: "RFC 5737", documentation: true},
	{prefix: mp("240.0.0.0/4"), name: "Reserved", rfc: "RFC 1112"},
	{prefix: mp("255.255.255.255/32"), name: "Limited Broadcast", rfc: "RFC 919"},
	// IPv6
	{prefix: mp("::/128"), name: "Unspecified Address", rfc: "RFC 4291"},
	{prefix: mp("::1/128"), name: "Loopback Address", rfc: "RFC 4291"},
	{prefix: mp("::ffff:0:0/96"), name: "IPv4-mapped Address", rfc: "RFC 4291"},
	{prefix: mp("64:ff9b:1::/48"), name: "IPv4-IPv6 Translation (local use)", rfc: "RFC 8215", internal: true},
	{prefix: mp("100::/64"), name: "Discard-Only Address Block", rfc: "RFC 6666"},
	{prefix: mp("100:0:0:1::/64"), name: "Dummy IPv6 Prefix", rfc: "RFC 9780"},
	{prefix: mp("2001::/23"), name: "IETF Protocol Assignments", rfc: "RFC 2928"},
	{prefix: mp("2001::/32"), name: "TEREDO", rfc: "RFC 4380", global: true},
	{prefix: mp("2001:1::1/128"), name: "Port Control Protocol Anycast", rfc: "RFC 7723", global: true},
	{prefix: mp("2001:1::2/128"), name: "Traversal Using Relays around NAT Anycast", rfc: "RFC 8155", global: true},
	{prefix: mp("2001:1::3/128"), name: "DNS-SD Service Registration Protocol Anycast", rfc: "RFC 9665", global: true},
	{prefix: mp("2001:2::/48"), name: "Benchmarking", rfc: "RFC 5180"},
	{prefix: mp("2001:3::/32"), name: "AMT", rfc: "RFC 7450", global: true},
	{prefix: mp("2001:4:112::/48"), name: "AS112-v6", rfc: "RFC 7535", global: true},
	{prefix: mp("2001:10::/28"), name: "Deprecated (previously ORCHID)", rfc: "RFC 4843"},
	{prefix: mp("2001:20::/28"), name: "ORCHIDv2", rfc: "RFC 7343", global: true},
	{prefix: mp("2001:30::/28"), name: "Drone Remote ID Protocol Entity Tags (DETs) Prefix", rfc: "RFC 9374", global: true},
	{prefix: mp("2001:db8::/32"), name: "Documentation", rfc: "RFC 3849", documentation: true},
	{prefix: mp("3fff::/20"), name: "Documentation", rfc: "RFC 9637", documentation: true},
	{prefix: mp("5f00::/16"), name: "Segment Routing (SRv6) SIDs", rfc: "RFC 9602"},
	{prefix: mp("fc00::/7"), name: "Unique-Local", rfc: "RFC 4193", internal: true},
	{prefix: mp("fe80::/10"), name: "Link-Local Unicast", rfc: "RFC 4291", internal: true},
}

func mp(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// classify returns the most specific special-purpose entry containing a,
// or false when a lies in no entry (ordinary global unicast).
func classify(a netip.Addr) (specialRange, bool) {
	var best specialRange
	found := false
	for _, r := range specialRanges {
		if r.prefix.Contains(a) && (!found || r.prefix.Bits() > best.prefix.Bits()) {
			best, found = r, true
		}
	}
	return best, found
}

// labPrefixes returns the neighbourhoods (/16, /48) of the zone's
// nameserver addresses that are themselves non-global. A world whose own
// nameservers answer from loopback or private space is a lab or test world:
// its hosts in the same neighbourhood are its "public" addresses, not
// leaks. On the internet nameserver addresses are global and this is empty.
func (e *Env) labPrefixes() []netip.Prefix {
	var out []netip.Prefix
	add := func(s string) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			ap, ok := serverAddr(s, 53)
			if !ok {
				return
			}
			a = ap.Addr()
		}
		a = a.Unmap()
		if r, ok := classify(a); !ok || r.global {
			return
		}
		bits := 16
		if a.Is6() {
			bits = 48
		}
		out = append(out, netip.PrefixFrom(a, bits).Masked())
	}
	for _, ns := range e.Result.Nameservers {
		for _, a := range ns.Addresses {
			add(a)
		}
		for _, s := range ns.Servers {
			add(s.Address)
		}
	}
	return out
}

// leak returns the evidence line and severity for one published address, or
// false when it is not a leak.
func (e *Env) leak(rtype, value string, lab []netip.Prefix) (string, finding.Severity, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(value))
	if err != nil {
		return "", 0, false
	}
	if a.Is4() || rtype == "A" {
		a = a.Unmap()
	}
	a = a.WithZone("")
	r, ok := classify(a)
	if !ok || r.global || r.documentation && !e.ReportDocumentation {
		return "", 0, false
	}
	for _, p := range lab {
		if p.Contains(a) {
			return "", 0, false
		}
	}
	sev := finding.Low
	if r.internal {
		sev = finding.Medium
	}
	return fmt.Sprintf("%s %s (%s, %s)", rtype, a, r.name, r.rfc), sev, true
}

var privateAddressLeakCheck = Check{
	ID:       "private-address-leak",
	Title:    "Public DNS publishes non-global (internal) addresses",
	Severity: []Rating{{finding.Medium, "internal ranges"}, {finding.Low, "loopback and other unroutable ranges"}},
	Remediation: "Move internal hosts to an internal (split-horizon) view or zone; publish only globally reachable " +
		"addresses in public DNS.",
	References: []string{refRFC1918, refRFC6598, refRFC4193, refRFC6890, refIANA4, refIANA6, refATTACK, refM1056, refCWE200},
	Doc: Doc{
		Detects: "public A/AAAA records (records, names' addresses, wildcard answers) with addresses from a " +
			"non-globally-reachable range of the IANA IPv4 and IPv6 Special-Purpose Address Registries. " +
			"Subject: the owner name.",
		How: "the table in `internal/checks/addresses.go` lists each range with its RFC (longest match wins, " +
			"so globally reachable exceptions such as 192.0.0.9/32 or 2001:20::/28 are not reported). " +
			"Lab-world rule and documentation ranges: see above.",
		Severity: "medium for ranges that map an internal network (RFC 1918 private use, 100.64.0.0/10 shared, " +
			"169.254.0.0/16 and fe80::/10 link-local, fc00::/7 unique-local, 64:ff9b:1::/48 local " +
			"translation); low for the rest (loopback — still a classic `localhost.example.com` same-origin " +
			"risk —, 0.0.0.0/8, benchmarking, reserved, broadcast, protocol assignments, discard, mapped).",
		Fix: "serve internal hosts from an internal view or zone (split horizon).",
		References: "RFC 1918, RFC 6598, RFC 4193, RFC 6890, IANA special-purpose registries; ATT&CK T1596.001, " +
			"M1056; CWE-200.",
	},
	Run: checkPrivateAddressLeak,
}

func checkPrivateAddressLeak(_ context.Context, env *Env) ([]finding.Finding, error) {
	lab := env.labPrefixes()
	type acc struct {
		ev  []string
		sev finding.Severity
	}
	byOwner := make(map[string]*acc)
	add := func(owner, rtype, value string) {
		line, sev, ok := env.leak(rtype, value, lab)
		if !ok {
			return
		}
		a := byOwner[owner]
		if a == nil {
			a = &acc{}
			byOwner[owner] = a
		}
		if !slices.Contains(a.ev, line) {
			a.ev = append(a.ev, line)
		}
		a.sev = max(a.sev, sev)
	}
	for _, r := range env.records() {
		switch rr := r.rr.(type) {
		case *dns.A:
			add(r.owner, "A", rr.A.String())
		case *dns.AAAA:
			add(r.owner, "AAAA", rr.AAAA.String())
		}
	}
	for _, n := range env.Result.Names {
		owner := dnsname.FromWire(n.Name)
		for _, s := range n.Addresses {
			rtype := "AAAA"
			if a, err := netip.ParseAddr(s); err == nil && a.Unmap().Is4() {
				rtype = "A"
			}
			add(owner, rtype, s)
		}
	}
	for _, w := range env.Result.Wildcards {
		t := strings.ToUpper(w.Type)
		if t != "A" && t != "AAAA" {
			continue
		}
		owner := dnsname.FromWire(w.Name)
		if !strings.HasPrefix(owner, "*.") {
			owner = "*." + owner
		}
		for _, d := range w.Data {
			add(owner, t, d)
		}
	}
	var out []finding.Finding
	for owner, a := range byOwner {
		slices.Sort(a.ev)
		out = append(out, newFinding(a.sev, owner, a.ev...))
	}
	return out, nil
}
