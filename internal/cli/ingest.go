package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/ingest"
	"github.com/dnsscout/dnsscout/internal/ingest/remote"
	"github.com/dnsscout/dnsscout/internal/pages"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble" // ErrLocked
)

func init() { subcommands = append(subcommands, newIngestCmd) }

type ingestFlags struct {
	db              string
	to              string
	key             string
	sensorID        string
	ports           []string
	anyPort         bool
	anyPortQs       int
	decapDepth      int
	memory          string
	interfaces      []string
	dnstapTypes     []string
	zoneOrigin      string
	flushInterval   time.Duration
	batch           int
	progress        string
	quiet           bool
	verbose         bool
	skipBad         bool
	force           bool
	showBad         int
	maxLine         string
	maxFrame        string
	maxRatio        float64
	maxDecompressed string
}

func newIngestCmd(e *env) *cobra.Command {
	var f ingestFlags
	cmd := &cobra.Command{
		Use:   "ingest [flags] SOURCE...",
		Short: "Collect passive DNS from captures, dnstap and existing logs into the store",
		Long: `ingest reads DNS responses and folds every record it may keep (the bailiwick
rule, docs/ingest.md) into (rrname, rrtype, rdata) tuples with first/last
seen times and counts, written to the passive DNS store in batches.

A FILE (- is standard input) is read by the first format its first bytes
parse as (gzip and zstd are unwrapped), or by the one its prefix names:
` + ingest.FormatHelp() + `A file no format takes is reported with what it looks like, and skipped.
Other sources:
  dnstap:unix:PATH           listen for dnstap (Frame Streams) on a Unix socket
  dnstap:tcp:HOST:PORT       listen for dnstap on TCP
--interface NAME captures live traffic with AF_PACKET (needs CAP_NET_RAW).
Captures may be tunnelled (VXLAN, GENEVE, GRE, ERSPAN, MPLS, QinQ, PPPoE, GTP-U,
Teredo, IP in IP) or of link type NFLOG, 802.11 (bare, radiotap, Prism, AVS,
PPI), pflog, PKTAP, ipnet, FDDI or ATM. mDNS (5353) and LLMNR (5355) answers are
local names: they are stored under the sensor ids SENSOR/mdns and SENSOR/llmnr,
never as global DNS.

A file whose content was ingested before (its SHA-256 is kept in the store
once its ingest is committed) is skipped with a notice, unless --force;
standard input, FIFOs and live sources are not hashed.

Imports (passivedns, cof, zeek, eve, zone) are committed whole or not at all: a file
with a bad line (reported with its number) stores nothing, unless
--skip-bad, which stores its good records. Every line, frame and
decompressed byte is bounded (--max-line, --max-frame, --max-ratio,
--max-decompressed). The store is opened at the first write, so that
other commands can use it while ingest waits for its sources; when the
first file is a non-empty regular file read without --force, it is held
from its ledger check on, before that file is read.

Exit status: 0 all read; 1 failed (every file failed, or the store did);
2 usage; 4 some files failed, the others were ingested; 5 bad lines were
skipped (--skip-bad), all else was ingested.

Listeners and live captures run until SIGINT or SIGTERM; everything collected
is flushed before exit. SIGUSR1 prints the statistics to stderr; they are
printed at the end too (unless --quiet). Client addresses are never stored.`,
		Example: `  dnsscout ingest capture.pcap.gz
  dnsscout ingest --db /var/lib/dnsscout --sensor-id edge1 --interface eth0
  dnsscout ingest dnstap:unix:/run/dnsscout/dnstap.sock --dnstap-types resolver-response,client-response
  tcpdump -w - port 53 | dnsscout ingest -
  dnsscout ingest --dns-ports 53,8053 --dns-any-port mirror.pcapng
  dnsscout ingest passivedns.log export.ndjson.zst example.com.zone
  dnsscout ingest --sensor-id zeek1 /opt/zeek/logs/current/dns.log eve.json
  dnsscout ingest --force capture.pcap.gz
  dnsscout ingest --skip-bad zone:db.example.com
  dnsscout ingest --to https://pdns.example.net --key "$DNSSCOUT_KEY" --interface eth0`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd.Context(), e, &f, args)
		},
	}
	fl := cmd.Flags()
	addDBFlag(fl, &f.db)
	fl.StringVar(&f.to, "to", "", "send tuples and NXDOMAIN counters to a dnsscout server `URL` (POST /api/v1/ingest, /api/v1/ingest/nxdomain) instead of the local store")
	fl.StringVar(&f.key, "key", "", "API key with the ingest permission for --to (default $DNSSCOUT_KEY)")
	fl.StringVar(&f.sensorID, "sensor-id", "", "sensor id recorded with every tuple (default: the host name)")
	fl.StringSliceVar(&f.ports, "dns-ports", []string{"53", "5353", "5355"}, "DNS server ports of captures (comma-separated; 853, DNS over TLS, cannot be decoded)")
	fl.StringSliceVar(&f.ports, "ports", []string{"53", "5353", "5355"}, "the old name of --dns-ports")
	_ = fl.MarkHidden("ports")
	fl.BoolVar(&f.anyPort, "dns-any-port", false, "also take DNS responses on any other UDP port that match a query seen on the reverse flow")
	fl.IntVar(&f.anyPortQs, "dns-any-port-queries", 65536, "queries remembered per capture for --dns-any-port")
	fl.IntVar(&f.decapDepth, "decap-depth", 4, "most nested encapsulations taken apart (VXLAN in GENEVE counts 2)")
	fl.StringVar(&f.memory, "memory", "256MiB", "memory budget of the whole process, shared between the store's cache and memtables, the runtime and the Go heap (the aggregate is flushed at half of the heap's share), e.g. 128MiB, 1GiB")
	fl.StringArrayVarP(&f.interfaces, "interface", "i", nil, "capture live on this network interface (repeatable)")
	fl.StringSliceVar(&f.dnstapTypes, "dnstap-types", []string{"resolver-response"}, "dnstap message types to use: resolver-response, client-response, auth-response, forwarder-response, stub-response, tool-response")
	fl.StringVar(&f.zoneOrigin, "zone-origin", "", "origin of zone files without $ORIGIN (default: guessed from the file name)")
	fl.DurationVar(&f.flushInterval, "flush-interval", 30*time.Second, "flush to the store at least this often")
	fl.IntVar(&f.batch, "batch", 0, "tuples per store write (default: one per KiB of the aggregate's share of --memory, 10,000 to 100,000)")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar for files: auto (when stderr is a terminal), always, never")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not print the statistics at the end")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log debug messages to stderr")
	fl.BoolVar(&f.force, "force", false, "read files whose content was ingested before (by default they are skipped with a notice: their SHA-256 is kept in the store)")
	fl.BoolVar(&f.skipBad, "skip-bad", false, "import the good records of a file with bad lines (default: such a file stores nothing)")
	fl.IntVar(&f.showBad, "show-bad", 10, "bad lines reported per file (the others are counted)")
	fl.StringVar(&f.maxLine, "max-line", "1MiB", "longest line of an import (longer ones are bad lines; in a zone file, the end)")
	fl.StringVar(&f.maxFrame, "max-frame", "256KiB", "largest dnstap frame (larger ones are skipped and counted)")
	fl.Float64Var(&f.maxRatio, "max-ratio", 100, "stop a gzip or zstd file that decompresses to more than this many times its size (0: no limit)")
	fl.StringVar(&f.maxDecompressed, "max-decompressed", "64GiB", "stop a gzip or zstd file whose content is larger (0: no limit)")
	return cmd
}

// options turns the flags into ingest options (usage errors for bad
// values) and the source list.
func (f *ingestFlags) options(args []string) (ingest.Options, []string, int64, error) {
	var o ingest.Options
	if len(args) == 0 && len(f.interfaces) == 0 {
		return o, nil, 0, usageError("ingest: give at least one SOURCE or --interface")
	}
	ports, err := parsePorts(f.ports)
	if err != nil {
		return o, nil, 0, usageError("ingest: --dns-ports: %v", err)
	}
	if f.anyPortQs < 1 || f.decapDepth < 1 {
		return o, nil, 0, usageError("ingest: --dns-any-port-queries and --decap-depth must be at least 1")
	}
	sizes := map[string]*int64{"memory": new(int64), "max-line": new(int64), "max-frame": new(int64), "max-decompressed": new(int64)}
	for name, v := range map[string]string{"memory": f.memory, "max-line": f.maxLine, "max-frame": f.maxFrame, "max-decompressed": f.maxDecompressed} {
		if *sizes[name], err = parseSize(v); err != nil {
			return o, nil, 0, usageError("ingest: --%s: %v", name, err)
		}
	}
	mem := *sizes["memory"]
	switch {
	case f.progress != "auto" && f.progress != "always" && f.progress != "never":
		return o, nil, 0, usageError("ingest: --progress must be auto, always or never, not %q", f.progress)
	case f.flushInterval <= 0:
		return o, nil, 0, usageError("ingest: --flush-interval must be positive")
	case mem < 16<<20:
		return o, nil, 0, usageError("ingest: --memory must be at least 16MiB")
	case *sizes["max-line"] > 1<<30 || *sizes["max-frame"] > 1<<30:
		return o, nil, 0, usageError("ingest: --max-line and --max-frame must be at most 1GiB")
	case f.maxRatio < 0 || f.showBad < 0:
		return o, nil, 0, usageError("ingest: --max-ratio and --show-bad must not be negative")
	}
	sources := append([]string(nil), args...)
	for _, i := range f.interfaces {
		sources = append(sources, "live:"+i)
	}
	if err := ingest.CheckSources(sources); err != nil {
		return o, nil, 0, usageError("%v", err)
	}
	o = ingest.Options{
		SensorID:        f.sensorID,
		BatchSize:       f.batch,
		FlushInterval:   f.flushInterval,
		Ports:           ports,
		AnyPort:         f.anyPort,
		AnyPortQueries:  f.anyPortQs,
		DecapDepth:      f.decapDepth,
		DnstapTypes:     f.dnstapTypes,
		ZoneOrigin:      f.zoneOrigin,
		MaxLine:         int(*sizes["max-line"]),
		MaxFrame:        int(*sizes["max-frame"]),
		MaxRatio:        noLimit(f.maxRatio),
		MaxDecompressed: int64(noLimit(float64(*sizes["max-decompressed"]))),
		SkipBad:         f.skipBad,
		Force:           f.force,
		MaxReported:     f.showBad,
	}
	if f.showBad == 0 {
		o.MaxReported = -1
	}
	return o, sources, mem, nil
}

// memoryBudget is how --memory is shared out.
type memoryBudget struct {
	heap     int64  // the Go heap limit (the aggregate is flushed at half of it)
	cache    int64  // the store's block cache (C memory, outside the Go heap)
	memTable uint64 // one of the store's memtables (C memory, up to three)
}

// runtimeOverhead is what the process holds besides the Go heap and the
// store: code, stacks, the runtime's own structures (an ingest of an
// empty file peaks at 42 MiB).
const runtimeOverhead = 40 << 20

// minHeap is the smallest Go heap that ingest works in without the
// garbage collector running all the time (measured: with 16 MiB, a
// 2,000,000-line import took 3.5 times the CPU).
const minHeap = 32 << 20

// splitMemory shares --memory out so that the whole process stays within
// it: the embedded store gets a thirty-second for its cache and three
// memtables of a sixty-fourth each (within 2-64 MiB and 1-32 MiB; ingest
// writes large batches as tables, past the memtables), the runtime its
// overhead, the Go heap the rest, but at least minHeap. Measured (docs/
// ingest.md): within --memory at 256 MiB, a few per cent over at 128 MiB;
// below, the fixed part of the process takes over.
func splitMemory(mem int64) memoryBudget {
	b := memoryBudget{cache: min(max(mem/32, 2<<20), 64<<20), memTable: uint64(min(max(mem/64, 1<<20), 32<<20))}
	b.heap = max(mem-b.cache-3*int64(b.memTable)-runtimeOverhead, minHeap)
	return b
}

// noLimit maps a flag's 0 ("no limit") to the option's negative value.
func noLimit(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
}

func runIngest(ctx context.Context, e *env, f *ingestFlags, args []string) error {
	opts, sources, mem, err := f.options(args)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, f.verbose)
	opts.Logger = log
	budget := splitMemory(mem)
	debug.SetMemoryLimit(budget.heap)
	// Huge pages for the aggregate, the flushes and the bulk writes when
	// the ingest ends by itself, with its files (docs/ingest.md, "Ninth
	// round"); not in one that runs until stopped (see pages.SetHuge).
	pages.SetHuge(e.hugePages && ingest.Finite(sources))
	opts.Memory = budget.heap / 2
	bar := newProgress(e, f.progress)
	if bar != nil {
		opts.Progress = fileProgress(bar)
	}
	var reportMu sync.Mutex
	opts.Report = func(err error) {
		reportMu.Lock()
		defer reportMu.Unlock()
		bar.clear()
		fmt.Fprintf(e.stderr, "dnsscout: ingest: %v\n", err)
	}
	opts.Notice = func(msg string) {
		reportMu.Lock()
		defer reportMu.Unlock()
		bar.clear()
		fmt.Fprintf(e.stderr, "dnsscout: ingest: %s\n", msg)
	}
	sink, closeSink, err := openIngestSink(ctx, e, f, budget, log, sources)
	if err != nil {
		return err
	}
	defer closeSink()
	in, err := ingest.New(sink, opts)
	if err != nil {
		if errors.Is(err, ingest.ErrOptions) {
			return usageError("%v", err)
		}
		return err
	}
	stopUSR1 := onSIGUSR1(func() {
		st := in.Stats()
		bar.clear()
		st.WriteTo(e.stderr)
	})
	runErr := in.Run(ctx, e.stdin, sources...)
	if err := in.Close(ctx); runErr == nil {
		runErr = err
	}
	stopUSR1()
	bar.clear()
	st := in.Stats()
	var fe *ingest.FailedError
	allFailed := errors.As(runErr, &fe) && len(fe.Errs) == fe.Total && len(f.interfaces) == 0 && !hasListener(sources)
	if !f.quiet && !allFailed {
		st.WriteTo(e.stderr)
	}
	if err := closeSink(); err != nil && runErr == nil {
		runErr = fmt.Errorf("ingest: %w", err)
	}
	return ingestExit(runErr, fe, allFailed, st)
}

// ingestExit maps what happened to the exit status (README, "Exit codes").
func ingestExit(runErr error, fe *ingest.FailedError, allFailed bool, st ingest.Stats) error {
	switch {
	case fe != nil && allFailed:
		// Each failure was reported as it happened.
		return &exitError{code: ExitError, err: runErr, quiet: fe.Total == 1}
	case fe != nil:
		return &exitError{code: ExitPartial, err: fmt.Errorf("%w; the others were ingested", runErr)}
	case runErr != nil && errors.Is(runErr, ingest.ErrSource):
		return usageError("%v", runErr)
	case runErr != nil:
		return runErr
	case st.SkippedLines > 0:
		what := fmt.Sprintf("%d bad import lines", st.SkippedLines)
		if st.SkippedLines == 1 {
			what = "1 bad import line"
		}
		return &exitError{code: ExitSkipped, err: fmt.Errorf("ingest: %s skipped (--skip-bad)", what)}
	}
	return nil
}

func hasListener(sources []string) bool {
	for _, s := range sources {
		if ingest.IsLive(s) {
			return true
		}
	}
	return false
}

// openIngestSink returns where tuples go: a remote server through an
// on-disk spool (at-least-once delivery; the merge is idempotent), or the
// local store, opened at its first write or when ingest first asks its
// ledger (lazyStore). closeSink may be called more than once.
func openIngestSink(ctx context.Context, e *env, f *ingestFlags, budget memoryBudget, log *slog.Logger, sources []string) (ingest.Sink, func() error, error) {
	if f.to != "" {
		key := f.key
		if key == "" {
			key = e.getenv("DNSSCOUT_KEY")
		}
		rs, err := remote.NewSink(remote.Options{URL: f.to, Key: key, Logger: log})
		if err != nil {
			return nil, nil, usageError("ingest: --to: %v", err)
		}
		var once sync.Once
		return rs, func() error { once.Do(func() { rs.Close(context.WithoutCancel(ctx)) }); return nil }, nil
	}
	dsn, err := storeDSN(e, "ingest: ", f.db)
	if err != nil {
		return nil, nil, err
	}
	so := store.Options{Logger: log, CacheBytes: budget.cache, MemTableBytes: budget.memTable}
	ls, err := newLazyStore(ctx, e, dsn, so, ingest.ChecksLedgerFirst(sources, f.force))
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: %w", err)
	}
	if ls.nx {
		return lazyNXStore{ls}, ls.Close, nil
	}
	return ls, ls.Close, nil
}

// lazyStore opens the store at its first use (a write, or a question to
// its ledger), so that the store's lock is not held while ingest opens
// and identifies its sources, or waits for them (a FIFO without a writer,
// a quiet pipe, a listener): until ingest has something to write, other
// commands can use the store.
type lazyStore struct {
	e    *env
	dsn  string
	opts store.Options
	nx   bool // the backend keeps NXDOMAIN counters

	mu     sync.Mutex
	db     store.Backend
	err    error
	closed bool
}

// newLazyStore checks that the store opens (and is not in use) and what
// it can do, and closes it again, unless keep: when ingest asks the
// ledger about its first file before reading anything
// (ingest.ChecksLedgerFirst), which opens the store at once, closing and
// opening it again would only cost time (8-10 ms of every run on the
// development machine, with the store's fsyncs).
func newLazyStore(ctx context.Context, e *env, dsn string, opts store.Options, keep bool) (*lazyStore, error) {
	db, err := openStore(ctx, e, "ingest: ", dsn, opts)
	if err != nil {
		return nil, err
	}
	_, nx := db.(store.NXDomainWriter)
	l := &lazyStore{e: e, dsn: dsn, opts: opts, nx: nx}
	if keep {
		l.db = db
		return l, nil
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	return l, nil
}

// lockWait is how long the first write waits for another process (a
// query, pdns stats) to let go of the store.
const lockWait = 30 * time.Second

func (l *lazyStore) get(ctx context.Context) (store.Backend, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db != nil || l.err != nil {
		return l.db, l.err
	}
	if l.closed {
		return nil, errors.New("store closed")
	}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		l.db, l.err = openStore(context.WithoutCancel(ctx), l.e, "ingest: ", l.dsn, l.opts)
		if !errors.Is(l.err, pebble.ErrLocked) || time.Since(start) > lockWait {
			return l.db, l.err
		}
		if l.opts.Logger != nil && time.Since(start) < 100*time.Millisecond {
			l.opts.Logger.Warn("the store is in use by another process; waiting for it", "wait", lockWait)
		}
	}
}

func (l *lazyStore) Upsert(ctx context.Context, tuples []pdns.Tuple) error {
	db, err := l.get(ctx)
	if err != nil {
		return err
	}
	return db.Upsert(ctx, tuples)
}

// The ingest's writes reach a backend's UpsertTuples through these.
var (
	_ store.TuplesUpserter = (*lazyStore)(nil)
	_ store.TuplesUpserter = lazyNXStore{}
)

// UpsertTuples implements store.TuplesUpserter, natively when the
// backend does.
func (l *lazyStore) UpsertTuples(ctx context.Context, tuples store.Tuples) error {
	db, err := l.get(ctx)
	if err != nil {
		return err
	}
	return store.UpsertTuples(ctx, db, tuples)
}

// IngestedSize implements store.IngestLedger: it opens the store (a file
// is checked before it is read). A backend without a ledger has seen no
// file.
func (l *lazyStore) IngestedSize(ctx context.Context, size int64) (bool, error) {
	db, err := l.get(ctx)
	if err != nil {
		return false, err
	}
	if led, ok := store.LedgerOf(db); ok {
		return led.IngestedSize(ctx, size)
	}
	return false, nil
}

// IngestedFile implements store.IngestLedger.
func (l *lazyStore) IngestedFile(ctx context.Context, sum [32]byte) (store.IngestedFile, error) {
	db, err := l.get(ctx)
	if err != nil {
		return store.IngestedFile{}, err
	}
	if led, ok := store.LedgerOf(db); ok {
		return led.IngestedFile(ctx, sum)
	}
	return store.IngestedFile{}, store.ErrNotFound
}

// RecordIngested implements store.IngestLedger.
func (l *lazyStore) RecordIngested(ctx context.Context, files []store.IngestedFile) error {
	db, err := l.get(ctx)
	if err != nil {
		return err
	}
	if led, ok := store.LedgerOf(db); ok {
		return led.RecordIngested(ctx, files)
	}
	return nil
}

// Close closes the store if it was opened; later calls do nothing.
func (l *lazyStore) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.db == nil {
		return nil
	}
	db := l.db
	l.db = nil
	return db.Close()
}

// lazyNXStore is a lazyStore whose backend keeps NXDOMAIN counters.
type lazyNXStore struct{ *lazyStore }

func (l lazyNXStore) AddNXDomain(ctx context.Context, counts []store.NXCount) error {
	db, err := l.get(ctx)
	if err != nil {
		return err
	}
	return db.(store.NXDomainWriter).AddNXDomain(ctx, counts)
}

// onSIGUSR1 calls fn on every SIGUSR1 until the returned stop is called.
func onSIGUSR1(fn func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ch:
				fn()
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(ch)
		close(done)
		wg.Wait()
	}
}

// fileProgress draws ingest's bar on line: the file being read, how much
// of it (with a bar when its size is known), and the read rate.
func fileProgress(line *progress) func(name string, done, total int64) {
	var mu sync.Mutex
	var current string
	var start time.Time
	return func(name string, done, total int64) {
		mu.Lock()
		if name != current {
			current, start = name, time.Now()
		}
		began := start
		mu.Unlock()
		const width = 30
		text := fmt.Sprintf("%s  %s", name, formatBytes(done))
		if total > 0 {
			frac := min(1, float64(done)/float64(total))
			n := int(frac * width)
			text = fmt.Sprintf("%s  [%s%s] %3.0f%%  %s / %s", name, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, formatBytes(done), formatBytes(total))
		}
		if secs := time.Since(began).Seconds(); secs > 0 {
			text += fmt.Sprintf("  %s/s", formatBytes(int64(float64(done)/secs)))
		}
		line.draw(text)
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// parsePorts reads port numbers (1-65535), possibly comma-separated.
func parsePorts(list []string) ([]uint16, error) {
	var out []uint16
	for _, item := range list {
		for _, s := range strings.Split(item, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			n, err := strconv.ParseUint(s, 10, 16)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("bad port %q", s)
			}
			out = append(out, uint16(n))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no port")
	}
	return out, nil
}

// parseSize reads a byte size: a number with an optional unit (K, M, G,
// KiB, MiB, GiB, KB, MB, GB; all binary multiples).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("bad size unit in %q", s)
	}
	if v*mult > 1<<50 {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return int64(v * mult), nil
}
