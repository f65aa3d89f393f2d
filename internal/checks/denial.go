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
		out = append(out, newFinding("nsec-walkable", finding.Medium, z.name, ev))
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
		out = append(out, newFinding("nsec3-enumerable", sev, z.name, ev...))
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
		out = append(out, newFinding("wildcard", finding.Low, name, ev...))
	}
	return out, nil
}
