// Package remote is the sending side of remote sensors: a Sink for
// package ingest that writes each batch of tuples to a bounded on-disk
// spool and POSTs it to a dnsscout server's /api/v1/ingest (COF NDJSON,
// gzip; NXDOMAIN counters go to /api/v1/ingest/nxdomain the same way),
// retrying with exponential backoff until the server has it. A batch
// leaves the spool only when the server confirmed it, so neither a
// server restart nor a sensor restart loses data: batches spooled by an
// earlier run are sent by the next one.
//
// Delivery is at least once. Every batch carries an Idempotency-Key (its
// spool name); the server remembers applied keys, so a batch resent
// because its answer was lost is not merged twice. Times merge
// idempotently anyway (min/max); only counts could double, and only if the
// server crashed between applying a batch and recording its key.
//
// It owns the spool format and the retry policy; it does not aggregate
// (package ingest does) nor store anything (the server does).
package remote

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/durable"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Errors of package remote.
var (
	// ErrOptions: an Options field is invalid.
	ErrOptions = errors.New("remote: bad options")
	// ErrSpoolFull: the spool stayed full for Options.FullWait (the
	// server is unreachable or slower than the sensor).
	ErrSpoolFull = errors.New("remote: spool full")
	// ErrSpoolLocked: another process uses the spool directory.
	ErrSpoolLocked = errors.New("remote: spool directory in use by another process")
	// ErrClosed: the sink was used after Close.
	ErrClosed = errors.New("remote: sink closed")
)

// IngestPath is the server endpoint batches of tuples are posted to,
// NXDomainPath the one for NXDOMAIN counters.
const (
	IngestPath   = "/api/v1/ingest"
	NXDomainPath = "/api/v1/ingest/nxdomain"
)

// Options configure NewSink. Zero values take the documented defaults.
type Options struct {
	// URL is the server's base URL, http:// or https:// with host and
	// port (a path prefix is kept). Required.
	URL string
	// Key is an API key with the ingest permission; empty sends none (a
	// server without keys on loopback).
	Key string
	// SpoolDir keeps batches until the server confirms them. Default:
	// $XDG_STATE_HOME/dnsscout/spool/HOST_PORT, or
	// ~/.local/state/dnsscout/spool/HOST_PORT.
	SpoolDir string
	// SpoolBytes bounds the spool (compressed bytes). Default 1 GiB.
	SpoolBytes int64
	// BatchTuples is the most tuples per POST. Default 10,000.
	BatchTuples int
	// FullWait is how long Upsert waits for room in a full spool before
	// failing with ErrSpoolFull. Default 5 min.
	FullWait time.Duration
	// DrainTimeout is how long Close waits for the spool to empty before
	// leaving the rest for the next run. Default 30 s.
	DrainTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts, which
	// doubles from MinBackoff with ±50% jitter (a Retry-After from the
	// server is honoured up to MaxBackoff). Defaults 500 ms and 1 min.
	MinBackoff, MaxBackoff time.Duration
	// RequestTimeout bounds one POST. Default 2 min.
	RequestTimeout time.Duration
	// Client sends the requests (custom TLS roots, proxies). Default: a
	// client with RequestTimeout.
	Client *http.Client
	// Logger receives retries, rejections and the final state; nil
	// discards.
	Logger *slog.Logger
	// Getenv reads the environment for the default SpoolDir. Default
	// os.Getenv.
	Getenv func(string) string
}

// Stats count what a sink did.
type Stats struct {
	// Batches, Tuples and NXDOMAIN counters (names) the server confirmed.
	Batches, Tuples, NXNames uint64
	// Duplicates are confirmed batches the server had already applied.
	Duplicates uint64
	// Retries are failed attempts that will be repeated.
	Retries uint64
	// Rejected batches were refused by the server as malformed and moved
	// to SPOOL/rejected.
	Rejected uint64
	// Refused tuples were skipped by the server inside accepted batches.
	Refused uint64
	// PendingBatches and PendingBytes are still in the spool.
	PendingBatches int
	PendingBytes   int64
}

// Sink spools and sends batches. It is safe for concurrent use.
type Sink struct {
	opt        Options
	endpoint   string // for tuples
	nxEndpoint string // for NXDOMAIN counters
	log        *slog.Logger
	hc         *http.Client
	unlock     func()

	mu      sync.Mutex
	room    *sync.Cond // signalled when the spool shrinks or the sink closes
	queue   []spooled  // in send order
	bytes   int64
	seq     uint64
	closed  bool
	wake    chan struct{}
	drained chan struct{} // closed and replaced when the queue empties

	stop   context.CancelFunc
	sender sync.WaitGroup

	batches, tuples, nxNames, dups, retries, rejected, refused atomic.Uint64
}

type spooled struct {
	name   string // file name: SEQ-ID-N.ndjson.gz, or SEQ-ID-N.nx.ndjson.gz
	id     string
	size   int64
	tuples int  // N: tuples, or NXDOMAIN counters
	nx     bool // NXDOMAIN counters
}

const (
	tupleSuffix = ".ndjson.gz"
	nxSuffix    = ".nx.ndjson.gz"
)

// NewSink checks o, opens (and recovers) the spool and starts the sender.
// Close it when done.
func NewSink(o Options) (*Sink, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: URL %q: want http(s)://HOST:PORT", ErrOptions, o.URL)
	}
	base := strings.TrimSuffix(u.String(), "/")
	o.fillDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.SpoolDir == "" {
		d, err := defaultSpoolDir(o.Getenv, u.Host)
		if err != nil {
			return nil, err
		}
		o.SpoolDir = d
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := o.Client
	if hc == nil {
		hc = &http.Client{Timeout: o.RequestTimeout}
	}
	s := &Sink{opt: o, endpoint: base + IngestPath, nxEndpoint: base + NXDomainPath, log: log.With("component", "ingest/remote", "server", u.Host), hc: hc,
		wake: make(chan struct{}, 1), drained: make(chan struct{})}
	s.room = sync.NewCond(&s.mu)
	if err := s.openSpool(); err != nil {
		return nil, err
	}
	if len(s.queue) > 0 {
		s.log.Info("resending batches spooled by an earlier run", "batches", len(s.queue), "bytes", s.bytes, "spool", o.SpoolDir)
	}
	// The sender's context belongs to the sink: Close cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.sender.Go(func() { s.send(ctx) })
	return s, nil
}

// fillDefaults sets the documented default of each zero field but SpoolDir,
// whose default needs the server's host.
func (o *Options) fillDefaults() {
	if o.SpoolBytes == 0 {
		o.SpoolBytes = 1 << 30
	}
	if o.BatchTuples == 0 {
		o.BatchTuples = 10_000
	}
	if o.FullWait == 0 {
		o.FullWait = 5 * time.Minute
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = time.Minute
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 2 * time.Minute
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
}

// validate checks the limits of o once its defaults are filled in.
func (o *Options) validate() error {
	switch {
	case o.SpoolBytes < 1<<20:
		return fmt.Errorf("%w: spool bytes %d below 1 MiB", ErrOptions, o.SpoolBytes)
	case o.BatchTuples < 1:
		return fmt.Errorf("%w: batch tuples %d", ErrOptions, o.BatchTuples)
	case o.FullWait < 0 || o.DrainTimeout < 0 || o.MinBackoff < 0 || o.MaxBackoff < o.MinBackoff || o.RequestTimeout < 0:
		return fmt.Errorf("%w: durations must not be negative and MaxBackoff not below MinBackoff", ErrOptions)
	case strings.ContainsAny(o.Key, "\r\n"):
		return fmt.Errorf("%w: key holds a line break", ErrOptions)
	}
	return nil
}

// openSpool creates and locks the spool directory and lists the batches an
// earlier run left there.
func (s *Sink) openSpool() (err error) {
	dir := s.opt.SpoolDir
	if err := os.MkdirAll(filepath.Join(dir, "rejected"), 0o700); err != nil {
		return fmt.Errorf("remote: spool: %w", err)
	}
	if s.unlock, err = durable.Lock(dir); err != nil {
		if errors.Is(err, durable.ErrLocked) {
			return fmt.Errorf("%w: %s", ErrSpoolLocked, dir)
		}
		return fmt.Errorf("remote: spool: %w", err)
	}
	if err := s.recover(); err != nil {
		s.unlock()
		return err
	}
	return nil
}

// defaultSpoolDir is $XDG_STATE_HOME/dnsscout/spool/HOST_PORT.
func defaultSpoolDir(getenv func(string) string, host string) (string, error) {
	base := getenv("XDG_STATE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home := getenv("HOME")
		if home == "" {
			return "", fmt.Errorf("%w: no spool directory: neither XDG_STATE_HOME nor HOME is set", ErrOptions)
		}
		base = filepath.Join(home, ".local", "state")
	}
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, host)
	return filepath.Join(base, "dnsscout", "spool", clean), nil
}

// recover lists the batches of earlier runs and removes half-written ones.
func (s *Sink) recover() error {
	ents, err := os.ReadDir(s.opt.SpoolDir)
	if err != nil {
		return fmt.Errorf("remote: spool: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, durable.TempPrefix) {
			os.Remove(filepath.Join(s.opt.SpoolDir, name))
			continue
		}
		sp, ok := parseSpoolName(name)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		sp.size = info.Size()
		s.queue = append(s.queue, sp)
		s.bytes += sp.size
		if n, _ := strconv.ParseUint(name[:16], 10, 64); n > s.seq {
			s.seq = n
		}
	}
	slices.SortFunc(s.queue, func(a, b spooled) int { return strings.Compare(a.name, b.name) })
	return nil
}

// parseSpoolName reads SEQ(16 digits)-ID(32 hex)-N.ndjson.gz (N tuples)
// and SEQ-ID-N.nx.ndjson.gz (N NXDOMAIN counters).
func parseSpoolName(name string) (spooled, bool) {
	base, nx := strings.CutSuffix(name, nxSuffix)
	if !nx {
		var ok bool
		if base, ok = strings.CutSuffix(name, tupleSuffix); !ok {
			return spooled{}, false
		}
	}
	parts := strings.Split(base, "-")
	if len(parts) != 3 || len(parts[0]) != 16 || len(parts[1]) != 32 {
		return spooled{}, false
	}
	if _, err := strconv.ParseUint(parts[0], 10, 64); err != nil {
		return spooled{}, false
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return spooled{}, false
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 0 {
		return spooled{}, false
	}
	return spooled{name: name, id: parts[1], tuples: n, nx: nx}, true
}

// Upsert spools tuples (in batches of BatchTuples) and returns once they
// are durably on disk; sending happens in the background. It waits for
// room while the spool is full, at most FullWait.
func (s *Sink) Upsert(ctx context.Context, tuples []pdns.Tuple) error {
	for len(tuples) > 0 {
		n := min(len(tuples), s.opt.BatchTuples)
		if err := s.spool(ctx, tuples[:n]); err != nil {
			return err
		}
		tuples = tuples[n:]
	}
	return nil
}

// AddNXDomain spools NXDOMAIN counters (in batches of BatchTuples) for
// the server's NXDomainPath, like Upsert does tuples: so a Sink is an
// ingest.NXSink, and a remote sensor loses no NXDOMAIN counts.
func (s *Sink) AddNXDomain(ctx context.Context, counts []store.NXCount) error {
	for len(counts) > 0 {
		n := min(len(counts), s.opt.BatchTuples)
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		var line []byte
		for i := range counts[:n] {
			line = store.AppendNXLine(line[:0], &counts[i])
			zw.Write(line) // a bytes.Buffer does not fail
		}
		if err := zw.Close(); err != nil {
			return err
		}
		if err := s.spoolBytes(ctx, buf.Bytes(), n, true); err != nil {
			return err
		}
		counts = counts[n:]
	}
	return nil
}

func (s *Sink) spool(ctx context.Context, tuples []pdns.Tuple) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	enc := pdns.NewEncoder(zw, pdns.FormatCOF)
	for i := range tuples {
		if err := enc.Encode(&tuples[i]); err != nil {
			return err
		}
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return s.spoolBytes(ctx, buf.Bytes(), len(tuples), false)
}

// spoolBytes writes one gzip batch of n items (NXDOMAIN counters when nx)
// durably to the spool and queues it for sending.
func (s *Sink) spoolBytes(ctx context.Context, body []byte, n int, nx bool) error {
	size := int64(len(body))
	if err := s.waitRoom(ctx, size); err != nil {
		return err
	}
	id := newID()
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	suffix := tupleSuffix
	if nx {
		suffix = nxSuffix
	}
	name := fmt.Sprintf("%016d-%s-%d%s", seq, id, n, suffix)
	if err := durable.WriteFile(s.opt.SpoolDir, name, body); err != nil {
		s.release(size)
		return fmt.Errorf("remote: spool: %w", err)
	}
	s.mu.Lock()
	// Keep the queue in name (sequence) order even when two writers race.
	sp := spooled{name: name, id: id, size: size, tuples: n, nx: nx}
	i, _ := slices.BinarySearchFunc(s.queue, name, func(a spooled, n string) int { return strings.Compare(a.name, n) })
	s.queue = slices.Insert(s.queue, i, sp)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// waitRoom reserves size bytes of spool, waiting while it is full.
func (s *Sink) waitRoom(ctx context.Context, size int64) error {
	deadline := time.Now().Add(s.opt.FullWait)
	s.mu.Lock()
	defer s.mu.Unlock()
	warned := false
	for {
		if s.closed {
			return ErrClosed
		}
		// A batch larger than the whole spool still goes when it is empty.
		if s.bytes+size <= s.opt.SpoolBytes || s.bytes == 0 {
			s.bytes += size
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w: %d bytes in %s for %v (server unreachable?)", ErrSpoolFull, s.bytes, s.opt.SpoolDir, s.opt.FullWait)
		}
		if !warned {
			warned = true
			s.log.Warn("spool full; waiting for the server", "bytes", s.bytes, "limit", s.opt.SpoolBytes)
		}
		// Wake up at the deadline or on ctx's end even without a signal.
		t := time.AfterFunc(min(left, time.Second), func() {
			s.mu.Lock()
			s.room.Broadcast()
			s.mu.Unlock()
		})
		s.room.Wait()
		t.Stop()
	}
}

func (s *Sink) release(size int64) {
	s.mu.Lock()
	s.bytes -= size
	s.room.Broadcast()
	s.mu.Unlock()
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return hex.EncodeToString(b[:])
}

// send posts spooled batches in order until ctx ends.
func (s *Sink) send(ctx context.Context) {
	backoff := time.Duration(0)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			close(s.drained)
			s.drained = make(chan struct{})
		}
		var next spooled
		have := len(s.queue) > 0
		if have {
			next = s.queue[0]
		}
		s.mu.Unlock()
		if !have {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
				continue
			}
		}
		wait, err := s.post(ctx, next)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			backoff = 0
			continue
		}
		s.retries.Add(1)
		if backoff == 0 {
			backoff = s.opt.MinBackoff
		} else {
			backoff = min(2*backoff, s.opt.MaxBackoff)
		}
		d := jitter(backoff)
		if wait > 0 {
			d = min(max(d, wait), s.opt.MaxBackoff)
		}
		s.log.Warn("sending a batch failed; will retry", "batch", next.name, "err", err, "retry_in", d.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + mrand.Float64()))
}

// answer is the server's ingest answer.
type answer struct {
	Accepted  int      `json:"accepted"`
	Rejected  int      `json:"rejected"`
	Errors    []string `json:"errors"`
	Duplicate bool     `json:"duplicate"`
	Error     string   `json:"error"`
}

// post sends one batch. A nil error means the batch left the spool
// (delivered, or rejected as malformed and moved aside); otherwise wait
// is the server's Retry-After, if any.
func (s *Sink) post(ctx context.Context, sp spooled) (wait time.Duration, err error) {
	path := filepath.Join(s.opt.SpoolDir, sp.name)
	body, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		s.dequeue(sp) // removed by hand
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the spool: %w", err)
	}
	endpoint := s.endpoint
	if sp.nx {
		endpoint = s.nxEndpoint
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Idempotency-Key", sp.id)
	req.Header.Set("User-Agent", "dnsscout-sensor")
	if s.opt.Key != "" {
		req.Header.Set("X-API-Key", s.opt.Key)
	}
	res, err := s.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var ans answer
	_ = json.Unmarshal(bytes.TrimSpace(b), &ans)
	switch code := res.StatusCode; {
	case code == http.StatusOK:
		if ans.Duplicate {
			s.dups.Add(1)
		}
		s.refused.Add(uint64(ans.Rejected))
		if ans.Rejected > 0 {
			s.log.Warn("the server skipped tuples of a batch", "batch", sp.name, "skipped", ans.Rejected, "first", strings.Join(ans.Errors[:min(1, len(ans.Errors))], ""))
		}
		s.batches.Add(1)
		if sp.nx {
			s.nxNames.Add(uint64(sp.tuples))
		} else {
			s.tuples.Add(uint64(sp.tuples))
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("could not remove a sent batch; it will be sent again (the server ignores the repeat)", "batch", sp.name, "err", err)
		}
		s.dequeue(sp)
		return 0, nil
	case code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge || code == http.StatusUnsupportedMediaType:
		s.rejected.Add(1)
		s.log.Error("the server rejected a batch; moved to the spool's rejected directory", "batch", sp.name, "status", code, "error", ans.Error)
		if err := os.Rename(path, filepath.Join(s.opt.SpoolDir, "rejected", sp.name)); err != nil {
			os.Remove(path)
		}
		s.dequeue(sp)
		return 0, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return 0, fmt.Errorf("the server refused the key (%s: %s); batches stay spooled until it accepts one", res.Status, ans.Error)
	default:
		return retryAfter(res.Header.Get("Retry-After")), fmt.Errorf("server answered %s %s", res.Status, ans.Error)
	}
}

func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

func (s *Sink) dequeue(sp spooled) {
	s.mu.Lock()
	if i := slices.IndexFunc(s.queue, func(x spooled) bool { return x.name == sp.name }); i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
		s.bytes -= sp.size
	}
	s.room.Broadcast()
	s.mu.Unlock()
}

// Stats returns the counters so far.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	pb, pn := s.bytes, len(s.queue)
	s.mu.Unlock()
	return Stats{Batches: s.batches.Load(), Tuples: s.tuples.Load(), NXNames: s.nxNames.Load(), Duplicates: s.dups.Load(), Retries: s.retries.Load(),
		Rejected: s.rejected.Load(), Refused: s.refused.Load(), PendingBatches: pn, PendingBytes: pb}
}

// Flush waits until the spool is empty or ctx ends.
func (s *Sink) Flush(ctx context.Context) error {
	for {
		s.mu.Lock()
		empty := len(s.queue) == 0
		ch := s.drained
		s.mu.Unlock()
		if empty {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops taking batches, waits up to DrainTimeout (or ctx's end) for
// the spool to empty, and stops the sender. Batches still spooled stay on
// disk for the next run; Stats says how many.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.room.Broadcast()
	s.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, s.opt.DrainTimeout)
	_ = s.Flush(dctx)
	cancel()
	s.stop()
	s.sender.Wait()
	s.unlock()
	st := s.Stats()
	if st.PendingBatches > 0 {
		s.log.Warn("batches remain in the spool; the next run sends them", "batches", st.PendingBatches, "bytes", st.PendingBytes, "spool", s.opt.SpoolDir)
	}
	return nil
}

// SpoolDir returns the spool directory in use.
func (s *Sink) SpoolDir() string { return s.opt.SpoolDir }

// ReadBatch decodes one spool file (for inspection and tests).
func ReadBatch(path string) ([]pdns.Tuple, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, err
	}
	dec := pdns.NewDecoder(zr)
	var out []pdns.Tuple
	for {
		out, err = dec.Decode(out)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}
