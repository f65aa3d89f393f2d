package dnstest

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestWorldRealServers builds the brief's world: the root on NSD, com on
// Knot, example.com on BIND (open AXFR) plus NSD (closed), an NSEC zone
// signed for NSD by ldns, an NSEC3 zone signed by Knot, an in-process
// sub-zone, a .test zone and an open BIND resolver, all behind Unbound.
func TestWorldRealServers(t *testing.T) {
	w := NewWorld(t, WorldSpec{
		Resolver: ResolverUnbound,
		Zones: []WorldZone{
			{Name: ".", Servers: []WorldServer{{Impl: NSD}}},
			{Name: "com", Servers: []WorldServer{{Impl: Knot}}},
			{Name: "example.com", Records: `
www    A     192.0.2.10
alias  CNAME www.nsec.com.
mail   A     192.0.2.25
@      MX    10 mail
*.wild A     192.0.2.99
`, Servers: []WorldServer{
				{Impl: BIND, AllowTransfer: true, Version: "9.9.9-dnsscout", Identity: "bind-ns1"},
				{Impl: NSD, Version: "none"},
			}},
			{Name: "sub.example.com", Records: "host A 192.0.2.50\n", Servers: []WorldServer{{Impl: InProcess, AllowTransfer: true}}},
			{Name: "nsec.com", Records: "www A 192.0.2.60\ndeep.ent TXT \"x\"\n", Servers: []WorldServer{{Impl: NSD}},
				Sign: Signing{Mode: SignNSEC}},
			{Name: "nsec3.com", Records: "www A 192.0.2.70\n", Servers: []WorldServer{{Impl: Knot}},
				Sign: Signing{Mode: SignNSEC3, Salt: "ab12", Iterations: 1}},
			{Name: "example.test", Records: "www A 203.0.113.5\n"},
			{Name: "open.example.net", Records: "www A 198.51.100.1\n", Servers: []WorldServer{{Impl: BIND, Recursion: true}}},
		},
	})
	kinds := map[string]string{".": KindNSD, "com.": KindKnot, "nsec.com.": KindNSD, "nsec3.com.": KindKnot,
		"sub.example.com.": KindInProcess, "test.": KindInProcess, "net.": KindInProcess}
	for zone, kind := range kinds {
		if s := w.Servers(zone); len(s) != 1 || s[0].Kind != kind {
			t.Errorf("zone %s served by %v, want one %s", zone, s, kind)
		}
	}
	if w.ResolverServer.Kind != KindUnbound || w.Port != 53 {
		t.Fatalf("resolver %v port %d", w.ResolverServer, w.Port)
	}
	for ns, a := range w.NS {
		if !AddrPrefix.Contains(a) {
			t.Errorf("name server %s at %s, outside 127.53.0.0/16", ns, a)
		}
	}

	t.Run("resolution through Unbound", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			qtype uint16
			rcode int
			want  []string
		}{
			{"www.example.com.", dns.TypeA, dns.RcodeSuccess, []string{"www.example.com. A 192.0.2.10"}},
			{"alias.example.com.", dns.TypeA, dns.RcodeSuccess, []string{"alias.example.com. CNAME www.nsec.com.", "www.nsec.com. A 192.0.2.60"}},
			{"x.wild.example.com.", dns.TypeA, dns.RcodeSuccess, []string{"x.wild.example.com. A 192.0.2.99"}},
			{"host.sub.example.com.", dns.TypeA, dns.RcodeSuccess, []string{"host.sub.example.com. A 192.0.2.50"}},
			{"www.nsec3.com.", dns.TypeA, dns.RcodeSuccess, []string{"www.nsec3.com. A 192.0.2.70"}},
			{"www.example.test.", dns.TypeA, dns.RcodeSuccess, []string{"www.example.test. A 203.0.113.5"}},
			{"www.open.example.net.", dns.TypeA, dns.RcodeSuccess, []string{"www.open.example.net. A 198.51.100.1"}},
			{"nothere.example.com.", dns.TypeA, dns.RcodeNameError, nil},
			{"www.example.org.", dns.TypeA, dns.RcodeNameError, nil},
		} {
			r := askRD(t, w.Resolver, tc.name, tc.qtype, false)
			if r.Rcode != tc.rcode {
				t.Errorf("%s: rcode %s, want %s", tc.name, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				continue
			}
			if got := keys(r.Answer, false); !slices.Equal(got, tc.want) {
				t.Errorf("%s: answer %q, want %q", tc.name, got, tc.want)
			}
		}
		for _, zone := range []string{"nsec.com.", "nsec3.com."} {
			r := askRD(t, w.Resolver, zone, dns.TypeDS, false)
			if count(r.Answer, dns.TypeDS) == 0 {
				t.Errorf("no DS for %s in com: %v", zone, r)
			}
		}
		r := askRD(t, w.Resolver, "nsec3.com.", dns.TypeNSEC3PARAM, false)
		if len(r.Answer) != 1 || len(r.Answer[0].(*dns.NSEC3PARAM).Salt) != 4 {
			t.Errorf("NSEC3PARAM through Unbound: %v", r.Answer)
		}
	})

	t.Run("AXFR open on BIND only", func(t *testing.T) {
		ex := w.Servers("example.com")
		rrs, err := axfr(ex[0].Addr, "example.com")
		if err != nil || count(rrs, dns.TypeSOA) != 2 || count(rrs, dns.TypeNS) < 3 {
			t.Errorf("AXFR from BIND: %d records, %v", len(rrs), err)
		}
		if _, err := axfr(ex[1].Addr, "example.com"); err == nil {
			t.Error("AXFR from the second (NSD) server succeeded")
		}
		if _, err := axfr(w.Addr("com"), "com"); err == nil {
			t.Error("AXFR of com from Knot succeeded")
		}
		if rrs, err := axfr(w.Addr("sub.example.com"), "sub.example.com"); err != nil || len(rrs) < 4 {
			t.Errorf("AXFR from the in-process server: %d records, %v", len(rrs), err)
		}
	})

	t.Run("signed zones prove denial", func(t *testing.T) {
		for _, tc := range []struct {
			zone string
			want uint16
		}{{"nsec.com.", dns.TypeNSEC}, {"nsec3.com.", dns.TypeNSEC3}} {
			r := ask(t, w.Addr(tc.zone), "nothere."+tc.zone, dns.TypeA, true)
			if r.Rcode != dns.RcodeNameError || count(r.Ns, tc.want) == 0 {
				t.Errorf("%s direct: rcode %s authority %v", tc.zone, dns.RcodeToString[r.Rcode], types(r.Ns))
			}
			// Unbound runs without the validator but passes signatures
			// and proofs through to a DO client.
			r = askRD(t, w.Resolver, "nothere."+tc.zone, dns.TypeA, true)
			if r.Rcode != dns.RcodeNameError || count(r.Ns, tc.want) == 0 || count(r.Ns, dns.TypeRRSIG) == 0 {
				t.Errorf("%s through Unbound: rcode %s authority %v", tc.zone, dns.RcodeToString[r.Rcode], types(r.Ns))
			}
			r = askRD(t, w.Resolver, "www."+tc.zone, dns.TypeA, true)
			if count(r.Answer, dns.TypeRRSIG) != 1 || r.AuthenticatedData {
				t.Errorf("www.%s through Unbound with DO: %v", tc.zone, r)
			}
		}
		r := askRD(t, w.Resolver, "deep.ent.nsec.com.", dns.TypeTXT, false)
		if len(r.Answer) != 1 {
			t.Errorf("deep.ent.nsec.com through Unbound: %v", r)
		}
		r = askRD(t, w.Resolver, "ent.nsec.com.", dns.TypeNSEC, false)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("NSEC query for an empty non-terminal: %v", r)
		}
	})

	t.Run("identity", func(t *testing.T) {
		ex := w.Servers("example.com")
		if v, _ := chaosTXT(t, ex[0].Addr, "version.bind"); v != "9.9.9-dnsscout" {
			t.Errorf("BIND version.bind = %q", v)
		}
		if v, _ := chaosTXT(t, ex[0].Addr, "id.server"); v != "bind-ns1" {
			t.Errorf("BIND id.server = %q", v)
		}
		if v, _ := chaosTXT(t, ex[1].Addr, "version.bind"); v != "" {
			t.Errorf("NSD with hidden version answered %q", v)
		}
		if v, _ := chaosTXT(t, w.Addr("com"), "version.bind"); !strings.Contains(v, "Knot") {
			t.Errorf("Knot default version.bind = %q", v)
		}
	})

	t.Run("open resolver", func(t *testing.T) {
		r := askRD(t, w.Addr("open.example.net"), "www.example.com.", dns.TypeA, false)
		if !r.RecursionAvailable || !slices.Contains(addrsOf(r.Answer), "192.0.2.10") {
			t.Errorf("BIND open resolver: %v", r)
		}
		r = askRD(t, w.Addr("example.com"), "www.nsec.com.", dns.TypeA, false)
		if r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
			t.Errorf("authoritative-only BIND answered a recursive query: %v", r)
		}
	})
}
