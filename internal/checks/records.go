package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

// parsedRecord is a recon record with its RDATA parsed by miekg/dns. It
// points at the result's record rather than copying it: a transferred zone
// holds millions, and each is listed three times (all, by type, by owner).
type parsedRecord struct {
	*recon.Record
	owner string // canonical owner name
	rr    dns.RR
}

// recordKey identifies a record whatever the case of its names.
type recordKey struct{ owner, typ, data string }

// records returns every record of the result that parses, once per run.
// Records that do not parse are counted and logged, never fatal.
func (e *Env) records() []parsedRecord {
	e.once.Do(func() {
		seen := make(map[recordKey]bool)
		for i := range e.Result.Records {
			r := &e.Result.Records[i]
			rr, err := parseRecord(*r)
			if err != nil {
				e.skipped++
				e.Logger.Warn("record skipped", "name", r.Name, "type", r.Type, "err", err)
				continue
			}
			// The same record often arrives from several sources. (The
			// key is made of the strings as they are, lowered only when
			// they are not: no copy per record of a large zone.)
			key := recordKey{strings.ToLower(dnsname.FromWire(r.Name)), strings.ToUpper(r.Type), strings.ToLower(r.Data)}
			if seen[key] {
				continue
			}
			seen[key] = true
			e.parsed = append(e.parsed, parsedRecord{Record: r, owner: key.owner, rr: rr})
		}
		e.byType = make(map[uint16][]parsedRecord)
		e.byOwner = make(map[string][]parsedRecord)
		for _, p := range e.parsed {
			t := p.rr.Header().Rrtype
			e.byType[t] = append(e.byType[t], p)
			e.byOwner[p.owner] = append(e.byOwner[p.owner], p)
		}
	})
	return e.parsed
}

// recordsOf returns the parsed records of one type.
func (e *Env) recordsOf(qtype uint16) []parsedRecord {
	e.records()
	return e.byType[qtype]
}

// recordsAt returns the parsed records at one owner name (canonical).
func (e *Env) recordsAt(name string) []parsedRecord {
	e.records()
	return e.byOwner[name]
}

// parseRecord parses one recon record in presentation form.
func parseRecord(r recon.Record) (dns.RR, error) {
	name := strings.TrimSpace(r.Name)
	typ := strings.ToUpper(strings.TrimSpace(r.Type))
	if name == "" || typ == "" {
		return nil, fmt.Errorf("checks: record without name or type")
	}
	if strings.ContainsAny(name, " \t\n;()\"") || strings.ContainsAny(typ, " \t\n;()\"") {
		return nil, fmt.Errorf("checks: malformed record name or type %q %q", name, typ)
	}
	if strings.ContainsAny(r.Data, "\n\r") {
		return nil, fmt.Errorf("checks: record data spans lines")
	}
	rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", dnsname.FQDN(name), r.TTL, typ, r.Data))
	if err != nil {
		return nil, err
	}
	if rr == nil {
		return nil, fmt.Errorf("checks: empty record")
	}
	return rr, nil
}

// txtOf returns the TXT strings at name (canonical), each record's strings
// joined as RFC 7208 3.3 and RFC 7489 6.3 require.
func (e *Env) txtOf(name string) []string {
	var out []string
	for _, r := range e.recordsAt(name) {
		if t, ok := r.rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out
}

// hasRecords reports whether the result holds any record of qtype at name.
func (e *Env) hasRecords(name string, qtype uint16) bool {
	for _, r := range e.recordsAt(name) {
		if r.rr.Header().Rrtype == qtype {
			return true
		}
	}
	return false
}

// inScope reports whether name is at or below the audited domain.
func (e *Env) inScope(name string) bool {
	return dnsname.IsSubdomain(name, dnsname.FromWire(e.Result.Domain))
}

// zone is a zone under audit with its nameservers.
type zone struct {
	recon.Zone
	name    string
	servers []recon.Nameserver // Nameserver entries whose Zone is this zone
}

// zones returns the zones of the result: Result.Zones, plus any zone named
// only by a Nameserver entry, plus the target domain when nothing else is
// known. Sorted by name.
func (e *Env) zones() []zone {
	byName := make(map[string]*zone)
	var order []string
	add := func(name string) *zone {
		name = dnsname.FromWire(name)
		if z, ok := byName[name]; ok {
			return z
		}
		z := &zone{name: name}
		z.Name = name
		byName[name] = z
		order = append(order, name)
		return z
	}
	for _, z := range e.Result.Zones {
		zz := add(z.Name)
		zz.Zone = z
		zz.Name = zz.name
	}
	for _, ns := range e.Result.Nameservers {
		zn := ns.Zone
		if zn == "" {
			zn = e.Result.Domain
		}
		z := add(zn)
		z.servers = append(z.servers, ns)
	}
	if len(order) == 0 && e.Result.Domain != "" {
		add(e.Result.Domain)
	}
	slices.Sort(order)
	out := make([]zone, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out
}

// nsNames returns the zone's nameserver names (parent and child side, and
// Nameserver entries that are not SOA-only), canonical, sorted, unique.
func (z zone) nsNames() []string {
	var out []string
	for _, n := range z.ParentNS {
		out = append(out, dnsname.FromWire(n))
	}
	for _, n := range z.ChildNS {
		out = append(out, dnsname.FromWire(n))
	}
	for _, ns := range z.servers {
		if delegated(ns) {
			out = append(out, dnsname.FromWire(ns.Name))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// delegated reports whether a nameserver is part of the delegation (parent
// or child NS set) rather than only the SOA MNAME, which may be a hidden
// primary that is meant not to answer the public.
func delegated(ns recon.Nameserver) bool {
	if len(ns.Sources) == 0 {
		return true
	}
	for _, s := range ns.Sources {
		if s != "soa" {
			return true
		}
	}
	return false
}

// canonicalSet returns names canonical, sorted and unique.
func canonicalSet(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n = dnsname.FromWire(strings.TrimSpace(n)); n != "." {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// serverSubject is the subject of per-server findings: "name (address)".
func serverSubject(name, addr string) string {
	return fmt.Sprintf("%s (%s)", dnsname.FromWire(name), addr)
}

// newFinding is a finding of the check that is running: RunEnv fills in the
// check's id, title, remediation and references.
func newFinding(sev finding.Severity, subject string, evidence ...string) finding.Finding {
	return finding.Finding{Severity: sev, Subject: subject, Evidence: evidence}
}
