package api

import (
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

// TestDNSDBLookupsMatchStore sends DNSDB lookups and checks that the
// answer holds exactly the tuples the store's own Lookup gives for the
// equivalent query, in order, with the framing DNSDB uses.
func TestDNSDBLookupsMatchStore(t *testing.T) {
	e := newEnv(t, nil)
	ip := func(s string) (netip.Addr, netip.Addr) {
		lo, hi, err := store.ParseIPQuery(s)
		if err != nil {
			t.Fatal(err)
		}
		return lo, hi
	}
	lo24, hi24 := ip("192.0.2.0/24")
	lo6, hi6 := ip("2001:db8::/32")
	loR, hiR := ip("192.0.2.1-192.0.2.25")
	one, _ := ip("192.0.2.1")
	T := int64(storetest.T0)
	tests := []struct {
		name, path string
		q          store.Query
		rrset      bool
	}{
		{"rrset exact", "/lookup/rrset/name/www.example.com", store.Query{Kind: store.KindRRSet, Name: "www.example.com"}, true},
		{"rrset fqdn upper", "/lookup/rrset/name/WWW.Example.COM.", store.Query{Kind: store.KindRRSet, Name: "www.example.com"}, true},
		{"rrset type", "/lookup/rrset/name/www.example.com/A", store.Query{Kind: store.KindRRSet, Name: "www.example.com", Type: store.OneType(dns.TypeA)}, true},
		{"rrset type lower", "/lookup/rrset/name/www.example.com/aaaa", store.Query{Kind: store.KindRRSet, Name: "www.example.com", Type: store.OneType(dns.TypeAAAA)}, true},
		{"rrset bailiwick", "/lookup/rrset/name/www.example.com/ANY/example.net", store.Query{Kind: store.KindRRSet, Name: "www.example.com", Bailiwick: "example.net"}, true},
		{"rrset left wildcard escaped", "/lookup/rrset/name/%2A.example.com", store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft}, true},
		{"rrset left wildcard", "/lookup/rrset/name/*.example.com/A", store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, Type: store.OneType(dns.TypeA)}, true},
		{"rrset right wildcard", "/lookup/rrset/name/www.example.%2A", store.Query{Kind: store.KindRRSet, Name: "www.example", Wildcard: store.WildRight}, true},
		{"rrset any-dnssec", "/lookup/rrset/name/example.com/ANY-DNSSEC", store.Query{Kind: store.KindRRSet, Name: "example.com", Type: store.TypeANYDNSSEC}, true},
		{"rrset escaped label", "/lookup/rrset/name/a%5C.b.example.com", store.Query{Kind: store.KindRRSet, Name: `a\.b.example.com`}, true},
		{"rrset root", "/lookup/rrset/name/.", store.Query{Kind: store.KindRRSet, Name: "."}, true},
		{"rrset raw", "/lookup/rrset/raw/03777777076578616d706c6503636f6d00", store.Query{Kind: store.KindRRSet, Name: "www.example.com"}, true},
		{"rrset raw type", "/lookup/rrset/raw/076578616D706C6503636F6D00/NS", store.Query{Kind: store.KindRRSet, Name: "example.com", Type: store.OneType(dns.TypeNS)}, true},
		{"rdata name", "/lookup/rdata/name/www.example.com", store.Query{Kind: store.KindRDataName, Name: "www.example.com"}, false},
		{"rdata name type", "/lookup/rdata/name/www.example.com/PTR", store.Query{Kind: store.KindRDataName, Name: "www.example.com", Type: store.OneType(dns.TypePTR)}, false},
		{"rdata left wildcard", "/lookup/rdata/name/.example.net", store.Query{Kind: store.KindRDataName, Name: "example.net", Wildcard: store.WildLeft}, false},
		{"rdata right wildcard", "/lookup/rdata/name/ns1.example.", store.Query{Kind: store.KindRDataName, Name: "ns1.example", Wildcard: store.WildRight}, false},
		{"ip single", "/lookup/rdata/ip/192.0.2.1", store.Query{Kind: store.KindRDataIP, IPLow: one, IPHigh: one}, false},
		{"ip prefix comma", "/lookup/rdata/ip/192.0.2.0,24", store.Query{Kind: store.KindRDataIP, IPLow: lo24, IPHigh: hi24}, false},
		{"ip prefix slash escaped", "/lookup/rdata/ip/192.0.2.0%2F24/A", store.Query{Kind: store.KindRDataIP, IPLow: lo24, IPHigh: hi24, Type: store.OneType(dns.TypeA)}, false},
		{"ip v6 prefix", "/lookup/rdata/ip/2001%3Adb8%3A%3A,32", store.Query{Kind: store.KindRDataIP, IPLow: lo6, IPHigh: hi6}, false},
		{"ip range", "/lookup/rdata/ip/192.0.2.1-192.0.2.25", store.Query{Kind: store.KindRDataIP, IPLow: loR, IPHigh: hiR}, false},
		{"rdata raw A", "/lookup/rdata/raw/c0000201/A", store.Query{Kind: store.KindRDataRaw, RData: "192.0.2.1", Type: store.OneType(dns.TypeA)}, false},
		{"rdata raw name", "/lookup/rdata/raw/03777777076578616d706c6503636f6d00/CNAME", store.Query{Kind: store.KindRDataRaw, RData: "www.example.com.", Type: store.OneType(dns.TypeCNAME)}, false},
		{"fence last after", "/lookup/rrset/name/*.example.com?time_last_after=" + strconv.FormatInt(T+300, 10),
			store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, LastAfter: T + 300}, true},
		{"fence first before", "/lookup/rrset/name/*.example.com?time_first_before=" + strconv.FormatInt(T+20, 10),
			store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, FirstBefore: T + 20}, true},
		{"fences strict", "/lookup/rrset/name/*.example.com?time_first_after=" + strconv.FormatInt(T+4, 10) + "&time_last_before=" + strconv.FormatInt(T+700, 10),
			store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, FirstAfter: T + 4, LastBefore: T + 700}, true},
		{"fence relative", "/lookup/rrset/name/*.example.com?time_last_after=-9700",
			store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, LastAfter: testNow.Unix() - 9700}, true},
		{"zone-only tuple fenced", "/lookup/rrset/name/old.example.com?time_last_before=" + strconv.FormatInt(T, 10),
			store.Query{Kind: store.KindRRSet, Name: "old.example.com", LastBefore: T}, true},
		{"limit", "/lookup/rrset/name/*.example.com?limit=3", store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, Limit: 3}, true},
		{"offset", "/lookup/rrset/name/*.example.com?limit=3&offset=2", store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, Limit: 3, Offset: 2}, true},
		{"no results", "/lookup/rrset/name/nothing.example.com", store.Query{Kind: store.KindRRSet, Name: "nothing.example.com"}, true},
		{"aggr false", "/lookup/rrset/name/www.example.com?aggr=f", store.Query{Kind: store.KindRRSet, Name: "www.example.com"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := e.get("/dnsdb/v2"+tc.path, map[string]string{"Accept": "application/x-ndjson"})
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/x-ndjson" {
				t.Fatalf("Content-Type %q", ct)
			}
			ans := parseSAF(t, body)
			want := e.lookup(tc.q)
			var got []tupleKey
			for _, o := range ans.objs {
				got = append(got, objKey(t, o))
				if _, has := o["bailiwick"]; has && !tc.rrset {
					t.Errorf("rdata lookup object carries a bailiwick: %v", o)
				}
				if n, ok := o["rrname"].(string); !ok || !strings.HasSuffix(n, ".") {
					t.Errorf("rrname %v lacks its trailing dot", o["rrname"])
				}
				if _, ok := o["count"].(float64); !ok {
					t.Errorf("count is not a number: %v", o)
				}
			}
			if !slices.Equal(got, tupleKeys(want)) {
				t.Fatalf("answer differs from the store\n got  %v\n want %v", got, tupleKeys(want))
			}
			wantCond := "succeeded"
			if tc.q.Limit > 0 {
				more := e.lookup(store.Query{Kind: tc.q.Kind, Name: tc.q.Name, Wildcard: tc.q.Wildcard, Offset: tc.q.Offset + tc.q.Limit, Limit: 1})
				if len(more) > 0 {
					wantCond = "limited"
				}
			}
			if ans.cond != wantCond {
				t.Fatalf("terminator %q (%s), want %q", ans.cond, ans.msg, wantCond)
			}
		})
	}
}

// TestDNSDBRDataRawAny: rdata/raw without a type finds the rdata under
// every type the bytes decode as.
func TestDNSDBRDataRawAny(t *testing.T) {
	e := newEnv(t, nil)
	// 192.0.2.1 as bytes: an A record of www.example.com (and of
	// nothing else in the fixture).
	_, _, body := e.get("/dnsdb/v2/lookup/rdata/raw/c0000201", nil)
	ans := parseSAF(t, body)
	var got []tupleKey
	for _, o := range ans.objs {
		got = append(got, objKey(t, o))
	}
	want := []tupleKey{{"www.example.com", "A", "192.0.2.1"}}
	if !slices.Equal(got, want) || ans.cond != "succeeded" {
		t.Fatalf("got %v (%s), want %v", got, ans.cond, want)
	}
	// A TXT record's wire form.
	txt := "0b68656c6c6f20776f726c64" // "hello world"
	_, _, body = e.get("/dnsdb/v2/lookup/rdata/raw/"+txt, nil)
	ans = parseSAF(t, body)
	if len(ans.objs) != 1 || objKey(t, ans.objs[0]) != (tupleKey{"www.example.com", "TXT", `"hello world"`}) {
		t.Fatalf("TXT raw lookup: %v", ans.objs)
	}
}

func TestDNSDBLimits(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DefaultLimit, o.MaxResults, o.MaxOffset = 4, 6, 5 })
	count := func(path string) (int, string) {
		code, _, body := e.get(path, nil)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, code, body)
		}
		a := parseSAF(t, body)
		return len(a.objs), a.cond
	}
	all := len(e.lookup(store.Query{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildLeft}))
	if all <= 6 {
		t.Fatalf("fixture too small (%d) for the limit test", all)
	}
	for _, tc := range []struct {
		q    string
		n    int
		cond string
	}{
		{"", 4, "limited"},         // default limit
		{"?limit=0", 6, "limited"}, // the maximum
		{"?limit=100", 6, "limited"},
		{"?limit=2", 2, "limited"},
		{"?limit=6&offset=5", min(6, all-5), map[bool]string{true: "limited", false: "succeeded"}[all-5 > 6]},
	} {
		n, cond := count("/dnsdb/v2/lookup/rrset/name/*" + tc.q)
		if n != tc.n || cond != tc.cond {
			t.Errorf("limit %q: %d objects, %s; want %d, %s", tc.q, n, cond, tc.n, tc.cond)
		}
	}
	if code, _, body := e.get("/dnsdb/v2/lookup/rrset/name/*?offset=6", nil); code != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("offset above offset_max: %d %s", code, body)
	}
	if code, _, body := e.get("/dnsdb/v2/summarize/rrset/name/*?offset=1", nil); code != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("offset on summarize: %d %s", code, body)
	}
}

func TestDNSDBSummarize(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		path     string
		q        store.Query
		maxCount uint64
	}{
		{"/dnsdb/v2/summarize/rrset/name/*.example.com", store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft}, 0},
		{"/dnsdb/v2/summarize/rrset/name/example.com/ANY-DNSSEC", store.Query{Kind: store.KindRRSet, Name: "example.com", Type: store.TypeANYDNSSEC}, 0},
		{"/dnsdb/v2/summarize/rdata/ip/192.0.2.0,24?max_count=6", store.Query{Kind: store.KindRDataIP,
			IPLow: netip.MustParseAddr("192.0.2.0"), IPHigh: netip.MustParseAddr("192.0.2.255")}, 6},
		{"/dnsdb/v2/summarize/rrset/name/old.example.com", store.Query{Kind: store.KindRRSet, Name: "old.example.com"}, 0},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, _, body := e.get(tc.path, nil)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			a := parseSAF(t, body)
			q := tc.q
			q.Limit = 10000
			want, err := store.Summarize(t.Context(), e.db, q, tc.maxCount)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.objs) != 1 || a.cond != "succeeded" {
				t.Fatalf("summarize answer: %v %s", a.objs, a.cond)
			}
			o := a.objs[0]
			num := func(k string) int64 { f, _ := o[k].(float64); return int64(f) }
			if uint64(num("count")) != want.Count || num("num_results") != want.NumResults ||
				num("time_first") != want.TimeFirst || num("time_last") != want.TimeLast ||
				num("zone_time_first") != want.ZoneTimeFirst || num("zone_time_last") != want.ZoneTimeLast {
				t.Fatalf("summary %v, want %+v", o, want)
			}
		})
	}
	_, _, body := e.get("/dnsdb/v2/summarize/rrset/name/nothing.example.com", nil)
	if a := parseSAF(t, body); len(a.objs) != 0 || a.cond != "succeeded" {
		t.Fatalf("summarize of nothing: %v %s", a.objs, a.cond)
	}
	_, _, body = e.get("/dnsdb/v2/summarize/rrset/name/*.example.com?limit=2", nil)
	if a := parseSAF(t, body); len(a.objs) != 1 || a.cond != "limited" || a.objs[0]["num_results"].(float64) != 2 {
		t.Fatalf("summarize with limit 2: %v %s", a.objs, a.cond)
	}
}

func TestDNSDBHumanTime(t *testing.T) {
	e := newEnv(t, nil)
	_, _, body := e.get("/dnsdb/v2/lookup/rrset/name/www.example.com/A?humantime=t&limit=1", nil)
	a := parseSAF(t, body)
	if len(a.objs) != 1 {
		t.Fatalf("objects: %v", a.objs)
	}
	want := e.lookup(store.Query{Kind: store.KindRRSet, Name: "www.example.com", Type: store.OneType(dns.TypeA), Limit: 1})[0]
	if got := a.objs[0]["time_first"]; got != fmtRFC3339(want.TimeFirst) {
		t.Fatalf("time_first %v, want %s", got, fmtRFC3339(want.TimeFirst))
	}
	_, _, body = e.get("/dnsdb/v2/lookup/rrset/name/old.example.com?humantime=true", nil)
	a = parseSAF(t, body)
	if len(a.objs) != 1 || a.objs[0]["zone_time_last"] != fmtRFC3339(storetest.T0-500) || a.objs[0]["time_first"] != nil {
		t.Fatalf("zone-only tuple in humantime: %v", a.objs)
	}
}

func fmtRFC3339(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

// TestDNSDBErrors: malformed paths and parameters are 400 with a message,
// unknown paths 404, never 5xx.
func TestDNSDBErrors(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		path string
		code int
		hdr  map[string]string
	}{
		{"/dnsdb/v2/lookup/rrset/name/www.example.com/BOGUS", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com/A,AAAA", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www..example.com", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com/A/*.example.com", 400, nil},
		{"/dnsdb/v2/lookup/rrset/raw/zz", 400, nil},
		{"/dnsdb/v2/lookup/rrset/raw/0377", 400, nil},
		{"/dnsdb/v2/lookup/rdata/ip/192.0.2.300", 400, nil},
		{"/dnsdb/v2/lookup/rdata/ip/192.0.2.9-192.0.2.1", 400, nil},
		{"/dnsdb/v2/lookup/rdata/ip/192.0.2.1/MX", 400, nil},
		{"/dnsdb/v2/lookup/rdata/ip/192.0.2.1/ANY-DNSSEC", 400, nil},
		{"/dnsdb/v2/lookup/rdata/raw/c00002/A", 200, nil}, // does not decode as A: no results
		{"/dnsdb/v2/lookup/rrset/name/www.example.com?limit=-1", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com?limit=ten", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com?aggr=maybe", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com?time_last_after=yesterday", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com?time_last_after=-99999999999999", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com?max_count=x", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com?a=%zz", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/a%00b", 400, nil},
		{"/dnsdb/v2/regex/rrnames/(unclosed", 400, nil},
		{"/dnsdb/v2/glob/rdata/[abc", 400, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com", 415, map[string]string{"Accept": "text/html"}},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com", 415, map[string]string{"Accept": "application/x-ndjson;q=0"}},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com", 200, map[string]string{"Accept": "text/html, */*;q=0.1"}},
		{"/dnsdb/v2/lookup/rrset/email/x", 404, nil},
		{"/dnsdb/v2/lookup/rrset/name/www.example.com/A/example.com/extra", 404, nil},
		{"/dnsdb/v2/lookup/rdata/name/x/A/extra", 404, nil},
		{"/dnsdb/v2/search/rrset/name/x", 404, nil},
		{"/dnsdb/v2/", 404, nil},
		{"/dnsdb/v2", 404, nil},
		{"/dnsdb/v2/ping/extra", 404, nil},
		{"/dnsdb/v2/regex/names/x", 404, nil},
		{"/dnsdb/v1/lookup/rrset/name/x", 404, nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, hdr, body := e.get(tc.path, tc.hdr)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			if code >= 400 {
				if hdr.Get("Content-Type") != "application/json" || !strings.Contains(body, `"error":"`) {
					t.Fatalf("error without a JSON message: %q", body)
				}
			}
		})
	}
	if code, _, _ := e.do(http.MethodPost, "/dnsdb/v2/lookup/rrset/name/x", nil, nil); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", code)
	}
	// Escapes that no client library sends still get a 400, from net/http.
	if code := e.rawStatus("GET /dnsdb/v2/lookup/rrset/name/a%zzb HTTP/1.1"); code != 400 {
		t.Fatalf("bad escape in the path: %d", code)
	}
}

func TestParseFence(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"1700000000", 1700000000, false},
		{"-3600", testNow.Unix() - 3600, false},
		{"0", 0, false},
		{"", 0, true},
		{"1.5", 0, true},
		{"-" + strconv.FormatInt(testNow.Unix()+1, 10), 0, true},
		{"99999999999999999999", 0, true},
	} {
		got, err := parseFence(tc.in, testNow)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseFence(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err               error
		dnsdb, circl, own int
	}{
		{ErrNoCredentials, 403, 401, 401},
		{errorsJoin(ErrBadRequest), 400, 400, 400},
		{store.ErrBadQuery, 400, 400, 400},
		{ErrNotFound, 404, 404, 404},
		{ErrOffsetRange, 416, 416, 416},
		{ErrMediaType, 415, 415, 415},
		{ErrBusy, 503, 503, 503},
		{errors.New("disk on fire"), 500, 500, 500},
	} {
		if g := statusOf(flavorDNSDB, tc.err); g != tc.dnsdb {
			t.Errorf("DNSDB %v: %d, want %d", tc.err, g, tc.dnsdb)
		}
		if g := statusOf(flavorCIRCL, tc.err); g != tc.circl {
			t.Errorf("CIRCL %v: %d, want %d", tc.err, g, tc.circl)
		}
		if g := statusOf(flavorAPI, tc.err); g != tc.own {
			t.Errorf("API %v: %d, want %d", tc.err, g, tc.own)
		}
	}
}

func errorsJoin(err error) error { return errors.Join(errors.New("context"), err) }

func TestPingAndRateLimitOpen(t *testing.T) {
	e := newEnv(t, nil)
	if code, _, body := e.get("/dnsdb/v2/ping", nil); code != 200 || body != `{"ping":"ok"}`+"\n" {
		t.Fatalf("ping: %d %q", code, body)
	}
	code, _, body := e.get("/dnsdb/v2/rate_limit", nil)
	want := `{"rate":{"reset":"n/a","expires":"n/a","limit":"unlimited","remaining":"n/a","results_max":1000000,"offset_max":1000000}}` + "\n"
	if code != 200 || body != want {
		t.Fatalf("rate_limit: %d %q, want %q", code, body, want)
	}
}

// TestAcceptable covers the Accept headers answered without parsing and
// the parsed ones beside them.
func TestAcceptable(t *testing.T) {
	for _, tc := range []struct {
		h    string
		want bool
	}{
		{"", true},
		{"  ", true},
		{"application/x-ndjson", true},
		{"application/json", true},
		{"*/*", true},
		{" */* ", true},
		{"Application/X-NDJSON", true},
		{"application/x-ndjson;q=0", false},
		{"text/html", false},
		{"text/html, application/json;q=0.5", true},
		{"image/png;q=1, */*;q=0", false},
	} {
		t.Run(tc.h, func(t *testing.T) {
			if got := acceptable(tc.h); got != tc.want {
				t.Fatalf("acceptable(%q) = %v, want %v", tc.h, got, tc.want)
			}
		})
	}
}
