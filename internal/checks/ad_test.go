package checks

import "testing"

func TestADDomain(t *testing.T) {
	tests := []struct {
		owner, domain string
		marker        bool
	}{
		{"_ldap._tcp.dc._msdcs.corp.example.com", "corp.example.com", true},
		{"_ldap._tcp.default-first-site-name._sites.dc._msdcs.example.com", "example.com", true},
		{"_kerberos._tcp.example.com", "example.com", true},
		{"_kpasswd._udp.example.com", "example.com", true},
		{"_gc._tcp.example.com", "example.com", true},
		{"_ldap._tcp.example.com", "example.com", false},
		{"_sip._tcp.example.com", "", false},
		{"_kerberos", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.owner, func(t *testing.T) {
			d, m := adDomain(tc.owner)
			if d != tc.domain || m != tc.marker {
				t.Fatalf("adDomain(%q) = %q, %v; want %q, %v", tc.owner, d, m, tc.domain, tc.marker)
			}
		})
	}
}

func TestADSRVExposed(t *testing.T) {
	runCases(t, "ad-srv-exposed", []checkCase{
		{name: "SIP only"},
		{name: "plain LDAP alone is not AD", mutate: func(t *testing.T, w *world) {
			w.addRecords(t, "_ldap._tcp.example.com. 300 IN SRV 0 0 389 ldap.example.com.")
		}},
		{
			name: "domain controller records",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t,
					"_ldap._tcp.dc._msdcs.corp.example.com. 600 IN SRV 0 100 389 dc01.corp.example.com.",
					"_kerberos._tcp.corp.example.com. 600 IN SRV 0 100 88 dc01.corp.example.com.",
					"_ldap._tcp.corp.example.com. 600 IN SRV 0 100 389 dc01.corp.example.com.",
					"_gc._tcp.example.com. 600 IN SRV 0 100 3268 dc02.example.com.",
				)
			},
			want: []string{"medium ad-srv-exposed corp.example.com", "medium ad-srv-exposed example.com"},
			evidence: []string{"_ldap._tcp.dc._msdcs.corp.example.com SRV 0 100 389 dc01.corp.example.com.",
				"_ldap._tcp.corp.example.com SRV 0 100 389 dc01.corp.example.com."},
		},
	})
}
