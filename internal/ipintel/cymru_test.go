package ipintel

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

// cymruZone mimics Team Cymru's service under cymru.test.
const cymruZone = `$TTL 300
@ IN SOA ns.cymru.test. hostmaster.cymru.test. 1 3600 600 86400 300
@ IN NS ns.cymru.test.
ns IN A 192.0.2.53
1.2.0.192.origin IN TXT "64496 | 192.0.2.0/24 | US | arin | 2011-08-11"
*.100.51.198.origin IN TXT "64496 64497 | 198.51.100.0/24 | DE | ripencc |"
7.113.0.203.origin IN TXT "64500 | 203.0.0.0/16 | JP | apnic | 2000-01-01"
7.113.0.203.origin IN TXT "64501 | 203.0.113.0/24 | JP | apnic | 2001-01-01"
9.113.0.203.origin IN TXT "64502 | 192.0.2.0/24 | US | arin |"
10.113.0.203.origin IN TXT "64503 | 203.0.113.0/24 | JP | apnic |"
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.origin6 IN TXT "64499 | 2001:db8::/32 | GB | ripencc | 2005-01-01"
AS64496.asn IN TXT "64496 | US | arin | 2010-07-14 | EXAMPLE-NET-A - Example Net A, US"
AS64501.asn IN TXT "64501 | JP | apnic | 2001-01-01 | EXAMPLE-JP, JP"
AS64499.asn IN TXT "64499 | GB | ripencc | 2001-09-20 | EXAMPLE-V6, GB"
`

var testCymruZones = CymruOptions{OriginZone: "origin.cymru.test", Origin6Zone: "origin6.cymru.test", ASZone: "asn.cymru.test"}

// countingExchanger counts the questions passed to the real resolver.
type countingExchanger struct {
	ex Exchanger
	n  atomic.Int64
}

func (c *countingExchanger) Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	c.n.Add(1)
	return c.ex.Exchange(ctx, q)
}

// startCymru serves cymruZone on 127.53.x.y and returns recon's resolver
// pointed at it, behind a counter.
func startCymru(t *testing.T) *countingExchanger {
	t.Helper()
	z, err := dnstest.ParseZone("cymru.test", cymruZone)
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.StartServer(t, netip.AddrPortFrom(dnstest.AllocAddr(t), 0), dnstest.NewZoneHandler(z))
	r, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{srv.Addr}, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return &countingExchanger{ex: r}
}

func TestCymru(t *testing.T) {
	ex := startCymru(t)
	c, err := NewCymru(ex, testCymruZones)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr     string
		prefix   string
		asn      uint32
		name     string
		country  string
		registry string
		wantErr  error
	}{
		{addr: "192.0.2.1", prefix: "192.0.2.0/24", asn: 64496, name: "EXAMPLE-NET-A - Example Net A, US", country: "US", registry: "arin"},
		// Several origin ASes: the first; the name comes from the cache.
		{addr: "198.51.100.1", prefix: "198.51.100.0/24", asn: 64496, name: "EXAMPLE-NET-A - Example Net A, US", country: "DE", registry: "ripencc"},
		// Two covering prefixes: the most specific.
		{addr: "203.0.113.7", prefix: "203.0.113.0/24", asn: 64501, name: "EXAMPLE-JP, JP", country: "JP", registry: "apnic"},
		// An answer whose prefix does not hold the address.
		{addr: "203.0.113.9", wantErr: ErrLookup},
		// AS without a name record: prefix and AS stand.
		{addr: "203.0.113.10", prefix: "203.0.113.0/24", asn: 64503, country: "JP", registry: "apnic"},
		{addr: "2001:db8::1", prefix: "2001:db8::/32", asn: 64499, name: "EXAMPLE-V6, GB", country: "GB", registry: "ripencc"},
		// NXDOMAIN: no data, no error.
		{addr: "192.0.2.2"},
		// Never sent: private and loopback addresses.
		{addr: "10.1.2.3"},
		{addr: "127.0.0.1"},
		{addr: "fd00::1"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			before := ex.n.Load()
			info, err := c.Lookup(context.Background(), netip.MustParseAddr(tc.addr))
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			p := ""
			if info.Prefix.IsValid() {
				p = info.Prefix.String()
			}
			if p != tc.prefix || info.ASN != tc.asn || info.ASName != tc.name || info.Country != tc.country || info.Registry != tc.registry {
				t.Errorf("got %s AS%d %q %q %q, want %s AS%d %q %q %q", p, info.ASN, info.ASName, info.Country, info.Registry,
					tc.prefix, tc.asn, tc.name, tc.country, tc.registry)
			}
			if !Askable(netip.MustParseAddr(tc.addr)) && ex.n.Load() != before {
				t.Errorf("a query was sent for %s", tc.addr)
			}
		})
	}
	// 192.0.2.1 asked origin + AS64496; 198.51.100.1 origin only (cached
	// name); 203.0.113.7 origin + AS64501; .9 origin; .10 origin + AS64503;
	// 2001:db8::1 origin6 + AS64499; 192.0.2.2 origin.
	if n := ex.n.Load(); n != 11 {
		t.Errorf("%d questions, want 11", n)
	}
}

func TestCymruNames(t *testing.T) {
	c, err := NewCymru(&countingExchanger{}, CymruOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.OriginName(netip.MustParseAddr("192.0.2.1")); got != "1.2.0.192.origin.asn.cymru.com" {
		t.Errorf("v4 name %q", got)
	}
	if got := c.OriginName(netip.MustParseAddr("::ffff:192.0.2.1")); got != "1.2.0.192.origin.asn.cymru.com" {
		t.Errorf("mapped name %q", got)
	}
	want := "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.origin6.asn.cymru.com"
	if got := c.OriginName(netip.MustParseAddr("2001:db8::1")); got != want {
		t.Errorf("v6 name %q, want %q", got, want)
	}
	if _, err := NewCymru(nil, CymruOptions{}); !errors.Is(err, ErrConfig) {
		t.Errorf("nil exchanger: err %v", err)
	}
}

// failingExchanger answers every question with an error or an rcode.
type failingExchanger struct{ rcode int }

func (f failingExchanger) Exchange(_ context.Context, q resolver.Query) (*resolver.Response, error) {
	if f.rcode < 0 {
		return nil, resolver.ErrTimeout
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(q.Name), q.Type)
	m.Response, m.Rcode = true, f.rcode
	return &resolver.Response{Msg: m}, nil
}

func TestCymruFailures(t *testing.T) {
	for _, tc := range []struct {
		rcode   int
		wantErr bool
	}{{-1, true}, {dns.RcodeServerFailure, true}, {dns.RcodeRefused, true}, {dns.RcodeNameError, false}, {dns.RcodeSuccess, false}} {
		c, _ := NewCymru(failingExchanger{tc.rcode}, testCymruZones)
		info, err := c.Lookup(context.Background(), netip.MustParseAddr("192.0.2.1"))
		if (err != nil) != tc.wantErr || info.Found() {
			t.Errorf("rcode %d: %+v, %v; want error=%v and nothing found", tc.rcode, info, err, tc.wantErr)
		}
		if err != nil && !errors.Is(err, ErrLookup) {
			t.Errorf("rcode %d: err %v does not wrap ErrLookup", tc.rcode, err)
		}
	}
}

func TestParseCymru(t *testing.T) {
	for _, line := range strings.Split(strings.TrimSpace(string(readTestdata(t, "cymru/origin.txt"))), "\n") {
		_, err := ParseCymruOrigin(line)
		if (err == nil) == strings.HasPrefix(line, "not") {
			t.Errorf("ParseCymruOrigin(%q): %v", line, err)
		}
	}
	o, err := ParseCymruOrigin("64496 64497 | 198.51.100.0/24 | de | RIPENCC |")
	if err != nil || len(o.ASNs) != 2 || o.ASNs[1] != 64497 || o.Country != "DE" || o.Registry != "ripencc" {
		t.Errorf("multi-origin: %+v, %v", o, err)
	}
	if o, err := ParseCymruOrigin("64496 | ::ffff:192.0.2.0/120 | US | arin |"); err != nil || o.Prefix.String() != "192.0.2.0/24" {
		t.Errorf("mapped prefix: %+v, %v", o, err)
	}
	for _, bad := range []string{"", "64496", "0 | 192.0.2.0/24", "x | 192.0.2.0/24", "64496 | 192.0.2.0", " | 192.0.2.0/24"} {
		if _, err := ParseCymruOrigin(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseCymruOrigin(%q): err %v, want ErrFormat", bad, err)
		}
	}
	a, err := ParseCymruAS("64499 | GB | ripencc | 2001-09-20 | EXAMPLE|V6, GB")
	if err != nil || a.ASN != 64499 || a.Name != "EXAMPLE|V6, GB" || a.Country != "GB" {
		t.Errorf("AS with | in its name: %+v, %v", a, err)
	}
	for _, bad := range []string{"64497 | DE | ripencc | 2002-01-01", "AS | DE | x | y | z", ""} {
		if _, err := ParseCymruAS(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseCymruAS(%q): err %v, want ErrFormat", bad, err)
		}
	}
}
