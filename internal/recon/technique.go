package recon

import "context"

// A technique is one way of finding what a domain's DNS reveals. It keeps
// its own state in its value and shares what it finds only through the
// scope's ledger; no technique reads another's state. The scheduler (run)
// drives it through the abilities it has, each a one-method interface:
//
//   - zoneTechnique: once for every zone enumerated (the target's zone
//     and each delegated sub-zone found), after its apex records;
//   - roundTechnique: once per expansion round, until a round in which no
//     technique found anything new;
//   - starter and finisher: once before the first zone and once after the
//     last round.
type technique interface {
	// name is the technique's name in logs and docs.
	name() string
}

// zoneTechnique enumerates one zone. base is where names are sought: the
// zone apex, or the target when the target lies inside the zone without
// being its apex.
type zoneTechnique interface {
	technique
	zone(ctx context.Context, s *scope, z *Zone, base string)
}

// roundTechnique runs once per expansion round and reports whether it did
// or found anything new (another round follows when one did).
type roundTechnique interface {
	technique
	round(ctx context.Context, s *scope) bool
}

// starter runs once before the first zone is enumerated.
type starter interface {
	technique
	start(ctx context.Context, s *scope)
}

// finisher runs once after the last expansion round.
type finisher interface {
	technique
	finish(ctx context.Context, s *scope)
}

// techniques is the ordered registry of one run's techniques, those the
// options leave on. Order matters twice: a zone gets its zone techniques
// in this order (nameservers before DNSSEC, which needs the authoritative
// servers; brute force last, when the wildcard levels and known names are
// in), and a round its round techniques in this order (expansion first,
// so that later ones see its names).
//
// To add a technique: write a type in its own file with name() and the
// abilities it needs, add one line here, test it alone with runTechnique
// (technique_test.go) and add a line to the package doc.
func techniques(o *Options, words []string) []technique {
	var out []technique
	add := func(on bool, t technique) {
		if on {
			out = append(out, t)
		}
	}
	add(len(o.Passive) > 0, &passiveSources{}) // start: ask passive sources; finish: historic names
	add(true, expansion{})                     // round: resolve new names, verify mined candidates
	add(true, subzones{})                      // round: enumerate delegated sub-zones found
	add(!o.NoPTR, newPTRSweep())               // round: PTR neighbourhoods of new addresses
	add(o.Alterations, newAlterations())       // round: alterations of the labels found
	add(true, nameservers{})                   // zone: nameservers, their behaviour, zone transfers
	add(!o.NoWalk, newDNSSECChains())          // zone: NSEC walk, NSEC3 chain; round: re-crack
	add(!o.NoSRV, serviceLabels{})             // zone: SRV and TXT policy labels
	add(len(words) > 0, newWordlist(words))    // zone: brute force; round: below names found
	return out
}
