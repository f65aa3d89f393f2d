package inventory

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnstest"
)

// portfolio is a hoster's portfolio on real servers: a root and the .test
// TLD on one NSD, and n customer domains dNNN.test on two NSD servers that
// every domain shares (ns1/ns2.hoster.test), behind Unbound. Every fifth
// domain has a wildcard, every third allows zone transfers (the others
// refuse them), some have more names than others, and lame lameN.test are
// delegated to the hoster, which does not serve them (REFUSED).
type portfolio struct {
	resolver netip.AddrPort
	domains  []string // the customers and the lame ones, list order
}

// portfolioWords is the test's brute-force list: names the domains have
// and names none has.
var portfolioWords = []string{"www", "mail", "api", "dev", "vpn", "admin", "staging", "ftp", "intranet", "shop"}

func startPortfolio(t *testing.T, n, lame int) *portfolio {
	t.Helper()
	dnstest.RequireRoot(t)
	rootAddr, ns1, ns2 := dnstest.AllocAddr(t), dnstest.AllocAddr(t), dnstest.AllocAddr(t)
	p := &portfolio{}
	var tld strings.Builder
	fmt.Fprintf(&tld, "@ SOA ns1.dnstest-root. hostmaster.test. 1 3600 600 86400 300\n@ NS ns1.dnstest-root.\n")
	fmt.Fprintf(&tld, "hoster NS ns1.hoster\nhoster NS ns2.hoster\nns1.hoster A %s\nns2.hoster A %s\n", ns1, ns2)
	hosted := []dnstest.ZoneConfig{{Name: "hoster.test", Text: fmt.Sprintf(
		"@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\n@ NS ns2\nns1 A %s\nns2 A %s\n", ns1, ns2)}}
	for i := range n {
		d := fmt.Sprintf("d%03d.test", i)
		p.domains = append(p.domains, d)
		fmt.Fprintf(&tld, "d%03d NS ns1.hoster\nd%03d NS ns2.hoster\n", i, i)
		hosted = append(hosted, dnstest.ZoneConfig{Name: d, Text: customerZone(i), AllowTransfer: i%3 == 0})
	}
	for i := range lame {
		d := fmt.Sprintf("lame%d.test", i)
		p.domains = append(p.domains, d)
		fmt.Fprintf(&tld, "lame%d NS ns1.hoster\nlame%d NS ns2.hoster\n", i, i)
	}
	root := fmt.Sprintf("@ SOA ns1.dnstest-root. hostmaster.test. 1 3600 600 86400 300\n@ NS ns1.dnstest-root.\nns1.dnstest-root. A %s\ntest. NS ns1.dnstest-root.\n", rootAddr)
	dnstest.StartNSD(t, dnstest.NSDConfig{Addr: rootAddr, Zones: []dnstest.ZoneConfig{
		{Name: ".", Text: root}, {Name: "test", Text: tld.String()},
	}})
	dnstest.StartNSD(t, dnstest.NSDConfig{Addr: ns1, Zones: hosted, Identity: "ns1.hoster.test"})
	dnstest.StartNSD(t, dnstest.NSDConfig{Addr: ns2, Zones: hosted, Identity: "ns2.hoster.test", Version: "none"})
	ub := dnstest.StartUnbound(t, dnstest.UnboundConfig{RootHints: []netip.Addr{rootAddr}})
	p.resolver = ub.Addr
	return p
}

// customerZone is domain i's zone: the more i, the more names.
func customerZone(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "@ SOA ns1.hoster.test. hostmaster 1 3600 600 86400 300\n@ NS ns1.hoster.test.\n@ NS ns2.hoster.test.\n")
	fmt.Fprintf(&b, "@ A 192.0.2.%d\nwww A 192.0.2.%d\n@ MX 10 mail\nmail A 198.51.100.%d\n", i%250+1, i%250+1, i%250+1)
	b.WriteString("@ TXT \"v=spf1 mx -all\"\n")
	if i%2 == 1 {
		fmt.Fprintf(&b, "api A 203.0.113.%d\n", i%250+1)
	}
	if i%4 == 1 {
		b.WriteString("dev CNAME www\nvpn A 10.0.0.1\n")
	}
	if i%5 == 0 {
		b.WriteString("* A 192.0.2.99\n")
	}
	if i%7 == 3 {
		b.WriteString("staging CNAME gone.example.net.\n")
	}
	return b.String()
}
