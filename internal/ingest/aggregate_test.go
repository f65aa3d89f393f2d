package ingest

import (
	"fmt"
	"testing"
)

// TestAggregateGrowth fills an aggregate over many entry and arena
// chunks and index doublings, and checks that every entry is found with
// its own strings, that each is taken as the tuple it holds, that a reset
// empties it, and that it fills again.
func TestAggregateGrowth(t *testing.T) {
	const n = 20*entryChunk + 123
	a := newAggregate()
	for round := range 2 {
		for i := range n {
			key := fmt.Appendf(nil, "key-%d-%d", round, i)
			e, h := a.lookup(key)
			if e != nil {
				t.Fatalf("round %d: key %d found before it was inserted", round, i)
			}
			e = a.insert(key, h, 1, fmt.Appendf(nil, "n%d.test", i), fmt.Appendf(nil, "192.0.2.%d", i%256))
			a.sight(e, int64(i))
		}
		if int(a.n) != n || a.dirty != n {
			t.Fatalf("round %d: %d entries, %d dirty, want %d", round, a.n, a.dirty, n)
		}
		for i := range n {
			e, _ := a.lookup(fmt.Appendf(nil, "key-%d-%d", round, i))
			if e == nil {
				t.Fatalf("round %d: key %d not found", round, i)
			}
			if name, rdata := a.name(e), a.rdata(e); name != fmt.Sprintf("n%d.test", i) || rdata != fmt.Sprintf("192.0.2.%d", i%256) || e.first != int64(i) {
				t.Fatalf("round %d: key %d holds %q %q first %d", round, i, name, rdata, e.first)
			}
		}
		if want := (n + entryChunk - 1) / entryChunk; len(a.ents) != want {
			t.Errorf("round %d: %d entry chunks for %d entries", round, len(a.ents), n)
		}
		var got int
		for _, j := range a.takeDirty([]string{"s1"}, n/3, func(*job) bool { return false }) {
			for _, tp := range j.tuples {
				var i int
				if _, err := fmt.Sscanf(tp.RRName, "n%d.test", &i); err != nil || i < 0 || i >= n {
					t.Fatalf("round %d: tuple %+v", round, tp)
				}
				if tp.RRType != 1 || tp.RData != fmt.Sprintf("192.0.2.%d", i%256) || tp.Count != 1 ||
					tp.TimeFirst != int64(i) || tp.TimeLast != int64(i) || len(tp.SensorIDs) != 1 || tp.SensorIDs[0] != "s1" {
					t.Fatalf("round %d: tuple of entry %d is %+v", round, i, tp)
				}
				got++
			}
		}
		if got != n || a.dirty != 0 {
			t.Fatalf("round %d: %d tuples taken, want %d (%d still dirty)", round, got, n, a.dirty)
		}
		a.reset()
		if a.n != 0 || len(a.ents) != 0 {
			t.Fatalf("round %d: reset left %d entries in %d chunks", round, a.n, len(a.ents))
		}
	}
}
