package ipintel

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeMMDB builds a small database in the test's temporary directory with
// github.com/maxmind/mmdbwriter; nothing is downloaded.
func writeMMDB(t testing.TB, dbType string, records map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		IncludeReservedNetworks: true, // the documentation ranges are reserved
		RecordSize:              24,
		Description:             map[string]string{"en": "dnsscout test database " + dbType},
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range records {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func asnDB(t testing.TB) string {
	return writeMMDB(t, "GeoLite2-ASN", map[string]mmdbtype.Map{
		"192.0.2.0/25":  {"autonomous_system_number": mmdbtype.Uint32(64496), "autonomous_system_organization": mmdbtype.String("EXAMPLE-NET-A")},
		"2001:db8::/48": {"autonomous_system_number": mmdbtype.Uint32(64499), "autonomous_system_organization": mmdbtype.String("EXAMPLE-V6")},
	})
}

func countryDB(t testing.TB) string {
	cc := func(c string) mmdbtype.Map { return mmdbtype.Map{"iso_code": mmdbtype.String(c)} }
	return writeMMDB(t, "GeoLite2-Country", map[string]mmdbtype.Map{
		"192.0.2.0/24":    {"country": cc("US"), "registered_country": cc("CA"), "continent": mmdbtype.Map{"code": mmdbtype.String("NA")}},
		"198.51.100.0/24": {"registered_country": cc("nl")},
		"203.0.113.0/24":  {"continent": mmdbtype.Map{"code": mmdbtype.String("AS")}},
	})
}

func ipinfoDB(t testing.TB) string {
	return writeMMDB(t, "ipinfo country_asn.mmdb", map[string]mmdbtype.Map{
		"203.0.113.0/24":  {"asn": mmdbtype.String("AS64510"), "as_name": mmdbtype.String("EXAMPLE-LITE"), "country": mmdbtype.String("JP"), "country_code": mmdbtype.String("JP")},
		"198.51.100.0/25": {"asn": mmdbtype.Uint32(7), "country": mmdbtype.String("Netherlands")},
	})
}

func TestMMDB(t *testing.T) {
	open := func(path string) *MMDB {
		m, err := OpenMMDB(path, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		return m
	}
	asn, country, ipinfo := open(asnDB(t)), open(countryDB(t)), open(ipinfoDB(t))
	if asn.Name() != "mmdb:GeoLite2-ASN" || country.Type() != "GeoLite2-Country" {
		t.Errorf("names %q %q", asn.Name(), country.Type())
	}
	tests := []struct {
		db      *MMDB
		addr    string
		prefix  string
		asn     uint32
		name    string
		country string
	}{
		{asn, "192.0.2.1", "192.0.2.0/25", 64496, "EXAMPLE-NET-A", ""},
		{asn, "::ffff:192.0.2.1", "192.0.2.0/25", 64496, "EXAMPLE-NET-A", ""},
		{asn, "192.0.2.200", "", 0, "", ""},
		{asn, "2001:db8::1", "2001:db8::/48", 64499, "EXAMPLE-V6", ""},
		{asn, "2001:db8:1::1", "", 0, "", ""},
		{country, "192.0.2.200", "192.0.2.0/24", 0, "", "US"},
		{country, "198.51.100.7", "198.51.100.0/24", 0, "", "NL"}, // registered_country only
		{country, "203.0.113.7", "", 0, "", ""},                   // no country at all
		{ipinfo, "203.0.113.7", "203.0.113.0/24", 64510, "EXAMPLE-LITE", "JP"},
		// asn of the wrong type and a country that is not a code.
		{ipinfo, "198.51.100.7", "", 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.db.Type()+"/"+tc.addr, func(t *testing.T) {
			info, err := tc.db.Lookup(context.Background(), netip.MustParseAddr(tc.addr).Unmap())
			if err != nil {
				t.Fatal(err)
			}
			p := ""
			if info.Prefix.IsValid() {
				p = info.Prefix.String()
			}
			if p != tc.prefix || info.ASN != tc.asn || info.ASName != tc.name || info.Country != tc.country {
				t.Errorf("got %s AS%d %q %q, want %s AS%d %q %q", p, info.ASN, info.ASName, info.Country, tc.prefix, tc.asn, tc.name, tc.country)
			}
		})
	}
}

func TestMMDBBadFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mmdb")
	if err := os.WriteFile(junk, []byte("this is not a MaxMind database"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(asnDB(t))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mmdb")
	if err := os.WriteFile(cut, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{junk, empty, cut, filepath.Join(dir, "missing.mmdb")} {
		if _, err := OpenMMDB(p, true); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", filepath.Base(p), err)
		}
	}
	if _, err := OpenMMDBBytes([]byte("junk"), "junk"); !errors.Is(err, ErrFormat) {
		t.Errorf("bytes: err %v, want ErrFormat", err)
	}
	m, err := OpenMMDBBytes(good, "mem")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if info, _ := m.Lookup(context.Background(), netip.MustParseAddr("192.0.2.3")); info.ASN != 64496 {
		t.Errorf("from bytes: %+v", info)
	}
}
