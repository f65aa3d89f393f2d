package checks_test

import (
	"context"
	"fmt"

	"github.com/dnsscout/dnsscout/internal/checks"
	"github.com/dnsscout/dnsscout/internal/recon"
)

// Run audits a recon result offline (no Exchanger): only what the result
// holds is judged.
func ExampleRun() {
	res := &recon.Result{
		Domain: "example.com",
		Nameservers: []recon.Nameserver{{
			Name: "ns1.example.com", Zone: "example.com", Sources: []string{"parent", "child"},
			Addresses: []string{"192.0.2.53"}, Resolves: true,
			Servers: []recon.Server{{Address: "192.0.2.53", Responding: true, Authoritative: true,
				AXFR: recon.TransferAllowed, AXFRRecords: 12, Version: "9.18.28"}},
		}},
		Records: []recon.Record{
			{Name: "vpn.example.com", Type: "A", TTL: 300, Data: "10.1.2.3"},
			{Name: "example.com", Type: "TXT", TTL: 300, Data: `"v=spf1 mx -all"`},
		},
	}
	sel := checks.Selection{Only: []string{"axfr-allowed", "private-address-leak", "version-disclosure", "single-nameserver"}}
	findings, err := checks.Run(context.Background(), res, nil, sel)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Printf("%-6s %-20s %s\n", f.Severity, f.ID, f.Subject)
	}
	// Output:
	// high   axfr-allowed         ns1.example.com (192.0.2.53)
	// medium private-address-leak vpn.example.com
	// medium single-nameserver    example.com
	// low    version-disclosure   ns1.example.com (192.0.2.53)
}
