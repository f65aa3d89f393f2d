package demo

import (
	"fmt"
	"maps"
	"strings"
)

// soa is the SOA line every demo zone starts with.
func soa(ns, mbox string, serial int) string {
	return fmt.Sprintf("@ 3600 IN SOA %s %s %d 7200 3600 1209600 300\n", ns, mbox, serial)
}

// zoneTexts returns the master files of the demo world keyed by origin.
// Addresses of hosts come from the documentation ranges and RFC 1918;
// addresses of nameservers are the world's loopback addresses.
func zoneTexts() map[string]string {
	texts := delegationZoneTexts()
	maps.Copy(texts, domainZoneTexts())
	return texts
}

// delegationZoneTexts are the zones above and beside the demo domains: the
// root, the TLDs that delegate them (with the example.com ns-set mismatch
// and lame server), and the reverse zones of their addresses.
func delegationZoneTexts() map[string]string {
	return map[string]string{
		".": soa("a.root-servers.net.", "nstld.verisign-grs.com.", 2026112700) + lines(
			". 518400 IN NS a.root-servers.net.",
			"a.root-servers.net. 518400 IN A "+addrRoot.String(),
			"com. 172800 IN NS a.gtld-servers.net.",
			"net. 172800 IN NS a.gtld-servers.net.",
			"org. 172800 IN NS a.gtld-servers.net.",
			"a.gtld-servers.net. 172800 IN A "+addrTLD.String(),
			"arpa. 172800 IN NS ns.arpa-servers.net.",
			"ns.arpa-servers.net. 172800 IN A "+addrReverse.String(),
		),

		"com.": soa("a.gtld-servers.net.", "nstld.verisign-grs.com.", 2026112700) + lines(
			"@ 172800 IN NS a.gtld-servers.net.",
			// example.com: the parent lists a third server the zone does
			// not: ns-set mismatch and a lame delegation.
			"example.com. 172800 IN NS ns1.example.com.",
			"example.com. 172800 IN NS ns2.example.com.",
			"example.com. 172800 IN NS ns3.example.com.",
			"ns1.example.com. 172800 IN A "+addrNS1Com.String(),
			"ns2.example.com. 172800 IN A "+addrNS2Com.String(),
			"ns3.example.com. 172800 IN A "+addrLame.String(),
		),

		"net.": soa("a.gtld-servers.net.", "nstld.verisign-grs.com.", 2026112700) + lines(
			"@ 172800 IN NS a.gtld-servers.net.",
			"a.gtld-servers.net. 172800 IN A "+addrTLD.String(),
			"ns.arpa-servers.net. 172800 IN A "+addrReverse.String(),
			"a.root-servers.net. 172800 IN A "+addrRoot.String(),
			"example.net. 172800 IN NS ns1.example.net.",
			"ns1.example.net. 172800 IN A "+addrNet.String(),
		),

		"org.": soa("a.gtld-servers.net.", "nstld.verisign-grs.com.", 2026112700) + lines(
			"@ 172800 IN NS a.gtld-servers.net.",
			"example.org. 172800 IN NS ns1.example.org.",
			"ns1.example.org. 172800 IN A "+addrOrg.String(),
		),

		"arpa.": soa("ns.arpa-servers.net.", "nstld.iana.org.", 2026112700) + lines(
			"@ 172800 IN NS ns.arpa-servers.net.",
			"2.0.192.in-addr.arpa. 86400 IN NS ns.arpa-servers.net.",
			"100.51.198.in-addr.arpa. 86400 IN NS ns.arpa-servers.net.",
		),

		// The neighbourhood of www.example.com: a PTR names a host the
		// zone itself does not publish.
		"2.0.192.in-addr.arpa.": soa("ns.arpa-servers.net.", "hostmaster.example.com.", 2026112701) + lines(
			"@ 86400 IN NS ns.arpa-servers.net.",
			"10 IN PTR www.example.com.",
			"25 IN PTR mail.example.com.",
			"30 IN PTR vpn.example.com.",
			"77 IN PTR backup-nas-02.example.com.",
			"99 IN PTR wildcard.example.net.",
		),

		"100.51.198.in-addr.arpa.": soa("ns.arpa-servers.net.", "hostmaster.example.org.", 2026112701) + lines(
			"@ 86400 IN NS ns.arpa-servers.net.",
			"17 IN PTR zq-build-17.example.org.",
			"25 IN PTR mail.example.org.",
			"80 IN PTR www.example.org.",
		),
	}
}

// domainZoneTexts are the demo domains themselves, each with the findings
// it is there to show.
func domainZoneTexts() map[string]string {
	return map[string]string{
		// example.com: transfer open on ns1, private addresses, internal
		// names, a dangling CNAME to a hosting service, Active Directory
		// SRV records, a permissive SPF record, a weak DMARC policy,
		// verification tokens, a delegated sub-zone.
		"example.com.": soa("ns1.example.com.", "hostmaster.example.com.", 2026112701) + lines(
			"@ 3600 IN NS ns1.example.com.",
			"@ 3600 IN NS ns2.example.com.",
			"@ 3600 IN A 192.0.2.10",
			"@ 3600 IN MX 10 mail.example.com.",
			`@ 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.example.com +all"`,
			`@ 3600 IN TXT "google-site-verification=Xq1dDvU7Rm0wAqH3nbcZk2vPpE9sYtLfJ4gHhK8mN5o"`,
			`@ 3600 IN TXT "MS=ms83746512"`,
			`@ 3600 IN TXT "atlassian-domain-verification=Z8k3Qm9vX2p"`,
			`_spf 3600 IN TXT "v=spf1 ip4:198.51.100.0/24 -all"`,
			`_dmarc 3600 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"`,
			"ns1 3600 IN A "+addrNS1Com.String(),
			"ns2 3600 IN A "+addrNS2Com.String(),
			"www 3600 IN A 192.0.2.10",
			"mail 3600 IN A 192.0.2.25",
			"vpn 3600 IN A 192.0.2.30",
			"intranet 3600 IN A 10.20.30.40",
			"printer 3600 IN A 192.168.1.50",
			"db01 3600 IN CNAME db01.corp.local.",
			"legacy 3600 IN CNAME example-legacy.herokuapp.com.",
			"promo 3600 IN CNAME www.example.com.",
			"_ldap._tcp.dc._msdcs 3600 IN SRV 0 100 389 dc01.example.com.",
			"_kerberos._tcp 3600 IN SRV 0 100 88 dc01.example.com.",
			"dc01 3600 IN A 10.0.0.5",
			"dev 3600 IN NS ns1.dev.example.com.",
			"ns1.dev 3600 IN A "+addrDev.String(),
		),

		// dev.example.com: a delegated sub-zone, transfers refused; its
		// hosts are found by brute force.
		"dev.example.com.": soa("ns1.dev.example.com.", "hostmaster.example.com.", 2026112701) + lines(
			"@ 3600 IN NS ns1.dev.example.com.",
			"ns1 3600 IN A "+addrDev.String(),
			"jenkins 3600 IN A 10.1.2.3",
			"staging 3600 IN A 10.1.2.4",
			"api 3600 IN CNAME staging.dev.example.com.",
		),

		// example.net: NSEC-signed (walkable), with a wildcard and a host
		// no word list guesses.
		"example.net.": soa("ns1.example.net.", "hostmaster.example.net.", 2026112701) + lines(
			"@ 3600 IN NS ns1.example.net.",
			"@ 3600 IN A 203.0.113.5",
			`@ 3600 IN TXT "v=spf1 -all"`,
			"ns1 3600 IN A "+addrNet.String(),
			"www 3600 IN A 203.0.113.5",
			"api 3600 IN A 203.0.113.6",
			"build-42-ci 3600 IN A 203.0.113.42",
			"* 3600 IN A 192.0.2.99",
		),

		// example.org: NSEC3-signed; one host is known only to its PTR
		// record, a mail server, SIP.
		"example.org.": soa("ns1.example.org.", "hostmaster.example.org.", 2026112701) + lines(
			"@ 3600 IN NS ns1.example.org.",
			"@ 3600 IN A 198.51.100.80",
			"@ 3600 IN MX 10 mail.example.org.",
			`@ 3600 IN TXT "v=spf1 mx -all"`,
			`_dmarc 3600 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.org"`,
			"ns1 3600 IN A "+addrOrg.String(),
			"www 3600 IN A 198.51.100.80",
			"mail 3600 IN A 198.51.100.25",
			"zq-build-17 3600 IN A 198.51.100.17",
			"_sip._tls 3600 IN SRV 10 10 5061 sip.example.org.",
			"sip 3600 IN A 198.51.100.50",
		),
	}
}

func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }
