package ingest

import (
	"bytes"
	"hash/maphash"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/dnsscout/dnsscout/internal/pages"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// aggregate folds sightings in memory: one entry per (rrname, rrtype,
// rdata) key until the next flush. Keys of wire sightings are the bytes
// wire.go builds (owner wire name, type, canonical rdata), so a repeated
// record costs one hash lookup and no allocation; keys of imported tuples
// are their text fields behind a 0xff byte, which no wire name starts with.
//
// It is built for the hot path and for the garbage collector: the key and
// the presentation strings of an entry live in an append-only byte arena,
// entries hold no pointers and sit in fixed chunks (never copied as they
// grow), and the index is an open-addressing table of 8-byte slots. On
// bench/ingest's capture (260,378 tuples from 1,011,971 sightings) this
// took aggregation from 0.40 s of CPU with a map[string]int32 index and
// string fields (per-key allocations, rehashing, copies of the entry slice,
// a heap of pointers to mark) to 0.14 s, and the allocations of a whole
// read of the capture from 308 MB to 114 MB.
type aggregate struct {
	aggData
	seed  maphash.Seed
	slots []uint64 // 0 = empty, else tag<<32 | (entry index + 1)
	n     int32    // entries
	// bailText is the index of bails by name.
	bailText map[string]int32
	// lastBail is the name bailOf returned lastBailIdx for: the
	// sightings of one message share their bailiwick.
	lastBail    string
	lastBailIdx int32
	// bytes estimates the memory the aggregate holds; dirty counts the
	// entries with sightings not yet handed off. The aggregator publishes
	// both after each batch for the other goroutines.
	bytes int64
	dirty int
	// The published values have cache lines of their own: the sources'
	// side reads publishedBytes after every message (aggBoundLocked), and
	// beside bytes and dirty, which the aggregator writes for every new
	// entry, each read waited for the line to come back from the other
	// core (that load was 77% of dueLocked's time).
	_              [64]byte
	publishedBytes atomic.Int64
	publishedDirty atomic.Int64
	_              [64]byte
	// touched keeps prefetch's loads; lastN and lastText are the
	// entries and arena bytes at the last prefetch, textLen the arena
	// bytes of entries.
	touched           uint64
	lastN             int32
	textLen, lastText int
	// gen numbers the aggregate's lives (reset starts a new one), for
	// the bailiwick indexes zones keep (bailOfZone).
	gen uint64
}

// aggData is what the tuples of an aggregate are read from: its entries
// and what they point at. A flush that empties the aggregate hands it off
// whole (takeDirty), and its jobs read the tuples where they are.
type aggData struct {
	ents [][]entry
	text arena
	// bails are the interned bailiwick names entries point at (index+1).
	bails []string
	// exts are the zone times and sensor ids of entries of imported
	// tuples and of local names (index+1).
	exts []entryExt
}

// nxAggregate counts NXDOMAIN answers per name until the next flush.
type nxAggregate struct {
	idx   map[string]int32
	nxs   []store.NXCount
	bytes int64
}

// add counts n NXDOMAIN answers for the name whose key is key.
func (a *nxAggregate) add(key []byte, ts int64, n uint64, name func() string) {
	if i, ok := a.idx[string(key)]; ok {
		a.nxs[i].Merge(&store.NXCount{Count: n, TimeFirst: ts, TimeLast: ts})
		return
	}
	if a.idx == nil {
		a.idx = make(map[string]int32)
	}
	text := name()
	a.idx[string(key)] = int32(len(a.nxs))
	a.nxs = pages.Append(a.nxs, store.NXCount{Name: text, Count: n, TimeFirst: ts, TimeLast: ts})
	a.bytes += nxOverhead + int64(2*len(text))
}

// nxOverhead approximates what one name costs beyond its text: the
// counter (40 bytes), as much again of the array's spare capacity
// (pages.Append doubles it), its entry in idx.
const nxOverhead = 140

// take hands off the counters and forgets them.
func (a *nxAggregate) take() []store.NXCount {
	nx := a.nxs
	a.nxs = nil
	clear(a.idx)
	a.bytes = 0
	return nx
}

// entry holds a tuple's place in the arena and the sightings not yet
// handed to the writer (its delta): count, times and dirty are reset at
// each hand-off (a periodic flush keeps the entry for later sightings), so
// every sighting reaches the store exactly once.
type entry struct {
	ref      uint64 // arena: key, then rrname text, then rdata text
	keyLen   uint32
	rdataLen uint32
	nameLen  uint16
	typ      uint16
	bail     int32 // bailiwick: index+1 in bails, 0 = none
	ext      int32 // zone times and sensor ids: index+1 in exts, 0 = none
	dirty    bool  // sightings since the last hand-off
	first    int64 // Unix seconds, sensor sightings
	last     int64
	count    uint64
	serial   uint64 // last message that counted this entry
}

// An entry is one cache line (TestEntryIsOneCacheLine; the chunks of
// entries, 256 KB each, start at page boundaries): a lookup that finds
// its key reads the entry's place in the arena and then writes its
// counters, and with 80-byte entries those were two lines for three
// entries in four. On bench/ingest's plain-UDP capture the write of
// serial was 12% of the aggregator's time, waiting for the second line.
// What only imported tuples and local names have lives in exts.
const entrySize = 64

// entryExt is what an entry may have beyond a sensor's sightings: the
// zone-file times of imported tuples (a delta, as count is) and sensor
// ids of its own (those of imported tuples, the mDNS and LLMNR tags of
// local names).
type entryExt struct {
	zfirst  int64 // Unix seconds, zone-file sightings
	zlast   int64
	sensors []string
}

const (
	entryChunk = 4096
	// entryOverhead approximates what one entry costs beyond its bytes in
	// the arena: the entry and its share of the index at the highest load.
	// (A flush's writes come on top, as the heap room that Options.Memory
	// leaves, see its comment.)
	entryOverhead = int64(unsafe.Sizeof(entry{})) + 24
	minSlots      = 1024
)

func newAggregate() aggregate {
	return aggregate{
		seed:     maphash.MakeSeed(),
		slots:    make([]uint64, minSlots),
		bailText: make(map[string]int32),
		gen:      1,
	}
}

func (a *aggData) ent(i int32) *entry { return &a.ents[i/entryChunk][i%entryChunk] }

func (a *aggData) key(e *entry) []byte { return a.text.bytes(e.ref, int(e.keyLen)) }

// name and rdata return views of the arena; they stay valid after reset
// (the arena is dropped, never reused).
func (a *aggData) name(e *entry) string {
	return a.text.str(e.ref+uint64(e.keyLen), int(e.nameLen))
}

func (a *aggData) rdata(e *entry) string {
	return a.text.str(e.ref+uint64(e.keyLen)+uint64(e.nameLen), int(e.rdataLen))
}

func (a *aggData) bailiwick(e *entry) string {
	if e.bail == 0 {
		return ""
	}
	return a.bails[e.bail-1]
}

// lookup returns the entry of key, or nil and the key's hash for insert.
func (a *aggregate) lookup(key []byte) (*entry, uint64) {
	return a.lookupHashed(key, a.hash(key))
}

func (a *aggregate) hash(key []byte) uint64 { return maphash.Bytes(a.seed, key) }

// lookupHashed is lookup for a key whose hash is known.
func (a *aggregate) lookupHashed(key []byte, h uint64) (*entry, uint64) {
	tag := uint32(h >> 32)
	mask := uint64(len(a.slots) - 1)
	for pos := uint64(tag) & mask; ; pos = (pos + 1) & mask {
		s := a.slots[pos]
		if s == 0 {
			return nil, h
		}
		if uint32(s>>32) == tag {
			e := a.ent(int32(uint32(s) - 1))
			if bytes.Equal(a.key(e), key) {
				return e, h
			}
		}
	}
}

// prefetch touches what looking up keys of hashes hs will read: their
// slots, then the entries and keys the slots point at, in loops of
// independent loads. With hundreds of thousands of entries most of them
// are cache misses; one after the other in lookup (slot, then entry, then
// key) the misses wait on each other, here the CPU overlaps them. The
// result is kept only so that the loads are not optimized away.
func (a *aggregate) prefetch(hs []uint64) {
	var sum uint64
	mask := uint64(len(a.slots) - 1)
	for _, h := range hs {
		sum += a.slots[uint64(uint32(h>>32))&mask]
	}
	for _, h := range hs {
		pos := uint64(uint32(h>>32)) & mask
		if s := a.slots[pos]; s != 0 && uint32(s>>32) == uint32(h>>32) {
			sum += a.ent(int32(uint32(s) - 1)).ref
		}
	}
	for _, h := range hs {
		pos := uint64(uint32(h>>32)) & mask
		if s := a.slots[pos]; s != 0 && uint32(s>>32) == uint32(h>>32) {
			ref := a.ent(int32(uint32(s) - 1)).ref
			sum += uint64(a.text.chunks[ref>>32][uint32(ref)])
		}
	}
	// Then the lines the batch's new entries and their bytes in the arena
	// will be written to, as many as the last batch wrote and a quarter
	// more: never written since their pages were faulted in, they are
	// not in the cache, and the writes, one new entry at a time between
	// lookups, waited for them (the store of a new entry's arena address
	// and the copies into the arena, 19% of the aggregator's CPU time on
	// bench/ingest's plain-UDP capture, 6% with these loads).
	ents, text := int(a.n-a.lastN), a.textLen-a.lastText
	a.lastN, a.lastText = a.n, a.textLen
	// (When the last chunk of entries is full, the next entry starts a
	// chunk not made yet.)
	if i := int(a.n) % entryChunk; i > 0 && ents > 0 {
		c := a.ents[len(a.ents)-1]
		for j := i; j < min(entryChunk, i+ents+ents/4); j++ {
			sum += c[j].ref
		}
	}
	if n := len(a.text.chunks); n > 0 && text > 0 {
		c := a.text.chunks[n-1]
		c = c[len(c):min(cap(c), len(c)+text+text/4)]
		for j := 0; j < len(c); j += 64 {
			sum += uint64(c[j])
		}
	}
	a.touched = sum
}

// insert adds a new entry for key (hash h, from lookup) with its
// presentation strings and returns it.
func (a *aggregate) insert(key []byte, h uint64, typ uint16, name, rdata []byte) *entry {
	if int(a.n+1)*4 > len(a.slots)*3 {
		a.grow()
	}
	i := a.n
	if int(i)%entryChunk == 0 {
		c := make([]entry, entryChunk)
		pages.Touch(c)
		a.ents = append(a.ents, c)
	}
	a.n++
	e := a.ent(i)
	e.ref = a.text.add(key, name, rdata)
	a.textLen += len(key) + len(name) + len(rdata)
	e.keyLen, e.nameLen, e.rdataLen, e.typ = uint32(len(key)), uint16(len(name)), uint32(len(rdata)), typ
	tag := uint32(h >> 32)
	mask := uint64(len(a.slots) - 1)
	pos := uint64(tag) & mask
	for a.slots[pos] != 0 {
		pos = (pos + 1) & mask
	}
	a.slots[pos] = uint64(tag)<<32 | uint64(uint32(i)+1)
	a.bytes += entryOverhead + int64(len(key)+len(name)+len(rdata))
	return e
}

// grow doubles the index. A slot's position derives from its tag alone,
// so no key is read or hashed again.
func (a *aggregate) grow() {
	slots := make([]uint64, 2*len(a.slots))
	pages.Touch(slots) // probed (read) before written
	mask := uint64(len(slots) - 1)
	for _, s := range a.slots {
		if s == 0 {
			continue
		}
		pos := (s >> 32) & mask
		for slots[pos] != 0 {
			pos = (pos + 1) & mask
		}
		slots[pos] = s
	}
	a.slots = slots
}

// markDirty notes that e has sightings to hand off.
func (a *aggregate) markDirty(e *entry) {
	if !e.dirty {
		a.dirty++
		e.dirty = true
	}
}

// sight counts one sighting at ts.
func (a *aggregate) sight(e *entry, ts int64) {
	if !e.dirty {
		a.dirty++
	}
	e.dirty = true
	e.count++
	if e.first == 0 || ts < e.first {
		e.first = ts
	}
	if ts > e.last {
		e.last = ts
	}
}

// bailOfZone is bailOf for a zone of the sources' side, which keeps its
// index for this generation of the aggregate. The zone's first use in a
// generation appends its name without looking it up: a zone is made once
// (until the sources' cache of zones is cleared, when one made again gets
// an index of its own, for the same name), and on bench/ingest's capture
// (16,992 zones) the interning map's inserts and lookups were 1.3% of the
// command's CPU.
func (a *aggregate) bailOfZone(z *zoneName) int32 {
	if z.gen != a.gen {
		a.bails = append(a.bails, z.text)
		z.bail, z.gen = int32(len(a.bails)), a.gen
		a.bytes += bailOverhead + int64(len(z.text))
	}
	return z.bail
}

// bailOverhead approximates what an interned bailiwick costs beyond its
// name's bytes: its place in bails and, for bailOf, in bailText.
const bailOverhead = 64

// bailOf returns the bailiwick index of a text name, interned.
func (a *aggregate) bailOf(s string) int32 {
	if a.lastBailIdx != 0 && s == a.lastBail {
		return a.lastBailIdx
	}
	if i, ok := a.bailText[s]; ok {
		a.lastBail, a.lastBailIdx = s, i
		return i
	}
	a.bails = append(a.bails, s)
	i := int32(len(a.bails))
	a.bailText[s] = i
	a.lastBail, a.lastBailIdx = s, i
	a.bytes += bailOverhead + int64(2*len(s))
	return i
}

// take appends the delta of entry e as a tuple (sensors as its sensor
// ids unless it has its own) and resets the delta.
//
// The tuple is written in place, field by field, not built and then
// copied in (a copy with a bulk write barrier while the garbage collector
// runs, as it often does during a flush): on bench/ingest this cut the
// function's CPU time by a sixth.
func (a *aggregate) take(dst []pdns.Tuple, e *entry, sensors []string) []pdns.Tuple {
	// Every field is set by fill (TestTakeSetsEveryField): growing
	// without appending a zero Tuple first writes each byte of the tuple
	// once, not twice. BenchmarkTakeDirty, six runs each alternated:
	// 16.9-21.2 ms (median 17.8) against 17.2-20.3 (18.4), a gain within
	// the machine's spread.
	dst = slices.Grow(dst, 1)[:len(dst)+1]
	a.fill(&dst[len(dst)-1], e, sensors)
	if e.ext != 0 {
		x := &a.exts[e.ext-1]
		x.zfirst, x.zlast, x.sensors = 0, 0, x.sensors[:0:0]
	}
	e.dirty, e.count, e.first, e.last = false, 0, 0, 0
	return dst
}

// fill sets every field of t to the delta of entry e (sensors as its
// sensor ids unless it has its own).
func (a *aggData) fill(t *pdns.Tuple, e *entry, sensors []string) {
	t.RRName, t.RRType, t.RData, t.Bailiwick = a.name(e), e.typ, a.rdata(e), a.bailiwick(e)
	t.TimeFirst, t.TimeLast, t.ZoneTimeFirst, t.ZoneTimeLast = e.first, e.last, 0, 0
	t.Count, t.SensorIDs = e.count, sensors
	if e.ext != 0 {
		x := &a.exts[e.ext-1]
		t.ZoneTimeFirst, t.ZoneTimeLast = x.zfirst, x.zlast
		if x.sensors != nil {
			t.SensorIDs = x.sensors
		}
	}
}

// entryTuples are the tuples of entries of an aggregate handed off whole,
// read where they are (store.Tuples): nothing changes them any more.
type entryTuples struct {
	d       *aggData
	idx     []int32
	sensors []string
}

func (s *entryTuples) Len() int { return len(s.idx) }

func (s *entryTuples) At(i int, t *pdns.Tuple) *pdns.Tuple {
	s.d.fill(t, s.d.ent(s.idx[i]), s.sensors)
	return t
}

// publish makes bytes and dirty visible to other goroutines.
func (a *aggregate) publish() {
	a.publishedBytes.Store(a.bytes)
	a.publishedDirty.Store(int64(a.dirty))
}

// takeDirty hands off every entry with sightings since its last hand-off
// as tuples, in jobs of at most batch tuples, of equal sizes (so that the
// writer's goroutines finish together). Each job is offered to ready as
// soon as it is complete, so that the store starts on it while the next
// ones are made; the jobs ready did not take are returned.
//
// With whole, the aggregate is handed off whole and starts anew (reset):
// the jobs read their tuples from its entries (entryTuples), not copied
// into slices of tuples. That is for a flush that empties the aggregate:
// the memory budget's, the one at the end of a Run, Close's. Every entry
// and what it points at stays until the last job is written. On bench/ingest's
// plain-UDP capture the tuples took 31.5 MB of fresh memory, and the
// copy was most of the 75 ms the flush ran on one core when that memory
// came cold from the host (docs/ingest.md, "Tenth round").
func (a *aggregate) takeDirty(sensors []string, batch int, whole bool, ready func(*job) bool) []*job {
	dirty := a.dirty
	if dirty > batch {
		n := (dirty + batch - 1) / batch
		batch = (dirty + n - 1) / n
	}
	var d *aggData
	if whole {
		d = new(aggData)
		*d = a.aggData
	}
	var jobs []*job
	var cur *job
	for i := range a.n {
		e := a.ent(i)
		if !e.dirty {
			continue
		}
		if whole {
			if cur == nil {
				cur = &job{src: &entryTuples{d: d, idx: make([]int32, 0, min(batch, dirty)), sensors: sensors}}
			}
			cur.src.idx = append(cur.src.idx, i)
		} else {
			if cur == nil {
				cur = &job{tuples: make([]pdns.Tuple, 0, min(batch, dirty))}
				pages.Touch(cur.tuples) // pointer writes read the old value under GC
			}
			cur.tuples = a.take(cur.tuples, e, sensors)
		}
		dirty--
		if cur.len() == batch && dirty > 0 {
			if !ready(cur) {
				jobs = append(jobs, cur)
			}
			cur = nil
		}
	}
	if cur != nil {
		jobs = append(jobs, cur)
	}
	a.dirty = 0
	if whole {
		a.reset()
	} else {
		a.publish()
	}
	return jobs
}

// reset empties the aggregate. Entries must have been handed off first;
// what they point at is dropped, not reused, since the tuples handed off
// point into it (and jobs of a whole hand-off read it).
func (a *aggregate) reset() {
	a.aggData = aggData{}
	a.slots = make([]uint64, minSlots)
	a.n = 0
	clear(a.bailText)
	a.gen++
	a.lastBail, a.lastBailIdx = "", 0
	a.textLen, a.lastN, a.lastText = 0, 0, 0
	a.bytes = 0
	a.dirty = 0
	a.publish()
}

// arena is append-only byte storage in chunks that never move, addressed
// by chunk<<32 | offset.
type arena struct {
	chunks [][]byte
}

const arenaChunk = 256 << 10

// add stores the concatenation of parts and returns its address.
func (r *arena) add(parts ...[]byte) uint64 {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	last := len(r.chunks) - 1
	if last < 0 || len(r.chunks[last])+n > cap(r.chunks[last]) {
		c := make([]byte, 0, max(arenaChunk, n))
		pages.Touch(c)
		r.chunks = append(r.chunks, c)
		last++
	}
	c := r.chunks[last]
	ref := uint64(last)<<32 | uint64(len(c))
	for _, p := range parts {
		c = append(c, p...)
	}
	r.chunks[last] = c
	return ref
}

func (r *arena) bytes(ref uint64, n int) []byte {
	off := int(uint32(ref))
	return r.chunks[ref>>32][off : off+n : off+n]
}

// str returns a string view of arena bytes, which are never written again.
func (r *arena) str(ref uint64, n int) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&r.bytes(ref, n)[0], n)
}

// ext returns the extension of entry e, made if it has none.
func (a *aggregate) ext(e *entry) *entryExt {
	if e.ext == 0 {
		a.exts = append(a.exts, entryExt{})
		e.ext = int32(len(a.exts))
		a.bytes += int64(unsafe.Sizeof(entryExt{}))
	}
	return &a.exts[e.ext-1]
}

// insertSensors adds ids to the sensor set of entry e (an imported
// tuple's, a local name's).
func (a *aggregate) insertSensors(e *entry, ids []string) {
	x := a.ext(e)
	for _, id := range ids {
		if i, found := slices.BinarySearch(x.sensors, id); !found {
			x.sensors = slices.Insert(x.sensors, i, id)
		}
	}
}
