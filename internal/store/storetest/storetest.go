// Package storetest is the conformance suite every store.Backend runs: one
// fixture, hand-checked answers for every lookup kind, a brute-force oracle
// (store.Query.Match) for many more queries, paging, merge semantics and
// every optional ability. A backend's test calls Run with a function that
// opens an empty backend. It owns no backend and no data on disk.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/miekg/dns"
)

// T0 is the base time of the fixture.
const T0 = 1_700_000_000

// Fixture returns the suite's tuples. Several keys appear twice so that
// loading exercises merging; Merged gives the expected stored state.
func Fixture() []pdns.Tuple {
	tup := func(name string, t uint16, rdata, bail string, first, last int64, count uint64, sensors ...string) pdns.Tuple {
		return pdns.Tuple{RRName: name, RRType: t, RData: rdata, Bailiwick: bail, TimeFirst: first, TimeLast: last, Count: count, SensorIDs: sensors}
	}
	zone := func(name string, t uint16, rdata string, first, last int64) pdns.Tuple {
		return pdns.Tuple{RRName: name, RRType: t, RData: rdata, ZoneTimeFirst: first, ZoneTimeLast: last, Count: 1}
	}
	return []pdns.Tuple{
		tup("www.example.com", dns.TypeA, "192.0.2.1", "example.com", T0+100, T0+200, 5, "s1"),
		tup("www.example.com", dns.TypeA, "192.0.2.1", "", T0+50, T0+150, 2, "s2"),
		tup("www.example.com", dns.TypeA, "192.0.2.2", "example.com", T0+150, T0+300, 2),
		tup("www.example.com", dns.TypeAAAA, "2001:db8::1", "example.com", T0+100, T0+400, 3, "s1"),
		tup("www.example.com", dns.TypeTXT, `"hello world"`, "example.net", T0+10, T0+20, 1),
		tup("example.com", dns.TypeNS, "ns1.example.net.", "com", T0, T0+1000, 10, "s1"),
		tup("example.com", dns.TypeNS, "ns2.example.net.", "com", T0, T0+900, 9),
		tup("example.com", dns.TypeMX, "10 mail.example.com.", "example.com", T0+5, T0+500, 4),
		tup("example.com", dns.TypeSOA, "ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300", "example.com", T0+1, T0+2, 1),
		tup("example.com", dns.TypeTXT, `"v=spf1 -all"`, "example.com", T0+30, T0+40, 6),
		tup("example.com", dns.TypeDS, "12345 13 2 3A1B5D7E", "com", T0+60, T0+70, 1),
		tup("example.com", dns.TypeDNSKEY, "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==", "example.com", T0+60, T0+80, 2),
		tup("example.com", dns.TypeRRSIG, "DNSKEY 13 2 3600 20240101000000 20231201000000 12345 example.com. c2lnbmF0dXJl", "example.com", T0+60, T0+80, 2),
		tup("mail.example.com", dns.TypeA, "192.0.2.25", "example.com", T0+5, T0+600, 7),
		tup("ftp.example.com", dns.TypeCNAME, "www.example.com.", "example.com", T0+20, T0+25, 1),
		tup("a.b.example.com", dns.TypeA, "192.0.2.77", "example.com", T0+1, T0+1, 1),
		tup(`a\.b.example.com`, dns.TypeA, "192.0.2.78", "example.com", T0+1, T0+1, 1),
		tup("_sip._tcp.example.com", dns.TypeSRV, "10 5 5060 sip.example.com.", "example.com", T0+7, T0+8, 1),
		tup("1.2.0.192.in-addr.arpa", dns.TypePTR, "www.example.com.", "2.0.192.in-addr.arpa", T0+9, T0+10, 1),
		tup("www.example.net", dns.TypeA, "198.51.100.10", "example.net", T0+100, T0+110, 1, "s2"),
		tup("www.example.net", dns.TypeCNAME, "cdn.example.net.", "", T0+100, T0+110, 1),
		tup("www.example.test", dns.TypeA, "203.0.113.5", "test", T0+3000, T0+4000, 1),
		tup("www.example.test", dns.TypeA, "203.0.113.5", "test", T0+2000, T0+2500, 1, "s3", "s1"),
		tup("host.test", dns.TypeAAAA, "2001:db8::2:1", "test", T0+50, T0+60, 1),
		tup("host.test", dns.TypeAAAA, "2001:db8:1::5", "test", T0+50, T0+60, 1),
		tup("host.test", dns.TypeAAAA, "::ffff:192.0.2.1", "test", T0+50, T0+60, 1),
		tup("host.test", dns.TypeHTTPS, "1 svc.example.net. alpn=h2", "test", T0+50, T0+60, 1),
		tup(".", dns.TypeNS, "ns.example.net.", ".", T0+1, T0+2, 1),
		zone("old.example.com", dns.TypeA, "192.0.2.99", T0-1000, T0-500),
		zone("example.com", dns.TypeNS, "ns1.example.net.", T0-2000, T0-100),
	}
}

// Merged folds tuples by key with pdns.Tuple.Merge.
func Merged(ts []pdns.Tuple) map[pdns.Key]pdns.Tuple {
	m := map[pdns.Key]pdns.Tuple{}
	for _, t := range ts {
		t.SensorIDs = slices.Clone(t.SensorIDs)
		slices.Sort(t.SensorIDs)
		t.SensorIDs = slices.Compact(t.SensorIDs)
		if len(t.SensorIDs) == 0 {
			t.SensorIDs = nil
		}
		if o, ok := m[t.Key()]; ok {
			o.Merge(&t)
			m[t.Key()] = o
		} else {
			m[t.Key()] = t
		}
	}
	return m
}

// Run runs the suite; open returns an empty backend and arranges its Close
// with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Backend) {
	t.Run("Lookup", func(t *testing.T) { testLookup(t, open) })
	t.Run("Fields", func(t *testing.T) { testFields(t, open) })
	t.Run("Oracle", func(t *testing.T) { testOracle(t, open) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, open) })
	t.Run("Merge", func(t *testing.T) { testMerge(t, open) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, open) })
	t.Run("Summarize", func(t *testing.T) { testSummarize(t, open) })
	t.Run("Export", func(t *testing.T) { testExport(t, open) })
	t.Run("Prune", func(t *testing.T) { testPrune(t, open) })
	t.Run("PruneAcrossMonths", func(t *testing.T) { RunPruneAcrossMonths(t, open) })
	t.Run("SharedTarget", func(t *testing.T) { RunSharedTarget(t, open) })
	t.Run("Stats", func(t *testing.T) { testStats(t, open) })
	t.Run("NXDomain", func(t *testing.T) { testNXDomain(t, open) })
	t.Run("Meta", func(t *testing.T) { testMeta(t, open) })
	t.Run("Watched", func(t *testing.T) { testWatched(t, open) })
	t.Run("IngestLedger", func(t *testing.T) { testIngestLedger(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open) })
}

func loaded(t *testing.T, open func(t *testing.T) store.Backend) store.Backend {
	t.Helper()
	b := open(t)
	fx := Fixture()
	// Two batches, so that merging happens across batches and inside one.
	if err := b.Upsert(context.Background(), fx[:len(fx)/2]); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	if err := b.Upsert(context.Background(), fx[len(fx)/2:]); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	return b
}

// all runs q to exhaustion (following cursors) and returns the tuples.
func all(t *testing.T, b store.Backend, q store.Query) []pdns.Tuple {
	t.Helper()
	var out []pdns.Tuple
	for range 10_000 {
		cur, err := b.Lookup(context.Background(), q, func(x *pdns.Tuple) error {
			out = append(out, *x)
			return nil
		})
		if err != nil {
			t.Fatalf("Lookup(%+v): %v", q, err)
		}
		if cur == "" {
			return out
		}
		q.Cursor = cur
	}
	t.Fatalf("Lookup(%+v): cursor never ends", q)
	return nil
}

func keyString(t *pdns.Tuple) string {
	return t.RRName + " " + pdns.TypeString(t.RRType) + " " + t.RData
}

func keys(ts []pdns.Tuple) []string {
	out := make([]string, len(ts))
	for i := range ts {
		out[i] = keyString(&ts[i])
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// parse builds a query from the CLI-style form "value[/TYPE]" with an
// optional "rdata:" or "raw:" prefix.
func parse(t *testing.T, spec string) store.Query {
	t.Helper()
	v, typ, _ := strings.Cut(spec, "|")
	var q store.Query
	var err error
	switch {
	case strings.HasPrefix(v, "raw:"):
		q = store.Query{Kind: store.KindRDataRaw, RData: strings.TrimPrefix(v, "raw:")}
	case strings.HasPrefix(v, "rdata:"):
		q, err = store.ParseQuery(strings.TrimPrefix(v, "rdata:"), true)
	default:
		q, err = store.ParseQuery(v, false)
	}
	if err != nil {
		t.Fatalf("parse %q: %v", spec, err)
	}
	if typ != "" {
		if q.Type, err = store.ParseTypeFilter(typ); err != nil {
			t.Fatalf("parse %q: %v", spec, err)
		}
	}
	return q
}

func testLookup(t *testing.T, open func(t *testing.T) store.Backend) {
	b := loaded(t, open)
	tests := slices.Concat(nameLookupCases, rdataLookupCases, addressLookupCases, rawLookupCases, fenceLookupCases)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := parse(t, tc.q)
			if tc.mod != nil {
				tc.mod(&q)
			}
			got := all(t, b, q)
			if g, w := sorted(keys(got)), sorted(tc.want); !slices.Equal(g, w) {
				t.Errorf("Lookup %s:\n got %q\nwant %q", tc.q, g, w)
			}
			again := all(t, b, q)
			if !slices.Equal(keys(got), keys(again)) {
				t.Errorf("order not stable:\n%q\n%q", keys(got), keys(again))
			}
		})
	}
}

// lookupCase is one Lookup against the loaded fixture: the query in
// dnsscout's query syntax, a change to the parsed Query, and the keys of the
// tuples it must return in any order.
type lookupCase struct {
	name string
	q    string
	mod  func(*store.Query)
	want []string
}

// nameLookupCases are exact lookups, left and right wildcards, and the bailiwick filter.
var nameLookupCases = []lookupCase{
	{name: "exact", q: "www.example.com", want: []string{
		"www.example.com A 192.0.2.1", "www.example.com A 192.0.2.2", "www.example.com AAAA 2001:db8::1",
		`www.example.com TXT "hello world"`}},
	{name: "exact type", q: "www.example.com|A", want: []string{"www.example.com A 192.0.2.1", "www.example.com A 192.0.2.2"}},
	{name: "exact type lower case", q: "www.example.com|aaaa", want: []string{"www.example.com AAAA 2001:db8::1"}},
	{name: "exact no such type", q: "www.example.com|MX", want: nil},
	{name: "exact missing", q: "nothing.example.com", want: nil},
	{name: "exact upper case input", q: "WWW.Example.COM.|A", want: []string{"www.example.com A 192.0.2.1", "www.example.com A 192.0.2.2"}},
	{name: "apex ANY excludes DNSSEC", q: "example.com", want: []string{
		"example.com NS ns1.example.net.", "example.com NS ns2.example.net.", "example.com MX 10 mail.example.com.",
		"example.com SOA ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300",
		`example.com TXT "v=spf1 -all"`}},
	{name: "apex ANY-DNSSEC", q: "example.com|ANY-DNSSEC", want: []string{
		"example.com DS 12345 13 2 3A1B5D7E",
		"example.com DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
		"example.com RRSIG DNSKEY 13 2 3600 20240101000000 20231201000000 12345 example.com. c2lnbmF0dXJl"}},
	{name: "apex one DNSSEC type", q: "example.com|DS", want: []string{"example.com DS 12345 13 2 3A1B5D7E"}},
	{name: "root exact", q: ".", want: []string{". NS ns.example.net."}},
	{name: "left wildcard", q: "*.example.com|A", want: []string{
		"www.example.com A 192.0.2.1", "www.example.com A 192.0.2.2", "mail.example.com A 192.0.2.25",
		"a.b.example.com A 192.0.2.77", `a\.b.example.com A 192.0.2.78`, "old.example.com A 192.0.2.99"}},
	{name: "left wildcard excludes apex", q: "*.example.com|NS", want: nil},
	{name: "left wildcard deep", q: "*.b.example.com", want: []string{"a.b.example.com A 192.0.2.77"}},
	{name: "left wildcard service labels", q: "*._tcp.example.com", want: []string{"_sip._tcp.example.com SRV 10 5 5060 sip.example.com."}},
	{name: "left wildcard tld", q: "*.test", want: []string{
		"www.example.test A 203.0.113.5", "host.test AAAA 2001:db8::2:1", "host.test AAAA 2001:db8:1::5",
		"host.test AAAA ::ffff:192.0.2.1", "host.test HTTPS 1 svc.example.net. alpn=h2"}},
	{name: "left wildcard everything", q: "*|CNAME", want: []string{"ftp.example.com CNAME www.example.com.", "www.example.net CNAME cdn.example.net."}},
	{name: "right wildcard", q: "www.example.*|A", want: []string{
		"www.example.com A 192.0.2.1", "www.example.com A 192.0.2.2", "www.example.net A 198.51.100.10", "www.example.test A 203.0.113.5"}},
	{name: "right wildcard excludes the name", q: "host.test.*", want: nil},
	{name: "right wildcard apex", q: "example.*", want: []string{
		"example.com NS ns1.example.net.", "example.com NS ns2.example.net.", "example.com MX 10 mail.example.com.",
		"example.com SOA ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300",
		`example.com TXT "v=spf1 -all"`}},
	{name: "rdata soa once under a wildcard", q: "rdata:.|SOA", want: []string{
		"example.com SOA ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300"}},
	{name: "right wildcard two labels", q: "host.*", want: []string{
		"host.test AAAA 2001:db8::2:1", "host.test AAAA 2001:db8:1::5", "host.test AAAA ::ffff:192.0.2.1", "host.test HTTPS 1 svc.example.net. alpn=h2"}},
	{name: "bailiwick", q: "www.example.com", mod: func(q *store.Query) { q.Bailiwick = "example.net" }, want: []string{`www.example.com TXT "hello world"`}},
	{name: "bailiwick first wins", q: "www.example.com|A", mod: func(q *store.Query) { q.Bailiwick = "example.com" }, want: []string{
		"www.example.com A 192.0.2.1", "www.example.com A 192.0.2.2"}},
	{name: "bailiwick root", q: ".", mod: func(q *store.Query) { q.Bailiwick = "." }, want: []string{". NS ns.example.net."}},
	{name: "bailiwick on wildcard", q: "*.example.com", mod: func(q *store.Query) { q.Bailiwick = "com" }, want: nil},
}

// rdataLookupCases are reverse lookups by a name in rdata.
var rdataLookupCases = []lookupCase{
	{name: "rdata name", q: "rdata:www.example.com", want: []string{
		"ftp.example.com CNAME www.example.com.", "1.2.0.192.in-addr.arpa PTR www.example.com."}},
	{name: "rdata name type", q: "rdata:www.example.com|PTR", want: []string{"1.2.0.192.in-addr.arpa PTR www.example.com."}},
	{name: "rdata name mx", q: "rdata:mail.example.com", want: []string{"example.com MX 10 mail.example.com."}},
	{name: "rdata name soa mname", q: "rdata:ns1.example.net", want: []string{
		"example.com NS ns1.example.net.", "example.com SOA ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300"}},
	{name: "rdata name soa rname", q: "rdata:hostmaster.example.com", want: []string{
		"example.com SOA ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300"}},
	{name: "rdata name srv", q: "rdata:sip.example.com", want: []string{"_sip._tcp.example.com SRV 10 5 5060 sip.example.com."}},
	{name: "rdata name https", q: "rdata:svc.example.net", want: []string{"host.test HTTPS 1 svc.example.net. alpn=h2"}},
	{name: "rdata left wildcard dnsdb form", q: "rdata:.example.net", want: []string{
		"example.com NS ns1.example.net.", "example.com NS ns2.example.net.",
		"example.com SOA ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300",
		"www.example.net CNAME cdn.example.net.", "host.test HTTPS 1 svc.example.net. alpn=h2", ". NS ns.example.net."}},
	{name: "rdata left wildcard star form", q: "rdata:*.example.net|NS", want: []string{
		"example.com NS ns1.example.net.", "example.com NS ns2.example.net.", ". NS ns.example.net."}},
	{name: "rdata right wildcard dnsdb form", q: "rdata:ns1.example.", want: []string{
		"example.com NS ns1.example.net.", "example.com SOA ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300"}},
	{name: "rdata right wildcard star form", q: "rdata:www.example.*", want: []string{
		"ftp.example.com CNAME www.example.com.", "1.2.0.192.in-addr.arpa PTR www.example.com."}},
	{name: "rdata name no match", q: "rdata:example.com", want: nil},
}

// addressLookupCases are reverse lookups by address, prefix and range.
var addressLookupCases = []lookupCase{
	{name: "ip v4", q: "192.0.2.1", want: []string{"www.example.com A 192.0.2.1"}},
	{name: "ip v4 prefix", q: "192.0.2.0/25", want: []string{
		"www.example.com A 192.0.2.1", "www.example.com A 192.0.2.2", "mail.example.com A 192.0.2.25",
		"a.b.example.com A 192.0.2.77", `a\.b.example.com A 192.0.2.78`, "old.example.com A 192.0.2.99"}},
	{name: "ip v4 prefix dnsdb form", q: "192.0.2.64,26", want: []string{
		"a.b.example.com A 192.0.2.77", `a\.b.example.com A 192.0.2.78`, "old.example.com A 192.0.2.99"}},
	{name: "ip v4 range", q: "192.0.2.2-192.0.2.77", want: []string{
		"www.example.com A 192.0.2.2", "mail.example.com A 192.0.2.25", "a.b.example.com A 192.0.2.77"}},
	{name: "ip v4 everything", q: "0.0.0.0/0", want: []string{
		"www.example.com A 192.0.2.1", "www.example.com A 192.0.2.2", "mail.example.com A 192.0.2.25",
		"a.b.example.com A 192.0.2.77", `a\.b.example.com A 192.0.2.78`, "old.example.com A 192.0.2.99",
		"www.example.net A 198.51.100.10", "www.example.test A 203.0.113.5"}},
	{name: "ip v6", q: "2001:db8::1", want: []string{"www.example.com AAAA 2001:db8::1"}},
	{name: "ip v6 prefix", q: "2001:db8::/48", want: []string{
		"www.example.com AAAA 2001:db8::1", "host.test AAAA 2001:db8::2:1"}},
	{name: "ip v6 range", q: "2001:db8::2:0-2001:db8:1::5", want: []string{
		"host.test AAAA 2001:db8::2:1", "host.test AAAA 2001:db8:1::5"}},
	{name: "ip v4-mapped is v6", q: "::ffff:192.0.2.0/120", want: []string{"host.test AAAA ::ffff:192.0.2.1"}},
	{name: "ip type AAAA on v4", q: "192.0.2.1|AAAA", want: nil},
}

// rawLookupCases are reverse lookups by raw rdata.
var rawLookupCases = []lookupCase{
	{name: "raw txt", q: `raw:"v=spf1 -all"`, want: []string{`example.com TXT "v=spf1 -all"`}},
	{name: "raw cname", q: "raw:www.example.com.", want: []string{
		"ftp.example.com CNAME www.example.com.", "1.2.0.192.in-addr.arpa PTR www.example.com."}},
	{name: "raw cname typed", q: "raw:www.example.com.|CNAME", want: []string{"ftp.example.com CNAME www.example.com."}},
	{name: "raw mx", q: "raw:10 mail.example.com.", want: []string{"example.com MX 10 mail.example.com."}},
	{name: "raw soa once", q: "raw:ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300", want: []string{
		"example.com SOA ns1.example.net. hostmaster.example.com. 2024010101 7200 3600 1209600 300"}},
	{name: "raw a", q: "raw:192.0.2.25", want: []string{"mail.example.com A 192.0.2.25"}},
	{name: "raw aaaa", q: "raw:2001:db8::1", want: []string{"www.example.com AAAA 2001:db8::1"}},
	{name: "raw dnssec", q: "raw:12345 13 2 3A1B5D7E|ANY-DNSSEC", want: []string{"example.com DS 12345 13 2 3A1B5D7E"}},
	{name: "raw dnssec hidden by ANY", q: "raw:12345 13 2 3A1B5D7E", want: nil},
	{name: "raw no match", q: `raw:"v=spf1"`, want: nil},
}

// fenceLookupCases are the time fences on every kind of lookup.
var fenceLookupCases = []lookupCase{
	{name: "first after", q: "*.example.com|A", mod: func(q *store.Query) { q.FirstAfter = T0 + 50 }, want: []string{
		"www.example.com A 192.0.2.2"}},
	{name: "first before", q: "*.example.com|A", mod: func(q *store.Query) { q.FirstBefore = T0 + 5 }, want: []string{
		"a.b.example.com A 192.0.2.77", `a\.b.example.com A 192.0.2.78`, "old.example.com A 192.0.2.99"}},
	{name: "last after", q: "*.example.com|A", mod: func(q *store.Query) { q.LastAfter = T0 + 200 }, want: []string{
		"www.example.com A 192.0.2.2", "mail.example.com A 192.0.2.25"}},
	{name: "last before strict", q: "www.example.com|A", mod: func(q *store.Query) { q.LastBefore = T0 + 200 }, want: nil},
	{name: "last before", q: "www.example.com|A", mod: func(q *store.Query) { q.LastBefore = T0 + 201 }, want: []string{"www.example.com A 192.0.2.1"}},
	{name: "window", q: "*.example.com|A", mod: func(q *store.Query) { q.FirstAfter, q.LastBefore = T0, T0+250 }, want: []string{
		"www.example.com A 192.0.2.1", "a.b.example.com A 192.0.2.77", `a\.b.example.com A 192.0.2.78`}},
	{name: "zone-only uses zone times", q: "old.example.com", mod: func(q *store.Query) { q.LastBefore = T0 }, want: []string{"old.example.com A 192.0.2.99"}},
	{name: "sensor times win over zone times", q: "example.com|NS", mod: func(q *store.Query) { q.FirstBefore = T0 }, want: nil},
	{name: "fence on ip lookup", q: "192.0.2.0/24", mod: func(q *store.Query) { q.LastAfter = T0 + 550 }, want: []string{"mail.example.com A 192.0.2.25"}},
	{name: "fence on rdata lookup", q: "rdata:.example.net", mod: func(q *store.Query) { q.LastAfter = T0 + 950 }, want: []string{"example.com NS ns1.example.net."}},
}

func testFields(t *testing.T, open func(t *testing.T) store.Backend) {
	b := loaded(t, open)
	want := Merged(Fixture())
	for _, q := range []store.Query{
		{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildLeft, Type: store.TypeAll},
		{Kind: store.KindRRSet, Name: ".", Type: store.TypeAll},
	} {
		for _, g := range all(t, b, q) {
			w, ok := want[g.Key()]
			if !ok {
				t.Errorf("unexpected tuple %s", keyString(&g))
				continue
			}
			delete(want, g.Key())
			if d := diff(&g, &w); d != "" {
				t.Errorf("%s: %s", keyString(&g), d)
			}
		}
	}
	for k := range want {
		t.Errorf("missing tuple %v", k)
	}
}

// diff describes how got differs from want ("" when equal).
func diff(got, want *pdns.Tuple) string {
	g, w := *got, *want
	if len(g.SensorIDs) == 0 {
		g.SensorIDs = nil
	}
	if len(w.SensorIDs) == 0 {
		w.SensorIDs = nil
	}
	var d []string
	if g.RRName != w.RRName || g.RRType != w.RRType || g.RData != w.RData {
		d = append(d, fmt.Sprintf("key %s vs %s", keyString(&g), keyString(&w)))
	}
	if g.TimeFirst != w.TimeFirst || g.TimeLast != w.TimeLast {
		d = append(d, fmt.Sprintf("time %d-%d, want %d-%d", g.TimeFirst, g.TimeLast, w.TimeFirst, w.TimeLast))
	}
	if g.ZoneTimeFirst != w.ZoneTimeFirst || g.ZoneTimeLast != w.ZoneTimeLast {
		d = append(d, fmt.Sprintf("zone time %d-%d, want %d-%d", g.ZoneTimeFirst, g.ZoneTimeLast, w.ZoneTimeFirst, w.ZoneTimeLast))
	}
	if g.Count != w.Count {
		d = append(d, fmt.Sprintf("count %d, want %d", g.Count, w.Count))
	}
	if g.Bailiwick != w.Bailiwick {
		d = append(d, fmt.Sprintf("bailiwick %q, want %q", g.Bailiwick, w.Bailiwick))
	}
	if !slices.Equal(g.SensorIDs, w.SensorIDs) {
		d = append(d, fmt.Sprintf("sensors %q, want %q", g.SensorIDs, w.SensorIDs))
	}
	return strings.Join(d, "; ")
}

// oracleQueries builds many queries from the fixture itself.
func oracleQueries(fx []pdns.Tuple) []store.Query {
	var qs []store.Query
	types := []store.TypeFilter{store.TypeANY, store.TypeANYDNSSEC, store.TypeAll, store.OneType(dns.TypeA), store.OneType(dns.TypeNS)}
	seen := map[string]bool{}
	add := func(q store.Query) {
		k := fmt.Sprintf("%+v", q)
		if !seen[k] {
			seen[k] = true
			qs = append(qs, q)
		}
	}
	for _, t := range fx {
		names := []string{"."}
		ls := labels(t.RRName)
		for i := range ls {
			names = append(names, strings.Join(ls[i:], "."))
		}
		for _, n := range names {
			for _, ty := range types {
				add(store.Query{Kind: store.KindRRSet, Name: n, Type: ty})
				add(store.Query{Kind: store.KindRRSet, Name: n, Wildcard: store.WildLeft, Type: ty})
				if n != "." {
					first := labels(n)[0]
					add(store.Query{Kind: store.KindRRSet, Name: first, Wildcard: store.WildRight, Type: ty})
					add(store.Query{Kind: store.KindRDataName, Name: n, Type: ty})
					add(store.Query{Kind: store.KindRDataName, Name: first, Wildcard: store.WildRight, Type: ty})
				}
				add(store.Query{Kind: store.KindRDataName, Name: n, Wildcard: store.WildLeft, Type: ty})
			}
		}
		add(store.Query{Kind: store.KindRDataRaw, RData: t.RData, Type: store.TypeAll})
		add(store.Query{Kind: store.KindRDataRaw, RData: t.RData, Type: store.OneType(t.RRType)})
		if a, ok := store.RDataIP(t.RRType, t.RData); ok {
			for _, bits := range []int{8, 16, 24, 28, 32, 64, 120, 128} {
				if bits > a.BitLen() {
					continue
				}
				p := netip.PrefixFrom(a, bits).Masked()
				lo, hi, _ := store.ParseIPQuery(p.String())
				add(store.Query{Kind: store.KindRDataIP, IPLow: lo, IPHigh: hi})
				add(store.Query{Kind: store.KindRDataIP, IPLow: a, IPHigh: hi})
				add(store.Query{Kind: store.KindRDataIP, IPLow: lo, IPHigh: a})
			}
		}
	}
	// Fences over everything.
	for _, f := range []int64{T0 - 1500, T0, T0 + 5, T0 + 100, T0 + 300, T0 + 2500} {
		base := store.Query{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildLeft, Type: store.TypeAll}
		for i := range 4 {
			q := base
			switch i {
			case 0:
				q.FirstBefore = f
			case 1:
				q.FirstAfter = f
			case 2:
				q.LastBefore = f
			case 3:
				q.LastAfter = f
			}
			add(q)
		}
	}
	return qs
}

// labels splits a presentation name on its unescaped dots.
func labels(name string) []string {
	if name == "." {
		return nil
	}
	var out []string
	start := 0
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '.':
			out = append(out, name[start:i])
			start = i + 1
		}
	}
	return append(out, name[start:])
}

func testOracle(t *testing.T, open func(t *testing.T) store.Backend) {
	b := loaded(t, open)
	merged := Merged(Fixture())
	for _, q := range oracleQueries(Fixture()) {
		vq := q
		if err := vq.Validate(); err != nil {
			t.Fatalf("oracle query %+v: %v", q, err)
		}
		var want []string
		for _, tu := range merged {
			if vq.Match(&tu) {
				want = append(want, keyString(&tu))
			}
		}
		got := keys(all(t, b, q))
		if g, w := sorted(got), sorted(want); !slices.Equal(g, w) {
			t.Errorf("query %+v:\n got %q\nwant %q", q, g, w)
		}
		if len(got) != len(slices.Compact(sorted(got))) {
			t.Errorf("query %+v: duplicates in %q", q, got)
		}
	}
}

func testPaging(t *testing.T, open func(t *testing.T) store.Backend) {
	b := loaded(t, open)
	ctx := context.Background()
	for _, spec := range []string{"*|ALL", "*.example.com", "www.example.*", "rdata:.example.net", "rdata:www.example.*",
		"192.0.2.0/24", "2001:db8::/32", "raw:www.example.com.", "example.com|ALL"} {
		t.Run(spec, func(t *testing.T) {
			q := parse(t, spec)
			full := keys(all(t, b, q))
			if len(full) < 2 {
				t.Fatalf("paging query %s matches %d tuples; the fixture should give more", spec, len(full))
			}
			for _, size := range []int{1, 2, 3, 7} {
				var pages []string
				p := q
				p.Limit = size
				for n := 0; ; n++ {
					var page []string
					cur, err := b.Lookup(ctx, p, func(x *pdns.Tuple) error { page = append(page, keyString(x)); return nil })
					if err != nil {
						t.Fatalf("page %d: %v", n, err)
					}
					if len(page) > size {
						t.Fatalf("page of %d tuples with limit %d", len(page), size)
					}
					pages = append(pages, page...)
					if (cur != "") != (len(pages) < len(full)) {
						t.Fatalf("size %d page %d: cursor %q after %d of %d tuples", size, n, cur, len(pages), len(full))
					}
					if cur == "" {
						break
					}
					if n > len(full) {
						t.Fatalf("size %d: too many pages", size)
					}
					p.Cursor = cur
				}
				if !slices.Equal(pages, full) {
					t.Errorf("size %d: pages give\n%q\nwant\n%q", size, pages, full)
				}
			}
			for off := 0; off <= len(full); off++ {
				for _, lim := range []int{1, 3} {
					var got []string
					p := q
					p.Offset, p.Limit = off, lim
					cur, err := b.Lookup(ctx, p, func(x *pdns.Tuple) error { got = append(got, keyString(x)); return nil })
					if err != nil {
						t.Fatal(err)
					}
					want := full[off:min(off+lim, len(full))]
					if !slices.Equal(got, want) {
						t.Errorf("offset %d limit %d: %q, want %q", off, lim, got, want)
					}
					if (cur != "") != (off+lim < len(full)) {
						t.Errorf("offset %d limit %d: cursor %q with %d tuples", off, lim, cur, len(full))
					}
					// The integer cursor form is an offset.
					var viaCursor []string
					p.Offset, p.Cursor = 0, fmt.Sprint(off)
					if _, err := b.Lookup(ctx, p, func(x *pdns.Tuple) error { viaCursor = append(viaCursor, keyString(x)); return nil }); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(viaCursor, want) {
						t.Errorf("cursor %d limit %d: %q, want %q", off, lim, viaCursor, want)
					}
				}
			}
		})
	}
	t.Run("callback error", func(t *testing.T) {
		boom := errors.New("boom")
		n := 0
		_, err := b.Lookup(ctx, parse(t, "*|ALL"), func(*pdns.Tuple) error { n++; return boom })
		if !errors.Is(err, boom) || n != 1 {
			t.Errorf("Lookup with failing callback: err %v after %d calls, want boom after 1", err, n)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		q := parse(t, "*")
		q.Cursor = "not a cursor!"
		if _, err := b.Lookup(ctx, q, func(*pdns.Tuple) error { return nil }); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("bad cursor: %v, want ErrBadCursor", err)
		}
	})
}

func testMerge(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	ctx := context.Background()
	k := pdns.Tuple{RRName: "m.example.com", RRType: dns.TypeA, RData: "192.0.2.200"}
	steps := []pdns.Tuple{
		{Count: 1, TimeFirst: T0 + 50, TimeLast: T0 + 60, SensorIDs: []string{"b"}},
		{Count: 2, TimeFirst: T0 + 10, TimeLast: T0 + 20, Bailiwick: "example.com", SensorIDs: []string{"a", "c"}},
		{Count: 3, ZoneTimeFirst: T0 - 100, ZoneTimeLast: T0 - 90, Bailiwick: "com"},
		{Count: 4, TimeFirst: T0 + 70, TimeLast: T0 + 80, ZoneTimeFirst: T0 - 200, ZoneTimeLast: T0 - 150, SensorIDs: []string{"b"}},
	}
	var want pdns.Tuple
	for i, s := range steps {
		s.RRName, s.RRType, s.RData = k.RRName, k.RRType, k.RData
		if i == 0 {
			want = s
			want.SensorIDs = slices.Clone(s.SensorIDs)
		} else {
			want.Merge(&s)
		}
		// The last two in one batch: merging inside a batch too.
		if i == 2 {
			continue
		}
		batch := []pdns.Tuple{s}
		if i == 3 {
			p := steps[2]
			p.RRName, p.RRType, p.RData = k.RRName, k.RRType, k.RData
			batch = []pdns.Tuple{p, s}
		}
		if err := b.Upsert(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got := all(t, b, store.Query{Kind: store.KindRRSet, Name: k.RRName, Type: store.TypeAll})
	if len(got) != 1 {
		t.Fatalf("got %d tuples, want 1", len(got))
	}
	if d := diff(&got[0], &want); d != "" {
		t.Errorf("merged tuple: %s", d)
	}
	if want.Count != 10 || want.TimeFirst != T0+10 || want.TimeLast != T0+80 || want.ZoneTimeFirst != T0-200 || want.Bailiwick != "example.com" {
		t.Fatalf("the suite's expectation is wrong: %+v", want)
	}
	// Upserting an empty batch is fine.
	if err := b.Upsert(ctx, nil); err != nil {
		t.Errorf("Upsert(nil): %v", err)
	}
}

func testBadInput(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	ctx := context.Background()
	good := pdns.Tuple{RRName: "ok.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Count: 1, TimeFirst: T0, TimeLast: T0}
	for _, tc := range []struct {
		name string
		mod  func(*pdns.Tuple)
	}{
		{"empty name", func(t *pdns.Tuple) { t.RRName = "" }},
		{"empty label", func(t *pdns.Tuple) { t.RRName = "a..example.com" }},
		{"trailing dot", func(t *pdns.Tuple) { t.RRName = "a.example.com." }},
		{"control byte", func(t *pdns.Tuple) { t.RRName = "a\x00b.example.com" }},
		{"space", func(t *pdns.Tuple) { t.RRName = "a b.example.com" }},
		{"empty rdata", func(t *pdns.Tuple) { t.RData = "" }},
		{"A not an IPv4 address", func(t *pdns.Tuple) { t.RData = "999.1.1.1" }},
		{"AAAA not an IPv6 address", func(t *pdns.Tuple) { t.RRType, t.RData = dns.TypeAAAA, "192.0.2.1" }},
		{"MX without preference", func(t *pdns.Tuple) { t.RRType, t.RData = dns.TypeMX, "mail.example.com." }},
		{"NUL byte in TXT", func(t *pdns.Tuple) { t.RRType, t.RData = dns.TypeTXT, "\"a\x00b\"" }},
		{"type OPT", func(t *pdns.Tuple) { t.RRType = dns.TypeOPT }},
		{"label over 63 octets", func(t *pdns.Tuple) { t.RRName = strings.Repeat("a", 64) + ".example.com" }},
		{"negative time", func(t *pdns.Tuple) { t.TimeFirst = -1 }},
		{"bad bailiwick", func(t *pdns.Tuple) { t.Bailiwick = "bad..bailiwick" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := good
			tc.mod(&bad)
			err := b.Upsert(ctx, []pdns.Tuple{good, bad})
			if !errors.Is(err, store.ErrBadTuple) {
				t.Fatalf("Upsert: %v, want ErrBadTuple", err)
			}
			if got := all(t, b, store.Query{Kind: store.KindRRSet, Name: "ok.example.com"}); len(got) != 0 {
				t.Errorf("a failed batch was partly written: %q", keys(got))
			}
		})
	}
	for _, tc := range []struct {
		name string
		q    store.Query
	}{
		{"no kind", store.Query{Name: "example.com"}},
		{"empty name", store.Query{Kind: store.KindRRSet}},
		{"bad name", store.Query{Kind: store.KindRRSet, Name: "a..b"}},
		{"right wildcard of root", store.Query{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildRight}},
		{"no address", store.Query{Kind: store.KindRDataIP}},
		{"mixed families", store.Query{Kind: store.KindRDataIP, IPLow: netip.MustParseAddr("192.0.2.1"), IPHigh: netip.MustParseAddr("2001:db8::1")}},
		{"reversed range", store.Query{Kind: store.KindRDataIP, IPLow: netip.MustParseAddr("192.0.2.9"), IPHigh: netip.MustParseAddr("192.0.2.1")}},
		{"ip with MX type", store.Query{Kind: store.KindRDataIP, IPLow: netip.MustParseAddr("192.0.2.1"), IPHigh: netip.MustParseAddr("192.0.2.1"), Type: store.OneType(dns.TypeMX)}},
		{"empty raw", store.Query{Kind: store.KindRDataRaw}},
		{"bailiwick on rdata", store.Query{Kind: store.KindRDataName, Name: "example.com", Bailiwick: "com"}},
		{"negative limit", store.Query{Kind: store.KindRRSet, Name: "example.com", Limit: -1}},
		{"negative fence", store.Query{Kind: store.KindRRSet, Name: "example.com", LastAfter: -5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Lookup(ctx, tc.q, func(*pdns.Tuple) error { return nil })
			if !errors.Is(err, store.ErrBadQuery) {
				t.Errorf("Lookup(%+v): %v, want ErrBadQuery", tc.q, err)
			}
		})
	}
}

func testSummarize(t *testing.T, open func(t *testing.T) store.Backend) {
	b := loaded(t, open)
	ctx := context.Background()
	merged := Merged(Fixture())
	for _, spec := range []string{"*.example.com", "example.com|ALL", "192.0.2.0/24", "rdata:.example.net", "nothing.example.com"} {
		q := parse(t, spec)
		vq := q
		if err := vq.Validate(); err != nil {
			t.Fatal(err)
		}
		var want store.Summary
		for _, tu := range merged {
			if vq.Match(&tu) {
				want.Add(&tu)
			}
		}
		got, err := store.Summarize(ctx, b, q, 0)
		if err != nil {
			t.Fatalf("Summarize %s: %v", spec, err)
		}
		if got != want {
			t.Errorf("Summarize %s: %+v, want %+v", spec, got, want)
		}
	}
	// max_count stops early, after the tuple that reaches it.
	got, err := store.Summarize(ctx, b, parse(t, "*|ALL"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count < 3 || got.NumResults < 1 || got.NumResults >= int64(len(merged)) {
		t.Errorf("Summarize with max_count 3: %+v", got)
	}
}

func testExport(t *testing.T, open func(t *testing.T) store.Backend) {
	b := loaded(t, open)
	want := Merged(Fixture())
	n := 0
	err := store.Export(context.Background(), b, func(g *pdns.Tuple) error {
		n++
		w, ok := want[g.Key()]
		if !ok {
			t.Errorf("exported unknown or duplicate tuple %s", keyString(g))
			return nil
		}
		delete(want, g.Key())
		if d := diff(g, &w); d != "" {
			t.Errorf("%s: %s", keyString(g), d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range want {
		t.Errorf("not exported: %v", k)
	}
	if n == 0 {
		t.Error("nothing exported")
	}
}

func testPrune(t *testing.T, open func(t *testing.T) store.Backend) {
	b := loaded(t, open)
	p, ok := b.(store.Pruner)
	if !ok {
		t.Skip("backend has no Prune")
	}
	ctx := context.Background()
	if nx, ok := b.(store.NXDomainWriter); ok {
		if err := nx.AddNXDomain(ctx, []store.NXCount{{Name: "gone.example.com", Count: 1, TimeFirst: T0, TimeLast: T0 + 10}, {Name: "kept.example.com", Count: 1, TimeFirst: T0, TimeLast: T0 + 5000}}); err != nil {
			t.Fatal(err)
		}
	}
	cut := int64(T0 + 300)
	merged := Merged(Fixture())
	var keep, drop []string
	for _, tu := range merged {
		if max(tu.TimeLast, tu.ZoneTimeLast) < cut {
			drop = append(drop, keyString(&tu))
		} else {
			keep = append(keep, keyString(&tu))
		}
	}
	res, err := p.Prune(ctx, time.Unix(cut, 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Tuples != int64(len(drop)) {
		t.Errorf("Prune deleted %d tuples, want %d", res.Tuples, len(drop))
	}
	if _, ok := b.(store.NXDomainWriter); ok && res.NXDomainNames != 1 {
		t.Errorf("Prune deleted %d NXDOMAIN names, want 1", res.NXDomainNames)
	}
	got := keys(all(t, b, store.Query{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildLeft, Type: store.TypeAll}))
	got = append(got, keys(all(t, b, store.Query{Kind: store.KindRRSet, Name: ".", Type: store.TypeAll}))...)
	if g, w := sorted(got), sorted(keep); !slices.Equal(g, w) {
		t.Errorf("after prune:\n got %q\nwant %q", g, w)
	}
	// Every access path forgets the pruned tuples.
	for _, spec := range []string{"ftp.example.com", "www.example.*", "rdata:www.example.com", "rdata:www.example.*", "rdata:.example.net",
		"192.0.2.77", "2001:db8::/32", `raw:"hello world"`, "raw:www.example.com.", "host.*"} {
		q := parse(t, spec)
		q.Type = store.TypeAll
		for _, g := range keys(all(t, b, q)) {
			if slices.Contains(drop, g) {
				t.Errorf("%s still finds pruned %s", spec, g)
			}
		}
	}
	// A pruned key comes back with only the new sighting.
	again := pdns.Tuple{RRName: "ftp.example.com", RRType: dns.TypeCNAME, RData: "www.example.com.", Count: 1, TimeFirst: T0 + 9000, TimeLast: T0 + 9000}
	if err := b.Upsert(ctx, []pdns.Tuple{again}); err != nil {
		t.Fatal(err)
	}
	g := all(t, b, parse(t, "rdata:www.example.*"))
	if len(g) != 1 || diff(&g[0], &again) != "" {
		t.Errorf("re-added tuple: %+v, want %+v", g, again)
	}
	// Pruning everything leaves nothing behind, the root name included.
	if _, err := p.Prune(ctx, time.Unix(T0+100_000, 0)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []store.Query{
		{Kind: store.KindRRSet, Name: ".", Type: store.TypeAll},
		{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildLeft, Type: store.TypeAll},
		{Kind: store.KindRDataName, Name: ".", Wildcard: store.WildLeft, Type: store.TypeAll},
	} {
		if left := all(t, b, q); len(left) != 0 {
			t.Errorf("after pruning everything, %+v finds %q", q, keys(left))
		}
	}
	if sr, ok := b.(store.StatsReporter); ok {
		st, err := sr.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Tuples != 0 || st.Names != 0 || st.NXDomainNames != 0 {
			t.Errorf("after pruning everything: %d tuples, %d names, %d NXDOMAIN names", st.Tuples, st.Names, st.NXDomainNames)
		}
	}
}

func testStats(t *testing.T, open func(t *testing.T) store.Backend) {
	b := loaded(t, open)
	sr, ok := b.(store.StatsReporter)
	if !ok {
		t.Skip("backend has no Stats")
	}
	ctx := context.Background()
	if nx, ok := b.(store.NXDomainWriter); ok {
		if err := nx.AddNXDomain(ctx, []store.NXCount{{Name: "a.example.com", Count: 1}, {Name: "b.example.com", Count: 1}, {Name: "a.example.com", Count: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sr.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	merged := Merged(Fixture())
	byType := map[uint16]int64{}
	names := map[string]bool{}
	var count uint64
	for _, tu := range merged {
		byType[tu.RRType]++
		names[tu.RRName] = true
		count += tu.Count
	}
	if st.Tuples != int64(len(merged)) || st.Names != int64(len(names)) || st.Count != count {
		t.Errorf("Stats: %d tuples, %d names, count %d; want %d, %d, %d", st.Tuples, st.Names, st.Count, len(merged), len(names), count)
	}
	for ty, n := range byType {
		if st.ByType[ty] != n {
			t.Errorf("Stats: %d %s tuples, want %d", st.ByType[ty], pdns.TypeString(ty), n)
		}
	}
	if _, ok := b.(store.NXDomainWriter); ok && st.NXDomainNames != 2 {
		t.Errorf("Stats: %d NXDOMAIN names, want 2", st.NXDomainNames)
	}
	if st.TimeFirst != T0-2000 || st.TimeLast != T0+4000 {
		t.Errorf("Stats: time range %d-%d, want %d-%d", st.TimeFirst, st.TimeLast, T0-2000, T0+4000)
	}
	if st.BytesOnDisk <= 0 {
		t.Errorf("Stats: %d bytes on disk", st.BytesOnDisk)
	}
}

func testNXDomain(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	w, ok1 := b.(store.NXDomainWriter)
	r, ok2 := b.(store.NXDomainReader)
	if !ok1 || !ok2 {
		t.Skip("backend has no NXDOMAIN counters")
	}
	ctx := context.Background()
	batches := [][]store.NXCount{
		{{Name: "nx1.example.com", Count: 2, TimeFirst: T0 + 10, TimeLast: T0 + 20}, {Name: "nx2.example.com", Count: 1, TimeFirst: T0, TimeLast: T0}},
		{{Name: "nx1.example.com", Count: 3, TimeFirst: T0 + 5, TimeLast: T0 + 15}, {Name: "deep.nx3.example.com", Count: 1, TimeFirst: T0 + 1, TimeLast: T0 + 1}},
		{{Name: "example.com", Count: 1, TimeFirst: T0, TimeLast: T0}, {Name: "nx.example.net", Count: 7, TimeFirst: T0, TimeLast: T0 + 99}},
	}
	for _, bt := range batches {
		if err := w.AddNXDomain(ctx, bt); err != nil {
			t.Fatal(err)
		}
	}
	get := func(q store.Query) []store.NXCount {
		var out []store.NXCount
		for range 1000 {
			cur, err := r.LookupNXDomain(ctx, q, func(c *store.NXCount) error { out = append(out, *c); return nil })
			if err != nil {
				t.Fatalf("LookupNXDomain(%+v): %v", q, err)
			}
			if cur == "" {
				return out
			}
			q.Cursor = cur
		}
		t.Fatalf("LookupNXDomain(%+v): the cursor never ends", q)
		return nil
	}
	got := get(store.Query{Kind: store.KindRRSet, Name: "nx1.example.com"})
	if want := (store.NXCount{Name: "nx1.example.com", Count: 5, TimeFirst: T0 + 5, TimeLast: T0 + 20}); len(got) != 1 || got[0] != want {
		t.Errorf("exact: %+v, want %+v", got, want)
	}
	names := func(cs []store.NXCount) []string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name)
		}
		return sorted(s)
	}
	if g, w := names(get(store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, Limit: 1})),
		[]string{"deep.nx3.example.com", "nx1.example.com", "nx2.example.com"}; !slices.Equal(g, w) {
		t.Errorf("left wildcard paged by 1: %q, want %q", g, w)
	}
	if g, w := names(get(store.Query{Kind: store.KindRRSet, Name: "nx", Wildcard: store.WildRight})), []string{"nx.example.net"}; !slices.Equal(g, w) {
		t.Errorf("right wildcard: %q, want %q", g, w)
	}
	if g, w := names(get(store.Query{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildLeft, LastAfter: T0 + 15})), []string{"nx.example.net", "nx1.example.com"}; !slices.Equal(g, w) {
		t.Errorf("time fence: %q, want %q", g, w)
	}
	if err := w.AddNXDomain(ctx, []store.NXCount{{Name: "bad..name", Count: 1}}); !errors.Is(err, store.ErrBadTuple) {
		t.Errorf("bad name: %v, want ErrBadTuple", err)
	}
}

func testMeta(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	ms, ok := b.(store.MetaStore)
	if !ok {
		t.Skip("backend has no Meta")
	}
	ctx := context.Background()
	keysNS, err := ms.Meta("apikeys")
	if err != nil {
		t.Fatal(err)
	}
	other, err := ms.Meta("other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Meta(""); err == nil {
		t.Error("Meta(\"\") succeeded")
	}
	if _, err := keysNS.Get(ctx, "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}
	for k, v := range map[string]string{"k1": "one", "k2": "two", "k10": "ten", "j": "jay", "": "empty key"} {
		if err := keysNS.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Put(ctx, "k1", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if err := keysNS.Put(ctx, "k2", []byte("two again")); err != nil {
		t.Fatal(err)
	}
	if v, err := keysNS.Get(ctx, "k2"); err != nil || string(v) != "two again" {
		t.Errorf("Get k2: %q %v", v, err)
	}
	if v, err := other.Get(ctx, "k1"); err != nil || string(v) != "other" {
		t.Errorf("namespaces leak: %q %v", v, err)
	}
	var listed []string
	if err := keysNS.List(ctx, "k", func(k string, v []byte) error { listed = append(listed, k+"="+string(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	if w := []string{"k1=one", "k10=ten", "k2=two again"}; !slices.Equal(listed, w) {
		t.Errorf("List k: %q, want %q", listed, w)
	}
	if err := keysNS.Delete(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := keysNS.Delete(ctx, "never"); err != nil {
		t.Errorf("Delete missing: %v", err)
	}
	if _, err := keysNS.Get(ctx, "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get deleted: %v", err)
	}
	listed = nil
	if err := keysNS.List(ctx, "", func(k string, v []byte) error { listed = append(listed, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if w := []string{"", "j", "k10", "k2"}; !slices.Equal(listed, w) {
		t.Errorf("List all: %q, want %q", listed, w)
	}
	// Meta never shows up as tuples.
	if got := all(t, b, store.Query{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildLeft, Type: store.TypeAll}); len(got) != 0 {
		t.Errorf("meta entries leak into lookups: %q", keys(got))
	}
}

func testConcurrent(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	ctx := context.Background()
	const writers, rounds = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				batch := []pdns.Tuple{
					{RRName: "hot.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Count: 1, TimeFirst: T0 + int64(i), TimeLast: T0 + int64(i)},
					{RRName: fmt.Sprintf("w%d-%d.example.com", w, i), RRType: dns.TypeA, RData: "192.0.2.2", Count: 1, TimeFirst: T0, TimeLast: T0},
				}
				if err := b.Upsert(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var rg sync.WaitGroup
	for range 2 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			var last uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				var c uint64
				_, err := b.Lookup(ctx, store.Query{Kind: store.KindRRSet, Name: "hot.example.com"}, func(x *pdns.Tuple) error { c = x.Count; return nil })
				if err != nil {
					errs <- err
					return
				}
				if c < last {
					errs <- fmt.Errorf("count went backwards: %d after %d", c, last)
					return
				}
				last = c
				if _, err := b.Lookup(ctx, store.Query{Kind: store.KindRDataIP, IPLow: netip.MustParseAddr("192.0.2.2"), IPHigh: netip.MustParseAddr("192.0.2.2"), Limit: 10}, func(*pdns.Tuple) error { return nil }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := all(t, b, store.Query{Kind: store.KindRRSet, Name: "hot.example.com"})
	if len(got) != 1 || got[0].Count != writers*rounds || got[0].TimeFirst != T0 || got[0].TimeLast != T0+rounds-1 {
		t.Errorf("after concurrent upserts: %+v, want count %d", got, writers*rounds)
	}
	if n := len(all(t, b, store.Query{Kind: store.KindRDataIP, IPLow: netip.MustParseAddr("192.0.2.2"), IPHigh: netip.MustParseAddr("192.0.2.2")})); n != writers*rounds {
		t.Errorf("%d distinct tuples, want %d", n, writers*rounds)
	}
}
