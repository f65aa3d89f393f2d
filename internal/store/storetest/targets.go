package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// RunSharedTarget checks that records of one owner that point at one
// target through different rdata (MX 10 and MX 20 to the same host, SRV
// records differing in port) are all found by an rdata-name lookup, in
// single upserts and in bulk ones.
func RunSharedTarget(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	ctx := context.Background()
	tuple := func(typ uint16, rdata string) pdns.Tuple {
		return pdns.Tuple{RRName: "example.com", RRType: typ, RData: rdata, TimeFirst: T0, TimeLast: T0 + 10, Count: 1}
	}
	want := []pdns.Tuple{
		tuple(dns.TypeMX, "10 mail.example.net."),
		tuple(dns.TypeMX, "20 mail.example.net."),
		tuple(dns.TypeSRV, "0 5 5060 mail.example.net."),
		tuple(dns.TypeSRV, "0 5 5061 mail.example.net."),
	}
	if err := b.Upsert(ctx, want[:2]); err != nil {
		t.Fatal(err)
	}
	for _, tp := range want[2:] {
		if err := b.Upsert(ctx, []pdns.Tuple{tp}); err != nil {
			t.Fatal(err)
		}
	}
	q, err := store.ParseQuery("mail.example.net", true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if _, err := b.Lookup(ctx, q, func(tp *pdns.Tuple) error {
		got = append(got, pdns.TypeString(tp.RRType)+" "+tp.RData)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	exp := []string{"MX 10 mail.example.net.", "MX 20 mail.example.net.", "SRV 0 5 5060 mail.example.net.", "SRV 0 5 5061 mail.example.net."}
	if !slices.Equal(got, exp) {
		t.Errorf("rdata lookup of a shared target: got %q, want %q", got, exp)
	}
}
