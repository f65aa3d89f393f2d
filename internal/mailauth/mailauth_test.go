package mailauth

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParseSPF(t *testing.T) {
	tests := []struct {
		in    string
		terms []string // String() of each term
		err   error
	}{
		{in: "v=spf1", terms: nil},
		{in: "v=spf1 -all", terms: []string{"-all"}},
		{in: "V=SPF1  MX  ~ALL ", terms: []string{"mx", "~all"}},
		{in: "v=spf1 include:_spf.example.com ?all", terms: []string{"include:_spf.example.com", "?all"}},
		{in: "v=spf1 +a a:www.example.com/24 a//64 mx:mail.example.com/24//64 ptr ptr:example.com -all",
			terms: []string{"a", "a:www.example.com/24", "a//64", "mx:mail.example.com/24//64", "ptr", "ptr:example.com", "-all"}},
		{in: "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 ip6:2001:DB8::/32 -all", terms: []string{"ip4:192.0.2.0/24", "ip4:198.51.100.7", "ip6:2001:db8::/32", "-all"}},
		{in: "v=spf1 exists:%{i}.%{h}._spf.example.com exp=explain.%{d} -all", terms: []string{"exists:%{i}.%{h}._spf.example.com", "exp=explain.%{d}", "-all"}},
		{in: "v=spf1 redirect=_spf.example.com", terms: []string{"redirect=_spf.example.com"}},
		{in: "v=spf1 custom-mod=anything -all", terms: []string{"custom-mod=anything", "-all"}},
		{in: "v=spf10 -all", err: ErrSPFNotSPF},
		{in: "spf1 -all", err: ErrSPFNotSPF},
		{in: "", err: ErrSPFNotSPF},
		{in: "v=spf1 redirect=a.example.com redirect=b.example.com", err: ErrSPFDupModifier},
		{in: "v=spf1 exp=a.example.com EXP=b.example.com", err: ErrSPFDupModifier},
		{in: "v=spf1 foo:bar", err: ErrSPFBadMechanism},
		{in: "v=spf1 ip4:192.0.2.300", err: ErrSPFSyntax},
		{in: "v=spf1 ip4:192.0.2.0/33", err: ErrSPFSyntax},
		{in: "v=spf1 ip4:192.0.2.0/024", err: ErrSPFSyntax},
		{in: "v=spf1 ip6:192.0.2.1", err: ErrSPFSyntax},
		{in: "v=spf1 ip4", err: ErrSPFSyntax},
		{in: "v=spf1 include:", err: ErrSPFSyntax},
		{in: "v=spf1 include", err: ErrSPFSyntax},
		{in: "v=spf1 all:example.com", err: ErrSPFSyntax},
		{in: "v=spf1 a:example.123", err: ErrSPFSyntax},
		{in: "v=spf1 a:", err: ErrSPFSyntax},
		{in: "v=spf1 exists:%{z}.example.com", err: ErrSPFSyntax},
		{in: "v=spf1 exists:%{i.example.com", err: ErrSPFSyntax},
		{in: "v=spf1 a:example.com%", err: ErrSPFSyntax},
		{in: "v=spf1 ptr/24", err: ErrSPFSyntax},
		{in: "v=spf1 mx/24//129", err: ErrSPFSyntax},
		{in: "v=spf1 redirect=", err: ErrSPFSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			rec, err := ParseSPF(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, term := range rec.Terms {
				got = append(got, term.String())
			}
			if !slices.Equal(got, tc.terms) {
				t.Fatalf("terms = %q, want %q", got, tc.terms)
			}
		})
	}
}

func seeds(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzParseSPF: never panics, and a parsed record prints back to a record
// that parses to the same terms.
func FuzzParseSPF(f *testing.F) {
	for _, s := range seeds(f, "testdata/spf-seeds.txt") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseSPF(s)
		if err != nil {
			return
		}
		parts := []string{"v=spf1"}
		for _, term := range rec.Terms {
			parts = append(parts, term.String())
		}
		again, err := ParseSPF(strings.Join(parts, " "))
		if err != nil {
			t.Fatalf("%q parsed, but its printed form %q does not: %v", s, strings.Join(parts, " "), err)
		}
		if !slices.Equal(again.Terms, rec.Terms) {
			t.Fatalf("round trip changed terms: %v -> %v", rec.Terms, again.Terms)
		}
	})
}

func TestParseDMARC(t *testing.T) {
	tests := []struct {
		in      string
		policy  string
		sp      string
		pct     int
		rua     []string
		invalid int
		err     error
	}{
		{in: "v=DMARC1; p=reject; rua=mailto:d@example.com", policy: "reject", pct: 100, rua: []string{"mailto:d@example.com"}},
		{in: "v=DMARC1;p=quarantine;pct=25;sp=none", policy: "quarantine", sp: "none", pct: 25},
		{in: "v = DMARC1 ; P = NONE ; rua = mailto:a@example.com!10m, mailto:b@example.net ;", policy: "none", pct: 100,
			rua: []string{"mailto:a@example.com!10m", "mailto:b@example.net"}},
		{in: "v=DMARC1; p=reject; pct=150; adkim=x; future=1", policy: "reject", pct: 100, invalid: 2},
		{in: "v=DMARC1; p=reject; p=none", policy: "reject", pct: 100, invalid: 1},
		{in: "v=DMARC1; rua=mailto:d@example.com", policy: "none", pct: 100, rua: []string{"mailto:d@example.com"}, invalid: 1},
		{in: "v=DMARC1; p=bogus; rua=mailto:d@example.com", policy: "none", pct: 100, rua: []string{"mailto:d@example.com"}, invalid: 2},
		{in: "v=DMARC1; p=reject; rua=not a uri", policy: "reject", pct: 100, invalid: 1},
		{in: "v=DMARC1", err: ErrDMARCSyntax},
		{in: "v=DMARC1; p=bogus", err: ErrDMARCSyntax},
		{in: "v=DMARC1; p=reject; garbage", err: ErrDMARCSyntax},
		{in: "v=DMARC1; =x; p=reject", err: ErrDMARCSyntax},
		{in: "p=reject; v=DMARC1", err: ErrDMARCNotDMARC},
		{in: "v=dmarc1; p=reject", err: ErrDMARCNotDMARC},
		{in: "v=spf1 -all", err: ErrDMARCNotDMARC},
		{in: "", err: ErrDMARCNotDMARC},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			r, err := ParseDMARC(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Policy != tc.policy || r.SubdomainPolicy != tc.sp || r.Pct != tc.pct || !slices.Equal(r.RUA, tc.rua) || len(r.Invalid) != tc.invalid {
				t.Fatalf("got %+v, want p=%s sp=%s pct=%d rua=%v invalid=%d", r, tc.policy, tc.sp, tc.pct, tc.rua, tc.invalid)
			}
		})
	}
}

func FuzzParseDMARC(f *testing.F) {
	for _, s := range seeds(f, "testdata/dmarc-seeds.txt") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseDMARC(s)
		if err != nil {
			return
		}
		if r.Pct < 0 || r.Pct > 100 {
			t.Fatalf("pct %d out of range", r.Pct)
		}
		switch r.Policy {
		case "none", "quarantine", "reject":
		default:
			t.Fatalf("policy %q", r.Policy)
		}
		if !IsDMARC(s) {
			t.Fatalf("parsed a record IsDMARC rejects: %q", s)
		}
	})
}
