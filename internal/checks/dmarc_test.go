package checks

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

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
