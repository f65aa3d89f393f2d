package dnstest

// Run with:
//
//	go test ./internal/dnstest/ -run '^$' -bench . -benchtime=2s
//
// The Start benchmarks (real servers, root only) report ms per start; use
// -benchtime=10x for them.

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func benchZone(b *testing.B) *Zone {
	b.Helper()
	z, err := ParseZone("example.com", readTestZone(b, "example.com.zone"))
	if err != nil {
		b.Fatal(err)
	}
	return z
}

func BenchmarkZoneHandlerAnswer(b *testing.B) {
	z := benchZone(b)
	signed, err := z.Sign(SignOptions{NSEC3: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		z    *Zone
		q    string
		do   bool
	}{
		{"positive", z, "www.example.com.", false},
		{"wildcard", z, "x.wild.example.com.", false},
		{"nxdomain-nsec3-do", signed, "nothere.example.com.", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := NewZoneHandler(c.z)
			m := query(c.q, dns.TypeA)
			if c.do {
				m.SetEdns0(1232, true)
			}
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				if h.Answer(m) == nil {
					b.Fatal("no answer")
				}
				n++
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "qps")
		})
	}
}

// BenchmarkInProcessServerUDP measures one client doing sequential UDP
// queries against StartServer with a ZoneHandler.
func BenchmarkInProcessServerUDP(b *testing.B) {
	s := StartServer(b, netip.AddrPortFrom(AllocAddr(b), 0), NewZoneHandler(benchZone(b)))
	c := &dns.Client{Timeout: time.Second}
	conn, err := c.Dial(s.Addr.String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	m := query("www.example.com.", dns.TypeA)
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, _, err := c.ExchangeWithConn(m, conn); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "qps")
}

func BenchmarkRecursorCached(b *testing.B) {
	w, err := StartWorld(context.Background(), WorldSpec{Resolver: ResolverInProcess,
		Zones: []WorldZone{{Name: "example.com", Records: "www A 192.0.2.10\n"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	if _, err := w.Recursor.Resolve(ctx, "www.example.com", dns.TypeA); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := w.Recursor.Resolve(ctx, "www.example.com", dns.TypeA); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "qps")
}

func BenchmarkSign(b *testing.B) {
	z := benchZone(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := z.Sign(SignOptions{NSEC3: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStart starts and stops each real server with the test zone
// (one address reused), and whole worlds.
func BenchmarkStart(b *testing.B) {
	text := readTestZone(b, "example.com.zone")
	zone := func(s Signing) []ZoneConfig {
		return []ZoneConfig{{Name: "example.com", Text: text, AllowTransfer: true, Sign: s}}
	}
	cases := []struct {
		name  string
		bin   string
		start func(l life, a netip.Addr) (*Server, error)
	}{
		{"in-process", "", func(l life, a netip.Addr) (*Server, error) {
			return startInProcess(l, netip.AddrPortFrom(a, 0), NewZoneHandler(mustZone(b, "example.com", text)))
		}},
		{"bind", "named", func(l life, a netip.Addr) (*Server, error) {
			return startBIND(l, BINDConfig{Addr: a, Zones: zone(Signing{})})
		}},
		{"bind-nsec3", "named", func(l life, a netip.Addr) (*Server, error) {
			return startBIND(l, BINDConfig{Addr: a, Zones: zone(Signing{Mode: SignNSEC3})})
		}},
		{"nsd", "nsd", func(l life, a netip.Addr) (*Server, error) {
			return startNSD(l, NSDConfig{Addr: a, Zones: zone(Signing{})})
		}},
		{"nsd-ldns-nsec3", "nsd", func(l life, a netip.Addr) (*Server, error) {
			return startNSD(l, NSDConfig{Addr: a, Zones: zone(Signing{Mode: SignNSEC3})})
		}},
		{"knot", "knotd", func(l life, a netip.Addr) (*Server, error) {
			return startKnot(l, KnotConfig{Addr: a, Zones: zone(Signing{})})
		}},
		{"knot-nsec3", "knotd", func(l life, a netip.Addr) (*Server, error) {
			return startKnot(l, KnotConfig{Addr: a, Zones: zone(Signing{Mode: SignNSEC3})})
		}},
		{"unbound", "unbound", func(l life, a netip.Addr) (*Server, error) {
			return startUnbound(l, UnboundConfig{Addr: a, RootHints: []netip.Addr{netip.MustParseAddr("127.53.0.1")}})
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.bin != "" {
				RequireRoot(b)
				RequireBinary(b, c.bin)
			}
			a := AllocAddr(b)
			start := time.Now()
			n := 0
			for b.Loop() {
				l := &closer{}
				s, err := c.start(l, a)
				if err != nil {
					b.Fatal(err)
				}
				s.Stop()
				l.close()
				n++
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(n), "ms/start+stop")
		})
	}
	b.Run("world", func(b *testing.B) {
		RequireRoot(b)
		for _, bin := range []string{"named", "nsd", "knotd", "unbound", "ldns-signzone"} {
			RequireBinary(b, bin)
		}
		start := time.Now()
		n := 0
		var ready time.Duration
		for b.Loop() {
			t0 := time.Now()
			w, err := StartWorld(context.Background(), briefWorld())
			if err != nil {
				b.Fatal(err)
			}
			ready += time.Since(t0)
			w.Close()
			n++
		}
		b.ReportMetric(float64(ready.Milliseconds())/float64(n), "ms/ready")
		b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(n), "ms/start+stop")
	})
	b.Run("world-in-process", func(b *testing.B) {
		spec := briefWorld()
		for i := range spec.Zones {
			for j := range spec.Zones[i].Servers {
				spec.Zones[i].Servers[j].Impl = InProcess
				spec.Zones[i].Servers[j].Recursion = false
			}
		}
		spec.Resolver = ResolverInProcess
		start := time.Now()
		n := 0
		for b.Loop() {
			w, err := StartWorld(context.Background(), spec)
			if err != nil {
				b.Fatal(err)
			}
			w.Close()
			n++
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(n), "ms/start+stop")
	})
}

// briefWorld is the world of TestWorldRealServers without the tests.
func briefWorld() WorldSpec {
	return WorldSpec{
		Resolver: ResolverUnbound,
		Zones: []WorldZone{
			{Name: ".", Servers: []WorldServer{{Impl: NSD}}},
			{Name: "com", Servers: []WorldServer{{Impl: Knot}}},
			{Name: "example.com", Records: "www A 192.0.2.10\n", Servers: []WorldServer{{Impl: BIND, AllowTransfer: true}, {Impl: NSD}}},
			{Name: "sub.example.com", Records: "host A 192.0.2.50\n", Servers: []WorldServer{{Impl: InProcess}}},
			{Name: "nsec.com", Records: "www A 192.0.2.60\n", Servers: []WorldServer{{Impl: NSD}}, Sign: Signing{Mode: SignNSEC}},
			{Name: "nsec3.com", Records: "www A 192.0.2.70\n", Servers: []WorldServer{{Impl: Knot}}, Sign: Signing{Mode: SignNSEC3}},
			{Name: "example.test", Records: "www A 203.0.113.5\n"},
		},
	}
}

// BenchmarkAllocAddr allocates and releases one address per iteration
// (lock file, port probe and, as root, netlink add and delete).
func BenchmarkAllocAddr(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		l := &closer{}
		if _, err := allocAddr(l); err != nil {
			b.Fatal(err)
		}
		l.close()
	}
}
