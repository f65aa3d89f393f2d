package pebble

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strconv"
	"testing"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

// FuzzDecodeValue: any bytes on disk decode to an aggregate or an error
// (never a panic), and a decoded aggregate re-encodes to the same bytes.
// Run: go test ./internal/store/pebble -run '^$' -fuzz FuzzDecodeValue -fuzztime 20s
func FuzzDecodeValue(f *testing.F) {
	for _, t := range storetest.Fixture() {
		var a agg
		a.timeFirst, a.timeLast, a.count = t.TimeFirst, t.TimeLast, t.Count
		a.zoneFirst, a.zoneLast = t.ZoneTimeFirst, t.ZoneTimeLast
		if t.Bailiwick != "" {
			a.bail = appendBailiwick(nil, t.RRName, t.Bailiwick)
		}
		if len(t.SensorIDs) > 0 {
			a.sensors = []uint32{0, 3}
		}
		f.Add(a.encode(nil), t.RRName)
	}
	f.Fuzz(func(t *testing.T, b []byte, rrname string) {
		var a agg
		if err := decodeValue(b, &a); err != nil {
			return
		}
		if got := a.encode(nil); !bytes.Equal(got, b) {
			// Varints have several encodings; only canonical input must
			// round-trip. Decoding the re-encoding must agree.
			var c agg
			if err := decodeValue(got, &c); err != nil || c.count != a.count || c.timeFirst != a.timeFirst || c.timeLast != a.timeLast {
				t.Fatalf("re-encoding %x gives %x which decodes differently (%v)", b, got, err)
			}
		}
		if store.CheckName(rrname) == nil {
			bailiwickOf(rrname, a.bail) // must not panic
		}
		m := &valueMerger{}
		if err := m.decode(b, &m.acc); err == nil {
			m.MergeNewer(b)
			m.MergeOlder(b)
			m.Finish(true)
		}
	})
}

// FuzzNameKeys: label reversal is its own inverse for every storable name,
// and tuple keys decode back to their parts.
// Run: go test ./internal/store/pebble -run '^$' -fuzz FuzzNameKeys -fuzztime 20s
func FuzzNameKeys(f *testing.F) {
	for _, t := range storetest.Fixture() {
		f.Add(t.RRName, t.RRType, t.RData, t.Bailiwick)
	}
	f.Fuzz(func(t *testing.T, name string, rrtype uint16, rdata, bail string) {
		if got, want := appendRev(nil, name), appendRevEscaped(nil, name); !bytes.Equal(got, want) {
			t.Fatalf("appendRev(%q) = %q, the label walk gives %q", name, got, want)
		}
		if store.CheckName(name) != nil || rdata == "" {
			return
		}
		rev := appendRev(nil, name)
		if got := revToName(rev); got != name {
			t.Fatalf("revToName(appendRev(%q)) = %q", name, got)
		}
		k := appendRecordKey(nil, name, rrtype, rdata)
		rk, err := parseRecordKey(k)
		if err != nil {
			t.Fatalf("parseRecordKey(%q): %v", k, err)
		}
		rd, err := decodeRData(rk.rrtype, rk.rdata)
		if err != nil || rd != rdata || rk.rrtype != rrtype || revToName(rk.rev) != name {
			t.Fatalf("key of %q %d %q decodes to %q %d %q (%v)", name, rrtype, rdata, revToName(rk.rev), rk.rrtype, rd, err)
		}
		if store.CheckName(bail) == nil {
			code := appendBailiwick(nil, name, bail)
			if got, err := bailiwickOf(name, code); err != nil || got != bail {
				t.Fatalf("bailiwick %q of %q round-trips to %q (%v)", bail, name, got, err)
			}
		}
		entries, _ := appendIndexEntries(nil, nil, name, rrtype, rdata)
		if len(entries) < 2 {
			t.Fatalf("%q %d %q has %d index entries", name, rrtype, rdata, len(entries))
		}
	})
}

// FuzzLookupCursor: a client-supplied cursor never crashes a lookup; it
// resumes somewhere or fails with ErrBadCursor.
// Run: go test ./internal/store/pebble -run '^$' -fuzz FuzzLookupCursor -fuzztime 20s
func FuzzLookupCursor(f *testing.F) {
	db, err := Open(context.Background(), f.TempDir(), Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	if err := db.Upsert(context.Background(), storetest.Fixture()); err != nil {
		f.Fatal(err)
	}
	f.Add("AXJjb20uZXhhbXBsZS5hXC5iAAABAcAAAk4", uint8(0))
	f.Add(encodeCursor([]byte("fwww.example.com\x00\x00\x01\x01")), uint8(2))
	f.Add(encodeCursor([]byte("gwww.example.com\x00\x00\x05")), uint8(3))
	f.Add("12", uint8(1))
	f.Fuzz(func(t *testing.T, cursor string, kind uint8) {
		qs := []store.Query{
			{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, Type: store.TypeAll},
			{Kind: store.KindRDataIP, IPLow: mustAddr("192.0.2.0"), IPHigh: mustAddr("192.0.2.255")},
			{Kind: store.KindRRSet, Name: "www", Wildcard: store.WildRight},
			{Kind: store.KindRDataName, Name: "www.example", Wildcard: store.WildRight},
			{Kind: store.KindRDataRaw, RData: "www.example.com."},
		}
		q := qs[int(kind)%len(qs)]
		q.Cursor, q.Limit = cursor, 3
		_, err := db.Lookup(context.Background(), q, func(*pdns.Tuple) error { return nil })
		if err != nil && !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("cursor %q: %v", cursor, err)
		}
	})
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// FuzzKVSetSort: any keys (the input cut at 0xfe bytes; keys shorter than
// the eight bytes the sort reads at a time, sharing prefixes, repeated)
// come out of a bulk key set's sort in the order of a plain stable sort,
// with their values, and with the keys equal to the one before them
// marked. Run: go test ./internal/store/pebble -run '^$' -fuzz FuzzKVSetSort -fuzztime 20s
func FuzzKVSetSort(f *testing.F) {
	f.Add([]byte("rtest.example.www\x00\x00\x01\xfertest.example.www\x00\x00\x01\xfertest.example\x00"))
	f.Add(bytes.Repeat([]byte("a\xfe"), 40))
	f.Add([]byte("\x00\xfe\x00\x00\xfe\x00\xfe\xfe\xfeabcdefgh\xfeabcdefg\xfeabcdefghi\xfeabcdefgh"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<16 {
			return
		}
		keys := bytes.Split(in, []byte{0xfe})
		var s kvSet
		s.reset(len(in), len(keys)/2)
		for i, k := range keys {
			s.add(k, strconv.AppendInt(nil, int64(i), 10))
		}
		s.sort()
		checkSorted(t, &s, keys)
	})
}
