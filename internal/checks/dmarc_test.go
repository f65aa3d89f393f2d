package checks

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

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

func dmarc(txt ...string) func(t *testing.T, w *world) {
	return func(t *testing.T, w *world) {
		var lines []string
		for _, s := range txt {
			lines = append(lines, `_dmarc.example.com. 300 IN TXT "`+s+`"`)
		}
		w.setRecords(t, "_dmarc.example.com", dns.TypeTXT, lines...)
		if len(lines) == 0 {
			w.ex.nxdomain("_dmarc.example.com")
		}
	}
}

func TestDMARCMissing(t *testing.T) {
	runCases(t, "dmarc-missing", []checkCase{
		{name: "present"},
		{name: "weak is not missing", mutate: dmarc("v=DMARC1; p=none")},
		{name: "other TXT beside the record", mutate: dmarc("v=DMARC1; p=reject; rua=mailto:d@example.com", "unrelated")},
		{name: "absent", mutate: dmarc(), want: []string{"medium dmarc-missing example.com"}, evidence: []string{"_dmarc.example.com has no DMARC record"}},
		{name: "absent, no mail", mutate: func(t *testing.T, w *world) {
			dmarc()(t, w)
			w.setRecords(t, "example.com", dns.TypeMX)
			w.setRecords(t, "example.com", dns.TypeTXT, `example.com. 300 IN TXT "v=spf1 -all"`)
		}, want: []string{"low dmarc-missing example.com"}},
		{name: "two records", mutate: dmarc("v=DMARC1; p=reject", "v=DMARC1; p=none"), want: []string{"medium dmarc-missing example.com"}, evidence: []string{"holds 2 DMARC records"}},
		{name: "unusable record", mutate: dmarc("v=DMARC1; p=maybe"), want: []string{"medium dmarc-missing example.com"}, evidence: []string{"is unusable"}},
	})
}

func TestDMARCWeak(t *testing.T) {
	runCases(t, "dmarc-weak", []checkCase{
		{name: "strict"},
		{name: "missing is not weak", mutate: dmarc()},
		{name: "p=none", mutate: dmarc("v=DMARC1; p=none; rua=mailto:d@example.com"), want: []string{"medium dmarc-weak example.com"}, evidence: []string{"policy none"}},
		{name: "pct", mutate: dmarc("v=DMARC1; p=quarantine; pct=20; rua=mailto:d@example.com"), want: []string{"low dmarc-weak example.com"}, evidence: []string{"pct=20"}},
		{name: "no rua", mutate: dmarc("v=DMARC1; p=reject"), want: []string{"low dmarc-weak example.com"}, evidence: []string{"no rua"}},
		{name: "sp=none", mutate: dmarc("v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com"), want: []string{"medium dmarc-weak example.com"}, evidence: []string{"sp=none"}},
	})
}

func TestDMARCInheritedFromOrganizationalDomain(t *testing.T) {
	w := cleanWorld(t)
	w.res.Domain = "shop.example.com"
	w.ex.nxdomain("_dmarc.shop.example.com")
	w.ex.exist("shop.example.com")
	if fs := run(t, w.res, w.ex, "dmarc-missing", "dmarc-weak"); len(fs) != 0 {
		t.Fatalf("strict org policy: %q", summary(fs))
	}
	w.setRecords(t, "_dmarc.example.com", dns.TypeTXT, `_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com"`)
	fs := run(t, w.res, w.ex, "dmarc-missing", "dmarc-weak")
	if got := summary(fs); !slices.Equal(got, []string{"medium dmarc-weak shop.example.com"}) {
		t.Fatalf("sp=none at the org domain: %q", got)
	}
	if ev := evidenceOf(fs); !strings.Contains(ev, "the organizational domain's _dmarc.example.com") {
		t.Fatalf("evidence: %s", ev)
	}
}

// FuzzParseDMARC: never panics; results stay in range.
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
