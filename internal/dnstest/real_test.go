package dnstest

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// realServer starts one real implementation with the given zones.
type realStarter struct {
	name  string
	bin   string
	start func(t *testing.T, zones []ZoneConfig) *Server
}

var realStarters = []realStarter{
	{"bind", "named", func(t *testing.T, zones []ZoneConfig) *Server {
		return StartBIND(t, BINDConfig{Zones: zones, Version: "bind-test-version", Hostname: "bind-host", ServerID: "bind-id"})
	}},
	{"nsd", "nsd", func(t *testing.T, zones []ZoneConfig) *Server {
		return StartNSD(t, NSDConfig{Zones: zones, Version: "nsd-test-version", Identity: "nsd-id", NSID: "nsd-nsid"})
	}},
	{"knot", "knotd", func(t *testing.T, zones []ZoneConfig) *Server {
		return StartKnot(t, KnotConfig{Zones: zones, Version: "knot-test-version", Identity: "knot-id", NSID: "knot-nsid"})
	}},
}

// TestRealServers runs the same checks against BIND, NSD and Knot: the
// zone answers, transfers follow the per-zone policy, CHAOS identity and
// NSID answer, and signed zones prove denial with NSEC or NSEC3.
func TestRealServers(t *testing.T) {
	RequireRoot(t)
	com := readTestZone(t, "example.com.zone")
	netText := readTestZone(t, "example.net.zone")
	for _, rs := range realStarters {
		t.Run(rs.name, func(t *testing.T) {
			t.Parallel()
			RequireBinary(t, rs.bin)
			if rs.name == "nsd" {
				RequireBinary(t, "ldns-signzone")
			}
			zones := []ZoneConfig{
				{Name: "example.com", Text: com, AllowTransfer: true, IXFR: rs.name == "bind"},
				{Name: "example.net", Text: netText},
				{Name: "nsec.example.org", Text: "@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n",
					Sign: Signing{Mode: SignNSEC}},
				{Name: "nsec3.example.org", Text: "@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n",
					Sign: Signing{Mode: SignNSEC3, Salt: "abcd", Iterations: 1}},
			}
			s := rs.start(t, zones)
			if s.Addr.Port() != 53 || !AddrPrefix.Contains(s.Addr.Addr()) {
				t.Fatalf("server address %s, want 127.53.x.y:53", s.Addr)
			}

			r := ask(t, s.Addr, "www.example.com", dns.TypeA, false)
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || !slices.Contains(addrsOf(r.Answer), "192.0.2.10") {
				t.Errorf("www.example.com A: %v", r)
			}
			r = ask(t, s.Addr, "nothere.example.com", dns.TypeA, false)
			if r.Rcode != dns.RcodeNameError || count(r.Ns, dns.TypeSOA) != 1 {
				t.Errorf("nothere.example.com: rcode %s, authority %v", dns.RcodeToString[r.Rcode], types(r.Ns))
			}
			r = ask(t, s.Addr, "host.sub.example.com", dns.TypeA, false)
			if r.Authoritative || count(r.Ns, dns.TypeNS) != 2 || !slices.Contains(addrsOf(r.Extra), "192.0.2.53") {
				t.Errorf("referral for sub.example.com: aa %v, authority %v, additional %v", r.Authoritative, types(r.Ns), addrsOf(r.Extra))
			}

			rrs, err := axfr(s.Addr, "example.com")
			if err != nil || len(rrs) < 20 {
				t.Errorf("AXFR example.com (open): %d records, %v", len(rrs), err)
			}
			if rrs, err := axfr(s.Addr, "example.net"); err == nil {
				t.Errorf("AXFR example.net (closed): got %d records, want a refusal", len(rrs))
			}

			version := map[string]string{"bind": "bind-test-version", "nsd": "nsd-test-version", "knot": "knot-test-version"}[rs.name]
			if v, _ := chaosTXT(t, s.Addr, "version.bind"); v != version {
				t.Errorf("version.bind = %q, want %q", v, version)
			}
			if rs.name != "bind" {
				if v := nsid(t, s.Addr, "example.com"); v != rs.name+"-nsid" {
					t.Errorf("NSID = %q, want %q", v, rs.name+"-nsid")
				}
			} else if v := nsid(t, s.Addr, "example.com"); v != "bind-id" {
				t.Errorf("NSID = %q, want bind-id", v)
			}

			for _, c := range []struct {
				zone string
				want uint16
			}{{"nsec.example.org", dns.TypeNSEC}, {"nsec3.example.org", dns.TypeNSEC3}} {
				r := ask(t, s.Addr, "nothere."+c.zone, dns.TypeA, true)
				if r.Rcode != dns.RcodeNameError || count(r.Ns, c.want) == 0 || count(r.Ns, dns.TypeRRSIG) == 0 {
					t.Errorf("%s NXDOMAIN with DO: rcode %s, authority %v", c.zone, dns.RcodeToString[r.Rcode], types(r.Ns))
				}
				r = ask(t, s.Addr, c.zone, dns.TypeDNSKEY, true)
				if count(r.Answer, dns.TypeDNSKEY) == 0 || count(r.Answer, dns.TypeRRSIG) == 0 {
					t.Errorf("%s DNSKEY: %v", c.zone, types(r.Answer))
				}
			}
			if rs.name == "nsd" {
				// ldns-signzone keeps the requested salt and iterations.
				r := ask(t, s.Addr, "nsec3.example.org", dns.TypeNSEC3PARAM, false)
				if len(r.Answer) != 1 {
					t.Fatalf("NSEC3PARAM: %v", r.Answer)
				}
				p := r.Answer[0].(*dns.NSEC3PARAM)
				if !strings.EqualFold(p.Salt, "abcd") || p.Iterations != 1 {
					t.Errorf("NSEC3PARAM = %#v, want salt ABCD, 1 iteration", p)
				}
			}
			if rs.name == "bind" {
				// The journal answers an IXFR for the previous serial.
				soa := ask(t, s.Addr, "example.com", dns.TypeSOA, false).Answer[0].(*dns.SOA)
				m := new(dns.Msg)
				m.SetIxfr("example.com.", soa.Serial-1, "ns1.example.com.", "hostmaster.example.com.")
				tr := &dns.Transfer{}
				ch, err := tr.In(m, s.Addr.String())
				if err != nil {
					t.Fatal(err)
				}
				var got []dns.RR
				for env := range ch {
					if env.Error != nil {
						t.Fatal(env.Error)
					}
					got = append(got, env.RR...)
				}
				// Incremental: SOA new, SOA old, SOA new, SOA new.
				if count(got, dns.TypeSOA) != 4 || len(got) != 4 {
					t.Errorf("IXFR from %d: %v", soa.Serial-1, got)
				}
			}
		})
	}
}

// TestUnboundRestart checks that Unbound answers through the test root and
// that Restart empties its cache.
func TestUnboundRestart(t *testing.T) {
	RequireRoot(t)
	RequireBinary(t, "unbound")
	ra := AllocAddr(t)
	root, err := ParseZone(".", `
. SOA ns1.dnstest-root. h.dnstest-root. 1 3600 600 86400 60
. NS ns1.dnstest-root.
ns1.dnstest-root. A `+ra.String()+`
www.example. A 192.0.2.80
`)
	if err != nil {
		t.Fatal(err)
	}
	h := NewZoneHandler(root)
	rs := StartServer(t, netip.AddrPortFrom(ra, 53), h)
	u := StartUnbound(t, UnboundConfig{RootHints: []netip.Addr{ra}})
	r := askRD(t, u.Addr, "www.example", dns.TypeA, false)
	if !slices.Contains(addrsOf(r.Answer), "192.0.2.80") {
		t.Fatalf("www.example through Unbound: %v", r)
	}
	before := rs.Queries()
	askRD(t, u.Addr, "www.example", dns.TypeA, false)
	if rs.Queries() != before {
		t.Errorf("second query reached the root: cache not used")
	}
	if err := u.Restart(); err != nil {
		t.Fatal(err)
	}
	askRD(t, u.Addr, "www.example", dns.TypeA, false)
	if rs.Queries() == before {
		t.Errorf("query after restart did not reach the root: cache survived")
	}
}
