package ingest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/ingest/dnstap"
	"github.com/dnsscout/dnsscout/internal/ingest/imports"
	"github.com/dnsscout/dnsscout/internal/ingest/live"
	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
	"github.com/dnsscout/dnsscout/internal/pages"
	"github.com/dnsscout/dnsscout/internal/pdns"
)

// Run ingests every source in order (files one after the other; dnstap
// listeners and live captures until ctx is done), flushing on the memory
// budget and every FlushInterval, and once more at the end, also when ctx
// was cancelled: a cancelled Run returns nil after a clean flush. Source
// arguments:
//
//	FILE, -             any of Formats, detected by content (gzip and
//	                    zstd unwrapped)
//	pcap:FILE           (likewise dnstap:, passivedns:, cof:, zone:) forces the format
//	dnstap:unix:PATH    Frame Streams listener on a Unix socket
//	dnstap:tcp:HOST:PORT  Frame Streams listener on TCP
//	live:IFACE          AF_PACKET capture on a network interface
//
// stdin is read for "-". A file that fails (unknown format, unsupported
// link type, an import with bad lines without Options.SkipBad) is reported
// through Options.Report and the others are read; Run then returns a
// *FailedError. A sink failure stops everything and is returned.
func (in *Ingester) Run(ctx context.Context, stdin io.Reader, sources ...string) error {
	if len(sources) == 0 {
		return fmt.Errorf("%w: no source", ErrSource)
	}
	var listeners, ifaces, files []string
	for _, s := range sources {
		switch {
		case isListener(s):
			listeners = append(listeners, strings.TrimPrefix(s, "dnstap:"))
		case strings.HasPrefix(s, "live:"):
			ifaces = append(ifaces, strings.TrimPrefix(s, "live:"))
		default:
			files = append(files, s)
		}
	}
	start := time.Now()
	in.mu.Lock()
	if in.start.IsZero() {
		in.start = start
	}
	start = in.start
	in.stats.Elapsed = 0
	in.mu.Unlock()
	stopTicker := in.startTicker(ctx, start)
	defer stopTicker()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg     sync.WaitGroup
		errMu  sync.Mutex
		first  error
		failed []error
	)
	fail := func(err error) {
		errMu.Lock()
		if first == nil {
			first = err
		}
		errMu.Unlock()
		cancel()
	}
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.listenDnstap(runCtx, l, nil); err != nil {
				fail(err)
			}
		}()
	}
	for _, ifname := range ifaces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.capture(runCtx, ifname, nil); err != nil {
				fail(err)
			}
		}()
	}
	// Files are hashed for the ledger, or to read a file given twice
	// once; with neither there is nothing to compare with.
	hashing := in.ledger != nil || len(files) > 1
	for _, f := range files {
		if runCtx.Err() != nil {
			break
		}
		err := in.readFile(runCtx, f, stdin, hashing)
		switch {
		case err == nil:
			continue
		case errors.Is(err, ErrSink):
			fail(err)
		case runCtx.Err() != nil && !errors.Is(err, ErrNotImported):
			// Stopping: what was read of a capture is kept.
		default:
			failed = append(failed, err)
			in.report(err)
		}
		if runCtx.Err() != nil {
			break
		}
	}
	wg.Wait()
	stopTicker()
	// Flush also after a cancel: that is what makes stopping clean. The
	// aggregate is emptied (its entries handed to the writer as they are):
	// a later Run would mostly see other tuples.
	flushErr := in.flush(ctx, true)
	in.mu.Lock()
	in.stats.Elapsed = time.Since(start)
	in.mu.Unlock()
	errMu.Lock()
	defer errMu.Unlock()
	switch {
	case first != nil:
		return first
	case flushErr != nil:
		return flushErr
	case len(failed) > 0:
		return &FailedError{Errs: failed, Total: len(files)}
	}
	return nil
}

// FailedError reports the file sources that failed, each reported through
// Options.Report as it failed; the others were read.
type FailedError struct {
	Errs  []error // one per failed source, each naming its file
	Total int     // file sources given
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("ingest: %d of %d sources failed", len(e.Errs), e.Total)
}

func (e *FailedError) Unwrap() []error { return e.Errs }

// report passes on a failed source or a bad line.
func (in *Ingester) report(err error) {
	if in.opt.Report != nil {
		in.opt.Report(err)
		return
	}
	in.log.Warn(err.Error())
}

// CheckSources validates source arguments before a run: known prefixes,
// listener addresses of the right shape, files that exist. Errors wrap
// ErrSource.
func CheckSources(sources []string) error {
	for _, src := range sources {
		switch {
		case src == "-":
			continue
		case strings.HasPrefix(src, "dnstap:unix:"), strings.HasPrefix(src, "dnstap:tcp:"):
			if strings.HasSuffix(src, ":") {
				return fmt.Errorf("%w: %q has no address", ErrSource, src)
			}
			continue
		case strings.HasPrefix(src, "live:"):
			if src == "live:" {
				return fmt.Errorf("%w: %q has no interface", ErrSource, src)
			}
			continue
		}
		_, name := cutPrefix(src)
		if name == "-" {
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSource, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("%w: %s is a directory", ErrSource, name)
		}
	}
	return nil
}

// startTicker flushes every FlushInterval until stopped.
func (in *Ingester) startTicker(ctx context.Context, start time.Time) func() {
	done := make(chan struct{})
	var once sync.Once
	t := time.NewTicker(in.opt.FlushInterval)
	go func() {
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := in.Flush(ctx); err != nil {
					in.log.Warn("periodic flush failed", "err", err)
				}
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// register makes a running source's counters visible to Stats; the
// returned function folds them in for good and unregisters.
func (in *Ingester) register(add func(*Stats)) func() {
	s := &sourceStats{add: add}
	in.srcMu.Lock()
	in.sources[s] = struct{}{}
	in.srcMu.Unlock()
	return func() {
		in.srcMu.Lock()
		delete(in.sources, s)
		in.srcMu.Unlock()
		in.mu.Lock()
		s.addTo(&in.stats)
		in.mu.Unlock()
	}
}

// readFile ingests one file (or stdin); with hashing, a regular file
// ingested before is skipped unless Options.Force (ledger.go).
func (in *Ingester) readFile(ctx context.Context, src string, stdin io.Reader, hashing bool) error {
	name, size, regular := ledgerFile(src)
	tracked := regular && hashing
	var sum [32]byte
	hashed := false
	if tracked && !in.opt.Force {
		skip, s, ok, err := in.seenBefore(ctx, name, size)
		if err != nil || skip {
			return err
		}
		sum, hashed = s, ok
	}
	var h *countedHash
	var tee io.Writer
	if tracked && !hashed {
		h = &countedHash{h: sha256.New()} // hashed as it is read
		tee = h
	}
	n, err := in.readOpened(ctx, src, stdin, tee)
	if err != nil || !tracked || ctx.Err() != nil {
		return err
	}
	switch {
	case hashed:
	case n == size && h.n == size:
		// The bytes hashed (read ahead of the decoding) are those
		// decoded, and the file's size at the start.
		copy(sum[:], h.h.Sum(nil))
	default:
		// The reader stopped before the end (bytes after a gzip stream),
		// or the file changed: hash it whole.
		if sum, size, err = digestFile(ctx, name); err != nil {
			return err
		}
	}
	in.ingestedFile(sum, name, size)
	return nil
}

// readOpened opens and reads one file (or stdin), passing the file's
// bytes to tee as they are read (when not nil), and returns how many were
// read once the file is closed.
func (in *Ingester) readOpened(ctx context.Context, src string, stdin io.Reader, tee io.Writer) (n int64, err error) {
	o, err := in.openSource(ctx, src, stdin, tee)
	if err != nil {
		return 0, err
	}
	defer func() {
		o.close()
		n = o.raw.n.Load()
	}()
	if o.empty {
		in.log.Warn("empty source", "source", o.name)
		return 0, nil
	}
	return 0, in.readSource(ctx, o)
}

// readSource reads an opened source by its format.
func (in *Ingester) readSource(ctx context.Context, o *openedSource) error {
	stopProgress := in.progress(o.name, o.raw, o.size)
	defer stopProgress()
	in.log.Debug("reading", "source", o.name, "format", o.format.Name, "compression", o.compression)
	if o.format.Import {
		return in.readImport(ctx, o)
	}
	err := o.format.Read(ctx, in, &Source{Name: o.name, R: o.r})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pcap.ErrTruncatedFile):
		in.log.Warn("capture file truncated; kept what was before", "source", o.name)
		return nil
	case errors.Is(err, ErrSink):
		return err
	}
	return fmt.Errorf("%s: %w", o.name, err)
}

// readImport reads a file of tuples another tool wrote into a stage, and
// commits it whole when it had no bad line, or with Options.SkipBad
// without its bad lines; otherwise nothing of it. Bad lines are reported
// (the first MaxReported) as they are met.
func (in *Ingester) readImport(ctx context.Context, o *openedSource) error {
	var st imports.Stats
	done := in.register(func(s *Stats) {
		x := st.Snapshot()
		s.Lines += x.Lines
		for i, n := range x.Skipped {
			if n > 0 {
				s.Malformed[imports.Reason(i).String()] += n
			}
		}
	})
	defer done()
	stg := newStage(in.opt.TempDir, in.stageBytes())
	defer stg.close()
	reported := 0
	lines := imports.Options{MaxLine: in.opt.MaxLine, Bad: func(e *imports.LineError) {
		if reported++; reported <= in.opt.MaxReported {
			in.report(fmt.Errorf("%s: %w", o.name, e))
		}
	}}
	err := o.format.Read(ctx, in, &Source{Name: o.name, R: o.r, Lines: lines, Stats: &st, Sink: stg})
	nbad := st.Bad()
	if more := int(nbad) - max(in.opt.MaxReported, 0); more > 0 && in.opt.MaxReported >= 0 {
		in.report(fmt.Errorf("%s: %d more bad lines not shown", o.name, more))
	}
	stopped := errors.Is(err, imports.ErrStopped) || errors.Is(err, pdns.ErrSAFTruncated) || errors.Is(err, pdns.ErrSAFFailed)
	switch {
	case err != nil && !stopped:
		if ctx.Err() != nil {
			return notImported(ctx.Err(), "%s: stopped before its end, nothing imported", o.name)
		}
		return notImported(err, "%s: %v, nothing imported", o.name, err)
	case (nbad > 0 || stopped) && !in.opt.SkipBad:
		hint := ""
		if stg.n > 0 {
			hint = fmt.Sprintf(" (--skip-bad imports %s)", goodRecords(stg.n))
		}
		return notImported(err, "%s: %s, nothing imported%s", o.name, badSummary(err, nbad), hint)
	case nbad > 0 || stopped:
		in.mu.Lock()
		in.stats.SkippedLines += nbad
		in.mu.Unlock()
		in.report(fmt.Errorf("%s: %s, imported %s (--skip-bad)", o.name, badSummary(err, nbad), goodRecords(stg.n)))
	}
	n, err := stg.replay(ctx, importSink{in: in})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrSink):
		return err
	case ctx.Err() != nil:
		return notImported(ctx.Err(), "%s: stopped while storing it, after %d of its %d records", o.name, n, stg.n)
	}
	return notImported(err, "%s: %v, after %d of its %d records", o.name, err, n, stg.n)
}

// sourceError is what went wrong with one source: a message for people
// (naming the file, without package prefixes), the sentinel it is, and
// its cause.
type sourceError struct {
	msg   string
	kind  error
	cause error
}

func sourceErr(kind, cause error, format string, a ...any) error {
	return &sourceError{msg: fmt.Sprintf(format, a...), kind: kind, cause: cause}
}

func notImported(cause error, format string, a ...any) error {
	return sourceErr(ErrNotImported, cause, format, a...)
}

func (e *sourceError) Error() string        { return e.msg }
func (e *sourceError) Unwrap() error        { return e.cause }
func (e *sourceError) Is(target error) bool { return target == e.kind }

func goodRecords(n int) string {
	if n == 1 {
		return "the 1 good record"
	}
	return fmt.Sprintf("the %d good records", n)
}

// badSummary says what was wrong with an import.
func badSummary(err error, nbad uint64) string {
	lines := fmt.Sprintf("%d bad lines", nbad)
	if nbad == 1 {
		lines = "1 bad line"
	}
	switch {
	case errors.Is(err, pdns.ErrSAFTruncated), errors.Is(err, pdns.ErrSAFFailed):
		what := strings.TrimPrefix(err.Error(), "pdns: ")
		if nbad > 0 {
			what += ", " + lines
		}
		return what
	case errors.Is(err, imports.ErrStopped):
		return "stopped at a bad record (a zone file cannot be read past one)"
	}
	return lines
}

// stageBytes is how much of an import is staged in memory before a
// temporary file takes it: an eighth of the budget, at most 64 MiB.
func (in *Ingester) stageBytes() int {
	return int(min(max(in.opt.Memory/8, 256<<10), 64<<20))
}

// readAhead reads from r on its own goroutine, a few buffers ahead, so
// that decompressing a gzip source overlaps decoding it: on bench/ingest's
// capture gzip-compressed (76 MB to 22 MB), gunzip costs 0.2 s of CPU,
// which the decoding stage otherwise waits for: a whole ingest took 0.56 s
// against 0.40 s for the plain capture, 0.51 s with readAhead.
type readAhead struct {
	ctx       context.Context
	interrupt func()
	wait      bool
	closeOnce sync.Once
	chunks    chan readChunk
	free      chan []byte
	done      chan struct{}
	exited    chan struct{}
	cur       readChunk
	buf       []byte // the buffer of cur, returned to free once read
}

type readChunk struct {
	b   []byte
	err error
}

const (
	readAheadBuf   = 256 << 10
	readAheadDepth = 4
)

// newReadAhead reads r ahead on a goroutine until Close; Read returns
// ctx's error once ctx is done, whatever the goroutine is doing.
//
// With fill, every buffer is filled (r is a decompressor over a regular
// file, whose reads return by themselves) and Close waits for the
// goroutine, so that r may be closed after. Without it (a pipe), what a
// read brings is passed on at once; interrupt, if set, makes a read in
// progress return (it closes a polled file) and Close calls it and waits,
// else Close abandons a read that may never return (stdin).
func newReadAhead(ctx context.Context, r io.Reader, interrupt func(), fill bool) *readAhead {
	ra := &readAhead{
		ctx:       ctx,
		interrupt: interrupt,
		wait:      fill || interrupt != nil,
		chunks:    make(chan readChunk, readAheadDepth),
		// Room for every buffer there can be (those queued, the one
		// being filled, the one being read): with one place less, a
		// reader that fell behind had the sixth buffer dropped and
		// made anew when it caught up, 9-24 buffers on bench/ingest.
		free:   make(chan []byte, readAheadDepth+2),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go func() {
		defer close(ra.exited)
		for {
			var buf []byte
			select {
			case buf = <-ra.free:
			default:
				buf = make([]byte, readAheadBuf)
				pages.Touch(buf) // the kernel's copy would fault each page
			}
			var n int
			var err error
			if fill {
				n, err = io.ReadFull(r, buf[:cap(buf)])
				if err == io.ErrUnexpectedEOF {
					err = io.EOF
				}
			} else {
				n, err = r.Read(buf[:cap(buf)])
			}
			select {
			case ra.chunks <- readChunk{b: buf[:n], err: err}:
			case <-ra.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur.b) == 0 {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.buf != nil {
			select {
			case ra.free <- ra.buf:
			default:
			}
		}
		select {
		case ra.cur = <-ra.chunks:
		case <-ra.ctx.Done():
			return 0, ra.ctx.Err()
		}
		ra.buf = ra.cur.b
	}
	n := copy(p, ra.cur.b)
	ra.cur.b = ra.cur.b[n:]
	return n, nil
}

// Close stops the reading goroutine (the reader is not read after).
func (ra *readAhead) Close() {
	ra.closeOnce.Do(func() {
		close(ra.done)
		if ra.interrupt != nil {
			ra.interrupt()
		}
		if ra.wait {
			<-ra.exited
		}
	})
}

// countedHash is a hash that counts the bytes written to it. It is read
// after the reader that writes it has stopped.
type countedHash struct {
	h hash.Hash
	n int64
}

func (c *countedHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress reports bytes read to Options.Progress until stopped.
func (in *Ingester) progress(name string, c *countingReader, size int64) func() {
	if in.opt.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				in.opt.Progress(name, c.n.Load(), size)
				return
			case <-t.C:
				in.opt.Progress(name, c.n.Load(), size)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// newDecoder returns a packet decoder feeding the ingester, registered for
// Stats until done is called.
func (in *Ingester) newDecoder(ctx context.Context) (d *pcap.Decoder, done func()) {
	d = pcap.NewDecoder(in.decoderOptions(), func(m *pcap.Message) error {
		in.mu.Lock()
		in.messageLocked(m.Time, m.Data, nil, originOf(m.Port))
		jobs := in.dueLocked()
		in.mu.Unlock()
		return in.submit(jobs)
	})
	return d, in.register(func(s *Stats) { st := d.Stats(); s.addPcap(&st) })
}

// readPcap decodes a capture file.
func (in *Ingester) readPcap(ctx context.Context, r *bufio.Reader) error {
	d, done := in.newDecoder(ctx)
	defer done()
	return pcap.Read(ctx, r, d)
}

// capture decodes live traffic of an interface until ctx is done. ready,
// if set, is called once the capture runs.
func (in *Ingester) capture(ctx context.Context, ifname string, ready func()) error {
	d, done := in.newDecoder(ctx)
	defer done()
	st, err := live.Capture(ctx, live.Options{Interface: ifname, Ports: in.opt.Ports, AnyPort: in.opt.AnyPort, Logger: in.log}, d, ready)
	if st.Drops > 0 {
		in.mu.Lock()
		in.stats.Malformed["packets dropped by the kernel (capture ring full)"] += st.Drops
		in.mu.Unlock()
	}
	return err
}

// dnstapOptions converts the type names (validated by New).
func (in *Ingester) dnstapOptions() dnstap.Options {
	var o dnstap.Options
	for _, n := range in.opt.DnstapTypes {
		t, _ := dnstap.ParseType(n)
		o.Types = append(o.Types, t)
	}
	o.MaxFrame = in.opt.MaxFrame
	o.Logger = in.log
	return o
}

func (in *Ingester) dnstapHandler(ctx context.Context) dnstap.Handler {
	return func(ts int64, msg, zone []byte) error {
		var zw []byte
		if len(zone) > 0 {
			zw = lowerWire(zone)
		}
		in.mu.Lock()
		in.messageLocked(ts, msg, zw, originDNS)
		jobs := in.dueLocked()
		in.mu.Unlock()
		return in.submit(jobs)
	}
}

func (in *Ingester) registerDnstap(st *dnstap.Stats) func() {
	return in.register(func(s *Stats) {
		x := st.Snapshot()
		s.Frames += x.Frames
		s.FramesSkipped += x.Skipped
		if x.Malformed > 0 {
			s.Malformed["dnstap frame not a Dnstap protobuf"] += x.Malformed
		}
		if x.TooLarge > 0 {
			s.Malformed["dnstap frame too large"] += x.TooLarge
		}
	})
}

func (in *Ingester) readDnstap(ctx context.Context, r io.Reader) error {
	var st dnstap.Stats
	done := in.registerDnstap(&st)
	defer done()
	return dnstap.Read(ctx, r, in.dnstapOptions(), &st, in.dnstapHandler(ctx))
}

// listenDnstap serves a Frame Streams socket until ctx is done. ready, if
// set, learns the bound address.
func (in *Ingester) listenDnstap(ctx context.Context, address string, ready func(net.Addr)) error {
	var st dnstap.Stats
	done := in.registerDnstap(&st)
	defer done()
	return dnstap.Listen(ctx, address, in.dnstapOptions(), &st, in.dnstapHandler(ctx), ready)
}

// lowerWire validates a wire name from outside (dnstap query_zone) and
// returns it lower-cased, or nil when it is not a valid uncompressed name.
func lowerWire(b []byte) []byte {
	out, next, e := appendName(nil, b, 0)
	if e != wireOK || next != len(b) {
		return nil
	}
	// appendName follows pointers; an uncompressed name has none, so
	// equal lengths mean the name was read as is.
	if len(out) != len(b) {
		return nil
	}
	return out
}

// importSink adapts the ingester to imports.Sink.
type importSink struct {
	in *Ingester
}

// Tuple takes a tuple of a staged import, which passed store.CheckTuple
// when it was read (Ingester.Tuple would check it again).
func (s importSink) Tuple(t *pdns.Tuple) error {
	in := s.in
	in.mu.Lock()
	in.queueTuple(t)
	jobs := in.dueLocked()
	in.mu.Unlock()
	return in.submit(jobs)
}

func (s importSink) NXDomain(name string, ts int64, count uint64) error {
	in := s.in
	in.mu.Lock()
	in.stats.NXDomain += count
	key := append(in.key[:0], 0xff)
	key = append(key, name...)
	in.key = key
	in.nx.add(key, ts, count, func() string { return name })
	jobs := in.dueLocked()
	in.mu.Unlock()
	return in.submit(jobs)
}
