package store

import (
	"testing"
	"time"
)

// FuzzParseQuery: whatever a user or an API client sends, parsing returns a
// query that validates, or an error; never a panic.
// Run: go test ./internal/store -run '^$' -fuzz FuzzParseQuery -fuzztime 20s
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"www.example.com", "*.example.com", "www.example.*", ".example.net", "www.example.",
		"192.0.2.0/24", "192.0.2.0,24", "192.0.2.1-192.0.2.9", "2001:db8::/32", `a\.b.example.com`, "*", ".", "bücher.example"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, rdata bool) {
		q, err := ParseQuery(s, rdata)
		if err != nil {
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("ParseQuery(%q) = %+v, which does not validate: %v", s, q, err)
		}
		if q.Kind == KindRRSet || q.Kind == KindRDataName {
			if err := CheckName(q.Name); err != nil {
				t.Fatalf("ParseQuery(%q) name %q: %v", s, q.Name, err)
			}
		}
	})
}

// FuzzParseTime: no panic, and accepted times are after 1970.
// Run: go test ./internal/store -run '^$' -fuzz FuzzParseTime -fuzztime 20s
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"1700000000", "2024-05-01", "2024-05-01T12:00:00Z", "-7d", "-1w2d3h4m5s", "-86400"} {
		f.Add(s)
	}
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseTime(s, now)
		if err == nil && v <= 0 {
			t.Fatalf("ParseTime(%q) = %d", s, v)
		}
	})
}

// FuzzRDataNames: every name extracted from rdata is a valid stored name.
// Run: go test ./internal/store -run '^$' -fuzz FuzzRDataNames -fuzztime 20s
func FuzzRDataNames(f *testing.F) {
	f.Add(uint16(15), "10 mail.example.com.")
	f.Add(uint16(6), "ns1.example.net. hostmaster.example.com. 1 2 3 4 5")
	f.Add(uint16(35), `100 10 "S" "SIP+D2U" "" _sip._udp.example.com.`)
	f.Add(uint16(33), "10 5 5060 sip.example.com.")
	f.Add(uint16(5), `a\.b.example.com.`)
	f.Fuzz(func(t *testing.T, rrtype uint16, rdata string) {
		for _, n := range RDataNames(rrtype, rdata) {
			if err := CheckName(n); err != nil || n == "." {
				t.Fatalf("RDataNames(%d, %q) gave %q: %v", rrtype, rdata, n, err)
			}
		}
	})
}
