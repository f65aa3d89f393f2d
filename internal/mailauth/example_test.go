package mailauth_test

import (
	"fmt"

	"github.com/dnsscout/dnsscout/internal/mailauth"
)

func ExampleParseSPF() {
	rec, err := mailauth.ParseSPF("v=spf1 ip4:192.0.2.0/24 include:_spf.example.net ~all")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range rec.Terms {
		fmt.Printf("%c %s %q /%d\n", t.Qualifier, t.Name, t.Value, t.Prefix)
	}
	// Output:
	// + ip4 "192.0.2.0" /24
	// + include "_spf.example.net" /-1
	// ~ all "" /-1
}

func ExampleParseDMARC() {
	rec, err := mailauth.ParseDMARC("v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@example.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.Policy, rec.Pct, rec.RUA)
	// Output: quarantine 50 [mailto:dmarc@example.com]
}
