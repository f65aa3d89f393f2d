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
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/ingest/dnstap"
	"github.com/dnsscout/dnsscout/internal/ingest/imports"
	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
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
	// ErrUnknownFormat: no format accepts a file (the error says what it
	// looks like).
	ErrUnknownFormat = errors.New("ingest: unknown format")
	// ErrLimit: a file went past a limit of Options (decompressed size or
	// ratio).
	ErrLimit = errors.New("ingest: limit reached")
	// ErrNotImported: an import file was not committed, or not whole (bad
	// lines without SkipBad, a read error, a stop).
	ErrNotImported = errors.New("ingest: import not committed")
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
	// is reached everything is flushed to the sink. The aggregate is then
	// handed off whole and kept until the sink has written it, beside the
	// next one filling meanwhile; a periodic flush (FlushInterval) copies
	// the tuples it hands over instead (about as much again).
	// Default: 256 MiB; minimum 1 MiB.
	Memory int64
	// BatchSize is the most tuples per Sink.Upsert call; the tuples of a
	// flush are split into equal jobs under it. Default: one per KiB of
	// Memory, at least 10,000 and at most 100,000 (a store writing a
	// batch holds several hundred bytes per tuple, and two batches are
	// written at once). Pebble writes large batches as ingested tables
	// (internal/store/pebble, bulk.go): bench/ingest's 260,378 tuples cost
	// 0.26 s of CPU in three Upserts, against 0.75 s for batches through
	// its memtable.
	BatchSize int
	// FlushInterval flushes the aggregate this often (wall clock) even
	// under budget, bounding what a crash loses. Default: 30 s.
	FlushInterval time.Duration
	// Ports are the DNS server ports of captures. Answers from 5353
	// (mDNS) and 5355 (LLMNR) are kept under their own sensor ids
	// (SensorID+"/mdns", SensorID+"/llmnr"): they are local names. Port
	// 853 (DNS over TLS or QUIC) cannot be decoded and is refused.
	// Default: 53, 5353, 5355.
	Ports []uint16
	// AnyPort also takes DNS responses on other UDP ports of captures
	// when they match a query seen on the reverse flow (ingest/pcap
	// Options.AnyPort). Default: off.
	AnyPort bool
	// AnyPortQueries bounds the queries remembered for AnyPort per
	// capture. Default: 65536.
	AnyPortQueries int
	// DecapDepth bounds nested encapsulations in captures (VXLAN in
	// GENEVE, ...). Default: 4.
	DecapDepth int
	// DnstapTypes are the dnstap message types used: any of
	// "resolver-response", "client-response", "auth-response",
	// "forwarder-response", "stub-response", "tool-response". Default:
	// resolver-response.
	DnstapTypes []string
	// ZoneOrigin is the origin of zone files that have no $ORIGIN; empty
	// means guess from the file name (example.com.zone, db.example.com).
	ZoneOrigin string
	// MaxLine bounds a line of an import (and a zone record written over
	// several lines): longer lines are skipped as bad, or end a zone file.
	// Default: 1 MiB.
	MaxLine int
	// MaxFrame bounds a dnstap frame: larger ones are skipped and counted.
	// Default: 256 KiB.
	MaxFrame int
	// MaxRatio ends a gzip or zstd file that decompresses to more than
	// this many times the compressed bytes read (after its first MiB).
	// Default: 100; negative: no limit.
	MaxRatio float64
	// MaxDecompressed ends a gzip or zstd file whose content is larger.
	// Default: 64 GiB; negative: no limit.
	MaxDecompressed int64
	// Force reads files whose content was ingested before. Without it such
	// a file is skipped with a notice: the sink's ledger (store.LedgerOf;
	// both store backends have one, in their Meta space) remembers the
	// SHA-256 and size of every regular file whose ingest was committed,
	// and one run remembers its own. Standard input, FIFOs and live
	// sources are never hashed. Default: off.
	Force bool
	// Notice receives one line for every file skipped as ingested before.
	// Nil logs it as a warning.
	Notice func(msg string)
	// SkipBad commits the good records of an import file that has bad
	// lines (each reported, and counted in Stats.SkippedLines). Without it
	// such a file is committed not at all: imports are atomic.
	SkipBad bool
	// MaxReported is how many bad lines of one file are reported; the rest
	// are only counted. Default: 10; negative: none.
	MaxReported int
	// Report receives every file that failed and the bad lines of imports
	// (up to MaxReported per file), each error naming the file. Nil logs
	// them as warnings.
	Report func(error)
	// TempDir holds the part of an import staged beyond memory (a file
	// removed as soon as it is created). Default: os.TempDir().
	TempDir string
	// Progress, when set, is called about five times a second while a
	// file is read with the bytes read and the file size (0 if unknown).
	Progress func(name string, done, total int64)
	// Logger receives warnings (dropped streams, skipped lines, sink
	// retries). Nil discards.
	Logger *slog.Logger
	// Now is the clock for zone-file sightings. Default: time.Now.
	Now func() time.Time
}

// fillLimits fills in and checks the input limits.
func (o *Options) fillLimits() error {
	if o.MaxLine == 0 {
		o.MaxLine = imports.DefaultMaxLine
	}
	if o.MaxFrame == 0 {
		o.MaxFrame = 256 << 10
	}
	if o.MaxRatio == 0 {
		o.MaxRatio = 100
	}
	if o.MaxDecompressed == 0 {
		o.MaxDecompressed = 64 << 30
	}
	if o.MaxReported == 0 {
		o.MaxReported = 10
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	switch {
	case o.MaxLine < 256:
		return fmt.Errorf("%w: max line %d below 256 bytes", ErrOptions, o.MaxLine)
	case o.MaxFrame < 512:
		return fmt.Errorf("%w: max frame %d below 512 bytes", ErrOptions, o.MaxFrame)
	case o.MaxRatio > 0 && o.MaxRatio < 2:
		return fmt.Errorf("%w: max ratio %g below 2", ErrOptions, o.MaxRatio)
	}
	return nil
}

// Ingester turns sources into tuples. Its methods are safe for concurrent
// use: several sources may feed one ingester at once.
type Ingester struct {
	opt Options
	log *slog.Logger

	// mu guards the sources' side of the pipeline (pipeline.go).
	mu      sync.Mutex
	w       walker
	key     []byte
	chain   [][]byte
	serial  uint64
	sensors []string // {SensorID}, capacity 1 so that no Merge appends into it
	// localSensors are the sensor ids of local-name answers, by origin.
	localSensors [numOrigins][]string
	stats        Stats
	nx           nxAggregate
	zones        map[string]*zoneName // by wire bailiwick, a cache
	lastZone     *zoneName            // the last zoneText, of lastZoneWire
	lastZoneWire []byte
	cur          *sightBatch // sightings not yet handed to the aggregator
	// inFlight bounds the bytes the batches handed over since the last
	// sync may add to the aggregate; foldedEst is the part of it the
	// aggregator has folded.
	inFlight  int64
	foldedEst atomic.Int64
	batches   chan *sightBatch // to the aggregator; nil when folding in place
	free      chan *sightBatch
	aggDone   chan struct{}

	// The aggregator's side.
	agg      aggregate
	aggStats aggStats
	nameBuf  []byte // scratch for presentation strings
	rdataBuf []byte
	tupleKey []byte
	hashes   []uint64 // of a batch's keys, scratch

	wr *writer
	// ledger remembers the files ingested (nil: the sink cannot);
	// ingested and ingestedSizes hold this run's, by digest and size, and
	// pendingFiles those not yet recorded, recorded once a flush has
	// written their data (under mu).
	ledger        store.IngestLedger
	ingested      map[[32]byte]string
	ingestedSizes map[int64]bool
	pendingFiles  []store.IngestedFile
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
		o.BatchSize = int(min(max(o.Memory>>10, 10_000), 100_000))
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
		o.Ports = pcap.DefaultPorts
	}
	if slices.Contains(o.Ports, 0) {
		return nil, fmt.Errorf("%w: port 0", ErrOptions)
	}
	if slices.Contains(o.Ports, pcap.DoTPort) {
		return nil, fmt.Errorf("%w: port %d carries DNS over TLS or QUIC, which cannot be decoded", ErrOptions, pcap.DoTPort)
	}
	o.Ports = slices.Clone(o.Ports)
	if o.AnyPortQueries < 0 || o.DecapDepth < 0 {
		return nil, fmt.Errorf("%w: negative any-port queries or decapsulation depth", ErrOptions)
	}
	if o.AnyPortQueries == 0 {
		o.AnyPortQueries = 65536
	}
	if o.DecapDepth == 0 {
		o.DecapDepth = 4
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
	if err := o.fillLimits(); err != nil {
		return nil, err
	}
	in := &Ingester{
		opt:     o,
		log:     o.Logger,
		agg:     newAggregate(),
		sensors: []string{o.SensorID}[:1:1],
		localSensors: [numOrigins][]string{
			originMDNS:  {o.SensorID + "/mdns"},
			originLLMNR: {o.SensorID + "/llmnr"},
		},
		sources:       make(map[*sourceStats]struct{}),
		zones:         make(map[string]*zoneName),
		ingested:      make(map[[32]byte]string),
		ingestedSizes: make(map[int64]bool),
	}
	in.ledger, _ = store.LedgerOf(sink)
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	in.log = in.log.With("component", "ingest")
	in.wr = newWriter(sink, 2, in.log)
	in.stats.Malformed = make(map[string]uint64)
	in.startPipeline(runtime.GOMAXPROCS(0) == 1)
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
	in.messageLocked(ts.UnixNano(), msg, zw, originDNS)
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
	if store.CheckTuple(t) != nil {
		in.stats.bad("import: tuple the store cannot hold (name or rdata)")
		return
	}
	in.queueTuple(t)
}

// foldTuple folds an imported tuple into the aggregate (aggregator).
func (in *Ingester) foldTuple(t *pdns.Tuple) {
	a := &in.agg
	key := in.tupleKey[:0]
	key = append(key, 0xff)
	key = append(key, t.RRName...)
	key = append(key, 0, byte(t.RRType>>8), byte(t.RRType))
	key = append(key, t.RData...)
	in.tupleKey = key
	in.aggStats.records.Add(1)
	e, h := a.lookup(key)
	if e != nil {
		in.aggStats.folded.Add(1)
		e.count += t.Count
		e.first = minNonZero(e.first, t.TimeFirst)
		e.last = max(e.last, t.TimeLast)
	} else {
		e = a.insert(key, h, t.RRType, []byte(t.RRName), []byte(t.RData))
		e.first, e.last, e.count = t.TimeFirst, t.TimeLast, t.Count
	}
	if t.ZoneTimeFirst != 0 || t.ZoneTimeLast != 0 {
		x := a.ext(e)
		x.zfirst = minNonZero(x.zfirst, t.ZoneTimeFirst)
		x.zlast = max(x.zlast, t.ZoneTimeLast)
	}
	a.markDirty(e)
	if e.bail == 0 && t.Bailiwick != "" {
		e.bail = a.bailOf(t.Bailiwick)
	}
	if len(t.SensorIDs) > 0 {
		a.insertSensors(e, t.SensorIDs)
	}
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
// aggregate is over its memory budget (it is emptied then). The aggregate
// is checked after a sync only when what it held at its last batch, plus
// what the batches handed over since may add, reaches the budget.
//
// Tuples are not handed to the store before a flush is due: every tuple
// seen again after it was written would be written twice. On bench/ingest
// an early hand-off cost 40% more CPU with the old store path; with the
// current one, flushes every 100-200 ms (--flush-interval) took 0.65-0.88 s
// of wall time and 0.96-1.16 s of CPU against 0.50 s and 0.72 s for one
// flush at the end (docs/ingest.md).
func (in *Ingester) dueLocked() []*job {
	if in.aggBoundLocked()+in.nx.bytes < in.opt.Memory {
		return nil
	}
	in.syncLocked()
	if in.agg.bytes+in.nx.bytes < in.opt.Memory {
		return nil
	}
	in.stats.Flushes++
	return in.takeLocked(true)
}

// takeLocked hands off everything aggregated since the last hand-off,
// with whole the aggregate itself, which starts anew (aggregate.
// takeDirty); the caller has synced, and must pass the jobs to submit.
// They count as pending in the writer from here on, so that a Flush that
// takes the files read meanwhile waits for them before it records those
// files.
func (in *Ingester) takeLocked(whole bool) []*job {
	jobs := in.agg.takeDirty(in.sensors, in.opt.BatchSize, whole, in.wr.trySubmit)
	if nx := in.nx.take(); len(nx) > 0 {
		// A job of its own, which a free writer goroutine takes while
		// the other writes tuples: on bench/ingest the 25,803 names
		// written after the last tuples cost 25-30 ms of wall time.
		jobs = append(jobs, &job{nx: nx})
	}
	in.wr.reserve(jobs)
	return jobs
}

// submit hands jobs to the writer (outside in.mu: it may block).
func (in *Ingester) submit(jobs []*job) error {
	for i, j := range jobs {
		if err := in.wr.submit(j); err != nil {
			in.wr.unreserve(jobs[i+1:])
			return fmt.Errorf("%w: %w", ErrSink, err)
		}
	}
	return nil
}

// Flush writes everything aggregated so far to the sink and waits until
// it is written.
func (in *Ingester) Flush(ctx context.Context) error { return in.flush(ctx, false) }

// flush is Flush; with whole it empties the aggregate, which hands its
// entries to the writer as they are (aggregate.takeDirty): at the end of
// a Run and at Close.
func (in *Ingester) flush(ctx context.Context, whole bool) error {
	start := time.Now()
	in.mu.Lock()
	in.syncLocked()
	n := in.agg.dirty // takeLocked may hand jobs to the writer at once
	jobs := in.takeLocked(whole)
	nx := 0
	for _, j := range jobs {
		nx += len(j.nx)
	}
	if n+nx > 0 {
		in.stats.Flushes++
	}
	files := in.pendingFiles
	in.pendingFiles = nil
	in.mu.Unlock()
	if err := in.submit(jobs); err != nil {
		return err
	}
	if err := in.wr.wait(); err != nil {
		return fmt.Errorf("%w: %w", ErrSink, err)
	}
	// The files read whole before the sync above are in the store now.
	if err := in.recordFiles(ctx, files); err != nil {
		return err
	}
	in.log.Debug("flushed", "tuples", n, "took", time.Since(start))
	return nil
}

// Close flushes and stops the writer. The ingester must not be used
// after.
func (in *Ingester) Close(ctx context.Context) error {
	err := in.flush(ctx, true)
	in.closeOnce.Do(func() {
		in.stopPipeline()
		in.wr.close()
	})
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
	s.Records = in.aggStats.records.Load()
	s.Folded = in.aggStats.folded.Load()
	if n := in.aggStats.rejected.Load(); n > 0 {
		s.Malformed["DNS rdata rejected by the presentation decoder"] += n
	}
	s.Pending = uint64(in.agg.publishedDirty.Load())
	s.Tuples = in.wr.tuples.Load()
	s.NXNames = in.wr.nxNames.Load()
	s.NXNotStored = in.wr.nxDropped.Load()
	if n := in.wr.rejected.Load(); n > 0 {
		s.Malformed["tuples the store refused"] += n
	}
	return s
}
