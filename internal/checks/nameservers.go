package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/net/publicsuffix"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

// serverEntry is one (nameserver, address) pair with its zone.
type serverEntry struct {
	zone string
	ns   recon.Nameserver
	srv  recon.Server
}

// servers returns every server of every nameserver, sorted by zone, name and
// address, so that evidence comes out in a stable order whatever order recon
// wrote.
func (e *Env) servers() []serverEntry {
	var out []serverEntry
	for _, ns := range e.Result.Nameservers {
		z := ns.Zone
		if z == "" {
			z = e.Result.Domain
		}
		for _, s := range ns.Servers {
			out = append(out, serverEntry{zone: dnsname.FromWire(z), ns: ns, srv: s})
		}
	}
	slices.SortStableFunc(out, func(a, b serverEntry) int {
		return cmpStrings(a.zone, b.zone, dnsname.FromWire(a.ns.Name), dnsname.FromWire(b.ns.Name), a.srv.Address, b.srv.Address)
	})
	return out
}

// cmpStrings compares pairs in turn: (a1,b1), then (a2,b2), ...
func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}

var axfrAllowedCheck = Check{
	ID:       "axfr-allowed",
	Title:    "Zone transfer (AXFR) allowed to anyone",
	Severity: []Rating{{finding.High, ""}},
	Remediation: "Restrict zone transfers to the secondary servers' addresses or TSIG keys (BIND allow-transfer, " +
		"NSD provide-xfr, Knot acl), on every nameserver of the zone.",
	References: []string{refRFC5936, refATTACK, refM1056, refCWE200},
	Doc: Doc{
		Detects: "a nameserver that sends the whole zone (AXFR) to anyone. Subject: `server-name (address)`, one " +
			"finding per server address.",
		How: "recon attempts AXFR over TCP against every address of every nameserver (`servers[].axfr`). A " +
			"transfer recon stopped reading (`--axfr-max-records`, `--axfr-timeout`, interrupted) or that broke off " +
			"mid-way is `\"partial\"`: its records are kept and it is reported too, the evidence saying how many " +
			"records arrived and why reading stopped (from the result's `gaps`).",
		Severity: "one query hands over every name, address and service of the zone; it is the first thing " +
			"reconnaissance tries (T1596.001).",
		Fix: "restrict transfers to the secondaries' addresses or TSIG keys (BIND `allow-transfer`, NSD " +
			"`provide-xfr`, Knot `acl`) on every server, including secondaries run by providers.",
		References: "RFC 5936; ATT&CK T1596.001, M1056; CWE-200.",
	},
	Run: checkAXFR,
}

func checkAXFR(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, s := range env.servers() {
		if s.srv.AXFR != recon.TransferAllowed && s.srv.AXFR != recon.TransferPartial {
			continue
		}
		ev := fmt.Sprintf("AXFR of zone %s from %s succeeded", s.zone, s.srv.Address)
		if s.srv.AXFRRecords > 0 {
			ev = fmt.Sprintf("AXFR of zone %s from %s returned %d records", s.zone, s.srv.Address, s.srv.AXFRRecords)
		}
		if s.srv.AXFR == recon.TransferPartial {
			ev = fmt.Sprintf("AXFR of zone %s from %s sent %d records before recon stopped reading (%s)",
				s.zone, s.srv.Address, s.srv.AXFRRecords, env.gapReason("axfr", s.zone, s.srv.Address))
		}
		out = append(out, newFinding(finding.High, serverSubject(s.ns.Name, s.srv.Address), ev))
	}
	return out, nil
}

var ixfrAllowedCheck = Check{
	ID:       "ixfr-allowed",
	Title:    "Incremental zone transfer (IXFR) allowed to anyone",
	Severity: []Rating{{finding.Medium, ""}},
	Remediation: "Restrict IXFR together with AXFR to the secondaries' addresses or TSIG keys; most servers apply " +
		"the same transfer ACL to both.",
	References: []string{refRFC1995, refRFC5936, refATTACK, refM1056, refCWE200},
	Doc: Doc{
		Detects: "a nameserver that answers an incremental transfer (IXFR) request from anyone. Subject " +
			"`server-name (address)`.",
		How: "recon's IXFR probe (`servers[].ixfr`).",
		Severity: "IXFR shows what changed (often the whole zone, when the server falls back to a full answer). " +
			"Servers usually share the AXFR ACL, so this is typically reported with `axfr-allowed`; alone it " +
			"is one step smaller.",
		Fix:        "the same transfer ACL as for AXFR.",
		References: "RFC 1995, RFC 5936; ATT&CK T1596.001, M1056; CWE-200.",
	},
	Run: checkIXFR,
}

func checkIXFR(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, s := range env.servers() {
		if s.srv.IXFR != recon.TransferAllowed && s.srv.IXFR != recon.TransferPartial {
			continue
		}
		out = append(out, newFinding(finding.Medium, serverSubject(s.ns.Name, s.srv.Address),
			fmt.Sprintf("IXFR of zone %s from %s answered with zone data", s.zone, s.srv.Address)))
	}
	return out, nil
}

var openResolverCheck = Check{
	ID:       "open-resolver",
	Title:    "Authoritative nameserver is an open recursive resolver",
	Severity: []Rating{{finding.High, ""}},
	Remediation: "Disable recursion on authoritative servers (BIND recursion no; or allow-recursion { none; }), or " +
		"restrict it to internal clients.",
	References: []string{refRFC5358, refCWE406},
	Doc: Doc{
		Detects: "a nameserver of the zone that recurses for names outside its zones. Subject `server-name " +
			"(address)`.",
		How: "recon's recursion probe (`servers[].recursion`).",
		Severity: "open resolvers are amplification tools for DDoS and targets for cache poisoning, and they answer " +
			"cache-snooping questions about the organisation.",
		Fix:        "`recursion no;` (or an `allow-recursion` list) on authoritative servers.",
		References: "RFC 5358; CWE-406.",
	},
	Run: checkOpenResolver,
}

func checkOpenResolver(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, s := range env.servers() {
		if !s.srv.Recursion {
			continue
		}
		out = append(out, newFinding(finding.High, serverSubject(s.ns.Name, s.srv.Address),
			fmt.Sprintf("%s (nameserver of %s) answered a recursive query for a name outside its zones", s.srv.Address, s.zone)))
	}
	return out, nil
}

// versionWords are software names that make a version answer a disclosure
// even without a version number.
var versionWords = []string{"bind", "nsd", "knot", "unbound", "powerdns", "pdns", "dnsmasq", "microsoft",
	"windows", "coredns", "yadifa", "djbdns", "tinydns", "maradns", "gdnsd", "simple dns", "technitium", "infoblox"}

// disclosesVersion reports whether a version answer names software or a
// version (a digit), rather than a refusal text such as "none" or "hidden".
func disclosesVersion(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return false
	}
	if strings.ContainsAny(v, "0123456789") {
		return true
	}
	for _, w := range versionWords {
		if strings.Contains(v, w) {
			return true
		}
	}
	return false
}

var versionDisclosureCheck = Check{
	ID:       "version-disclosure",
	Title:    "Nameserver discloses its software version",
	Severity: []Rating{{finding.Low, ""}},
	Remediation: "Hide the version (BIND version \"none\"; NSD hide-version: yes; Knot version: \"\"; Unbound " +
		"hide-version: yes).",
	References: []string{refRFC1035, refCWE200, refATTACK},
	Doc: Doc{
		Detects: "a version answer (`version.bind` or `version.server`, CHAOS TXT) that names software or a " +
			"version number. Refusal texts (\"none\", \"go away\") are not reported. Subject `server-name " +
			"(address)`.",
		How:      "recon's CHAOS queries.",
		Severity: "it tells an attacker which CVEs to try; the server is no less safe for it.",
		Fix: "BIND `version \"none\";`, NSD `hide-version: yes`, Knot `version: \"\"`, Unbound `hide-version: " +
			"yes`.",
		References: "RFC 1035 (CHAOS class); CWE-200; ATT&CK T1596.001.",
	},
	Run: checkVersionDisclosure,
}

func checkVersionDisclosure(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, s := range env.servers() {
		var ev []string
		if disclosesVersion(s.srv.Version) {
			ev = append(ev, fmt.Sprintf("version.bind CH TXT %q", s.srv.Version))
		}
		if disclosesVersion(s.srv.VersionServer) {
			ev = append(ev, fmt.Sprintf("version.server CH TXT %q", s.srv.VersionServer))
		}
		if len(ev) > 0 {
			out = append(out, newFinding(finding.Low, serverSubject(s.ns.Name, s.srv.Address), ev...))
		}
	}
	return out, nil
}

var hostnameDisclosureCheck = Check{
	ID:       "hostname-disclosure",
	Title:    "Nameserver discloses its host name or server id",
	Severity: []Rating{{finding.Low, "other values"}, {finding.Info, "only the public NS name"}},
	Remediation: "Hide the identity (BIND hostname none; server-id none; NSD hide-identity: yes, no nsid; Knot " +
		"identity: \"\", no nsid) or publish a value that names no internal host.",
	References: []string{refRFC5001, refCWE200, refATTACK},
	Doc: Doc{
		Detects: "`hostname.bind`, `id.server` or NSID answers. Subject `server-name (address)`.",
		How:     "recon's CHAOS and NSID (RFC 5001) queries.",
		Severity: "low; info when the value is only the public nameserver name. Internal host names help map the " +
			"infrastructure behind an anycast or provider address.",
		Fix: "BIND `hostname none; server-id none;`, NSD `hide-identity: yes` and no `nsid`, Knot `identity: " +
			"\"\"` and no `nsid`.",
		References: "RFC 5001; CWE-200; ATT&CK T1596.001.",
	},
	Run: checkHostnameDisclosure,
}

func checkHostnameDisclosure(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, s := range env.servers() {
		public := dnsname.FromWire(s.ns.Name)
		var ev []string
		sev := finding.Info
		add := func(what, v string) {
			v = strings.TrimSpace(v)
			if v == "" {
				return
			}
			ev = append(ev, fmt.Sprintf("%s %q", what, v))
			// Repeating the public nameserver name reveals nothing new.
			if !strings.EqualFold(strings.TrimSuffix(v, "."), public) {
				sev = finding.Low
			}
		}
		add("hostname.bind CH TXT", s.srv.Hostname)
		add("id.server CH TXT", s.srv.ID)
		add("NSID", s.srv.NSID)
		if len(ev) > 0 {
			out = append(out, newFinding(sev, serverSubject(s.ns.Name, s.srv.Address), ev...))
		}
	}
	return out, nil
}

// gapReason returns what recon says stopped one stage for a zone at a
// server (a capped transfer), or "partial" when it says nothing.
func (e *Env) gapReason(stage, zone, server string) string {
	for _, g := range e.Result.Gaps {
		if g.Stage == stage && dnsname.FromWire(g.Zone) == zone && g.Server == server {
			return g.Reason
		}
	}
	return "partial"
}

var lameDelegationCheck = Check{
	ID:       "lame-delegation",
	Title:    "Delegated nameserver does not answer authoritatively",
	Severity: []Rating{{finding.High, "no server answers: the zone is unreachable"}, {finding.Medium, "some servers"}},
	Remediation: "Fix or remove the server from the NS set at the parent and in the zone; make every listed server " +
		"load the zone.",
	References: []string{refRFC1034, refRFC8499, refRFC2182},
	Doc: Doc{
		Detects: "a delegated nameserver (parent or child NS set) that does not answer, or answers without " +
			"authority for the zone. A server known only as the SOA MNAME (a hidden primary) is not reported. " +
			"Subject `server-name (address)`.",
		How: "recon's per-address probe (`servers[].responding`, `.authoritative`, `.error`). When the resolver " +
			"cannot answer for a zone at all (timeout, SERVFAIL, REFUSED), recon asks the parent zone's servers " +
			"directly for the delegation (NS, glue, DS) and probes every address it names, so a dead delegation " +
			"is still audited.",
		Severity: "medium: resolvers waste time and fail over; a provider that lets anyone create the zone on its " +
			"servers turns a lame delegation into a hijack. High when no delegated server of the zone answers " +
			"with authority: the zone is unreachable (the evidence says so).",
		Fix:        "make every listed server load the zone, or remove it from the parent and the zone.",
		References: "RFC 1034, RFC 8499 (\"lame delegation\"), RFC 2182.",
	},
	Run: checkLameDelegation,
}

func checkLameDelegation(_ context.Context, env *Env) ([]finding.Finding, error) {
	// A zone none of whose delegated servers answers with authority is
	// unreachable: every lame server of it is a high finding.
	answering := map[string]bool{}
	for _, s := range env.servers() {
		if delegated(s.ns) && s.srv.Responding && s.srv.Authoritative {
			answering[s.zone] = true
		}
	}
	var out []finding.Finding
	for _, s := range env.servers() {
		if !delegated(s.ns) {
			continue
		}
		var ev string
		switch {
		case !s.srv.Responding:
			ev = fmt.Sprintf("%s gave no answer for zone %s", s.srv.Address, s.zone)
		case !s.srv.Authoritative:
			ev = fmt.Sprintf("%s does not answer authoritatively for zone %s", s.srv.Address, s.zone)
		default:
			continue
		}
		if why := strings.TrimPrefix(s.srv.Error, "not authoritative: "); why != "" {
			ev += ": " + why
		}
		sev := finding.Medium
		evidence := []string{ev}
		if !answering[s.zone] {
			sev = finding.High
			evidence = append(evidence, fmt.Sprintf("no delegated nameserver of %s answers for it: the zone is unreachable", s.zone))
		}
		out = append(out, newFinding(sev, serverSubject(s.ns.Name, s.srv.Address), evidence...))
	}
	return out, nil
}

// registrableMissing asks whether the registrable domain of name exists.
// It returns the registrable domain and true when the resolver said
// NXDOMAIN for it. Only domains that someone could register are asked:
// those under an ICANN suffix of the Public Suffix List, or, in a lab world
// built under an unlisted TLD, under the audited domain's own TLD. Names
// under private-section suffixes (azurewebsites.net, github.io) are the
// takeover patterns' business; domains in scope, or above the target, exist.
func (e *Env) registrableMissing(ctx context.Context, name string) (string, bool) {
	audited := dnsname.FromWire(e.Result.Domain)
	reg := dnsname.Registrable(name)
	if reg == "" || e.inScope(reg) || dnsname.IsSubdomain(audited, reg) {
		return reg, false
	}
	suffix, icann := publicsuffix.PublicSuffix(reg)
	if !icann && (strings.Contains(suffix, ".") || !dnsname.IsSubdomain(audited, suffix)) {
		return reg, false
	}
	st, _ := e.exists(ctx, reg, dns.TypeSOA)
	return reg, st == stateNXDomain
}

var danglingNSCheck = Check{
	ID:       "dangling-ns",
	Title:    "Nameserver name does not resolve or lies in an unregistered domain",
	Severity: []Rating{{finding.Critical, "unregistered nameserver domain"}, {finding.High, "name does not resolve"}},
	Remediation: "Replace the nameserver name in the delegation and the zone's NS set; if its domain is " +
		"unregistered, remove it at once (registering that domain would hand over the zone).",
	References: []string{refRFC1034, refRFC2182, refCISADNS, refCWE350},
	Doc: Doc{
		Detects: "a delegated nameserver whose name does not resolve, or lies in a registrable domain that does " +
			"not exist. Subject: the nameserver name.",
		How: "recon's `nameservers[].resolves`; the registrable domain (`dnsname.Registrable`) of every NS " +
			"name out of scope is asked for its SOA through the resolver (ICANN suffixes, or the lab world's " +
			"own TLD).",
		Severity: "critical when the domain does not exist — whoever registers it answers for the zone (the " +
			"\"sitting ducks\" hijack); high when the name just does not resolve.",
		Fix:        "replace the name in the delegation and the zone's NS set.",
		References: "RFC 1034, RFC 2182, CISA ED 19-01; CWE-350.",
	},
	Run: checkDanglingNS,
}

func checkDanglingNS(ctx context.Context, env *Env) ([]finding.Finding, error) {
	type nsInfo struct {
		name     string
		zones    []string
		resolves bool
		errText  string
	}
	byName := make(map[string]*nsInfo)
	for _, ns := range env.Result.Nameservers {
		if !delegated(ns) {
			continue
		}
		n := dnsname.FromWire(ns.Name)
		info, ok := byName[n]
		if !ok {
			info = &nsInfo{name: n, resolves: true}
			byName[n] = info
		}
		z := ns.Zone
		if z == "" {
			z = env.Result.Domain
		}
		info.zones = append(info.zones, dnsname.FromWire(z))
		if !ns.Resolves && definitelyUnresolved(ns.Error) {
			info.resolves = false
			info.errText = ns.Error
		}
	}
	// NS names the zones list but recon has no Nameserver entry for are
	// still worth the registrable-domain question.
	for _, z := range env.zones() {
		for _, n := range append(canonicalSet(z.ParentNS), canonicalSet(z.ChildNS)...) {
			if _, ok := byName[n]; !ok {
				byName[n] = &nsInfo{name: n, resolves: true, zones: []string{z.name}}
			} else if !slices.Contains(byName[n].zones, z.name) {
				byName[n].zones = append(byName[n].zones, z.name)
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	results := make([]*finding.Finding, len(names))
	err := env.forEach(ctx, len(names), func(i int) {
		info := byName[names[i]]
		slices.Sort(info.zones)
		info.zones = slices.Compact(info.zones)
		zones := strings.Join(info.zones, ", ")
		var ev []string
		sev := finding.High
		if !info.resolves {
			why := info.errText
			if why == "" {
				why = "no address"
			}
			ev = append(ev, fmt.Sprintf("nameserver of %s %s does not resolve: %s", zones, info.name, why))
		}
		if reg, missing := env.registrableMissing(ctx, info.name); missing {
			sev = finding.Critical
			ev = append(ev, fmt.Sprintf("the domain %s of nameserver %s does not exist (NXDOMAIN): whoever registers it controls %s", reg, info.name, zones))
		}
		if len(ev) > 0 {
			f := newFinding(sev, info.name, ev...)
			results[i] = &f
		}
	})
	return collect(results), err
}

// definitelyUnresolved reports whether recon's reason for a name without
// address is an answer (NXDOMAIN, NODATA) rather than a failure to get one
// (timeout, SERVFAIL, REFUSED), which proves nothing.
func definitelyUnresolved(why string) bool {
	why = strings.ToLower(why)
	return why == "" || strings.Contains(why, "nxdomain") || strings.Contains(why, "no address") || strings.Contains(why, "nodata")
}

// collect returns the non-nil findings of an index-addressed slice.
func collect(results []*finding.Finding) []finding.Finding {
	var out []finding.Finding
	for _, f := range results {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

var soaSerialMismatchCheck = Check{
	ID:       "soa-serial-mismatch",
	Title:    "Nameservers serve different SOA serials",
	Severity: []Rating{{finding.Low, ""}},
	Remediation: "Check zone transfers and NOTIFY between primary and secondaries; a lasting difference means some " +
		"servers serve stale data.",
	References: []string{refRFC1996, refRFC1034},
	Doc: Doc{
		Detects:    "authoritative servers of one zone serving different SOA serials. Subject: the zone.",
		How:        "recon's per-server serial, only from servers that answered with authority.",
		Severity:   "some servers serve stale data; usually broken NOTIFY or transfers.",
		Fix:        "check transfers and NOTIFY between primary and secondaries.",
		References: "RFC 1996, RFC 1034.",
	},
	Run: checkSOASerialMismatch,
}

func checkSOASerialMismatch(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	byZone := make(map[string][]serverEntry)
	var zones []string
	for _, s := range env.servers() {
		if !delegated(s.ns) || !s.srv.Responding || !s.srv.Authoritative {
			continue
		}
		if _, ok := byZone[s.zone]; !ok {
			zones = append(zones, s.zone)
		}
		byZone[s.zone] = append(byZone[s.zone], s)
	}
	for _, z := range zones {
		serials := make(map[uint32]bool)
		var ev []string
		for _, s := range byZone[z] {
			serials[s.srv.Serial] = true
			ev = append(ev, fmt.Sprintf("%s serves serial %d", serverSubject(s.ns.Name, s.srv.Address), s.srv.Serial))
		}
		if len(serials) > 1 {
			out = append(out, newFinding(finding.Low, z, ev...))
		}
	}
	return out, nil
}

var nsSetMismatchCheck = Check{
	ID:          "ns-set-mismatch",
	Title:       "Parent and child NS sets differ",
	Severity:    []Rating{{finding.Low, ""}},
	Remediation: "Make the delegation at the parent and the zone's own NS RRset list the same servers.",
	References:  []string{refRFC1034, refRFC2182},
	Doc: Doc{
		Detects: "parent and child NS sets that differ, or a server returning an NS set that differs from the " +
			"zone's. Subject: the zone.",
		How: "`zones[].parent_ns` vs `zones[].child_ns` and `servers[].ns`, compared as canonical sets.",
		Severity: "resolvers see different servers depending on where they look; a server only at the parent is " +
			"easily forgotten (and becomes lame or dangling).",
		Fix:        "list the same servers at the parent and in the zone.",
		References: "RFC 1034, RFC 2182.",
	},
	Run: checkNSSetMismatch,
}

func checkNSSetMismatch(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, z := range env.zones() {
		parent, child := canonicalSet(z.ParentNS), canonicalSet(z.ChildNS)
		var ev []string
		if len(parent) > 0 && len(child) > 0 && !slices.Equal(parent, child) {
			if d := setMinus(parent, child); len(d) > 0 {
				ev = append(ev, "only in the parent's delegation: "+strings.Join(d, ", "))
			}
			if d := setMinus(child, parent); len(d) > 0 {
				ev = append(ev, "only in the zone's NS RRset: "+strings.Join(d, ", "))
			}
		}
		// A server whose own NS RRset differs from the zone's is serving a
		// different version of the zone.
		if len(child) > 0 {
			for _, s := range env.servers() {
				if s.zone != z.name || len(s.srv.NS) == 0 {
					continue
				}
				if got := canonicalSet(s.srv.NS); !slices.Equal(got, child) {
					ev = append(ev, fmt.Sprintf("%s returns NS set %s, not %s",
						serverSubject(s.ns.Name, s.srv.Address), strings.Join(got, ", "), strings.Join(child, ", ")))
				}
			}
		}
		if len(ev) > 0 {
			out = append(out, newFinding(finding.Low, z.name, ev...))
		}
	}
	return out, nil
}

// setMinus returns the elements of a (sorted) that b lacks.
func setMinus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// zoneAddresses returns the distinct addresses of a zone's delegated
// nameservers.
func zoneAddresses(z zone) []netip.Addr {
	var out []netip.Addr
	for _, ns := range z.servers {
		if !delegated(ns) {
			continue
		}
		for _, a := range ns.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				out = append(out, ip.Unmap())
			}
		}
		for _, s := range ns.Servers {
			if ap, ok := serverAddr(s.Address, 53); ok {
				out = append(out, ap.Addr())
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}

var singleNameserverCheck = Check{
	ID:       "single-nameserver",
	Title:    "Zone has a single nameserver",
	Severity: []Rating{{finding.Medium, ""}},
	Remediation: "Delegate to at least two nameservers on different networks (RFC 2182 asks for diversity; " +
		"registries require two).",
	References: []string{refRFC2182, refRFC1034},
	Doc: Doc{
		Detects:    "a zone with one nameserver name, or several names with one address. Subject: the zone.",
		Severity:   "one failure takes the zone off the internet; RFC 2182 and every registry ask for at least two.",
		Fix:        "at least two nameservers on different networks.",
		References: "RFC 2182, RFC 1034.",
	},
	Run: checkSingleNameserver,
}

func checkSingleNameserver(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, z := range env.zones() {
		names := z.nsNames()
		addrs := zoneAddresses(z)
		switch {
		case len(names) == 1:
			out = append(out, newFinding(finding.Medium, z.name,
				fmt.Sprintf("zone %s is served by one nameserver: %s", z.name, names[0])))
		case len(names) > 1 && len(addrs) == 1:
			out = append(out, newFinding(finding.Medium, z.name,
				fmt.Sprintf("the %d nameservers of %s (%s) share one address: %s", len(names), z.name, strings.Join(names, ", "), addrs[0])))
		}
	}
	return out, nil
}

var nameserverDiversityCheck = Check{
	ID:       "nameserver-diversity",
	Title:    "Nameservers share one network or one domain",
	Severity: []Rating{{finding.Low, "one network"}, {finding.Info, "one parent domain only"}},
	Remediation: "Place nameservers in different networks (different /24 and /48 prefixes, ideally different " +
		"autonomous systems) and under more than one domain, so that one outage or one expired domain " +
		"does not take the zone down.",
	References: []string{refRFC2182},
	Doc: Doc{
		Detects: "for zones with two or more nameservers: all addresses in one IPv4 /24 and one IPv6 /48 (each " +
			"family present must be concentrated), or all names under one registrable domain. dnsscout does " +
			"not know autonomous systems yet. Nameservers that all sit on loopback are a lab world on one " +
			"host: the network clause does not apply there. Subject: the zone.",
		Severity: "low for one network (one outage or one route leak takes every server); info when only the domain " +
			"is shared (an expired or hijacked provider domain takes every name, but this is the usual " +
			"setup).",
		Fix:        "different networks and, for critical zones, more than one provider domain.",
		References: "RFC 2182.",
	},
	Run: checkNameserverDiversity,
}

func checkNameserverDiversity(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, z := range env.zones() {
		names := z.nsNames()
		if len(names) < 2 {
			continue // single-nameserver's case
		}
		var ev []string
		sev := finding.Info
		addrs := zoneAddresses(z)
		// Servers all on loopback are a lab world on one host, where
		// network diversity means nothing.
		if len(addrs) >= 2 && !allLoopback(addrs) {
			v4, v6 := make(map[netip.Prefix]bool), make(map[netip.Prefix]bool)
			for _, a := range addrs {
				if a.Is4() {
					v4[netip.PrefixFrom(a, 24).Masked()] = true
				} else {
					v6[netip.PrefixFrom(a, 48).Masked()] = true
				}
			}
			if len(v4) <= 1 && len(v6) <= 1 {
				var nets []string
				for p := range v4 {
					nets = append(nets, p.String())
				}
				for p := range v6 {
					nets = append(nets, p.String())
				}
				slices.Sort(nets)
				ev = append(ev, fmt.Sprintf("all %d nameserver addresses of %s lie in %s", len(addrs), z.name, strings.Join(nets, " and ")))
				sev = finding.Low
			}
		}
		regs := make(map[string]bool)
		for _, n := range names {
			r := dnsname.Registrable(n)
			if r == "" {
				r = n
			}
			regs[r] = true
		}
		if len(regs) == 1 {
			for r := range regs {
				ev = append(ev, fmt.Sprintf("all %d nameservers of %s (%s) are under one domain: %s", len(names), z.name, strings.Join(names, ", "), r))
			}
		}
		if len(ev) > 0 {
			out = append(out, newFinding(sev, z.name, ev...))
		}
	}
	return out, nil
}

func allLoopback(addrs []netip.Addr) bool {
	for _, a := range addrs {
		if !a.IsLoopback() {
			return false
		}
	}
	return true
}
