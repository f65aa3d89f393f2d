package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

// TestKVSetSort checks the prefix sort against a plain stable sort on keys
// built to tie: shared prefixes of every length around the 8-byte rounds,
// zero bytes (which the padding of short keys imitates), duplicates.
func TestKVSetSort(t *testing.T) {
	alphabet := []byte{0, 1, 'a', 'b', 0xff}
	for _, tc := range []struct {
		name   string
		n      int
		maxLen int
	}{
		{"tiny", 5, 3},
		{"short keys", 2000, 9},
		{"around rounds", 2000, 26},
		{"long", 500, 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.maxLen)))
			var s kvSet
			var keys [][]byte
			for range tc.n {
				var k []byte
				if len(keys) > 0 && r.IntN(4) == 0 {
					// A key drawn before, again.
					keys = append(keys, slices.Clone(keys[r.IntN(len(keys))]))
					s.add(keys[len(keys)-1], fmt.Appendf(nil, "%d", len(keys)-1))
					continue
				}
				if len(keys) > 0 && r.IntN(3) == 0 {
					// Extend or cut a key already drawn.
					k = slices.Clone(keys[r.IntN(len(keys))])
					k = k[:r.IntN(len(k)+1)]
				}
				for len(k) < 1+r.IntN(tc.maxLen) {
					k = append(k, alphabet[r.IntN(len(alphabet))])
				}
				keys = append(keys, k)
				s.add(k, fmt.Appendf(nil, "%d", len(keys)-1))
			}
			s.sort()
			checkSorted(t, &s, keys)
		})
	}
}

// checkSorted checks a sorted set against a plain stable sort of keys, the
// i-th of which was added with the value "i": every key and value in its
// place, and each key equal to the one before it marked dup.
func checkSorted(t *testing.T, s *kvSet, keys [][]byte) {
	t.Helper()
	type kv struct {
		k []byte
		i int
	}
	want := make([]kv, len(keys))
	for i, k := range keys {
		want[i] = kv{k, i}
	}
	slices.SortStableFunc(want, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	if s.err != nil || len(s.refs) != len(want) {
		t.Fatalf("%d refs for %d keys, err %v", len(s.refs), len(want), s.err)
	}
	for i := range want {
		r := &s.refs[i]
		if got := s.key(r); !bytes.Equal(got, want[i].k) || string(s.val(r)) != fmt.Sprint(want[i].i) {
			t.Fatalf("position %d: key %q (added %s), want %q (added %d)", i, got, s.val(r), want[i].k, want[i].i)
		}
		if dup := i > 0 && bytes.Equal(want[i].k, want[i-1].k); r.dup() != dup {
			t.Fatalf("position %d: key %q marked dup %v, want %v", i, want[i].k, r.dup(), dup)
		}
	}
}

// TestBulkNames checks the distinct-name table of bulk writes, which
// leaves out a name the previous tuple had: each name is counted once,
// whether its tuples come together, apart, or in two writes.
func TestBulkNames(t *testing.T) {
	a := func(name, ip string) pdns.Tuple {
		return pdns.Tuple{RRName: name, RRType: dns.TypeA, RData: ip, Count: 1, TimeFirst: 1, TimeLast: 1}
	}
	tests := []struct {
		name   string
		writes [][]pdns.Tuple
		want   int64
	}{
		{"together", [][]pdns.Tuple{{a("a.example.com", "192.0.2.1"), a("a.example.com", "192.0.2.2"), a("b.example.com", "192.0.2.1")}}, 2},
		{"apart", [][]pdns.Tuple{{a("a.example.com", "192.0.2.1"), a("b.example.com", "192.0.2.1"), a("a.example.com", "192.0.2.2")}}, 2},
		{"first and last", [][]pdns.Tuple{{a("a.example.com", "192.0.2.1"), a("b.example.com", "192.0.2.1"), a("c.example.com", "192.0.2.1"), a("c.example.com", "192.0.2.2")}}, 3},
		{"two writes", [][]pdns.Tuple{{a("a.example.com", "192.0.2.1"), a("a.example.com", "192.0.2.2")}, {a("a.example.com", "192.0.2.3"), a("b.example.com", "192.0.2.1")}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, t.TempDir(), Options{NoSync: true, BulkTuples: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			for _, w := range tc.writes {
				if err := db.Upsert(ctx, w); err != nil {
					t.Fatal(err)
				}
				n += len(w)
			}
			st, err := db.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Names != tc.want || st.Tuples != int64(n) {
				t.Errorf("names %d, tuples %d; want %d, %d", st.Names, st.Tuples, tc.want, n)
			}
		})
	}
}

// BenchmarkKVSetSort sorts 100,000 keys shaped like the tuple keys of
// bench/ingest (reversed names under a few zones, a type, short rdata),
// in the order an aggregate hands them out. On the shared development
// machine: 7.5-8.5 ms; a most-significant-byte-first radix sort (one byte
// per pass, insertion sort under 32 keys) took 15-16 ms and was dropped.
//
//	go test ./internal/store/pebble -run '^$' -bench KVSetSort -count 5
func BenchmarkKVSetSort(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	labels := []string{"ns1", "ns2", "www", "mail", "m", ""}
	var keys [][]byte
	for range 100_000 {
		name := fmt.Sprintf("test.z%02d.d%d", r.IntN(100), r.IntN(120_000))
		if l := labels[r.IntN(len(labels))]; l != "" {
			name += "." + l
		}
		k := appendRecordKey(nil, revToName([]byte(name)), dns.TypeA, fmt.Sprintf("198.51.100.%d", r.IntN(256)))
		keys = append(keys, k)
	}
	var s kvSet
	for _, k := range keys {
		s.add(k, nil)
	}
	added := slices.Clone(s.refs)
	b.ReportAllocs()
	for b.Loop() {
		copy(s.refs, added)
		s.sort()
	}
}

// TestUpsertCheckHalves writes bulk Upserts, whose tuples are checked in
// two halves on two goroutines: names to lower-case in both halves are
// stored lower-cased and the caller's tuples left as they were; a bad
// tuple in either half fails the write with its index, the first one's
// when both halves have one, and nothing is written.
//
// Both through Upsert and through UpsertTuples, with tuples read into
// the caller's scratch (copied, to be lower-cased, only in the copy).
func TestUpsertCheckHalves(t *testing.T) {
	t.Run("slice", func(t *testing.T) { testUpsertCheckHalves(t, false) })
	t.Run("tuples", func(t *testing.T) { testUpsertCheckHalves(t, true) })
}

func testUpsertCheckHalves(t *testing.T, viaTuples bool) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), Options{NoSync: true, BulkTuples: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	upsert := db.Upsert
	if viaTuples {
		upsert = func(ctx context.Context, ts []pdns.Tuple) error {
			return db.UpsertTuples(ctx, storetest.ScratchTuples(ts))
		}
	}
	const n = 1000
	tuples := func(bad ...int) []pdns.Tuple {
		ts := []pdns.Tuple{}
		for i := range n {
			ts = append(ts, pdns.Tuple{RRName: fmt.Sprintf("h%d.Example.TEST", i), RRType: dns.TypeA,
				RData: fmt.Sprintf("192.0.2.%d", i%250+1), Count: 1, TimeFirst: 1, TimeLast: 1})
		}
		for _, i := range bad {
			ts[i].RRName = "bad name"
		}
		return ts
	}
	for _, tc := range []struct {
		bad  []int
		want string
	}{
		{[]int{900}, "tuple 900 "},
		{[]int{100, 900}, "tuple 100 "},
		{[]int{499, 500}, "tuple 499 "},
	} {
		err := upsert(ctx, tuples(tc.bad...))
		if !errors.Is(err, store.ErrBadTuple) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bad tuples %v: %v, want ErrBadTuple naming %q", tc.bad, err, tc.want)
		}
	}
	if st, err := db.Stats(ctx); err != nil || st.Tuples != 0 {
		t.Fatalf("after failed writes: %d tuples (%v), want none", st.Tuples, err)
	}
	ts := tuples()
	if err := upsert(ctx, ts); err != nil {
		t.Fatal(err)
	}
	if ts[0].RRName != "h0.Example.TEST" || ts[n-1].RRName != fmt.Sprintf("h%d.Example.TEST", n-1) {
		t.Errorf("the caller's tuples were changed: %q, %q", ts[0].RRName, ts[n-1].RRName)
	}
	for _, i := range []int{0, n/2 - 1, n / 2, n - 1} {
		name := fmt.Sprintf("h%d.example.test", i)
		found := 0
		if _, err := db.Lookup(ctx, store.Query{Kind: store.KindRRSet, Name: name}, func(*pdns.Tuple) error { found++; return nil }); err != nil {
			t.Fatal(err)
		}
		if found != 1 {
			t.Errorf("%s: %d tuples stored, want 1", name, found)
		}
		// By address too: the index keys of both halves use the
		// addresses their check parsed.
		ip := netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i%250+1))
		found = 0
		if _, err := db.Lookup(ctx, store.Query{Kind: store.KindRDataIP, IPLow: ip, IPHigh: ip}, func(t *pdns.Tuple) error {
			if t.RRName == name {
				found++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if found != 1 {
			t.Errorf("%s by address %s: %d tuples, want 1", name, ip, found)
		}
	}
}

// TestBulkPool checks that a bulk write reuses the sets of one that
// finished while another ran, or shortly before it started, and that the
// pool lets go of them once no write ran for its grace time.
func TestBulkPool(t *testing.T) {
	p := bulkPool{grace: time.Hour} // the test decides when it has passed
	a, b := p.get(), p.get()
	if a == b {
		t.Fatal("two running writes share their sets")
	}
	p.put(a)
	if c := p.get(); c != a {
		t.Error("a write started while another ran did not reuse the sets of the one that finished")
	}
	p.put(a)
	p.put(b)
	c := p.get()
	if c != a && c != b {
		t.Error("a write started right after the others did not reuse their sets")
	}
	// The grace time passes: the timer of the last quiet time drops the
	// sets, one of an earlier quiet time does not.
	p.put(c)
	p.mu.Lock()
	quiet, kept := p.quiet, len(p.idle)
	p.mu.Unlock()
	if kept != 2 {
		t.Fatalf("right after the writes the pool keeps %d sets, want 2", kept)
	}
	idle := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle)
	}
	p.drop(quiet - 1)
	if n := idle(); n != 2 {
		t.Errorf("a stale timer dropped the sets: %d kept", n)
	}
	p.drop(quiet)
	if n := idle(); n != 0 {
		t.Errorf("after the grace time the pool keeps %d sets", n)
	}
	if c := p.get(); c == a || c == b {
		t.Error("a write after a pause reused sets the pool should have dropped")
	}
	// The sets of a write too large for one table are not kept.
	d := p.get()
	d.index.err = errTooBig
	p.put(d)
	if e := p.get(); e == d {
		t.Error("the sets of a write that failed errTooBig were kept")
	}
}

// TestBulkPoolGrace checks that the pool's own timer drops the sets.
func TestBulkPoolGrace(t *testing.T) {
	p := bulkPool{grace: time.Millisecond}
	p.put(p.get())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		p.mu.Lock()
		kept := len(p.idle)
		p.mu.Unlock()
		if kept == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the last write the pool keeps %d sets", kept)
		}
	}
}

// TestBulkPoolExclusive runs writes on several goroutines at once, each
// marking its sets and checking the mark after yielding: sets handed to
// two running writes at once fail the check (and -race).
func TestBulkPoolExclusive(t *testing.T) {
	var p bulkPool
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				s := p.get()
				mark := uint32(g<<16 | i)
				s.records.reset(64, 1)
				s.records.refs = append(s.records.refs, kvRef{off: mark})
				runtime.Gosched()
				if got := s.records.refs[0].off; len(s.records.refs) != 1 || got != mark {
					t.Errorf("goroutine %d: its sets were changed by another write (mark %#x, found %#x)", g, mark, got)
				}
				p.put(s)
			}
		})
	}
	wg.Wait()
	p.mu.Lock() // the grace timer may drop the sets meanwhile
	defer p.mu.Unlock()
	if p.active != 0 || len(p.idle) > 8 {
		t.Errorf("after the writes: %d active, %d sets kept", p.active, len(p.idle))
	}
}

// TestAhead checks ahead's marks (what is asked for and at most
// aheadBytes more, within the array; unchanged when already faulted in;
// past any length when the append will move the slice to a new array) and
// that it leaves what was written before the mark as it was: both when
// the range is faulted in with one system call and when it is touched page
// by page (package pages does that below 64 KiB).
func TestAhead(t *testing.T) {
	written := func(s []byte, n int) []byte {
		for range n {
			s = append(s, 0xff)
		}
		return s
	}
	intact := func(t *testing.T, s []byte) {
		t.Helper()
		if i := bytes.IndexByte(s, 0); i >= 0 {
			t.Fatalf("byte %d of %d written before the mark was changed", i, len(s))
		}
	}
	t.Run("system call", func(t *testing.T) {
		s := written(make([]byte, 0, 4<<20), 5000)
		ready := ahead(s, len(s), len(s)+100)
		if want := 5100 + aheadBytes; ready != want {
			t.Fatalf("mark %d, want %d", ready, want)
		}
		intact(t, s)
		if got := ahead(s, ready, ready-1); got != ready {
			t.Errorf("a length already faulted in moved the mark from %d to %d", ready, got)
		}
		if got := ahead(s, ready, cap(s)-3); got != cap(s) {
			t.Errorf("mark %d near the end of an array of %d", got, cap(s))
		}
		if got := ahead(s, ready, cap(s)+1); got != math.MaxInt {
			t.Errorf("a length past the array gave mark %d", got)
		}
	})
	t.Run("page by page", func(t *testing.T) {
		s := written(make([]byte, 0, 40_000), 20_000)
		if ready := ahead(s, len(s), len(s)+1); ready != cap(s) {
			t.Fatalf("mark %d, want the end of the array, %d", ready, cap(s))
		}
		intact(t, s)
	})
	t.Run("refs", func(t *testing.T) {
		s := make([]kvRef, 0, 1<<20)
		if ready, want := ahead(s, 0, 1), 1+aheadBytes/int(unsafe.Sizeof(kvRef{})); ready != want {
			t.Errorf("mark %d refs, want %d", ready, want)
		}
	})
}

// TestKVSetFill fills a set over several resets, checking every key and
// value it holds and its marks: with estimates that hold (many chunks
// faulted in ahead, arrays kept from one round to the next with their
// marks) and with estimates too small (the arrays move as they grow).
func TestKVSetFill(t *testing.T) {
	for _, tc := range []struct {
		name        string
		arena, refs int
		rounds      []int
		grows       bool
	}{
		{"estimates hold", 16 << 20, 300_000, []int{100_000, 200_000, 50_000}, false},
		{"estimates too small", 16 * 10_000, 10_000, []int{30_000, 50_000, 20_000}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s kvSet
			for round, n := range tc.rounds {
				// A kept array keeps its mark: a round shorter
				// than the one before faults nothing in.
				arenaMark, refsMark := s.arenaReady, s.refsReady
				s.reset(tc.arena, tc.refs)
				for i := range n {
					s.add(fmt.Appendf(nil, "k%d-%d", round, i), fmt.Appendf(nil, "v%d", i))
				}
				if s.err != nil || len(s.refs) != n {
					t.Fatalf("round %d: %d refs, err %v", round, len(s.refs), s.err)
				}
				for i := range s.refs {
					r := &s.refs[i]
					if k, v := string(s.key(r)), string(s.val(r)); k != fmt.Sprintf("k%d-%d", round, i) || v != fmt.Sprintf("v%d", i) {
						t.Fatalf("round %d, key %d: %q = %q", round, i, k, v)
					}
				}
				if s.arenaReady < len(s.arena) || s.refsReady < len(s.refs) {
					t.Fatalf("round %d: %d of %d arena bytes and %d of %d refs marked faulted in", round,
						s.arenaReady, len(s.arena), s.refsReady, len(s.refs))
				}
				if grew := s.arenaReady == math.MaxInt || s.refsReady == math.MaxInt; grew != tc.grows {
					t.Fatalf("round %d: arrays grew %v, want %v", round, grew, tc.grows)
				}
				if !tc.grows && (s.arenaReady > max(arenaMark, len(s.arena)+aheadBytes) ||
					s.refsReady > max(refsMark, len(s.refs)+aheadBytes/16)) {
					t.Fatalf("round %d: %d arena bytes faulted in for %d written, %d refs for %d", round,
						s.arenaReady, len(s.arena), s.refsReady, len(s.refs))
				}
			}
		})
	}
}

// TestKVRefLimits checks that keys and values of the longest lengths a
// kvRef holds come back whole, and that longer ones fail the set with
// errTooBig (the caller then writes a batch).
func TestKVRefLimits(t *testing.T) {
	var s kvSet
	key, val := bytes.Repeat([]byte{'k'}, maxRefKey), bytes.Repeat([]byte{'v'}, maxRefVal)
	s.add(key, val)
	s.add([]byte("a"), nil)
	s.sort()
	if s.err != nil || len(s.refs) != 2 {
		t.Fatalf("%d refs, err %v", len(s.refs), s.err)
	}
	r := &s.refs[1]
	if !bytes.Equal(s.key(r), key) || !bytes.Equal(s.val(r), val) || r.dup() || len(s.val(&s.refs[0])) != 0 {
		t.Fatalf("longest key and value: got %d and %d bytes back", len(s.key(r)), len(s.val(r)))
	}
	for _, tc := range []struct {
		name string
		k, v int
	}{
		{"key", maxRefKey + 1, 0},
		{"value", 1, maxRefVal + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s kvSet
			s.add(make([]byte, tc.k), make([]byte, tc.v))
			if s.err != errTooBig {
				t.Errorf("key of %d and value of %d bytes: err %v", tc.k, tc.v, s.err)
			}
		})
	}
}

// TestKVRefLimitsFit builds the longest keys and value the store writes
// (names of 255 octets, every one escaped as \DDD: 1,003 bytes; 65,535
// bytes of HTTPS rdata naming such a target; a bailiwick written out;
// maxSensors sensors of the highest numbers) and checks that they fit a
// kvRef, so that the limits never send a real write to a batch.
func TestKVRefLimitsFit(t *testing.T) {
	longName := func(c string) string {
		var labels []string
		for _, n := range []int{63, 63, 63, 61} {
			labels = append(labels, strings.Repeat(`\`+c, n))
		}
		return strings.Join(labels, ".")
	}
	name, target, bail := longName("065"), longName("066"), longName("067")
	for _, n := range []string{name, target, bail} {
		if err := store.CheckName(n); err != nil || len(n) != 1003 {
			t.Fatalf("test name of %d bytes: %v", len(n), err)
		}
	}
	rdata := "1 " + target + ". key65000="
	rdata += strings.Repeat("a", pdns.MaxRData-len(rdata))
	tp := pdns.Tuple{RRName: name, RRType: dns.TypeHTTPS, RData: rdata, Bailiwick: bail,
		TimeFirst: 1, TimeLast: store.MaxTime, ZoneTimeFirst: 1, ZoneTimeLast: store.MaxTime, Count: math.MaxUint64}
	sensors := make([]uint32, maxSensors)
	for i := range sensors {
		sensors[i] = maxSensorIDs - 1 - uint32(i)
	}
	longest := 0
	keys := [][]byte{appendRecordKeyAddr(nil, tp.RRName, tp.RRType, tp.RData, netip.Addr{})}
	entries, _ := appendIndexEntriesAddr(nil, nil, tp.RRName, tp.RRType, tp.RData, netip.Addr{})
	for _, e := range entries {
		keys = append(keys, e.key)
	}
	for _, k := range keys {
		longest = max(longest, len(k))
	}
	if longest <= pdns.MaxRData {
		t.Fatalf("the longest key is %d bytes: the test does not build the longest ones", longest)
	}
	if longest > maxRefKey {
		t.Errorf("a key of %d bytes, longer than a kvRef holds (%d)", longest, maxRefKey)
	}
	if v := appendValue(nil, &tp, sensors); len(v) > maxRefVal || len(v) < 1000 {
		t.Errorf("a value of %d bytes (a kvRef holds %d)", len(v), maxRefVal)
	}
}

// TestBulkTableFails makes each of a bulk write's four tables fail in
// turn (a directory where its file goes): the Upsert fails, leaves no
// temporary file and nothing of its tuples in the store, and the next
// Upsert of the same tuples writes them all. The tables are written on
// three goroutines; whichever fails, nothing is ingested. (The test
// predicts the write's file names from bulkSeq: no test of this package
// runs in parallel.)
func TestBulkTableFails(t *testing.T) {
	tuples := []pdns.Tuple{
		{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Count: 1, TimeFirst: 1, TimeLast: 1},         // r, f, i
		{RRName: "example.com", RRType: dns.TypeMX, RData: "10 mail.example.com.", Count: 2, TimeFirst: 1, TimeLast: 2}, // d, g
		{RRName: "example.com", RRType: dns.TypeTXT, RData: `"v=spf1 -all"`, Count: 1, TimeFirst: 1, TimeLast: 1},       // h
	}
	for i, table := range []string{"d", "f", "g-i", "r"} {
		t.Run(table, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			db, err := Open(ctx, dir, Options{NoSync: true, BulkTuples: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// The next write's paths (bulkPaths): sequence, then table.
			block := filepath.Join(dir, bulkDir, fmt.Sprintf("%d-%d.sst", bulkSeq.Load()+1, i))
			if err := os.MkdirAll(filepath.Join(block, "x"), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := db.Upsert(ctx, tuples); err == nil {
				t.Fatal("Upsert succeeded with a table that cannot be written")
			}
			if err := os.RemoveAll(block); err != nil {
				t.Fatal(err)
			}
			left, err := os.ReadDir(filepath.Join(dir, bulkDir))
			if err != nil {
				t.Fatal(err)
			}
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
			st, err := db.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Tuples != 0 || st.Names != 0 {
				t.Errorf("after the failed write: %d tuples, %d names", st.Tuples, st.Names)
			}
			if err := db.Upsert(ctx, tuples); err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := db.Export(ctx, func(tu *pdns.Tuple) error {
				got = append(got, fmt.Sprintf("%s %d %s %d", tu.RRName, tu.RRType, tu.RData, tu.Count))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tuples) {
				t.Errorf("after the second write: %q", got)
			}
		})
	}
}

// TestWriteTouchesAll checks that write loads every ref ahead of the
// table writer, once, in order, at least touchRun at a time, whatever
// the runs of equal keys it folds into one.
func TestWriteTouchesAll(t *testing.T) {
	for _, run := range []int{1, 2, 3, 5, touchRun - 1, touchRun, touchRun + 1, 3 * touchRun} {
		t.Run(fmt.Sprintf("runs of %d", run), func(t *testing.T) {
			var s kvSet
			for i := range 1000 {
				s.add(fmt.Appendf(nil, "f%06d", i/run), nil)
			}
			s.sort()
			next := 0
			touchedHook = func(lo, hi int) {
				if lo != next || hi <= lo {
					t.Errorf("touched [%d, %d) after [.., %d)", lo, hi, next)
				}
				if hi-lo < touchRun && hi != len(s.refs) {
					t.Errorf("touched [%d, %d): fewer than %d refs", lo, hi, touchRun)
				}
				next = hi
			}
			defer func() { touchedHook = nil }()
			if err := s.write(filepath.Join(t.TempDir(), "t.sst"), s.refs, sstable.WriterOptions{}, false); err != nil {
				t.Fatal(err)
			}
			if next != len(s.refs) {
				t.Errorf("touched up to %d of %d refs", next, len(s.refs))
			}
		})
	}
}
