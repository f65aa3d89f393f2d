package checks

import (
	"testing"

	"github.com/dnsscout/dnsscout/internal/recon"
)

func TestPrivateNamespace(t *testing.T) {
	tests := []struct {
		target, audited string
		suffix          string
		ok              bool
	}{
		{"printer.local", "example.com", "local", true},
		{"nas.home.arpa", "example.com", "home.arpa", true},
		{"dc01.corp", "example.com", "corp", true},
		{"git.internal", "example.com", "internal", true},
		{"host.lan", "example.com", "lan", true},
		{"box.localdomain", "example.com", "localdomain", true},
		{"intranet", "example.com", "", true},
		{"srv.notarealtld", "example.com", "notarealtld", true},
		{"www.example.com", "example.com", "", false},
		{"mail.example.co.uk", "example.com", "", false},
		{"foo.blogspot.com", "example.com", "", false},
		{"1.2.0.192.in-addr.arpa", "example.com", "", false},
		{".", "example.com", "", false},
		// Inside a lab world under a private TLD, that TLD is the public space.
		{"www.other.test", "corp.example.test", "", false},
		{"www.other.lan", "example.lan", "", false},
		{"srv.notarealtld", "example.notarealtld", "", false},
		{"dc01.corp", "example.test", "corp", true},
	}
	for _, tc := range tests {
		t.Run(tc.target+"@"+tc.audited, func(t *testing.T) {
			suffix, why, ok := privateNamespace(tc.target, tc.audited)
			if ok != tc.ok || suffix != tc.suffix || ok && why == "" {
				t.Fatalf("privateNamespace(%q, %q) = %q, %q, %v; want %q, _, %v", tc.target, tc.audited, suffix, why, ok, tc.suffix, tc.ok)
			}
		})
	}
}

func TestInternalNameLeak(t *testing.T) {
	runCases(t, "internal-name-leak", []checkCase{
		{name: "public targets only"},
		{
			// The in-scope hop points at a public name; the chain recon
			// followed ends in .local.
			name: "chain end in a private namespace",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "jira.example.com. 300 IN CNAME jira.saas.example.net.")
				w.res.Names = append(w.res.Names, recon.Name{Name: "jira.example.com", Sources: []string{"bruteforce"},
					Chain: &recon.ChainEnd{Target: "jira.corp.acme.local", Rcode: "NXDOMAIN", Hops: 2}})
			},
			want:     []string{"medium internal-name-leak jira.example.com"},
			evidence: []string{"CNAME chain ends at jira.corp.acme.local: .local is reserved for multicast DNS (RFC 6762)"},
		},
		{name: "null MX and SRV no-service targets", mutate: func(t *testing.T, w *world) {
			w.addRecords(t, "nomail.example.com. 300 IN MX 0 .", "_ldap._tcp.example.com. 300 IN SRV 0 0 0 .")
		}},
		{
			name: "every record type",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t,
					"intra.example.com. 300 IN CNAME intranet.corp.",
					"office.example.com. 300 IN MX 10 exchange.ad.local.",
					"lab.example.com. 300 IN NS dc1.lab.internal.",
					"_xmpp._tcp.example.com. 300 IN SRV 5 0 5222 chat.home.arpa.",
					"7.2.0.192.in-addr.arpa. 300 IN PTR printer.lan.",
					"legacy.example.com. 300 IN CNAME fileserver.",
				)
				w.setRecords(t, "example.com", 6, "example.com. 3600 IN SOA ns1.example.com. hostmaster.corp.example.localdomain. 1 2 3 4 5")
			},
			want: []string{
				"medium internal-name-leak 7.2.0.192.in-addr.arpa",
				"medium internal-name-leak _xmpp._tcp.example.com",
				"medium internal-name-leak example.com",
				"medium internal-name-leak intra.example.com",
				"medium internal-name-leak lab.example.com",
				"medium internal-name-leak legacy.example.com",
				"medium internal-name-leak office.example.com",
			},
			evidence: []string{
				"CNAME target intranet.corp: .corp is",
				"MX exchange exchange.ad.local: .local is reserved for multicast DNS (RFC 6762)",
				"NS target dc1.lab.internal: .internal is",
				"SRV target chat.home.arpa: .home.arpa is reserved for home networks (RFC 8375)",
				"PTR target printer.lan: .lan is",
				"SOA RNAME hostmaster.corp.example.localdomain: .localdomain is",
				"CNAME target fileserver is a single-label name",
			},
		},
	})
}
