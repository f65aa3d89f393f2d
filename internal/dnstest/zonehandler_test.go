package dnstest

import (
	"github.com/dnsscout/dnsscout/internal/dnsworld"

	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// rrKey renders a record as "owner TYPE rdata" (no TTL, no class).
func rrKey(rr dns.RR) string {
	f := strings.Fields(rr.String())
	if len(f) < 4 {
		return rr.String()
	}
	return strings.Join(append([]string{f[0], f[3]}, f[4:]...), " ")
}

func keys(rrs []dns.RR, skipOPT bool) []string {
	var out []string
	for _, rr := range rrs {
		if skipOPT && rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, rrKey(rr))
	}
	return out
}

func sortedKeys(rrs []dns.RR) []string {
	k := keys(rrs, true)
	slices.Sort(k)
	return k
}

func mustZone(t testing.TB, origin, text string) *Zone {
	t.Helper()
	z, err := ParseZone(origin, text)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	return m
}

// TestZoneHandlerAnswers is the RFC 1034 4.3.2 algorithm as a table:
// query -> rcode, AA, and the three sections.
func TestZoneHandlerAnswers(t *testing.T) {
	com := mustZone(t, "example.com", readTestZone(t, "example.com.zone"))
	h := NewZoneHandler(com, mustZone(t, "example.net", readTestZone(t, "example.net.zone")))
	h.Version = "test-version"
	soa := "example.com. SOA ns1.example.com. hostmaster.example.com. 2026112701 3600 600 86400 60"
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		aa     bool
		answer []string // in order
		ns     []string // sorted
		extra  []string // sorted
	}{
		{name: "positive", qname: "www.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"www.example.com. A 192.0.2.10"}},
		{name: "case preserved question, canonical answer", qname: "WWW.Example.COM.", qtype: dns.TypeAAAA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"www.example.com. AAAA 2001:db8::10"}},
		{name: "nodata", qname: "www.example.com.", qtype: dns.TypeMX, rcode: dns.RcodeSuccess, aa: true,
			ns: []string{soa}},
		{name: "nxdomain", qname: "nothere.example.com.", qtype: dns.TypeA, rcode: dns.RcodeNameError, aa: true,
			ns: []string{soa}},
		{name: "nxdomain below existing name", qname: "a.www.example.com.", qtype: dns.TypeA, rcode: dns.RcodeNameError, aa: true,
			ns: []string{soa}},
		{name: "cname then data", qname: "alias.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"alias.example.com. CNAME www.example.com.", "www.example.com. A 192.0.2.10"}},
		{name: "cname chain", qname: "chain.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"chain.example.com. CNAME alias.example.com.", "alias.example.com. CNAME www.example.com.", "www.example.com. A 192.0.2.10"}},
		{name: "cname query type", qname: "alias.example.com.", qtype: dns.TypeCNAME, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"alias.example.com. CNAME www.example.com."}},
		{name: "cname out of zone stops", qname: "outside.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"outside.example.com. CNAME www.example.net."}},
		{name: "dangling cname", qname: "dangling.example.com.", qtype: dns.TypeA, rcode: dns.RcodeNameError, aa: true,
			answer: []string{"dangling.example.com. CNAME gone.example.com."}, ns: []string{soa}},
		{name: "cname loop ends", qname: "loop1.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"loop1.example.com. CNAME loop2.example.com.", "loop2.example.com. CNAME loop1.example.com."}},
		{name: "wildcard", qname: "x.wild.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"x.wild.example.com. A 192.0.2.99"}},
		{name: "wildcard several labels", qname: "a.b.wild.example.com.", qtype: dns.TypeTXT, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{`a.b.wild.example.com. TXT "wildcard"`}},
		{name: "wildcard nodata", qname: "x.wild.example.com.", qtype: dns.TypeMX, rcode: dns.RcodeSuccess, aa: true,
			ns: []string{soa}},
		{name: "wildcard owner queried literally", qname: "*.wild.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"*.wild.example.com. A 192.0.2.99"}},
		{name: "wildcard does not cover the parent", qname: "wild.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			ns: []string{soa}},
		{name: "wildcard cname", qname: "x.cwild.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"x.cwild.example.com. CNAME www.example.com.", "www.example.com. A 192.0.2.10"}},
		{name: "empty non-terminal", qname: "b.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			ns: []string{soa}},
		{name: "deeper empty non-terminal", qname: "ent.b.example.com.", qtype: dns.TypeTXT, rcode: dns.RcodeSuccess, aa: true,
			ns: []string{soa}},
		{name: "below empty non-terminals", qname: "deep.ent.b.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"deep.ent.b.example.com. A 192.0.2.40"}},
		{name: "referral with glue", qname: "host.sub.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: false,
			ns:    []string{"sub.example.com. NS ns.example.net.", "sub.example.com. NS ns1.sub.example.com."},
			extra: []string{"ns1.sub.example.com. A 192.0.2.53"}},
		{name: "referral at the cut", qname: "sub.example.com.", qtype: dns.TypeNS, rcode: dns.RcodeSuccess, aa: false,
			ns:    []string{"sub.example.com. NS ns.example.net.", "sub.example.com. NS ns1.sub.example.com."},
			extra: []string{"ns1.sub.example.com. A 192.0.2.53"}},
		{name: "glue is not authoritative data", qname: "ns1.sub.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: false,
			ns:    []string{"sub.example.com. NS ns.example.net.", "sub.example.com. NS ns1.sub.example.com."},
			extra: []string{"ns1.sub.example.com. A 192.0.2.53"}},
		{name: "DS absent at insecure cut", qname: "sub.example.com.", qtype: dns.TypeDS, rcode: dns.RcodeSuccess, aa: true,
			ns: []string{soa}},
		{name: "DS at secure cut", qname: "secure.example.com.", qtype: dns.TypeDS, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"secure.example.com. DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}},
		{name: "DNAME", qname: "foo.dn.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"dn.example.com. DNAME example.net.", "foo.dn.example.com. CNAME foo.example.net."}},
		{name: "DNAME owner itself", qname: "dn.example.com.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			ns: []string{soa}},
		{name: "apex NS with additional", qname: "example.com.", qtype: dns.TypeNS, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"example.com. NS ns1.example.com.", "example.com. NS ns2.example.net."},
			extra:  []string{"ns1.example.com. A 192.0.2.1"}},
		{name: "MX with additional", qname: "example.com.", qtype: dns.TypeMX, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"example.com. MX 10 mail.example.com."},
			extra:  []string{"mail.example.com. A 192.0.2.25"}},
		{name: "SRV with additional", qname: "_ldap._tcp.example.com.", qtype: dns.TypeSRV, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"_ldap._tcp.example.com. SRV 0 5 389 ldap.example.com."},
			extra:  []string{"ldap.example.com. A 192.0.2.41"}},
		{name: "other zone of the handler", qname: "www.example.net.", qtype: dns.TypeA, rcode: dns.RcodeSuccess, aa: true,
			answer: []string{"www.example.net. A 198.51.100.10"}},
		{name: "not authoritative", qname: "www.example.org.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
		{name: "RRSIG on unsigned zone", qname: "www.example.com.", qtype: dns.TypeRRSIG, rcode: dns.RcodeSuccess, aa: true,
			ns: []string{soa}},
		{name: "AXFR over UDP", qname: "example.com.", qtype: dns.TypeAXFR, rcode: dns.RcodeFormatError},
		{name: "IXFR over UDP refused by policy", qname: "example.com.", qtype: dns.TypeIXFR, rcode: dns.RcodeRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Answer(query(tc.qname, tc.qtype))
			if r.Rcode != tc.rcode || r.Authoritative != tc.aa {
				t.Fatalf("rcode %s aa %v, want %s aa %v\n%v", dns.RcodeToString[r.Rcode], r.Authoritative,
					dns.RcodeToString[tc.rcode], tc.aa, r)
			}
			if r.Question[0].Name != tc.qname {
				t.Errorf("question %q, want %q echoed", r.Question[0].Name, tc.qname)
			}
			if got := keys(r.Answer, false); !slices.Equal(got, tc.answer) {
				t.Errorf("answer\n got %q\nwant %q", got, tc.answer)
			}
			if got := sortedKeys(r.Ns); !slices.Equal(got, tc.ns) {
				t.Errorf("authority\n got %q\nwant %q", got, tc.ns)
			}
			if got := sortedKeys(r.Extra); !slices.Equal(got, tc.extra) {
				t.Errorf("additional\n got %q\nwant %q", got, tc.extra)
			}
		})
	}
	t.Run("negative TTL is the SOA minimum", func(t *testing.T) {
		r := h.Answer(query("nothere.example.com.", dns.TypeA))
		if ttl := r.Ns[0].Header().Ttl; ttl != 60 {
			t.Errorf("SOA TTL %d in negative answer, want 60", ttl)
		}
	})
	t.Run("ANY lists every RRset", func(t *testing.T) {
		r := h.Answer(query("example.com.", dns.TypeANY))
		got := types(r.Answer)
		for _, want := range []string{"SOA", "NS", "MX", "TXT", "CAA"} {
			if !slices.Contains(got, want) {
				t.Errorf("ANY: %v lacks %s", got, want)
			}
		}
	})
}

// TestZoneHandlerProtocol covers header, class and EDNS handling.
func TestZoneHandlerProtocol(t *testing.T) {
	h := NewZoneHandler(mustZone(t, "example.com", readTestZone(t, "example.com.zone")))
	h.Version, h.Hostname, h.NSID = "9.9.9-test", "host.example.com", "nsid-1"
	chaos := func(name string) *dns.Msg {
		m := query(name, dns.TypeTXT)
		m.Question[0].Qclass = dns.ClassCHAOS
		return m
	}
	withOpcode := func(op int) *dns.Msg {
		m := query("example.com.", dns.TypeSOA)
		m.Opcode = op
		return m
	}
	noQuestion := query("example.com.", dns.TypeSOA)
	noQuestion.Question = nil
	twoQuestions := query("example.com.", dns.TypeSOA)
	twoQuestions.Question = append(twoQuestions.Question, twoQuestions.Question[0])
	badVers := query("example.com.", dns.TypeSOA)
	badVers.SetEdns0(1232, false)
	badVers.IsEdns0().SetVersion(1)
	nsidQuery := query("example.com.", dns.TypeSOA)
	nsidQuery.SetEdns0(1232, true)
	nsidQuery.IsEdns0().Option = append(nsidQuery.IsEdns0().Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
	hs := query("example.com.", dns.TypeSOA)
	hs.Question[0].Qclass = dns.ClassHESIOD

	tests := []struct {
		name  string
		req   *dns.Msg
		rcode int
		check func(t *testing.T, r *dns.Msg)
	}{
		{name: "version.bind", req: chaos("version.bind."), rcode: dns.RcodeSuccess, check: func(t *testing.T, r *dns.Msg) {
			if len(r.Answer) != 1 || r.Answer[0].(*dns.TXT).Txt[0] != "9.9.9-test" || r.Answer[0].Header().Class != dns.ClassCHAOS {
				t.Errorf("answer %v", r.Answer)
			}
		}},
		{name: "version.server", req: chaos("version.server."), rcode: dns.RcodeSuccess},
		{name: "hostname.bind", req: chaos("hostname.bind."), rcode: dns.RcodeSuccess, check: func(t *testing.T, r *dns.Msg) {
			if r.Answer[0].(*dns.TXT).Txt[0] != "host.example.com" {
				t.Errorf("answer %v", r.Answer)
			}
		}},
		{name: "id.server unset", req: chaos("id.server."), rcode: dns.RcodeRefused},
		{name: "other chaos name", req: chaos("authors.bind."), rcode: dns.RcodeRefused},
		{name: "class HS", req: hs, rcode: dns.RcodeRefused},
		{name: "NOTIFY", req: withOpcode(dns.OpcodeNotify), rcode: dns.RcodeRefused},
		{name: "UPDATE", req: withOpcode(dns.OpcodeUpdate), rcode: dns.RcodeRefused},
		{name: "STATUS", req: withOpcode(dns.OpcodeStatus), rcode: dns.RcodeNotImplemented},
		{name: "no question", req: noQuestion, rcode: dns.RcodeFormatError},
		{name: "two questions", req: twoQuestions, rcode: dns.RcodeFormatError},
		{name: "EDNS version 1", req: badVers, rcode: dns.RcodeBadVers, check: func(t *testing.T, r *dns.Msg) {
			if _, err := r.Pack(); err != nil {
				t.Errorf("BADVERS response does not pack: %v", err)
			}
		}},
		{name: "NSID and DO echoed", req: nsidQuery, rcode: dns.RcodeSuccess, check: func(t *testing.T, r *dns.Msg) {
			opt := r.IsEdns0()
			if opt == nil || !opt.Do() || opt.UDPSize() != dnsworld.DefaultMaxUDPSize {
				t.Fatalf("OPT %v", opt)
			}
			if len(opt.Option) != 1 || hexText(opt.Option[0].(*dns.EDNS0_NSID).Nsid) != "nsid-1" {
				t.Errorf("NSID option %v", opt.Option)
			}
			if r.Extra[len(r.Extra)-1] != opt {
				t.Errorf("OPT is not the last additional record")
			}
		}},
		{name: "response ignored", req: func() *dns.Msg { m := query("example.com.", dns.TypeA); m.Response = true; return m }(), rcode: -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Answer(tc.req)
			if tc.rcode == -1 {
				if r != nil {
					t.Fatalf("answered a response: %v", r)
				}
				return
			}
			if r.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s\n%v", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode], r)
			}
			if r.Id != tc.req.Id || !r.Response {
				t.Errorf("id %d response %v", r.Id, r.Response)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// TestZoneHandlerDSFromParent checks that DS at a child apex is answered
// from the parent when the handler serves both.
func TestZoneHandlerDSFromParent(t *testing.T) {
	parent := mustZone(t, "com", `@ SOA ns h 1 3600 600 86400 60
@ NS ns
ns A 192.0.2.1
example NS ns.example
example DS 1 13 2 AABBCCDDEEFF00112233445566778899AABBCCDDEEFF00112233445566778899
ns.example A 192.0.2.2
`)
	child := mustZone(t, "example.com", `@ SOA ns h 1 3600 600 86400 60
@ NS ns
ns A 192.0.2.2
`)
	h := NewZoneHandler(parent, child)
	r := h.Answer(query("example.com.", dns.TypeDS))
	if len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeDS || !r.Authoritative {
		t.Errorf("DS from parent: %v", r)
	}
	r = h.Answer(query("example.com.", dns.TypeSOA))
	if len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Hdr.Name != "example.com." {
		t.Errorf("SOA from child: %v", r)
	}
	h.Remove("com")
	r = h.Answer(query("example.com.", dns.TypeDS))
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || !r.Authoritative {
		t.Errorf("DS without parent: child's NODATA expected, got %v", r)
	}
}

// bigZone has n A records under example.com.
func bigZone(t testing.TB, n int) *Zone {
	t.Helper()
	var b strings.Builder
	b.WriteString("@ 300 SOA ns1 hostmaster 7 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n")
	for i := range n {
		fmt.Fprintf(&b, "host%d A 198.51.100.%d\n", i, i%250+1)
	}
	b.WriteString("big TXT")
	for i := range 40 {
		fmt.Fprintf(&b, " \"padding text number %d to make the answer exceed five hundred and twelve bytes\"", i)
	}
	b.WriteString("\n")
	return MustParseZone(t, "example.com", b.String())
}

func TestZoneTransfer(t *testing.T) {
	z := bigZone(t, 5000)
	z.AllowTransfer = true
	s, h := ServeZones(t, z)
	t.Run("AXFR in several messages", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetAxfr("example.com.")
		ch, err := (&dns.Transfer{}).In(m, s.Addr.String())
		if err != nil {
			t.Fatal(err)
		}
		msgs, rrs := 0, 0
		for env := range ch {
			if env.Error != nil {
				t.Fatal(env.Error)
			}
			msgs++
			rrs += len(env.RR)
		}
		if rrs != z.Len()+1 || msgs < 2 {
			t.Errorf("%d records in %d messages, want %d in several", rrs, msgs, z.Len()+1)
		}
	})
	t.Run("IXFR up to date gets the SOA", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetIxfr("example.com.", 7, "ns1.example.com.", "hostmaster.example.com.")
		r, _, err := (&dns.Client{Net: "tcp"}).Exchange(m, s.Addr.String())
		if err != nil || len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Serial != 7 {
			t.Errorf("IXFR at the current serial: %v %v", r, err)
		}
	})
	t.Run("IXFR from an older serial is a full transfer", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetIxfr("example.com.", 6, "ns1.example.com.", "hostmaster.example.com.")
		ch, err := (&dns.Transfer{}).In(m, s.Addr.String())
		if err != nil {
			t.Fatal(err)
		}
		rrs := 0
		for env := range ch {
			if env.Error != nil {
				t.Fatal(env.Error)
			}
			rrs += len(env.RR)
		}
		if rrs != z.Len()+1 {
			t.Errorf("%d records, want %d", rrs, z.Len()+1)
		}
	})
	t.Run("transfer refused once the policy changes", func(t *testing.T) {
		closed := bigZone(t, 3)
		h.Replace(closed)
		if _, err := axfr(s.Addr, "example.com"); err == nil {
			t.Error("AXFR of a closed zone succeeded")
		}
	})
	t.Run("AXFR of a zone not served", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetAxfr("example.org.")
		r, _, err := (&dns.Client{Net: "tcp"}).Exchange(m, s.Addr.String())
		if err != nil || r.Rcode != dns.RcodeNotAuth {
			t.Errorf("AXFR example.org: %v %v", r, err)
		}
	})
}

func TestZoneHandlerTruncation(t *testing.T) {
	s, _ := ServeZones(t, bigZone(t, 0))
	for _, tc := range []struct {
		name  string
		edns  uint16
		tcp   bool
		trunc bool
	}{
		{"UDP without EDNS", 0, false, true},
		{"UDP with EDNS 4096", 4096, false, true}, // capped at 1232
		{"TCP", 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := query("big.example.com.", dns.TypeTXT)
			if tc.edns > 0 {
				m.SetEdns0(tc.edns, false)
			}
			c := &dns.Client{UDPSize: 65535}
			if tc.tcp {
				c.Net = "tcp"
			}
			r, _, err := c.Exchange(m, s.Addr.String())
			if err != nil {
				t.Fatal(err)
			}
			if r.Truncated != tc.trunc || tc.trunc == (len(r.Answer) == 1) {
				t.Errorf("truncated %v with %d answers", r.Truncated, len(r.Answer))
			}
			if b, _ := r.Pack(); !tc.tcp && len(b) > dnsworld.DefaultMaxUDPSize {
				t.Errorf("UDP response of %d bytes", len(b))
			}
		})
	}
}
