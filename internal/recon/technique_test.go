package recon

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/passive"
)

// Each technique alone, over the fake exchanger: the scope and ledger a
// run would give it, the target's zone opened as the scheduler opens it,
// and only the one technique's steps.

// testScope returns the scope of a run of domain over x with opts filled,
// without any technique having run.
func testScope(t *testing.T, x Exchanger, domain string, opts Options) *scope {
	t.Helper()
	opts.fill()
	if err := opts.validate(); err != nil {
		t.Fatal(err)
	}
	s := newScope(x, domain, opts)
	s.root = t.Context()
	s.enumerate = func(context.Context, string) error {
		t.Fatal("enumerate called by a technique that opens no zone")
		return nil
	}
	return s
}

// openZone opens zone name as the scheduler does before the zone
// techniques run: the zone, its apex as a name, its apex records.
func openZone(t *testing.T, s *scope, name string) *Zone {
	t.Helper()
	z := s.ledger.addZone(name)
	if z == nil {
		t.Fatalf("zone %s opened twice", name)
	}
	s.ledger.addName(name, SourceStandard)
	if answered, why := apexRecords(t.Context(), s, z); !answered {
		t.Fatalf("apex records of %s: %s", name, why)
	}
	return z
}

// runTechnique runs tech alone on s: its start, its zone step on z, its
// rounds until one reports nothing new, and its finish. It returns how
// many rounds reported something new.
func runTechnique(t *testing.T, tech technique, s *scope, z *Zone) int {
	t.Helper()
	ctx := t.Context()
	if st, ok := tech.(starter); ok {
		st.start(ctx, s)
	}
	if zt, ok := tech.(zoneTechnique); ok && z != nil {
		zt.zone(ctx, s, z, z.Name)
	}
	productive := 0
	if rt, ok := tech.(roundTechnique); ok {
		for ; rt.round(ctx, s); productive++ {
			if productive > 10 {
				t.Fatalf("%s: still finding new things after %d rounds", tech.name(), productive)
			}
		}
	}
	if f, ok := tech.(finisher); ok {
		f.finish(ctx, s)
	}
	return productive
}

func ledgerResult(s *scope) *Result { return s.ledger.result(time.Now(), Stats{}) }

func TestTechniquesTable(t *testing.T) {
	all := []string{"expand", "subzones", "ptr", "nameservers", "dnssec", "srv", "bruteforce"}
	tests := []struct {
		name  string
		opts  Options
		words []string
		want  []string
	}{
		{"defaults", Options{}, []string{"www"}, all},
		{"no brute force", Options{}, nil, []string{"expand", "subzones", "ptr", "nameservers", "dnssec", "srv"}},
		{"switched off", Options{NoPTR: true, NoWalk: true, NoSRV: true}, []string{"www"}, []string{"expand", "subzones", "nameservers", "bruteforce"}},
		{"passive and alterations", Options{Passive: []passive.Source{nil}, Alterations: true}, []string{"www"},
			[]string{"passive", "expand", "subzones", "ptr", "alterations", "nameservers", "dnssec", "srv", "bruteforce"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, x := range techniques(&tc.opts, tc.words) {
				got = append(got, x.name())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("techniques = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTechniqueNameservers(t *testing.T) {
	for _, allow := range []bool{true, false} {
		name := map[bool]string{true: "transfer allowed", false: "transfer refused"}[allow]
		t.Run(name, func(t *testing.T) {
			z := mustZone(t, "example.com.", soaLine+"secret IN A 192.0.2.10\n")
			z.AllowTransfer = allow
			s := testScope(t, newZoneExchanger(t, z), "example.com", Options{})
			runTechnique(t, nameservers{}, s, openZone(t, s, "example.com"))
			res := ledgerResult(s)
			if len(res.Nameservers) != 1 || res.Nameservers[0].Name != "ns1.example.com" {
				t.Fatalf("nameservers = %+v, want ns1.example.com", res.Nameservers)
			}
			ns := res.Nameservers[0]
			if !slices.Equal(ns.Addresses, []string{"127.53.199.1"}) || len(ns.Servers) != 1 || !ns.Servers[0].Authoritative {
				t.Fatalf("ns1 = %+v, want one authoritative server at 127.53.199.1", ns)
			}
			want := map[bool]string{true: TransferAllowed, false: TransferRefused}[allow]
			if got := ns.Servers[0].AXFR; got != want {
				t.Errorf("AXFR = %q, want %q", got, want)
			}
			_, found := names(res)["secret.example.com"]
			if found != allow {
				t.Errorf("secret.example.com found = %v with the transfer allowed = %v", found, allow)
			}
			if auth := s.ledger.authOf("example.com"); len(auth) != 1 {
				t.Errorf("authoritative servers in the ledger = %v, want one", auth)
			}
		})
	}
}

func TestTechniqueDNSSEC(t *testing.T) {
	text := soaLine + "www IN A 192.0.2.10\ndeep.hiddenparent IN A 192.0.2.11\n"
	tests := []struct {
		name   string
		sign   dnstest.SignOptions
		source string
	}{
		{"nsec walk", dnstest.SignOptions{}, SourceNSEC},
		{"nsec3 chain", dnstest.SignOptions{NSEC3: true, Salt: "aabb", Iterations: 1}, SourceNSEC3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := mustSign(t, mustZone(t, "example.com.", text), tc.sign)
			s := testScope(t, newZoneExchanger(t, z), "example.com", Options{Wordlist: []string{"www"}})
			zone := openZone(t, s, "example.com")
			probeNameservers(t.Context(), s, zone) // the authoritative servers a walk asks
			tech := newDNSSECChains()
			tech.zone(t.Context(), s, zone, "example.com")
			got := names(ledgerResult(s))
			if !slices.Contains(got["www.example.com"], tc.source) {
				t.Errorf("www.example.com sources %v, want %s", got["www.example.com"], tc.source)
			}
			if tc.source == SourceNSEC {
				if !slices.Contains(got["deep.hiddenparent.example.com"], SourceNSEC) {
					t.Errorf("the walk missed deep.hiddenparent.example.com: %v", keys(got))
				}
				if !s.ledger.zone(zone).WalkComplete {
					t.Error("walk not complete")
				}
				return
			}
			// The word list does not crack hiddenparent; a name below it
			// found later makes the next round crack its ancestor.
			if _, ok := got["hiddenparent.example.com"]; ok {
				t.Fatal("hiddenparent cracked without a hint")
			}
			s.ledger.addName("x.hiddenparent.example.com", SourcePTR)
			if !tech.round(t.Context(), s) {
				t.Fatal("round after a new name cracked nothing")
			}
			if got := names(ledgerResult(s)); !slices.Contains(got["hiddenparent.example.com"], SourceNSEC3) {
				t.Errorf("hiddenparent.example.com not cracked: %v", keys(got))
			}
			if tech.round(t.Context(), s) {
				t.Error("a round with nothing new reported progress")
			}
			if info := s.ledger.zone(zone).NSEC3; info == nil || !info.Complete || info.Hashes == 0 {
				t.Errorf("NSEC3 info = %+v, want a complete chain", info)
			}
		})
	}
}

func TestTechniqueServiceLabels(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+`
_sip._tcp IN SRV 0 0 5060 sip
sip IN A 192.0.2.20
_dmarc IN TXT "v=DMARC1; p=none"
`)
	s := testScope(t, newZoneExchanger(t, z), "example.com", Options{})
	runTechnique(t, serviceLabels{}, s, openZone(t, s, "example.com"))
	got := names(ledgerResult(s))
	for _, n := range []string{"_sip._tcp.example.com", "_dmarc.example.com"} {
		if !slices.Equal(got[n], []string{SourceSRV}) {
			t.Errorf("%s sources %v, want [srv]", n, got[n])
		}
	}
	if _, ok := got["_ldap._tcp.example.com"]; ok {
		t.Error("_ldap._tcp.example.com reported: it does not exist")
	}
}

func TestTechniqueWordlist(t *testing.T) {
	text := soaLine + "www IN A 192.0.2.10\na.b IN A 192.0.2.11\n"
	tests := []struct {
		name         string
		maxRecursive int
		rounds       int
		want, absent []string
	}{
		{"below an empty non-terminal", 0, 1, []string{"www.example.com", "b.example.com", "a.b.example.com"}, nil},
		{"recursion off", -1, 0, []string{"www.example.com", "b.example.com"}, []string{"a.b.example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testScope(t, newZoneExchanger(t, mustZone(t, "example.com.", text)), "example.com",
				Options{MaxRecursive: tc.maxRecursive})
			tech := newWordlist([]string{"www", "a", "b", "nothing"})
			tech.zone(t.Context(), s, openZone(t, s, "example.com"), "example.com")
			s.ledger.takePending() // what expansion would do first in a round
			rounds := runTechnique(t, tech, s, nil)
			if rounds != tc.rounds {
				t.Errorf("%d productive rounds, want %d", rounds, tc.rounds)
			}
			got := names(ledgerResult(s))
			for _, n := range tc.want {
				if !slices.Contains(got[n], SourceBruteforce) {
					t.Errorf("%s sources %v, want bruteforce", n, got[n])
				}
			}
			for _, n := range append(tc.absent, "nothing.example.com") {
				if _, ok := got[n]; ok {
					t.Errorf("%s reported", n)
				}
			}
		})
	}
}

func TestTechniquePTRSweep(t *testing.T) {
	fwd := mustZone(t, "example.com.", soaLine+"www IN A 192.0.2.10\n")
	rev := mustZone(t, "2.0.192.in-addr.arpa.", `@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
@ 3600 IN NS ns1.example.com.
10 IN PTR www.example.com.
77 IN PTR hidden.example.com.
78 IN PTR elsewhere.example.net.
`)
	tests := []struct {
		name   string
		ptrMax int
		found  bool
	}{
		{"within budget", 0, true},
		{"budget smaller than a /24", 255, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testScope(t, newZoneExchanger(t, fwd, rev), "example.com", Options{PTRMax: tc.ptrMax})
			openZone(t, s, "example.com")
			s.ledger.addName("www.example.com", SourceStandard)
			s.ledger.addAddress("www.example.com", netip.MustParseAddr("192.0.2.10"))
			runTechnique(t, newPTRSweep(), s, nil)
			got := names(ledgerResult(s))
			if _, ok := got["hidden.example.com"]; ok != tc.found {
				t.Errorf("hidden.example.com found = %v, want %v (names %v)", ok, tc.found, keys(got))
			}
			if tc.found && !slices.Contains(got["hidden.example.com"], SourcePTR) {
				t.Errorf("hidden.example.com sources %v, want ptr", got["hidden.example.com"])
			}
			if _, ok := got["elsewhere.example.net"]; ok {
				t.Error("out-of-scope PTR target reported as a name")
			}
		})
	}
}

func TestTechniqueAlterations(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+"dev IN A 192.0.2.10\ndev1 IN A 192.0.2.11\napi-dev IN A 192.0.2.12\n")
	s := testScope(t, newZoneExchanger(t, z), "example.com", Options{})
	openZone(t, s, "example.com")
	s.ledger.addName("dev.example.com", SourceStandard)
	if rounds := runTechnique(t, newAlterations(), s, nil); rounds < 1 {
		t.Fatal("no round found anything")
	}
	got := names(ledgerResult(s))
	for _, n := range []string{"dev1.example.com", "api-dev.example.com"} {
		if !slices.Contains(got[n], SourceBruteforce) {
			t.Errorf("%s sources %v, want bruteforce (names %v)", n, got[n], keys(got))
		}
	}
}

func TestTechniqueExpansion(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+`
www IN A 192.0.2.10
www IN TXT "hello"
mail IN A 192.0.2.25
`)
	s := testScope(t, newZoneExchanger(t, z), "example.com", Options{})
	openZone(t, s, "example.com")
	s.ledger.addName("www.example.com", SourceNSEC)
	s.ledger.candidate("mail.example.com", SourceMined)
	s.ledger.candidate("ghost.example.com", SourceMined)
	if rounds := runTechnique(t, expansion{}, s, nil); rounds != 1 {
		t.Errorf("%d productive rounds, want 1", rounds)
	}
	res := ledgerResult(s)
	var www []string
	for _, r := range res.Records {
		if r.Name == "www.example.com" {
			www = append(www, r.Type+" "+r.Data)
		}
	}
	if !slices.Equal(www, []string{`A 192.0.2.10`, `TXT "hello"`}) {
		t.Errorf("records of www = %v", www)
	}
	got := names(res)
	if !slices.Equal(got["mail.example.com"], []string{SourceMined}) {
		t.Errorf("mail.example.com sources %v, want [mined]", got["mail.example.com"])
	}
	if _, ok := got["ghost.example.com"]; ok {
		t.Error("a candidate that does not exist was reported")
	}
}

func TestTechniqueSubzones(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+"sub IN NS ns1.sub\nns1.sub IN A 127.53.199.2\n")
	s := testScope(t, newZoneExchanger(t, z), "example.com", Options{})
	openZone(t, s, "example.com")
	var opened []string
	s.enumerate = func(_ context.Context, zone string) error {
		opened = append(opened, zone)
		s.ledger.addZone(zone)
		return nil
	}
	ns, err := dns.NewRR("sub.example.com. 300 IN NS ns1.sub.example.com.")
	if err != nil {
		t.Fatal(err)
	}
	s.ledger.addRecord(ns, SourceStandard)
	if rounds := runTechnique(t, subzones{}, s, nil); rounds != 1 {
		t.Errorf("%d productive rounds, want 1", rounds)
	}
	if !slices.Equal(opened, []string{"sub.example.com"}) {
		t.Errorf("zones opened = %v, want [sub.example.com]", opened)
	}
}

func TestTechniquePassive(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+"www IN A 192.0.2.10\n")
	seen := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	src := fakeSource{name: "test", obs: []passive.Observation{
		{Name: "www.example.com", Type: "A", Data: "192.0.2.10", FirstSeen: seen, LastSeen: seen},
		{Name: "old.example.com", Type: "A", Data: "192.0.2.99", FirstSeen: seen, LastSeen: seen},
	}}
	s := testScope(t, newZoneExchanger(t, z), "example.com", Options{Passive: []passive.Source{src}})
	openZone(t, s, "example.com")
	tech := &passiveSources{}
	tech.start(t.Context(), s)
	cands := s.ledger.takeCandidates()
	if cands["www.example.com"] != SourcePassive || cands["old.example.com"] != SourcePassive {
		t.Fatalf("candidates = %v, want www and old from passive", cands)
	}
	s.ledger.addName("www.example.com", SourcePassive)
	tech.finish(t.Context(), s)
	res := ledgerResult(s)
	if len(res.PassiveSources) != 1 || res.PassiveSources[0].Source != "test" || res.PassiveSources[0].Observations != 2 {
		t.Errorf("passive sources = %+v", res.PassiveSources)
	}
	if len(res.Historic) != 1 || res.Historic[0].Name != "old.example.com" {
		t.Errorf("historic = %+v, want old.example.com", res.Historic)
	}
	for _, n := range res.Names {
		if n.Name == "www.example.com" && !n.FirstSeen.Equal(seen) {
			t.Errorf("www first seen %v, want %v", n.FirstSeen, seen)
		}
	}
}

func TestMiner(t *testing.T) {
	s := testScope(t, newZoneExchanger(t, mustZone(t, "example.com.", soaLine)), "example.com", Options{})
	for _, text := range []string{
		`example.com. 300 IN TXT "v=spf1 include:_spf.example.com ip4:192.0.2.0/28 ip4:198.51.100.0/16 -all"`,
		`example.com. 300 IN MX 10 mx.example.net.`,
		`example.com. 300 IN TXT "see portal.example.com"`,
	} {
		x, err := dns.NewRR(text)
		if err != nil {
			t.Fatal(err)
		}
		s.ledger.addRecord(x, SourceStandard)
	}
	cands := s.ledger.takeCandidates()
	for _, n := range []string{"_spf.example.com", "portal.example.com"} {
		if cands[n] != SourceMined {
			t.Errorf("candidate %s = %q, want mined (candidates %v)", n, cands[n], cands)
		}
	}
	// A /16 is wider than the sweep prefix: only the /28 is swept.
	if sw := s.ledger.takeSweeps(); len(sw) != 1 || sw[0].String() != "192.0.2.0" {
		t.Errorf("sweeps = %v, want [192.0.2.0]", sw)
	}
	refs := ledgerResult(s).References
	if !slices.ContainsFunc(refs, func(r Reference) bool { return r.Name == "mx.example.net" && r.Via == "MX" }) {
		t.Errorf("references = %v, want mx.example.net via MX", refs)
	}
}

type fakeSource struct {
	name string
	obs  []passive.Observation
}

func (f fakeSource) Name() string { return f.name }

func (f fakeSource) Names(_ context.Context, domain string, fn func(passive.Observation) error) error {
	for _, o := range f.obs {
		if strings.HasSuffix(o.Name, "."+domain) || o.Name == domain {
			if err := fn(o); err != nil {
				return err
			}
		}
	}
	return nil
}
