package ipintel

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Run: go test ./internal/ipintel -run '^$' -bench . -benchtime 2s

// syntheticTSV returns n IPv4 ranges of 256 addresses each (10.x.y.0/24,
// counted from 10.0.0.0) and n/4 IPv6 ranges, like ip2asn-combined.tsv.
func syntheticTSV(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		base := 10<<24 + uint32(i)<<8
		fmt.Fprintf(&b, "%s\t%s\t%d\tUS\tEXAMPLE-%d\n", from4(base), from4(base+255), 64496+i%16, i%5000)
	}
	for i := range n / 4 {
		hi, lo := i>>16, i&0xffff
		fmt.Fprintf(&b, "2001:db8:%x:%x::\t2001:db8:%x:%x:ffff:ffff:ffff:ffff\t%d\tGB\tV6-%d\n", hi, lo, hi, lo, 64496+i%16, i%500)
	}
	return b.Bytes()
}

// BenchmarkTableLoad loads 500,000 ranges (about the size of
// ip2asn-combined.tsv).
func BenchmarkTableLoad(b *testing.B) {
	data := syntheticTSV(400000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var t Table
		st, err := t.Load(bytes.NewReader(data))
		if err != nil || st.Ranges != 500000 {
			b.Fatalf("%+v, %v", st, err)
		}
	}
	b.ReportMetric(float64(500000*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkTableLookup looks addresses up in a 500,000-range table.
func BenchmarkTableLookup(b *testing.B) {
	var t Table
	if _, err := t.Load(bytes.NewReader(syntheticTSV(400000))); err != nil {
		b.Fatal(err)
	}
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = from4(10<<24 + uint32(i*389)<<8 + uint32(i%256))
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		info, _ := t.Lookup(ctx, addrs[i%len(addrs)])
		if info.ASN == 0 {
			b.Fatal("miss")
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkMMDBLookup looks addresses up in a small generated ASN file.
func BenchmarkMMDBLookup(b *testing.B) {
	recs := map[string]mmdbtype.Map{}
	for i := range 256 {
		recs[fmt.Sprintf("198.51.%d.0/24", i)] = mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(64496 + i%16),
			"autonomous_system_organization": mmdbtype.String(fmt.Sprintf("EXAMPLE-%d", i%16)),
		}
	}
	m, err := OpenMMDB(writeMMDB(b, "GeoLite2-ASN", recs), false)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		info, _ := m.Lookup(ctx, netip.AddrFrom4([4]byte{198, 51, byte(i), byte(i * 7)}))
		if info.ASN == 0 {
			b.Fatal("miss")
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
