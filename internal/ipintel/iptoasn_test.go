package ipintel

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadSample(t *testing.T) *Table {
	t.Helper()
	var tab Table
	st, err := tab.Load(bytes.NewReader(readTestdata(t, "iptoasn/sample.tsv")))
	if err != nil {
		t.Fatal(err)
	}
	want := LoadStats{Lines: 10, Ranges: 5, Unrouted: 2, Skipped: 3}
	st.FirstError = ""
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	return &tab
}

func TestTableLookup(t *testing.T) {
	tab := loadSample(t)
	tests := []struct {
		addr    string
		prefix  string
		asn     uint32
		country string
		name    string
	}{
		{"192.0.2.0", "192.0.2.0/25", 64496, "US", "EXAMPLE-NET-A - Example Net A"},
		{"192.0.2.1", "192.0.2.0/25", 64496, "US", "EXAMPLE-NET-A - Example Net A"},
		{"192.0.2.127", "192.0.2.0/25", 64496, "US", "EXAMPLE-NET-A - Example Net A"},
		{"::ffff:192.0.2.1", "192.0.2.0/25", 64496, "US", "EXAMPLE-NET-A - Example Net A"},
		{"192.0.2.128", "192.0.2.128/25", 64497, "DE", "EXAMPLE-NET-B"},
		{"192.0.2.255", "192.0.2.128/25", 64497, "DE", "EXAMPLE-NET-B"},
		// 198.51.100.0-99 is not a CIDR block: the largest block inside it.
		{"198.51.100.50", "198.51.100.0/26", 64498, "NL", "EXAMPLE-RANGE"},
		{"198.51.100.99", "198.51.100.96/30", 64498, "NL", "EXAMPLE-RANGE"},
		{"198.51.100.150", "", 0, "", ""}, // not routed
		{"0.1.2.3", "", 0, "", ""},        // not routed
		{"203.0.113.7", "203.0.113.0/24", 65536, "JP", "EXAMPLE-32BIT"},
		{"2001:db8:1::5", "2001:db8::/32", 64499, "GB", "EXAMPLE-V6"},
		{"2001:db9::", "", 0, "", ""},
		{"255.255.255.255", "", 0, "", ""},
		{"::", "", 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			info, err := tab.Lookup(context.Background(), netip.MustParseAddr(tc.addr))
			if err != nil {
				t.Fatal(err)
			}
			p := ""
			if info.Prefix.IsValid() {
				p = info.Prefix.String()
			}
			if p != tc.prefix || info.ASN != tc.asn || info.Country != tc.country || info.ASName != tc.name {
				t.Errorf("got %s AS%d %q %q, want %s AS%d %q %q", p, info.ASN, info.Country, info.ASName, tc.prefix, tc.asn, tc.country, tc.name)
			}
		})
	}
}

func TestTableLoadVariants(t *testing.T) {
	// gzip, detected by magic bytes, through LoadFile.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(readTestdata(t, "iptoasn/sample.tsv"))
	_ = zw.Close()
	path := filepath.Join(t.TempDir(), "ip2asn-combined.tsv.gz")
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var tab Table
	st, err := tab.LoadFile(path)
	if err != nil || st.Ranges != 5 || tab.Len() != 5 {
		t.Fatalf("gzip: %+v, %v", st, err)
	}
	// The u32 variant with CRLF, added to the same table: its ranges
	// overlap the loaded ones and are dropped.
	st, err = tab.Load(bytes.NewReader(readTestdata(t, "iptoasn/u32.tsv")))
	if err != nil || st.Skipped != 2 || tab.Len() != 5 {
		t.Errorf("u32 over sample: %+v, %v, len %d", st, err, tab.Len())
	}
	var u Table
	if st, err := u.Load(bytes.NewReader(readTestdata(t, "iptoasn/u32.tsv"))); err != nil || st.Ranges != 2 {
		t.Fatalf("u32: %+v, %v", st, err)
	}
	info, _ := u.Lookup(context.Background(), netip.MustParseAddr("192.0.2.130"))
	if info.ASN != 64497 || info.Country != "" || info.Prefix.String() != "192.0.2.128/25" {
		t.Errorf("u32 lookup: %+v (Unknown country must be empty)", info)
	}

	for name, in := range map[string]string{
		"not tsv":   "<html>\n<body>\n",
		"long line": strings.Repeat("x", maxTSVLine+10),
		"bad gzip":  "\x1f\x8bnot gzip",
	} {
		var x Table
		if _, err := x.Load(strings.NewReader(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", name, err)
		}
	}
	if _, err := new(Table).LoadFile(filepath.Join(t.TempDir(), "missing.tsv")); !errors.Is(err, ErrFormat) {
		t.Errorf("missing file: err %v", err)
	}
}

func TestParseTSVLine(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"192.0.2.0\t192.0.2.255\t64496\tUS\tX", true},
		{"192.0.2.0\t192.0.2.255\tAS64496\tus\tX", true},
		{"2001:db8::\t2001:db8::ffff\t64496\tNone\tX", true},
		{"192.0.2.0\t192.0.2.255\t64496\tUS", false},
		{"192.0.2.0\t192.0.2.255\t64496\tUS\tX\tY", false},
		{"192.0.2.0\t2001:db8::\t64496\tUS\tX", false},
		{"192.0.2.9\t192.0.2.1\t64496\tUS\tX", false},
		{"192.0.2.0\t192.0.2.255\t-1\tUS\tX", false},
		{"192.0.2.0\t192.0.2.255\t4294967296\tUS\tX", false},
		{"fe80::1%eth0\tfe80::2\t64496\tUS\tX", false},
		{"4294967296\t1\t64496\tUS\tX", false},
	}
	for _, tc := range tests {
		_, err := ParseTSVLine(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseTSVLine(%q): err %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	l, _ := ParseTSVLine("192.0.2.0\t192.0.2.255\t64496\tus\tA\x01B  \xffC")
	if l.Country != "US" || l.Desc != "A B \uFFFDC" {
		t.Errorf("cleaning: %+v", l)
	}
}

func TestBlockIn(t *testing.T) {
	tests := []struct{ addr, lo, hi, want string }{
		{"192.0.2.5", "192.0.2.0", "192.0.2.255", "192.0.2.0/24"},
		{"192.0.2.5", "192.0.2.5", "192.0.2.5", "192.0.2.5/32"},
		{"192.0.2.6", "192.0.2.5", "192.0.2.9", "192.0.2.6/31"},
		{"0.0.0.0", "0.0.0.0", "255.255.255.255", "0.0.0.0/0"},
		{"2001:db8::1", "2001:db8::", "2001:db8::ffff", "2001:db8::/112"},
		{"::", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"},
		{"2001:db8::8000:0:0:1", "2001:db8::", "2001:db8:0:0:ffff:ffff:ffff:ffff", "2001:db8::/64"},
	}
	for _, tc := range tests {
		got := blockIn(netip.MustParseAddr(tc.addr), netip.MustParseAddr(tc.lo), netip.MustParseAddr(tc.hi))
		if got.String() != tc.want {
			t.Errorf("blockIn(%s, %s-%s) = %s, want %s", tc.addr, tc.lo, tc.hi, got, tc.want)
		}
	}
}
