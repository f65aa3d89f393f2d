package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/durable"
)

// Options configure Open. Zero values take the documented defaults.
type Options struct {
	// Dir holds the spool (queued alerts, and per sink the IDs it was
	// given). Required; created if missing. One Dispatcher per directory.
	Dir string
	// Rules route alerts to Targets by name (Config.Rules).
	Rules []Rule
	// Targets are the sinks (NewTargets builds them from Config.Sinks).
	// Names are 1-64 bytes of [a-z0-9_-]. At least one.
	Targets []Target
	// Logger receives retries, give-ups and recovery notes; nil discards.
	Logger *slog.Logger
	// Now stamps enqueue and delivery times and ages the spool and the
	// dedupe memory. Default time.Now. (Waits use the real clock.)
	Now func() time.Time
	// MinBackoff and MaxBackoff bound the wait after a failed attempt; it
	// doubles from MinBackoff with each consecutive failure of the sink,
	// with jitter (between half and all of it), and honours a receiver's
	// Retry-After up to MaxBackoff. Defaults 1 s and 5 min.
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts gives an alert up after that many failed attempts at one
	// sink (counted since the Dispatcher opened). Default 0: no limit but
	// MaxAge.
	MaxAttempts int
	// MaxAge gives an alert up when it has waited that long for a sink.
	// Default 7 days; at most DedupeAge.
	MaxAge time.Duration
	// DedupeAge is how long a sink remembers an alert ID it was given: an
	// alert enqueued again within it is not sent again. Default 30 days.
	DedupeAge time.Duration
	// DigestThreshold: when more than this many alerts wait for one sink,
	// they go as digests instead of one message each. Default 10;
	// negative: never digest.
	DigestThreshold int
	// DigestWindow is how long a sink holds the first of new alerts so
	// that those arriving together go together. Default 5 s; negative:
	// no wait.
	DigestWindow time.Duration
	// DigestMax is the most alerts in one digest. Default 200.
	DigestMax int
	// DigestLines is how many alert lines a digest shows. Default 20.
	DigestLines int
	// SinkTimeout bounds one delivery attempt (Target.Timeout overrides
	// it). Default 30 s.
	SinkTimeout time.Duration
	// SpoolBytes bounds the queue files; alerts that do not fit are
	// dropped and counted (Enqueue returns ErrSpoolFull). Default 64 MiB,
	// at least 256 KiB.
	SpoolBytes int64
}

func (o *Options) fill() error {
	if o.Dir == "" {
		return fmt.Errorf("%w: no spool directory", ErrOptions)
	}
	if len(o.Targets) == 0 {
		return fmt.Errorf("%w: no sinks", ErrOptions)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	setDefault(&o.MinBackoff, time.Second)
	setDefault(&o.MaxBackoff, 5*time.Minute)
	setDefault(&o.MaxAge, 7*24*time.Hour)
	setDefault(&o.DedupeAge, 30*24*time.Hour)
	setDefault(&o.DigestThreshold, 10)
	setDefault(&o.DigestWindow, 5*time.Second)
	setDefault(&o.DigestMax, 200)
	setDefault(&o.DigestLines, 20)
	setDefault(&o.SinkTimeout, 30*time.Second)
	setDefault(&o.SpoolBytes, 64<<20)
	switch {
	case o.MinBackoff < 0 || o.MaxBackoff < o.MinBackoff:
		return fmt.Errorf("%w: backoff: MinBackoff must be positive and at most MaxBackoff", ErrOptions)
	case o.MaxAttempts < 0:
		return fmt.Errorf("%w: MaxAttempts %d", ErrOptions, o.MaxAttempts)
	case o.MaxAge < 0 || o.DedupeAge < 0 || o.MaxAge > o.DedupeAge:
		return fmt.Errorf("%w: MaxAge (%v) must be positive and at most DedupeAge (%v): an alert must not outlive the memory that keeps it from being sent twice", ErrOptions, o.MaxAge, o.DedupeAge)
	case o.DigestMax < 2 || o.DigestLines < 1:
		return fmt.Errorf("%w: DigestMax must be at least 2 and DigestLines at least 1", ErrOptions)
	case o.SinkTimeout < 0:
		return fmt.Errorf("%w: SinkTimeout %v", ErrOptions, o.SinkTimeout)
	case o.SpoolBytes < minSpoolBytes:
		return fmt.Errorf("%w: SpoolBytes %d below %d (room for the largest alert)", ErrOptions, o.SpoolBytes, minSpoolBytes)
	}
	if o.DigestWindow < 0 {
		o.DigestWindow = 0
	}
	return nil
}

// minSpoolBytes leaves room for a few alerts of the largest size.
const minSpoolBytes = 4 * maxRecordBytes

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Dispatcher routes alerts to sinks and delivers them at least once, and
// at most once per sink and alert ID within Options.DedupeAge. It is safe
// for concurrent use.
type Dispatcher struct {
	opt    Options
	log    *slog.Logger
	sinks  []*sinkState
	byName map[string]*sinkState
	unlock func()

	enqMu sync.Mutex // serialises Enqueue and Close
	seq   uint64     // last queue file written; guarded by enqMu

	mu      sync.Mutex
	files   map[string]*queueFile // queue file name -> what still needs it
	bytes   int64                 // size of the queue files
	closed  bool
	changed chan struct{} // closed and replaced when alerts stop pending

	stop    chan struct{}   // closed by Close: workers take no new work
	sendCtx context.Context // cancelled when Close gives up waiting
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	unrouted atomic.Uint64
}

type queueFile struct {
	refs int // (alert, sink) pairs still pending
	size int64
}

// entry is one alert pending for one sink.
type entry struct {
	a        *Alert
	file     string
	enqueued time.Time // Options.Now at Enqueue (from the queue file)
	ready    time.Time // real clock: not sent before (DigestWindow)
	attempts int
	done     bool
}

// sinkState is a target with its queue, memory and counters.
type sinkState struct {
	Target
	log  *slog.Logger
	wake chan struct{}

	// Guarded by Dispatcher.mu.
	pending []*entry         // in Enqueue order
	seen    map[string]int64 // IDs pending or done -> Unix time
	stats   SinkStats

	// Owned by the sink's worker once it runs.
	logFile   *os.File
	logLines  int
	lastPrune time.Time
}

// SinkStats count what happened to one sink's alerts. The counters are
// cumulative since Open; Pending is current.
type SinkStats struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Enqueued alerts were spooled for the sink; Duplicates were not,
	// because the sink already had their ID; Dropped were not, because
	// the spool was full.
	Enqueued   uint64 `json:"enqueued"`
	Duplicates uint64 `json:"duplicates"`
	Dropped    uint64 `json:"dropped"`
	// Delivered alerts reached the sink (alone or in a digest), in
	// Messages messages of which Digests were digests.
	Delivered uint64 `json:"delivered"`
	Messages  uint64 `json:"messages"`
	Digests   uint64 `json:"digests"`
	// FailedAttempts are messages that failed and were retried or given
	// up; Expired alerts were given up (MaxAge, MaxAttempts); Rejected
	// alerts were refused for good by the receiver.
	FailedAttempts uint64 `json:"failed_attempts"`
	Expired        uint64 `json:"expired"`
	Rejected       uint64 `json:"rejected"`
	// Pending alerts wait for the sink.
	Pending int `json:"pending"`
	// LastError is the last failure's message, at LastErrorTime;
	// LastDelivery is the time of the last success.
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	LastDelivery  time.Time `json:"last_delivery,omitzero"`
}

// Stats is a snapshot of a Dispatcher's counters.
type Stats struct {
	Sinks []SinkStats `json:"sinks"`
	// Unrouted alerts matched no rule.
	Unrouted uint64 `json:"unrouted"`
	// SpoolBytes is the size of the queue files.
	SpoolBytes int64 `json:"spool_bytes"`
}

// Open validates the options, takes the spool directory, recovers what an
// earlier run left there (alerts not yet delivered are sent again) and
// starts one worker per sink. Close it when done.
func Open(o Options) (*Dispatcher, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "alert")
	d := &Dispatcher{opt: o, log: log, byName: map[string]*sinkState{}, files: map[string]*queueFile{},
		changed: make(chan struct{}), stop: make(chan struct{})}
	names := make([]string, 0, len(o.Targets))
	for _, t := range o.Targets {
		if !validName(t.Name) || d.byName[t.Name] != nil || t.Sink == nil || t.Timeout < 0 {
			return nil, fmt.Errorf("%w: target %s: want a unique name of 1-64 bytes of [a-z0-9_-], a sink and a timeout not below zero", ErrOptions, quote(t.Name))
		}
		if t.Timeout == 0 {
			t.Timeout = o.SinkTimeout
		}
		s := &sinkState{Target: t, log: log.With("sink", t.Name), wake: make(chan struct{}, 1)}
		s.stats.Name, s.stats.Type = t.Name, t.Type
		d.sinks = append(d.sinks, s)
		d.byName[t.Name] = s
		names = append(names, t.Name)
	}
	d.opt.Rules = slices.Clone(o.Rules)
	for i := range d.opt.Rules {
		r := &d.opt.Rules[i]
		r.Domains = slices.Clone(r.Domains)
		if err := r.validate(names); err != nil {
			return nil, fmt.Errorf("%w: rules[%d]%s: %v", ErrOptions, i, nameSuffix(r.Name), err)
		}
	}
	for _, sub := range []string{queueDir, sinksDir, corruptDir} {
		if err := os.MkdirAll(filepath.Join(o.Dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("alert: spool: %w", err)
		}
	}
	unlock, err := durable.Lock(o.Dir)
	if errors.Is(err, durable.ErrLocked) {
		return nil, fmt.Errorf("%w: %s", ErrSpoolLocked, o.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("alert: spool: %w", err)
	}
	d.unlock = unlock
	if err := d.recover(); err != nil {
		d.closeLogs()
		unlock()
		return nil, err
	}
	d.sendCtx, d.cancel = context.WithCancel(context.Background())
	for _, s := range d.sinks {
		d.wg.Go(func() { d.work(s) })
	}
	return d, nil
}

// recover loads every sink's log, then the queue files: what they hold
// that a sink's log does not mention is pending again.
func (d *Dispatcher) recover() error {
	now := d.opt.Now()
	cutoff := now.Add(-d.opt.DedupeAge).Unix()
	sdir := filepath.Join(d.opt.Dir, sinksDir)
	for _, s := range d.sinks {
		name := s.Name + logExt
		l, err := loadDoneLog(filepath.Join(sdir, name), cutoff)
		if err != nil {
			return fmt.Errorf("alert: spool: sink %s: %w", s.Name, err)
		}
		if l.rewrite {
			if err := writeDoneLog(sdir, name, l.done); err != nil {
				return fmt.Errorf("alert: spool: sink %s: %w", s.Name, err)
			}
			l.lines = len(l.done)
		}
		s.seen, s.logLines, s.lastPrune = l.done, l.lines, time.Now()
		if s.logFile, err = os.OpenFile(filepath.Join(sdir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
			return fmt.Errorf("alert: spool: sink %s: %w", s.Name, err)
		}
	}
	qdir := filepath.Join(d.opt.Dir, queueDir)
	ents, err := os.ReadDir(qdir)
	if err != nil {
		return fmt.Errorf("alert: spool: %w", err)
	}
	orphans, pending := 0, 0
	ready := time.Now()
	for _, e := range ents { // in name, that is sequence, order
		name := e.Name()
		if strings.HasPrefix(name, durable.TempPrefix) {
			os.Remove(filepath.Join(qdir, name)) // an Enqueue that did not finish
			continue
		}
		seq, ok := parseQueueName(name)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		d.seq = max(d.seq, seq)
		recs, size, err := readQueueFile(filepath.Join(qdir, name))
		if err != nil {
			d.log.Error("unreadable spool file moved aside; its alerts are not sent", "file", name, "err", err)
			if err := moveAside(d.opt.Dir, name); err != nil {
				return fmt.Errorf("alert: spool: %w", err)
			}
			continue
		}
		qf := &queueFile{size: size}
		for i := range recs {
			r := &recs[i]
			for _, sn := range r.Sinks {
				s := d.byName[sn]
				if s == nil {
					orphans++
					continue
				}
				if _, known := s.seen[r.Alert.ID]; known {
					continue // delivered (or pending from an earlier file)
				}
				s.seen[r.Alert.ID] = r.Enqueued.Unix()
				s.pending = append(s.pending, &entry{a: &r.Alert, file: name, enqueued: r.Enqueued, ready: ready})
				s.stats.Pending++
				qf.refs++
				pending++
			}
		}
		if qf.refs == 0 {
			os.Remove(filepath.Join(qdir, name))
			continue
		}
		d.files[name] = qf
		d.bytes += size
	}
	if orphans > 0 {
		d.log.Warn("spooled alerts for sinks no longer configured are dropped", "alerts", orphans)
	}
	if pending > 0 {
		d.log.Info("sending alerts spooled by an earlier run", "alerts", pending, "spool", d.opt.Dir)
	}
	return nil
}

// Enqueue routes the alerts through the rules and spools them, durably,
// for their sinks before it returns; the workers deliver them. An alert
// whose ID a sink already has (pending, or done within DedupeAge) is not
// spooled for it again. Invalid alerts fail the whole call (nothing is
// spooled); alerts that do not fit in the spool are dropped, counted, and
// reported with ErrSpoolFull.
func (d *Dispatcher) Enqueue(ctx context.Context, alerts ...Alert) error {
	for i := range alerts {
		if err := alerts[i].check(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.enqMu.Lock()
	defer d.enqMu.Unlock()
	now := d.opt.Now()
	items, err := d.plan(alerts, now)
	if err != nil || len(items) == 0 {
		return err
	}
	buf := []byte(spoolHeader + "\n")
	d.mu.Lock()
	room := d.opt.SpoolBytes - d.bytes
	d.mu.Unlock()
	admitted, refs := 0, 0
	for _, it := range items {
		if int64(len(buf)+len(it.line)) > room {
			break
		}
		buf = append(buf, it.line...)
		admitted++
		refs += len(it.sinks)
	}
	if admitted > 0 {
		name := queueName(d.seq + 1)
		if err := durable.WriteFile(filepath.Join(d.opt.Dir, queueDir), name, buf); err != nil {
			return fmt.Errorf("alert: spool: %w", err)
		}
		d.seq++
		d.admit(items[:admitted], name, int64(len(buf)), refs, now)
	}
	if dropped := items[admitted:]; len(dropped) > 0 {
		d.mu.Lock()
		for _, it := range dropped {
			for _, s := range it.sinks {
				s.stats.Dropped++
			}
		}
		d.mu.Unlock()
		d.log.Error("alert spool full; alerts dropped", "dropped", len(dropped), "spooled", admitted, "limit_bytes", d.opt.SpoolBytes)
		return fmt.Errorf("%w: %d of %d alerts dropped (limit %d bytes)", ErrSpoolFull, len(dropped), len(items), d.opt.SpoolBytes)
	}
	return nil
}

// planned is one alert to spool, for the sinks that do not have it yet.
type planned struct {
	a     *Alert
	sinks []*sinkState
	line  []byte // its queue record
}

// plan routes alerts and drops the pairs a sink already has.
func (d *Dispatcher) plan(alerts []Alert, now time.Time) ([]planned, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	var items []planned
	inCall := map[*sinkState]map[string]bool{}
	for i := range alerts {
		a := alerts[i] // the spool's own copy
		names := route(d.opt.Rules, &a)
		if len(names) == 0 {
			d.unrouted.Add(1)
			continue
		}
		it := planned{a: &a}
		for _, n := range names {
			s := d.byName[n]
			if _, dup := s.seen[a.ID]; dup || inCall[s][a.ID] {
				s.stats.Duplicates++
				continue
			}
			if inCall[s] == nil {
				inCall[s] = map[string]bool{}
			}
			inCall[s][a.ID] = true
			it.sinks = append(it.sinks, s)
		}
		if len(it.sinks) == 0 {
			continue
		}
		line, err := json.Marshal(queueRecord{Enqueued: now, Sinks: sinkNames(it.sinks), Alert: a})
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidAlert, a.ID, err)
		}
		if len(line) > maxRecordBytes {
			return nil, fmt.Errorf("%w: %s: %d bytes as JSON, more than %d", ErrInvalidAlert, a.ID, len(line), maxRecordBytes)
		}
		it.line = append(line, '\n')
		items = append(items, it)
	}
	return items, nil
}

func sinkNames(ss []*sinkState) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

// admit makes spooled alerts pending and wakes their sinks.
func (d *Dispatcher) admit(items []planned, file string, size int64, refs int, now time.Time) {
	ready := time.Now().Add(d.opt.DigestWindow)
	d.mu.Lock()
	d.files[file] = &queueFile{refs: refs, size: size}
	d.bytes += size
	var woken []*sinkState
	for _, it := range items {
		for _, s := range it.sinks {
			s.pending = append(s.pending, &entry{a: it.a, file: file, enqueued: now, ready: ready})
			s.seen[it.a.ID] = now.Unix()
			s.stats.Enqueued++
			s.stats.Pending++
			if !slices.Contains(woken, s) {
				woken = append(woken, s)
			}
		}
	}
	d.mu.Unlock()
	for _, s := range woken {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// pruneInterval is how often a worker forgets IDs older than DedupeAge.
const pruneInterval = time.Hour

// work delivers a sink's alerts until Close.
func (d *Dispatcher) work(s *sinkState) {
	failures := 0
	var retryAt time.Time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		if time.Since(s.lastPrune) >= pruneInterval {
			d.prune(s)
		}
		d.expire(s)
		d.mu.Lock()
		var at time.Time
		n := len(s.pending)
		if n > 0 {
			at = s.pending[0].ready
		}
		d.mu.Unlock()
		wait := pruneInterval
		if n > 0 {
			if retryAt.After(at) {
				at = retryAt
			}
			wait = time.Until(at)
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-d.stop:
				return
			case <-s.wake:
			case <-timer.C:
			}
			continue
		}
		for _, b := range d.compose(s) {
			err := d.attempt(s, b)
			if err == nil {
				failures = 0
			} else if !errors.Is(err, ErrRejected) {
				failures++
				wait := d.backoff(failures, err)
				retryAt = time.Now().Add(wait)
				s.log.Warn("alert delivery failed; will retry", "alerts", len(b.entries), "err", err, "retry_in", wait.Round(time.Millisecond))
				break
			}
			select {
			case <-d.stop:
				return
			default:
			}
		}
	}
}

// batch is one message and the entries it delivers.
type batch struct {
	msg     *Message
	entries []*entry
}

// compose turns what is pending into messages: digests of up to
// DigestMax alerts when more than DigestThreshold wait, else one message
// per alert.
func (d *Dispatcher) compose(s *sinkState) []batch {
	d.mu.Lock()
	snap := slices.Clone(s.pending)
	d.mu.Unlock()
	var out []batch
	if d.opt.DigestThreshold >= 0 && len(snap) > d.opt.DigestThreshold && len(snap) >= 2 {
		for chunk := range slices.Chunk(snap, d.opt.DigestMax) {
			alerts := make([]Alert, len(chunk))
			for i, e := range chunk {
				alerts[i] = *e.a
			}
			if len(chunk) == 1 {
				out = append(out, batch{newSingle(alerts[0]), chunk})
				continue
			}
			out = append(out, batch{newDigest(alerts, d.opt.DigestLines), chunk})
		}
		return out
	}
	for _, e := range snap {
		out = append(out, batch{newSingle(*e.a), []*entry{e}})
	}
	return out
}

// attempt sends one message and records the outcome.
func (d *Dispatcher) attempt(s *sinkState, b batch) error {
	ctx, cancel := context.WithTimeout(d.sendCtx, s.Timeout)
	err := s.Sink.Send(ctx, b.msg)
	cancel()
	var pe *partialError
	if errors.As(err, &pe) {
		s.log.Warn("alert delivered, but not everywhere", "err", err)
		err = nil
	}
	now := d.opt.Now()
	if err == nil {
		d.mu.Lock()
		s.stats.Messages++
		if b.msg.Digest != nil {
			s.stats.Digests++
		}
		s.stats.Delivered += uint64(len(b.entries))
		s.stats.LastDelivery = now
		d.mu.Unlock()
		d.finish(s, b.entries, stateDelivered)
		return nil
	}
	d.mu.Lock()
	s.stats.FailedAttempts++
	s.stats.LastError, s.stats.LastErrorTime = truncate(err.Error(), 500), now
	for _, e := range b.entries {
		e.attempts++
	}
	d.mu.Unlock()
	if errors.Is(err, ErrRejected) {
		s.log.Error("alert rejected by the receiver; not retried", "alerts", len(b.entries), "err", err)
		d.mu.Lock()
		s.stats.Rejected += uint64(len(b.entries))
		d.mu.Unlock()
		d.finish(s, b.entries, stateRejected)
	}
	return err
}

// backoff is the wait after the n-th consecutive failure.
func (d *Dispatcher) backoff(n int, err error) time.Duration {
	b := d.opt.MaxBackoff
	if n-1 < 32 {
		if x := d.opt.MinBackoff << (n - 1); x > 0 && x < b {
			b = x
		}
	}
	b = b/2 + rand.N(b/2+1)
	var ra *retryAfterError
	if errors.As(err, &ra) {
		b = max(b, ra.after)
	}
	return min(b, d.opt.MaxBackoff)
}

// expire gives up the entries older than MaxAge or out of attempts.
func (d *Dispatcher) expire(s *sinkState) {
	now := d.opt.Now()
	d.mu.Lock()
	var old []*entry
	for _, e := range s.pending {
		if now.Sub(e.enqueued) > d.opt.MaxAge || (d.opt.MaxAttempts > 0 && e.attempts >= d.opt.MaxAttempts) {
			old = append(old, e)
		}
	}
	s.stats.Expired += uint64(len(old))
	d.mu.Unlock()
	if len(old) > 0 {
		s.log.Error("alerts given up", "alerts", len(old), "first", old[0].a.ID, "max_age", d.opt.MaxAge, "max_attempts", d.opt.MaxAttempts)
		d.finish(s, old, stateExpired)
	}
}

// finish records that a sink is done with entries: a line each in its log
// (synced), then they leave the queue, and queue files nothing needs any
// more are removed. If the log cannot be written the queue files are kept,
// so that the next run sends the alerts again rather than never.
func (d *Dispatcher) finish(s *sinkState, entries []*entry, state byte) {
	now := d.opt.Now().Unix()
	var buf []byte
	for _, e := range entries {
		buf = appendDoneLine(buf, now, state, e.a.ID)
	}
	logErr := appendSync(s.logFile, buf)
	if logErr != nil {
		s.log.Error("cannot record delivered alerts; they will be sent again after a restart", "err", logErr)
	}
	s.logLines += len(entries)
	var remove []string
	d.mu.Lock()
	for _, e := range entries {
		e.done = true
		s.seen[e.a.ID] = now
		if logErr != nil {
			continue
		}
		if f := d.files[e.file]; f != nil {
			if f.refs--; f.refs == 0 {
				delete(d.files, e.file)
				d.bytes -= f.size
				remove = append(remove, e.file)
			}
		}
	}
	// Entries finish mostly from the front of the queue.
	i := 0
	for i < len(s.pending) && s.pending[i].done {
		s.pending[i] = nil
		i++
	}
	s.pending = s.pending[i:]
	if slices.ContainsFunc(s.pending, func(e *entry) bool { return e.done }) {
		s.pending = slices.DeleteFunc(s.pending, func(e *entry) bool { return e.done })
	}
	s.stats.Pending = len(s.pending)
	// Removed before Flush hears of it: after Flush, the spool is as
	// empty as it will get.
	for _, f := range remove {
		if err := os.Remove(filepath.Join(d.opt.Dir, queueDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cannot remove a spool file", "file", f, "err", err)
		}
	}
	close(d.changed)
	d.changed = make(chan struct{})
	bloated := s.logLines > 2*len(s.seen)+1024
	d.mu.Unlock()
	if bloated {
		d.rewriteLog(s)
	}
}

// prune forgets the IDs a sink finished with more than DedupeAge ago and
// rewrites its log if that shrinks it.
func (d *Dispatcher) prune(s *sinkState) {
	s.lastPrune = time.Now()
	cutoff := d.opt.Now().Add(-d.opt.DedupeAge).Unix()
	d.mu.Lock()
	pendingIDs := make(map[string]bool, len(s.pending))
	for _, e := range s.pending {
		pendingIDs[e.a.ID] = true
	}
	n := 0
	for id, at := range s.seen {
		if at < cutoff && !pendingIDs[id] {
			delete(s.seen, id)
			n++
		}
	}
	d.mu.Unlock()
	if n > 0 {
		d.rewriteLog(s)
	}
}

// rewriteLog replaces a sink's log with one line per ID it is done with.
func (d *Dispatcher) rewriteLog(s *sinkState) {
	d.mu.Lock()
	done := make(map[string]int64, len(s.seen))
	for id, at := range s.seen {
		done[id] = at
	}
	for _, e := range s.pending {
		delete(done, e.a.ID)
	}
	d.mu.Unlock()
	sdir := filepath.Join(d.opt.Dir, sinksDir)
	name := s.Name + logExt
	if err := writeDoneLog(sdir, name, done); err != nil {
		s.log.Error("cannot rewrite the sink's log", "err", err)
		return
	}
	f, err := os.OpenFile(filepath.Join(sdir, name), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.log.Error("cannot reopen the sink's log", "err", err)
		return
	}
	s.logFile.Close()
	s.logFile, s.logLines = f, len(done)
}

// Flush waits until no alert is pending for any sink (delivered, rejected
// or given up), or ctx ends.
func (d *Dispatcher) Flush(ctx context.Context) error {
	for {
		d.mu.Lock()
		n := 0
		for _, s := range d.sinks {
			n += len(s.pending)
		}
		ch := d.changed
		d.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Stats returns a snapshot of the counters, sinks in configuration order.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := Stats{Unrouted: d.unrouted.Load(), SpoolBytes: d.bytes}
	for _, s := range d.sinks {
		st.Sinks = append(st.Sinks, s.stats)
	}
	return st
}

// Close stops taking alerts and lets every attempt in progress finish (so
// that what a receiver took is recorded as delivered), waiting at most
// until ctx ends, when attempts still running are cancelled. Pending
// alerts stay in the spool for the next Open.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.enqMu.Lock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		d.enqMu.Unlock()
		return ErrClosed
	}
	d.closed = true
	close(d.stop)
	d.mu.Unlock()
	d.enqMu.Unlock()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel()
		<-done
		err = fmt.Errorf("alert: close: %w (attempts in progress were cancelled; their alerts may be sent again)", ctx.Err())
	}
	d.cancel()
	d.closeLogs()
	d.unlock()
	pending := 0
	for _, s := range d.sinks {
		pending += len(s.pending)
	}
	if pending > 0 {
		d.log.Info("alerts remain in the spool for the next run", "alerts", pending, "spool", d.opt.Dir)
	}
	return err
}

func (d *Dispatcher) closeLogs() {
	for _, s := range d.sinks {
		if s.logFile != nil {
			s.logFile.Close()
		}
	}
}
