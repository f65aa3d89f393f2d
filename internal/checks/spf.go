package checks

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/mailauth"
)

// lookupTerms are the terms that cost a DNS lookup (RFC 7208 4.6.4).
var lookupTerms = []string{"include", "a", "mx", "ptr", "exists", "redirect"}

// spfEval is the recursive evaluation state of one SPF tree.
type spfEval struct {
	env      *Env
	lookups  int      // DNS-querying terms, counted recursively
	voids    int      // includes/redirects whose target had no record
	problems []string // evidence
	high     bool     // matches everything (+all reached)
	medium   bool
	visited  []string
	partial  bool // some include could not be followed
}

// spfRecordsAt returns the SPF records at name: from the result's records
// when name is in scope and recon has TXT there, else asked of the resolver.
// found is false when neither could answer.
func (e *Env) spfRecordsAt(ctx context.Context, name string) (recs []string, exists, found bool) {
	name = dnsname.FromWire(name)
	if e.inScope(name) && e.hasRecords(name, dns.TypeTXT) {
		for _, t := range e.txtOf(name) {
			if mailauth.IsSPF(t) {
				recs = append(recs, t)
			}
		}
		return recs, true, true
	}
	st, m := e.exists(ctx, name, dns.TypeTXT)
	if st == stateUnknown {
		if e.inScope(name) {
			// Recon asked and found no TXT.
			return nil, true, true
		}
		return nil, false, false
	}
	if st == stateNXDomain {
		return nil, false, true
	}
	for _, rr := range m.Answer {
		if t, ok := rr.(*dns.TXT); ok && dnsname.FromWire(t.Hdr.Name) == name {
			if s := strings.Join(t.Txt, ""); mailauth.IsSPF(s) {
				recs = append(recs, s)
			}
		}
	}
	return recs, true, true
}

// walk evaluates the record rec of domain at depth, following include and
// redirect.
func (ev *spfEval) walk(ctx context.Context, domain string, rec mailauth.SPFRecord, depth int, path string) {
	redirect := rec.Redirect()
	_, hasAll := rec.All()
	for _, t := range rec.Terms {
		if ev.lookups > 10 {
			return // permerror already; stop querying (4.6.4 is also a DoS guard)
		}
		if !t.Modifier && slices.Contains(lookupTerms, t.Name) || t.Modifier && t.Name == "redirect" && !hasAll {
			ev.lookups++
		}
		if t.Modifier || t.Name != "include" {
			continue
		}
		ev.follow(ctx, domain, t.Value, depth, path, t.Qualifier == '+', "include")
	}
	if redirect != "" && !hasAll && ev.lookups <= 10 {
		ev.follow(ctx, domain, redirect, depth, path, true, "redirect")
	}
}

// follow evaluates the record of target reached from domain by an include
// or redirect.
func (ev *spfEval) follow(ctx context.Context, domain, target string, depth int, path string, pass bool, via string) {
	if mailauth.HasMacro(target) {
		ev.partial = true
		return
	}
	target = dnsname.FromWire(target)
	where := fmt.Sprintf("%s:%s (from %s)", via, target, path)
	if slices.Contains(ev.visited, target) {
		ev.problems = append(ev.problems, fmt.Sprintf("%s loops back to an SPF record already evaluated", where))
		ev.medium = true
		return
	}
	if depth >= 10 {
		ev.partial = true
		return
	}
	recs, exists, found := ev.env.spfRecordsAt(ctx, target)
	if !found {
		ev.partial = true
		return
	}
	if len(recs) == 0 {
		state := "has no SPF record"
		if !exists {
			state = "does not exist (NXDOMAIN)"
			ev.voids++
		}
		ev.problems = append(ev.problems, fmt.Sprintf("%s %s: the result is permerror (RFC 7208 5.2, 6.1)", where, state))
		ev.medium = true
		return
	}
	if len(recs) > 1 {
		ev.problems = append(ev.problems, fmt.Sprintf("%s has %d SPF records: permerror (RFC 7208 4.5)", where, len(recs)))
		ev.medium = true
		return
	}
	rec, err := mailauth.ParseSPF(recs[0])
	if err != nil {
		ev.problems = append(ev.problems, fmt.Sprintf("%s does not parse (%v): permerror", where, err))
		ev.medium = true
		return
	}
	if all, ok := rec.All(); ok && all.Qualifier == '+' && pass {
		ev.problems = append(ev.problems, fmt.Sprintf("%s ends in +all: every sender passes %s", where, domain))
		ev.high = true
	} else if ok && all.Qualifier == '?' && via == "redirect" {
		ev.problems = append(ev.problems, fmt.Sprintf("%s ends in ?all: unlisted senders get neutral", where))
		ev.medium = true
	}
	ev.visited = append(ev.visited, target)
	ev.walk(ctx, target, rec, depth+1, target)
	ev.visited = ev.visited[:len(ev.visited)-1]
}

// spfNames are the names whose SPF the checks examine: the audited domain
// and every in-scope name with an MX record, sorted.
func (e *Env) spfNames() []string {
	names := []string{dnsname.FromWire(e.Result.Domain)}
	for _, r := range e.recordsOf(dns.TypeMX) {
		if e.inScope(r.owner) {
			names = append(names, r.owner)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// txtAt returns the TXT strings at name and whether they are known: recon
// holds TXT there, or the resolver answered.
func (e *Env) txtAt(ctx context.Context, name string) (txts []string, known bool) {
	if e.hasRecords(name, dns.TypeTXT) {
		return e.txtOf(name), true
	}
	st, m := e.exists(ctx, name, dns.TypeTXT)
	switch st {
	case stateNXDomain:
		return nil, true
	case stateExists:
		for _, rr := range m.Answer {
			if t, ok := rr.(*dns.TXT); ok && dnsname.FromWire(t.Hdr.Name) == name {
				txts = append(txts, strings.Join(t.Txt, ""))
			}
		}
		return txts, true
	}
	// Offline: recon queries TXT at the target and at every name it
	// reports; a reported name without TXT has none.
	return nil, e.Exchanger == nil && (name == dnsname.FromWire(e.Result.Domain) || e.hasName(name) || e.hasOwner(name))
}

// hasOwner reports whether the result holds any record at name.
func (e *Env) hasOwner(name string) bool { return len(e.recordsAt(name)) > 0 }

// hasName reports whether the result lists name among its names.
func (e *Env) hasName(name string) bool {
	for _, n := range e.Result.Names {
		if dnsname.FromWire(n.Name) == name {
			return true
		}
	}
	return false
}

var spfMissingCheck = Check{
	ID:       "spf-missing",
	Title:    "No SPF record",
	Severity: []Rating{{finding.Medium, "mail domain"}, {finding.Low, "no mail"}},
	Remediation: "Publish an SPF record: \"v=spf1 <your senders> -all\", or \"v=spf1 -all\" for a name that sends no " +
		"mail.",
	References: []string{refRFC7208, refCWE290},
	Doc: Doc{
		Detects: "no SPF record at the audited domain or at an in-scope name with MX records. Subject: the name.",
		How:     "TXT records from recon (or the resolver when online), `v=spf1` per RFC 7208 4.5.",
		Severity: "medium for a name that receives mail (MX); low for a name without MX or with a null MX, which " +
			"should still publish `v=spf1 -all`.",
		Fix:        "publish SPF listing your senders and ending in `-all`.",
		References: "RFC 7208; CWE-290.",
	},
	Run: checkSPFMissing,
}

func checkSPFMissing(ctx context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, name := range env.spfNames() {
		txts, known := env.txtAt(ctx, name)
		if !known || slices.ContainsFunc(txts, mailauth.IsSPF) {
			continue
		}
		if env.hasRecords(name, dns.TypeMX) {
			if nullMX(env, name) {
				out = append(out, newFinding(finding.Low, name,
					fmt.Sprintf("%s has a null MX (receives no mail) but no SPF record; publish \"v=spf1 -all\"", name)))
				continue
			}
			out = append(out, newFinding(finding.Medium, name,
				fmt.Sprintf("%s receives mail (MX) but publishes no SPF record: anyone can send as @%s", name, name)))
			continue
		}
		out = append(out, newFinding(finding.Low, name,
			fmt.Sprintf("%s publishes no SPF record; a name that sends no mail should publish \"v=spf1 -all\"", name)))
	}
	return out, nil
}

// nullMX reports whether name's only MX is the null MX (RFC 7505).
func nullMX(env *Env, name string) bool {
	n := 0
	for _, r := range env.recordsAt(name) {
		if mx, ok := r.rr.(*dns.MX); ok {
			n++
			if mx.Mx != "." {
				return false
			}
		}
	}
	return n > 0
}

var spfPermissiveCheck = Check{
	ID:       "spf-permissive",
	Title:    "SPF record authorises too much or cannot be evaluated",
	Severity: []Rating{{finding.High, "+all"}, {finding.Medium, "?all, no all, > 10 lookups, permerror"}},
	Remediation: "End the record with -all (or ~all while DMARC reports are reviewed), list only your senders, and " +
		"keep it within 10 DNS-querying terms (flatten includes).",
	References: []string{refRFC7208, refCWE290},
	Doc: Doc{
		Detects: "an SPF policy that authorises too much or cannot be evaluated: `+all` (or `all`), `?all`, no " +
			"`all` and no `redirect` (neutral by default, RFC 7208 4.7), `ip4`/`ip6` blocks wider than /16 " +
			"and /32 (`/0` is everything), more than 10 DNS-querying terms counted recursively through " +
			"`include` and `redirect` (RFC 7208 4.6.4), more than two void lookups, an include or redirect " +
			"target without an SPF record or that does not exist, an included `+all` record, include loops, " +
			"several SPF records, a syntax error. All of these but the first five make the result " +
			"`permerror`, which receivers treat as no SPF. Subject: the name.",
		How: "`checks.ParseSPF` (RFC 7208 section 12 grammar, macros validated) and a recursive walk that " +
			"fetches include and redirect targets (from recon's records in scope, else the resolver); macro " +
			"targets are counted but not expanded. Offline the count is a lower bound and said so.",
		Severity: "high for `+all`, `ip4:0.0.0.0/0` or an included `+all` (anyone passes); medium for the rest. " +
			"`~all` is not reported: with DMARC it is the usual deployment.",
		Fix:        "`-all`, only your senders, at most 10 lookups (flatten includes).",
		References: "RFC 7208; CWE-290.",
	},
	Run: checkSPFPermissive,
}

func checkSPFPermissive(ctx context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, name := range env.spfNames() {
		txts, _ := env.txtAt(ctx, name)
		var recs []string
		for _, t := range txts {
			if mailauth.IsSPF(t) {
				recs = append(recs, t)
			}
		}
		if len(recs) == 0 {
			continue
		}
		if f, ok := spfPermissive(ctx, env, name, recs); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// spfPermissive evaluates the SPF records published at name.
func spfPermissive(ctx context.Context, env *Env, name string, recs []string) (finding.Finding, bool) {
	slices.Sort(recs)
	if len(recs) > 1 {
		return newFinding(finding.Medium, name,
			fmt.Sprintf("%s publishes %d SPF records (%s): the result is permerror (RFC 7208 4.5), so SPF protects nothing", name, len(recs), strings.Join(quoteAll(recs), ", "))), true
	}
	rec, err := mailauth.ParseSPF(recs[0])
	if err != nil {
		return newFinding(finding.Medium, name,
			fmt.Sprintf("SPF record %q does not parse (%v): the result is permerror, so SPF protects nothing", recs[0], err)), true
	}
	ev := &spfEval{env: env, visited: []string{name}}
	var lines []string
	sev := finding.Info
	if all, ok := rec.All(); ok {
		switch all.Qualifier {
		case '+':
			lines = append(lines, fmt.Sprintf("SPF record %q ends in +all: every host on the internet may send as @%s", recs[0], name))
			sev = finding.High
		case '?':
			lines = append(lines, fmt.Sprintf("SPF record %q ends in ?all: unlisted senders get neutral, which receivers treat as no policy", recs[0]))
			sev = finding.Medium
		}
	} else if rec.Redirect() == "" {
		lines = append(lines, fmt.Sprintf("SPF record %q has no all mechanism and no redirect: unlisted senders get neutral (RFC 7208 4.7)", recs[0]))
		sev = finding.Medium
	}
	for _, t := range rec.Terms {
		if t.Modifier || (t.Name != "ip4" && t.Name != "ip6") || t.Qualifier == '-' || t.Qualifier == '~' || t.Prefix < 0 {
			continue
		}
		wide := t.Name == "ip4" && t.Prefix < 16 || t.Name == "ip6" && t.Prefix < 32
		if !wide {
			continue
		}
		if t.Prefix == 0 {
			lines = append(lines, fmt.Sprintf("%s authorises every address", t))
			sev = finding.High
		} else {
			lines = append(lines, fmt.Sprintf("%s authorises a whole network block", t))
			sev = max(sev, finding.Medium)
		}
	}
	ev.walk(ctx, name, rec, 0, name)
	if ev.lookups > 10 {
		lines = append(lines, fmt.Sprintf("the SPF record of %s needs more than 10 DNS lookups (include, a, mx, ptr, exists, redirect counted recursively): permerror (RFC 7208 4.6.4)", name))
		sev = max(sev, finding.Medium)
	}
	if ev.voids > 2 {
		lines = append(lines, fmt.Sprintf("%d includes or redirects name domains that do not exist: more than 2 void lookups is a permerror (RFC 7208 4.6.4)", ev.voids))
		sev = max(sev, finding.Medium)
	}
	lines = append(lines, ev.problems...)
	if ev.high {
		sev = finding.High
	} else if ev.medium {
		sev = max(sev, finding.Medium)
	}
	if len(lines) == 0 {
		return finding.Finding{}, false
	}
	if ev.partial {
		lines = append(lines, fmt.Sprintf("lookup count is a lower bound: some includes could not be followed (at least %d lookups)", ev.lookups))
	}
	return newFinding(sev, name, lines...), true
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}
