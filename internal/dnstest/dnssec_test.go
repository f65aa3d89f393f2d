package dnstest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnsworld"
	"github.com/miekg/dns"
)

// zoneKey returns the zone's DNSKEY.
func zoneKey(t testing.TB, z *Zone) *dns.DNSKEY {
	t.Helper()
	ks := z.Lookup(z.Origin, dns.TypeDNSKEY)
	if len(ks) != 1 {
		t.Fatalf("%d DNSKEYs", len(ks))
	}
	return ks[0].(*dns.DNSKEY)
}

// verifySection checks every RRSIG of a section against key, with the
// RRset it covers taken from the same section. It returns how many
// signatures it checked.
func verifySection(t testing.TB, key *dns.DNSKEY, rrs []dns.RR) int {
	t.Helper()
	n := 0
	for _, rr := range rrs {
		sig, ok := rr.(*dns.RRSIG)
		if !ok {
			continue
		}
		var set []dns.RR
		for _, x := range rrs {
			if x.Header().Rrtype == sig.TypeCovered && strings.EqualFold(x.Header().Name, sig.Hdr.Name) {
				set = append(set, x)
			}
		}
		if len(set) == 0 {
			t.Errorf("RRSIG without its RRset: %v", sig)
			continue
		}
		if err := sig.Verify(key, set); err != nil {
			t.Errorf("RRSIG %s/%s does not verify: %v", sig.Hdr.Name, dns.TypeToString[sig.TypeCovered], err)
		}
		if !sig.ValidityPeriod(time.Now()) {
			t.Errorf("RRSIG %s/%s outside its validity period", sig.Hdr.Name, dns.TypeToString[sig.TypeCovered])
		}
		n++
	}
	return n
}

// nsecCovers reports whether n proves that name does not exist: owner <
// name < next in canonical order, the last NSEC wrapping to the apex.
func nsecCovers(n *dns.NSEC, name string) bool {
	o, next := n.Hdr.Name, n.NextDomain
	if dnsworld.CanonicalCompare(o, name) >= 0 {
		return false
	}
	if dnsworld.CanonicalCompare(next, o) <= 0 { // last in the chain
		return true
	}
	return dnsworld.CanonicalCompare(name, next) < 0
}

func nsecs(rrs []dns.RR) []*dns.NSEC {
	var out []*dns.NSEC
	for _, rr := range rrs {
		if n, ok := rr.(*dns.NSEC); ok {
			out = append(out, n)
		}
	}
	return out
}

func nsec3s(rrs []dns.RR) []*dns.NSEC3 {
	var out []*dns.NSEC3
	for _, rr := range rrs {
		if n, ok := rr.(*dns.NSEC3); ok {
			out = append(out, n)
		}
	}
	return out
}

// proof is one expected denial record: which name, and whether it must be
// matched (owner = name) or covered.
type proof struct {
	name  string
	match bool
}

func checkProofs(t *testing.T, ns []dns.RR, nsec3 bool, want []proof) {
	t.Helper()
	for _, p := range want {
		found := false
		if nsec3 {
			for _, n := range nsec3s(ns) {
				if p.match && n.Match(p.name) || !p.match && n.Cover(p.name) {
					found = true
				}
			}
		} else {
			for _, n := range nsecs(ns) {
				if p.match && strings.EqualFold(n.Hdr.Name, p.name) || !p.match && nsecCovers(n, p.name) {
					found = true
				}
			}
		}
		if !found {
			what := "covering"
			if p.match {
				what = "matching"
			}
			t.Errorf("no NSEC%s %s %s in %v", map[bool]string{true: "3", false: ""}[nsec3], what, p.name, keys(ns, true))
		}
	}
}

func bitmapOf(t *testing.T, ns []dns.RR, name string, nsec3 bool) []uint16 {
	t.Helper()
	if nsec3 {
		for _, n := range nsec3s(ns) {
			if n.Match(name) {
				return n.TypeBitMap
			}
		}
	} else {
		for _, n := range nsecs(ns) {
			if strings.EqualFold(n.Hdr.Name, name) {
				return n.TypeBitMap
			}
		}
	}
	t.Fatalf("no denial record owned by %s", name)
	return nil
}

// TestSignedZoneAnswers signs the test zone with NSEC, NSEC3 and NSEC3
// opt-out and checks every answer: signatures verify, and each negative
// answer carries exactly the proofs RFC 4035 / RFC 5155 require.
func TestSignedZoneAnswers(t *testing.T) {
	base := mustZone(t, "example.com", readTestZone(t, "example.com.zone"))
	modes := []struct {
		name   string
		opts   SignOptions
		nsec3  bool
		optOut bool
	}{
		{"nsec", SignOptions{}, false, false},
		{"nsec3", SignOptions{NSEC3: true, Salt: "beef", Iterations: 2}, true, false},
		{"nsec3-optout", SignOptions{NSEC3: true, OptOut: true}, true, true},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			z, err := base.Sign(mode.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !z.Signed() {
				t.Fatal("Signed() = false")
			}
			key := zoneKey(t, z)
			h := NewZoneHandler(z)
			ask := func(t *testing.T, name string, qtype uint16) *dns.Msg {
				t.Helper()
				m := query(name, qtype)
				m.SetEdns0(4096, true)
				r := h.Answer(m)
				verifySection(t, key, r.Answer)
				verifySection(t, key, r.Ns)
				return r
			}
			t.Run("positive answers are signed", func(t *testing.T) {
				r := ask(t, "www.example.com.", dns.TypeA)
				if count(r.Answer, dns.TypeRRSIG) != 1 || count(r.Answer, dns.TypeA) != 1 {
					t.Errorf("answer %v", types(r.Answer))
				}
				r = ask(t, "example.com.", dns.TypeDNSKEY)
				if count(r.Answer, dns.TypeRRSIG) != 1 || count(r.Answer, dns.TypeDNSKEY) != 1 {
					t.Errorf("DNSKEY answer %v", types(r.Answer))
				}
			})
			t.Run("nxdomain", func(t *testing.T) {
				r := ask(t, "nothere.example.com.", dns.TypeA)
				if r.Rcode != dns.RcodeNameError || count(r.Ns, dns.TypeSOA) != 1 {
					t.Fatalf("rcode %s ns %v", dns.RcodeToString[r.Rcode], types(r.Ns))
				}
				if mode.nsec3 {
					checkProofs(t, r.Ns, true, []proof{{"example.com.", true}, {"nothere.example.com.", false}, {"*.example.com.", false}})
				} else {
					checkProofs(t, r.Ns, false, []proof{{"nothere.example.com.", false}, {"*.example.com.", false}})
				}
				if n := verifySection(t, key, r.Ns); n != len(nsecs(r.Ns))+len(nsec3s(r.Ns))+1 {
					t.Errorf("%d signatures in authority %v", n, types(r.Ns))
				}
			})
			t.Run("nodata", func(t *testing.T) {
				r := ask(t, "www.example.com.", dns.TypeMX)
				if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
					t.Fatalf("%v", r)
				}
				bm := bitmapOf(t, r.Ns, "www.example.com.", mode.nsec3)
				if slices.Contains(bm, dns.TypeMX) || !slices.Contains(bm, dns.TypeA) {
					t.Errorf("bitmap %v", bm)
				}
			})
			t.Run("empty non-terminal", func(t *testing.T) {
				r := ask(t, "b.example.com.", dns.TypeA)
				if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
					t.Fatalf("%v", r)
				}
				if mode.nsec3 {
					if bm := bitmapOf(t, r.Ns, "b.example.com.", true); len(bm) != 0 {
						t.Errorf("ENT bitmap %v, want empty", bm)
					}
				} else {
					checkProofs(t, r.Ns, false, []proof{{"b.example.com.", false}})
				}
			})
			t.Run("wildcard expansion", func(t *testing.T) {
				r := ask(t, "x.wild.example.com.", dns.TypeA)
				if count(r.Answer, dns.TypeA) != 1 || count(r.Answer, dns.TypeRRSIG) != 1 {
					t.Fatalf("answer %v", types(r.Answer))
				}
				for _, rr := range r.Answer {
					if s, ok := rr.(*dns.RRSIG); ok && s.Labels != 3 {
						t.Errorf("RRSIG labels %d, want 3 (wildcard)", s.Labels)
					}
				}
				if mode.nsec3 {
					checkProofs(t, r.Ns, true, []proof{{"x.wild.example.com.", false}})
				} else {
					checkProofs(t, r.Ns, false, []proof{{"x.wild.example.com.", false}})
				}
			})
			t.Run("wildcard nodata", func(t *testing.T) {
				r := ask(t, "x.wild.example.com.", dns.TypeMX)
				if mode.nsec3 {
					checkProofs(t, r.Ns, true, []proof{{"wild.example.com.", true}, {"x.wild.example.com.", false}, {"*.wild.example.com.", true}})
				} else {
					checkProofs(t, r.Ns, false, []proof{{"x.wild.example.com.", false}, {"*.wild.example.com.", true}})
				}
				if bm := bitmapOf(t, r.Ns, "*.wild.example.com.", mode.nsec3); slices.Contains(bm, dns.TypeMX) {
					t.Errorf("wildcard bitmap %v has MX", bm)
				}
			})
			t.Run("insecure referral", func(t *testing.T) {
				r := ask(t, "host.sub.example.com.", dns.TypeA)
				if r.Authoritative || count(r.Ns, dns.TypeNS) != 2 || count(r.Ns, dns.TypeDS) != 0 {
					t.Fatalf("referral %v", r)
				}
				switch {
				case mode.optOut:
					checkProofs(t, r.Ns, true, []proof{{"example.com.", true}, {"sub.example.com.", false}})
					for _, n := range nsec3s(r.Ns) {
						if n.Cover("sub.example.com.") && n.Flags&1 == 0 {
							t.Errorf("covering NSEC3 lacks opt-out: %v", n)
						}
					}
				default:
					bm := bitmapOf(t, r.Ns, "sub.example.com.", mode.nsec3)
					if !slices.Contains(bm, dns.TypeNS) || slices.Contains(bm, dns.TypeDS) || slices.Contains(bm, dns.TypeSOA) {
						t.Errorf("delegation bitmap %v", bm)
					}
				}
			})
			t.Run("secure referral", func(t *testing.T) {
				r := ask(t, "host.secure.example.com.", dns.TypeA)
				if count(r.Ns, dns.TypeDS) != 1 || count(r.Ns, dns.TypeRRSIG) != 1 {
					t.Errorf("authority %v", types(r.Ns))
				}
			})
			t.Run("no DO, no DNSSEC", func(t *testing.T) {
				r := h.Answer(query("nothere.example.com.", dns.TypeA))
				for _, rr := range append(r.Answer, r.Ns...) {
					switch rr.Header().Rrtype {
					case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
						t.Errorf("DNSSEC record without DO: %v", rr)
					}
				}
			})
			if mode.nsec3 {
				t.Run("NSEC3 owners are not names", func(t *testing.T) {
					h3 := strings.ToLower(z.NSEC3Hashes()[0]) + ".example.com."
					r := ask(t, h3, dns.TypeNSEC3)
					if r.Rcode != dns.RcodeNameError {
						t.Errorf("query for NSEC3 owner %s: %s", h3, dns.RcodeToString[r.Rcode])
					}
				})
			}
			t.Run("zone text round trip", func(t *testing.T) {
				again, err := ParseZone("example.com", z.Text())
				if err != nil {
					t.Fatal(err)
				}
				if again.Len() != z.Len() || !again.Signed() {
					t.Errorf("round trip: %d records (signed %v), want %d", again.Len(), again.Signed(), z.Len())
				}
			})
		})
	}
}

// TestSignKeepsInput checks that Sign does not touch its receiver and that
// DS records match the key.
func TestSignKeepsInput(t *testing.T) {
	z := mustZone(t, "example.com", readTestZone(t, "example.com.zone"))
	before := z.Text()
	s, err := z.Sign(SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if z.Text() != before || z.Signed() {
		t.Error("Sign modified its receiver")
	}
	ds := s.DS()
	if len(ds) != 1 {
		t.Fatalf("DS %v", ds)
	}
	want := zoneKey(t, s).ToDS(dns.SHA256)
	if ds[0].(*dns.DS).Digest != want.Digest {
		t.Error("DS does not match the DNSKEY")
	}
	// Re-signing replaces the key and chain instead of adding to them.
	s2, err := s.Sign(SignOptions{NSEC3: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s2.Lookup("example.com", dns.TypeDNSKEY)); n != 1 {
		t.Errorf("%d DNSKEYs after re-signing", n)
	}
	if len(s2.NSECOwners()) != 0 || s2.NSEC3Param() == nil {
		t.Errorf("re-signed with NSEC3: %d NSEC owners left", len(s2.NSECOwners()))
	}
	if _, err := z.Sign(SignOptions{Salt: "xyz"}); err == nil {
		t.Error("bad salt accepted")
	}
	if _, err := z.Sign(SignOptions{Algorithm: dns.RSASHA1}); err == nil {
		t.Error("unsupported algorithm accepted")
	}
}

func ExampleZone_Sign() {
	z, err := ParseZone("example.com", `
@    3600 SOA ns1 hostmaster 1 3600 600 86400 300
@    3600 NS  ns1
ns1  3600 A   192.0.2.1
www  3600 A   192.0.2.10
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	signed, err := z.Sign(SignOptions{NSEC3: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := new(dns.Msg)
	m.SetQuestion("nothere.example.com.", dns.TypeA)
	m.SetEdns0(1232, true)
	r := NewZoneHandler(signed).Answer(m)
	fmt.Println(dns.RcodeToString[r.Rcode], types(r.Ns))
	// Output: NXDOMAIN [SOA RRSIG NSEC3 RRSIG]
}
