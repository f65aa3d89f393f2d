package ipintel

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// MMDB is one MaxMind-format database. It understands the record layouts
// of the free databases people have:
//   - GeoLite2-ASN / GeoIP2-ISP / DB-IP ASN lite: autonomous_system_number,
//     autonomous_system_organization;
//   - GeoLite2-Country / -City / DB-IP country or city lite:
//     country.iso_code, else registered_country.iso_code;
//   - IPinfo lite: asn ("AS64500"), as_name, country_code (or country as a
//     code).
//
// Other fields are ignored. It is safe for concurrent use.
type MMDB struct {
	r    *maxminddb.Reader
	name string
}

var _ Source = (*MMDB)(nil)

// OpenMMDB opens a .mmdb file (memory-mapped). verify runs the library's
// full structural check first.
func OpenMMDB(path string, verify bool) (*MMDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
	}
	if verify {
		if err := r.Verify(); err != nil {
			_ = r.Close()
			return nil, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
		}
	}
	return newMMDB(r, path), nil
}

// OpenMMDBBytes reads a database held in memory.
func OpenMMDBBytes(b []byte, name string) (*MMDB, error) {
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, name, err)
	}
	return newMMDB(r, name), nil
}

func newMMDB(r *maxminddb.Reader, path string) *MMDB {
	t := r.Metadata.DatabaseType
	if t == "" {
		t = strings.TrimSuffix(filepath.Base(path), ".mmdb")
	}
	return &MMDB{r: r, name: "mmdb:" + t}
}

// Name is "mmdb:" + the database type from the file's metadata.
func (m *MMDB) Name() string { return m.name }

// Type returns the metadata's database_type.
func (m *MMDB) Type() string { return m.r.Metadata.DatabaseType }

// Close releases the file.
func (m *MMDB) Close() error { return m.r.Close() }

// mmdbRecord is the union of the supported layouts. Fields whose JSON
// type differs between vendors (IPinfo's country is a string, MaxMind's a
// map) are decoded separately.
type mmdbRecord struct {
	ASN     uint32 `maxminddb:"autonomous_system_number"`
	ASOrg   string `maxminddb:"autonomous_system_organization"`
	ASNText string `maxminddb:"asn"`
	ASName  string `maxminddb:"as_name"`
	CC      string `maxminddb:"country_code"`
}

// Lookup implements Source.
func (m *MMDB) Lookup(_ context.Context, addr netip.Addr) (Info, error) {
	res := m.r.Lookup(addr)
	if err := res.Err(); err != nil {
		return Info{}, fmt.Errorf("%w: %s: %s: %v", ErrLookup, m.name, addr, err)
	}
	if !res.Found() {
		return Info{}, nil
	}
	var rec mmdbRecord
	if err := res.Decode(&rec); err != nil {
		var te maxminddb.UnmarshalTypeError
		if !errors.As(err, &te) {
			return Info{}, fmt.Errorf("%w: %s: %s: %v", ErrLookup, m.name, addr, err)
		}
		// A vendor layout we do not know: take what decodes.
		rec = mmdbRecord{}
		_ = res.DecodePath(&rec.ASN, "autonomous_system_number")
		_ = res.DecodePath(&rec.ASOrg, "autonomous_system_organization")
	}
	info := Info{Prefix: res.Prefix(), ASN: rec.ASN, ASName: rec.ASOrg}
	if info.ASN == 0 && rec.ASNText != "" {
		s := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(rec.ASNText)), "AS")
		if n, err := strconv.ParseUint(s, 10, 32); err == nil {
			info.ASN = uint32(n)
		}
	}
	if info.ASName == "" {
		info.ASName = rec.ASName
	}
	if info.ASN == 0 {
		info.ASName = ""
	}
	info.Country = countryCode(rec.CC)
	if info.Country == "" {
		var cc string
		for _, path := range [][]any{{"country", "iso_code"}, {"registered_country", "iso_code"}, {"country"}} {
			if err := res.DecodePath(&cc, path...); err == nil && countryCode(cc) != "" {
				info.Country = countryCode(cc)
				break
			}
		}
	}
	if !info.Found() || info.ASN == 0 && info.Country == "" {
		return Info{}, nil
	}
	return info, nil
}

// countryCode returns s as an upper-case ISO 3166-1 alpha-2 code, or ""
// when it is not two letters.
func countryCode(s string) string {
	s = strings.TrimSpace(s)
	if len(s) != 2 || !isLetter(s[0]) || !isLetter(s[1]) {
		return ""
	}
	return strings.ToUpper(s)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
