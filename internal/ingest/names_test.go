package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	rrtable "github.com/dnsscout/dnsscout/internal/rr"
)

// TestNameTypesFoldAsPdns checks the wire layouts derived from
// rr.NameTypes against pdns.RData: for every type with a fixed layout, two
// sightings of one record whose names differ only in case (the second one
// compressed against the owner) fold into one tuple in memory, whose rdata
// is the canonical text pdns.RData gives.
func TestNameTypesFoldAsPdns(t *testing.T) {
	for _, nt := range rrtable.NameTypes() {
		if nt.Wire == nil {
			continue
		}
		t.Run(pdns.TypeString(nt.Type), func(t *testing.T) {
			record := func(upper bool) dns.RR {
				x := dns.TypeToRR[nt.Type]()
				*x.Header() = dns.RR_Header{Name: "example.com.", Rrtype: nt.Type, Class: dns.ClassINET, Ttl: 300}
				i := 0
				rrtable.MapNames(x, func(string) string {
					i++
					if upper {
						return fmt.Sprintf("N%d.Example.COM.", i)
					}
					return fmt.Sprintf("n%d.example.com.", i)
				})
				return x
			}
			var msgs [][]byte
			for _, upper := range []bool{true, false} {
				m := new(dns.Msg)
				m.SetQuestion("example.com.", nt.Type)
				m.Response, m.Authoritative, m.Compress = true, true, !upper
				m.Answer = []dns.RR{record(upper)}
				b, err := m.Pack()
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, b)
			}
			sink, st := ingestMsgs(t, Options{}, msgs...)
			if st.Folded != 1 || st.Tuples != 1 {
				t.Errorf("folded %d, wrote %d tuples; want 1 and 1 (equal keys)", st.Folded, st.Tuples)
			}
			want := "example.com " + pdns.TypeString(nt.Type) + " " + pdns.RData(record(true))
			if got := strings.Join(sink.lines(), "\n"); got != want {
				t.Fatalf("stored\n%s\nwant one tuple\n%s", got, want)
			}
		})
	}
}
