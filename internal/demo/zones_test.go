package demo

import (
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnsworld"
)

// TestZoneTexts holds the two zone tables to what zoneTexts promises: no
// origin in both (one would hide the other), every demo target among the
// domains, and every text a zone that parses under its origin.
func TestZoneTexts(t *testing.T) {
	deleg, domains := delegationZoneTexts(), domainZoneTexts()
	for origin := range domains {
		if _, dup := deleg[origin]; dup {
			t.Errorf("%s is in both the delegation and the domain tables", origin)
		}
	}
	for _, d := range Domains {
		if _, ok := domains[d+"."]; !ok {
			t.Errorf("demo target %s has no zone in domainZoneTexts", d)
		}
	}
	texts := zoneTexts()
	if len(texts) != len(deleg)+len(domains) {
		t.Errorf("zoneTexts has %d zones, want %d + %d", len(texts), len(deleg), len(domains))
	}
	for origin, text := range texts {
		t.Run(origin, func(t *testing.T) {
			z, err := dnsworld.ParseZone(origin, text)
			if err != nil {
				t.Fatal(err)
			}
			if z.Origin != origin {
				t.Errorf("origin %q, want %q", z.Origin, origin)
			}
		})
	}
}
