package store

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// TestTupleChecker runs a batch through one TupleChecker and checks that
// each tuple gets CheckTuple's verdict: a remembered name only spares the
// check of the same valid name, never lets a bad one through.
func TestTupleChecker(t *testing.T) {
	batch := []struct {
		name string
		t    pdns.Tuple
		ok   bool
	}{
		{"first", pdns.Tuple{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Bailiwick: "example.com"}, true},
		{"same owner", pdns.Tuple{RRName: "www.example.com", RRType: dns.TypeAAAA, RData: "2001:db8::1", Bailiwick: "example.com"}, true},
		{"same owner, bad rdata", pdns.Tuple{RRName: "www.example.com", RRType: dns.TypeA, RData: "2001:db8::1"}, false},
		{"after bad rdata", pdns.Tuple{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.2"}, true},
		{"bad name", pdns.Tuple{RRName: "bad..example.com", RRType: dns.TypeA, RData: "192.0.2.3"}, false},
		{"bad name again", pdns.Tuple{RRName: "bad..example.com", RRType: dns.TypeA, RData: "192.0.2.3"}, false},
		{"bad bailiwick", pdns.Tuple{RRName: "mail.example.net", RRType: dns.TypeA, RData: "198.51.100.1", Bailiwick: "example.net."}, false},
		{"bad bailiwick again", pdns.Tuple{RRName: "mail.example.net", RRType: dns.TypeA, RData: "198.51.100.1", Bailiwick: "example.net."}, false},
		{"good bailiwick", pdns.Tuple{RRName: "mail.example.net", RRType: dns.TypeA, RData: "198.51.100.1", Bailiwick: "example.net"}, true},
		{"empty name", pdns.Tuple{RRName: "", RRType: dns.TypeA, RData: "198.51.100.1"}, false},
		{"empty name again", pdns.Tuple{RRName: "", RRType: dns.TypeA, RData: "198.51.100.1"}, false},
		{"bad time", pdns.Tuple{RRName: "mail.example.net", RRType: dns.TypeA, RData: "198.51.100.1", TimeFirst: 2, TimeLast: 1}, false},
	}
	var c TupleChecker
	for _, tc := range batch {
		t.Run(tc.name, func(t *testing.T) {
			got, want := c.Check(&tc.t), CheckTuple(&tc.t)
			if (got == nil) != tc.ok || (want == nil) != tc.ok {
				t.Fatalf("Check = %v, CheckTuple = %v; want ok %v", got, want, tc.ok)
			}
		})
	}
}
