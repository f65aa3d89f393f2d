package recon

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/dnstest"
)

// reply builds a response to "name A" with rcode and the given sections
// (master-file lines).
func reply(t *testing.T, rcode int, aa bool, answer, authority []string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("a.example.com.", dns.TypeA)
	m.Response, m.Rcode, m.Authoritative = true, rcode, aa
	for _, l := range answer {
		m.Answer = append(m.Answer, mustRR(t, l))
	}
	for _, l := range authority {
		m.Ns = append(m.Ns, mustRR(t, l))
	}
	return m
}

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	x, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return x
}

const testSOA = "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 1 2 3 4 5"

// TestJudge is the existence rule over RCODE × answer shape.
func TestJudge(t *testing.T) {
	long := make([]string, 200)
	for i := range long {
		long[i] = fmt.Sprintf("h%d.example.com. 60 IN CNAME h%d.example.com.", i, i+1)
	}
	long[0] = "a.example.com. 60 IN CNAME h1.example.com."
	tests := []struct {
		name      string
		m         *dns.Msg
		known     bool
		exists    bool
		nodata    bool
		alias     bool
		end       ChainEnd
		wantAddrs int
	}{
		{name: "NOERROR with data", m: reply(t, dns.RcodeSuccess, false, []string{"a.example.com. 60 IN A 192.0.2.1"}, nil),
			known: true, exists: true, wantAddrs: 1},
		{name: "owner in another case", m: reply(t, dns.RcodeSuccess, false, []string{"A.Example.COM. 60 IN A 192.0.2.1"}, nil),
			known: true, exists: true, wantAddrs: 1},
		{name: "NODATA", m: reply(t, dns.RcodeSuccess, false, nil, []string{testSOA}),
			known: true, exists: true, nodata: true},
		{name: "NOERROR empty, nothing in authority", m: reply(t, dns.RcodeSuccess, false, nil, nil),
			known: true, exists: true, nodata: true},
		{name: "delegation point", m: reply(t, dns.RcodeSuccess, false, nil, []string{"a.example.com. 60 IN NS ns.example.net."}),
			known: true, exists: true, nodata: true},
		{name: "referral to an ancestor settles nothing", m: reply(t, dns.RcodeSuccess, false, nil, []string{"example.com. 60 IN NS ns.example.net."})},
		{name: "NXDOMAIN", m: reply(t, dns.RcodeNameError, true, nil, []string{testSOA}), known: true},
		{name: "NXDOMAIN with a CNAME of another name", m: reply(t, dns.RcodeNameError, true, []string{"b.example.com. 60 IN CNAME gone.example.net."}, []string{testSOA}), known: true},
		{name: "NXDOMAIN at the chain's end", m: reply(t, dns.RcodeNameError, false, []string{"a.example.com. 60 IN CNAME gone.example.net."}, nil),
			known: true, exists: true, alias: true, end: ChainEnd{Target: "gone.example.net", Rcode: "NXDOMAIN", Hops: 1}},
		{name: "SERVFAIL after a CNAME", m: reply(t, dns.RcodeServerFailure, false, []string{"a.example.com. 60 IN CNAME x.broken.example.net."}, nil),
			known: true, exists: true, alias: true, end: ChainEnd{Target: "x.broken.example.net", Rcode: "SERVFAIL", Hops: 1}},
		{name: "CNAME to data", m: reply(t, dns.RcodeSuccess, false, []string{"a.example.com. 60 IN CNAME www.example.net.", "www.example.net. 60 IN A 192.0.2.7"}, nil),
			known: true, exists: true, alias: true, end: ChainEnd{Target: "www.example.net", Rcode: "NOERROR", Hops: 1}, wantAddrs: 1},
		{name: "CNAME to NODATA", m: reply(t, dns.RcodeSuccess, false, []string{"a.example.com. 60 IN CNAME v6.example.net."}, []string{"example.net. 300 IN SOA ns.example.net. h.example.net. 1 2 3 4 5"}),
			known: true, exists: true, alias: true, end: ChainEnd{Target: "v6.example.net", Rcode: "NODATA", Hops: 1}},
		{name: "CNAME the server did not follow", m: reply(t, dns.RcodeSuccess, true, []string{"a.example.com. 60 IN CNAME www.example.net."}, nil),
			known: true, exists: true, alias: true, end: ChainEnd{Target: "www.example.net", Rcode: "", Hops: 1}},
		{name: "CNAME loop", m: reply(t, dns.RcodeServerFailure, false, []string{"a.example.com. 60 IN CNAME b.example.com.", "b.example.com. 60 IN CNAME a.example.com."}, nil),
			known: true, exists: true, alias: true, end: ChainEnd{Target: "a.example.com", Rcode: "LOOP", Hops: 2, Loop: true}},
		{name: "200-hop chain", m: reply(t, dns.RcodeSuccess, false, long, nil),
			known: true, exists: true, alias: true, end: ChainEnd{Target: "h200.example.com", Rcode: "", Hops: 200}},
		{name: "DNAME with synthesised CNAME", m: reply(t, dns.RcodeSuccess, false, []string{"example.com. 60 IN DNAME example.net.", "a.example.com. 60 IN CNAME a.example.net.", "a.example.net. 60 IN A 192.0.2.9"}, nil),
			known: true, exists: true, alias: true, end: ChainEnd{Target: "a.example.net", Rcode: "NOERROR", Hops: 1}, wantAddrs: 1},
		{name: "DNAME alone", m: reply(t, dns.RcodeSuccess, false, []string{"example.com. 60 IN DNAME example.net.", "a.example.net. 60 IN A 192.0.2.9"}, nil),
			known: true, exists: true, alias: true, end: ChainEnd{Target: "a.example.net", Rcode: "NOERROR", Hops: 1}, wantAddrs: 1},
		{name: "SERVFAIL", m: reply(t, dns.RcodeServerFailure, false, nil, nil)},
		{name: "REFUSED", m: reply(t, dns.RcodeRefused, false, nil, nil)},
		{name: "FORMERR", m: reply(t, dns.RcodeFormatError, false, nil, nil)},
		{name: "NOERROR about other names only", m: reply(t, dns.RcodeSuccess, false, []string{"www.example.com. 60 IN A 192.0.2.66"}, nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := judge("a.example.com", dns.TypeA, tc.m)
			if v.known != tc.known || v.exists != tc.exists || v.nodata != tc.nodata || v.alias != tc.alias {
				t.Errorf("known %v exists %v nodata %v alias %v, want %v %v %v %v", v.known, v.exists, v.nodata, v.alias, tc.known, tc.exists, tc.nodata, tc.alias)
			}
			if tc.alias && v.end != tc.end {
				t.Errorf("chain end %+v, want %+v", v.end, tc.end)
			}
			if len(v.addrs) != tc.wantAddrs {
				t.Errorf("addresses %v, want %d", v.addrs, tc.wantAddrs)
			}
			// Only the chain's own records are ever taken from an answer.
			for _, x := range tc.m.Answer {
				if v.onChain(x) && dnsNameOf(x) != v.name && !slices.Contains(v.chain, dnsNameOf(x)) {
					t.Errorf("%v accepted off the chain %v", x, v.chain)
				}
			}
		})
	}
}

func dnsNameOf(x dns.RR) string { return dns.CanonicalName(x.Header().Name)[:len(x.Header().Name)-1] }

// existenceZone holds a name of every answer shape the existence rule
// distinguishes.
const existenceZone = `
www IN A 192.0.2.1
nodata IN MX 10 www
x.ent IN A 192.0.2.2
dangling IN CNAME gone.example.test.
offsite IN CNAME globex.statuspage.test.
leak IN CNAME jira.corp.acme.local.
alias IN CNAME www
alias-nodata IN CNAME nodata
broken IN CNAME x.umbrella.test.
legacy IN DNAME example.net.
*.wild IN CNAME gone.example.net.
real.wild IN CNAME www
`

// TestExistenceRuleWorlds runs brute force over every answer shape through
// an in-process recursor and through a real Unbound: every name that
// exists is found, whatever its RCODE, and where its chain ends is
// recorded.
func TestExistenceRuleWorlds(t *testing.T) {
	type want struct {
		found bool
		rcode string // chain end; "-" for no chain; "|"-separated alternatives
	}
	wants := map[string]want{
		"www":          {true, "-"},
		"nodata":       {true, "-"},
		"ent":          {true, "-"},
		"dangling":     {true, "NXDOMAIN"},
		"offsite":      {true, "NXDOMAIN"},
		"leak":         {true, "NXDOMAIN"},
		"alias":        {true, "NOERROR"},
		"alias-nodata": {true, "NODATA"},
		// The resolver gives up on the dead zone (SERVFAIL) or times out
		// (not settled): either way recon finds the alias at its own
		// zone's server.
		"broken":  {true, "SERVFAIL|"},
		"legacy":  {true, "-"},
		"wild":    {true, "-"},
		"real":    {false, "-"},
		"missing": {false, "-"},
		"gone":    {false, "-"},
	}
	var words []string
	for w := range wants {
		words = append(words, w)
	}
	slices.Sort(words)
	for _, kind := range resolverKinds() {
		t.Run(string(kind), func(t *testing.T) {
			w := dnstest.NewWorld(t, dnstest.WorldSpec{
				DefaultImpl: dnstest.InProcess,
				Resolver:    kind,
				Zones: []dnstest.WorldZone{
					{Name: "example.test", Records: existenceZone},
					{Name: "statuspage.test", Records: "www IN A 192.0.2.30\n"},
					{Name: "umbrella.test", Records: "x IN A 192.0.2.40\n"},
				},
			})
			w.Servers("umbrella.test")[0].Stop() // its names: SERVFAIL
			res := worldResolver(t, w, 500*time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := Run(ctx, res, "example.test", Options{Wordlist: words, NameserverPort: w.Port, NoPTR: true, NoSRV: true, NoAXFR: true})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*Name{}
			for i := range r.Names {
				got[r.Names[i].Name] = &r.Names[i]
			}
			// Below wild.example.test (an empty non-terminal, brute-forced
			// in turn) a wildcard CNAME whose target is gone answers every
			// word: only the real alias, whose target differs, is a name.
			if _, ok := got["real.wild.example.test"]; !ok {
				t.Error("real.wild.example.test (a CNAME unlike the wildcard's) not found")
			}
			for n := range got {
				if strings.HasSuffix(n, ".wild.example.test") && n != "real.wild.example.test" {
					t.Errorf("wildcard CNAME echo %s reported", n)
				}
			}
			if !slices.ContainsFunc(r.Wildcards, func(w Wildcard) bool { return w.Name == "*.wild.example.test" && w.Type == "CNAME" }) {
				t.Errorf("wildcard CNAME not recorded: %+v", r.Wildcards)
			}
			for _, label := range words {
				wt := wants[label]
				n, found := got[label+".example.test"]
				if found != wt.found {
					t.Errorf("%s: found %v, want %v", label, found, wt.found)
					continue
				}
				if !found {
					continue
				}
				rcode := "-"
				if n.Chain != nil {
					rcode = n.Chain.Rcode
				}
				if !slices.Contains(strings.Split(wt.rcode, "|"), rcode) {
					t.Errorf("%s: chain end %+v, want rcode %s", label, n.Chain, wt.rcode)
				}
			}
		})
	}
}

// TestNameLess: the allocation-free order is the order of the reversed
// names, labels that sort around '.' included.
func TestNameLess(t *testing.T) {
	labels := []string{"a", "a-", "a-b", "ab", "b", "*", "_x", "a0", "com", "example", ""}
	rng := rand.New(rand.NewPCG(1, 2))
	name := func() string {
		n := 1 + rng.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = labels[rng.IntN(len(labels)-1)]
		}
		return strings.Join(parts, ".")
	}
	for range 20000 {
		a, b := name(), name()
		if got, want := nameLess(a, b), dnsname.Reverse(a) < dnsname.Reverse(b); got != want {
			t.Fatalf("nameLess(%q, %q) = %v, want %v", a, b, got, want)
		}
	}
}

// TestRecordIndex: records are deduplicated by (name, type, data), also
// when two keys share a hash.
func TestRecordIndex(t *testing.T) {
	x := newRecordIndex()
	var recs []Record
	add := func(name, data string, sum uint64) bool {
		k := recordKey{name, "A", data}
		if !x.addHashed(recs, k, sum) {
			return false
		}
		recs = append(recs, Record{Name: name, Type: "A", Data: data})
		return true
	}
	steps := []struct {
		name, data string
		sum        uint64
		want       bool
	}{
		{"a.example.com", "192.0.2.1", 1, true},
		{"a.example.com", "192.0.2.1", 1, false}, // the same record again
		{"b.example.com", "192.0.2.2", 1, true},  // another record, same hash
		{"b.example.com", "192.0.2.2", 1, false},
		{"c.example.com", "192.0.2.3", 2, true},
	}
	for i, s := range steps {
		if got := add(s.name, s.data, s.sum); got != s.want {
			t.Errorf("step %d (%s %s): new = %v, want %v", i, s.name, s.data, got, s.want)
		}
	}
}
