package ingest

import (
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// aggregate folds sightings in memory: one entry per (rrname, rrtype,
// rdata) key until the next flush. Keys of wire sightings are the bytes
// wire.go builds (owner wire name, type, canonical rdata), so a repeated
// record costs one map lookup and no allocation; keys of imported tuples
// are their text fields behind a 0xff byte, which no wire name starts with.
type aggregate struct {
	idx   map[string]int32
	ents  []entry
	nxIdx map[string]int32
	nxs   []store.NXCount
	// zones interns bailiwick names (wire -> text) until the next flush.
	zones map[string]string
	// bytes estimates the memory the aggregate holds.
	bytes int64
}

// entry holds the presentation strings of a tuple and the sightings not
// yet handed to the writer (its delta): count, times and dirty are reset
// at each hand-off (a periodic flush keeps the entry for later sightings),
// so every sighting reaches the store exactly once.
type entry struct {
	name, rdata, bailiwick string
	typ                    uint16
	dirty                  bool  // sightings since the last hand-off
	first, last            int64 // Unix seconds, sensor sightings
	zfirst, zlast          int64 // Unix seconds, zone-file sightings
	count                  uint64
	serial                 uint64   // last message that counted this entry
	sensors                []string // sensor ids of an imported tuple; nil = ours
}

// entryOverhead approximates what one entry costs beyond its strings: the
// entry itself, the map slot and key header, allocator rounding.
const entryOverhead = 200

func newAggregate() aggregate {
	return aggregate{
		idx:   make(map[string]int32),
		nxIdx: make(map[string]int32),
		zones: make(map[string]string),
	}
}

// lookup returns the entry of key, or nil.
func (a *aggregate) lookup(key []byte) *entry {
	if i, ok := a.idx[string(key)]; ok {
		return &a.ents[i]
	}
	return nil
}

// insert adds a new entry under key and returns it.
func (a *aggregate) insert(key []byte, e entry) *entry {
	a.idx[string(key)] = int32(len(a.ents))
	a.ents = append(a.ents, e)
	a.bytes += int64(entryOverhead + len(key) + len(e.name) + len(e.rdata))
	return &a.ents[len(a.ents)-1]
}

func (e *entry) sight(ts int64) {
	e.dirty = true
	e.count++
	if e.first == 0 || ts < e.first {
		e.first = ts
	}
	if ts > e.last {
		e.last = ts
	}
}

// nx counts n NXDOMAIN answers for the name whose key is key.
func (a *aggregate) nx(key []byte, ts int64, n uint64, name func() string) {
	if i, ok := a.nxIdx[string(key)]; ok {
		c := &a.nxs[i]
		c.Merge(&store.NXCount{Count: n, TimeFirst: ts, TimeLast: ts})
		return
	}
	text := name()
	a.nxIdx[string(key)] = int32(len(a.nxs))
	a.nxs = append(a.nxs, store.NXCount{Name: text, Count: n, TimeFirst: ts, TimeLast: ts})
	a.bytes += int64(entryOverhead/2 + 2*len(text))
}

// zone returns the text form of a wire bailiwick, interned.
func (a *aggregate) zone(wire []byte, text func() string) string {
	if s, ok := a.zones[string(wire)]; ok {
		return s
	}
	s := text()
	a.zones[string(wire)] = s
	a.bytes += int64(64 + 2*len(wire))
	return s
}

// take appends the delta of entry i as a tuple (sensors as its sensor
// ids unless it has its own) and resets the delta.
func (a *aggregate) take(dst []pdns.Tuple, i int, sensors []string) []pdns.Tuple {
	e := &a.ents[i]
	t := pdns.Tuple{
		RRName: e.name, RRType: e.typ, RData: e.rdata, Bailiwick: e.bailiwick,
		TimeFirst: e.first, TimeLast: e.last, ZoneTimeFirst: e.zfirst, ZoneTimeLast: e.zlast,
		Count: e.count, SensorIDs: sensors,
	}
	if e.sensors != nil {
		t.SensorIDs = e.sensors
		e.sensors = e.sensors[:0:0]
	}
	e.dirty, e.count, e.first, e.last, e.zfirst, e.zlast = false, 0, 0, 0, 0, 0
	return append(dst, t)
}

// takeDirty hands off every entry with sightings since its last hand-off,
// in jobs of at most batch tuples, and the NXDOMAIN counters.
func (a *aggregate) takeDirty(sensors []string, batch int) []*job {
	var jobs []*job
	cur := &job{}
	for i := range a.ents {
		if !a.ents[i].dirty {
			continue
		}
		if len(cur.tuples) == batch {
			jobs = append(jobs, cur)
			cur = &job{}
		}
		if cur.tuples == nil {
			cur.tuples = make([]pdns.Tuple, 0, min(batch, len(a.ents)-i))
		}
		cur.tuples = a.take(cur.tuples, i, sensors)
	}
	cur.nx = a.takeNX()
	return append(jobs, cur)
}

// takeNX hands off the NXDOMAIN counters and forgets them.
func (a *aggregate) takeNX() []store.NXCount {
	if len(a.nxs) == 0 {
		return nil
	}
	nx := a.nxs
	for _, c := range nx {
		a.bytes -= int64(entryOverhead/2 + 2*len(c.Name))
	}
	a.nxs = nil
	clear(a.nxIdx)
	return nx
}

// reset empties the aggregate, keeping the maps' allocations for the next
// round (maps do not shrink, but their size is bounded by the same
// budget). Entries must have been handed off first.
func (a *aggregate) reset() {
	clear(a.idx)
	a.ents = nil
	clear(a.nxIdx)
	a.nxs = nil
	clear(a.zones)
	a.bytes = 0
}
