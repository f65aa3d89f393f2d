package pebble

// Bulk upserts. A large Upsert is not written as a Pebble batch (write-ahead
// log, then the memtable's skiplist, then a flush that sorts and writes it
// again as a table) but as sorted tables that Pebble ingests: the keys are
// built on two goroutines (tuple and distinct-name keys on one, the other
// index keys on the other) and sorted and written on three (the
// distinct names apart from the tuples), one table per key table so
// that their ranges do not overlap, and one Ingest call links them into the
// LSM atomically. Keys that repeat within the call are folded first (merge
// operands with the merge operator, index entries last-wins, as in a
// batch), since a table holds each key once.
//
// Semantics are those of the batch path: the same keys and values, merge
// operands for tuples, idempotent sets for index entries; the Upsert is
// atomic (Ingest adds all its tables in one version edit) and durable when
// it returns (the tables and the manifest are synced unless NoSync). A
// crash before Ingest leaves only temporary files, removed at the next
// Open (TestCrashRecovery/bulk).
//
// Measured on bench/ingest when this path was written (260,378 tuples in
// three Upserts of 86,793, 2 cores, two goroutines then): the batch path
// spent 0.50 s of CPU in Upsert plus 0.25 s in the memtable flush; this
// path 0.26 s: building keys 0.07, sorting 0.07, writing tables 0.11. See
// BulkTuples for the threshold.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/dnsscout/dnsscout/internal/pages"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// bulkDir is the subdirectory of the store where tables are written before
// Pebble ingests them (Ingest hard-links them into the store and removes
// them).
const bulkDir = "bulk-tmp"

// errTooBig: a bulk write whose keys and values do not fit kvRef's
// offsets and lengths; the caller falls back to a batch.
var errTooBig = errors.New("pebble: bulk write too large for one table")

// kvRef is one key and value in a kvSet's arena: the key at
// arena[off:off+klen], the value right after it, klen, vlen and dup packed
// in lens (klen<<15 | vlen<<1 | dup). pfx caches eight bytes of the key for
// sorting (sortFrom), which also sets dup when the key equals the one
// before it in sorted order. Sixteen bytes: the sort moves every ref up to
// nine times per eight bytes of key, and with refs of 24 bytes (lengths of
// 32 bits each) the command took 3-5% more CPU on bench/ingest's plain-UDP
// capture (and its refs 50% more memory).
type kvRef struct {
	pfx  uint64
	off  uint32
	lens uint32
}

// The longest key and value a kvRef holds. The store's keys and values are
// shorter (TestKVRefLimitsFit): a key is at most 67,588 bytes (a 'd' key:
// two names of up to 1,024 bytes and 65,535 bytes of rdata), a value
// about 1.4 KB (a bailiwick written out and maxSensors sensors).
const (
	maxRefKey = 1<<17 - 1
	maxRefVal = 1<<14 - 1
)

func (r *kvRef) klen() uint32 { return r.lens >> 15 }
func (r *kvRef) vlen() uint32 { return r.lens >> 1 & maxRefVal }
func (r *kvRef) dup() bool    { return r.lens&1 != 0 }

func (r *kvRef) setDup(d bool) {
	r.lens &^= 1
	if d {
		r.lens |= 1
	}
}

// kvSet collects keys and values to be written as one sorted table.
//
// Its arrays are faulted in (package pages) a chunk ahead of what add
// writes, not page by page, and not whole: their sizes are estimates, and
// pages past what is written would be held for nothing. Cleared whole up
// front (slices.Grow), they were faulted in page by page: 61% of the page
// faults of bench/ingest's command, which took 10% more CPU. arenaReady and
// refsReady are how much of each array is faulted in; past that, an
// array has never been written.
type kvSet struct {
	arena                 []byte
	refs                  []kvRef
	tmp                   []kvRef // sort's scratch space
	arenaReady, refsReady int
	err                   error
}

// reset empties the set for a table of about refs keys with arenaBytes
// bytes of keys and values in all: arrays too small for that are replaced,
// the others kept.
func (s *kvSet) reset(arenaBytes, refs int) {
	if cap(s.arena) < arenaBytes {
		s.arena, s.arenaReady = make([]byte, 0, arenaBytes), 0
	}
	if cap(s.refs) < refs {
		s.refs, s.refsReady = make([]kvRef, 0, refs), 0
	}
	s.arena, s.refs, s.err = s.arena[:0], s.refs[:0], nil
}

// aheadBytes is how far ahead of the appends a set's arrays are faulted in.
const aheadBytes = 256 << 10

// ahead faults in the array of s from element ready on, so that n
// elements and up to aheadBytes more are, and returns the new mark. When
// n is beyond the array, the append that follows moves s to a new array
// that it writes whole (the copy, the new elements, zeros after them).
func ahead[T any](s []T, ready, n int) int {
	switch {
	case n <= ready:
		return ready
	case n > cap(s):
		return math.MaxInt
	}
	var zero T
	hi := min(cap(s), n+aheadBytes/int(unsafe.Sizeof(zero)))
	pages.Touch(s[ready:hi:hi])
	return hi
}

func (s *kvSet) add(key, val []byte) {
	if s.err != nil {
		return
	}
	// The sort counts refs in 32 bits.
	if len(s.arena)+len(key)+len(val) > math.MaxUint32 || len(s.refs) >= math.MaxUint32 ||
		len(key) > maxRefKey || len(val) > maxRefVal {
		s.err = errTooBig
		return
	}
	s.arenaReady = ahead(s.arena, s.arenaReady, len(s.arena)+len(key)+len(val))
	s.refsReady = ahead(s.refs, s.refsReady, len(s.refs)+1)
	off := len(s.arena)
	s.arena = append(s.arena, key...)
	s.arena = append(s.arena, val...)
	s.refs = append(s.refs, kvRef{off: uint32(off), lens: uint32(len(key))<<15 | uint32(len(val))<<1})
}

func (s *kvSet) key(r *kvRef) []byte { return s.arena[r.off : r.off+r.klen()] }
func (s *kvSet) val(r *kvRef) []byte {
	o := r.off + r.klen()
	return s.arena[o : o+r.vlen()]
}

// sort orders the set by key, equal keys in the order they were added
// (every pass of sortFrom is stable), and marks each key equal to the one
// before it (dup): the table writer folds such runs without comparing
// keys, which on bench/ingest cost 4 % of the CPU as bytes.Equal on keys
// scattered over the arena.
func (s *kvSet) sort() {
	if cap(s.tmp) < len(s.refs) {
		s.tmp = make([]kvRef, len(s.refs))
		pages.Touch(s.tmp) // the sort writes it whole, unless all keys are equal
	}
	s.sortFrom(s.refs, 0, s.tmp[:len(s.refs)])
}

// smallSort is the run length below which sortFrom compares whole keys.
const smallSort = 32

// sortFrom sorts refs whose keys share their first depth bytes, keys that
// tie in the order they were added: a stable radix sort on the next eight
// bytes (cached in pfx), then each run of keys that tie on them and go on,
// eight bytes further. For bench/ingest's 260,378 tuples (about three keys
// each) this takes 0.07 s of CPU; comparison sorts took 0.31 s comparing
// keys in the arena and 0.37 s comparing cached prefixes first with
// slices.SortFunc: the keys of one table share long prefixes, and every
// comparison is a function call. tmp is scratch space at least as long as
// refs.
func (s *kvSet) sortFrom(refs []kvRef, depth int, tmp []kvRef) {
	for len(refs) > 1 {
		if len(refs) < smallSort {
			s.insertionSort(refs, depth)
			return
		}
		// Digits, most significant first: the eight bytes at depth
		// (zero-padded), then how many of them the key holds (9: it goes
		// on). A key that ends within them sorts before a longer one
		// whose bytes are equal to its padding: it is a prefix of it.
		// The bytes are loaded in a loop of their own: past the first
		// eight, refs are in sorted order and their keys scattered over
		// the arena, and this loop's loads, independent of each other,
		// wait for memory together, not one after the other behind the
		// counting (sortFrom's own time on bench/ingest's command: 5.3%
		// of the CPU instead of 6.8%, perf).
		for i := range refs {
			r := &refs[i]
			var v uint64
			switch o, n := int(r.off)+depth, int(r.klen())-depth; {
			case n >= 8:
				v = binary.BigEndian.Uint64(s.arena[o : o+8])
			case n > 0:
				var p [8]byte
				copy(p[:], s.arena[o:o+n])
				v = binary.BigEndian.Uint64(p[:])
			}
			r.pfx = v
		}
		var counts [9][256]uint32
		for i := range refs {
			r := &refs[i]
			v := r.pfx
			for d := range 8 {
				counts[d][byte(v>>(56-8*d))]++
			}
			counts[8][rest(r, depth)]++
		}
		// Least significant digit first; each pass is stable, so keys
		// that tie keep the order they were added in. A digit that all
		// keys share needs no pass.
		src, dst := refs, tmp[:len(refs)]
		for d := 8; d >= 0; d-- {
			c := &counts[d]
			if slices.Contains(c[:], uint32(len(refs))) {
				continue
			}
			var pos [256]uint32
			var sum uint32
			for b := range c {
				pos[b] = sum
				sum += c[b]
			}
			for i := range src {
				var b byte
				if d == 8 {
					b = rest(&src[i], depth)
				} else {
					b = byte(src[i].pfx >> (56 - 8*d))
				}
				dst[pos[b]] = src[i]
				pos[b]++
			}
			src, dst = dst, src
		}
		if &src[0] != &refs[0] {
			copy(refs, src)
		}
		// Recurse into every run of keys that tie on these bytes and go
		// on; the last such run is handled by the loop. Keys of a run
		// that end within these bytes are in their final places, ordered
		// by length: those of equal length are equal.
		var last []kvRef
		for i := 0; i < len(refs); {
			j := i + 1
			for j < len(refs) && refs[j].pfx == refs[i].pfx {
				j++
			}
			k := i
			for k < j && rest(&refs[k], depth) < 9 {
				if k > i && refs[k].klen() == refs[k-1].klen() {
					refs[k].setDup(true)
				}
				k++
			}
			if j-k > 1 {
				if last != nil {
					s.sortFrom(last, depth+8, tmp)
				}
				last = refs[k:j]
			}
			i = j
		}
		refs = last
		depth += 8
	}
}

// rest is how many of the eight key bytes at depth r holds, 9 when the key
// goes on.
func rest(r *kvRef, depth int) byte { return byte(min(int(r.klen())-depth, 9)) }

// insertionSort sorts a few refs by their keys from depth on, stably,
// and marks the duplicates. A key inserted stops after the first key not
// greater than it, which is then its duplicate or smaller; no key can be
// inserted between two equal keys, so the marks stay true.
func (s *kvSet) insertionSort(refs []kvRef, depth int) {
	for i := 1; i < len(refs); i++ {
		j := i
		for ; j > 0; j-- {
			c := bytes.Compare(s.key(&refs[j])[depth:], s.key(&refs[j-1])[depth:])
			if c >= 0 {
				refs[j].setDup(c == 0)
				break
			}
			refs[j], refs[j-1] = refs[j-1], refs[j]
		}
		if j == 0 {
			refs[0].setDup(false)
		}
	}
}

// write writes the sorted set as a table at path: tuple and NXDOMAIN keys
// as merge operands (equal keys folded with the merge operator, oldest
// first), every other key as a set (the last one added wins).
func (s *kvSet) write(path string, refs []kvRef, wo sstable.WriterOptions, sync bool) error {
	f, err := vfs.Default.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	if !sync {
		f = noSyncFile{f}
	}
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
	var (
		folded  []byte
		m       valueMerger
		touched int // refs[:touched] are loaded (touch)
	)
	for i := 0; i < len(refs); {
		// refs[i:j] are equal keys, folded into one; all are read.
		j := i + 1
		for j < len(refs) && refs[j].dup() {
			j++
		}
		if j > touched {
			lo := touched
			touched = min(max(j, lo+touchRun), len(refs))
			s.touch(refs[lo:touched])
			if touchedHook != nil {
				touchedHook(lo, touched)
			}
		}
		k := s.key(&refs[i])
		switch {
		case k[0] == tRecord || k[0] == tNX:
			v := s.val(&refs[i])
			if j > i+1 {
				m = valueMerger{nx: k[0] == tNX}
				if err = m.decode(v, &m.acc); err == nil {
					for x := i + 1; x < j && err == nil; x++ {
						err = m.MergeNewer(s.val(&refs[x]))
					}
				}
				if err != nil {
					break
				}
				if m.nx {
					folded = appendNX(folded[:0], &m.accNX)
				} else {
					folded = m.acc.encode(folded[:0])
				}
				v = folded
			}
			err = w.Merge(k, v)
		default:
			err = w.Set(k, s.val(&refs[j-1]))
		}
		if err != nil {
			break
		}
		i = j
	}
	if err != nil {
		w.Close()
		os.Remove(path)
		return fmt.Errorf("pebble: bulk table: %w", err)
	}
	if err := w.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("pebble: bulk table: %w", err)
	}
	return nil
}

// touchRun is how many sorted keys write loads ahead of the table writer.
const touchRun = 64

// touchedHook, when set (by tests), is told each range of refs write
// touches.
var touchedHook func(lo, hi int)

// touchSink keeps touch's loads from being optimized away.
var touchSink atomic.Uint64

// touch loads the first byte of each key of refs and the last byte of its
// value (the key and value are contiguous), in a loop of independent
// loads. Sorted, the keys are scattered over the arena: a load waits for
// memory, and the table writer, between two keys, does too much work for
// the processor to start the next load early. Loaded here, the misses
// overlap: on bench/ingest's plain-UDP capture the load of each key's
// first byte in write was 5.4% of the command's CPU (perf), and write's
// own time is now 1.7-1.9%; a lone Upsert of 100,000 tuples
// (BenchmarkUpsert/bulk/100000) took 114-120 ms instead of 124-145.
func (s *kvSet) touch(refs []kvRef) {
	var sum byte
	for i := range refs {
		r := &refs[i]
		sum += s.arena[r.off] + s.arena[r.off+max(r.klen()+r.vlen(), 1)-1]
	}
	touchSink.Add(uint64(sum))
}

// noSyncFile skips fsync for stores opened with NoSync.
type noSyncFile struct{ vfs.File }

func (noSyncFile) Sync() error                { return nil }
func (noSyncFile) SyncData() error            { return nil }
func (noSyncFile) SyncTo(int64) (bool, error) { return true, nil }

var bulkSeq atomic.Uint64

// bulkSets are the key sets of one bulk write, and its tuples'
// addresses.
type bulkSets struct {
	records, names, index kvSet
	addrs                 []netip.Addr
}

// newAddrs returns n zero addresses, in sets when there are sets.
func newAddrs(sets *bulkSets, n int) []netip.Addr {
	if sets == nil {
		return make([]netip.Addr, n)
	}
	if cap(sets.addrs) < n {
		sets.addrs = make([]netip.Addr, n)
		pages.Touch(sets.addrs)
	}
	sets.addrs = sets.addrs[:n]
	clear(sets.addrs)
	return sets.addrs
}

// bulkPool keeps the sets of finished bulk writes for the next ones while
// another runs, or starts within poolGrace, and drops them after that.
// The writes of one flush of an ingest come in a burst, two at a time: on
// bench/ingest's plain-UDP capture the third of three Upserts of 91,660
// tuples reuses the first one's 18 MB instead of touching fresh memory,
// which on the development machine costs microseconds per page. The
// third starts only once the flush has handed off all its tuples, which
// the two writes running meanwhile slow down: in two runs of three the
// first two ended 8-16 ms before it started, and without the grace the
// third wrote fresh memory. It holds at most as many sets as writes ran
// at once, each as large as the largest of them; sets kept longer after a
// burst would hold memory that the ingest's budget counts on for the next
// aggregate (--memory). The sets of a write too large for one table
// (errTooBig) are not kept.
type bulkPool struct {
	mu     sync.Mutex
	active int
	idle   []*bulkSets
	// quiet counts the times no write ran; the timer started at each
	// drops the idle sets if no write ran since.
	quiet uint64
	grace time.Duration // 0: poolGrace (tests set it)
}

// poolGrace is how long a bulkPool keeps sets while no write runs.
const poolGrace = 100 * time.Millisecond

func (p *bulkPool) get() *bulkSets {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active++
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return s
	}
	return new(bulkSets)
}

func (p *bulkPool) put(s *bulkSets) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active--
	if s.records.err == nil && s.names.err == nil && s.index.err == nil {
		p.idle = append(p.idle, s)
	}
	if p.active == 0 {
		p.quiet++
		quiet, grace := p.quiet, p.grace
		if grace == 0 {
			grace = poolGrace
		}
		time.AfterFunc(grace, func() { p.drop(quiet) })
	}
}

// drop lets go of the idle sets if no write ran since the quiet time it
// was started for began.
func (p *bulkPool) drop(quiet uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active == 0 && p.quiet == quiet {
		p.idle = nil
	}
}

// sensorSets gives the sensor numbers of tuples: nums holds each distinct
// set once and numOf[i] is the index of tuple i's set. A new id's
// dictionary entry is committed before any table that uses its number;
// tuples of one sensor share one set of numbers.
func (db *DB) sensorSets(tuples store.Tuples) (nums [][]uint32, numOf []int32, err error) {
	nums = make([][]uint32, 0, 1)
	numOf = make([]int32, tuples.Len())
	setOf := make(map[string]int32)
	var (
		lastIDs []string
		numbers []uint32
		setKey  []byte
		scratch pdns.Tuple
	)
	for i := range numOf {
		ids := tuples.At(i, &scratch).SensorIDs
		if i > 0 && slices.Equal(ids, lastIDs) {
			numOf[i] = numOf[i-1]
			continue
		}
		if numbers, err = db.sensors.numbers(db.pdb, db.wo, ids, numbers); err != nil {
			return nil, nil, err
		}
		setKey = setKey[:0]
		for _, n := range numbers {
			setKey = binary.AppendUvarint(setKey, uint64(n))
		}
		k, ok := setOf[string(setKey)]
		if !ok {
			k = int32(len(nums))
			nums = append(nums, slices.Clone(numbers))
			setOf[string(setKey)] = k
		}
		numOf[i], lastIDs = k, ids
	}
	return nums, numOf, nil
}

// upsertBulk writes prepared tuples (checked, normalized; addrs[i] is the
// canonicalIP of tuple i, the zero Addr when it has none) as one table per
// key table, built in sets (from db.bulkSets, which the caller puts back)
// on two goroutines, and ingests them together.
func (db *DB) upsertBulk(ctx context.Context, sets *bulkSets, tuples store.Tuples, addrs []netip.Addr) error {
	nums, numOf, err := db.sensorSets(tuples)
	if err != nil {
		return err
	}

	// Two goroutines, two halves of the keys of about equal cost: tuple
	// and distinct-name keys here, the other index keys there. Each table
	// gets its own file, so that the files of one ingestion do not overlap
	// (the rdata-name table 'd' sorts before 'f', the others after).
	records, names, index := &sets.records, &sets.names, &sets.index
	// Arena sizes from bench/ingest (54-61 bytes of tuple key and value
	// per tuple, 11-12 of distinct names, about 45 of index keys): an
	// arena that must grow is copied whole.
	n := tuples.Len()
	records.reset(n*64, n)
	names.reset(n*16, n)
	index.reset(n*48, n*3/2)
	doSync := db.wo.Sync
	var (
		wg       sync.WaitGroup
		indexErr error
		dErr     error // the 'd' table's, written apart
		dRefs    []kvRef
		gRefs    []kvRef
	)
	paths := db.bulkPaths(4) // d, f, g-i, r
	if err := os.MkdirAll(filepath.Dir(paths[0]), 0o750); err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	wg.Go(func() {
		var (
			entries []indexEntry
			buf     []byte
			scratch pdns.Tuple
		)
		for i := range n {
			t := tuples.At(i, &scratch)
			entries, buf = appendIndexEntriesAddr(entries[:0], buf[:0], t.RRName, t.RRType, t.RData, addrs[i])
			for _, e := range entries {
				if e.key[0] != tName {
					index.add(e.key, e.value)
				}
			}
		}
		if indexErr = index.err; indexErr != nil {
			return
		}
		index.sort()
		cut, _ := slices.BinarySearchFunc(index.refs, tName, func(r kvRef, t byte) int {
			return cmp.Compare(index.arena[r.off], t)
		})
		dRefs, gRefs = index.refs[:cut], index.refs[cut:]
		// The two tables on two goroutines: write only reads the set.
		// The index keys are the larger half, and the last Upsert of a
		// flush ended on one core, writing them, for 20-30 ms of
		// bench/ingest's command (perf).
		if len(dRefs) > 0 {
			wg.Go(func() { dErr = index.write(paths[0], dRefs, db.writerOpts, doSync) })
		}
		if len(gRefs) > 0 {
			indexErr = index.write(paths[2], gRefs, db.writerOpts, doSync)
		}
	})
	var (
		key, val []byte
		scratch  pdns.Tuple
		lastName string
	)
	for i := range n {
		t := tuples.At(i, &scratch)
		key = appendRecordKeyAddr(key[:0], t.RRName, t.RRType, t.RData, addrs[i])
		val = appendValue(val[:0], t, nums[numOf[i]])
		records.add(key, val)
		// A name the previous tuple had is left out: the table holds
		// each name once anyway, and the tuples of one owner tend to
		// come together (an ingest's aggregate hands them out in the
		// order it first saw them: the records of a response, glue
		// A and AAAA). On bench/ingest this leaves 112,344 of the
		// 274,978 names out of the sort.
		if i > 0 && t.RRName == lastName {
			continue
		}
		lastName = t.RRName
		key = append(append(append(key[:0], tName), t.RRName...), 0)
		names.add(key, nil)
	}
	// The names are sorted and written on a third goroutine. The last
	// Upsert of a flush often runs alone, and with two goroutines its
	// end ran on one core for 40-50 ms of bench/ingest's command (perf);
	// a lone Upsert of 100,000 tuples takes 8-9% less wall time so
	// (BenchmarkUpsert/bulk/100000: 104-110 ms against 114-120).
	var recErr, namesErr error
	if recErr = errors.Join(records.err, names.err); recErr == nil {
		wg.Go(func() {
			names.sort()
			namesErr = names.write(paths[1], names.refs, db.writerOpts, doSync)
		})
		records.sort()
		recErr = records.write(paths[3], records.refs, db.writerOpts, doSync)
	}
	wg.Wait()
	if err := errors.Join(recErr, namesErr, indexErr, dErr); err != nil {
		for _, p := range paths {
			os.Remove(p)
		}
		return err
	}
	// Tables with no keys were not written.
	var written []string
	for i, n := range []int{len(dRefs), len(names.refs), len(gRefs), len(records.refs)} {
		if n > 0 {
			written = append(written, paths[i])
		}
	}
	return db.ingest(ctx, written)
}

// ingestSets writes sorted sets as tables (their key ranges must not
// overlap) and ingests them together.
func (db *DB) ingestSets(ctx context.Context, sets ...*kvSet) error {
	paths := db.bulkPaths(len(sets))
	if err := os.MkdirAll(filepath.Dir(paths[0]), 0o750); err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	for i, s := range sets {
		if err := s.write(paths[i], s.refs, db.writerOpts, db.wo.Sync); err != nil {
			for _, p := range paths[:i] {
				os.Remove(p)
			}
			return err
		}
	}
	return db.ingest(ctx, paths)
}

// bulkPaths returns n new temporary table paths.
func (db *DB) bulkPaths(n int) []string {
	seq := strconv.FormatUint(bulkSeq.Add(1), 10)
	paths := make([]string, n)
	for i := range paths {
		paths[i] = filepath.Join(db.dir, bulkDir, seq+"-"+strconv.Itoa(i)+".sst")
	}
	return paths
}

// ingest links written tables into the store atomically; they are removed
// whatever happens.
func (db *DB) ingest(ctx context.Context, paths []string) error {
	db.pruneMu.RLock()
	defer db.pruneMu.RUnlock()
	db.iters.begin()
	defer db.iters.end()
	if err := db.pdb.Ingest(ctx, paths); err != nil {
		for _, p := range paths {
			os.Remove(p)
		}
		return fmt.Errorf("pebble: ingest: %w", err)
	}
	return nil
}
