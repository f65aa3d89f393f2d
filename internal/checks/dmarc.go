package checks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
)

// DMARC parse errors.
var (
	ErrDMARCNotDMARC = errors.New("checks: not a DMARC record (no leading v=DMARC1)")
	ErrDMARCSyntax   = errors.New("checks: DMARC syntax error")
)

// DMARCRecord is a parsed DMARC policy record (RFC 7489 6.3).
type DMARCRecord struct {
	// Policy is p= (none, quarantine, reject), "" when absent or invalid.
	Policy string
	// SubdomainPolicy is sp=, "" when absent or invalid (then p applies).
	SubdomainPolicy string
	// Pct is pct= (0..100); 100 when absent or invalid.
	Pct int
	// RUA and RUF are the report URIs.
	RUA, RUF []string
	// ADKIM and ASPF are "r" or "s" ("" when absent: relaxed).
	ADKIM, ASPF string
	// Invalid lists tag values that were ignored as invalid.
	Invalid []string
}

// IsDMARC reports whether a TXT string is a DMARC record: it begins with
// the v tag with value DMARC1 (RFC 7489 6.6.3).
func IsDMARC(txt string) bool {
	tag, _, _ := strings.Cut(txt, ";")
	k, v, ok := strings.Cut(tag, "=")
	return ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(v) == "DMARC1"
}

// ParseDMARC parses a DMARC record. Unknown tags are ignored; invalid
// values of known tags are listed in Invalid. An absent or invalid p tag is
// an error unless a valid rua is present (RFC 7489 6.6.3: then p=none).
func ParseDMARC(txt string) (DMARCRecord, error) {
	if !IsDMARC(txt) {
		return DMARCRecord{}, ErrDMARCNotDMARC
	}
	rec := DMARCRecord{Pct: 100}
	seen := make(map[string]bool)
	parts := strings.Split(txt, ";")
	for i, part := range parts {
		part = strings.Trim(part, " \t")
		if part == "" {
			if i == len(parts)-1 || strings.TrimSpace(strings.Join(parts[i+1:], "")) == "" {
				break // trailing separators
			}
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return DMARCRecord{}, fmt.Errorf("%w: %q is not tag=value", ErrDMARCSyntax, part)
		}
		k = strings.ToLower(strings.Trim(k, " \t"))
		v = strings.Trim(v, " \t")
		if k == "" {
			return DMARCRecord{}, fmt.Errorf("%w: empty tag name", ErrDMARCSyntax)
		}
		if seen[k] {
			rec.Invalid = append(rec.Invalid, fmt.Sprintf("%s repeated (first value kept)", k))
			continue
		}
		seen[k] = true
		switch k {
		case "p", "sp":
			p := strings.ToLower(v)
			if p != "none" && p != "quarantine" && p != "reject" {
				rec.Invalid = append(rec.Invalid, fmt.Sprintf("%s=%s", k, v))
				continue
			}
			if k == "p" {
				rec.Policy = p
			} else {
				rec.SubdomainPolicy = p
			}
		case "pct":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				rec.Invalid = append(rec.Invalid, "pct="+v)
				continue
			}
			rec.Pct = n
		case "rua", "ruf":
			uris, bad := parseDMARCURIs(v)
			if bad != "" {
				rec.Invalid = append(rec.Invalid, fmt.Sprintf("%s=%s", k, bad))
			}
			if k == "rua" {
				rec.RUA = uris
			} else {
				rec.RUF = uris
			}
		case "adkim", "aspf":
			a := strings.ToLower(v)
			if a != "r" && a != "s" {
				rec.Invalid = append(rec.Invalid, fmt.Sprintf("%s=%s", k, v))
				continue
			}
			if k == "adkim" {
				rec.ADKIM = a
			} else {
				rec.ASPF = a
			}
		}
	}
	if rec.Policy == "" {
		if len(rec.RUA) == 0 {
			return DMARCRecord{}, fmt.Errorf("%w: no valid p tag and no rua", ErrDMARCSyntax)
		}
		rec.Policy = "none"
		rec.Invalid = append(rec.Invalid, "p missing or invalid (treated as p=none, RFC 7489 6.6.3)")
	}
	return rec, nil
}

// parseDMARCURIs splits a comma-separated URI list; bad is the first entry
// that is not a URI with a scheme.
func parseDMARCURIs(v string) (uris []string, bad string) {
	for _, u := range strings.Split(v, ",") {
		u = strings.Trim(u, " \t")
		if u == "" {
			continue
		}
		scheme, rest, ok := strings.Cut(u, ":")
		if !ok || scheme == "" || rest == "" || strings.ContainsAny(scheme, " /@") {
			if bad == "" {
				bad = u
			}
			continue
		}
		uris = append(uris, u)
	}
	return uris, bad
}

// dmarcPolicy is the DMARC record that governs a domain.
type dmarcPolicy struct {
	at        string // owner name (_dmarc.<domain>)
	txt       string
	rec       DMARCRecord
	inherited bool   // found at the organizational domain
	problem   string // why no policy applies (several records, syntax)
}

// dmarcFor finds the DMARC policy of domain (RFC 7489 6.6.3): at
// _dmarc.<domain>, else at the organizational domain. known is false when
// the question could not be answered.
func (e *Env) dmarcFor(ctx context.Context, domain string) (p dmarcPolicy, found, known bool) {
	try := func(d string) (dmarcPolicy, bool, bool) {
		at := "_dmarc." + d
		txts, ok := e.txtAt(ctx, at)
		if !ok {
			if d == domain && e.Exchanger == nil {
				// Offline: recon asks _dmarc at the target; no TXT there means none.
				return dmarcPolicy{}, false, true
			}
			return dmarcPolicy{}, false, false
		}
		var recs []string
		for _, t := range txts {
			if IsDMARC(t) {
				recs = append(recs, t)
			}
		}
		switch len(recs) {
		case 0:
			return dmarcPolicy{}, false, true
		case 1:
			rec, err := ParseDMARC(recs[0])
			if err != nil {
				return dmarcPolicy{at: at, txt: recs[0], problem: fmt.Sprintf("%s record %q is unusable (%v): receivers apply no policy", at, recs[0], err)}, true, true
			}
			return dmarcPolicy{at: at, txt: recs[0], rec: rec}, true, true
		default:
			return dmarcPolicy{at: at, problem: fmt.Sprintf("%s holds %d DMARC records: receivers apply none of them (RFC 7489 6.6.3)", at, len(recs))}, true, true
		}
	}
	p, found, known = try(domain)
	if found || !known {
		return p, found, known
	}
	org := dnsname.Registrable(domain)
	if org == "" || org == domain {
		return p, false, true
	}
	op, ofound, oknown := try(org)
	if !oknown {
		return p, false, false // cannot tell whether the org domain covers it
	}
	op.inherited = true
	return op, ofound, true
}

// handlesMail reports whether domain has MX records or an SPF record in the
// result: a domain that visibly sends or receives mail.
func (e *Env) handlesMail(domain string) bool {
	if e.hasRecords(domain, dns.TypeMX) && !nullMX(e, domain) {
		return true
	}
	for _, t := range e.txtOf(domain) {
		if IsSPF(t) && !strings.EqualFold(strings.Join(strings.Fields(t), " "), "v=spf1 -all") {
			return true
		}
	}
	return false
}

func checkDMARCMissing(ctx context.Context, env *Env) ([]finding.Finding, error) {
	domain := dnsname.FromWire(env.Result.Domain)
	p, found, known := env.dmarcFor(ctx, domain)
	if !known {
		return nil, nil
	}
	sev := finding.Low
	if env.handlesMail(domain) {
		sev = finding.Medium
	}
	switch {
	case !found:
		ev := fmt.Sprintf("_dmarc.%s has no DMARC record: receivers cannot tell spoofed mail from %s", domain, domain)
		if org := dnsname.Registrable(domain); org != "" && org != domain {
			ev += fmt.Sprintf(" (nor does the organizational domain %s)", org)
		}
		return []finding.Finding{newFinding("dmarc-missing", sev, domain, ev)}, nil
	case p.problem != "":
		return []finding.Finding{newFinding("dmarc-missing", sev, domain, p.problem)}, nil
	}
	return nil, nil
}

func checkDMARCWeak(ctx context.Context, env *Env) ([]finding.Finding, error) {
	domain := dnsname.FromWire(env.Result.Domain)
	p, found, known := env.dmarcFor(ctx, domain)
	if !known || !found || p.problem != "" {
		return nil, nil
	}
	r := p.rec
	var ev []string
	sev := finding.Info
	policy := r.Policy
	if p.inherited {
		ev = append(ev, fmt.Sprintf("%s has no own DMARC record; the organizational domain's %s %q applies", domain, p.at, p.txt))
		if r.SubdomainPolicy != "" {
			policy = r.SubdomainPolicy
		}
	} else {
		ev = append(ev, fmt.Sprintf("%s %q", p.at, p.txt))
	}
	lines := 0
	if policy == "none" {
		ev = append(ev, "policy none: spoofed mail is delivered, only reported")
		sev = finding.Medium
		lines++
	}
	if !p.inherited && r.SubdomainPolicy == "none" && r.Policy != "none" {
		ev = append(ev, "sp=none: mail spoofing subdomains of "+domain+" is delivered")
		sev = finding.Medium
		lines++
	}
	if r.Pct < 100 && policy != "none" {
		ev = append(ev, fmt.Sprintf("pct=%d: the policy applies to %d%% of failing mail only", r.Pct, r.Pct))
		sev = max(sev, finding.Low)
		lines++
	}
	if len(r.RUA) == 0 {
		ev = append(ev, "no rua: the owner receives no aggregate reports of who sends as "+domain)
		sev = max(sev, finding.Low)
		lines++
	}
	for _, inv := range r.Invalid {
		ev = append(ev, "ignored invalid tag: "+inv)
	}
	if lines == 0 {
		return nil, nil
	}
	return []finding.Finding{newFinding("dmarc-weak", sev, domain, ev...)}, nil
}
