package checks

import (
	"testing"

	"github.com/dnsscout/dnsscout/internal/recon"
)

func TestNSECWalkable(t *testing.T) {
	runCases(t, "nsec-walkable", []checkCase{
		{name: "no denial type known"},
		{name: "nsec3 is not nsec", mutate: func(t *testing.T, w *world) { w.res.Zones[0].Denial = "nsec3" }},
		{
			name: "walked",
			mutate: func(t *testing.T, w *world) {
				z := &w.res.Zones[0]
				z.Denial, z.Walked, z.WalkComplete = "nsec", 37, true
			},
			want:     []string{"medium nsec-walkable example.com"},
			evidence: []string{"revealed 37 names; the chain closed at the apex"},
		},
		{
			name: "sub-zone with NSEC, not walked",
			mutate: func(t *testing.T, w *world) {
				w.res.Zones = append(w.res.Zones, recon.Zone{Name: "lab.example.com", Signed: true, Denial: "nsec"})
			},
			want:     []string{"medium nsec-walkable lab.example.com"},
			evidence: []string{"lab.example.com denies existence with NSEC records"},
		},
	})
}

func TestNSEC3Enumerable(t *testing.T) {
	runCases(t, "nsec3-enumerable", []checkCase{
		{name: "no denial type known"},
		{name: "nsec is not nsec3", mutate: func(t *testing.T, w *world) { w.res.Zones[0].Denial = "nsec" }},
		{
			name: "RFC 9276 parameters, nothing cracked",
			mutate: func(t *testing.T, w *world) {
				w.res.Zones[0].Denial = "nsec3"
				w.res.Zones[0].NSEC3 = &recon.NSEC3Info{Zone: "example.com", Hashes: 12, Complete: true}
			},
			want:     []string{"low nsec3-enumerable example.com"},
			evidence: []string{"0 extra iterations, salt none, opt-out false", "12 hashes collected (complete chain); 0 cracked (0.0%)"},
		},
		{
			name: "salted, iterated, opt-out, cracked (top-level summary)",
			mutate: func(t *testing.T, w *world) {
				w.res.Zones[0].Denial = "nsec3"
				w.res.NSEC3 = recon.NSEC3Info{Zone: "example.com", Hashes: 8, Cracked: 6, Iterations: 10, Salt: "aabbccdd", OptOut: true,
					Chain: []recon.NSEC3Hash{{Hash: "h1", Name: "www.example.com"}, {Hash: "h2", Name: "mail.example.com"}, {Hash: "h3"}}}
			},
			want: []string{"medium nsec3-enumerable example.com"},
			evidence: []string{"10 extra iterations, salt aabbccdd, opt-out true", "6 cracked (75.0%)",
				"cracked names include: mail.example.com, www.example.com", "RFC 9276: use 0 extra iterations and no salt", "opt-out:"},
		},
		{
			name: "summary only, no zone list",
			mutate: func(t *testing.T, w *world) {
				w.res.Zones = nil
				w.res.NSEC3 = recon.NSEC3Info{Hashes: 3, Cracked: 1}
			},
			want: []string{"medium nsec3-enumerable example.com"},
		},
	})
}

func TestWildcard(t *testing.T) {
	runCases(t, "wildcard", []checkCase{
		{name: "none"},
		{
			name: "two types at one level, one at another",
			mutate: func(t *testing.T, w *world) {
				w.res.Wildcards = []recon.Wildcard{
					{Name: "*.example.com", Type: "A", Data: []string{"192.0.2.99", "192.0.2.98"}},
					{Name: "*.example.com", Type: "AAAA", Data: []string{"2001:db8::99"}},
					{Name: "dev.example.com", Type: "CNAME", Data: []string{"lb.example.net."}},
				}
			},
			want:     []string{"low wildcard *.dev.example.com", "low wildcard *.example.com"},
			evidence: []string{"*.example.com A answers 192.0.2.98, 192.0.2.99", "*.example.com AAAA answers 2001:db8::99", "*.dev.example.com CNAME answers lb.example.net."},
		},
	})
}
