package ingest

import (
	"bytes"
	"slices"
	"sync/atomic"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// The ingest pipeline has two stages on two goroutines. The sources'
// side (under Ingester.mu: reading, packet decoding, the DNS walker, the
// bailiwick rule) turns each response into sightings, (key, time)
// pairs, and queues them in batches; the aggregator goroutine folds the
// batches into the aggregate (hash lookups, presentation strings of new
// tuples). On bench/ingest's capture (BenchmarkCapture/discard, idle
// machine) the first stage costs about 0.14 s of CPU with reading, the
// second 0.14 s; folding in place took 284 ms of wall time, the pipeline
// 166 ms. With one CPU (GOMAXPROCS 1) the batches are folded in place.
//
// The aggregate belongs to the aggregator; the sources' side touches it
// only after sync, which waits until every queued batch is folded (the
// aggregator then waits for the next batch, so the channel operations
// order the accesses). Flushes, the memory budget and the end of a run
// go through sync.

// sighting is one record of a response to fold, or one imported tuple.
type sighting struct {
	key, keyLen uint32 // the aggregation key in sightBatch.keys
	msg, msgLen uint32 // a copy of the message in sightBatch.msgs
	rdOff       uint32 // the record's rdata in the message
	rdLen       uint16
	ownerLen    uint16 // the key starts with the owner name
	typ         uint16
	origin      origin    // where the message came from (local names are keyed apart)
	ts          int64     // Unix seconds
	serial      uint64    // the message's number: a record twice in one message is one sighting
	zone        *zoneName // bailiwick when the record is in zone
	tuple       *pdns.Tuple
}

// sightBatch is the unit of work of the aggregator.
type sightBatch struct {
	keys []byte
	msgs []byte
	recs []sighting
	// done, when set, is closed once the batch (and everything queued
	// before it) is folded.
	done chan struct{}
}

// Batch limits: a batch is handed over when it holds this many sightings
// or message bytes; pipelineDepth batches may wait.
const (
	batchRecords  = 1024
	batchBytes    = 256 << 10
	pipelineDepth = 4
)

// aggStats are the counters the aggregator keeps.
type aggStats struct {
	records  atomic.Uint64 // sightings kept
	folded   atomic.Uint64 // ... into a tuple already in memory
	rejected atomic.Uint64 // records whose rdata miekg/dns rejected
}

// startPipeline starts the aggregator, unless there is one CPU.
func (in *Ingester) startPipeline(inline bool) {
	in.cur = &sightBatch{}
	in.free = make(chan *sightBatch, pipelineDepth+2)
	if inline {
		return
	}
	in.batches = make(chan *sightBatch, pipelineDepth)
	in.aggDone = make(chan struct{})
	go func() {
		defer close(in.aggDone)
		for b := range in.batches {
			in.fold(b)
			in.foldedEst.Add(inFlightBytes(b)) // after fold published the aggregate's bytes
			if b.done != nil {
				close(b.done)
			}
			in.recycle(b)
		}
	}()
}

// maybeHandOver is called after each message or tuple (under in.mu): it
// hands the current batch over when full.
func (in *Ingester) maybeHandOver() {
	b := in.cur
	if len(b.recs) >= batchRecords || len(b.msgs)+len(b.keys) >= batchBytes {
		in.handOver(nil)
	}
}

// handOver queues the current batch (done as given) and starts a new one.
func (in *Ingester) handOver(done chan struct{}) {
	b := in.cur
	b.done = done
	in.inFlight += inFlightBytes(b)
	if in.batches == nil {
		in.fold(b)
		in.foldedEst.Add(inFlightBytes(b))
		if done != nil {
			close(done)
		}
		b.done = nil
		b.keys, b.msgs, b.recs = b.keys[:0], b.msgs[:0], b.recs[:0]
		return
	}
	in.batches <- b
	select {
	case in.cur = <-in.free:
	default:
		in.cur = &sightBatch{}
	}
}

// inFlightBytes bounds what folding b may add to the aggregate's estimate:
// every sighting a new tuple, with presentation strings up to five times
// its key (TXT escapes take four bytes for one).
func inFlightBytes(b *sightBatch) int64 {
	return int64(len(b.recs))*entryOverhead + int64(len(b.keys))*6
}

func (in *Ingester) recycle(b *sightBatch) {
	clear(b.recs) // drop the references to tuples and zone names
	b.keys, b.msgs, b.recs, b.done = b.keys[:0], b.msgs[:0], b.recs[:0], nil
	select {
	case in.free <- b:
	default:
	}
}

// syncLocked waits until everything queued is in the aggregate; the
// caller holds in.mu and may then use in.agg until it queues again.
func (in *Ingester) syncLocked() {
	done := make(chan struct{})
	in.handOver(done)
	<-done
	in.inFlight = 0
	in.foldedEst.Store(0)
}

// aggBoundLocked bounds the aggregate's estimated bytes once everything
// queued is folded: its bytes at its last batch, plus what the batches not
// yet folded may add. foldedEst is read first: a batch folded in between
// is then counted twice, never missed.
func (in *Ingester) aggBoundLocked() int64 {
	folded := in.foldedEst.Load()
	return in.agg.publishedBytes.Load() + in.inFlight - folded + inFlightBytes(in.cur)
}

// stopPipeline stops the aggregator after what is queued; the ingester
// must be idle.
func (in *Ingester) stopPipeline() {
	if in.batches == nil {
		return
	}
	in.mu.Lock()
	in.syncLocked()
	close(in.batches)
	in.batches = nil
	in.mu.Unlock()
	<-in.aggDone
}

// zoneName is a bailiwick of sightings: its text, made once by the
// sources' side, and the aggregator's index of it (aggregate.bailOfZone),
// so that sightings of one zone cost no lookup by name on either side.
type zoneName struct {
	text string
	// bail is the zone's index in the aggregate of generation gen; both
	// belong to the aggregator.
	bail int32
	gen  uint64
}

// zoneText returns the zone of a wire bailiwick, cached.
func (in *Ingester) zoneText(wire []byte) *zoneName {
	if in.lastZone != nil && bytes.Equal(wire, in.lastZoneWire) {
		return in.lastZone // responses often come from one zone in a row
	}
	z, ok := in.zones[string(wire)]
	if !ok {
		z = in.newZoneText(wire)
	}
	in.lastZoneWire, in.lastZone = append(in.lastZoneWire[:0], wire...), z
	return z
}

func (in *Ingester) newZoneText(wire []byte) *zoneName {
	if len(in.zones) >= 1<<14 {
		clear(in.zones)
	}
	z := &zoneName{text: wireToText(wire)}
	in.zones[string(wire)] = z
	return z
}

// queueTuple queues an imported tuple (copied: the caller may reuse it).
func (in *Ingester) queueTuple(t *pdns.Tuple) {
	c := *t
	c.SensorIDs = slices.Clone(t.SensorIDs)
	in.cur.recs = append(in.cur.recs, sighting{tuple: &c})
	in.maybeHandOver()
}
