package ingest

import (
	"fmt"
	"reflect"
	"testing"
	"unsafe"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
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
		for _, j := range a.takeDirty([]string{"s1"}, n/3, false, func(*job) bool { return false }) {
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

// TestTakeDirtySome sights parts of an aggregate (a part in its last
// two thirds, in jobs of 5,000 tuples; every third entry, in jobs of one;
// all, in jobs of 7), twice each, and checks that each sighted entry is
// handed off once, with its count, in jobs of equal sizes but the last
// (those ready took as well as those returned), that only those are,
// and that none is dirty after.
func TestTakeDirtySome(t *testing.T) {
	const n = 30_077
	a := newAggregate()
	ents := make([]*entry, n)
	for i := range n {
		key := fmt.Appendf(nil, "key-%d", i)
		_, h := a.lookup(key)
		ents[i] = a.insert(key, h, 1, fmt.Appendf(nil, "n%d.test", i), []byte("192.0.2.1"))
	}
	for round, step := range []int{1, 3, 1} {
		batch := []int{5000, 1, 7}[round]
		want := map[string]uint64{}
		for i := 0; i < n; i += step {
			if i < n/3 && round == 0 {
				continue
			}
			a.sight(ents[i], 1)
			a.sight(ents[i], 2)
			want[fmt.Sprintf("n%d.test", i)] = 2
		}
		var offered []*job
		jobs := a.takeDirty(nil, batch, false, func(j *job) bool {
			if len(offered)%2 == 1 {
				return false
			}
			offered = append(offered, j)
			return true
		})
		got := map[string]uint64{}
		all := append(jobs, offered...)
		if want := (len(want) + batch - 1) / batch; len(all) != want {
			t.Errorf("round %d: %d jobs, want %d", round, len(all), want)
		}
		size := (len(want) + len(all) - 1) / len(all)
		short := 0
		for _, j := range all {
			if len(j.tuples) != size {
				short++ // the last one
			}
			if len(j.tuples) > size || short > 1 {
				t.Errorf("round %d: a job of %d tuples, of jobs of %d", round, len(j.tuples), size)
			}
			for _, tp := range j.tuples {
				if _, dup := got[tp.RRName]; dup {
					t.Fatalf("round %d: %s handed off twice", round, tp.RRName)
				}
				got[tp.RRName] = tp.Count
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round %d: %d tuples handed off, want %d", round, len(got), len(want))
		}
		for i, e := range ents {
			if e.dirty {
				t.Fatalf("round %d: entry %d still dirty", round, i)
			}
		}
		if a.dirty != 0 {
			t.Errorf("round %d: %d dirty after", round, a.dirty)
		}
	}
}

// TestTakeDirtyWhole hands off two identical aggregates, one as tuples
// and one whole (its jobs read the entries where they are), and checks
// that the jobs hold the same tuples (bailiwicks, zone times and sensors
// of their own included, clean entries left out), in jobs of the same
// sizes, and that the whole one starts anew: refilled with other tuples,
// it leaves what its jobs read unchanged.
func TestTakeDirtyWhole(t *testing.T) {
	const n = 3*entryChunk + 17
	fill := func(a *aggregate, tag string) {
		z := &zoneName{text: "zone" + tag + ".test"}
		for i := range n {
			key := fmt.Appendf(nil, "key-%s-%d", tag, i)
			_, h := a.lookup(key)
			e := a.insert(key, h, uint16(1+i%3), fmt.Appendf(nil, "n%d.%s.test", i, tag), fmt.Appendf(nil, "192.0.2.%d", i%256))
			if i%5 == 0 {
				continue // clean: not handed off
			}
			a.sight(e, int64(100+i))
			if i%7 == 0 {
				a.sight(e, int64(50+i))
				e.bail = a.bailOfZone(z)
			}
			if i%11 == 0 {
				x := a.ext(e)
				x.zfirst, x.zlast = int64(i), int64(2*i)
				a.insertSensors(e, []string{"own-" + tag, "a-" + tag})
			}
		}
	}
	sensors := []string{"s1"}
	asTuples, whole := newAggregate(), newAggregate()
	fill(&asTuples, "x")
	fill(&whole, "x")
	const batch = n / 4
	var wantJobs []int
	var want []pdns.Tuple
	for _, j := range asTuples.takeDirty(sensors, batch, false, func(*job) bool { return false }) {
		wantJobs = append(wantJobs, len(j.tuples))
		want = append(want, j.tuples...)
	}
	var offered []*job
	jobs := whole.takeDirty(sensors, batch, true, func(j *job) bool {
		offered = append(offered, j)
		return len(offered) == 1 // the first is taken, as a writer would
	})
	jobs = append(offered[:1], jobs...)
	read := func() ([]int, []pdns.Tuple) {
		var sizes []int
		var got []pdns.Tuple
		for _, j := range jobs {
			if j.src == nil || len(j.tuples) != 0 {
				t.Fatalf("a job of a whole hand-off holds %d tuples and source %v", len(j.tuples), j.src)
			}
			sizes = append(sizes, j.len())
			got = store.AppendTuples(got, j.batch())
		}
		return sizes, got
	}
	sizes, got := read()
	if !reflect.DeepEqual(sizes, wantJobs) {
		t.Errorf("jobs of %v tuples, want %v", sizes, wantJobs)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("whole hand-off: %d tuples differ from the %d taken as tuples", len(got), len(want))
	}
	if whole.n != 0 || len(whole.ents) != 0 || whole.dirty != 0 || whole.publishedDirty.Load() != 0 {
		t.Fatalf("after a whole hand-off: %d entries, %d dirty", whole.n, whole.dirty)
	}
	fill(&whole, "y")
	if _, again := read(); !reflect.DeepEqual(again, want) {
		t.Fatal("refilling the aggregate changed what the jobs of its last hand-off read")
	}
}

// TestEntryIsOneCacheLine: an entry fills one cache line, and its chunks
// start at one, so that no entry spans two (see entrySize).
func TestEntryIsOneCacheLine(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n != entrySize {
		t.Fatalf("an entry is %d bytes, want %d", n, entrySize)
	}
	a := newAggregate()
	for i := range 2*entryChunk + 1 {
		key := fmt.Appendf(nil, "k%d", i)
		_, h := a.lookup(key)
		a.insert(key, h, 1, key, key)
	}
	for i, c := range a.ents {
		if p := uintptr(unsafe.Pointer(&c[0])); p%entrySize != 0 {
			t.Errorf("chunk %d starts at %#x, not at a cache line", i, p)
		}
	}
}

// TestTakeSetsEveryField takes tuples into a slice whose spare capacity
// holds another tuple with every field set: take grows it without
// zeroing, so a field it did not set would keep what was there (a field
// added to pdns.Tuple and forgotten in take too). Bailiwick, zone times
// and sensors are checked both set and unset.
func TestTakeSetsEveryField(t *testing.T) {
	a := newAggregate()
	plain, h := a.lookup([]byte("k1"))
	plain = a.insert([]byte("k1"), h, 1, []byte("a.test"), []byte("192.0.2.1"))
	a.sight(plain, 10)
	full, h2 := a.lookup([]byte("k2"))
	full = a.insert([]byte("k2"), h2, 28, []byte("b.test"), []byte("2001:db8::1"))
	a.sight(full, 20)
	a.sight(full, 30)
	full.bail = a.bailOfZone(&zoneName{text: "test"})
	x := a.ext(full)
	x.zfirst, x.zlast = 5, 6
	a.insertSensors(full, []string{"x"})

	// Every field of the stale tuple is set, a field added to Tuple too.
	var stale pdns.Tuple
	v := reflect.ValueOf(&stale).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("stale")
		case reflect.Uint16, reflect.Uint64:
			f.SetUint(77)
		case reflect.Int64:
			f.SetInt(77)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"stale"}))
		default:
			t.Fatalf("pdns.Tuple.%s: a %s, which this test cannot fill", v.Type().Field(i).Name, f.Kind())
		}
	}
	dst := []pdns.Tuple{stale, stale, stale}[:0]
	dst = a.take(dst, plain, []string{"s"})
	dst = a.take(dst, full, []string{"s"})
	want := []pdns.Tuple{
		{RRName: "a.test", RRType: 1, RData: "192.0.2.1", TimeFirst: 10, TimeLast: 10, Count: 1, SensorIDs: []string{"s"}},
		{RRName: "b.test", RRType: 28, RData: "2001:db8::1", Bailiwick: "test", TimeFirst: 20, TimeLast: 30,
			ZoneTimeFirst: 5, ZoneTimeLast: 6, Count: 2, SensorIDs: []string{"x"}},
	}
	if !reflect.DeepEqual(dst, want) {
		t.Errorf("taken:\n%+v\nwant:\n%+v", dst, want)
	}
}

// BenchmarkTakeDirty sights 250,000 entries and hands them off as
// tuples in jobs of 100,000, into fresh memory each time, as a flush
// does.
//
//	go test ./internal/ingest -run '^$' -bench TakeDirty -count 6
func BenchmarkTakeDirty(b *testing.B) {
	const n = 250_000
	a := newAggregate()
	var ents []*entry
	for i := range n {
		key := fmt.Appendf(nil, "key-%d", i)
		_, h := a.lookup(key)
		ents = append(ents, a.insert(key, h, 1, fmt.Appendf(nil, "n%d.test", i), fmt.Appendf(nil, "192.0.2.%d", i%256)))
	}
	sensors := []string{"s"}
	b.ReportAllocs()
	for b.Loop() {
		for i, e := range ents {
			a.sight(e, int64(i))
		}
		a.takeDirty(sensors, 100_000, false, func(*job) bool { return false })
	}
}
