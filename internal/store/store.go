// Package store owns the contract between dnsscout and the databases that
// keep passive DNS tuples: the Backend interface every implementation
// satisfies (Pebble embedded, ClickHouse later), the optional abilities a
// backend may add (summaries, retention, statistics, export, NXDOMAIN
// counters, a small key-value area), the query model that the CLI and the
// DNSDB/CIRCL APIs translate their requests into, and the registry that
// opens a backend from a DSN. It does not implement storage itself
// (store/pebble does) and knows nothing of HTTP or packets.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// Errors of package store and of every backend (backends wrap these with
// %w so that callers, e.g. the API's status mapping, test with errors.Is).
var (
	// ErrBadQuery: the query is malformed or inconsistent (bad name, bad
	// address, a filter that does not apply to the lookup kind).
	ErrBadQuery = errors.New("store: bad query")
	// ErrBadCursor: the cursor was not produced by this backend.
	ErrBadCursor = errors.New("store: bad cursor")
	// ErrBadTuple: a tuple given to Upsert cannot be stored (empty or
	// malformed name, empty rdata).
	ErrBadTuple = errors.New("store: bad tuple")
	// ErrNotFound: a Meta key does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrUnsupported: the backend lacks the optional ability asked for.
	ErrUnsupported = errors.New("store: not supported by this backend")
	// ErrUnknownScheme: no backend is compiled in for a DSN's scheme.
	ErrUnknownScheme = errors.New("store: unknown store scheme")
	// ErrClosed: the backend was used after Close.
	ErrClosed = errors.New("store: closed")
	// ErrCorrupt: stored data could not be decoded.
	ErrCorrupt = errors.New("store: corrupt data")
	// ErrReadOnly: a write was attempted on a store opened read-only.
	ErrReadOnly = errors.New("store: opened read-only")
)

// Backend is the contract every passive DNS store implements.
type Backend interface {
	// Upsert merges tuples into the store: time_first = min (zero =
	// never), time_last = max, count = sum, zone times likewise, sensor ids
	// united, the first non-empty bailiwick kept (pdns.Tuple.Merge). It is
	// safe to call concurrently with other Upserts and with Lookups. Either
	// the whole batch is applied or, on error, none of it.
	Upsert(ctx context.Context, tuples []pdns.Tuple) error
	// Lookup streams the tuples matching q to fn in a stable order (the
	// same query over the same data yields the same sequence). It stops
	// after q.Limit tuples (0 = the backend's maximum) and returns a cursor
	// that resumes after the last tuple delivered, or "" when nothing is
	// left. An error from fn stops the lookup and is returned as is. fn may
	// keep the tuple.
	Lookup(ctx context.Context, q Query, fn func(*pdns.Tuple) error) (cursor string, err error)
	// Close releases the backend; further calls fail with ErrClosed.
	Close() error
}

// Optional abilities, found by type assertion. Package-level functions
// (Summarize, Export) fall back to Lookup when a backend lacks the native
// one.

// Summarizer answers summarize queries without producing records.
type Summarizer interface {
	// Summarize aggregates the tuples matching q (Limit caps the number of
	// tuples examined, Cursor and Offset are ignored). It stops early once
	// the summed count reaches maxCount (0 = no cap); like DNSDB's
	// max_count the final count may exceed it by the last tuple's count.
	Summarize(ctx context.Context, q Query, maxCount uint64) (Summary, error)
}

// Pruner deletes old tuples (retention).
type Pruner interface {
	// Prune deletes every tuple and NXDOMAIN counter last seen (the later
	// of time_last and zone_time_last) strictly before before.
	Prune(ctx context.Context, before time.Time) (PruneResult, error)
}

// StatsReporter describes the store.
type StatsReporter interface {
	Stats(ctx context.Context) (Stats, error)
}

// Exporter streams every tuple (backup, migration).
type Exporter interface {
	// Export calls fn for every tuple in a stable order. fn may keep the
	// tuple.
	Export(ctx context.Context, fn func(*pdns.Tuple) error) error
}

// Compacter reclaims space after deletes and brings the store to its
// smallest on-disk form.
type Compacter interface {
	Compact(ctx context.Context) error
}

// Tuples is a batch of tuples read by index: what a writer holds in its
// own form (an ingest's aggregate), handed to a TuplesUpserter without
// first being copied into a slice of tuples.
type Tuples interface {
	Len() int
	// At returns tuple i: scratch, filled in (valid until the next At
	// with the same scratch), or the tuple where it lives, which the
	// caller must not change. The strings and slices it sets stay valid
	// after the upsert returns. It is safe for concurrent use, each
	// goroutine with a scratch of its own.
	At(i int, scratch *pdns.Tuple) *pdns.Tuple
}

// TupleSlice is a slice of tuples as Tuples.
type TupleSlice []pdns.Tuple

func (s TupleSlice) Len() int                            { return len(s) }
func (s TupleSlice) At(i int, _ *pdns.Tuple) *pdns.Tuple { return &s[i] }

// AppendTuples appends the tuples of ts to dst.
func AppendTuples(dst []pdns.Tuple, ts Tuples) []pdns.Tuple {
	if s, ok := ts.(TupleSlice); ok {
		return append(dst, s...)
	}
	dst = slices.Grow(dst, ts.Len())
	var scratch pdns.Tuple
	for i := range ts.Len() {
		dst = append(dst, *ts.At(i, &scratch))
	}
	return dst
}

// TuplesUpserter upserts Tuples as Upsert does a slice, reading them
// where they are.
type TuplesUpserter interface {
	UpsertTuples(ctx context.Context, tuples Tuples) error
}

// Upserter is what UpsertTuples writes to.
type Upserter interface {
	Upsert(ctx context.Context, tuples []pdns.Tuple) error
}

// UpsertTuples upserts ts into u: natively when u is a TuplesUpserter,
// else as a slice (ts copied into one unless it is a TupleSlice).
func UpsertTuples(ctx context.Context, u Upserter, ts Tuples) error {
	if tu, ok := u.(TuplesUpserter); ok {
		return tu.UpsertTuples(ctx, ts)
	}
	if s, ok := ts.(TupleSlice); ok {
		return u.Upsert(ctx, s)
	}
	return u.Upsert(ctx, AppendTuples(nil, ts))
}

// NXDomainWriter counts NXDOMAIN answers per name, apart from records.
type NXDomainWriter interface {
	// AddNXDomain merges counts: count = sum, time_first = min, time_last =
	// max.
	AddNXDomain(ctx context.Context, counts []NXCount) error
}

// NXDomainReader looks NXDOMAIN counters up.
type NXDomainReader interface {
	// LookupNXDomain streams the counters of the names matching q (Kind
	// must be KindRRSet; the wildcards, time fences, Limit, Offset and
	// Cursor apply; type, bailiwick and rdata do not) in a stable order.
	LookupNXDomain(ctx context.Context, q Query, fn func(*NXCount) error) (cursor string, err error)
}

// MetaStore gives access to a small key-value area kept beside the
// tuples, for things that must live with the data (API keys and their
// quotas, schema notes).
type MetaStore interface {
	// Meta returns the key-value space named namespace (non-empty, no NUL
	// byte). Spaces are independent: the same key in two spaces is two
	// entries.
	Meta(namespace string) (Meta, error)
}

// Meta is one namespace of a MetaStore.
type Meta interface {
	// Get returns the value of key, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores value under key (durably, before it returns).
	Put(ctx context.Context, key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every key starting with prefix, in key order.
	List(ctx context.Context, prefix string, fn func(key string, value []byte) error) error
}

// NXCount is the NXDOMAIN tally of one name.
type NXCount struct {
	// Name is canonical (lower case, no trailing dot).
	Name      string
	Count     uint64
	TimeFirst int64 // Unix seconds; zero = unknown
	TimeLast  int64 // Unix seconds
}

// Merge folds o into c with the tuple semantics.
func (c *NXCount) Merge(o *NXCount) {
	c.Count += o.Count
	if c.TimeFirst == 0 || o.TimeFirst != 0 && o.TimeFirst < c.TimeFirst {
		c.TimeFirst = o.TimeFirst
	}
	c.TimeLast = max(c.TimeLast, o.TimeLast)
}

// PruneResult says what a Prune deleted.
type PruneResult struct {
	Tuples        int64
	NXDomainNames int64
}

// Stats describes a store.
type Stats struct {
	// Backend names the implementation ("pebble").
	Backend string
	// Location is where the data lives (a directory, a server).
	Location string
	// Tuples is the number of stored tuples.
	Tuples int64
	// Names is the number of distinct rrnames.
	Names int64
	// Count is the sum of the tuples' counts.
	Count uint64
	// BytesOnDisk is the space the store occupies.
	BytesOnDisk int64
	// ByType counts tuples per rrtype.
	ByType map[uint16]int64
	// NXDomainNames is the number of names with an NXDOMAIN counter.
	NXDomainNames int64
	// TimeFirst and TimeLast are the earliest and latest sightings (sensor
	// or zone), zero when the store is empty.
	TimeFirst, TimeLast int64
}

// Options configure Open. Each backend maps them onto its own options.
type Options struct {
	// Logger receives the backend's operational messages; nil discards them.
	Logger *slog.Logger
	// ReadOnly opens the store for lookups only (default false). Writes
	// fail with ErrReadOnly.
	ReadOnly bool
	// NoSync skips the fsync that makes each Upsert durable against a
	// machine crash (default false: every Upsert batch is synced). A killed
	// process loses nothing either way.
	NoSync bool
	// MaxLimit is the most results one Lookup returns, used for Limit 0 and
	// as the cap for larger limits (default 1,000,000; negative = no cap).
	MaxLimit int
	// CacheBytes is the size of the block cache (default 64 MiB).
	CacheBytes int64
	// MemTableBytes is the size of one memtable of an embedded store
	// (default 32 MiB; up to three are held). With CacheBytes it bounds
	// the memory the store keeps outside the Go heap.
	MemTableBytes uint64
}

// DefaultMaxLimit is Options.MaxLimit's default.
const DefaultMaxLimit = 1_000_000

// Driver opens one kind of backend.
type Driver struct {
	// Scheme is the DSN scheme it serves ("pebble", "clickhouse").
	Scheme string
	// Open opens the backend at location (the DSN with "scheme://" cut off,
	// or a plain directory for the directory default).
	Open func(ctx context.Context, location string, opts Options) (Backend, error)
}

var (
	driversMu sync.Mutex
	drivers   []Driver
)

// Register adds a backend driver. Backends call it from their package's
// init; the binary chooses the compiled-in backends by importing them.
// Registering a scheme twice panics (a programming error).
func Register(d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	for _, x := range drivers {
		if x.Scheme == d.Scheme {
			panic("store: driver registered twice: " + d.Scheme)
		}
	}
	drivers = append(drivers, d)
}

// Schemes lists the registered schemes in registration order.
func Schemes() []string {
	driversMu.Lock()
	defer driversMu.Unlock()
	var s []string
	for _, d := range drivers {
		s = append(s, d.Scheme)
	}
	return s
}

// knownSchemes are schemes dnsscout knows of even when their backend is not
// compiled into this binary, for a clearer error.
var knownSchemes = []string{"pebble", "clickhouse"}

// Open opens the store that dsn names: "pebble://DIR" or a plain directory
// path opens the embedded Pebble store (created when missing);
// "clickhouse://HOST:PORT/DB" is the ClickHouse backend (issue 6). A scheme
// whose backend is not compiled in fails with ErrUnknownScheme.
func Open(ctx context.Context, dsn string, opts Options) (Backend, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, fmt.Errorf("%w: empty DSN", ErrUnknownScheme)
	}
	scheme, loc, ok := strings.Cut(dsn, "://")
	if !ok {
		scheme, loc = "pebble", dsn
	}
	scheme = strings.ToLower(scheme)
	driversMu.Lock()
	i := slices.IndexFunc(drivers, func(d Driver) bool { return d.Scheme == scheme })
	var d Driver
	if i >= 0 {
		d = drivers[i]
	}
	driversMu.Unlock()
	if i < 0 {
		if slices.Contains(knownSchemes, scheme) {
			return nil, fmt.Errorf("%w: the %s backend is not compiled into this binary", ErrUnknownScheme, scheme)
		}
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownScheme, scheme, strings.Join(knownSchemes, ", "))
	}
	if loc == "" {
		return nil, fmt.Errorf("%w: %s DSN without a location", ErrUnknownScheme, scheme)
	}
	return d.Open(ctx, loc, opts)
}

// DefaultDir returns the default directory of the embedded store:
// $XDG_DATA_HOME/dnsscout/pdns, or ~/.local/share/dnsscout/pdns.
func DefaultDir() (string, error) { return DefaultDirFrom(os.Getenv) }

// DefaultDirFrom is DefaultDir reading the environment through getenv.
func DefaultDirFrom(getenv func(string) string) (string, error) {
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "dnsscout", "pdns"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("store: no default directory: neither XDG_DATA_HOME nor HOME is set")
	}
	return filepath.Join(home, ".local", "share", "dnsscout", "pdns"), nil
}
