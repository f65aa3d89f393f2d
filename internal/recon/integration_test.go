package recon

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

// realWorld is a DNS hierarchy served by real BIND, NSD, Knot and Unbound
// on loopback, with exposure of every kind recon must reveal.
func realWorld(t *testing.T) *dnstest.World {
	t.Helper()
	return dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.NSD,
		Resolver:    dnstest.ResolverUnbound,
		Zones: []dnstest.WorldZone{
			{
				// BIND: transfer open on ns1, an open resolver on ns2.
				Name: "example.com",
				Records: `
@ IN MX 10 mail
@ IN TXT "v=spf1 include:_spf.example.com ip4:192.0.2.0/28 -all"
_spf IN TXT "v=spf1 a:relay.example.com -all"
_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@reports.example.com"
www IN A 192.0.2.10
mail IN A 192.0.2.11
relay IN A 192.0.2.12
reports IN MX 10 mail
intranet IN A 10.20.30.40
db IN CNAME db.corp.local.
_ldap._tcp.dc._msdcs IN SRV 0 100 389 dc01
dc01 IN A 10.0.0.5
`,
				Servers: []dnstest.WorldServer{
					{Impl: dnstest.BIND, AllowTransfer: true, Version: "9.18-world"},
					{Impl: dnstest.BIND, Recursion: true},
				},
			},
			{
				// Knot, NSEC3-signed, transfers refused: brute force,
				// SRV and NSEC3 cracking find its names.
				Name: "dev.example.com",
				Records: `
jenkins IN A 192.0.2.20
staging IN A 192.0.2.21
_sip._tcp IN SRV 10 10 5060 staging
`,
				Servers: []dnstest.WorldServer{{Impl: dnstest.Knot}},
				Sign:    dnstest.Signing{Mode: dnstest.SignNSEC3, Iterations: 1},
			},
			{
				// NSD, NSEC-signed with a wildcard: the walk finds the
				// unguessable name, brute force must not report echoes.
				Name: "example.net",
				Records: `
www IN A 203.0.113.5
zz-unguessable-9 IN A 203.0.113.9
* IN A 203.0.113.99
`,
				Servers: []dnstest.WorldServer{{Impl: dnstest.NSD}},
				Sign:    dnstest.Signing{Mode: dnstest.SignNSEC},
			},
			{
				// A reverse zone on BIND: its PTR names a host no zone
				// publishes.
				Name: "2.0.192.in-addr.arpa",
				Records: `
10 IN PTR www.example.com.
77 IN PTR backup-nas-02.example.com.
`,
				Servers: []dnstest.WorldServer{{Impl: dnstest.BIND}},
			},
		},
	})
}

func TestRealServers(t *testing.T) {
	w := realWorld(t)
	res, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{w.Resolver}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := res.Probe(ctx, []string{"com", "net", "invalid"}); err != nil {
		t.Fatalf("probe: %v", err)
	}
	words := []string{"www", "mail", "jenkins", "staging", "admin", "test", "vpn", "intranet", "dev", "api"}
	opts := Options{Wordlist: words, NameserverPort: w.Port}

	t.Run("example.com", func(t *testing.T) {
		r, err := Run(ctx, res, "example.com", opts)
		if err != nil {
			t.Fatal(err)
		}
		got := names(r)
		// Every owner of both zones, the PTR-only host, the sub-zone's
		// names.
		want := ownerNames(t, w, "example.com.", "dev.example.com.")
		want = append(want, "backup-nas-02.example.com")
		for _, n := range want {
			if _, ok := got[n]; !ok {
				t.Errorf("%s not found", n)
			}
		}
		for n := range got {
			if !slices.Contains(want, n) && !isNSHost(w, n) && !isEmptyNonTerminal(n, want) {
				t.Errorf("unexpected name %s (sources %v)", n, got[n])
			}
		}
		axfr, rec := map[string]string{}, map[string]bool{}
		for _, ns := range r.Nameservers {
			for _, s := range ns.Servers {
				axfr[ns.Zone+" "+ns.Name] = s.AXFR
				rec[ns.Name] = rec[ns.Name] || s.Recursion
				if !s.Authoritative {
					t.Errorf("%s (%s) not authoritative for %s: %s", ns.Name, s.Address, ns.Zone, s.Error)
				}
			}
		}
		if axfr["example.com ns1.example.com"] != TransferAllowed || axfr["example.com ns2.example.com"] != TransferRefused {
			t.Errorf("AXFR outcomes: %v", axfr)
		}
		if axfr["dev.example.com ns1.dev.example.com"] != TransferRefused {
			t.Errorf("Knot transfer outcome: %v", axfr)
		}
		if !rec["ns2.example.com"] || rec["ns1.example.com"] {
			t.Errorf("recursion: %v", rec)
		}
		var dev *Zone
		for i := range r.Zones {
			if r.Zones[i].Name == "dev.example.com" {
				dev = &r.Zones[i]
			}
		}
		if dev == nil || dev.NSEC3 == nil || !dev.NSEC3.Complete || dev.NSEC3.Cracked != dev.NSEC3.Hashes {
			t.Errorf("dev.example.com NSEC3: %+v", dev)
		}
	})

	t.Run("example.net", func(t *testing.T) {
		r, err := Run(ctx, res, "example.net", opts)
		if err != nil {
			t.Fatal(err)
		}
		got := names(r)
		want := ownerNames(t, w, "example.net.")
		for _, n := range want {
			if _, ok := got[n]; !ok {
				t.Errorf("%s not found", n)
			}
		}
		for _, echo := range []string{"admin.example.net", "test.example.net", "vpn.example.net"} {
			if _, ok := got[echo]; ok {
				t.Errorf("wildcard echo %s reported", echo)
			}
		}
		if !slices.ContainsFunc(r.Wildcards, func(x Wildcard) bool { return x.Name == "*.example.net" && x.Type == "A" }) {
			t.Errorf("wildcard not recorded: %+v", r.Wildcards)
		}
		if src := got["zz-unguessable-9.example.net"]; !slices.Contains(src, SourceNSEC) {
			t.Errorf("NSEC walk did not reveal the unguessable name: %v", src)
		}
	})
}

// ownerNames lists the owner names of the World's zones (without the
// wildcard owners and the DNSSEC-only NSEC3 owners).
func ownerNames(t *testing.T, w *dnstest.World, zones ...string) []string {
	t.Helper()
	var out []string
	for _, z := range zones {
		zp := dns.NewZoneParser(strings.NewReader(w.Text[z]), z, "")
		for x, ok := zp.Next(); ok; x, ok = zp.Next() {
			switch x.Header().Rrtype {
			case dns.TypeNSEC3, dns.TypeRRSIG, dns.TypeNSEC3PARAM:
				continue
			}
			n := dnsname.FromWire(x.Header().Name)
			if strings.HasPrefix(n, "*") || !dnsname.IsSubdomain(n, dnsname.FromWire(z)) || slices.Contains(out, n) {
				continue
			}
			out = append(out, n)
		}
		if err := zp.Err(); err != nil {
			t.Fatalf("zone %s text: %v", z, err)
		}
	}
	return out
}

func isNSHost(w *dnstest.World, name string) bool {
	_, ok := w.NS[dns.Fqdn(name)]
	return ok
}

// isEmptyNonTerminal reports whether name is an ancestor of a wanted name.
func isEmptyNonTerminal(name string, want []string) bool {
	return slices.ContainsFunc(want, func(w string) bool { return w != name && dnsname.IsSubdomain(w, name) })
}
