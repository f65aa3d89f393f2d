package recon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

const soaLine = "@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ 3600 IN NS ns1\nns1 3600 IN A 127.53.199.1\n"

// wildcardZone holds wildcards at three levels and real names that look
// like them in different ways.
const wildcardZone = soaLine + `
* IN A 192.0.2.99
www IN A 192.0.2.10
same IN A 192.0.2.99
mx-only IN MX 10 www
*.dev IN CNAME lb.example.net.
api.dev IN A 192.0.2.20
*.txt IN TXT "wild"
real.txt IN TXT "other"
`

func TestWildcardFiltering(t *testing.T) {
	words := []string{"www", "same", "mx-only", "admin", "test", "foo", "dev", "txt", "api", "real", "echo"}
	tests := []struct {
		name    string
		signed  bool
		found   []string // must be found
		missing []string // must not be reported
	}{
		{
			name:  "unsigned",
			found: []string{"www.example.com", "mx-only.example.com", "dev.example.com", "txt.example.com"},
			// same.example.com has the wildcard's data and no signature:
			// indistinguishable, so not reported.
			missing: []string{"admin.example.com", "test.example.com", "foo.example.com", "api.example.com", "echo.example.com", "same.example.com"},
		},
		{
			name:    "signed",
			signed:  true,
			found:   []string{"www.example.com", "mx-only.example.com", "dev.example.com", "txt.example.com", "same.example.com"},
			missing: []string{"admin.example.com", "test.example.com", "foo.example.com", "api.example.com", "echo.example.com"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := mustZone(t, "example.com.", wildcardZone)
			if tc.signed {
				z = mustSign(t, z, dnstest.SignOptions{})
			}
			x := newZoneExchanger(t, z)
			res := runFake(t, x, "example.com", Options{Wordlist: words, NoWalk: true, NoPTR: true, NoSRV: true})
			got := names(res)
			for _, n := range tc.found {
				if _, ok := got[n]; !ok {
					t.Errorf("%s not found; names: %v", n, keys(got))
				}
			}
			for _, n := range tc.missing {
				if _, ok := got[n]; ok {
					t.Errorf("wildcard echo %s reported as a name (sources %v)", n, got[n])
				}
			}
			var wc []string
			for _, w := range res.Wildcards {
				wc = append(wc, w.Name+" "+w.Type)
			}
			if !slices.Contains(wc, "*.example.com A") {
				t.Errorf("wildcard *.example.com A not recorded: %v", wc)
			}
		})
	}
}

func TestVaryingWildcard(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+"* IN A 192.0.2.99\nwww IN CNAME web.example.net.\n")
	x := newZoneExchanger(t, z)
	// Answer every wildcard expansion with a different address, as a load
	// balancer pool would.
	var n atomic.Int64
	x.hook = func(q resolver.Query, m *dns.Msg) *dns.Msg {
		for _, r := range m.Answer {
			if a, ok := r.(*dns.A); ok && a.A.String() == "192.0.2.99" {
				a.A = []byte{198, 51, 100, byte(n.Add(1) % 250)}
			}
		}
		return m
	}
	words := []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "www"}
	res := runFake(t, x, "example.com", Options{Wordlist: words, NoWalk: true, NoPTR: true, NoSRV: true})
	got := names(res)
	for _, w := range words[:8] {
		if _, ok := got[w+".example.com"]; ok {
			t.Errorf("echo of a varying wildcard reported: %s", w)
		}
	}
	if _, ok := got["www.example.com"]; !ok {
		t.Errorf("www (a CNAME, unlike the wildcard) not found: %v", keys(got))
	}
}

func TestNSECWalk(t *testing.T) {
	z := mustSign(t, mustZone(t, "example.com.", soaLine+`
unguessable-host-7 IN A 192.0.2.7
deep.er.name IN TXT "x"
sub IN NS ns.sub
ns.sub IN A 192.0.2.53
* IN TXT "wild"
`), dnstest.SignOptions{})
	x := newZoneExchanger(t, z)
	res := runFake(t, x, "example.com", Options{Wordlist: []string{}, NoPTR: true, NoSRV: true, NoAXFR: true})
	got := names(res)
	for _, n := range []string{"unguessable-host-7.example.com", "deep.er.name.example.com", "sub.example.com", "ns1.example.com"} {
		if src, ok := got[n]; !ok || !slices.Contains(src, SourceNSEC) {
			t.Errorf("%s not found by the walk (sources %v)", n, src)
		}
	}
	var zone *Zone
	for i := range res.Zones {
		if res.Zones[i].Name == "example.com" {
			zone = &res.Zones[i]
		}
	}
	if zone == nil || zone.Denial != "nsec" || !zone.WalkComplete || zone.Walked < 5 {
		t.Fatalf("zone facts wrong: %+v", zone)
	}
	if !slices.ContainsFunc(res.Wildcards, func(w Wildcard) bool { return w.Name == "*.example.com" && w.Type == "TXT" }) {
		t.Errorf("wildcard from the chain not recorded: %+v", res.Wildcards)
	}
}

func TestNSECBlackLies(t *testing.T) {
	z := mustSign(t, mustZone(t, "example.com.", soaLine+"hidden IN A 192.0.2.7\n"), dnstest.SignOptions{})
	x := newZoneExchanger(t, z)
	// Synthesise minimal NSEC records as online signers do: the next name
	// is always "\000." + the owner.
	x.hook = func(q resolver.Query, m *dns.Msg) *dns.Msg {
		for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
			for _, r := range sec {
				if n, ok := r.(*dns.NSEC); ok {
					n.NextDomain = `\000.` + n.Hdr.Name
				}
			}
		}
		return m
	}
	res := runFake(t, x, "example.com", Options{Wordlist: []string{}, NoPTR: true, NoSRV: true, NoAXFR: true})
	if _, ok := names(res)["hidden.example.com"]; ok {
		t.Fatal("black-lies zone was walked")
	}
	for _, n := range res.Names {
		if strings.Contains(n.Name, `\000`) {
			t.Fatalf("synthetic name reported: %s", n.Name)
		}
	}
}

func TestNSEC3Collection(t *testing.T) {
	text := soaLine + `
www IN A 192.0.2.10
mail IN A 192.0.2.25
q8-unguessable IN A 192.0.2.8
a.b.c IN TXT "deep"
`
	for _, optOut := range []bool{false, true} {
		z := mustSign(t, mustZone(t, "example.com.", text), dnstest.SignOptions{NSEC3: true, Salt: "aabbccdd", Iterations: 3, OptOut: optOut})
		x := newZoneExchanger(t, z)
		res := runFake(t, x, "example.com", Options{Wordlist: []string{"www", "mail", "a", "b", "c"}, NoPTR: true, NoSRV: true, NoAXFR: true, NoBruteforce: true})
		n3 := res.NSEC3
		// apex, ns1, www, mail, q8-unguessable, c, b.c, a.b.c
		if n3.Hashes != 8 || !n3.Complete {
			t.Fatalf("opt-out=%v: chain %d hashes complete=%v, want 8 complete", optOut, n3.Hashes, n3.Complete)
		}
		if n3.Iterations != 3 || n3.Salt != "aabbccdd" || n3.OptOut != optOut {
			t.Errorf("parameters wrong: %+v", n3)
		}
		// Everything but q8-unguessable cracks from the word list and the
		// names known.
		if n3.Cracked != 7 {
			t.Errorf("cracked %d of 8, want 7", n3.Cracked)
		}
		got := names(res)
		for _, n := range []string{"www.example.com", "mail.example.com", "a.b.c.example.com", "b.c.example.com"} {
			if src, ok := got[n]; !ok || !slices.Contains(src, SourceNSEC3) {
				t.Errorf("%s not cracked (sources %v)", n, src)
			}
		}
	}
}

func TestZoneTransferAndScope(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+`
www IN A 192.0.2.10
host.dev IN A 192.0.2.11
other IN A 192.0.2.12
`)
	z.AllowTransfer = true
	x := newZoneExchanger(t, z)
	// The target is inside the zone, not its apex: only names under it
	// count.
	res := runFake(t, x, "dev.example.com", Options{Wordlist: []string{}, NoPTR: true, NoSRV: true, NoWalk: true})
	got := names(res)
	if _, ok := got["host.dev.example.com"]; !ok {
		t.Errorf("host.dev not found: %v", keys(got))
	}
	for n := range got {
		if !strings.HasSuffix(n, "dev.example.com") {
			t.Errorf("out-of-scope name reported: %s", n)
		}
	}
	res = runFake(t, x, "example.com", Options{Wordlist: []string{}, NoPTR: true, NoSRV: true, NoWalk: true})
	got = names(res)
	for _, n := range []string{"www.example.com", "host.dev.example.com", "other.example.com"} {
		if src := got[n]; !slices.Contains(src, SourceAXFR) {
			t.Errorf("%s not from AXFR: %v", n, src)
		}
	}
	var axfr string
	for _, ns := range res.Nameservers {
		for _, s := range ns.Servers {
			axfr = s.AXFR
		}
	}
	if axfr != TransferAllowed {
		t.Errorf("AXFR outcome %q", axfr)
	}
}

func TestMining(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+`
@ IN MX 10 mx1
@ IN TXT "v=spf1 include:_spf.example.com a:relay.example.com mx exists:%{i}._x.example.com redirect=spf.example.net ip4:192.0.2.0/24 -all"
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@reports.example.com,mailto:x@example.org; ruf=mailto:f@forensic.example.com!10m"
notes IN TXT "see build-server.example.com and wiki.example.org"
@ IN CAA 0 iodef "mailto:security@incident.example.com"
incident IN A 192.0.2.29
mx1 IN A 192.0.2.25
_spf IN TXT "v=spf1 -all"
relay IN A 192.0.2.26
_x IN TXT "x"
reports IN MX 10 mx1
forensic IN A 192.0.2.27
build-server IN A 192.0.2.28
alias IN CNAME gone.example.com.
loop1 IN CNAME loop2
loop2 IN CNAME loop1
`)
	x := newZoneExchanger(t, z)
	res := runFake(t, x, "example.com", Options{Wordlist: []string{"notes", "alias", "loop1", "_dmarc"}, NoPTR: true, NoSRV: true, NoWalk: true, NoAXFR: true})
	got := names(res)
	for _, n := range []string{"mx1.example.com", "_spf.example.com", "relay.example.com", "_x.example.com", "reports.example.com", "forensic.example.com", "build-server.example.com", "loop2.example.com", "incident.example.com"} {
		if src, ok := got[n]; !ok || !slices.Contains(src, SourceMined) {
			t.Errorf("%s not mined (sources %v)", n, src)
		}
	}
	if _, ok := got["gone.example.com"]; ok {
		t.Error("a CNAME target that does not exist was reported as a name")
	}
	refs := map[string]bool{}
	for _, r := range res.References {
		refs[r.Name+" "+r.Via] = true
	}
	for _, want := range []string{"spf.example.net spf-redirect", "example.org dmarc-rua", "gone.example.com CNAME"} {
		if want == "gone.example.com CNAME" {
			continue // in scope: not a reference
		}
		if !refs[want] {
			t.Errorf("reference %q missing: %v", want, refs)
		}
	}
}

func TestRunErrors(t *testing.T) {
	x := newZoneExchanger(t, mustZone(t, "example.com.", soaLine))
	if _, err := Run(context.Background(), x, "nope.example.com", Options{}); !errors.Is(err, ErrNoSuchDomain) {
		t.Errorf("NXDOMAIN target: err = %v", err)
	}
	if _, err := Run(context.Background(), x, "bad domain!", Options{}); err == nil {
		t.Error("invalid domain accepted")
	}
	if _, err := Run(context.Background(), x, "*.example.com", Options{}); err == nil {
		t.Error("wildcard target accepted")
	}
	if _, err := Run(context.Background(), x, "example.com", Options{PTRPrefix4: 8}); err == nil {
		t.Error("bad PTR prefix accepted")
	}
}

func TestEventsStream(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+"www IN A 192.0.2.10\n")
	x := newZoneExchanger(t, z)
	var evNames, evRecords int
	res := runFake(t, x, "example.com", Options{Wordlist: []string{"www"}, NoPTR: true, NoSRV: true, NoWalk: true,
		OnEvent: func(ev Event) {
			switch {
			case ev.Name != nil:
				evNames++
			case ev.Record != nil:
				evRecords++
			}
			if ev.Domain != "example.com" {
				t.Errorf("event domain %q", ev.Domain)
			}
		}})
	if evNames != len(res.Names) || evRecords != len(res.Records) {
		t.Fatalf("streamed %d names %d records; result has %d names %d records", evNames, evRecords, len(res.Names), len(res.Records))
	}
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestRecursiveBruteforce(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+`
a.b IN A 192.0.2.1
x.y.c IN A 192.0.2.2
*.w IN A 192.0.2.99
ok.w IN A 192.0.2.3
`)
	x := newZoneExchanger(t, z)
	res := runFake(t, x, "example.com", Options{Wordlist: []string{"a", "b", "c", "y", "x", "w", "ok", "nope"}, NoPTR: true, NoSRV: true, NoWalk: true, NoAXFR: true})
	got := names(res)
	for _, n := range []string{"b.example.com", "a.b.example.com", "c.example.com", "y.c.example.com", "x.y.c.example.com", "w.example.com", "ok.w.example.com"} {
		if _, ok := got[n]; !ok {
			t.Errorf("%s not found; names %v", n, keys(got))
		}
	}
	for _, n := range []string{"nope.w.example.com", "a.w.example.com", "nope.b.example.com"} {
		if _, ok := got[n]; ok {
			t.Errorf("%s reported", n)
		}
	}
}

func TestAddressesFromTransfer(t *testing.T) {
	z := mustZone(t, "example.com.", soaLine+`
www IN A 192.0.2.10
www IN AAAA 2001:db8::10
alias IN CNAME www
`)
	z.AllowTransfer = true
	x := newZoneExchanger(t, z)
	res := runFake(t, x, "example.com", Options{Wordlist: []string{}, NoPTR: true, NoSRV: true, NoWalk: true})
	want := map[string][]string{
		"www.example.com":   {"192.0.2.10", "2001:db8::10"},
		"alias.example.com": {"192.0.2.10", "2001:db8::10"},
		"ns1.example.com":   {"127.53.199.1"},
	}
	for _, n := range res.Names {
		if w, ok := want[n.Name]; ok && !slices.Equal(n.Addresses, w) {
			t.Errorf("%s addresses %v, want %v", n.Name, n.Addresses, w)
		}
	}
}

// TestWildcardSRVEchoes: SRV and TXT policy names asked at once below a
// wildcard are echoes, every one of them, however long the level's probe
// for their type takes (found by the inventory tests: names asked while
// the probe was in flight used to count as discoveries, a different
// subset on every run).
func TestWildcardSRVEchoes(t *testing.T) {
	z := mustZone(t, "example.com.", "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n* IN A 192.0.2.99\n"+
		"_sip._udp IN SRV 10 10 5060 ns1\n")
	x := newZoneExchanger(t, z)
	x.hook = func(q resolver.Query, m *dns.Msg) *dns.Msg {
		if q.Type == dns.TypeSRV {
			time.Sleep(20 * time.Millisecond)
		}
		return m
	}
	for range 3 {
		res := runFake(t, x, "example.com", Options{Wordlist: []string{}, NoWalk: true, NoPTR: true, NoAXFR: true})
		got := names(res)
		if !slices.Contains(got["_sip._udp.example.com"], SourceSRV) {
			t.Fatalf("_sip._udp.example.com not found by the SRV stage; names: %v", keys(got))
		}
		for n, src := range got {
			if slices.Contains(src, SourceSRV) && n != "_sip._udp.example.com" {
				t.Fatalf("wildcard echo %s reported as a name (sources %v)", n, src)
			}
		}
	}
}
