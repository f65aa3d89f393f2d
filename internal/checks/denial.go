package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

var nsecWalkableCheck = Check{
	ID:       "nsec-walkable",
	Title:    "NSEC chain lets anyone list the zone",
	Severity: []Rating{{finding.Medium, ""}},
	Remediation: "Sign with NSEC3 (RFC 9276 parameters: 0 extra iterations, no salt) or use online signing with " +
		"minimally covering NSEC records (white lies, RFC 4470) or compact denial, so that the chain no " +
		"longer names the next owner.",
	References: []string{refRFC4034, refRFC4470, refRFC5155, refATTACK, refM1056},
	Doc: Doc{
		Detects: "a zone whose authenticated denial uses NSEC: each NSEC record names the next owner, so the chain " +
			"lists every name. Subject: the zone.",
		How: "`zones[].denial == \"nsec\"`; the evidence says how many names recon's walk revealed and whether " +
			"the chain closed.",
		Severity: "the whole name list leaks, like a transfer, but without the record data.",
		Fix: "NSEC3 with RFC 9276 parameters, or online signing with minimally covering NSEC (\"white lies\", " +
			"RFC 4470) or compact denial.",
		References: "RFC 4034, RFC 4470, RFC 5155; ATT&CK T1596.001, M1056.",
	},
	Run: checkNSECWalkable,
}

func checkNSECWalkable(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	for _, z := range env.zones() {
		if z.Denial != "nsec" {
			continue
		}
		var ev string
		switch {
		case z.Walked > 0 && z.WalkComplete:
			ev = fmt.Sprintf("walking the NSEC chain of %s revealed %d names; the chain closed at the apex (complete list)", z.name, z.Walked)
		case z.Walked > 0:
			ev = fmt.Sprintf("walking the NSEC chain of %s revealed %d names (walk not completed)", z.name, z.Walked)
		default:
			ev = fmt.Sprintf("%s denies existence with NSEC records, which name the next owner name", z.name)
		}
		out = append(out, newFinding(finding.Medium, z.name, ev))
	}
	return out, nil
}

// nsec3Of returns the NSEC3 facts of zone z: its own, or the result's
// top-level NSEC3 summary when it names this zone (or names none and z is
// the target).
func (e *Env) nsec3Of(z zone) *recon.NSEC3Info {
	if z.NSEC3 != nil {
		return z.NSEC3
	}
	top := e.Result.NSEC3
	zn := dnsname.FromWire(top.Zone)
	if top.Zone != "" && zn == z.name || top.Zone == "" && z.name == dnsname.FromWire(e.Result.Domain) && top.Hashes > 0 {
		return &top
	}
	return nil
}

var nsec3EnumerableCheck = Check{
	ID:       "nsec3-enumerable",
	Title:    "NSEC3 hashes can be collected and cracked offline",
	Severity: []Rating{{finding.Medium, "hashes cracked"}, {finding.Low, "nothing cracked"}},
	Remediation: "NSEC3 hashes only slow enumeration down: use online signing with white lies or compact denial " +
		"where names must stay secret; otherwise keep RFC 9276 parameters (0 extra iterations, empty " +
		"salt) and avoid guessable names for sensitive hosts.",
	References: []string{refRFC5155, refRFC9276, refRFC4470, refATTACK},
	Doc: Doc{
		Detects: "a zone signed with NSEC3: its hashes can be collected and cracked offline. Subject: the zone.",
		How: "`zones[].denial == \"nsec3\"` and the NSEC3 facts (parameters, opt-out, hashes collected, cracked " +
			"share, cracked names).",
		Severity: "medium when recon cracked hashes (names did leak), low otherwise. RFC 9276 recommends 0 extra " +
			"iterations and no salt — iterations and salt cost validating resolvers and do not stop a " +
			"dictionary attack, so dnsscout adds a line when the zone uses either, and one for opt-out.",
		Fix: "NSEC3 only slows enumeration; use online signing with white lies or compact denial where names " +
			"must stay secret, keep RFC 9276 parameters, avoid guessable names for sensitive hosts.",
		References: "RFC 5155, RFC 9276, RFC 4470; ATT&CK T1596.001.",
	},
	Run: checkNSEC3Enumerable,
}

func checkNSEC3Enumerable(_ context.Context, env *Env) ([]finding.Finding, error) {
	var out []finding.Finding
	done := make(map[string]bool)
	zones := env.zones()
	// A result may carry the top-level NSEC3 summary for a zone that Zones
	// does not list (or without Zones at all).
	if top := env.Result.NSEC3; top.Hashes > 0 {
		zn := dnsname.FromWire(top.Zone)
		if top.Zone == "" {
			zn = dnsname.FromWire(env.Result.Domain)
		}
		if !slices.ContainsFunc(zones, func(z zone) bool { return z.name == zn }) {
			zones = append(zones, zone{name: zn, Zone: recon.Zone{Name: zn, Denial: "nsec3", NSEC3: &top}})
		}
	}
	for _, z := range zones {
		info := env.nsec3Of(z)
		if !(z.Denial == "nsec3" || z.Denial == "" && info != nil) || done[z.name] {
			continue
		}
		done[z.name] = true
		sev := finding.Low
		var ev []string
		if info == nil {
			ev = append(ev, fmt.Sprintf("%s denies existence with NSEC3; its hashes can be collected by querying non-existent names", z.name))
		} else {
			salt := info.Salt
			if salt == "" || salt == "-" {
				salt = "none"
			}
			ev = append(ev, fmt.Sprintf("NSEC3 parameters of %s: %d extra iterations, salt %s, opt-out %t", z.name, info.Iterations, salt, info.OptOut))
			switch {
			case info.Hashes > 0:
				chain := "incomplete chain"
				if info.Complete {
					chain = "complete chain"
				}
				ev = append(ev, fmt.Sprintf("%d hashes collected (%s); %d cracked (%s)", info.Hashes, chain, info.Cracked, percent(info.Cracked, info.Hashes)))
			default:
				ev = append(ev, "no hashes were collected in this run")
			}
			if cracked := crackedNames(info); len(cracked) > 0 {
				ev = append(ev, "cracked names include: "+strings.Join(cracked, ", "))
			}
			if info.Cracked > 0 {
				sev = finding.Medium
			}
			if info.Iterations > 0 || salt != "none" {
				ev = append(ev, "RFC 9276: use 0 extra iterations and no salt; they cost resolvers and do not stop cracking")
			}
			if info.OptOut {
				ev = append(ev, "opt-out: unsigned delegations are not covered by the chain (RFC 9276 advises against it unless the zone is very large)")
			}
		}
		out = append(out, newFinding(sev, z.name, ev...))
	}
	return out, nil
}

// crackedNames returns up to five cracked names of the chain, sorted.
func crackedNames(info *recon.NSEC3Info) []string {
	var names []string
	for _, h := range info.Chain {
		if h.Name != "" {
			names = append(names, dnsname.FromWire(h.Name))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	return names
}

// percent formats part/whole as a percentage with one decimal.
func percent(part, whole int) string {
	if whole <= 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

var wildcardCheck = Check{
	ID:       "wildcard",
	Title:    "Wildcard record answers for every name",
	Severity: []Rating{{finding.Low, ""}},
	Remediation: "Remove the wildcard unless every name must resolve; a wildcard hides dangling names, widens " +
		"cookie and certificate scope, and makes typos and phishing names resolve.",
	References: []string{refRFC4592, refRFC1034},
	Doc: Doc{
		Detects: "a wildcard record. Subject: `*.name`, one finding per wildcard owner, evidence per type.",
		How:     "recon's wildcard detection at every label level (`wildcards`).",
		Severity: "no data leaks, but every name resolves: typos and phishing names work, dangling names hide, " +
			"cookie and certificate scope widens.",
		Fix:        "remove the wildcard unless every name must resolve.",
		References: "RFC 4592, RFC 1034.",
	},
	Run: checkWildcard,
}

func checkWildcard(_ context.Context, env *Env) ([]finding.Finding, error) {
	byName := make(map[string][]string)
	for _, w := range env.Result.Wildcards {
		name := dnsname.FromWire(w.Name)
		if !strings.HasPrefix(name, "*.") {
			name = "*." + name
		}
		data := slices.Clone(w.Data)
		slices.Sort(data)
		byName[name] = append(byName[name], fmt.Sprintf("%s %s answers %s", name, strings.ToUpper(w.Type), strings.Join(data, ", ")))
	}
	var out []finding.Finding
	for name, ev := range byName {
		slices.Sort(ev)
		out = append(out, newFinding(finding.Low, name, ev...))
	}
	return out, nil
}
