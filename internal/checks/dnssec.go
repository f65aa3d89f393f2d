package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
)

// fromRecords builds an answer for name/qtype out of the result's records,
// with the RRSIGs that cover them: the offline stand-in for a query.
func (e *Env) fromRecords(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	for _, r := range e.recordsAt(name) {
		switch rr := r.rr.(type) {
		case *dns.RRSIG:
			if rr.TypeCovered == qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		default:
			if rr.Header().Rrtype == qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
	}
	return m
}

// rrsetOf splits an answer into the RRset of qtype at name and its RRSIGs.
func rrsetOf(m *dns.Msg, name string, qtype uint16) ([]dns.RR, []*dns.RRSIG) {
	var set []dns.RR
	var sigs []*dns.RRSIG
	if m == nil {
		return nil, nil
	}
	for _, rr := range m.Answer {
		if dnsname.FromWire(rr.Header().Name) != name {
			continue
		}
		if s, ok := rr.(*dns.RRSIG); ok {
			if s.TypeCovered == qtype {
				sigs = append(sigs, s)
			}
			continue
		}
		if rr.Header().Rrtype == qtype {
			set = append(set, rr)
		}
	}
	return set, sigs
}

// dsSet returns the DS records of zone: asked of the resolver (DO+CD) when
// online, else from the result's records. known is false when neither
// could say.
func (e *Env) dsSet(ctx context.Context, zone string) (ds []*dns.DS, known bool) {
	m, err := e.lookup(ctx, zone, dns.TypeDS, true)
	if err == nil && (m.Rcode == dns.RcodeSuccess || m.Rcode == dns.RcodeNameError) {
		set, _ := rrsetOf(m, zone, dns.TypeDS)
		for _, rr := range set {
			ds = append(ds, rr.(*dns.DS))
		}
		return ds, true
	}
	if err != nil && err != errOffline {
		e.Logger.Debug("DS lookup failed", "zone", zone, "err", err)
	}
	set, _ := rrsetOf(e.fromRecords(zone, dns.TypeDS), zone, dns.TypeDS)
	for _, rr := range set {
		ds = append(ds, rr.(*dns.DS))
	}
	// Recon asks every zone apex for DS, so the records are an answer when
	// the zone appears in the result's zone list.
	return ds, len(ds) > 0 || e.listsZone(zone)
}

// listsZone reports whether Result.Zones names zone (recon probed it).
func (e *Env) listsZone(name string) bool {
	for _, z := range e.Result.Zones {
		if dnsname.FromWire(z.Name) == name {
			return true
		}
	}
	return false
}

// keySource is where a zone's DNSKEY and SOA RRsets are fetched: one
// authoritative server, the resolver pool, or the result's records.
type keySource struct {
	label string
	fetch func(ctx context.Context, qtype uint16) (*dns.Msg, error)
	// noSigsOK is true for recon data, which need not hold RRSIGs: a
	// missing signature there is no evidence.
	noSigsOK bool
}

// keySources returns every authoritative server of z (each may serve a
// different signing state), or the resolver pool, or the records offline.
func (e *Env) keySources(z zone) []keySource {
	var out []keySource
	if e.Exchanger != nil {
		seen := make(map[netip.AddrPort]bool)
		for _, s := range e.servers() {
			if s.zone != z.name || !delegated(s.ns) || !s.srv.Responding || !s.srv.Authoritative {
				continue
			}
			ap, ok := serverAddr(s.srv.Address, e.NameserverPort)
			if !ok || seen[ap] {
				continue
			}
			seen[ap] = true
			out = append(out, keySource{
				label: serverSubject(s.ns.Name, s.srv.Address),
				fetch: func(ctx context.Context, qtype uint16) (*dns.Msg, error) {
					return e.direct(ctx, ap, z.name, qtype, true)
				},
			})
		}
		if len(out) == 0 {
			out = append(out, keySource{label: "the resolver", fetch: func(ctx context.Context, qtype uint16) (*dns.Msg, error) {
				return e.lookup(ctx, z.name, qtype, true)
			}})
		}
		return out
	}
	return []keySource{{label: "recon data", noSigsOK: true, fetch: func(_ context.Context, qtype uint16) (*dns.Msg, error) {
		return e.fromRecords(z.name, qtype), nil
	}}}
}

var dnssecMissingCheck = Check{
	ID:       "dnssec-missing",
	Title:    "Zone is not protected by DNSSEC",
	Severity: []Rating{{finding.Low, ""}},
	Remediation: "Sign the zone and publish its DS record at the parent (through the registrar), so that resolvers " +
		"can validate answers.",
	References: []string{refRFC4033, refRFC4035, refCWE345},
	Doc: Doc{
		Detects: "a zone without DNSKEY, or a signed zone whose parent publishes no DS (an island of security). " +
			"Subject: the zone.",
		How: "`zones[].signed` and DNSKEY records, confirmed by a DNSKEY query (DO) when online; DS asked " +
			"through the resolver (DO+CD), or taken from the records offline.",
		Severity: "answers can be forged on the path, but most domains are unsigned and the fix involves the " +
			"registrar; dnsrecon reports the same condition.",
		Fix:        "sign the zone and publish its DS at the parent.",
		References: "RFC 4033, RFC 4035; CWE-345.",
	},
	Run: checkDNSSECMissing,
}

func checkDNSSECMissing(ctx context.Context, env *Env) ([]finding.Finding, error) {
	zones := env.zones()
	results := make([]*finding.Finding, len(zones))
	err := env.forEach(ctx, len(zones), func(i int) {
		z := zones[i]
		signed := z.Signed || env.hasRecords(z.name, dns.TypeDNSKEY)
		known := env.listsZone(z.name)
		if !signed {
			if m, err := env.lookup(ctx, z.name, dns.TypeDNSKEY, true); err == nil && m.Rcode == dns.RcodeSuccess {
				keys, _ := rrsetOf(m, z.name, dns.TypeDNSKEY)
				signed, known = len(keys) > 0, true
			}
		}
		if !known && !signed {
			return // recon did not look and we cannot ask
		}
		var ev string
		if !signed {
			ev = fmt.Sprintf("%s publishes no DNSKEY: answers cannot be validated", z.name)
		} else {
			ds, dsKnown := env.dsSet(ctx, z.name)
			if !dsKnown || len(ds) > 0 {
				return
			}
			ev = fmt.Sprintf("%s is signed but its parent publishes no DS record: resolvers cannot validate it (island of security)", z.name)
		}
		f := newFinding(finding.Low, z.name, ev)
		results[i] = &f
	})
	return collect(results), err
}

var dnssecInvalidCheck = Check{
	ID:       "dnssec-invalid",
	Title:    "DNSSEC chain of trust is broken",
	Severity: []Rating{{finding.High, "validation fails"}, {finding.Medium, "stale DS only"}},
	Remediation: "Re-sign the zone (check the signer's schedule), and make the DS at the parent match a published " +
		"DNSKEY; validating resolvers return SERVFAIL until then.",
	References: []string{refRFC4033, refRFC4034, refRFC4035, refCWE345},
	Doc: Doc{
		Detects: "a broken chain of trust: a DS that matches no DNSKEY, a DS for a zone that serves no DNSKEY, a " +
			"DNSKEY or SOA RRset without a valid signature (expired, not yet valid, not verifying, no RRSIG). " +
			"Subject: the zone.",
		How: "DS from the resolver (DO+CD); DNSKEY and SOA with RRSIGs fetched directly from every " +
			"authoritative server of the zone (so one secondary with stale signatures is found), or through " +
			"the resolver when no server is known; `DNSKEY.ToDS` digests compared with the DS, " +
			"`RRSIG.ValidityPeriod` and `RRSIG.Verify` against the keys (the DNSKEY RRset must be signed by a " +
			"key a DS points at). An RRset is valid when at least one signature is; expired spare signatures " +
			"next to a valid one are not reported. Offline only the records recon kept are checked (usually " +
			"DS against DNSKEY).",
		Severity: "high: validating resolvers answer SERVFAIL — the zone is down for them; medium when the only " +
			"problem is a stale DS next to one that matches.",
		Fix:        "re-sign (check the signer's schedule), and make the DS at the parent match a published key.",
		References: "RFC 4033, RFC 4034, RFC 4035; CWE-345.",
	},
	Run: checkDNSSECInvalid,
}

func checkDNSSECInvalid(ctx context.Context, env *Env) ([]finding.Finding, error) {
	zones := env.zones()
	results := make([]*finding.Finding, len(zones))
	err := env.forEach(ctx, len(zones), func(i int) {
		z := zones[i]
		ds, _ := env.dsSet(ctx, z.name)
		hasKeys := env.hasRecords(z.name, dns.TypeDNSKEY)
		if !z.Signed && len(ds) == 0 && !hasKeys {
			return
		}
		if env.Exchanger == nil && z.Signed && !hasKeys {
			return // recon saw the zone signed but kept no keys to check
		}
		now := env.Now()
		var ev []string
		sev := finding.Medium
		for _, src := range env.keySources(z) {
			lines, broken := validateZone(ctx, z.name, ds, src, now)
			for _, l := range lines {
				ev = append(ev, src.label+": "+l)
			}
			if broken {
				sev = finding.High
			}
		}
		if len(ev) == 0 {
			return
		}
		slices.Sort(ev)
		ev = slices.Compact(ev)
		f := newFinding(sev, z.name, ev...)
		results[i] = &f
	})
	return collect(results), err
}

// validateZone checks the DNSKEY and SOA RRsets of zone from one source
// against the DS set and the clock. broken is true when a validating
// resolver would fail (no usable chain or no valid signature); the other
// lines are warnings (a stale DS next to a good one).
func validateZone(ctx context.Context, zone string, ds []*dns.DS, src keySource, now time.Time) (lines []string, broken bool) {
	km, err := src.fetch(ctx, dns.TypeDNSKEY)
	if err != nil || km == nil || km.Rcode != dns.RcodeSuccess {
		return nil, false // unanswered: no evidence either way
	}
	keySet, keySigs := rrsetOf(km, zone, dns.TypeDNSKEY)
	var keys []*dns.DNSKEY
	for _, rr := range keySet {
		keys = append(keys, rr.(*dns.DNSKEY))
	}
	if len(keys) == 0 {
		if len(ds) > 0 {
			return []string{fmt.Sprintf("the parent publishes DS (key tag %d) but %s serves no DNSKEY", ds[0].KeyTag, zone)}, true
		}
		return nil, false
	}

	// DS -> DNSKEY (RFC 4035 5.2).
	var trusted []*dns.DNSKEY // keys a DS points at
	matched := 0
	for _, d := range ds {
		k := matchDS(d, keys)
		if k == nil {
			lines = append(lines, fmt.Sprintf("DS key tag %d algorithm %d digest type %d matches no DNSKEY of %s", d.KeyTag, d.Algorithm, d.DigestType, zone))
			continue
		}
		matched++
		trusted = append(trusted, k)
	}
	if len(ds) > 0 && matched == 0 {
		broken = true
	}

	// DNSKEY RRset signed by a trusted key (or any key without DS).
	signers := keys
	if len(ds) > 0 {
		signers = trusted
	}
	if len(keySigs) > 0 || !src.noSigsOK {
		l, ok := verifyRRset("DNSKEY", keySet, keySigs, signers, now)
		lines = append(lines, l...)
		broken = broken || !ok
	}

	// SOA RRset signed by a key of the zone.
	sm, err := src.fetch(ctx, dns.TypeSOA)
	if err == nil && sm != nil && sm.Rcode == dns.RcodeSuccess {
		soaSet, soaSigs := rrsetOf(sm, zone, dns.TypeSOA)
		if len(soaSet) > 0 && (len(soaSigs) > 0 || !src.noSigsOK) {
			l, ok := verifyRRset("SOA", soaSet, soaSigs, keys, now)
			lines = append(lines, l...)
			if !ok {
				broken = true
			}
		}
	}
	if !broken {
		// Problems beside a working chain are warnings only when they
		// concern a stale DS; expired spare signatures are not reported.
		var keep []string
		for _, l := range lines {
			if strings.HasPrefix(l, "DS ") {
				keep = append(keep, l)
			}
		}
		lines = keep
	}
	return lines, broken
}

// matchDS returns the DNSKEY the DS record digests, or nil.
func matchDS(d *dns.DS, keys []*dns.DNSKEY) *dns.DNSKEY {
	for _, k := range keys {
		if k.KeyTag() != d.KeyTag || k.Algorithm != d.Algorithm {
			continue
		}
		got := k.ToDS(d.DigestType)
		if got != nil && strings.EqualFold(got.Digest, d.Digest) {
			return k
		}
	}
	return nil
}

// verifyRRset checks that at least one RRSIG over set is within its
// validity period and verifies with one of keys. It returns what is wrong
// with each signature and whether the RRset validates.
func verifyRRset(what string, set []dns.RR, sigs []*dns.RRSIG, keys []*dns.DNSKEY, now time.Time) ([]string, bool) {
	if len(set) == 0 {
		return nil, true
	}
	if len(sigs) == 0 {
		return []string{fmt.Sprintf("the %s RRset carries no RRSIG", what)}, false
	}
	var lines []string
	ok := false
	for _, s := range sigs {
		id := fmt.Sprintf("RRSIG %s (key tag %d, algorithm %d)", what, s.KeyTag, s.Algorithm)
		if !s.ValidityPeriod(now) {
			inc, exp := sigTime(s.Inception, now), sigTime(s.Expiration, now)
			if now.Before(inc) {
				lines = append(lines, fmt.Sprintf("%s is not valid before %s", id, inc.UTC().Format(time.RFC3339)))
			} else {
				lines = append(lines, fmt.Sprintf("%s expired at %s", id, exp.UTC().Format(time.RFC3339)))
			}
			continue
		}
		var key *dns.DNSKEY
		for _, k := range keys {
			if k.KeyTag() == s.KeyTag && k.Algorithm == s.Algorithm && dnsname.FromWire(k.Hdr.Name) == dnsname.FromWire(s.SignerName) {
				key = k
				break
			}
		}
		if key == nil {
			lines = append(lines, fmt.Sprintf("%s: no usable DNSKEY with that key tag", id))
			continue
		}
		if err := s.Verify(key, set); err != nil {
			lines = append(lines, fmt.Sprintf("%s does not verify: %v", id, err))
			continue
		}
		ok = true
	}
	return lines, ok
}

// sigTime turns an RRSIG 32-bit time into the instant nearest to now
// (RFC 4034 3.1.5 serial arithmetic).
func sigTime(t uint32, now time.Time) time.Time {
	base := now.Unix()
	delta := int64(int32(t - uint32(base)))
	return time.Unix(base+delta, 0)
}
