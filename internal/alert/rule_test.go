package alert

import (
	"slices"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/finding"
)

func TestRuleMatch(t *testing.T) {
	axfr := axfrAlert()
	name := nameAlert("shop.example.com", 1)
	idn := nameAlert("xn--bcher-kva.example", 2)
	cases := []struct {
		name string
		rule Rule
		a    Alert
		want bool
	}{
		{"empty rule matches all", Rule{}, name, true},
		{"severity at threshold", Rule{MinSeverity: finding.High}, axfr, true},
		{"severity below", Rule{MinSeverity: finding.Critical}, axfr, false},
		{"finding id", Rule{FindingIDs: []string{"dangling-cname", "axfr-allowed"}}, axfr, true},
		{"finding id other", Rule{FindingIDs: []string{"dangling-cname"}}, axfr, false},
		{"finding id, alert without finding", Rule{FindingIDs: []string{"axfr-allowed"}}, name, false},
		{"kind", Rule{Kinds: []string{KindNameAdded}}, name, true},
		{"kind other", Rule{Kinds: []string{KindNameRemoved}}, name, false},
		{"domain exact", Rule{Domains: []string{"example.com"}}, axfr, true},
		{"domain wildcard below", Rule{Domains: []string{"*.example.com"}}, name, true},
		{"domain wildcard not apex", Rule{Domains: []string{"*.example.com"}}, axfr, false},
		{"domain glob", Rule{Domains: []string{"shop.example.*"}}, name, true},
		{"domain class", Rule{Domains: []string{"[a-r]*.example.com"}}, name, false},
		{"domain unicode", Rule{Domains: []string{"BÜCHER.example."}}, idn, true},
		{"all criteria", Rule{MinSeverity: finding.Medium, FindingIDs: []string{"axfr-allowed"}, Kinds: []string{KindFindingOpened}, Domains: []string{"example.com"}}, axfr, true},
		{"all but one", Rule{MinSeverity: finding.Medium, FindingIDs: []string{"axfr-allowed"}, Kinds: []string{KindFindingResolved}, Domains: []string{"example.com"}}, axfr, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rule
			r.Name, r.Sinks = "r", []string{"s"}
			if err := r.validate([]string{"s"}); err != nil {
				t.Fatal(err)
			}
			if got := r.Match(&tc.a); got != tc.want {
				t.Errorf("Match = %v (rule %+v)", got, r)
			}
		})
	}
}

func TestRoute(t *testing.T) {
	rules := []Rule{
		{Name: "a", MinSeverity: finding.High, Sinks: []string{"mail", "hook"}},
		{Name: "b", Kinds: []string{KindFindingOpened}, Sinks: []string{"hook", "chat"}},
		{Name: "c", Kinds: []string{KindOutage}, Sinks: []string{"pager"}},
	}
	a := axfrAlert()
	if got := route(rules, &a); !slices.Equal(got, []string{"mail", "hook", "chat"}) {
		t.Errorf("route = %v", got)
	}
	n := nameAlert("example.com", 1)
	if got := route(rules, &n); len(got) != 0 {
		t.Errorf("route = %v", got)
	}
}

func TestNormalizeDomainPattern(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM.":     "example.com",
		"*.Bücher.example": "*.xn--bcher-kva.example",
		"*":                "*",
		"SHOP-?.example.*": "shop-?.example.*",
		"[!a-c]*.example":  "[!a-c]*.example",
	} {
		if got, err := normalizeDomainPattern(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a..b", "exa mple.com", "[a-", "bü*.example", "a\\"} {
		if got, err := normalizeDomainPattern(bad); err == nil {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}

func TestNewID(t *testing.T) {
	id := NewID("example.com", KindFindingOpened, "ns1.example.com", "axfr-allowed", "scan-42")
	if len(id) != 64 || !validID(id) {
		t.Fatalf("NewID = %q", id)
	}
	if id != NewID("example.com", KindFindingOpened, "ns1.example.com", "axfr-allowed", "scan-42") {
		t.Error("NewID is not stable")
	}
	others := []string{
		NewID("example.com", KindFindingOpened, "ns1.example.com", "axfr-allowed", "scan-43"),
		NewID("example.com", KindFindingResolved, "ns1.example.com", "axfr-allowed", "scan-42"),
		NewID("example.co", "mfinding-opened", "ns1.example.com", "axfr-allowed", "scan-42"), // fields do not run together
		NewID("example.com", KindFindingOpened, "ns1.example.com", "", "axfr-allowedscan-42"),
	}
	for i, o := range others {
		if o == id {
			t.Errorf("variant %d has the same ID", i)
		}
	}
}

func TestAlertLine(t *testing.T) {
	a := nameAlert("example.com", 1)
	a.Text = "two\nlines\x00"
	if got := a.Line(); got != "two lines " {
		t.Errorf("Line = %q", got)
	}
	a.Text, a.Title = "", "Title"
	if got := a.Line(); got != "example.com: name-added: Title (host1.example.com)" {
		t.Errorf("Line = %q", got)
	}
	if got := truncate(strings.Repeat("é", 10), 7); got != "éé…" || len(got) > 7 {
		t.Errorf("truncate = %q", got)
	}
}
