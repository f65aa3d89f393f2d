package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/mailauth"
)

// dmarcPolicy is the DMARC record that governs a domain.
type dmarcPolicy struct {
	at        string // owner name (_dmarc.<domain>)
	txt       string
	rec       mailauth.DMARCRecord
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
			if mailauth.IsDMARC(t) {
				recs = append(recs, t)
			}
		}
		switch len(recs) {
		case 0:
			return dmarcPolicy{}, false, true
		case 1:
			rec, err := mailauth.ParseDMARC(recs[0])
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
		if mailauth.IsSPF(t) && !strings.EqualFold(strings.Join(strings.Fields(t), " "), "v=spf1 -all") {
			return true
		}
	}
	return false
}

var dmarcMissingCheck = Check{
	ID:       "dmarc-missing",
	Title:    "No DMARC policy",
	Severity: []Rating{{finding.Medium, "mail domain"}, {finding.Low, "no mail"}},
	Remediation: "Publish _dmarc.<domain> TXT \"v=DMARC1; p=none; rua=mailto:...\", read the reports, then move to " +
		"p=quarantine and p=reject.",
	References: []string{refRFC7489, refCWE290},
	Doc: Doc{
		Detects: "no usable DMARC policy for the audited domain: no record at `_dmarc.<domain>` nor at its " +
			"organizational domain, several records, or a record that cannot be used (no valid `p` and no " +
			"`rua`). Subject: the domain.",
		How: "TXT at `_dmarc.<domain>`, then at `_dmarc.<registrable domain>` (RFC 7489 6.6.3).",
		Severity: "medium when the domain visibly handles mail (MX, or an SPF record other than `v=spf1 -all`), low " +
			"otherwise.",
		Fix:        "publish `v=DMARC1; p=none; rua=mailto:...`, read the reports, move to `p=reject`.",
		References: "RFC 7489; CWE-290.",
	},
	Run: checkDMARCMissing,
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
		return []finding.Finding{newFinding(sev, domain, ev)}, nil
	case p.problem != "":
		return []finding.Finding{newFinding(sev, domain, p.problem)}, nil
	}
	return nil, nil
}

var dmarcWeakCheck = Check{
	ID:       "dmarc-weak",
	Title:    "DMARC policy does not protect the domain",
	Severity: []Rating{{finding.Medium, "p=none, sp=none"}, {finding.Low, "pct < 100, no rua"}},
	Remediation: "Move to p=reject (or quarantine) with pct=100 and an rua address, after the reports show that " +
		"legitimate mail passes.",
	References: []string{refRFC7489, refCWE290},
	Doc: Doc{
		Detects: "a DMARC policy that does not protect: `p=none`, `sp=none` under a stronger `p`, `pct` < 100, no " +
			"`rua`. An inherited organizational policy is judged by its `sp`. Subject: the domain.",
		How: "`checks.ParseDMARC` (RFC 7489 6.3; invalid values of known tags are ignored and listed).",
		Severity: "medium for `p=none` and `sp=none` (spoofed mail is delivered); low for `pct` < 100 and missing " +
			"`rua`.",
		Fix:        "`p=reject` (or quarantine), `pct=100`, an `rua` address.",
		References: "RFC 7489; CWE-290.",
	},
	Run: checkDMARCWeak,
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
	return []finding.Finding{newFinding(sev, domain, ev...)}, nil
}
