package scan_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/dnsscout/dnsscout/internal/demo"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// ExampleRun scans a domain of the offline demo world: one engine,
// created and probed once, then one Run per domain.
func ExampleRun() {
	ctx := context.Background()
	world, err := demo.Start(ctx)
	if err != nil {
		panic(err)
	}
	defer world.Close()
	eng, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{world.Resolver}, Concurrency: 64})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	if err := scan.Probe(ctx, eng, []string{"example.org"}); err != nil {
		panic(err)
	}
	rep, err := scan.Run(ctx, eng, "example.org", scan.Options{
		Recon: recon.Options{NameserverPort: world.Port, Concurrency: 64, NoPTR: true},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Domain, "complete:", !rep.Partial(), "resolvers:", len(rep.Resolvers))
	for _, f := range rep.Findings {
		fmt.Println(f.Severity, f.ID, f.Subject)
	}
	// Output:
	// example.org complete: true resolvers: 1
	// medium nsec3-enumerable example.org
	// medium single-nameserver example.org
}
