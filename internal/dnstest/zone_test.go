package dnstest

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnsworld"
	"github.com/miekg/dns"
)

func TestParseZoneErrors(t *testing.T) {
	const soa = "@ 300 SOA ns1 hostmaster 1 3600 600 86400 60\n"
	tests := []struct {
		name   string
		origin string
		text   string
		want   error
	}{
		{"syntax", "example.com", soa + "www A not-an-address\n", ErrZoneSyntax},
		{"no SOA", "example.com", "www A 192.0.2.1\n", ErrNoSOA},
		{"two SOA", "example.com", soa + "@ SOA ns2 hostmaster 2 3600 600 86400 60\n", ErrNoSOA},
		{"SOA below apex", "example.com", soa + "sub SOA ns1 hostmaster 1 3600 600 86400 60\n", ErrNoSOA},
		{"out of zone", "example.com", soa + "www.example.net. A 192.0.2.1\n", ErrOutOfZone},
		{"sibling suffix is out of zone", "example.com", soa + "www.badexample.com. A 192.0.2.1\n", ErrOutOfZone},
		{"cname and data", "example.com", soa + "www CNAME other\nwww A 192.0.2.1\n", ErrCNAMEConflict},
		{"two cnames", "example.com", soa + "www CNAME a\nwww CNAME b\n", ErrCNAMEConflict},
		{"cname at apex", "example.com", soa + "@ CNAME example.net.\n", ErrCNAMEConflict},
		{"class CH", "example.com", soa + "www CH TXT \"x\"\n", ErrClass},
		{"include refused", "example.com", soa + "$INCLUDE /etc/passwd\n", ErrZoneSyntax},
		{"record that does not pack (fuzz)", "01", "@  SOA 0 0 0 0 0 0 0\n0 NSEC3PARAM 0 0 0 0", ErrZoneSyntax},
		{"empty RDATA (fuzz)", "example.com", soa + "0 NS \n", ErrZoneSyntax},
		{"generic RDATA short of the MX target (fuzz)", "example.com", soa + "@ MX \\# 2 0000\n", ErrZoneSyntax},
		{"generic RDATA short of the SRV target", "example.com", soa + "_x._tcp SRV \\# 6 000000000000\n", ErrZoneSyntax},
		{"empty origin", "", soa, ErrBadOrigin},
		{"bad origin", "exa..mple.com", soa, ErrBadOrigin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z, err := ParseZone(tc.origin, tc.text)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseZone = %v, %v; want %v", z, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "dnsworld: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestParseZone(t *testing.T) {
	z, err := ParseZone("Example.COM.", `
$TTL 300
@        SOA   ns1 hostmaster 1 3600 600 86400 60
@        NS    ns1
NS1      A     192.0.2.1
ns1      A     192.0.2.1
a.b.c    TXT   "deep"
Mixed\065 A    192.0.2.2
`)
	if err != nil {
		t.Fatal(err)
	}
	if z.Origin != "example.com." || z.Serial() != 1 {
		t.Errorf("origin %q serial %d", z.Origin, z.Serial())
	}
	if z.Len() != 5 {
		t.Errorf("Len() = %d, want 5 (duplicate dropped)", z.Len())
	}
	if got := z.Names(); !slices.Equal(got, []string{"example.com.", "a.b.c.example.com.", "mixeda.example.com.", "ns1.example.com."}) {
		t.Errorf("Names() = %q", got)
	}
	for _, ent := range []string{"b.c.example.com.", "c.example.com."} {
		if !z.IsEmptyNonTerminal(ent) {
			t.Errorf("%s is not an empty non-terminal", ent)
		}
	}
	if len(z.Lookup("MIXEDA.example.com", dns.TypeA)) != 1 {
		t.Error("Lookup is not case-insensitive")
	}
	if z.Signed() || z.NSEC3Param() != nil || len(z.DS()) != 0 {
		t.Error("unsigned zone reports DNSSEC data")
	}
}

func TestCanonicalOrder(t *testing.T) {
	// RFC 4034 section 6.1's example, shuffled.
	want := []string{
		"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
		"zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.", "\\200.z.example.",
	}
	got := slices.Clone(want)
	slices.Reverse(got)
	got[0], got[4] = got[4], got[0]
	slices.SortFunc(got, dnsworld.CanonicalCompare)
	if !slices.Equal(got, want) {
		t.Errorf("canonical order\n got %q\nwant %q", got, want)
	}
}

func TestZoneTestdataParses(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "zones", "*.zone"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test zones: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		origin := strings.TrimSuffix(filepath.Base(f), ".zone")
		z, err := ParseZone(origin, string(b))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		again, err := ParseZone(origin, z.Text())
		if err != nil || again.Text() != z.Text() {
			t.Errorf("%s: Text() does not round-trip: %v", f, err)
		}
	}
}

// FuzzParseZone feeds arbitrary master-file text to ParseZone: it must not
// panic, and an accepted zone must survive Text, Records, signing and a
// few queries.
func FuzzParseZone(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "zones", "*.zone"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(strings.TrimSuffix(filepath.Base(file), ".zone"), string(b))
		}
	}
	seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz-zone-seeds", "*"))
	for _, file := range seeds {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add("example.com", string(b))
		}
	}
	f.Fuzz(func(t *testing.T, origin, text string) {
		if len(text) > 1<<16 || strings.Contains(text, "$GENERATE") {
			return // $GENERATE is bounded by MaxZoneRecords but slow
		}
		z, err := ParseZone(origin, text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dnsworld: ") {
				t.Errorf("error without package prefix: %v", err)
			}
			return
		}
		if _, err := ParseZone(z.Origin, z.Text()); err != nil {
			t.Errorf("Text() of an accepted zone does not parse: %v\n%s", err, z.Text())
		}
		if n := len(z.Records()); n != z.Len() {
			t.Errorf("Records() has %d records, Len() %d", n, z.Len())
		}
		h := NewZoneHandler(z)
		below := func(label string) string { // label joined to the origin, the root included
			if z.Origin == "." {
				return label + "."
			}
			return label + "." + z.Origin
		}
		for _, name := range append(z.Names(), below("nothere"), below("*")) {
			for _, qt := range []uint16{dns.TypeA, dns.TypeANY, dns.TypeDS} {
				m := query(name, qt)
				m.SetEdns0(1232, true)
				if r := h.Answer(m); r != nil {
					if _, err := r.Pack(); err != nil {
						t.Errorf("response for %s does not pack: %v", name, err)
					}
				}
			}
		}
		if z.Len() < 200 {
			if _, err := z.Sign(SignOptions{NSEC3: len(text)%2 == 0}); err != nil && !errors.Is(err, ErrSign) {
				t.Errorf("Sign: %v", err)
			}
		}
	})
}

// TestParseZoneRoundTrip holds the inputs the fuzzer found where Text did
// not parse back to the same zone.
func TestParseZoneRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, origin, text string
	}{
		{"non-ASCII origin is escaped consistently (fuzz)", "000000\x88\x88000", "@ SOA 0 0 0 0 0 0 0\n"},
		{"escaped dot inside a label", "example.com", "@ 60 SOA ns h 1 2 3 4 5\na\\.b A 192.0.2.1\n"},
		{"upper case escapes fold", "example.com", "@ 60 SOA ns h 1 2 3 4 5\n\\087WW A 192.0.2.1\nwww TXT x\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, err := ParseZone(tc.origin, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseZone(z.Origin, z.Text())
			if err != nil {
				t.Fatalf("Text() does not parse: %v\n%s", err, z.Text())
			}
			if again.Text() != z.Text() || again.Len() != z.Len() {
				t.Errorf("round trip changed the zone:\n%s\n---\n%s", z.Text(), again.Text())
			}
		})
	}
}
