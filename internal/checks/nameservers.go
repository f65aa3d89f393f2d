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
		out = append(out, newFinding("axfr-allowed", finding.High, serverSubject(s.ns.Name, s.srv.Address), ev))
	}
	return out, nil
}

func checkIXFR(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, s := range env.servers() {
		if s.srv.IXFR != recon.TransferAllowed && s.srv.IXFR != recon.TransferPartial {
			continue
		}
		out = append(out, newFinding("ixfr-allowed", finding.Medium, serverSubject(s.ns.Name, s.srv.Address),
			fmt.Sprintf("IXFR of zone %s from %s answered with zone data", s.zone, s.srv.Address)))
	}
	return out, nil
}

func checkOpenResolver(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, s := range env.servers() {
		if !s.srv.Recursion {
			continue
		}
		out = append(out, newFinding("open-resolver", finding.High, serverSubject(s.ns.Name, s.srv.Address),
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
			out = append(out, newFinding("version-disclosure", finding.Low, serverSubject(s.ns.Name, s.srv.Address), ev...))
		}
	}
	return out, nil
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
			out = append(out, newFinding("hostname-disclosure", sev, serverSubject(s.ns.Name, s.srv.Address), ev...))
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
		out = append(out, newFinding("lame-delegation", sev, serverSubject(s.ns.Name, s.srv.Address), evidence...))
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
			f := newFinding("dangling-ns", sev, info.name, ev...)
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
			out = append(out, newFinding("soa-serial-mismatch", finding.Low, z, ev...))
		}
	}
	return out, nil
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
			out = append(out, newFinding("ns-set-mismatch", finding.Low, z.name, ev...))
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

func checkSingleNameserver(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, z := range env.zones() {
		names := z.nsNames()
		addrs := zoneAddresses(z)
		switch {
		case len(names) == 1:
			out = append(out, newFinding("single-nameserver", finding.Medium, z.name,
				fmt.Sprintf("zone %s is served by one nameserver: %s", z.name, names[0])))
		case len(names) > 1 && len(addrs) == 1:
			out = append(out, newFinding("single-nameserver", finding.Medium, z.name,
				fmt.Sprintf("the %d nameservers of %s (%s) share one address: %s", len(names), z.name, strings.Join(names, ", "), addrs[0])))
		}
	}
	return out, nil
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
			out = append(out, newFinding("nameserver-diversity", sev, z.name, ev...))
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
