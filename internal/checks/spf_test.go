package checks

import (
	"testing"

	"github.com/miekg/dns"
)

func TestSPFMissing(t *testing.T) {
	runCases(t, "spf-missing", []checkCase{
		{name: "present"},
		{
			name: "mail domain without SPF",
			mutate: func(t *testing.T, w *world) {
				w.setRecords(t, "example.com", dns.TypeTXT, `example.com. 300 IN TXT "hello"`)
			},
			want:     []string{"medium spf-missing example.com"},
			evidence: []string{"receives mail (MX) but publishes no SPF record"},
		},
		{
			name: "no TXT, no MX",
			mutate: func(t *testing.T, w *world) {
				w.setRecords(t, "example.com", dns.TypeTXT)
				w.setRecords(t, "example.com", dns.TypeMX)
				w.ex.exist("example.com")
			},
			want:     []string{"low spf-missing example.com"},
			evidence: []string{`should publish "v=spf1 -all"`},
		},
		{
			name: "null MX",
			mutate: func(t *testing.T, w *world) {
				w.setRecords(t, "example.com", dns.TypeTXT)
				w.setRecords(t, "example.com", dns.TypeMX, "example.com. 300 IN MX 0 .")
				w.ex.exist("example.com")
			},
			want: []string{"low spf-missing example.com"},
		},
		{
			name:   "sub-domain with MX but no SPF",
			mutate: func(t *testing.T, w *world) { w.addRecords(t, "lists.example.com. 300 IN MX 10 mail.example.com.") },
			want:   []string{"medium spf-missing lists.example.com"},
		},
	})
}

func TestSPFPermissive(t *testing.T) {
	spf := func(txt string) func(t *testing.T, w *world) {
		return func(t *testing.T, w *world) {
			w.setRecords(t, "example.com", dns.TypeTXT, `example.com. 300 IN TXT "`+txt+`"`)
		}
	}
	runCases(t, "spf-permissive", []checkCase{
		{name: "strict"},
		{name: "softfail is fine", mutate: spf("v=spf1 mx ~all")},
		{name: "redirect to a strict record", mutate: func(t *testing.T, w *world) {
			spf("v=spf1 redirect=_spf.example.net")(t, w)
			w.ex.add(t, `_spf.example.net. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`)
		}},
		{name: "ten lookups exactly", mutate: func(t *testing.T, w *world) {
			spf("v=spf1 a mx ptr exists:x.example.com include:a.example.net -all")(t, w)
			w.ex.add(t, `a.example.net. 300 IN TXT "v=spf1 a mx a:b.example.net mx:c.example.net include:d.example.net -all"`,
				`d.example.net. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"`)
		}},
		{name: "+all", mutate: spf("v=spf1 mx +all"), want: []string{"high spf-permissive example.com"}, evidence: []string{"ends in +all"}},
		{name: "bare all", mutate: spf("v=spf1 all"), want: []string{"high spf-permissive example.com"}},
		{name: "?all", mutate: spf("v=spf1 mx ?all"), want: []string{"medium spf-permissive example.com"}, evidence: []string{"ends in ?all"}},
		{name: "no all, no redirect", mutate: spf("v=spf1 mx"), want: []string{"medium spf-permissive example.com"}, evidence: []string{"no all mechanism and no redirect"}},
		{name: "everything by prefix", mutate: spf("v=spf1 ip4:0.0.0.0/0 -all"), want: []string{"high spf-permissive example.com"}, evidence: []string{"ip4:0.0.0.0/0 authorises every address"}},
		{name: "wide block", mutate: spf("v=spf1 ip4:10.0.0.0/8 -all"), want: []string{"medium spf-permissive example.com"}},
		{name: "two records", mutate: func(t *testing.T, w *world) {
			w.setRecords(t, "example.com", dns.TypeTXT, `example.com. 300 IN TXT "v=spf1 mx -all"`, `example.com. 300 IN TXT "v=spf1 a -all"`)
		}, want: []string{"medium spf-permissive example.com"}, evidence: []string{"publishes 2 SPF records"}},
		{name: "syntax error", mutate: spf("v=spf1 mx ip4:192.0.2.999 -all"), want: []string{"medium spf-permissive example.com"}, evidence: []string{"does not parse"}},
		{
			name: "include of a +all record",
			mutate: func(t *testing.T, w *world) {
				spf("v=spf1 include:relay.example.net -all")(t, w)
				w.ex.add(t, `relay.example.net. 300 IN TXT "v=spf1 +all"`)
			},
			want:        []string{"high spf-permissive example.com"},
			wantOffline: []string{},
			evidence:    []string{"include:relay.example.net (from example.com) ends in +all"},
		},
		{
			name: "redirect to a ?all record",
			mutate: func(t *testing.T, w *world) {
				spf("v=spf1 redirect=_spf.example.net")(t, w)
				w.ex.add(t, `_spf.example.net. 300 IN TXT "v=spf1 a ?all"`)
			},
			want:        []string{"medium spf-permissive example.com"},
			wantOffline: []string{},
		},
		{
			name: "include of a domain that does not exist",
			mutate: func(t *testing.T, w *world) {
				spf("v=spf1 include:spf.gone.test -all")(t, w)
				w.ex.nxdomain("gone.test")
			},
			want:        []string{"medium spf-permissive example.com"},
			wantOffline: []string{},
			evidence:    []string{"include:spf.gone.test (from example.com) does not exist (NXDOMAIN): the result is permerror"},
		},
		{
			name: "eleven lookups through nested includes",
			mutate: func(t *testing.T, w *world) {
				spf("v=spf1 mx a include:a.example.net include:b.example.net -all")(t, w)
				w.ex.add(t, `a.example.net. 300 IN TXT "v=spf1 a mx ptr include:c.example.net -all"`,
					`b.example.net. 300 IN TXT "v=spf1 exists:%{i}.b.example.net -all"`,
					`c.example.net. 300 IN TXT "v=spf1 a:x.example.net a:y.example.net ~all"`)
			},
			want:        []string{"medium spf-permissive example.com"},
			wantOffline: []string{},
			evidence:    []string{"needs more than 10 DNS lookups"},
		},
		{
			name: "include loop",
			mutate: func(t *testing.T, w *world) {
				spf("v=spf1 include:a.example.net -all")(t, w)
				w.ex.add(t, `a.example.net. 300 IN TXT "v=spf1 include:example.com -all"`)
			},
			want:        []string{"medium spf-permissive example.com"},
			wantOffline: []string{},
			evidence:    []string{"loops back"},
		},
	})
}

// seeds reads one record per line from a testdata file (# comments).
