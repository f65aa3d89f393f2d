package checks

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/recon"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		addr   string
		name   string // "" = not special
		global bool
	}{
		{"10.1.2.3", "Private-Use", false},
		{"172.31.255.255", "Private-Use", false},
		{"172.32.0.1", "", false},
		{"192.168.1.1", "Private-Use", false},
		{"100.64.0.1", "Shared Address Space", false},
		{"100.128.0.1", "", false},
		{"127.0.0.1", "Loopback", false},
		{"169.254.169.254", "Link Local", false},
		{"0.0.0.0", "\"This network\"", false},
		{"192.0.0.9", "Port Control Protocol Anycast", true},
		{"192.0.0.5", "IPv4 Service Continuity Prefix", false},
		{"192.0.0.200", "IETF Protocol Assignments", false},
		{"198.19.0.1", "Benchmarking", false},
		{"203.0.113.7", "Documentation (TEST-NET-3)", false},
		{"240.0.0.1", "Reserved", false},
		{"255.255.255.255", "Limited Broadcast", false},
		{"8.8.8.8", "", false},
		{"::1", "Loopback Address", false},
		{"::", "Unspecified Address", false},
		{"fd12:3456::1", "Unique-Local", false},
		{"fe80::1", "Link-Local Unicast", false},
		{"2001:db8::1", "Documentation", false},
		{"2001:0:1::1", "TEREDO", true},
		{"2001:2::1", "Benchmarking", false},
		{"2001:1::1", "Port Control Protocol Anycast", true},
		{"2001:5::1", "IETF Protocol Assignments", false},
		{"64:ff9b::1", "", false},
		{"64:ff9b:1::1", "IPv4-IPv6 Translation (local use)", false},
		{"::ffff:10.0.0.1", "IPv4-mapped Address", false},
		{"2606:4700::1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			r, ok := classify(netip.MustParseAddr(tc.addr))
			if tc.name == "" {
				if ok {
					t.Fatalf("classify(%s) = %q, want no entry", tc.addr, r.name)
				}
				return
			}
			if !ok || r.name != tc.name || r.global != tc.global {
				t.Fatalf("classify(%s) = %q global=%v (found %v), want %q global=%v", tc.addr, r.name, r.global, ok, tc.name, tc.global)
			}
		})
	}
}

// TestSpecialRangesWellFormed guards the table: canonical prefixes, an RFC
// for each, no duplicates.
func TestSpecialRangesWellFormed(t *testing.T) {
	seen := map[netip.Prefix]bool{}
	for _, r := range specialRanges {
		if r.prefix != r.prefix.Masked() {
			t.Errorf("%s is not canonical", r.prefix)
		}
		if seen[r.prefix] {
			t.Errorf("%s listed twice", r.prefix)
		}
		seen[r.prefix] = true
		if r.rfc == "" || r.name == "" {
			t.Errorf("%s lacks name or RFC", r.prefix)
		}
	}
}

func TestPrivateAddressLeak(t *testing.T) {
	runCases(t, "private-address-leak", []checkCase{
		{name: "documentation and global addresses only"},
		{
			name: "RFC 1918 and ULA on one name",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "vpn.example.com. 300 IN A 10.20.30.40", "vpn.example.com. 300 IN AAAA fd00:1::5")
			},
			want:     []string{"medium private-address-leak vpn.example.com"},
			evidence: []string{"A 10.20.30.40 (Private-Use, RFC 1918)", "AAAA fd00:1::5 (Unique-Local, RFC 4193)"},
		},
		{
			name:     "loopback is low",
			mutate:   func(t *testing.T, w *world) { w.addRecords(t, "localhost.example.com. 300 IN A 127.0.0.1") },
			want:     []string{"low private-address-leak localhost.example.com"},
			evidence: []string{"A 127.0.0.1 (Loopback, RFC 1122)"},
		},
		{
			name: "shared and link-local from names and wildcard",
			mutate: func(t *testing.T, w *world) {
				w.res.Names = append(w.res.Names, recon.Name{Name: "cgnat.example.com", Addresses: []string{"100.64.1.1"}})
				w.res.Wildcards = []recon.Wildcard{{Name: "*.example.com", Type: "A", Data: []string{"169.254.1.1"}}}
			},
			want: []string{"medium private-address-leak *.example.com", "medium private-address-leak cgnat.example.com"},
		},
		{
			name: "lab world: neighbours of the nameservers are not leaks, other loopback is",
			mutate: func(t *testing.T, w *world) {
				w.res.Nameservers[0].Addresses = []string{"127.53.1.1"}
				w.res.Nameservers[0].Servers[0].Address = "127.53.1.1"
				w.addRecords(t, "ns1.example.com. 300 IN A 127.53.1.1", "app.example.com. 300 IN A 127.53.7.7",
					"localhost.example.com. 300 IN A 127.0.0.1")
			},
			want: []string{"low private-address-leak localhost.example.com"},
		},
	})
}

func TestPrivateAddressLeakDocumentationOption(t *testing.T) {
	w := cleanWorld(t)
	env := &Env{Result: w.res, ReportDocumentation: true}
	fs, err := RunEnv(context.Background(), env, Selection{Only: []string{"private-address-leak"}})
	if err != nil {
		t.Fatal(err)
	}
	// The IPv4 hosts sit in the /16 of the (documentation-range)
	// nameservers, the lab-world rule; the IPv6 address does not.
	got, want := summary(fs), []string{"low private-address-leak www.example.com"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if ev := evidenceOf(fs); !strings.Contains(ev, "AAAA 2001:db8::10 (Documentation, RFC 3849)") {
		t.Fatalf("evidence: %s", ev)
	}
}
