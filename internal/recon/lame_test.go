package recon

import (
	"context"
	"errors"
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

// lameZone is the zone the lame-delegation worlds break.
const lameZone = `
www IN A 192.0.2.10
status IN CNAME globex.statuspage.test.
`

// refuse answers every query REFUSED, as a server that does not load the
// zone does.
var refuse = dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeRefused)
	_ = w.WriteMsg(m)
})

// lameWorld starts a world where umbrella.test is delegated to two
// servers and example.test is healthy, then breaks umbrella.test's
// servers as mode says: "dead" (both silent), "refused" (one silent, one
// REFUSED) or "healthy".
func lameWorld(t *testing.T, kind dnstest.ResolverKind, mode string) *dnstest.World {
	t.Helper()
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.InProcess,
		Resolver:    kind,
		Zones: []dnstest.WorldZone{
			{Name: "umbrella.test", Records: lameZone, Servers: []dnstest.WorldServer{{}, {}}},
			{Name: "example.test", Records: "www IN A 192.0.2.20\n"},
			{Name: "statuspage.test", Records: "www IN A 192.0.2.30\n"},
		},
	})
	servers := w.Servers("umbrella.test")
	switch mode {
	case "dead":
		servers[0].Stop()
		servers[1].Stop()
	case "refused":
		servers[0].Stop()
		servers[1].Stop()
		dnstest.StartServer(t, servers[1].Addr, refuse)
	}
	return w
}

// worldResolver is a resolver in front of w with short timeouts.
func worldResolver(t testing.TB, w *dnstest.World, timeout time.Duration) *resolver.Resolver {
	t.Helper()
	res, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{w.Resolver}, Timeout: timeout, Retries: 1, Backoff: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	return res
}

// resolverKinds are the resolvers the world tests run through: the
// in-process recursor always, a real Unbound when running as root.
func resolverKinds() []dnstest.ResolverKind {
	return []dnstest.ResolverKind{dnstest.ResolverInProcess, dnstest.ResolverUnbound}
}

func TestLameDelegation(t *testing.T) {
	for _, kind := range resolverKinds() {
		for _, mode := range []string{"dead", "refused"} {
			t.Run(string(kind)+"/"+mode, func(t *testing.T) {
				w := lameWorld(t, kind, mode)
				res := worldResolver(t, w, 500*time.Millisecond)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				r, err := Run(ctx, res, "umbrella.test", Options{Wordlist: []string{"www", "status"}, NameserverPort: w.Port, NoPTR: true})
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if len(r.Nameservers) != 2 {
					t.Fatalf("nameservers %+v, want the two of the delegation", r.Nameservers)
				}
				for i, ns := range r.Nameservers {
					if !slices.Contains(ns.Sources, nsFromParent) || len(ns.Servers) != 1 {
						t.Fatalf("nameserver %+v", ns)
					}
					s := ns.Servers[0]
					wantResponding := mode == "refused" && i == 1
					if s.Authoritative || s.Responding != wantResponding {
						t.Errorf("%s %s: responding %v authoritative %v (%s), want responding %v, not authoritative", ns.Name, s.Address, s.Responding, s.Authoritative, s.Error, wantResponding)
					}
				}
				var ns []string
				for _, rec := range r.Records {
					if rec.Type == "NS" && rec.Name == "umbrella.test" {
						ns = append(ns, rec.Data)
					}
				}
				if len(ns) != 2 {
					t.Errorf("parent-side NS records %v, want 2; records %+v", ns, r.Records)
				}
				if !slices.ContainsFunc(r.Gaps, func(g Gap) bool { return g.Stage == "nameservers" && g.Zone == "umbrella.test" }) {
					t.Errorf("gaps %+v do not say that no server answers", r.Gaps)
				}
			})
		}
	}
}

// servfailFor wraps an exchanger whose recursive answers for names under
// zone are SERVFAIL, as a resolver that cannot validate or reach the zone
// gives them, while the zone's own servers answer direct queries.
type servfailFor struct {
	Exchanger
	zone string
}

func (s servfailFor) Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	if dnsname.IsSubdomain(dnsname.FromWire(q.Name), s.zone) {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(q.Name), q.Type)
		m.Response, m.Rcode = true, dns.RcodeServerFailure
		return &resolver.Response{Msg: m}, nil
	}
	return s.Exchanger.Exchange(ctx, q)
}

func TestResolverFailsServersAnswer(t *testing.T) {
	for _, kind := range resolverKinds() {
		t.Run(string(kind), func(t *testing.T) {
			w := lameWorld(t, kind, "healthy")
			w.Servers("umbrella.test")[0].Stop() // one dead server of two
			res := worldResolver(t, w, 500*time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			x := servfailFor{Exchanger: res, zone: "umbrella.test"}
			r, err := Run(ctx, x, "umbrella.test", Options{Wordlist: []string{"www", "status", "nope"}, NameserverPort: w.Port, NoPTR: true})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			got := names(r)
			for _, n := range []string{"www.umbrella.test", "status.umbrella.test"} {
				if _, ok := got[n]; !ok {
					t.Errorf("%s not found through the zone's own server; names %v", n, keys(got))
				}
			}
			for _, n := range r.Names {
				if n.Name == "status.umbrella.test" && (n.Chain == nil || *n.Chain != ChainEnd{Target: "globex.statuspage.test", Rcode: "NXDOMAIN", Hops: 1}) {
					t.Errorf("status chain end %+v, want globex.statuspage.test NXDOMAIN", n.Chain)
				}
			}
			if _, ok := got["nope.umbrella.test"]; ok {
				t.Error("a name that does not exist was reported")
			}
			var zone *Zone
			for i := range r.Zones {
				if r.Zones[i].Name == "umbrella.test" {
					zone = &r.Zones[i]
				}
			}
			want := w.Servers("umbrella.test")[1].Addr.Addr().String()
			if zone == nil || !slices.Equal(zone.Direct, []string{want}) {
				t.Errorf("zone %+v: direct servers, want [%s]", zone, want)
			}
			if !strings.Contains(zone.SOA, "ns1.umbrella.test.") {
				t.Errorf("apex SOA not asked at the zone's server: %q", zone.SOA)
			}
		})
	}
}

func TestNoSuchDomainAtParent(t *testing.T) {
	for _, kind := range resolverKinds() {
		t.Run(string(kind), func(t *testing.T) {
			w := lameWorld(t, kind, "dead")
			res := worldResolver(t, w, 500*time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// The resolver cannot answer for anything under umbrella.test:
			// the parent says whether the name exists.
			x := servfailFor{Exchanger: res, zone: "nowhere.test"}
			_, err := Run(ctx, x, "nowhere.test", Options{Wordlist: []string{}, NameserverPort: w.Port, NoPTR: true})
			if !errors.Is(err, ErrNoSuchDomain) {
				t.Fatalf("err = %v, want ErrNoSuchDomain", err)
			}
		})
	}
}
