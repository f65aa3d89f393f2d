package history

import (
	"testing"
	"time"
)

// BenchmarkAdvance: one rescan of a domain with 5,000 names and records
// where 50 names changed.
// Run: go test ./internal/history -run '^$' -bench Advance
func BenchmarkAdvance(b *testing.B) {
	prev := bigSnapshot(5000)
	prev.Normalize()
	first := Advance(nil, nil, prev, Scan{ID: NewScanID(t0), Domain: "example.com", Started: t0, Complete: true})
	cur := bigSnapshot(5050)
	cur.Names, cur.Records = cur.Names[50:], cur.Records[50:]
	scan := Scan{ID: NewScanID(t0.Add(time.Hour)), Domain: "example.com", Started: t0.Add(time.Hour), Complete: true}
	b.ReportAllocs()
	for b.Loop() {
		st := Advance(first.Baseline, first.States, cur, scan)
		if len(st.Events) != 200 {
			b.Fatalf("%d events", len(st.Events))
		}
	}
}

// BenchmarkSnapshotCodec: encoding and decoding the stored form of a
// snapshot of 5,000 names and records.
// Run: go test ./internal/history -run '^$' -bench SnapshotCodec
func BenchmarkSnapshotCodec(b *testing.B) {
	s := bigSnapshot(5000)
	enc, err := MarshalSnapshot(&s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ReportMetric(float64(len(enc)), "stored-bytes")
	for b.Loop() {
		enc, _ := MarshalSnapshot(&s)
		if _, err := UnmarshalSnapshot(enc, 0); err != nil {
			b.Fatal(err)
		}
	}
}
