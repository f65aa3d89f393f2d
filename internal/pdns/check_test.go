package pdns

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestCheckRData(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		typ   uint16
		rdata string
		ok    bool
	}{
		{dns.TypeA, "192.0.2.1", true},
		{dns.TypeA, "999.1.1.1", false},
		{dns.TypeA, "192.0.2.1 ", false},
		{dns.TypeA, "2001:db8::1", false},
		{dns.TypeA, "", false},
		{dns.TypeAAAA, "2001:db8::1", true},
		{dns.TypeAAAA, "::ffff:192.0.2.1", true},
		{dns.TypeAAAA, "192.0.2.1", false},
		{dns.TypeAAAA, "fe80::1%eth0", false},
		{dns.TypeNS, "ns1.example.com.", true},
		{dns.TypeNS, "ns1.example.com", true},
		{dns.TypeCNAME, ".", true},
		{dns.TypeCNAME, "a..example.com.", false},
		{dns.TypeCNAME, "two words.example.com.", false},
		{dns.TypeCNAME, `two\032words.example.com.`, true},
		{dns.TypeCNAME, `two\ words.example.com.`, true},
		{dns.TypeCNAME, `bad\256.example.com.`, false},
		{dns.TypeCNAME, `bad\25`, false},
		{dns.TypeCNAME, long + ".example.com.", true},
		{dns.TypeCNAME, long + "a.example.com.", false},
		{dns.TypeCNAME, strings.Repeat(long+".", 4), false}, // 257 octets
		{dns.TypeCNAME, strings.Repeat(long+".", 3) + strings.Repeat("a", 61) + ".", true},
		{dns.TypePTR, "host.example.com.\x00", false},
		{dns.TypeMX, "10 mail.example.com.", true},
		{dns.TypeMX, "mail.example.com.", false}, // passivedns drops the preference
		{dns.TypeMX, "70000 mail.example.com.", false},
		{dns.TypeMX, "10 mail.example.com. extra", false},
		{dns.TypeSRV, "0 5 5060 sip.example.com.", true},
		{dns.TypeSRV, "sip.example.com.", false},
		{dns.TypeSOA, "ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600", true},
		{dns.TypeSOA, "ns.example.com.", false},
		{dns.TypeSOA, "ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 4294967296", false},
		{dns.TypeTXT, `"v=spf1 -all"`, true},
		{dns.TypeTXT, `"a" "b"`, true},
		{dns.TypeTXT, `""`, true},
		{dns.TypeTXT, `"with \"quotes\" and \\ \240"`, true},
		{dns.TypeTXT, `v=spf1 -all`, false},
		{dns.TypeTXT, `"unterminated`, false},
		{dns.TypeTXT, "\"a\x00b\"", false},
		{dns.TypeTXT, `"` + strings.Repeat("x", 256) + `"`, false},
		{dns.TypeTXT, `"a"  "b"`, false},
		{dns.TypeCAA, `0 issue "ca.example.net"`, true},
		{dns.TypeCAA, `0 issue`, false},
		{dns.TypeDS, "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118", true},
		{dns.TypeDS, "60485 5 1 nothex", false},
		{dns.TypeHINFO, `"cpu" "os" ; comment`, false},
		{dns.TypeHINFO, `"cpu" "os"`, true},
		{65280, `\# 2 abcd`, true},
		{65280, `\# 3 abcd`, false},
		{dns.TypeOPT, `\# 0`, false},
		{dns.TypeANY, "192.0.2.1", false},
		{0, "192.0.2.1", false},
	}
	for _, tc := range tests {
		t.Run(TypeString(tc.typ)+" "+tc.rdata, func(t *testing.T) {
			err := CheckRData(tc.typ, tc.rdata)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckRData = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrRData) {
				t.Errorf("error %v does not wrap ErrRData", err)
			}
		})
	}
	if err := CheckRData(dns.TypeA, strings.Repeat("9", 1000)); err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a long rdata: %v (%d bytes), want a short one", err, len(err.Error()))
	}
}

// TestCheckRDataAcceptsRData checks that what the canonical renderer
// writes passes the rule, for every record of the test zones and fixtures.
func TestCheckRDataAcceptsRData(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "ingest", "imports", "testdata", "*.zone"))
	more, _ := filepath.Glob(filepath.Join("..", "ingest", "imports", "testdata", "*.db*"))
	n := 0
	for _, name := range append(files, more...) {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		zp := dns.NewZoneParser(bufio.NewReader(f), "example.com.", name)
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			n++
			if err := CheckRData(rr.Header().Rrtype, RData(rr)); err != nil {
				t.Errorf("%s: %v", rr, err)
			}
		}
		f.Close()
	}
	if n < 40 {
		t.Fatalf("only %d records checked", n)
	}
}

func TestExcerpt(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", `"abc"`},
		{"a\x00b", `"a\x00b"`},
		{strings.Repeat("x", 100), `"` + strings.Repeat("x", 80) + `"... (100 bytes)`},
	} {
		if got := Excerpt(tc.in); got != tc.want {
			t.Errorf("Excerpt(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzCheckRData checks the rule against miekg/dns: rdata it accepts
// parses as its type (so the hand-written checks are never looser than the
// parser), and for the types checked by hand the canonical form of accepted
// rdata is accepted too.
//
//	go test ./internal/pdns -run '^$' -fuzz FuzzCheckRData -fuzztime 30s
func FuzzCheckRData(f *testing.F) {
	for _, s := range []struct {
		typ   uint16
		rdata string
	}{
		{dns.TypeA, "192.0.2.1"}, {dns.TypeAAAA, "2001:db8::1"}, {dns.TypeMX, "10 mail.example.com."},
		{dns.TypeSRV, "0 5 5060 sip.example.com."}, {dns.TypeTXT, `"a\"b" "c"`}, {dns.TypeNS, `a\.b.example.`},
		{dns.TypeSOA, "ns.example.com. h.example.com. 1 2 3 4 5"}, {dns.TypeCAA, `0 issue "x"`}, {65280, `\# 1 ff`},
		{dns.TypeRRSIG, "A 8 3 300 20250101000000 20241201000000 12345 example.com. AAAA"},
	} {
		f.Add(s.typ, s.rdata)
	}
	f.Fuzz(func(t *testing.T, typ uint16, rdata string) {
		err := CheckRData(typ, rdata)
		if err == nil {
			rr, perr := dns.NewRR(". 0 IN " + TypeString(typ) + " " + rdata)
			if perr != nil || rr == nil {
				t.Fatalf("CheckRData accepted %s %q, miekg/dns: %v", TypeString(typ), rdata, perr)
			}
		}
		// For the other types miekg/dns decides, and it does not always
		// parse what it prints (an NSEC bitmap with type 0 prints "None").
		switch typ {
		case dns.TypeA, dns.TypeAAAA, dns.TypeNS, dns.TypeCNAME, dns.TypeDNAME, dns.TypePTR,
			dns.TypeMX, dns.TypeSRV, dns.TypeSOA, dns.TypeTXT, dns.TypeRRSIG:
		default:
			return
		}
		if c, ok := CanonicalRData(typ, rdata); ok && err == nil {
			if err := CheckRData(typ, c); err != nil {
				t.Fatalf("canonical form %q of accepted %q refused: %v", c, rdata, err)
			}
		}
	})
}

// BenchmarkCheckRData measures the rule on a sensor's mix of types: the
// hand-checked ones, RRSIG among them (its printed form is checked by hand).
//
//	go test ./internal/pdns -run '^$' -bench CheckRData
func BenchmarkCheckRData(b *testing.B) {
	for _, tc := range []struct {
		typ   uint16
		rdata string
	}{
		{dns.TypeA, "192.0.2.1"},
		{dns.TypeAAAA, "2001:db8::1"},
		{dns.TypeNS, "ns1.example.com."},
		{dns.TypeMX, "10 mail.example.com."},
		{dns.TypeTXT, `"v=spf1 include:_spf.example.com -all"`},
		{dns.TypeRRSIG, "A 8 3 300 20250101000000 20241201000000 12345 example.com. Z2VuZXJpYyBzaWduYXR1cmUgZm9yIGEgYmVuY2htYXJrIG9mIHRoZSBydWxl"},
	} {
		b.Run(TypeString(tc.typ), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := CheckRData(tc.typ, tc.rdata); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestIsBase64 compares the table lookup with the rule written out, on
// every string of up to six bytes from an alphabet of base64 bytes,
// padding and bytes outside it, and of up to nine from a smaller one.
func TestIsBase64(t *testing.T) {
	rule := func(s string) bool {
		if len(s)%4 != 0 {
			return false
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			case c == '=' && i >= len(s)-2 && (i == len(s)-1 || s[len(s)-1] == '='):
			default:
				return false
			}
		}
		return true
	}
	var walk func(s, alphabet string, max int)
	walk = func(s, alphabet string, max int) {
		if got, want := isBase64(s), rule(s); got != want {
			t.Fatalf("isBase64(%q) = %v, want %v", s, got, want)
		}
		if len(s) == max {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			walk(s+alphabet[i:i+1], alphabet, max)
		}
	}
	walk("", "Az9+/= -\x00\xff", 6)
	walk("", "A/=.", 9) // lengths 8 and 9 too, on fewer bytes
}
