package pebble

import (
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Lookups reuse Pebble iterators: creating and closing one costs about as
// much as the seek of an exact lookup (it showed as a sixth of the
// store's time per request under bench/api). An iterator sees the store
// as it was when it was made, so every write of this package is bracketed
// by begin and end: each closes the idle iterators and
// counts a new generation, and while a write is in progress no iterator
// goes back to the pool. So the idle iterators were all made since the
// last write ended, with none in progress: they see the same state, the
// one a new iterator would see. A lookup that starts after a write
// returned sees it, and a later lookup never sees less than an earlier
// one (storetest's concurrent case checks both). An idle iterator also
// holds on to the tables and memtables of its time: it is closed at the
// next write, at Compact and Close, or when found older than maxIterAge.

// maxIdleIters bounds the idle iterators kept.
const maxIdleIters = 16

// maxIterAge is the oldest an iterator may be and still be reused.
const maxIterAge = time.Second

// iterPool keeps idle iterators of one DB.
type iterPool struct {
	mu      sync.Mutex
	gen     uint64 // write starts and ends so far
	writing int    // writes in progress
	idle    []pooledIter
	closed  bool
	// version and changing are gen and writing without the writes of
	// the meta namespaces (keys, their usage counters, ingest batch
	// ids), which no lookup reads: the store's version (Version).
	version  uint64
	changing int
}

// pooledIter is an iterator and the write generation it was made in.
type pooledIter struct {
	it   *pebble.Iterator
	gen  uint64
	born time.Time
}

// get returns an iterator over [lo, hi): an idle one of the current
// generation, or a new one.
func (p *iterPool) get(pdb *pebble.DB, lo, hi []byte) pooledIter {
	var stale []pooledIter
	now := time.Now()
	p.mu.Lock()
	gen := p.gen          // read before a new iterator is made: a write meanwhile makes it stale, never the reverse
	for len(p.idle) > 0 { // empty while a write is in progress
		pi := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if pi.gen == gen && now.Sub(pi.born) < maxIterAge {
			p.mu.Unlock()
			closeAll(stale)
			pi.it.SetBounds(lo, hi)
			return pi
		}
		stale = append(stale, pi)
	}
	p.mu.Unlock()
	closeAll(stale)
	// Without the lookup's context: Pebble uses it for tracing only, and
	// the iterator outlives the lookup.
	it, _ := pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi}) // its error is always nil
	return pooledIter{it: it, gen: gen, born: now}
}

// put takes an iterator back: kept when no write started since it was
// made (and it had no error), else closed.
func (p *iterPool) put(pi pooledIter) {
	p.mu.Lock()
	if !p.closed && p.writing == 0 && pi.gen == p.gen && len(p.idle) < maxIdleIters && time.Since(pi.born) < maxIterAge &&
		pi.it.Error() == nil {
		p.idle = append(p.idle, pi)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	pi.it.Close()
}

// begin marks the start of a write: no iterator made before it, or
// while it is in progress, is reused. end must follow.
func (p *iterPool) begin() { p.turn(1, true) }

// end marks the end of a write begun with begin, once it is applied.
func (p *iterPool) end() { p.turn(-1, true) }

// beginMeta and endMeta are begin and end for a write of a meta
// namespace: they leave the store's version alone.
func (p *iterPool) beginMeta() { p.turn(1, false) }
func (p *iterPool) endMeta()   { p.turn(-1, false) }

// turn starts a generation, closing the idle iterators.
func (p *iterPool) turn(writing int, data bool) {
	p.mu.Lock()
	p.gen++
	p.writing += writing
	if data {
		p.version++
		p.changing += writing
	}
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	closeAll(idle)
}

// close closes the idle iterators and keeps none from now on.
func (p *iterPool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	closeAll(idle)
}

func closeAll(its []pooledIter) {
	for _, pi := range its {
		pi.it.Close()
	}
}

// commit commits a batch between the pool's begin and end (see iterPool).
// An empty batch changes nothing: it is not committed, so it keeps the
// idle iterators and the store's version (a prune that found nothing).
func (db *DB) commit(b *pebble.Batch) error {
	if b.Empty() {
		return nil
	}
	db.iters.begin()
	defer db.iters.end()
	return b.Commit(db.wo)
}

// Version implements store.Versioned: the count of the starts and ends
// of the writes of this package that lookups can see (all but those of
// the meta namespaces).
func (db *DB) Version() (uint64, bool) {
	p := &db.iters
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.version, p.changing == 0
}
