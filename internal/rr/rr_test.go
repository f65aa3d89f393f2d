package rr

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	x, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("NewRR(%q): %v", s, err)
	}
	return x
}

func TestData(t *testing.T) {
	tests := []struct {
		rr, data string
	}{
		{"www.example.com. 300 IN A 192.0.2.1", "192.0.2.1"},
		{"www.example.com. 300 IN CNAME LB.Example.NET.", "lb.example.net."},
		{"example.com. 300 IN MX 10 Mail.Example.com.", "10 mail.example.com."},
		{"example.com. 300 IN SOA NS1.example.com. Hostmaster.Example.com. 1 2 3 4 5", "ns1.example.com. hostmaster.example.com. 1 2 3 4 5"},
		{`example.com. 300 IN TXT "v=spf1 Include:_spf.Example.net -all"`, `"v=spf1 Include:_spf.Example.net -all"`},
		{"_sip._tcp.example.com. 300 IN SRV 10 5 5060 SIP.example.com.", "10 5 5060 sip.example.com."},
		{"example.com. 300 IN TYPE65280 \\# 2 abcd", "\\# 2 abcd"},
	}
	for _, tc := range tests {
		if got := Data(mustRR(t, tc.rr)); got != tc.data {
			t.Errorf("Data(%q) = %q, want %q", tc.rr, got, tc.data)
		}
	}
}

func TestDataKeepsOriginal(t *testing.T) {
	x := mustRR(t, "www.example.com. 300 IN CNAME LB.Example.NET.")
	Data(x)
	if x.(*dns.CNAME).Target != "LB.Example.NET." {
		t.Fatal("Data modified its argument")
	}
}

func TestTargets(t *testing.T) {
	tests := []struct {
		rr   string
		want []string
	}{
		{"a.example.com. 1 IN CNAME B.example.net.", []string{"b.example.net"}},
		{"example.com. 1 IN NS ns1.example.com.", []string{"ns1.example.com"}},
		{"example.com. 1 IN MX 0 .", nil},
		{"example.com. 1 IN SOA ns1.example.com. hostmaster.example.com. 1 2 3 4 5", []string{"ns1.example.com", "hostmaster.example.com"}},
		{"example.com. 1 IN HTTPS 1 svc.example.net. alpn=h2", []string{"svc.example.net"}},
		{"example.com. 1 IN A 192.0.2.1", nil},
		{"1.2.0.192.in-addr.arpa. 1 IN PTR host.example.com.", []string{"host.example.com"}},
	}
	for _, tc := range tests {
		if got := Targets(mustRR(t, tc.rr)); !slices.Equal(got, tc.want) {
			t.Errorf("Targets(%q) = %q, want %q", tc.rr, got, tc.want)
		}
	}
}

func TestTypeString(t *testing.T) {
	if TypeString(dns.TypeA) != "A" || TypeString(65280) != "TYPE65280" {
		t.Fatal("TypeString")
	}
}
