package checks

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
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

// resultFromWorld builds the recon result recon would produce for zone in
// w (standard records from the zone text, the DS from the parent, the
// nameservers as the World placed them), for the checks to audit through a
// real resolver. Recon itself is tested elsewhere; this keeps the checks'
// integration test independent of it.
func resultFromWorld(t *testing.T, w *dnstest.World, zones ...string) *recon.Result {
	t.Helper()
	res := &recon.Result{Domain: zones[0]}
	for _, zn := range zones {
		origin := dns.Fqdn(zn)
		text, ok := w.Text[origin]
		if !ok {
			t.Fatalf("world has no zone %s", zn)
		}
		z := recon.Zone{Name: zn}
		zp := dns.NewZoneParser(strings.NewReader(text), origin, "")
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			h := rr.Header()
			switch h.Rrtype {
			case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM:
				z.Signed = true
				if h.Rrtype == dns.TypeNSEC {
					z.Denial = "nsec"
				}
				continue
			case dns.TypeDNSKEY:
				z.Signed = true
			case dns.TypeNS:
				if dnsname.FromWire(h.Name) == zn {
					n := dnsname.FromWire(rr.(*dns.NS).Ns)
					z.ChildNS = append(z.ChildNS, n)
					z.ParentNS = append(z.ParentNS, n)
				}
			}
			res.Records = append(res.Records, recon.Record{Name: dnsname.FromWire(h.Name), Type: dns.TypeToString[h.Rrtype],
				TTL: h.Ttl, Data: strings.TrimPrefix(rr.String(), h.String()), Source: recon.SourceAXFR})
		}
		if err := zp.Err(); err != nil {
			t.Fatalf("zone %s: %v", zn, err)
		}
		for _, n := range z.ChildNS {
			ns := recon.Nameserver{Name: n, Zone: zn, Sources: []string{"parent", "child"}}
			if a, ok := w.NS[dns.Fqdn(n)]; ok {
				ns.Resolves = true
				ns.Addresses = []string{a.String()}
				ns.Servers = []recon.Server{{Address: a.String(), Responding: true, Authoritative: true,
					AXFR: recon.TransferRefused, IXFR: recon.TransferRefused, NS: z.ChildNS}}
			} else {
				ns.Error = "NXDOMAIN"
			}
			res.Nameservers = append(res.Nameservers, ns)
		}
		res.Zones = append(res.Zones, z)
	}
	return res
}

// TestWorldAudit runs the checks through the real resolver against a DNS
// hierarchy on loopback, signed by the in-process signer: every planted
// problem is found with its id and subject, and nothing else.
func TestWorldAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a DNS world")
	}
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		Resolver: dnstest.ResolverInProcess,
		Zones: []dnstest.WorldZone{
			{Name: "example.com", Sign: dnstest.Signing{Mode: dnstest.SignNSEC},
				Servers: []dnstest.WorldServer{{}, {Name: "ns2.example.net"}},
				Records: `
@ MX 10 mail
@ TXT "v=spf1 mx include:_spf.example.net -all"
_dmarc TXT "v=DMARC1; p=none; rua=mailto:d@example.com"
www A 192.0.2.10
mail A 192.0.2.25
vpn A 10.1.2.3
old CNAME gone.example.net.
promo CNAME promo-2019.azurewebsites.net.
shop CNAME www.example.net.
intra CNAME fs.corp.
`},
			{Name: "example.net", Records: `
_spf TXT "v=spf1 +all"
www A 198.51.100.80
`},
		},
	})
	res := resultFromWorld(t, w, "example.com")
	// The delegation also names a server in a domain nobody registered
	// (the World places an address for every server it runs, so this one
	// exists only at the parent).
	res.Zones[0].ParentNS = append(res.Zones[0].ParentNS, "ns3.lapsed-dns.com")
	r, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{w.Resolver}, Timeout: 2 * time.Second, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })

	fs, err := RunEnv(context.Background(), &Env{Result: res, Exchanger: r}, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	checkDeclaredSeverity(t, fs)
	got := summary(fs)
	want := []string{
		"critical dangling-ns ns3.lapsed-dns.com",
		"high dangling-cname promo.example.com",
		"high spf-permissive example.com",
		"medium dangling-cname intra.example.com",
		"medium dangling-cname old.example.com",
		"medium dmarc-weak example.com",
		"medium internal-name-leak intra.example.com",
		"medium nsec-walkable example.com",
		"medium private-address-leak vpn.example.com",
		"low ns-set-mismatch example.com",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n%s\nwant:\n%s\nevidence:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), evidenceOf(fs))
	}
}

// TestWorldDNSSECRealSigners: zones signed by BIND, Knot and NSD
// (ldns-signzone) validate — no dnssec finding — until the clock moves past
// their signatures' validity either way; an insecure delegation is reported
// missing. Skips when the servers are not installed.
func TestWorldDNSSECRealSigners(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real DNS servers")
	}
	for _, impl := range []dnstest.Impl{dnstest.BIND, dnstest.Knot, dnstest.NSD} {
		t.Run(string(impl), func(t *testing.T) {
			w := dnstest.NewWorld(t, dnstest.WorldSpec{
				Resolver: dnstest.ResolverInProcess,
				Zones: []dnstest.WorldZone{
					{Name: "example.com", Sign: dnstest.Signing{Mode: dnstest.SignNSEC3},
						Servers: []dnstest.WorldServer{{Impl: impl}}, Records: "www A 192.0.2.10\n"},
					{Name: "example.net", Sign: dnstest.Signing{Mode: dnstest.SignNSEC}, Insecure: true,
						Servers: []dnstest.WorldServer{{Impl: impl}}, Records: "www A 198.51.100.10\n"},
				},
			})
			if s := w.Servers("example.com"); len(s) != 1 || s[0].Kind != string(impl) {
				t.Fatalf("example.com served by %v, want one %s server", s, impl)
			}
			r, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{w.Resolver}, Timeout: 2 * time.Second, Retries: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			for _, tc := range []struct {
				zone  string
				shift time.Duration // clock offset: signatures expire or are not yet valid
				want  []string
			}{
				{"example.com", 0, []string{}},
				{"example.net", 0, []string{"low dnssec-missing example.net"}},
				{"example.com", 400 * 24 * time.Hour, []string{"high dnssec-invalid example.com"}},
				{"example.com", -2 * 24 * time.Hour, []string{"high dnssec-invalid example.com"}},
			} {
				zone, want := tc.zone, tc.want
				res := &recon.Result{Domain: zone, Zones: []recon.Zone{{Name: zone, Signed: true}}}
				for _, s := range w.Servers(zone) {
					res.Nameservers = append(res.Nameservers, recon.Nameserver{Name: "ns1." + zone, Zone: zone, Resolves: true,
						Sources: []string{"parent", "child"}, Addresses: []string{s.Addr.Addr().String()},
						Servers: []recon.Server{{Address: s.Addr.Addr().String(), Responding: true, Authoritative: true}}})
				}
				now := time.Now().Add(tc.shift)
				env := &Env{Result: res, Exchanger: r, Now: func() time.Time { return now }}
				fs, err := RunEnv(context.Background(), env, Selection{Only: []string{"dnssec-missing", "dnssec-invalid"}})
				if err != nil {
					t.Fatal(err)
				}
				if got := summary(fs); !slices.Equal(got, want) {
					t.Errorf("%s (clock %+v): got %q, want %q\n%s", zone, tc.shift, got, want, evidenceOf(fs))
				}
			}
		})
	}
}
