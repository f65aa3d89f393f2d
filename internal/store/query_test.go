package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/miekg/dns"
)

func TestParseQuery(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		in      string
		rdata   bool
		want    Query
		wantErr bool
	}{
		{in: "www.example.com", want: Query{Kind: KindRRSet, Name: "www.example.com"}},
		{in: "WWW.Example.COM.", want: Query{Kind: KindRRSet, Name: "www.example.com"}},
		{in: " www.example.com ", want: Query{Kind: KindRRSet, Name: "www.example.com"}},
		{in: "*.example.com", want: Query{Kind: KindRRSet, Name: "example.com", Wildcard: WildLeft}},
		{in: "www.example.*", want: Query{Kind: KindRRSet, Name: "www.example", Wildcard: WildRight}},
		{in: "*", want: Query{Kind: KindRRSet, Name: ".", Wildcard: WildLeft}},
		{in: ".", want: Query{Kind: KindRRSet, Name: "."}},
		{in: "_sip._tcp.example.com", want: Query{Kind: KindRRSet, Name: "_sip._tcp.example.com"}},
		{in: "0/25.2.0.192.in-addr.arpa", want: Query{Kind: KindRRSet, Name: "0/25.2.0.192.in-addr.arpa"}},
		{in: "bücher.example", want: Query{Kind: KindRRSet, Name: "xn--bcher-kva.example"}},
		{in: "10-0-0-1.example.com", want: Query{Kind: KindRRSet, Name: "10-0-0-1.example.com"}},
		{in: "www.example.com", rdata: true, want: Query{Kind: KindRDataName, Name: "www.example.com"}},
		{in: ".example.com", rdata: true, want: Query{Kind: KindRDataName, Name: "example.com", Wildcard: WildLeft}},
		{in: "*.example.com", rdata: true, want: Query{Kind: KindRDataName, Name: "example.com", Wildcard: WildLeft}},
		{in: "www.example.", rdata: true, want: Query{Kind: KindRDataName, Name: "www.example", Wildcard: WildRight}},
		{in: "www.example.*", rdata: true, want: Query{Kind: KindRDataName, Name: "www.example", Wildcard: WildRight}},
		{in: "192.0.2.1", want: Query{Kind: KindRDataIP, IPLow: ip("192.0.2.1"), IPHigh: ip("192.0.2.1")}},
		{in: "192.0.2.1", rdata: true, want: Query{Kind: KindRDataIP, IPLow: ip("192.0.2.1"), IPHigh: ip("192.0.2.1")}},
		{in: "192.0.2.77/24", want: Query{Kind: KindRDataIP, IPLow: ip("192.0.2.0"), IPHigh: ip("192.0.2.255")}},
		{in: "198.51.100.0,23", want: Query{Kind: KindRDataIP, IPLow: ip("198.51.100.0"), IPHigh: ip("198.51.101.255")}},
		{in: "203.0.113.1-203.0.113.9", want: Query{Kind: KindRDataIP, IPLow: ip("203.0.113.1"), IPHigh: ip("203.0.113.9")}},
		{in: "2001:db8::/32", want: Query{Kind: KindRDataIP, IPLow: ip("2001:db8::"), IPHigh: ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")}},
		{in: "2001:db8::1,127", want: Query{Kind: KindRDataIP, IPLow: ip("2001:db8::"), IPHigh: ip("2001:db8::1")}},
		{in: "0.0.0.0/0", want: Query{Kind: KindRDataIP, IPLow: ip("0.0.0.0"), IPHigh: ip("255.255.255.255")}},
		{in: "", wantErr: true},
		{in: "a..b", wantErr: true},
		{in: ".*", wantErr: true},
		{in: "*.", want: Query{Kind: KindRRSet, Name: ".", Wildcard: WildLeft}},
		{in: "exa mple.com", wantErr: true},
		{in: "192.0.2.9-192.0.2.1", wantErr: true},
		{in: "192.0.2.1-2001:db8::1", wantErr: true},
		{in: "192.0.2.0/33", wantErr: true},
		{in: "192.0.2.1-", wantErr: true},
		{in: "fe80::1%eth0", wantErr: true},
		// Found by FuzzParseQuery: IDNA maps a soft hyphen to nothing.
		{in: "\u00ad", rdata: true, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseQuery(tc.in, tc.rdata)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseQuery(%q) = %+v, want an error", tc.in, got)
				}
				if !errors.Is(err, ErrBadQuery) {
					t.Errorf("error %v does not wrap ErrBadQuery", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseQuery(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("parsed query does not validate: %v", err)
			}
		})
	}
}

func TestParseTypeFilter(t *testing.T) {
	tests := []struct {
		in   string
		want TypeFilter
		err  bool
	}{
		{"", TypeANY, false}, {"ANY", TypeANY, false}, {"any", TypeANY, false},
		{"ANY-DNSSEC", TypeANYDNSSEC, false}, {"any-dnssec", TypeANYDNSSEC, false}, {"ALL", TypeAll, false},
		{"A", TypeFilter(dns.TypeA), false}, {"aaaa", TypeFilter(dns.TypeAAAA), false}, {"TYPE65", TypeFilter(65), false},
		{"TYPE0", 0, true}, {"BOGUS", 0, true}, {"TYPE70000", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseTypeFilter(tc.in)
		if tc.err != (err != nil) || got != tc.want {
			t.Errorf("ParseTypeFilter(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
	for _, tc := range []struct {
		f    TypeFilter
		t    uint16
		want bool
	}{
		{TypeANY, dns.TypeA, true}, {TypeANY, dns.TypeRRSIG, false}, {TypeANY, dns.TypeTA, false},
		{TypeANYDNSSEC, dns.TypeDS, true}, {TypeANYDNSSEC, dns.TypeA, false}, {TypeAll, dns.TypeNSEC3, true},
		{OneType(dns.TypeMX), dns.TypeMX, true}, {OneType(dns.TypeMX), dns.TypeA, false}, {OneType(dns.TypeDS), dns.TypeDS, true},
	} {
		if got := tc.f.Match(tc.t); got != tc.want {
			t.Errorf("%v.Match(%s) = %v", tc.f, pdns.TypeString(tc.t), got)
		}
	}
}

func TestMatchName(t *testing.T) {
	tests := []struct {
		name, pattern string
		w             Wildcard
		want          bool
	}{
		{"www.example.com", "www.example.com", WildNone, true},
		{"www.example.com", "example.com", WildNone, false},
		{"www.example.com", "example.com", WildLeft, true},
		{"a.b.example.com", "example.com", WildLeft, true},
		{"example.com", "example.com", WildLeft, false},
		{"wwwexample.com", "example.com", WildLeft, false},
		{`a\.example.com`, "example.com", WildLeft, false},
		{`a\.b.example.com`, "example.com", WildLeft, true},
		{`a.b\.example.com`, "example.com", WildLeft, false},
		{`a.b\\.example.com`, "example.com", WildLeft, true},
		{"example.com", ".", WildLeft, true},
		{".", ".", WildLeft, false},
		{"www.example.com", "www.example", WildRight, true},
		{"www.example.co.uk", "www.example", WildRight, true},
		{"www.example", "www.example", WildRight, false},
		{"www.examples.com", "www.example", WildRight, false},
		{`www.example\.x.com`, "www.example", WildRight, false},
	}
	for _, tc := range tests {
		if got := MatchName(tc.name, tc.pattern, tc.w); got != tc.want {
			t.Errorf("MatchName(%q, %q, %d) = %v", tc.name, tc.pattern, tc.w, got)
		}
	}
}

func TestRDataNames(t *testing.T) {
	tests := []struct {
		t     uint16
		rdata string
		want  []string
	}{
		{dns.TypeCNAME, "www.example.com.", []string{"www.example.com"}},
		{dns.TypeCNAME, "WWW.Example.COM.", []string{"www.example.com"}},
		{dns.TypeNS, "ns1.example.net.", []string{"ns1.example.net"}},
		{dns.TypeMX, "10 mail.example.com.", []string{"mail.example.com"}},
		{dns.TypeMX, "0 .", nil},
		{dns.TypeSRV, "10 5 5060 sip.example.com.", []string{"sip.example.com"}},
		{dns.TypeSOA, "ns1.example.net. hostmaster.example.com. 1 2 3 4 5", []string{"ns1.example.net", "hostmaster.example.com"}},
		{dns.TypeSOA, "ns.example.net. ns.example.net. 1 2 3 4 5", []string{"ns.example.net"}},
		{dns.TypeHTTPS, "1 . alpn=h2", nil},
		{dns.TypeHTTPS, "1 svc.example.net. alpn=h2", []string{"svc.example.net"}},
		{dns.TypeNAPTR, `100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .`, nil},
		{dns.TypeNAPTR, `100 10 "S" "SIP+D2U" "" _sip._udp.example.com.`, []string{"_sip._udp.example.com"}},
		{dns.TypeNAPTR, `100 10 "S" "a b c" "" _sip._udp.example.com.`, []string{"_sip._udp.example.com"}},
		{dns.TypeA, "192.0.2.1", nil},
		{dns.TypeTXT, `"www.example.com."`, nil},
		{dns.TypeMX, "10", nil},
		{dns.TypeCNAME, "", nil},
		{dns.TypeMD, "..", nil}, // found by FuzzRDataNames
	}
	for _, tc := range tests {
		if got := RDataNames(tc.t, tc.rdata); !slices.Equal(got, tc.want) {
			t.Errorf("RDataNames(%s, %q) = %q, want %q", pdns.TypeString(tc.t), tc.rdata, got, tc.want)
		}
	}
	if a, ok := RDataIP(dns.TypeA, "192.0.2.1"); !ok || a != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("RDataIP A: %v %v", a, ok)
	}
	for _, bad := range []struct {
		t uint16
		s string
	}{{dns.TypeA, "2001:db8::1"}, {dns.TypeAAAA, "192.0.2.1"}, {dns.TypeA, "192.0.2.256"}, {dns.TypeTXT, "192.0.2.1"}} {
		if _, ok := RDataIP(bad.t, bad.s); ok {
			t.Errorf("RDataIP(%s, %q) accepted", pdns.TypeString(bad.t), bad.s)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "1700000000", want: 1700000000},
		{in: "2024-05-01T12:00:00Z", want: 1714564800},
		{in: "2024-05-01T14:00:00+02:00", want: 1714564800},
		{in: "2024-05-01", want: 1714521600},
		{in: "2024-05-01 12:00:00", want: 1714564800},
		{in: "-86400", want: now.Unix() - 86400},
		{in: "-7d", want: now.Unix() - 7*86400},
		{in: "-1w2d", want: now.Unix() - 9*86400},
		{in: "-90m", want: now.Unix() - 5400},
		{in: "-12h30m", want: now.Unix() - 12*3600 - 1800},
		{in: "-10s", want: now.Unix() - 10},
		{in: "", err: true},
		{in: "yesterday", err: true},
		{in: "-7x", err: true},
		{in: "-d", err: true},
		{in: "-7", want: now.Unix() - 7},
		{in: "-99999999999d", err: true},
		{in: "1969-12-31", err: true},
		{in: "99999999999999999999", err: true},
		{in: "0", err: true}, // found by FuzzParseTime
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, now)
		if tc.err {
			if err == nil {
				t.Errorf("ParseTime(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	q := Query{Kind: KindRRSet, Name: "Example.COM", Cursor: "25", Offset: 5}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if q.Name != "example.com" || q.Offset != 30 || q.Cursor != "" {
		t.Errorf("Validate: %+v; want lower-case name, offset 30, no cursor", q)
	}
	q = Query{Kind: KindRRSet, Name: "example.com", Cursor: "99999999999999999999999"}
	if err := q.Validate(); !errors.Is(err, ErrBadCursor) {
		t.Errorf("huge cursor: %v", err)
	}
	for _, bad := range []Query{
		{Kind: KindRDataIP, IPLow: netip.MustParseAddr("192.0.2.1"), IPHigh: netip.MustParseAddr("192.0.2.1"), Type: TypeANYDNSSEC},
		{Kind: KindRRSet, Name: "example.com", Wildcard: 9},
		{Kind: KindRRSet, Name: "example.com", Type: TypeAll + 1},
		{Kind: KindRRSet, Name: "example.com", Bailiwick: "a..b"},
	} {
		if err := bad.Validate(); !errors.Is(err, ErrBadQuery) {
			t.Errorf("Validate(%+v) = %v, want ErrBadQuery", bad, err)
		}
	}
}

func TestMatchTimes(t *testing.T) {
	sensor := &pdns.Tuple{TimeFirst: 100, TimeLast: 200, ZoneTimeFirst: 10, ZoneTimeLast: 20}
	zone := &pdns.Tuple{ZoneTimeFirst: 10, ZoneTimeLast: 20}
	never := &pdns.Tuple{}
	tests := []struct {
		q    Query
		t    *pdns.Tuple
		want bool
	}{
		{Query{}, never, true},
		{Query{FirstAfter: 99}, sensor, true},
		{Query{FirstAfter: 100}, sensor, false},
		{Query{FirstBefore: 101}, sensor, true},
		{Query{FirstBefore: 100}, sensor, false},
		{Query{LastBefore: 201}, sensor, true},
		{Query{LastAfter: 200}, sensor, false},
		{Query{LastBefore: 50}, sensor, false},
		{Query{LastBefore: 50}, zone, true},
		{Query{FirstAfter: 5, LastBefore: 21}, zone, true},
		{Query{LastAfter: 1}, never, false},
	}
	for _, tc := range tests {
		if got := tc.q.MatchTimes(tc.t); got != tc.want {
			t.Errorf("%+v MatchTimes(%+v) = %v", tc.q, tc.t, got)
		}
	}
}

func TestOpenRegistry(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"", "clickhouse://127.0.0.1:9000/pdns", "redis://127.0.0.1"} {
		if _, err := Open(ctx, dsn, Options{}); !errors.Is(err, ErrUnknownScheme) {
			t.Errorf("Open(%q) = %v, want ErrUnknownScheme", dsn, err)
		}
	}
	called := ""
	// The registry is global: each run (go test -count=N) takes a scheme
	// of its own.
	scheme := fmt.Sprintf("testmem%d", registryRuns.Add(1))
	Register(Driver{Scheme: scheme, Open: func(_ context.Context, loc string, _ Options) (Backend, error) {
		called = loc
		return nil, errors.New("not really")
	}})
	if _, err := Open(ctx, scheme+"://somewhere", Options{}); err == nil || called != "somewhere" {
		t.Errorf("registered driver: err %v, location %q", err, called)
	}
	if !slices.Contains(Schemes(), scheme) {
		t.Errorf("Schemes() = %q", Schemes())
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a scheme twice did not panic")
		}
	}()
	Register(Driver{Scheme: scheme})
}

var registryRuns atomic.Int64

func TestDefaultDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want string
		err  bool
	}{
		{map[string]string{"XDG_DATA_HOME": "/data", "HOME": "/home/u"}, "/data/dnsscout/pdns", false},
		{map[string]string{"XDG_DATA_HOME": "relative", "HOME": "/home/u"}, "/home/u/.local/share/dnsscout/pdns", false},
		{map[string]string{"HOME": "/home/u"}, "/home/u/.local/share/dnsscout/pdns", false},
		{map[string]string{}, "", true},
	} {
		got, err := DefaultDirFrom(env(tc.env))
		if tc.err != (err != nil) || got != tc.want {
			t.Errorf("DefaultDirFrom(%v) = %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
}
