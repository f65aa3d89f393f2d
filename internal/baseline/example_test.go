package baseline_test

import (
	"fmt"

	"github.com/dnsscout/dnsscout/internal/baseline"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

func ExampleCompare() {
	prev := &baseline.Run{Result: &recon.Result{Domain: "example.com",
		Names: []recon.Name{{Name: "www.example.com", Addresses: []string{"192.0.2.9"}}, {Name: "old.example.com"}}},
		Findings: []finding.Finding{{ID: "axfr-allowed", Subject: "ns1.example.com 192.0.2.1", Severity: finding.High}},
	}
	cur := &baseline.Run{Result: &recon.Result{Domain: "example.com",
		Names: []recon.Name{{Name: "www.example.com", Addresses: []string{"192.0.2.10"}}, {Name: "intranet.example.com", Addresses: []string{"10.0.0.5"}}}},
		Findings: []finding.Finding{
			{ID: "axfr-allowed", Subject: "ns1.example.com 192.0.2.1", Severity: finding.Critical},
			{ID: "private-address-leak", Subject: "intranet.example.com", Severity: finding.High},
		},
	}
	d := baseline.Compare(prev, cur)
	baseline.Apply(cur.Findings, &d)
	for _, n := range d.Names {
		fmt.Println("name", n.Change, n.Name, n.PreviousAddresses, "->", n.Addresses)
	}
	for _, f := range cur.Findings {
		fmt.Println("finding", f.ID, f.Change)
	}
	// Output:
	// name new intranet.example.com [] -> [10.0.0.5]
	// name gone old.example.com [] -> []
	// name changed www.example.com [192.0.2.9] -> [192.0.2.10]
	// finding axfr-allowed changed
	// finding private-address-leak new
}
