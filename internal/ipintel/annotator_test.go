package ipintel

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeSource answers from a map and counts lookups.
type fakeSource struct {
	name  string
	infos map[string]Info
	err   error
	calls atomic.Int64
}

func (f *fakeSource) Name() string { return f.name }
func (f *fakeSource) Lookup(_ context.Context, a netip.Addr) (Info, error) {
	f.calls.Add(1)
	if f.err != nil {
		return Info{}, f.err
	}
	return f.infos[a.String()], nil
}

func TestOpenAndMerge(t *testing.T) {
	dir := t.TempDir()
	tsv := filepath.Join(dir, "ip2asn-combined.tsv")
	if err := os.WriteFile(tsv, readTestdata(t, "iptoasn/sample.tsv"), 0o644); err != nil {
		t.Fatal(err)
	}
	ex := startCymru(t)
	a, err := Open(Options{
		MMDB:         []string{asnDB(t), countryDB(t)},
		IPToASN:      []string{tsv},
		Cymru:        true,
		Exchanger:    ex,
		CymruOptions: testCymruZones,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.Sources(); !slices.Equal(got, []string{"mmdb:GeoLite2-ASN", "mmdb:GeoLite2-Country", "iptoasn", "cymru"}) {
		t.Errorf("sources %q", got)
	}
	tests := []struct {
		addr, prefix string
		asn          uint32
		name         string
		country      string
		sources      string
	}{
		// Everything from the two .mmdb files; nothing else is asked.
		{"192.0.2.1", "192.0.2.0/25", 64496, "EXAMPLE-NET-A", "US", "mmdb:GeoLite2-ASN mmdb:GeoLite2-Country"},
		// Country (and a /24) from the country file; the AS, and with it
		// the prefix, from iptoasn.
		{"192.0.2.200", "192.0.2.128/25", 64497, "EXAMPLE-NET-B", "US", "mmdb:GeoLite2-Country iptoasn"},
		// v6: the AS from the ASN file, the country from iptoasn (which
		// reports the same AS, so its prefix does not replace the file's).
		{"2001:db8::1", "2001:db8::/48", 64499, "EXAMPLE-V6", "GB", "mmdb:GeoLite2-ASN iptoasn"},
		// Not routed in iptoasn: Team Cymru gives the AS.
		{"198.51.100.150", "198.51.100.0/24", 64496, "EXAMPLE-NET-A - Example Net A, US", "NL", "mmdb:GeoLite2-Country cymru"},
		{"203.0.113.7", "203.0.113.0/24", 65536, "EXAMPLE-32BIT", "JP", "iptoasn"},
		// Private: nothing known, Cymru not asked.
		{"10.0.0.1", "", 0, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			before := ex.n.Load()
			info, err := a.Lookup(context.Background(), netip.MustParseAddr(tc.addr))
			if err != nil {
				t.Fatal(err)
			}
			p := ""
			if info.Prefix.IsValid() {
				p = info.Prefix.String()
			}
			if p != tc.prefix || info.ASN != tc.asn || info.ASName != tc.name || info.Country != tc.country || strings.Join(info.Sources, " ") != tc.sources {
				t.Errorf("got %s AS%d %q %q from %q, want %s AS%d %q %q from %q", p, info.ASN, info.ASName, info.Country, info.Sources,
					tc.prefix, tc.asn, tc.name, tc.country, tc.sources)
			}
			if !strings.Contains(tc.sources, "cymru") && ex.n.Load() != before {
				t.Errorf("Team Cymru was asked although the files sufficed")
			}
			// The second lookup comes from the cache.
			before = ex.n.Load()
			again, err := a.Lookup(context.Background(), netip.MustParseAddr(tc.addr))
			if err != nil || again.ASN != info.ASN || ex.n.Load() != before {
				t.Errorf("cached lookup: %+v, %v, %d questions", again, err, ex.n.Load()-before)
			}
		})
	}
	if _, err := Open(Options{Cymru: true}); !errors.Is(err, ErrConfig) {
		t.Errorf("Cymru without exchanger: err %v", err)
	}
	if _, err := Open(Options{MMDB: []string{tsv}}); !errors.Is(err, ErrFormat) {
		t.Errorf("TSV as mmdb: err %v", err)
	}
}

func TestAnnotatorNameFill(t *testing.T) {
	// The first source knows the AS but not its name; a namer fills it.
	ex := startCymru(t)
	c, _ := NewCymru(ex, testCymruZones)
	numbers := &fakeSource{name: "numbers", infos: map[string]Info{"192.0.2.77": {ASN: 64501, Prefix: netip.MustParsePrefix("192.0.2.0/24")}}}
	a, _ := NewAnnotator([]Source{numbers, c}, 0, nil)
	info, err := a.Lookup(context.Background(), netip.MustParseAddr("192.0.2.77"))
	if err != nil || info.ASName != "EXAMPLE-JP, JP" || info.ASN != 64501 || !slices.Equal(info.Sources, []string{"numbers", "cymru"}) {
		t.Errorf("%+v, %v", info, err)
	}
	if ex.n.Load() != 1 {
		t.Errorf("%d questions, want only the AS name", ex.n.Load())
	}
}

func TestAnnotatorErrorsAndCache(t *testing.T) {
	boom := errors.New("boom")
	bad := &fakeSource{name: "bad", err: boom}
	good := &fakeSource{name: "good", infos: map[string]Info{"192.0.2.1": {ASN: 64496}}}
	a, _ := NewAnnotator([]Source{bad, good}, 0, nil)
	info, err := a.Lookup(context.Background(), netip.MustParseAddr("192.0.2.1"))
	if err != nil || info.ASN != 64496 {
		t.Errorf("a failing source must be skipped: %+v, %v", info, err)
	}
	only, _ := NewAnnotator([]Source{bad}, 0, nil)
	if _, err := only.Lookup(context.Background(), netip.MustParseAddr("192.0.2.1")); !errors.Is(err, boom) {
		t.Errorf("all sources failed: err %v", err)
	}
	// Failures are not cached.
	if _, err := only.Lookup(context.Background(), netip.MustParseAddr("192.0.2.1")); !errors.Is(err, boom) || bad.calls.Load() != 3 {
		t.Errorf("failure cached? err %v, calls %d", err, bad.calls.Load())
	}
	if _, err := a.Lookup(context.Background(), netip.Addr{}); !errors.Is(err, ErrLookup) {
		t.Errorf("invalid address: err %v", err)
	}

	// Concurrent lookups of one address ask once; the cache bound holds.
	counted := &fakeSource{name: "c", infos: map[string]Info{"192.0.2.9": {Country: "US"}}}
	small, _ := NewAnnotator([]Source{counted}, 2, nil)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if info, err := small.Lookup(context.Background(), netip.MustParseAddr("192.0.2.9")); err != nil || info.Country != "US" {
				t.Errorf("%+v, %v", info, err)
			}
		}()
	}
	wg.Wait()
	if counted.calls.Load() != 1 {
		t.Errorf("%d lookups for one address, want 1", counted.calls.Load())
	}
	for _, s := range []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"} {
		_, _ = small.Lookup(context.Background(), netip.MustParseAddr(s))
	}
	if len(small.cache) > 2 {
		t.Errorf("cache holds %d entries, bound 2", len(small.cache))
	}
	none, _ := NewAnnotator([]Source{counted}, -1, nil)
	_, _ = none.Lookup(context.Background(), netip.MustParseAddr("192.0.2.9"))
	_, _ = none.Lookup(context.Background(), netip.MustParseAddr("192.0.2.9"))
	if counted.calls.Load() != 6 || len(none.cache) != 0 {
		t.Errorf("uncached annotator: %d calls", counted.calls.Load())
	}
	if _, err := NewAnnotator([]Source{nil}, 0, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil source: err %v", err)
	}
}

func TestGroup(t *testing.T) {
	p24 := netip.MustParsePrefix("192.0.2.0/24")
	p6 := netip.MustParsePrefix("2001:db8::/32")
	in := []Annotated{
		{netip.MustParseAddr("192.0.2.9"), Info{Prefix: p24, ASN: 64496, ASName: "A", Country: "US"}},
		{netip.MustParseAddr("10.0.0.1"), Info{}},
		{netip.MustParseAddr("2001:db8::1"), Info{Prefix: p6, ASN: 64499, ASName: "V6"}},
		{netip.MustParseAddr("192.0.2.1"), Info{Prefix: p24, ASN: 64496, ASName: "A", Country: "US"}},
		{netip.MustParseAddr("192.0.2.1"), Info{Prefix: p24, ASN: 64496, ASName: "A", Country: "US"}},
		{netip.MustParseAddr("198.51.100.1"), Info{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Country: "NL"}},
	}
	got := Group(in)
	var keys []string
	for _, n := range got {
		var addrs []string
		for _, a := range n.Addrs {
			addrs = append(addrs, a.String())
		}
		p := ""
		if n.Prefix.IsValid() {
			p = n.Prefix.String()
		}
		keys = append(keys, p+" "+n.ASName+" "+strings.Join(addrs, ","))
	}
	want := []string{
		"192.0.2.0/24 A 192.0.2.1,192.0.2.9",
		"2001:db8::/32 V6 2001:db8::1",
		"  10.0.0.1",
		"198.51.100.0/24  198.51.100.1",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("groups\n%s\nwant\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
}
