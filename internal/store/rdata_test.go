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
