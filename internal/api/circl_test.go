package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// circlOracle is what a CIRCL query must return: for names, the owner
// matches then the rdata matches not already listed; for addresses, the
// address matches.
func circlOracle(e *env, value, rrtype string) []tupleKey {
	e.t.Helper()
	q, err := store.ParseQuery(value, false)
	if err != nil {
		e.t.Fatal(err)
	}
	if q.Type, err = store.ParseTypeFilter(rrtype); err != nil {
		e.t.Fatal(err)
	}
	out := e.lookup(q)
	if q.Kind == store.KindRRSet {
		first := q
		if err := first.Validate(); err != nil {
			e.t.Fatal(err)
		}
		r := q
		r.Kind = store.KindRDataName
		for _, t := range e.lookup(r) {
			if !first.Match(&t) {
				out = append(out, t)
			}
		}
	}
	return tupleKeys(out)
}

func TestCIRCLMatchesStore(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name, path, value, rrtype string
	}{
		{"name", "/pdns/query/www.example.com", "www.example.com", ""},
		{"name both sides", "/pdns/query/mail.example.com", "mail.example.com", ""},
		{"wildcard escaped", "/pdns/query/%2A.example.com", "*.example.com", ""},
		{"wildcard", "/pdns/query/*.example.net", "*.example.net", ""},
		{"address", "/pdns/query/192.0.2.1", "192.0.2.1", ""},
		{"prefix comma", "/pdns/query/192.0.2.0,24", "192.0.2.0/24", ""},
		{"prefix comma escaped", "/pdns/query/192.0.2.0%2C24", "192.0.2.0/24", ""},
		{"prefix slash", "/pdns/query/192.0.2.0/25", "192.0.2.0/25", ""},
		{"v6 escaped", "/pdns/query/2001%3Adb8%3A%3A%2C32", "2001:db8::/32", ""},
		{"rrtype filter", "/pdns/query/*.example.com", "*.example.com", "A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Accept": "application/json"}
			if tc.rrtype != "" {
				hdr["dribble-filter-rrtype"] = tc.rrtype
			}
			code, h, body := e.get(tc.path, hdr)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			want := circlOracle(e, tc.value, tc.rrtype)
			got := parseCOFKeys(t, body)
			if !slices.Equal(got, want) {
				t.Fatalf("got  %v\nwant %v", got, want)
			}
			if h.Get("x-dribble-cursor") != "" {
				t.Fatalf("x-dribble-cursor %q on a complete answer", h.Get("x-dribble-cursor"))
			}
			// Every line has the six fields PyPDNS sorts on, with integer
			// times and count and a string rrtype.
			for _, line := range splitLines(body) {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"count", "rdata", "rrname", "rrtype", "time_first", "time_last"} {
					if _, ok := m[k]; !ok {
						t.Fatalf("line lacks %s: %s", k, line)
					}
				}
				if _, ok := m["rrtype"].(string); !ok {
					t.Fatalf("rrtype is not a string: %s", line)
				}
			}
		})
	}
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if i > 0 {
			out = append(out, s[:i])
		}
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// TestCIRCLPaging walks a query page by page with the dribble headers and
// checks that the pages together are the whole answer, each tuple once,
// and that the cursor is a positive integer absent on the last page.
func TestCIRCLPaging(t *testing.T) {
	e := newEnv(t, nil)
	want := circlOracle(e, "*.example.com", "")
	if len(want) < 5 {
		t.Fatalf("fixture too small: %d", len(want))
	}
	var got []tupleKey
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatal("paging does not end")
		}
		hdr := map[string]string{"dribble-paginate-count": "2"}
		if cursor != "" {
			hdr["dribble-paginate-cursor"] = cursor
		}
		code, h, body := e.get("/pdns/query/*.example.com", hdr)
		if code != 200 {
			t.Fatalf("page %d: %d %s", pages, code, body)
		}
		page := parseCOFKeys(t, body)
		if len(page) > 2 {
			t.Fatalf("page of %d > 2", len(page))
		}
		got = append(got, page...)
		cursor = h.Get("x-dribble-cursor")
		if cursor == "" {
			break
		}
		if n, err := strconv.Atoi(cursor); err != nil || n <= 0 || n != len(got) {
			t.Fatalf("x-dribble-cursor %q after %d results", cursor, len(got))
		}
		if h.Get("x-dribble-errors") != "" {
			t.Fatalf("x-dribble-errors on an asked-for page: %q", h.Get("x-dribble-errors"))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages\n got  %v\nwant %v", got, want)
	}
}

func TestCIRCLTruncationAndEmpty(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DefaultLimit, o.MaxResults = 3, 3 })
	code, h, body := e.get("/pdns/query/*.example.com", nil)
	if code != 200 || len(parseCOFKeys(t, body)) != 3 {
		t.Fatalf("truncated answer: %d %q", code, body)
	}
	if h.Get("x-dribble-cursor") != "3" {
		t.Fatalf("x-dribble-cursor %q, want 3", h.Get("x-dribble-cursor"))
	}
	var errs map[string]any
	if err := json.Unmarshal([]byte(h.Get("x-dribble-errors")), &errs); err != nil || errs["truncated"] == nil {
		t.Fatalf("x-dribble-errors %q", h.Get("x-dribble-errors"))
	}
	code, h, body = e.get("/pdns/query/nothing.example.com", nil)
	if code != 200 || body != "" || h.Get("x-dribble-cursor") != "" {
		t.Fatalf("no results: %d %q %v", code, body, h)
	}
	for _, tc := range []struct {
		path string
		hdr  map[string]string
		code int
	}{
		{"/pdns/query/", nil, 400},
		{"/pdns/query", nil, 400},
		{"/pdns/query/www..example.com", nil, 400},
		{"/pdns/query/192.0.2.9-192.0.2.1", nil, 400},
		{"/pdns/query/www.example.com", map[string]string{"dribble-paginate-count": "0"}, 400},
		{"/pdns/query/www.example.com", map[string]string{"dribble-paginate-cursor": "-1"}, 400},
		{"/pdns/query/www.example.com", map[string]string{"dribble-filter-rrtype": "NOPE"}, 400},
		{"/pdns/query/www.example.com", map[string]string{"dribble-paginate-cursor": "2000000"}, 416},
		{"/pdns/queryx", nil, 404},
	} {
		if code, _, body := e.get(tc.path, tc.hdr); code != tc.code {
			t.Errorf("%s %v: %d, want %d (%s)", tc.path, tc.hdr, code, tc.code, body)
		}
	}
}

// TestLookupPageUnion checks the union pager against a brute-force
// reference for every offset and limit.
func TestLookupPageUnion(t *testing.T) {
	e := newEnv(t, nil)
	q1 := store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft}
	q2 := store.Query{Kind: store.KindRDataName, Name: "example.com", Wildcard: store.WildLeft}
	all := circlOracle(e, "*.example.com", "")
	for offset := 0; offset <= len(all)+1; offset++ {
		for limit := 1; limit <= len(all)+1; limit++ {
			var got []tupleKey
			more, err := e.srv.lookupPage(t.Context(), []store.Query{q1, q2}, offset, limit, func(t *pdns.Tuple) error {
				got = append(got, tupleKey{t.RRName, pdns.TypeString(t.RRType), t.RData})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := min(offset, len(all)), min(offset+limit, len(all))
			if !slices.Equal(got, all[lo:hi]) || more != (offset+limit < len(all)) {
				t.Fatalf("offset %d limit %d: got %v more %v; want %v more %v", offset, limit, got, more, all[lo:hi], offset+limit < len(all))
			}
		}
	}
}
