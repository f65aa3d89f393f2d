package ipintel_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/dnsscout/dnsscout/internal/ipintel"
)

// An iptoasn table annotates addresses; Group arranges them for a report.
func Example() {
	var tab ipintel.Table
	_, err := tab.Load(strings.NewReader(
		"192.0.2.0\t192.0.2.255\t64496\tUS\tEXAMPLE-NET-A\n" +
			"198.51.100.0\t198.51.100.99\t64497\tDE\tEXAMPLE-NET-B\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := ipintel.NewAnnotator([]ipintel.Source{&tab}, 0, nil)
	var all []ipintel.Annotated
	for _, s := range []string{"192.0.2.10", "198.51.100.7", "192.0.2.11", "203.0.113.1"} {
		addr := netip.MustParseAddr(s)
		info, _ := a.Lookup(context.Background(), addr)
		all = append(all, ipintel.Annotated{Addr: addr, Info: info})
	}
	for _, n := range ipintel.Group(all) {
		if n.ASN == 0 {
			fmt.Println("unknown:", n.Addrs)
			continue
		}
		fmt.Printf("%s AS%d %s %s: %v\n", n.Prefix, n.ASN, n.ASName, n.Country, n.Addrs)
	}
	// Output:
	// 192.0.2.0/24 AS64496 EXAMPLE-NET-A US: [192.0.2.10 192.0.2.11]
	// 198.51.100.0/26 AS64497 EXAMPLE-NET-B DE: [198.51.100.7]
	// unknown: [203.0.113.1]
}
