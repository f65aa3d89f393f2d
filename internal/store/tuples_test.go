package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// indexed are tuples read into the caller's scratch.
type indexed []pdns.Tuple

func (s indexed) Len() int { return len(s) }
func (s indexed) At(i int, t *pdns.Tuple) *pdns.Tuple {
	*t = s[i]
	return t
}

// sliceSink has only Upsert; tuplesSink has UpsertTuples too.
type sliceSink struct{ got [][]pdns.Tuple }

func (s *sliceSink) Upsert(_ context.Context, ts []pdns.Tuple) error {
	s.got = append(s.got, ts)
	return nil
}

type tuplesSink struct {
	sliceSink
	native []Tuples
}

func (s *tuplesSink) UpsertTuples(_ context.Context, ts Tuples) error {
	s.native = append(s.native, ts)
	return nil
}

// TestUpsertTuples: Tuples reach a TuplesUpserter as they are, and any
// other writer as a slice, the caller's own when they are a TupleSlice.
func TestUpsertTuples(t *testing.T) {
	ctx := context.Background()
	ts := []pdns.Tuple{
		{RRName: "a.test", RRType: 1, RData: "192.0.2.1", Count: 1, SensorIDs: []string{"s"}},
		{RRName: "b.test", RRType: 28, RData: "2001:db8::1", Count: 2, Bailiwick: "test"},
	}
	var plain sliceSink
	if err := UpsertTuples(ctx, &plain, indexed(ts)); err != nil {
		t.Fatal(err)
	}
	if err := UpsertTuples(ctx, &plain, TupleSlice(ts)); err != nil {
		t.Fatal(err)
	}
	if len(plain.got) != 2 || !reflect.DeepEqual(plain.got[0], ts) || !reflect.DeepEqual(plain.got[1], ts) {
		t.Fatalf("a slice writer got %+v, want the tuples twice", plain.got)
	}
	if &plain.got[0][0] == &ts[0] || &plain.got[1][0] != &ts[0] {
		t.Error("a TupleSlice was copied, or Tuples were not")
	}
	var native tuplesSink
	if err := UpsertTuples(ctx, &native, indexed(ts)); err != nil {
		t.Fatal(err)
	}
	if len(native.got) != 0 || len(native.native) != 1 {
		t.Fatalf("a TuplesUpserter got %d slices and %d Tuples, want 0 and 1", len(native.got), len(native.native))
	}
	if got := AppendTuples([]pdns.Tuple{{RRName: "x.test"}}, indexed(ts)); !reflect.DeepEqual(got[1:], ts) || got[0].RRName != "x.test" {
		t.Errorf("AppendTuples: %+v", got)
	}
}
