// Package ingest is dnsscout's passive DNS sensor: it takes DNS responses
// from captures (ingest/pcap, ingest/live), dnstap (ingest/dnstap) and
// existing passive DNS data (ingest/imports), keeps what the bailiwick rule
// allows (docs/ingest.md), folds sightings into (rrname, rrtype, rdata)
// tuples in memory within a budget, and writes them in batches to a Sink.
// It owns the source detection, the aggregation and the statistics; it
// does not store anything itself (the Sink does: internal/store locally, a
// remote server later) and never keeps client addresses.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/dnsscout/dnsscout/internal/ingest/dnstap"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Errors of package ingest.
var (
	// ErrOptions: an Options field is out of range.
	ErrOptions = errors.New("ingest: bad options")
	// ErrSource: a source argument cannot be understood (unknown prefix,
	// undetectable content).
	ErrSource = errors.New("ingest: bad source")
	// ErrSink: the sink failed to take a batch; the batch is lost from
	// memory (the caller may retry the source).
	ErrSink = errors.New("ingest: sink failed")
)

// Sink is where tuples go: a local store.Backend, or a remote server.
type Sink interface {
	Upsert(ctx context.Context, tuples []pdns.Tuple) error
}

// NXSink is the optional ability of a Sink to keep NXDOMAIN counters.
// Without it NXDOMAIN answers are only counted in Stats.
type NXSink interface {
	AddNXDomain(ctx context.Context, counts []store.NXCount) error
}

// Options configures an Ingester. The zero value is usable.
type Options struct {
	// SensorID is recorded in every tuple this ingester produces (imported
	// tuples that name their own sensors keep those). Default: the host
	// name, or "dnsscout" when it is unknown.
	SensorID string
	// Memory bounds the estimated size of the in-memory aggregate; when it
	// is reached everything is flushed to the sink. Default: 256 MiB;
	// minimum 1 MiB.
	Memory int64
	// BatchSize is the number of tuples per Sink.Upsert call. Default:
	// 100,000: on bench/ingest, Pebble spends 1.7 s of CPU on 260,000
	// tuples in batches of 100,000 against 2.3 s in batches of 20,000
	// (large batches skip its memtable skiplist).
	BatchSize int
	// FlushInterval flushes the aggregate this often (wall clock) even
	// under budget, bounding what a crash loses. Default: 30 s.
	FlushInterval time.Duration
	// Ports are the DNS server ports of captures. Default: 53.
	Ports []uint16
	// DnstapTypes are the dnstap message types used: any of
	// "resolver-response", "client-response", "auth-response",
	// "forwarder-response", "stub-response", "tool-response". Default:
	// resolver-response.
	DnstapTypes []string
	// ZoneOrigin is the origin of zone files that have no $ORIGIN; empty
	// means guess from the file name (example.com.zone, db.example.com).
	ZoneOrigin string
	// Progress, when set, is called about five times a second while a
	// file is read with the bytes read and the file size (0 if unknown).
	Progress func(name string, done, total int64)
	// Logger receives warnings (dropped streams, skipped lines, sink
	// retries). Nil discards.
	Logger *slog.Logger
	// Now is the clock for zone-file sightings. Default: time.Now.
	Now func() time.Time
}

// Ingester turns sources into tuples. Its methods are safe for concurrent
// use: several sources may feed one ingester at once.
type Ingester struct {
	opt Options
	log *slog.Logger

	mu      sync.Mutex
	agg     aggregate
	w       walker
	key     []byte
	chain   [][]byte
	serial  uint64
	sensors []string // {SensorID}, capacity 1 so that no Merge appends into it
	stats   Stats
	wr      *writer
	// closeOnce guards stopping the writer.
	closeOnce sync.Once
	start     time.Time // when Run began; zero before
	srcMu     sync.Mutex
	sources   map[*sourceStats]struct{} // live counters of running sources
}

// New returns an ingester writing to sink. It starts the writer
// goroutines: call Close when done.
func New(sink Sink, o Options) (*Ingester, error) {
	if sink == nil {
		return nil, fmt.Errorf("%w: no sink", ErrOptions)
	}
	if o.SensorID == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			o.SensorID = h
		} else {
			o.SensorID = "dnsscout"
		}
	}
	if o.Memory == 0 {
		o.Memory = 256 << 20
	}
	if o.Memory < 1<<20 {
		return nil, fmt.Errorf("%w: memory %d below 1 MiB", ErrOptions, o.Memory)
	}
	if o.BatchSize == 0 {
		o.BatchSize = 100_000
	}
	if o.BatchSize < 1 {
		return nil, fmt.Errorf("%w: batch size %d", ErrOptions, o.BatchSize)
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 30 * time.Second
	}
	if o.FlushInterval < 0 {
		return nil, fmt.Errorf("%w: flush interval %v", ErrOptions, o.FlushInterval)
	}
	if len(o.Ports) == 0 {
		o.Ports = []uint16{53}
	}
	if slices.Contains(o.Ports, 0) {
		return nil, fmt.Errorf("%w: port 0", ErrOptions)
	}
	if len(o.DnstapTypes) == 0 {
		o.DnstapTypes = []string{"resolver-response"}
	}
	for _, t := range o.DnstapTypes {
		if _, err := dnstap.ParseType(t); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOptions, err)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	in := &Ingester{
		opt:     o,
		log:     o.Logger,
		agg:     newAggregate(),
		sensors: []string{o.SensorID}[:1:1],
		sources: make(map[*sourceStats]struct{}),
	}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	in.log = in.log.With("component", "ingest")
	in.wr = newWriter(sink, 2, in.log)
	in.stats.Malformed = make(map[string]uint64)
	return in, nil
}

// Message feeds one DNS message in wire form seen at ts. zone, when not
// empty, is the bailiwick the transport knows for it (dnstap's
// query_zone); otherwise the bailiwick rule derives it from the message.
// It flushes when the memory budget is reached and returns the sink's
// error then.
func (in *Ingester) Message(ctx context.Context, ts time.Time, msg []byte, zone string) error {
	var zw []byte
	if zone != "" {
		var ok bool
		if zw, ok = textToWire(zone); !ok {
			return fmt.Errorf("%w: bad zone %q", ErrSource, zone)
		}
	}
	in.mu.Lock()
	in.messageLocked(ts.UnixNano(), msg, zw)
	jobs := in.dueLocked()
	in.mu.Unlock()
	return in.submit(jobs)
}

// Tuple feeds one imported observation (COF, passivedns log, zone file).
// Its count, times and sensors are folded as given.
func (in *Ingester) Tuple(ctx context.Context, t *pdns.Tuple) error {
	in.mu.Lock()
	in.tupleLocked(t)
	jobs := in.dueLocked()
	in.mu.Unlock()
	return in.submit(jobs)
}

func (in *Ingester) tupleLocked(t *pdns.Tuple) {
	// What the store would refuse is counted here, so that one bad line
	// does not make the writer retry a whole batch one tuple at a time.
	if store.CheckName(t.RRName) != nil || t.Bailiwick != "" && store.CheckName(t.Bailiwick) != nil ||
		t.RData == "" || len(t.RData) > 65535 || t.RRType == 0 {
		in.stats.bad("import: tuple the store cannot hold (name or rdata)")
		return
	}
	key := in.key[:0]
	key = append(key, 0xff)
	key = append(key, t.RRName...)
	key = append(key, 0, byte(t.RRType>>8), byte(t.RRType))
	key = append(key, t.RData...)
	in.key = key
	in.stats.Records++
	if e := in.agg.lookup(key); e != nil {
		in.stats.Folded++
		e.count += t.Count
		e.first = minNonZero(e.first, t.TimeFirst)
		e.last = max(e.last, t.TimeLast)
		e.zfirst = minNonZero(e.zfirst, t.ZoneTimeFirst)
		e.zlast = max(e.zlast, t.ZoneTimeLast)
		e.dirty = true
		if e.bailiwick == "" {
			e.bailiwick = t.Bailiwick
		}
		if len(t.SensorIDs) > 0 {
			for _, s := range t.SensorIDs {
				if i, found := slices.BinarySearch(e.sensors, s); !found {
					e.sensors = slices.Insert(e.sensors, i, s)
				}
			}
		}
		return
	}
	e := entry{
		dirty: true,
		name:  t.RRName, rdata: t.RData, bailiwick: t.Bailiwick, typ: t.RRType,
		first: t.TimeFirst, last: t.TimeLast, zfirst: t.ZoneTimeFirst, zlast: t.ZoneTimeLast,
		count: t.Count,
	}
	if len(t.SensorIDs) > 0 {
		e.sensors = slices.Clone(t.SensorIDs)
	}
	in.agg.insert(key, e)
}

func minNonZero(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// dueLocked returns the jobs new data makes due: everything when the
// aggregate is over its memory budget (it is emptied then).
//
// Tuples are not handed to the store as soon as a batch of new ones is
// ready: on bench/ingest that early hand-off overlapped decoding and store
// writes but cost 40% more CPU in all (3.5 s against 2.5 s; every tuple seen
// again after its batch is written twice, and Pebble merges the two in
// compactions) and was slower on two busy cores.
func (in *Ingester) dueLocked() []*job {
	if in.agg.bytes < in.opt.Memory {
		return nil
	}
	in.stats.Flushes++
	jobs := in.agg.takeDirty(in.sensors, in.opt.BatchSize)
	in.agg.reset()
	return jobs
}

// submit hands jobs to the writer (outside in.mu: it may block).
func (in *Ingester) submit(jobs []*job) error {
	for _, j := range jobs {
		if err := in.wr.submit(j); err != nil {
			return fmt.Errorf("%w: %w", ErrSink, err)
		}
	}
	return nil
}

// Flush writes everything aggregated so far to the sink and waits until
// it is written.
func (in *Ingester) Flush(ctx context.Context) error {
	start := time.Now()
	in.mu.Lock()
	jobs := in.agg.takeDirty(in.sensors, in.opt.BatchSize)
	n, nx := 0, 0
	for _, j := range jobs {
		n += len(j.tuples)
		nx += len(j.nx)
	}
	if n+nx > 0 {
		in.stats.Flushes++
	}
	in.mu.Unlock()
	if err := in.submit(jobs); err != nil {
		return err
	}
	if err := in.wr.wait(); err != nil {
		return fmt.Errorf("%w: %w", ErrSink, err)
	}
	in.log.Debug("flushed", "tuples", n, "took", time.Since(start))
	return nil
}

// Close flushes and stops the writer. The ingester must not be used
// after.
func (in *Ingester) Close(ctx context.Context) error {
	err := in.Flush(ctx)
	in.closeOnce.Do(in.wr.close)
	return err
}

// Stats returns the counters so far, including those of running sources.
func (in *Ingester) Stats() Stats {
	in.mu.Lock()
	s := in.stats.clone()
	if !in.start.IsZero() && s.Elapsed == 0 {
		s.Elapsed = time.Since(in.start)
	}
	in.mu.Unlock()
	in.srcMu.Lock()
	for src := range in.sources {
		src.addTo(&s)
	}
	in.srcMu.Unlock()
	s.Pending = uint64(in.pending())
	s.Tuples = in.wr.tuples.Load()
	s.NXNames = in.wr.nxNames.Load()
	s.NXNotStored = in.wr.nxDropped.Load()
	if n := in.wr.rejected.Load(); n > 0 {
		s.Malformed["tuples the store refused"] += n
	}
	return s
}

// pending counts the tuples with sightings not yet handed to the writer.
func (in *Ingester) pending() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for i := range in.agg.ents {
		if in.agg.ents[i].dirty {
			n++
		}
	}
	return n
}
