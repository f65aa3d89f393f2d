// Package pebble is dnsscout's embedded passive DNS store: a store.Backend
// on CockroachDB's Pebble LSM, in one directory. It owns the on-disk key
// layout (label-reversed names so that zone wildcards are prefix scans,
// binary addresses so that prefixes and ranges are range scans, compact
// varint values folded by a merge operator so that writers never read),
// and implements every optional ability of package store. It does not
// parse queries (package store does) or decode traffic.
package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Errors of Open.
var (
	// ErrLocked: another process has the store open.
	ErrLocked = errors.New("pebble: store is in use by another process (a running ingest or serve?)")
	// ErrNoStore: a read-only open found no store in the directory.
	ErrNoStore = errors.New("pebble: no store")
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Logger receives Pebble's messages (at debug level) and the store's
	// own; nil discards them.
	Logger *slog.Logger
	// ReadOnly opens an existing store for lookups only (default false).
	ReadOnly bool
	// NoSync skips the fsync at each Upsert (default false: every batch is
	// durable when Upsert returns). Killing the process loses nothing
	// either way; a power cut may lose the unsynced batches.
	NoSync bool
	// MaxLimit caps the results of one Lookup and is used for Limit 0
	// (default store.DefaultMaxLimit; negative = no cap).
	MaxLimit int
	// CacheBytes is the block cache for data (default 64 MiB). Pebble
	// charges memtables to the same cache, so Open sizes it at CacheBytes
	// plus three memtables.
	CacheBytes int64
	// MemTableBytes is the size of one memtable (default 32 MiB); larger
	// makes bulk loads faster. Pebble keeps up to three write-ahead logs
	// of about this size for reuse.
	MemTableBytes uint64
	// BlockBytes is the uncompressed size of a data block (default 64 KiB):
	// larger blocks compress better, smaller ones make point reads cheaper.
	BlockBytes int
	// BulkTuples is the size from which an Upsert (or AddNXDomain) is
	// written as sorted tables that Pebble ingests instead of a batch
	// (bulk.go). Default 10,000: from a few thousand tuples bulk writes
	// cost less (BenchmarkUpsert), but each adds tables to level 0 where
	// a memtable gathers many small batches into one. Negative: never.
	BulkTuples int
}

// DB is an open Pebble store. It is safe for concurrent use.
type DB struct {
	pdb      *pebble.DB
	dir      string
	log      *slog.Logger
	wo       *pebble.WriteOptions
	maxLimit int
	readOnly bool
	closed   atomic.Bool
	// bulk is Options.BulkTuples; writerOpts make the bulk tables.
	bulk       int
	writerOpts sstable.WriterOptions
	bulkSets   bulkPool

	sensors sensorDict
	// iters are the lookups' idle iterators (iterpool.go).
	iters iterPool

	// pruneMu keeps Upserts out while Prune decides which distinct-name
	// index entries may go: Upsert holds it shared, Prune exclusively.
	pruneMu sync.RWMutex
}

var (
	_ store.Backend        = (*DB)(nil)
	_ store.Pruner         = (*DB)(nil)
	_ store.StatsReporter  = (*DB)(nil)
	_ store.Exporter       = (*DB)(nil)
	_ store.Compacter      = (*DB)(nil)
	_ store.NXDomainWriter = (*DB)(nil)
	_ store.NXDomainReader = (*DB)(nil)
	_ store.MetaStore      = (*DB)(nil)
)

func init() {
	store.Register(store.Driver{Scheme: "pebble", Open: func(ctx context.Context, dir string, o store.Options) (store.Backend, error) {
		return Open(ctx, dir, Options{Logger: o.Logger, ReadOnly: o.ReadOnly, NoSync: o.NoSync, MaxLimit: o.MaxLimit, CacheBytes: o.CacheBytes,
			MemTableBytes: o.MemTableBytes})
	}})
}

// formatVersion is the key layout version, kept under "z" "format".
const formatVersion = "1"

// Open opens (creating it unless ReadOnly) the store in dir.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("pebble: empty directory")
	}
	if opts.MaxLimit == 0 {
		opts.MaxLimit = store.DefaultMaxLimit
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 64 << 20
	}
	if opts.MemTableBytes == 0 {
		opts.MemTableBytes = 32 << 20
	}
	if opts.BlockBytes <= 0 {
		opts.BlockBytes = 64 << 10
	}
	if opts.BulkTuples == 0 {
		opts.BulkTuples = 10_000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store/pebble")
	if opts.ReadOnly {
		if m, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*")); len(m) == 0 {
			return nil, fmt.Errorf("%w at %s (nothing ingested yet?)", ErrNoStore, dir)
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("pebble: %w", err)
	}

	po := &pebble.Options{
		Merger: merger,
		// Row-oriented blocks: with our prefix-heavy keys and short values
		// they compress about 10% better than the columnar blocks of newer
		// format versions (measured with bench/query).
		FormatMajorVersion: pebble.FormatFlushableIngestExcises,
		// Pebble charges memtables to the block cache; without this
		// allowance a writable store caches no blocks at all.
		CacheSize:    opts.CacheBytes + 3*int64(opts.MemTableBytes),
		MemTableSize: opts.MemTableBytes,
		ReadOnly:     opts.ReadOnly,
		Logger:       pebbleLogger{log},
		// Bulk loads write many L0 files; let them pile up a little before
		// stalling writers. A compaction starts at four overlapping
		// sublevels (Pebble's default, 4, starts it at two): the three
		// bulk writes of bench/ingest's single flush land in L6, L0, L0,
		// and a compaction started then would hold up Close by 0.2-0.3 s.
		L0CompactionThreshold: 8,
		L0StopWritesThreshold: 64,
		LBaseMaxBytes:         256 << 20,
	}
	po.CompactionConcurrencyRange = func() (int, int) { return 1, 2 }
	if log.Enabled(ctx, slog.LevelDebug) {
		// Flushes, compactions and ingestions, at debug level.
		el := pebble.MakeLoggingEventListener(pebbleLogger{log})
		po.EventListener = &el
	}
	for i := range po.Levels {
		l := &po.Levels[i]
		l.BlockSize = opts.BlockBytes
		l.IndexBlockSize = 256 << 10
		l.BlockRestartInterval = 16
		switch {
		case i < 4:
			l.Compression = func() *sstable.CompressionProfile { return block.FastestCompression }
		case i < 6:
			l.Compression = func() *sstable.CompressionProfile { return block.ZstdCompression }
		default:
			l.Compression = func() *sstable.CompressionProfile { return bottomCompression }
		}
	}
	pdb, err := pebble.Open(dir, po)
	if err != nil {
		if isLockErr(err) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("pebble: open %s: %w", dir, err)
	}
	db := &DB{pdb: pdb, dir: dir, log: log, maxLimit: opts.MaxLimit, readOnly: opts.ReadOnly, wo: pebble.Sync,
		bulk: opts.BulkTuples}
	db.writerOpts = po.MakeWriterOptions(0, po.FormatMajorVersion.MaxTableFormat())
	db.writerOpts.Compression = bulkCompression
	if !opts.ReadOnly {
		// Tables of a bulk write that a crash interrupted before Ingest.
		if err := os.RemoveAll(filepath.Join(dir, bulkDir)); err != nil {
			pdb.Close()
			return nil, fmt.Errorf("pebble: %w", err)
		}
	}
	if opts.NoSync {
		db.wo = pebble.NoSync
	}
	if err := db.checkFormat(); err != nil {
		pdb.Close()
		return nil, err
	}
	if err := db.sensors.load(pdb); err != nil {
		pdb.Close()
		return nil, err
	}
	return db, nil
}

// bottomCompression is zstd at level 9 for the last level, where nearly
// all data lives once compacted: about 5% smaller than level 3, at a
// compaction CPU cost paid once per tuple (decompression speed does not
// depend on the level). Pebble has no preset for it, so it is derived from
// the level-3 preset.
var bottomCompression = func() *sstable.CompressionProfile {
	p := *block.ZstdCompression
	p.Name = "dnsscout-zstd9"
	p.DataBlocks.Level, p.ValueBlocks.Level, p.OtherBlocks.Level = 9, 9, 9
	return &p
}()

// bulkCompression compresses the tables of bulk writes (bulk.go): the
// fastest codec (Snappy at this table format) whatever level they land
// in; compactions rewrite them with the level's codec.
var bulkCompression = block.FastestCompression

func (db *DB) checkFormat() error {
	key := []byte{tSys, 'f', 'o', 'r', 'm', 'a', 't'}
	v, closer, err := db.pdb.Get(key)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		if db.readOnly {
			return nil
		}
		return db.pdb.Set(key, []byte(formatVersion), pebble.Sync)
	case err != nil:
		return fmt.Errorf("pebble: %w", err)
	}
	defer closer.Close()
	if string(v) != formatVersion {
		return fmt.Errorf("%w: store format %q, this dnsscout reads %q", store.ErrCorrupt, v, formatVersion)
	}
	return nil
}

// isLockErr recognises Pebble's failure to take the directory lock: held
// by this process, or by another one (fcntl fails with EAGAIN).
func isLockErr(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) && strings.Contains(err.Error(), "LOCK") ||
		strings.Contains(err.Error(), "lock held")
}

// Close flushes and closes the store.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return store.ErrClosed
	}
	db.iters.close()
	if !db.readOnly {
		// Write the memtable out, so that the store on disk is its
		// tables and the write-ahead log is not replayed at the next
		// open.
		if err := db.pdb.Flush(); err != nil {
			db.pdb.Close()
			return fmt.Errorf("pebble: flush: %w", err)
		}
	}
	if err := db.pdb.Close(); err != nil {
		return fmt.Errorf("pebble: close: %w", err)
	}
	if !db.readOnly {
		os.Remove(filepath.Join(db.dir, bulkDir)) // empty unless a write failed
	}
	return nil
}

// Dir returns the store's directory.
func (db *DB) Dir() string { return db.dir }

func (db *DB) usable(write bool) error {
	if db.closed.Load() {
		return store.ErrClosed
	}
	if write && db.readOnly {
		return store.ErrReadOnly
	}
	return nil
}

// Upsert merges tuples in one atomic, durable batch (see store.Backend).
// It never reads: tuples are merge operands, index entries blind sets.
func (db *DB) Upsert(ctx context.Context, tuples []pdns.Tuple) error {
	return db.upsert(ctx, store.TupleSlice(tuples))
}

// UpsertTuples is Upsert for tuples read by index (store.TuplesUpserter).
// A bulk write reads them where they are: an ingest's flush hands over
// its aggregate's entries without first copying them into tuples, 31.5 MB
// of fresh memory for bench/ingest's capture (docs/ingest.md, "Tenth
// round").
func (db *DB) UpsertTuples(ctx context.Context, tuples store.Tuples) error {
	return db.upsert(ctx, tuples)
}

func (db *DB) upsert(ctx context.Context, tuples store.Tuples) error {
	if err := db.usable(true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n := tuples.Len()
	if n == 0 {
		return nil
	}
	// Check and normalize every tuple first: a bad one fails the whole
	// batch before anything is written. The caller's tuples are copied
	// only when one needs a change.
	// addrs[i] is tuple i's canonicalIP (the zero Addr when it has none):
	// the check parses an address once for all the keys made of it. A
	// bulk write's sets hold them, reused as the sets are (2.2 MB for
	// each Upsert of bench/ingest's flush).
	var sets *bulkSets
	bulk := db.bulk > 0 && n >= db.bulk
	if bulk {
		sets = db.bulkSets.get()
		defer db.bulkSets.put(sets)
	}
	addrs := newAddrs(sets, n)
	// A bulk write's tuples are checked in two halves on two goroutines:
	// the third Upsert of bench/ingest's flush checked its 91,660 tuples
	// alone on one core for 15-20 ms (perf), the other writes done.
	halves := [2]checked{{lo: 0, hi: n}}
	if bulk && runtime.GOMAXPROCS(0) > 1 {
		halves[0].hi, halves[1] = n/2, checked{lo: n / 2, hi: n}
		var wg sync.WaitGroup
		wg.Go(func() { halves[1].check(tuples, addrs) })
		halves[0].check(tuples, addrs)
		wg.Wait()
	} else {
		halves[0].check(tuples, addrs)
	}
	for _, h := range halves { // the first bad tuple's error
		if h.err != nil {
			return h.err
		}
	}
	var norm []pdns.Tuple // a copy, once a tuple needs a change
	for _, h := range halves {
		for _, i := range h.changed {
			if norm == nil {
				norm = store.AppendTuples(make([]pdns.Tuple, 0, n), tuples)
			}
			norm[i], _ = normalize(&norm[i])
		}
	}
	if norm != nil {
		tuples = store.TupleSlice(norm)
	}
	if bulk {
		err := db.upsertBulk(ctx, sets, tuples, addrs)
		if !errors.Is(err, errTooBig) {
			return err
		}
	}
	// The batch path reads a slice.
	if s, ok := tuples.(store.TupleSlice); ok {
		norm = s
	} else {
		norm = store.AppendTuples(make([]pdns.Tuple, 0, n), tuples)
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	var (
		key, val, ibuf []byte
		entries        []indexEntry
		sensors        []uint32
		seen           = make(map[string]struct{})
	)
	for i := range norm {
		t := &norm[i]
		key = appendRecordKeyAddr(key[:0], t.RRName, t.RRType, t.RData, addrs[i])
		var err error
		if sensors, err = db.sensors.numbers(db.pdb, db.wo, t.SensorIDs, sensors); err != nil {
			return err
		}
		val = appendValue(val[:0], t, sensors)
		if err := b.Merge(key, val, nil); err != nil {
			return fmt.Errorf("pebble: %w", err)
		}
		entries, ibuf = appendIndexEntriesAddr(entries[:0], ibuf[:0], t.RRName, t.RRType, t.RData, addrs[i])
		for _, e := range entries {
			if e.fwd {
				if _, dup := seen[string(e.key)]; dup {
					continue
				}
				seen[string(e.key)] = struct{}{}
			}
			if err := b.Set(e.key, e.value, nil); err != nil {
				return fmt.Errorf("pebble: %w", err)
			}
		}
	}
	db.pruneMu.RLock()
	defer db.pruneMu.RUnlock()
	if err := db.commit(b); err != nil {
		return fmt.Errorf("pebble: commit: %w", err)
	}
	return nil
}

// checked is the check of tuples[lo:hi] for Upsert: the error of the
// first bad one, the indexes of the tuples normalize changes (the
// caller's slice is copied only when there are any; kept as indexes, not
// the changed tuples, which would double a batch of upper-case names),
// the addresses written into addrs.
type checked struct {
	lo, hi  int
	err     error
	changed []int
}

func (h *checked) check(tuples store.Tuples, addrs []netip.Addr) {
	var (
		check   store.TupleChecker
		scratch pdns.Tuple
	)
	for i := h.lo; i < h.hi; i++ {
		t := tuples.At(i, &scratch)
		if err := check.Check(t); err != nil {
			h.err = fmt.Errorf("%w: tuple %d (%q %s): %v", store.ErrBadTuple, i, t.RRName, pdns.TypeString(t.RRType), err)
			return
		}
		if a := check.Addr(); a.IsValid() {
			addrs[i], _ = canonicalAddr(a, t.RData)
		}
		if _, changed := normalize(t); changed {
			h.changed = append(h.changed, i)
		}
	}
}

// normalize returns t as the store keeps it: lower-case names, a last time
// for every first time (a sighting with no last time was last seen when
// first seen); changed is false when t is already so.
func normalize(t *pdns.Tuple) (c pdns.Tuple, changed bool) {
	name, bail := pdns.ASCIILower(t.RRName), pdns.ASCIILower(t.Bailiwick)
	if name == t.RRName && bail == t.Bailiwick && t.TimeLast >= t.TimeFirst && t.ZoneTimeLast >= t.ZoneTimeFirst {
		return pdns.Tuple{}, false
	}
	c = *t
	c.RRName, c.Bailiwick = name, bail
	c.TimeLast = max(c.TimeLast, c.TimeFirst)
	c.ZoneTimeLast = max(c.ZoneTimeLast, c.ZoneTimeFirst)
	return c, true
}

// AddNXDomain merges NXDOMAIN counters (store.NXDomainWriter).
func (db *DB) AddNXDomain(ctx context.Context, counts []store.NXCount) error {
	if err := db.usable(true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	names := 0
	for i := range counts {
		c := &counts[i]
		names += len(c.Name)
		if err := store.CheckName(c.Name); err != nil {
			return fmt.Errorf("%w: nxdomain %d: %v", store.ErrBadTuple, i, err)
		}
		if c.TimeFirst < 0 || c.TimeLast < 0 || c.TimeFirst > store.MaxTime || c.TimeLast > store.MaxTime {
			return fmt.Errorf("%w: nxdomain %d: time out of range", store.ErrBadTuple, i)
		}
	}
	var key, val []byte
	encodeNX := func(i int) {
		c := counts[i]
		if c.TimeLast < c.TimeFirst {
			c.TimeLast = c.TimeFirst
		}
		key = append(key[:0], tNX)
		key = appendRev(key, pdns.ASCIILower(c.Name))
		key = append(key, 0)
		val = appendNX(val[:0], &c)
	}
	if db.bulk > 0 && len(counts) >= db.bulk {
		// Room for every key (the name, its table byte and terminator)
		// and value (three varints) at most: an array that must grow is
		// copied whole, and the pages of what is not used are not
		// faulted in (kvSet).
		var set kvSet
		set.reset(names+len(counts)*(2+3*binary.MaxVarintLen64), len(counts))
		for i := range counts {
			encodeNX(i)
			set.add(key, val)
		}
		if set.err == nil {
			set.sort()
			return db.ingestSets(ctx, &set)
		}
		// Too large for one table: a batch after all.
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	for i := range counts {
		encodeNX(i)
		if err := b.Merge(key, val, nil); err != nil {
			return fmt.Errorf("pebble: %w", err)
		}
	}
	if err := db.commit(b); err != nil {
		return fmt.Errorf("pebble: commit: %w", err)
	}
	return nil
}

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic("pebble: fatal: " + msg)
}
