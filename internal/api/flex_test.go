package api

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

func TestGlobToRegexp(t *testing.T) {
	for _, tc := range []struct {
		glob       string
		match, not []string
	}{
		{"*.example.com.", []string{"www.example.com.", "a.b.example.com."}, []string{"example.com.", "www.example.com", "wwwexample.com."}},
		{"www.example.?om.", []string{"www.example.com."}, []string{"www.example.coom."}},
		{"mail[0-9].example.com.", []string{"mail1.example.com."}, []string{"maila.example.com."}},
		{"mail[!0-9].example.com.", []string{"maila.example.com."}, []string{"mail1.example.com."}},
		{`a\*b.`, []string{"a*b."}, []string{"axb."}},
		{"(x)+.", []string{"(x)+."}, []string{"x."}},
	} {
		expr, err := globToRegexp(tc.glob)
		if err != nil {
			t.Fatalf("%q: %v", tc.glob, err)
		}
		re := regexp.MustCompile(expr)
		for _, m := range tc.match {
			if !re.MatchString(m) {
				t.Errorf("glob %q (%s) does not match %q", tc.glob, expr, m)
			}
		}
		for _, m := range tc.not {
			if re.MatchString(m) {
				t.Errorf("glob %q (%s) matches %q", tc.glob, expr, m)
			}
		}
	}
	// "\x90" was found by FuzzGlob: invalid UTF-8 made a regexp that
	// does not compile.
	for _, bad := range []string{"[abc", `abc\`, "\x90", "a\xffb"} {
		if _, err := globToRegexp(bad); err == nil {
			t.Errorf("glob %q accepted", bad)
		}
	}
}

func TestLiteralSuffix(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`\.example\.com\.$`, "example.com"},
		{`^.*\.example\.com\.$`, "example.com"},
		{`^www\.example\.com\.$`, "example.com"},
		{`ample\.com\.$`, "com"},
		{`^mail[0-9]\.example\.net\.$`, "example.net"},
		{`example\.com\.`, ""}, // not anchored
		{`\.com$`, ""},         // names end with a dot: cannot match
		{`(?i)\.EXAMPLE\.com\.$`, ""},
		{`\.Example\.com\.$`, ""}, // upper case never matches a stored name
		{`x|\.example\.com\.$`, ""},
		{`^com\.$`, ""},
	} {
		if got := literalSuffix(tc.expr); got != tc.want {
			t.Errorf("literalSuffix(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// flexOracle computes a Flex answer by brute force over every tuple.
func flexOracle(t *testing.T, e *env, key string, re *regexp.Regexp, tf store.TypeFilter) []flexKey {
	t.Helper()
	var out []flexKey
	seen := map[flexKey]bool{}
	err := store.Export(context.Background(), e.db, func(x *pdns.Tuple) error {
		if !tf.Match(x.RRType) {
			return nil
		}
		v := x.RData
		if key == "rrnames" {
			v = fqdn(x.RRName)
		}
		k := flexKey{v, x.RRType}
		if re.MatchString(v) && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFlexMatchesBruteForce(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name, path, key, expr string
		tf                    store.TypeFilter
	}{
		{"glob rrnames suffix", "/dnsdb/v2/glob/rrnames/*.example.com.", "rrnames", `^.*\.example\.com\.$`, store.TypeANY},
		{"regex rrnames anywhere", "/dnsdb/v2/regex/rrnames/mail", "rrnames", `mail`, store.TypeANY},
		{"regex rrnames anchored type", "/dnsdb/v2/regex/rrnames/%5Ewww%5C./A", "rrnames", `^www\.`, store.TypeFilter(1)},
		{"regex rdata", "/dnsdb/v2/regex/rdata/%5E192%5C.0%5C.2%5C.", "rdata", `^192\.0\.2\.`, store.TypeANY},
		{"glob rdata", "/dnsdb/v2/glob/rdata/*.example.net.", "rdata", `^.*\.example\.net\.$`, store.TypeANY},
		{"regex dnssec", "/dnsdb/v2/regex/rrnames/example/ANY-DNSSEC", "rrnames", `example`, store.TypeANYDNSSEC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := e.get(tc.path, nil)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			a := parseSAF(t, body)
			var got []flexKey
			for _, o := range a.objs {
				typ, _ := pdns.ParseType(o["rrtype"].(string))
				v, _ := o[map[string]string{"rrnames": "rrname", "rdata": "rdata"}[tc.key]].(string)
				got = append(got, flexKey{v, typ})
				if _, ok := o["count"].(float64); !ok {
					t.Errorf("flex result without count: %v", o)
				}
				if tc.key == "rdata" && typ == 1 && o["raw_rdata"] == nil {
					t.Errorf("rdata result without raw_rdata: %v", o)
				}
			}
			want := flexOracle(t, e, tc.key, regexp.MustCompile(tc.expr), tc.tf)
			if len(want) == 0 {
				t.Fatal("the oracle finds nothing: a useless case")
			}
			sortF := func(s []flexKey) {
				slices.SortFunc(s, func(a, b flexKey) int {
					if a.value != b.value {
						if a.value < b.value {
							return -1
						}
						return 1
					}
					return int(a.typ) - int(b.typ)
				})
			}
			sortF(got)
			sortF(want)
			if !slices.Equal(got, want) || a.cond != "succeeded" {
				t.Fatalf("got %v (%s)\nwant %v", got, a.cond, want)
			}
		})
	}
	// exclude and limit.
	_, _, body := e.get("/dnsdb/v2/glob/rrnames/*.example.com.?exclude=www.*&limit=2", nil)
	a := parseSAF(t, body)
	if len(a.objs) != 2 || a.cond != "limited" {
		t.Fatalf("limited flex: %v %s", a.objs, a.cond)
	}
	for _, o := range a.objs {
		if n := o["rrname"].(string); len(n) >= 4 && n[:4] == "www." {
			t.Fatalf("excluded name returned: %v", o)
		}
	}
	_, _, body = e.get("/dnsdb/v2/regex/rdata/%5E192%5C.0%5C.2%5C.1$?humantime=t", nil)
	a = parseSAF(t, body)
	if len(a.objs) != 1 || a.objs[0]["raw_rdata"] != "C0000201" {
		t.Fatalf("raw_rdata: %v", a.objs)
	}
	if _, err := time.Parse(time.RFC3339, a.objs[0]["time_first"].(string)); err != nil {
		t.Fatalf("humantime flex: %v", a.objs[0])
	}
}
