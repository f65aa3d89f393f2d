package pebble

import (
	"bytes"
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

// TestAppendRev checks the reversal of names with and without escapes
// against the label walk that honours them.
func TestAppendRev(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"", ""},
		{".", ""},
		{"example", "example"},
		{"www.example.com", "com.example.www"},
		{"a.b.", ".b.a"},
		{".a", "a."},
		{"a..b", "b..a"},
		{`a\.b.example`, `example.a\.b`},
		{`x\\.y`, `y.x\\`},
		{`\046.example`, `example.\046`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := appendRev([]byte("k"), tc.name)
			if string(got) != "k"+tc.want {
				t.Fatalf("appendRev(%q) = %q, want %q", tc.name, got[1:], tc.want)
			}
			if walk := appendRevEscaped([]byte("k"), tc.name); !bytes.Equal(got, walk) {
				t.Fatalf("appendRev(%q) = %q, the label walk gives %q", tc.name, got[1:], walk[1:])
			}
		})
	}
}
