package scan

import (
	"context"
	"slices"

	"github.com/dnsscout/dnsscout/internal/dnsname"
)

// Probe tests the engine's resolvers once before the scans of targets:
// random names under the targets' public suffixes and under "invalid"
// (RFC 6761) cannot exist, so a resolver that answers them lies and is
// dropped (see resolver.Resolver.Probe). It returns the engine's error
// when no usable resolver is left. An engine without the Prober ability
// passes.
func Probe(ctx context.Context, eng Engine, targets []string) error {
	p, ok := eng.(Prober)
	if !ok {
		return nil
	}
	return p.Probe(ctx, ProbeZones(targets))
}

// ProbeZones are the zones under which random names cannot exist: the
// public suffixes of the targets, and "invalid".
func ProbeZones(targets []string) []string {
	zones := []string{"invalid"}
	for _, d := range targets {
		if s, _ := dnsname.PublicSuffix(d); s != "" && s != d && !slices.Contains(zones, s) {
			zones = append(zones, s)
		}
	}
	return zones
}
