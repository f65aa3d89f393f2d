package store

import (
	"fmt"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// TestRDataNamesMatchTargets checks the text side of the name table against
// the struct side: for every type of rr.NameTypes, a record with a distinct
// mixed-case name in each name field is rendered as a tuple's rdata, and the
// names RDataNames finds in that text must be the record's rr.Targets.
func TestRDataNamesMatchTargets(t *testing.T) {
	for _, nt := range rr.NameTypes() {
		t.Run(pdns.TypeString(nt.Type), func(t *testing.T) {
			x := dns.TypeToRR[nt.Type]()
			x.Header().Rrtype = nt.Type
			i := 0
			rr.MapNames(x, func(string) string { i++; return fmt.Sprintf("N%d.Example.", i) })
			rdata := pdns.RData(x)
			got, want := RDataNames(nt.Type, rdata), rr.Targets(x)
			if !slices.Equal(got, want) {
				t.Fatalf("RDataNames(%q) = %q, rr.Targets = %q", rdata, got, want)
			}
			if HasRDataNames(nt.Type) != (len(want) > 0) {
				t.Fatalf("HasRDataNames = %v with targets %q", HasRDataNames(nt.Type), want)
			}
		})
	}
}

// TestAppendRDataNames checks that names are appended after what dst
// holds (deduplicated only among themselves, as RDataNames), without
// allocating when dst has room.
func TestAppendRDataNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   uint16
		rdata string
		want  []string
		// allocs: the lower-cased copy of a name in upper case
		allocs float64
	}{
		{"MX", dns.TypeMX, "10 mail.example.com.", []string{"prior.example", "mail.example.com"}, 0},
		{"MX upper case", dns.TypeMX, "10 Mail.Example.COM.", []string{"prior.example", "mail.example.com"}, 1},
		{"SOA twice the same", dns.TypeSOA, "ns.example.com. ns.example.com. 1 2 3 4 5", []string{"prior.example", "ns.example.com"}, 0},
		{"same as prior", dns.TypeCNAME, "prior.example.", []string{"prior.example", "prior.example"}, 0},
		{"A", dns.TypeA, "192.0.2.1", []string{"prior.example"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendRDataNames([]string{"prior.example"}, tc.typ, tc.rdata)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("AppendRDataNames = %q, want %q", got, tc.want)
			}
			if want := tc.want[1:]; !slices.Equal(RDataNames(tc.typ, tc.rdata), want) && len(want) > 0 {
				t.Fatalf("RDataNames = %q, want %q", RDataNames(tc.typ, tc.rdata), want)
			}
			buf := make([]string, 0, 4)
			if n := testing.AllocsPerRun(100, func() { AppendRDataNames(buf[:0], tc.typ, tc.rdata) }); n != tc.allocs {
				t.Errorf("%v allocations with room in dst, want %v", n, tc.allocs)
			}
		})
	}
}
