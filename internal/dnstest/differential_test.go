package dnstest

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// diffQueries are asked of the in-process zone server and of real servers
// serving the same (pre-signed) zone text.
var diffQueries = []struct {
	name  string
	qtype uint16
}{
	{"www.example.com.", dns.TypeA},
	{"www.example.com.", dns.TypeMX},
	{"nothere.example.com.", dns.TypeA},
	{"a.www.example.com.", dns.TypeA},
	{"alias.example.com.", dns.TypeA},
	{"chain.example.com.", dns.TypeA},
	{"outside.example.com.", dns.TypeA},
	{"dangling.example.com.", dns.TypeA},
	{"x.wild.example.com.", dns.TypeA},
	{"a.b.wild.example.com.", dns.TypeTXT},
	{"x.wild.example.com.", dns.TypeMX},
	{"x.cwild.example.com.", dns.TypeA},
	{"b.example.com.", dns.TypeA},
	{"ent.b.example.com.", dns.TypeA},
	{"deep.ent.b.example.com.", dns.TypeA},
	{"host.sub.example.com.", dns.TypeA},
	{"sub.example.com.", dns.TypeDS},
	{"secure.example.com.", dns.TypeDS},
	{"host.secure.example.com.", dns.TypeA},
	{"foo.dn.example.com.", dns.TypeA},
	{"example.com.", dns.TypeDNSKEY},
	{"example.com.", dns.TypeNSEC3PARAM},
	{"_ldap._tcp.example.com.", dns.TypeSRV},
}

// TestDifferential compares the in-process zone server with NSD, Knot and
// BIND serving the same Go-signed zone: rcode, AA, answer and authority
// must be identical for every query, with and without DO.
func TestDifferential(t *testing.T) {
	RequireRoot(t)
	base := mustZone(t, "example.com", readTestZone(t, "example.com.zone"))
	signings := []struct {
		name string
		opts *SignOptions
	}{
		{"unsigned", nil},
		{"nsec", &SignOptions{}},
		{"nsec3", &SignOptions{NSEC3: true, Salt: "aabb", Iterations: 1}},
		{"nsec3-optout", &SignOptions{NSEC3: true, OptOut: true}},
	}
	for _, rs := range realStarters {
		t.Run(rs.name, func(t *testing.T) {
			t.Parallel()
			RequireBinary(t, rs.bin)
			for _, sg := range signings {
				t.Run(sg.name, func(t *testing.T) {
					z := base
					if sg.opts != nil {
						var err error
						if z, err = base.Sign(*sg.opts); err != nil {
							t.Fatal(err)
						}
					}
					srv := rs.start(t, []ZoneConfig{{Name: "example.com", Text: z.Text()}})
					inproc := StartServer(t, netip.AddrPortFrom(AllocAddr(t), 0), NewZoneHandler(z))
					for _, q := range diffQueries {
						for _, do := range []bool{false, true} {
							if do && sg.opts == nil {
								continue
							}
							want := ask(t, srv.Addr, q.name, q.qtype, do)
							got := ask(t, inproc.Addr, q.name, q.qtype, do)
							if want.Rcode != got.Rcode || want.Authoritative != got.Authoritative {
								t.Errorf("%s %s do=%v: rcode/aa %s/%v, %s says %s/%v", q.name, dns.TypeToString[q.qtype], do,
									dns.RcodeToString[got.Rcode], got.Authoritative, rs.name, dns.RcodeToString[want.Rcode], want.Authoritative)
							}
							if g, w := sortedKeys(got.Answer), sortedKeys(want.Answer); !slices.Equal(g, w) {
								t.Errorf("%s %s do=%v: answer\n got %q\n%s %q", q.name, dns.TypeToString[q.qtype], do, g, rs.name, w)
							}
							if g, w := sortedKeys(dropNS(got.Ns, got)), sortedKeys(dropNS(want.Ns, want)); !slices.Equal(g, w) {
								t.Errorf("%s %s do=%v: authority\n got %q\n%s %q", q.name, dns.TypeToString[q.qtype], do, g, rs.name, w)
							}
						}
					}
				})
			}
		})
	}
}

// dropNS removes the apex NS set some servers add to the authority of
// positive answers (not minimal responses); referrals keep theirs.
func dropNS(ns []dns.RR, m *dns.Msg) []dns.RR {
	if !m.Authoritative {
		return ns
	}
	var out []dns.RR
	for _, rr := range ns {
		t := rr.Header().Rrtype
		if t == dns.TypeNS && rr.Header().Name == "example.com." {
			continue
		}
		if s, ok := rr.(*dns.RRSIG); ok && s.TypeCovered == dns.TypeNS && s.Hdr.Name == "example.com." {
			continue
		}
		out = append(out, rr)
	}
	return out
}
