package store

import (
	"errors"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
)

func TestHistoryCursor(t *testing.T) {
	for _, c := range []HistoryCursor{
		{},
		{Time: time.Date(2024, 5, 1, 0, 0, 0, 1, time.UTC).UnixNano(), ID: "20240501T000000.000000001Z-00ff00ff"},
		{Domain: "example.com", ID: "axfr-allowed example.com"},
		{Time: 1<<63 - 1, ID: "x", Seq: 1<<31 - 1},
	} {
		for _, kind := range []byte{CursorScans, CursorEvents, CursorFindings} {
			s := EncodeHistoryCursor(kind, c)
			got, err := DecodeHistoryCursor(kind, s)
			if err != nil || got != c {
				t.Errorf("round trip of %+v (%c): %+v, %v", c, kind, got, err)
			}
			other := byte(CursorScans)
			if kind == CursorScans {
				other = CursorEvents
			}
			if _, err := DecodeHistoryCursor(other, s); !errors.Is(err, ErrBadCursor) {
				t.Errorf("a %c cursor decodes as %c: %v", kind, other, err)
			}
		}
	}
	for _, s := range []string{"", "!", "cw", EncodeHistoryCursor(CursorScans, HistoryCursor{ID: "x"}) + "AA"} {
		if _, err := DecodeHistoryCursor(CursorScans, s); !errors.Is(err, ErrBadCursor) {
			t.Errorf("DecodeHistoryCursor(%q): %v, want ErrBadCursor", s, err)
		}
	}
}

func TestHistoryQueryValidate(t *testing.T) {
	q := ScanQuery{Domain: "Example.COM."}
	if err := q.Validate(); err != nil || q.Domain != "example.com" || q.Limit != HistoryMaxLimit {
		t.Errorf("ScanQuery.Validate: %+v, %v", q, err)
	}
	q = ScanQuery{Limit: HistoryMaxLimit + 1}
	if err := q.Validate(); err != nil || q.Limit != HistoryMaxLimit {
		t.Errorf("limit not capped: %+v, %v", q, err)
	}
	f := FindingQuery{State: history.StateOpen, MinSeverity: finding.Critical, Limit: 3}
	if err := f.Validate(); err != nil || f.Limit != 3 {
		t.Errorf("FindingQuery.Validate: %+v, %v", f, err)
	}
	for _, bad := range []func() error{
		func() error { q := ScanQuery{Domain: "bad name"}; return q.Validate() },
		func() error { q := ScanQuery{Limit: -1}; return q.Validate() },
		func() error { q := ScanQuery{Since: time.Unix(-1, 0)}; return q.Validate() },
		func() error { q := EventQuery{Since: time.Unix(10, 0), Until: time.Unix(5, 0)}; return q.Validate() },
		func() error { q := EventQuery{Kinds: []string{"bogus"}}; return q.Validate() },
		func() error { q := FindingQuery{State: "gone"}; return q.Validate() },
		func() error { q := FindingQuery{MinSeverity: -1}; return q.Validate() },
	} {
		if err := bad(); !errors.Is(err, ErrBadQuery) {
			t.Errorf("Validate: %v, want ErrBadQuery", err)
		}
	}
}

func TestEncodeStep(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	snap := history.Snapshot{Domain: "example.com", Names: []string{"www.example.com"},
		Findings: []finding.Finding{{ID: "axfr-allowed", Subject: "example.com", Severity: finding.High}}}
	complete := history.Advance(nil, nil, snap, history.Scan{ID: "s1", Domain: "example.com", Started: t0, Complete: true})
	enc, err := EncodeStep(&complete)
	if err != nil || enc.Snapshot == nil || enc.Baseline != nil || !enc.SameBaseline || len(enc.States) != 1 ||
		len(enc.StateJSON) != 1 || len(enc.EventJSON) != len(complete.Events) || enc.Scan == nil {
		t.Errorf("complete scan: %+v, %v; want the snapshot once, the state, the events", enc, err)
	}
	partial := history.Advance(complete.Baseline, complete.States, history.Snapshot{Domain: "example.com", Names: []string{"mail.example.com"}},
		history.Scan{ID: "s2", Domain: "example.com", Started: t0.Add(time.Hour)})
	enc, err = EncodeStep(&partial)
	if err != nil || enc.Snapshot == nil || enc.Baseline == nil || enc.SameBaseline || len(enc.States) != 0 {
		t.Errorf("partial scan: %+v, %v; want snapshot and baseline, no state changed", enc, err)
	}
	// A baseline equal to the snapshot but not the same pointer is stored once.
	again := complete
	b := *complete.Baseline
	again.Baseline = &b
	if enc, err := EncodeStep(&again); err != nil || !enc.SameBaseline || enc.Baseline != nil {
		t.Errorf("equal baseline: %+v, %v", enc, err)
	}
	outage := history.Advance(complete.Baseline, complete.States, history.Snapshot{}, history.Scan{ID: "s3", Domain: "example.com", Started: t0.Add(2 * time.Hour), Outage: true})
	enc, err = EncodeStep(&outage)
	if err != nil || enc.Snapshot != nil || enc.Baseline != nil || enc.SameBaseline || len(enc.EventJSON) != 1 {
		t.Errorf("outage: %+v, %v; want only the event", enc, err)
	}
	outage.Events[0].Kind = "nope"
	if _, err := EncodeStep(&outage); !errors.Is(err, ErrBadHistory) {
		t.Errorf("bad step: %v, want ErrBadHistory", err)
	}
	if _, err := HistoryDomain(""); !errors.Is(err, ErrBadQuery) {
		t.Errorf("HistoryDomain(\"\"): %v", err)
	}
	if d, err := HistoryDomain("Example.COM."); err != nil || d != "example.com" {
		t.Errorf("HistoryDomain: %q %v", d, err)
	}
}

// FuzzDecodeHistoryCursor: any cursor a client sends decodes to one that
// re-encodes to the same text, or fails with ErrBadCursor.
// Run: go test ./internal/store -run '^$' -fuzz FuzzDecodeHistoryCursor -fuzztime 20s
func FuzzDecodeHistoryCursor(f *testing.F) {
	f.Add(EncodeHistoryCursor(CursorScans, HistoryCursor{Time: 1714521600000000000, ID: "20240501T000000.000000000Z-00ff00ff"}))
	f.Add(EncodeHistoryCursor(CursorEvents, HistoryCursor{Time: 1714521600000000000, ID: "s", Seq: 7}))
	f.Add(EncodeHistoryCursor(CursorFindings, HistoryCursor{Domain: "example.com", ID: "axfr-allowed example.com"}))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []byte{CursorScans, CursorEvents, CursorFindings} {
			c, err := DecodeHistoryCursor(kind, s)
			if err != nil {
				if !errors.Is(err, ErrBadCursor) {
					t.Fatalf("error outside ErrBadCursor: %v", err)
				}
				continue
			}
			if c.Seq < 0 {
				t.Fatalf("negative sequence number from %q", s)
			}
			if again := EncodeHistoryCursor(kind, c); again != s {
				if c2, err := DecodeHistoryCursor(kind, again); err != nil || c2 != c {
					t.Fatalf("%q decodes to %+v which re-encodes to %q decoding to %+v (%v)", s, c, again, c2, err)
				}
			}
		}
	})
}
