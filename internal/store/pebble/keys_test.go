package pebble

import (
	"hash/fnv"
	"testing"

	"github.com/miekg/dns"
)

// TestCanonicalIP checks which A/AAAA rdata the tuple keys hold as
// address bytes: only the text netip writes back, so that the key
// round-trips.
func TestCanonicalIP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   uint16
		rdata string
		want  bool
	}{
		{"A", dns.TypeA, "198.51.100.1", true},
		{"A zero", dns.TypeA, "0.0.0.0", true},
		{"A leading zero", dns.TypeA, "198.51.100.01", false},
		{"A mapped in IPv6", dns.TypeA, "::ffff:198.51.100.1", false},
		{"A with a zone", dns.TypeA, "198.51.100.1%eth0", false},
		{"A three fields", dns.TypeA, "198.51.100", false},
		{"AAAA", dns.TypeAAAA, "2001:db8::1", true},
		{"AAAA upper case", dns.TypeAAAA, "2001:DB8::1", false},
		{"AAAA uncompressed", dns.TypeAAAA, "2001:db8:0:0:0:0:0:1", false},
		{"AAAA mapped", dns.TypeAAAA, "::ffff:198.51.100.1", true},
		{"AAAA IPv4", dns.TypeAAAA, "198.51.100.1", false},
		{"AAAA with a zone", dns.TypeAAAA, "fe80::1%eth0", false},
		{"NS", dns.TypeNS, "198.51.100.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := canonicalIP(tc.typ, tc.rdata)
			if ok != tc.want {
				t.Fatalf("canonicalIP(%d, %q) = %v, %v; want ok %v", tc.typ, tc.rdata, a, ok, tc.want)
			}
			if ok && a.String() != tc.rdata {
				t.Fatalf("canonicalIP(%d, %q) = %v, which does not write back as the rdata", tc.typ, tc.rdata, a)
			}
		})
	}
}

// TestRDataHash checks the written-out FNV-1a against hash/fnv: the
// exact-rdata index keys of existing stores depend on it.
func TestRDataHash(t *testing.T) {
	for _, rdata := range []string{"", "a", "v=spf1 -all", "\"hello\" \"world\"", "\\# 4 c0000201", "\xff\x00é"} {
		h := fnv.New64a()
		h.Write([]byte(rdata))
		if got, want := rdataHash(rdata), h.Sum64(); got != want {
			t.Errorf("rdataHash(%q) = %#x, want %#x", rdata, got, want)
		}
	}
}
