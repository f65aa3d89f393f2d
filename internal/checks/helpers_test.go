package checks

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

// testNow is the clock of every test: signatures in fixtures are valid
// around it.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var errNoCanned = errors.New("fake: no canned answer")

// fakeExchanger answers from canned data. Recursive answers come from
// zone-like data: rrs holds RRsets by "name/TYPE", exists the names that
// exist without data for a type (NODATA), nx the names (and everything
// below them) that do not exist. Anything else is an error, so that a test
// never passes on an answer nobody wrote. Direct answers come from the same
// data unless perServer overrides them for one server.
type fakeExchanger struct {
	mu        sync.Mutex
	rrs       map[string][]dns.RR
	exists    map[string]bool
	nx        map[string]bool
	rcode     map[string]int // "name/TYPE" -> rcode (SERVFAIL, REFUSED)
	perServer map[netip.AddrPort]*fakeExchanger
	fail      map[string]error
	queries   []string
}

func newFake() *fakeExchanger {
	return &fakeExchanger{
		rrs: map[string][]dns.RR{}, exists: map[string]bool{}, nx: map[string]bool{},
		rcode: map[string]int{}, perServer: map[netip.AddrPort]*fakeExchanger{}, fail: map[string]error{},
	}
}

func fkey(name string, qtype uint16) string {
	return dnsname.FromWire(name) + "/" + dns.TypeToString[qtype]
}

// add adds records (master-file lines) to the fake's data.
func (f *fakeExchanger) add(t testing.TB, lines ...string) *fakeExchanger {
	t.Helper()
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("fake record %q: %v", l, err)
		}
		f.addRR(rr)
	}
	return f
}

func (f *fakeExchanger) addRR(rrs ...dns.RR) *fakeExchanger {
	for _, rr := range rrs {
		qt := rr.Header().Rrtype
		if s, ok := rr.(*dns.RRSIG); ok {
			qt = s.TypeCovered
		}
		k := fkey(rr.Header().Name, qt)
		f.rrs[k] = append(f.rrs[k], rr)
	}
	return f
}

func (f *fakeExchanger) nxdomain(names ...string) *fakeExchanger {
	for _, n := range names {
		f.nx[dnsname.FromWire(n)] = true
	}
	return f
}

func (f *fakeExchanger) exist(names ...string) *fakeExchanger {
	for _, n := range names {
		f.exists[dnsname.FromWire(n)] = true
	}
	return f
}

func (f *fakeExchanger) answer(q resolver.Query) (*dns.Msg, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := dnsname.FromWire(q.Name)
	f.queries = append(f.queries, fkey(name, q.Type))
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), q.Type)
	m.Response = true
	if err, ok := f.fail[fkey(name, q.Type)]; ok {
		return nil, err
	}
	if rc, ok := f.rcode[fkey(name, q.Type)]; ok {
		m.Rcode = rc
		return m, nil
	}
	// Follow CNAMEs like a recursive resolver.
	cur := name
	for range 8 {
		for n := cur; n != "."; n = dnsname.Parent(n) {
			if f.nx[n] {
				m.Rcode = dns.RcodeNameError
				return m, nil
			}
		}
		if rrs, ok := f.rrs[fkey(cur, q.Type)]; ok {
			for _, rr := range rrs {
				if _, sig := rr.(*dns.RRSIG); sig && !q.DO {
					continue
				}
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
			return m, nil
		}
		if c, ok := f.rrs[fkey(cur, dns.TypeCNAME)]; ok && q.Type != dns.TypeCNAME {
			m.Answer = append(m.Answer, dns.Copy(c[0]))
			cur = dnsname.FromWire(c[0].(*dns.CNAME).Target)
			continue
		}
		if f.exists[cur] || f.hasName(cur) {
			return m, nil // NODATA
		}
		return nil, fmt.Errorf("%w for %s", errNoCanned, fkey(cur, q.Type))
	}
	return m, nil
}

func (f *fakeExchanger) hasName(name string) bool {
	for k := range f.rrs {
		if strings.HasPrefix(k, name+"/") {
			return true
		}
	}
	return false
}

func (f *fakeExchanger) Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := f.answer(q)
	if err != nil {
		return nil, err
	}
	return &resolver.Response{Msg: m}, nil
}

func (f *fakeExchanger) Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src := f
	if o, ok := f.perServer[server]; ok {
		src = o
	}
	m, err := src.answer(q)
	if err != nil {
		return nil, err
	}
	m.Authoritative = true
	return &resolver.Response{Msg: m, Server: server}, nil
}

var _ Exchanger = (*fakeExchanger)(nil)

// testKey is a deterministic Ed25519 DNSSEC key (Ed25519 signatures are
// deterministic too, so golden files stay stable).
type testKey struct {
	dnskey *dns.DNSKEY
	priv   ed25519.PrivateKey
}

func newTestKey(zone string, flags uint16, seed byte) testKey {
	priv := ed25519.NewKeyFromSeed(slices.Repeat([]byte{seed}, ed25519.SeedSize))
	k := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: dns.Fqdn(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags:     flags,
		Protocol:  3,
		Algorithm: dns.ED25519,
		PublicKey: base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)),
	}
	return testKey{dnskey: k, priv: priv}
}

// sign returns an RRSIG over rrset by k valid from inception to expiration.
func (k testKey) sign(t testing.TB, rrset []dns.RR, inception, expiration time.Time) *dns.RRSIG {
	t.Helper()
	sig := &dns.RRSIG{
		Hdr:        dns.RR_Header{Name: rrset[0].Header().Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: rrset[0].Header().Ttl},
		Inception:  uint32(inception.Unix()),
		Expiration: uint32(expiration.Unix()),
		KeyTag:     k.dnskey.KeyTag(),
		SignerName: k.dnskey.Hdr.Name,
		Algorithm:  k.dnskey.Algorithm,
	}
	if err := sig.Sign(k.priv, rrset); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return sig
}

func mustRR(t testing.TB, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("NewRR(%q): %v", s, err)
	}
	return rr
}

// rec builds a recon record from a master-file line.
func rec(t testing.TB, line string, source string) recon.Record {
	t.Helper()
	rr := mustRR(t, line)
	h := rr.Header()
	data := strings.TrimPrefix(rr.String(), h.String())
	return recon.Record{Name: dnsname.FromWire(h.Name), Type: dns.TypeToString[h.Rrtype], TTL: h.Ttl, Data: data, Source: source}
}

// recs builds recon records from master-file lines.
func recs(t testing.TB, lines ...string) []recon.Record {
	t.Helper()
	var out []recon.Record
	for _, l := range lines {
		out = append(out, rec(t, l, recon.SourceStandard))
	}
	return out
}

// world is a clean signed example.com and the fake network that serves it.
type world struct {
	res       *recon.Result
	ex        *fakeExchanger
	ksk, zsk  testKey
	ds        *dns.DS
	keyset    []dns.RR
	soa       dns.RR
	ns1, ns2  netip.AddrPort
	inception time.Time
}

// cleanWorld returns a result for example.com in which no check should find
// anything, and a fake network consistent with it.
func cleanWorld(t testing.TB) *world {
	t.Helper()
	w := &world{
		ksk:       newTestKey("example.com", 257, 1),
		zsk:       newTestKey("example.com", 256, 2),
		ns1:       netip.MustParseAddrPort("192.0.2.53:53"),
		ns2:       netip.MustParseAddrPort("198.51.100.53:53"),
		inception: testNow.Add(-24 * time.Hour),
	}
	w.ds = w.ksk.dnskey.ToDS(dns.SHA256)
	w.keyset = []dns.RR{w.ksk.dnskey, w.zsk.dnskey}
	w.soa = mustRR(t, "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2026030101 7200 3600 1209600 3600")
	lines := []string{
		w.soa.String(),
		"example.com. 3600 IN NS ns1.example.com.",
		"example.com. 3600 IN NS ns2.example.net.",
		"example.com. 3600 IN MX 10 mail.example.com.",
		`example.com. 3600 IN TXT "v=spf1 mx ip4:192.0.2.0/24 -all"`,
		`_dmarc.example.com. 3600 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"`,
		"example.com. 300 IN A 192.0.2.10",
		"www.example.com. 300 IN A 192.0.2.10",
		"www.example.com. 300 IN AAAA 2001:db8::10",
		"mail.example.com. 300 IN A 192.0.2.25",
		"ns1.example.com. 300 IN A 192.0.2.53",
		"shop.example.com. 300 IN CNAME shops.example.net.",
		"_sip._tcp.example.com. 300 IN SRV 10 5 5060 sip.example.com.",
		"sip.example.com. 300 IN A 192.0.2.60",
		"1.2.0.192.in-addr.arpa. 300 IN PTR www.example.com.",
		w.ksk.dnskey.String(),
		w.zsk.dnskey.String(),
		w.ds.String(),
	}
	server := func(addr string) recon.Server {
		return recon.Server{Address: addr, Responding: true, Authoritative: true, AXFR: recon.TransferRefused,
			IXFR: recon.TransferRefused, Serial: 2026030101, NS: []string{"ns1.example.com", "ns2.example.net"}}
	}
	w.res = &recon.Result{
		Domain: "example.com",
		Nameservers: []recon.Nameserver{
			{Name: "ns1.example.com", Zone: "example.com", Sources: []string{"parent", "child", "soa"},
				Addresses: []string{"192.0.2.53"}, Resolves: true, Servers: []recon.Server{server("192.0.2.53")}},
			{Name: "ns2.example.net", Zone: "example.com", Sources: []string{"parent", "child"},
				Addresses: []string{"198.51.100.53"}, Resolves: true, Servers: []recon.Server{server("198.51.100.53")}},
		},
		Names: []recon.Name{
			{Name: "example.com", Addresses: []string{"192.0.2.10"}, Sources: []string{"standard"}},
			{Name: "www.example.com", Addresses: []string{"192.0.2.10", "2001:db8::10"}, Sources: []string{"bruteforce"}},
			{Name: "mail.example.com", Addresses: []string{"192.0.2.25"}, Sources: []string{"mined"}},
		},
		Records: recs(t, lines...),
		Zones: []recon.Zone{{Name: "example.com", ParentNS: []string{"ns1.example.com", "ns2.example.net"},
			ChildNS: []string{"ns2.example.net", "ns1.example.com"}, Signed: true}},
		References: []recon.Reference{{Name: "shops.example.net", From: "shop.example.com", Via: "CNAME"},
			{Name: "ns2.example.net", From: "example.com", Via: "NS"}},
	}

	ex := newFake()
	for _, l := range lines {
		ex.add(t, l)
	}
	ex.add(t,
		"shops.example.net. 300 IN A 203.0.113.80",
		"example.net. 3600 IN SOA ns.example.net. hostmaster.example.net. 1 7200 3600 1209600 3600",
	)
	ex.addRR(w.ksk.sign(t, w.keyset, w.inception, testNow.Add(30*24*time.Hour)))
	ex.addRR(w.zsk.sign(t, []dns.RR{w.soa}, w.inception, testNow.Add(30*24*time.Hour)))
	ex.nxdomain("nonexistent.example.com")
	w.ex = ex
	return w
}

// run runs the checks named by only (all when empty) over res with ex
// (nil: offline) and returns the findings.
func run(t testing.TB, res *recon.Result, ex Exchanger, only ...string) []finding.Finding {
	t.Helper()
	env := &Env{Result: res, Now: func() time.Time { return testNow }}
	if ex != nil {
		env.Exchanger = ex
	}
	fs, err := RunEnv(context.Background(), env, Selection{Only: only})
	if err != nil {
		t.Fatalf("RunEnv: %v", err)
	}
	checkDeclaredSeverity(t, fs)
	return fs
}

// checkDeclaredSeverity fails when a finding has a severity its check does
// not declare (Check.Severity, the severity table of docs/checks.md).
func checkDeclaredSeverity(t testing.TB, fs []finding.Finding) {
	t.Helper()
	for _, f := range fs {
		c := registryCheck(f.ID)
		if c == nil || !slices.ContainsFunc(c.Severity, func(r Rating) bool { return r.Level == f.Severity }) {
			t.Errorf("finding %s %s has severity %s, which its check does not declare", f.ID, f.Subject, f.Severity)
		}
	}
}

// registryCheck returns the registered check with the id, or nil.
func registryCheck(id string) *Check {
	for _, c := range registry {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// summary renders findings as "severity id subject" lines for comparison.
func summary(fs []finding.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s", f.Severity, f.ID, f.Subject))
	}
	return out
}

// evidenceOf returns every evidence line of every finding, joined.
func evidenceOf(fs []finding.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		for _, e := range f.Evidence {
			b.WriteString(e + "\n")
		}
	}
	return b.String()
}

// checkCase is one table case for one check: a change to the clean world
// and the findings expected ("severity id subject" lines) online and
// offline. wantOffline nil means "same as want".
type checkCase struct {
	name        string
	mutate      func(t *testing.T, w *world)
	want        []string
	wantOffline []string
	evidence    []string // substrings the evidence must contain (online run)
}

// runCases runs cases for check id, online (fake network) and offline.
func runCases(t *testing.T, id string, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := cleanWorld(t)
			if tc.mutate != nil {
				tc.mutate(t, w)
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			fs := run(t, w.res, w.ex, id)
			if got := summary(fs); !slices.Equal(got, want) {
				t.Errorf("online: got %q, want %q\nevidence:\n%s", got, want, evidenceOf(fs))
			}
			ev := evidenceOf(fs)
			for _, s := range tc.evidence {
				if !strings.Contains(ev, s) {
					t.Errorf("evidence lacks %q:\n%s", s, ev)
				}
			}
			for _, f := range fs {
				if f.Title == "" || f.Remediation == "" || len(f.References) == 0 || len(f.Evidence) == 0 {
					t.Errorf("finding %s %s lacks title, remediation, references or evidence", f.ID, f.Subject)
				}
			}
			wantOff := tc.wantOffline
			if wantOff == nil {
				wantOff = want
			}
			if got := summary(run(t, w.res, nil, id)); !slices.Equal(got, wantOff) {
				t.Errorf("offline: got %q, want %q", got, wantOff)
			}
		})
	}
}

// setRecords replaces the records of name/type in the result and the fake.
func (w *world) setRecords(t testing.TB, name string, qtype uint16, lines ...string) {
	t.Helper()
	name = dnsname.FromWire(name)
	typ := dns.TypeToString[qtype]
	w.res.Records = slices.DeleteFunc(w.res.Records, func(r recon.Record) bool {
		return r.Name == name && r.Type == typ
	})
	delete(w.ex.rrs, fkey(name, qtype))
	for _, l := range lines {
		w.res.Records = append(w.res.Records, rec(t, l, recon.SourceStandard))
		w.ex.add(t, l)
	}
}

// addRecords adds records to the result and the fake.
func (w *world) addRecords(t testing.TB, lines ...string) {
	t.Helper()
	for _, l := range lines {
		w.res.Records = append(w.res.Records, rec(t, l, recon.SourceStandard))
		w.ex.add(t, l)
	}
}

// recRaw builds a recon record without checking it.
func recRaw(name, typ, data string) recon.Record {
	return recon.Record{Name: name, Type: typ, TTL: 300, Data: data, Source: recon.SourceStandard}
}
