package ipintel

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
)

func addLines(f *testing.F, file string) {
	for _, l := range strings.Split(string(readTestdata(f, file)), "\n") {
		f.Add(l)
	}
}

// FuzzParseTSVLine: accepted lines are ranges of one family that start
// before they end.
// Run: go test ./internal/ipintel -run '^$' -fuzz FuzzParseTSVLine -fuzztime 20s
func FuzzParseTSVLine(f *testing.F) {
	addLines(f, "iptoasn/sample.tsv")
	addLines(f, "iptoasn/u32.tsv")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseTSVLine(s)
		if err != nil {
			return
		}
		if !l.Start.IsValid() || l.Start.Is4() != l.End.Is4() || l.End.Less(l.Start) || len(l.Country) != 0 && len(l.Country) != 2 {
			t.Fatalf("ParseTSVLine(%q) = %+v", s, l)
		}
	})
}

// FuzzTableLoad: any file loads (or fails) without panic, and every hit
// holds the address in its prefix.
// Run: go test ./internal/ipintel -run '^$' -fuzz FuzzTableLoad -fuzztime 20s
func FuzzTableLoad(f *testing.F) {
	f.Add(readTestdata(f, "iptoasn/sample.tsv"), "192.0.2.1")
	f.Add(readTestdata(f, "iptoasn/u32.tsv"), "192.0.2.200")
	f.Fuzz(func(t *testing.T, b []byte, addr string) {
		var tab Table
		_, _ = tab.Load(bytes.NewReader(b))
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return
		}
		a = a.Unmap().WithZone("")
		info, _ := tab.Lookup(context.Background(), a)
		if info.Found() && (!info.Prefix.Contains(a) || info.ASN == 0) {
			t.Fatalf("%s: %+v", a, info)
		}
	})
}

// FuzzParseCymruOrigin: accepted answers have an AS and a masked prefix.
// Run: go test ./internal/ipintel -run '^$' -fuzz FuzzParseCymruOrigin -fuzztime 20s
func FuzzParseCymruOrigin(f *testing.F) {
	addLines(f, "cymru/origin.txt")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseCymruOrigin(s)
		if err != nil {
			return
		}
		if len(o.ASNs) == 0 || o.ASNs[0] == 0 || !o.Prefix.IsValid() || o.Prefix != o.Prefix.Masked() {
			t.Fatalf("ParseCymruOrigin(%q) = %+v", s, o)
		}
	})
}

// FuzzParseCymruAS: accepted answers have an AS number.
// Run: go test ./internal/ipintel -run '^$' -fuzz FuzzParseCymruAS -fuzztime 20s
func FuzzParseCymruAS(f *testing.F) {
	addLines(f, "cymru/as.txt")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseCymruAS(s)
		if err == nil && a.ASN == 0 {
			t.Fatalf("ParseCymruAS(%q) = %+v", s, a)
		}
	})
}
