package history

import (
	"errors"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// FuzzUnmarshalSnapshot: any stored bytes decode to a normalized snapshot
// that re-encodes and decodes to the same, or fail with ErrCorrupt or
// ErrTooLarge; never a panic, and memory stays within a few times the limit
// whatever the frame claims.
// Run: go test ./internal/history -run '^$' -fuzz FuzzUnmarshalSnapshot -fuzztime 20s
func FuzzUnmarshalSnapshot(f *testing.F) {
	for _, n := range []int{0, 3, 200} {
		s := bigSnapshot(n)
		b, err := MarshalSnapshot(&s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{snapshotFormat, 0x28, 0xb5, 0x2f, 0xfd})
	const limit = 1 << 18
	f.Fuzz(func(t *testing.T, b []byte) {
		var s *Snapshot
		var err error
		alloc := allocated(func() { s, err = UnmarshalSnapshot(b, limit) })
		if alloc > memBound(limit, len(b)) {
			t.Fatalf("%d input bytes allocated %d bytes (limit %d)", len(b), alloc, limit)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error outside the sentinels: %v", err)
			}
			return
		}
		again, err := MarshalSnapshot(s)
		if err != nil {
			t.Fatalf("a decoded snapshot does not encode: %v", err)
		}
		s2, err := UnmarshalSnapshot(again, 0)
		if err != nil {
			t.Fatalf("a re-encoded snapshot does not decode: %v", err)
		}
		if d := Diff(s, s2); !d.Empty() || s.Domain != s2.Domain {
			t.Fatalf("round trip differs: %+v", d)
		}
	})
}

// FuzzUnmarshalRecord: stored scans, states and events decode to records
// that validate and re-encode, or fail with ErrCorrupt.
// Run: go test ./internal/history -run '^$' -fuzz FuzzUnmarshalRecord -fuzztime 20s
func FuzzUnmarshalRecord(f *testing.F) {
	st := Advance(nil, nil, snap([]string{"a.example.com"}, fnd("axfr-allowed", "example.com", finding.High, "e1")),
		Scan{ID: NewScanID(t0), Domain: "example.com", Started: t0, Finished: t0.Add(time.Second), Complete: true})
	st2 := Advance(st.Baseline, st.States, Snapshot{}, Scan{ID: NewScanID(t0.Add(time.Hour)), Domain: "example.com", Started: t0.Add(time.Hour), Complete: true})
	for _, r := range []interface{ Validate() error }{&st.Scan, &st.States[0], &st.Events[0], &st2.States[0], &st2.Events[1]} {
		var b []byte
		var err error
		switch r := r.(type) {
		case *Scan:
			b, err = MarshalRecord(r)
		case *FindingState:
			b, err = MarshalRecord(r)
		case *Event:
			b, err = MarshalRecord(r)
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(err error, reencode func() error) {
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error outside ErrCorrupt: %v", err)
				}
				return
			}
			if err := reencode(); err != nil {
				t.Fatalf("a decoded record does not encode: %v", err)
			}
		}
		sc, err := UnmarshalRecord[Scan](b)
		check(err, func() error { _, err := MarshalRecord(&sc); return err })
		fs, err := UnmarshalRecord[FindingState](b)
		check(err, func() error { _, err := MarshalRecord(&fs); return err })
		ev, err := UnmarshalRecord[Event](b)
		check(err, func() error { _, err := MarshalRecord(&ev); return err })
	})
}
