package report_test

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/report"
	"github.com/dnsscout/dnsscout/internal/scan"
)

func ExampleWrite() {
	r := &scan.Report{Result: &recon.Result{
		Domain: "example.com",
		Records: []recon.Record{
			{Name: "example.com", Type: "MX", TTL: 3600, Data: "10 mail.example.com.", Source: "standard"},
			{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.10", Source: "axfr"},
		},
	}}
	if err := report.Write(os.Stdout, "csv", []*scan.Report{r}, report.Options{}); err != nil {
		panic(err)
	}
	// Output:
	// name,type,ttl,data,source
	// example.com,MX,3600,10 mail.example.com.,standard
	// www.example.com,A,300,192.0.2.10,axfr
}

func ExampleNDJSONLine() {
	line, err := report.NDJSONLine("name", recon.Name{Name: "www.example.com", Addresses: []string{"192.0.2.10"}, Sources: []string{"bruteforce"}})
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(line)
	// Output:
	// {"kind":"name","name":"www.example.com","addresses":["192.0.2.10"],"sources":["bruteforce"]}
}

func ExampleNetworkFromAddresses() {
	network := report.NetworkFromAddresses([]recon.AddressInfo{
		{Address: "192.0.2.10", Prefix: "192.0.2.0/25", ASN: 64500, ASName: "EXAMPLE-NET", Country: "NL"},
	})
	for _, a := range []string{"192.0.2.10", "198.51.100.7"} {
		p, detail := network(netip.MustParseAddr(a))
		fmt.Printf("%s: %s %q\n", a, p, detail)
	}
	// Output:
	// 192.0.2.10: 192.0.2.0/25 "AS64500 EXAMPLE-NET, NL"
	// 198.51.100.7: 198.51.100.0/24 ""
}
