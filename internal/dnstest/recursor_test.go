package dnstest

import (
	"github.com/dnsscout/dnsscout/internal/dnsworld"

	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// inProcessWorld is a small hierarchy served entirely in-process with the
// in-process recursor in front.
func inProcessWorld(t *testing.T) *World {
	t.Helper()
	return NewWorld(t, WorldSpec{
		Resolver: ResolverInProcess,
		Zones: []WorldZone{
			{Name: "example.com", Records: `
www     A     192.0.2.10
alias   CNAME www.example.net.
loop    CNAME loop.example.net.
mail    A     192.0.2.25
@       MX    10 mail
nxalias CNAME nothere.example.net.
`, Servers: []WorldServer{{AllowTransfer: true}, {}}},
			// Served by a name server whose name lives in example.com:
			// no glue in net, the recursor must resolve it.
			{Name: "example.net", Records: `
www   A     198.51.100.10
loop  CNAME loop.example.com.
`, Servers: []WorldServer{{Name: "ns.example.com"}}},
			{Name: "signed.example", Records: "www A 192.0.2.30\n", Sign: Signing{Mode: SignNSEC3}},
			{Name: "sub.example.com", Records: "host A 192.0.2.50\n"},
			{Name: "open.example", Servers: []WorldServer{{Recursion: true, Version: "open-1"}}},
		},
	})
}

func TestRecursorWorld(t *testing.T) {
	w := inProcessWorld(t)
	if w.Recursor == nil || !w.Resolver.IsValid() {
		t.Fatalf("world without in-process resolver: %+v", w)
	}
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
	}{
		{"through two delegations", "www.example.com.", dns.TypeA, dns.RcodeSuccess, []string{"www.example.com. A 192.0.2.10"}},
		{"sub-zone", "host.sub.example.com.", dns.TypeA, dns.RcodeSuccess, []string{"host.sub.example.com. A 192.0.2.50"}},
		{"cname across zones, NS without glue", "alias.example.com.", dns.TypeA, dns.RcodeSuccess,
			[]string{"alias.example.com. CNAME www.example.net.", "www.example.net. A 198.51.100.10"}},
		{"nxdomain", "nothere.example.com.", dns.TypeA, dns.RcodeNameError, nil},
		{"nxdomain at the end of a chain", "nxalias.example.com.", dns.TypeA, dns.RcodeNameError,
			[]string{"nxalias.example.com. CNAME nothere.example.net."}},
		{"nodata", "www.example.com.", dns.TypeMX, dns.RcodeSuccess, nil},
		{"mx", "example.com.", dns.TypeMX, dns.RcodeSuccess, []string{"example.com. MX 10 mail.example.com."}},
		{"signed zone", "www.signed.example.", dns.TypeA, dns.RcodeSuccess, []string{"www.signed.example. A 192.0.2.30"}},
		{"DS from the parent", "signed.example.", dns.TypeDS, dns.RcodeSuccess, nil},
		{"unknown TLD", "www.example.org.", dns.TypeA, dns.RcodeNameError, nil},
		{"loop", "loop.example.com.", dns.TypeA, dns.RcodeServerFailure, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := askRD(t, w.Resolver, tc.qname, tc.qtype, false)
			if r.Rcode != tc.rcode || !r.RecursionAvailable {
				t.Fatalf("rcode %s ra %v, want %s\n%v", dns.RcodeToString[r.Rcode], r.RecursionAvailable, dns.RcodeToString[tc.rcode], r)
			}
			if tc.name == "DS from the parent" {
				if count(r.Answer, dns.TypeDS) != 1 {
					t.Errorf("DS answer %v", r.Answer)
				}
				return
			}
			if got := keys(r.Answer, false); !slices.Equal(got, tc.answer) {
				t.Errorf("answer\n got %q\nwant %q", got, tc.answer)
			}
			if (tc.rcode == dns.RcodeNameError || len(tc.answer) == 0 && tc.rcode == dns.RcodeSuccess) && count(r.Ns, dns.TypeSOA) != 1 {
				t.Errorf("negative answer without SOA: %v", r.Ns)
			}
		})
	}
	t.Run("cache", func(t *testing.T) {
		askRD(t, w.Resolver, "www.example.com.", dns.TypeA, false)
		before := w.Recursor.Upstream()
		askRD(t, w.Resolver, "www.example.com.", dns.TypeA, false)
		askRD(t, w.Resolver, "nothere.example.com.", dns.TypeA, false)
		if n := w.Recursor.Upstream(); n != before {
			t.Errorf("%d upstream queries for cached answers", n-before)
		}
		w.Recursor.FlushCache()
		askRD(t, w.Resolver, "www.example.com.", dns.TypeA, false)
		if w.Recursor.Upstream() == before {
			t.Error("no upstream query after FlushCache")
		}
	})
	t.Run("DO passes signatures and proofs through", func(t *testing.T) {
		r := askRD(t, w.Resolver, "www.signed.example.", dns.TypeA, true)
		if count(r.Answer, dns.TypeRRSIG) != 1 || r.AuthenticatedData {
			t.Errorf("answer %v ad %v", types(r.Answer), r.AuthenticatedData)
		}
		r = askRD(t, w.Resolver, "nothere.signed.example.", dns.TypeA, true)
		if count(r.Ns, dns.TypeNSEC3) == 0 {
			t.Errorf("no NSEC3 with DO: %v", types(r.Ns))
		}
		r = askRD(t, w.Resolver, "nothere.signed.example.", dns.TypeA, false)
		if count(r.Ns, dns.TypeNSEC3)+count(r.Ns, dns.TypeRRSIG) != 0 {
			t.Errorf("DNSSEC records without DO: %v", types(r.Ns))
		}
	})
	t.Run("transfer policy per server", func(t *testing.T) {
		servers := w.Servers("example.com")
		if len(servers) != 2 {
			t.Fatalf("%d servers", len(servers))
		}
		rrs, err := axfr(servers[0].Addr, "example.com")
		if err != nil || count(rrs, dns.TypeSOA) != 2 {
			t.Errorf("open AXFR: %d records, %v", len(rrs), err)
		}
		if _, err := axfr(servers[1].Addr, "example.com"); err == nil {
			t.Error("closed AXFR succeeded")
		}
	})
	t.Run("open resolver", func(t *testing.T) {
		open := w.Addr("open.example")
		r := askRD(t, open, "www.example.com.", dns.TypeA, false)
		if !r.RecursionAvailable || !slices.Contains(addrsOf(r.Answer), "192.0.2.10") {
			t.Errorf("in-process open resolver: %v", r)
		}
		r = askRD(t, open, "open.example.", dns.TypeSOA, false)
		if !r.Authoritative || len(r.Answer) != 1 {
			t.Errorf("own zone not answered authoritatively: %v", r)
		}
		r = ask(t, open, "www.example.com.", dns.TypeA, false)
		if r.Rcode != dns.RcodeRefused {
			t.Errorf("RD=0 query for another zone: %v", r)
		}
		if v, _ := chaosTXT(t, open, "version.bind"); v != "open-1" {
			t.Errorf("version.bind = %q", v)
		}
	})
	t.Run("generated delegations", func(t *testing.T) {
		r := ask(t, w.Addr("com"), "www.example.com.", dns.TypeA, false)
		if r.Authoritative || count(r.Ns, dns.TypeNS) != 2 || len(addrsOf(r.Extra)) != 2 {
			t.Errorf("com referral: %v", r)
		}
		r = ask(t, w.Addr("net"), "www.example.net.", dns.TypeA, false)
		if count(r.Ns, dns.TypeNS) != 1 || len(addrsOf(r.Extra)) != 0 {
			t.Errorf("net referral should have no glue: %v", r)
		}
		r = ask(t, w.Addr("example"), "signed.example.", dns.TypeDS, false)
		if count(r.Answer, dns.TypeDS) != 1 {
			t.Errorf("no DS for signed.example in its parent: %v", r)
		}
		if got, want := w.NS["ns.example.com."], w.Addr("example.net").Addr(); got != want {
			t.Errorf("NS map: ns.example.com = %s, server at %s", got, want)
		}
	})
}

// TestRecursorCornerCases drives the recursor against hand-written servers.
func TestRecursorCornerCases(t *testing.T) {
	// A root that delegates every TLD to one "tld" server.
	ctx := context.Background()
	start := func(t *testing.T, h dns.HandlerFunc) netip.AddrPort {
		return StartServer(t, netip.AddrPortFrom(AllocAddr(t), 0), h).Addr
	}
	answerA := func(w dns.ResponseWriter, r *dns.Msg, ip string) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		rr, _ := dns.NewRR(fmt.Sprintf("%s 60 IN A %s", r.Question[0].Name, ip))
		m.Answer = append(m.Answer, rr)
		_ = w.WriteMsg(m)
	}

	t.Run("truncated UDP retried over TCP", func(t *testing.T) {
		a := start(t, func(w dns.ResponseWriter, r *dns.Msg) {
			if !dnsworld.IsTCP(w) {
				m := new(dns.Msg)
				m.SetReply(r)
				m.Truncated = true
				_ = w.WriteMsg(m)
				return
			}
			answerA(w, r, "192.0.2.1")
		})
		rec := NewRecursor([]netip.AddrPort{a}, a.Port())
		m, err := rec.Resolve(ctx, "www.example.com", dns.TypeA)
		if err != nil || len(m.Answer) != 1 {
			t.Fatalf("%v %v", m, err)
		}
	})
	t.Run("REFUSED server skipped", func(t *testing.T) {
		bad := start(t, func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			_ = w.WriteMsg(m.SetRcode(r, dns.RcodeRefused))
		})
		good := start(t, func(w dns.ResponseWriter, r *dns.Msg) { answerA(w, r, "192.0.2.2") })
		rec := NewRecursor([]netip.AddrPort{bad, good}, 53)
		m, err := rec.Resolve(ctx, "www.example.com", dns.TypeA)
		if err != nil || len(m.Answer) != 1 {
			t.Fatalf("%v %v", m, err)
		}
	})
	t.Run("server without EDNS", func(t *testing.T) {
		a := start(t, func(w dns.ResponseWriter, r *dns.Msg) {
			if r.IsEdns0() != nil {
				m := new(dns.Msg)
				_ = w.WriteMsg(m.SetRcode(r, dns.RcodeFormatError))
				return
			}
			answerA(w, r, "192.0.2.3")
		})
		rec := NewRecursor([]netip.AddrPort{a}, a.Port())
		m, err := rec.Resolve(ctx, "www.example.com", dns.TypeA)
		if err != nil || len(m.Answer) != 1 {
			t.Fatalf("%v %v", m, err)
		}
	})
	t.Run("silent server times out", func(t *testing.T) {
		a := start(t, func(w dns.ResponseWriter, r *dns.Msg) {})
		rec := NewRecursor([]netip.AddrPort{a}, a.Port())
		rec.Timeout = 50 * time.Millisecond
		if _, err := rec.Resolve(ctx, "www.example.com", dns.TypeA); !errors.Is(err, ErrServFail) {
			t.Fatalf("err %v, want ErrServFail", err)
		}
	})
	t.Run("wrong question ignored", func(t *testing.T) {
		a := start(t, func(w dns.ResponseWriter, r *dns.Msg) {
			r.Question[0].Name = "evil.example.net."
			answerA(w, r, "203.0.113.66")
		})
		rec := NewRecursor([]netip.AddrPort{a}, a.Port())
		if _, err := rec.Resolve(ctx, "www.example.com", dns.TypeA); !errors.Is(err, ErrServFail) {
			t.Fatalf("err %v, want ErrServFail", err)
		}
	})
	t.Run("non-loopback servers are never queried", func(t *testing.T) {
		var port uint16
		root := start(t, func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			ns, _ := dns.NewRR("example.com. 60 IN NS ns.example.com.")
			glue, _ := dns.NewRR("ns.example.com. 60 IN A 192.0.2.1")
			m.Ns, m.Extra = []dns.RR{ns}, []dns.RR{glue}
			_ = w.WriteMsg(m)
		})
		port = root.Port()
		rec := NewRecursor([]netip.AddrPort{root}, port)
		before := rec.Upstream()
		_, err := rec.Resolve(ctx, "www.example.com", dns.TypeA)
		if !errors.Is(err, ErrNotAllowed) {
			t.Fatalf("err %v, want ErrNotAllowed", err)
		}
		if n := rec.Upstream() - before; n != 1 {
			t.Errorf("%d queries sent, want only the one to the root", n)
		}
	})
	t.Run("out-of-bailiwick glue ignored", func(t *testing.T) {
		// The root vouches for an address of ns.example.net in a referral
		// for example.com, which is out of the referral's bailiwick... the
		// root is authoritative for everything, so do it one level down:
		// "com" hands out glue for ns.example.net.
		addrs := []netip.Addr{AllocAddr(t), AllocAddr(t), AllocAddr(t), AllocAddr(t)}
		port, err := commonPort(addrs)
		if err != nil {
			t.Fatal(err)
		}
		at := func(i int, h dns.HandlerFunc) *Server {
			return StartServer(t, netip.AddrPortFrom(addrs[i], port), h)
		}
		target := at(0, func(w dns.ResponseWriter, r *dns.Msg) { answerA(w, r, "192.0.2.77") })
		bogus := at(1, func(w dns.ResponseWriter, r *dns.Msg) { answerA(w, r, "203.0.113.66") })
		com := at(2, func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			ns, _ := dns.NewRR("example.com. 60 IN NS ns.example.net.")
			glue, _ := dns.NewRR("ns.example.net. 60 IN A " + addrs[1].String())
			m.Ns, m.Extra = []dns.RR{ns}, []dns.RR{glue}
			_ = w.WriteMsg(m)
		})
		root := at(3, func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			switch q := r.Question[0].Name; {
			case q == "ns.example.net.":
				m.Authoritative = true
				rr, _ := dns.NewRR("ns.example.net. 60 IN A " + addrs[0].String())
				m.Answer = []dns.RR{rr}
			default:
				ns, _ := dns.NewRR("com. 60 IN NS ns.com.")
				glue, _ := dns.NewRR("ns.com. 60 IN A " + addrs[2].String())
				m.Ns, m.Extra = []dns.RR{ns}, []dns.RR{glue}
			}
			_ = w.WriteMsg(m)
		})
		rec := NewRecursor([]netip.AddrPort{root.Addr}, port)
		m, err := rec.Resolve(ctx, "www.example.com", dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		if got := addrsOf(m.Answer); !slices.Equal(got, []string{"192.0.2.77"}) {
			t.Errorf("answer %v, want 192.0.2.77 from the real server", got)
		}
		if bogus.Queries() != 0 || target.Queries() == 0 || com.Queries() == 0 {
			t.Errorf("queries: bogus %d, target %d, com %d", bogus.Queries(), target.Queries(), com.Queries())
		}
	})
	t.Run("budget", func(t *testing.T) {
		var hints []netip.AddrPort
		refused := func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			_ = w.WriteMsg(m.SetRcode(r, dns.RcodeRefused))
		}
		for range 5 {
			s := StartServer(t, netip.AddrPortFrom(AllocAddr(t), 0), dns.HandlerFunc(refused))
			hints = append(hints, s.Addr)
		}
		rec := NewRecursor(hints, 53)
		rec.MaxQueries = 2
		_, err := rec.Resolve(ctx, "www.example.com", dns.TypeA)
		if !errors.Is(err, dnsworld.ErrBudget) {
			t.Fatalf("err %v, want the budget error", err)
		}
		if rec.Upstream() != 2 {
			t.Errorf("%d queries sent with a budget of 2", rec.Upstream())
		}
	})
	t.Run("referral to itself is lame", func(t *testing.T) {
		a := AllocAddr(t)
		self := StartServer(t, netip.AddrPortFrom(a, 0), dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			q := r.Question[0].Name
			m := new(dns.Msg)
			m.SetReply(r)
			ns, _ := dns.NewRR(q + " 60 IN NS ns." + q)
			glue, _ := dns.NewRR("ns." + q + " 60 IN A " + a.String())
			m.Ns, m.Extra = []dns.RR{ns}, []dns.RR{glue}
			_ = w.WriteMsg(m)
		})).Addr
		rec := NewRecursor([]netip.AddrPort{self}, self.Port())
		_, err := rec.Resolve(ctx, "a.b.c.d.e.example.com", dns.TypeA)
		if !errors.Is(err, ErrServFail) {
			t.Fatalf("err %v, want ErrServFail", err)
		}
	})
	t.Run("handler errors", func(t *testing.T) {
		rec := NewRecursor(nil, 53)
		for _, tc := range []struct {
			name  string
			req   *dns.Msg
			rcode int
		}{
			{"AXFR refused", query("example.com.", dns.TypeAXFR), dns.RcodeRefused},
			{"CHAOS refused", func() *dns.Msg {
				m := query("version.bind.", dns.TypeTXT)
				m.Question[0].Qclass = dns.ClassCHAOS
				return m
			}(), dns.RcodeRefused},
			{"no root hints: SERVFAIL", query("example.com.", dns.TypeA), dns.RcodeServerFailure},
			{"no question", func() *dns.Msg { m := query("example.com.", dns.TypeA); m.Question = nil; return m }(), dns.RcodeFormatError},
		} {
			if r := rec.Answer(tc.req); r.Rcode != tc.rcode {
				t.Errorf("%s: rcode %s, want %s", tc.name, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
		}
	})
}
