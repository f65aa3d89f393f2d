package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Managed lists the domains managed through the API (*store.WatchedList).
type Managed interface {
	List(ctx context.Context) ([]store.WatchedDomain, error)
}

// Sources of a watched domain (DomainStatus.Source).
const (
	SourceConfig = "config"
	SourceAPI    = "api"
)

// Enqueuer takes alerts for delivery (an *alert.Dispatcher): when Enqueue
// returns nil they are spooled and will be delivered at least once, and
// an alert whose ID was enqueued before is not sent again.
type Enqueuer interface {
	Enqueue(ctx context.Context, alerts ...alert.Alert) error
}

// Options configure New. Zero values take the documented defaults.
type Options struct {
	// History is where scans, finding states and events are kept, and
	// where the schedule is read from at start. Required.
	History store.History
	// Runner scans the domains that are due. Required.
	Runner Runner
	// Domains are the watched domains of the configuration, with their
	// intervals: names in identity form (NormalizeDomain), each once. At
	// least one, unless Managed is set.
	Domains []Domain
	// Managed, when set, is the list of domains managed through the API
	// (a *store.WatchedList), read at each scheduler tick: a domain added
	// there is watched from that tick on, one removed is no longer
	// scanned (its history is kept). A domain of Domains keeps its
	// configured interval whatever Managed says. Default nil.
	Managed Managed
	// ManagedEvery is the interval of a managed domain that has none of
	// its own. Default DefaultEvery.
	ManagedEvery time.Duration
	// Reload bounds the wait between two scheduler ticks when Managed is
	// set, so that a domain added by another process sharing the store
	// is seen within it (Wake makes a tick at once). Default 10 s.
	Reload time.Duration
	// Alerts receives the alerts; nil sends none (the history is kept).
	Alerts Enqueuer
	// Link gives the web UI address of a domain's timeline at a scan,
	// for the alerts' link field; nil: no link.
	Link func(domain, scanID string) string
	// Now is the clock of the schedule and of the scans' times. Default
	// time.Now. (Waiting between runs uses real timers.)
	Now func() time.Time
	// MinRetry and MaxRetry bound the wait before a failed domain is
	// scanned again: MinRetry doubled with each consecutive failure, at
	// most MaxRetry and at most the domain's interval. Defaults 1 min and
	// 1 h.
	MinRetry, MaxRetry time.Duration
	// Registerer receives the watch's metrics; nil registers none.
	Registerer prometheus.Registerer
	// MaxDomainLabels bounds the domains that get their own series in the
	// per-domain metrics (last scan time, open findings); beyond it only
	// the totals are exported. Default 1000; negative: none.
	MaxDomainLabels int
	// AlertStats, when set, is exported in the metrics (deliveries and
	// failures per sink): an *alert.Dispatcher's Stats.
	AlertStats func() alert.Stats
	// Logger receives runs, failures and retries; nil discards.
	Logger *slog.Logger
}

func (o *Options) fill() error {
	if o.History == nil || o.Runner == nil {
		return fmt.Errorf("%w: History and Runner are required", ErrOptions)
	}
	if len(o.Domains) == 0 && o.Managed == nil {
		return fmt.Errorf("%w: no domains to watch", ErrOptions)
	}
	if o.ManagedEvery == 0 {
		o.ManagedEvery = DefaultEvery
	}
	if o.Reload == 0 {
		o.Reload = 10 * time.Second
	}
	if o.ManagedEvery < 0 || o.Reload < 0 {
		return fmt.Errorf("%w: ManagedEvery and Reload must be positive", ErrOptions)
	}
	seen := make(map[string]bool, len(o.Domains))
	for _, d := range o.Domains {
		if err := history.ValidDomain(d.Name); err != nil {
			return fmt.Errorf("%w: %v", ErrOptions, err)
		}
		if seen[d.Name] {
			return fmt.Errorf("%w: domain %s given twice", ErrOptions, d.Name)
		}
		seen[d.Name] = true
		if d.Every <= 0 {
			return fmt.Errorf("%w: domain %s: interval %v", ErrOptions, d.Name, d.Every)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MinRetry == 0 {
		o.MinRetry = time.Minute
	}
	if o.MaxRetry == 0 {
		o.MaxRetry = time.Hour
	}
	if o.MinRetry < 0 || o.MaxRetry < o.MinRetry {
		return fmt.Errorf("%w: retry: MinRetry must be positive and at most MaxRetry", ErrOptions)
	}
	if o.MaxDomainLabels == 0 {
		o.MaxDomainLabels = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Watcher scans its domains on their schedules and records and alerts
// what changed.
type Watcher struct {
	o   Options
	log *slog.Logger
	met *metrics

	mu      sync.Mutex
	domains []*domainState
	byName  map[string]*domainState
	loaded  bool
	// pending are alerts whose Enqueue failed; retried before each run.
	pending []alert.Alert
	// wake interrupts the wait between two ticks (Wake).
	wake chan struct{}
}

// domainState is the schedule of one domain.
type domainState struct {
	Domain
	source string
	next   time.Time
	last   history.Scan
	open   history.SeverityCounts
	// failures counts consecutive failed scans; failingSince is when the
	// first of them ended, lastErr the newest error.
	failures     int
	failingSince time.Time
	lastErr      string
}

// DomainStatus is the schedule of one domain, for the API and the UI.
type DomainStatus struct {
	Domain string        `json:"domain"`
	Every  time.Duration `json:"every_ns"`
	// Source is where the domain comes from: SourceConfig (the watch's
	// configuration or command line) or SourceAPI (added through the API).
	Source string `json:"source"`
	// Next is when the domain is scanned next.
	Next time.Time `json:"next"`
	// LastScan is the newest scan recorded (zero before the first).
	LastScan history.Scan `json:"last_scan"`
	// Open counts its open findings.
	Open history.SeverityCounts `json:"open"`
	// Failures counts consecutive failed scans since FailingSince; Error
	// is the newest failure.
	Failures     int       `json:"failures,omitempty"`
	FailingSince time.Time `json:"failing_since,omitzero"`
	Error        string    `json:"error,omitempty"`
}

// New checks the options and returns a Watcher; Run starts it.
func New(o Options) (*Watcher, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	w := &Watcher{o: o, log: o.Logger.With("component", "watch"), byName: make(map[string]*domainState, len(o.Domains)),
		wake: make(chan struct{}, 1)}
	for _, d := range o.Domains {
		ds := &domainState{Domain: d, source: SourceConfig}
		w.domains = append(w.domains, ds)
		w.byName[d.Name] = ds
	}
	w.met = newMetrics(w)
	if o.Registerer != nil {
		if err := w.met.register(o.Registerer); err != nil {
			return nil, fmt.Errorf("%w: metrics: %v", ErrOptions, err)
		}
	}
	return w, nil
}

// Run loads the schedule from the history, re-enqueues the alerts of each
// domain's newest scan (a crash may have come between recording a scan
// and spooling its alerts; the dispatcher drops what it already has), and
// then scans the domains as they fall due until ctx ends. A domain whose
// time passed while nothing ran is scanned once at start. When ctx ends
// the scans in flight stop; what they saw is not recorded (an interrupted
// scan proves nothing) and they run again at the next start. Run returns
// nil when ctx ends, or the error that kept it from loading the schedule.
func (w *Watcher) Run(ctx context.Context) error {
	if err := w.Load(ctx); err != nil {
		return err
	}
	for {
		w.RunDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		d := w.untilNext()
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-w.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// Wake makes the scheduler tick now (after the run in progress, if any):
// the API calls it when it changed the managed domains.
func (w *Watcher) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// untilNext is the wait until the earliest domain is due (at least 1 ms
// and at most a minute, so that a clock jump is noticed).
func (w *Watcher) untilNext() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.o.Now()
	d := time.Minute
	for _, ds := range w.domains {
		d = min(d, ds.next.Sub(now))
	}
	if len(w.pending) > 0 {
		d = min(d, w.o.MinRetry)
	}
	if w.o.Managed != nil {
		d = min(d, w.o.Reload)
	}
	return max(d, time.Millisecond)
}

// Load reads each domain's newest scan and open findings from the
// history to set its next due time, and re-enqueues the alerts of that
// scan. Run calls it; it does nothing the second time.
func (w *Watcher) Load(ctx context.Context) error {
	w.mu.Lock()
	loaded := w.loaded
	w.mu.Unlock()
	if loaded {
		return nil
	}
	now := w.o.Now()
	var replay []alert.Alert
	for _, ds := range w.domains {
		as, err := w.loadDomain(ctx, ds, now)
		if err != nil {
			return err
		}
		replay = append(replay, as...)
	}
	w.mu.Lock()
	w.loaded = true
	w.mu.Unlock()
	w.enqueue(ctx, replay)
	w.log.Info("schedule loaded", "domains", len(w.domains), "replayed_alerts", len(replay))
	return nil
}

// loadDomain sets a domain's schedule from its history and returns the
// alerts of its newest scan, to enqueue again.
func (w *Watcher) loadDomain(ctx context.Context, ds *domainState, now time.Time) ([]alert.Alert, error) {
	last, _, states, err := w.o.History.Last(ctx, ds.Name)
	if err != nil {
		return nil, fmt.Errorf("watch: schedule of %s: %w", ds.Name, err)
	}
	ds.last = last
	ds.open = openCounts(states)
	ds.next = now
	if !last.Started.IsZero() && last.Started.Add(ds.Every).After(now) {
		ds.next = last.Started.Add(ds.Every)
	}
	w.met.scanned(ds.Name, last, ds.open)
	if last.ID == "" || w.o.Alerts == nil {
		return nil, nil
	}
	as, err := w.replay(ctx, last, states)
	if err != nil {
		return nil, fmt.Errorf("watch: alerts of %s's last scan: %w", ds.Name, err)
	}
	return as, nil
}

// sync brings the watch list in line with the managed domains: those
// added are loaded and watched, those removed dropped, changed intervals
// applied. A configured domain is left as it is.
func (w *Watcher) sync(ctx context.Context) error {
	if w.o.Managed == nil {
		return nil
	}
	list, err := w.o.Managed.List(ctx)
	if err != nil {
		return fmt.Errorf("watch: reading the managed domains: %w", err)
	}
	want := make(map[string]time.Duration, len(list))
	var order []string
	for _, d := range list {
		if history.ValidDomain(d.Domain) != nil {
			continue
		}
		every := d.Every
		if every <= 0 {
			every = w.o.ManagedEvery
		}
		if _, dup := want[d.Domain]; !dup {
			order = append(order, d.Domain)
		}
		want[d.Domain] = every
	}
	w.mu.Lock()
	var removed, added []string
	kept := make([]*domainState, 0, len(w.domains))
	for _, ds := range w.domains {
		every, ok := want[ds.Name]
		switch {
		case ds.source != SourceAPI:
		case !ok:
			delete(w.byName, ds.Name)
			removed = append(removed, ds.Name)
			continue
		case every != ds.Every:
			ds.Every = every
			if !ds.last.Started.IsZero() && ds.failures == 0 {
				ds.next = ds.last.Started.Add(every)
			}
		}
		kept = append(kept, ds)
	}
	w.domains = kept
	for _, n := range order {
		if w.byName[n] == nil {
			added = append(added, n)
		}
	}
	w.mu.Unlock()
	for _, n := range removed {
		w.met.removed(n)
		w.log.Info("domain no longer watched (removed through the API); its history is kept", "domain", n)
	}
	now := w.o.Now()
	var replay []alert.Alert
	for _, n := range added {
		ds := &domainState{Domain: Domain{Name: n, Every: want[n]}, source: SourceAPI}
		w.met.added(n)
		as, err := w.loadDomain(ctx, ds, now)
		if err != nil {
			w.met.removed(n)
			return err
		}
		replay = append(replay, as...)
		w.mu.Lock()
		if w.byName[n] == nil {
			w.domains = append(w.domains, ds)
			w.byName[n] = ds
		}
		w.mu.Unlock()
		w.log.Info("domain watched (added through the API)", "domain", n, "every", ds.Every, "next", ds.next)
	}
	w.enqueue(ctx, replay)
	return nil
}

// replay rebuilds the alerts of a domain's newest scan from the history.
func (w *Watcher) replay(ctx context.Context, last history.Scan, states []history.FindingState) ([]alert.Alert, error) {
	h := w.o.History
	evs, _, err := h.Events(ctx, store.EventQuery{Domain: last.Domain, Since: last.Started, Until: last.Started.Add(time.Nanosecond)})
	if err != nil {
		return nil, err
	}
	step := history.Step{Scan: last, States: states}
	for _, e := range evs {
		if e.ScanID == last.ID {
			step.Events = append(step.Events, e)
			step.First = step.First || e.Baseline
		}
	}
	var prev history.Scan
	older, _, err := h.Scans(ctx, store.ScanQuery{Domain: last.Domain, Until: last.Started, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(older) > 0 {
		prev = older[0]
	}
	return AlertsOf(&step, prev, w.o.Link), nil
}

// RunDue scans every domain that is due now, through the Runner, and
// returns when they are all done (Load first, when Run did not).
func (w *Watcher) RunDue(ctx context.Context) {
	if err := w.Load(ctx); err != nil {
		w.log.Error("cannot load the schedule", "err", err)
		return
	}
	if err := w.sync(ctx); err != nil && ctx.Err() == nil {
		// The list as it was stays watched; the next tick tries again.
		w.log.Warn("managed domains not reloaded", "err", err)
	}
	w.mu.Lock()
	pending := w.pending
	w.pending = nil
	now := w.o.Now()
	var due []string
	for _, ds := range w.domains {
		if !ds.next.After(now) {
			due = append(due, ds.Name)
		}
	}
	w.mu.Unlock()
	w.enqueue(ctx, pending)
	if len(due) == 0 || ctx.Err() != nil {
		return
	}
	w.log.Info("run", "domains", len(due))
	w.o.Runner.Run(ctx, due, func(r Result) { w.handle(ctx, r) })
}

// handle records one scan's result: a step and its alerts, or a failure.
func (w *Watcher) handle(ctx context.Context, r Result) {
	w.mu.Lock()
	ds := w.byName[history.DomainKey(r.Domain)]
	w.mu.Unlock()
	if ds == nil {
		w.log.Warn("the runner returned a domain that is not watched", "domain", r.Domain)
		return
	}
	if ctx.Err() != nil {
		// Interrupted: not recorded, run again at the next start.
		return
	}
	if r.Err != nil && !r.Outage && r.Snapshot.Empty() {
		w.failed(ctx, ds, r.Err)
		return
	}
	step, err := w.record(ctx, ds, r)
	if err != nil {
		w.failed(ctx, ds, err)
		return
	}
	w.mu.Lock()
	prev := ds.last
	ds.last, ds.open = step.Scan, openCounts(step.States)
	ds.failures, ds.failingSince, ds.lastErr = 0, time.Time{}, ""
	ds.next = step.Scan.Started.Add(ds.Every)
	if now := w.o.Now(); ds.next.Before(now) {
		ds.next = now
	}
	open := ds.open
	w.mu.Unlock()
	w.met.scanned(ds.Name, step.Scan, open)
	w.met.observe(&step.Scan)
	w.log.Info("scanned", "domain", ds.Name, "scan", step.Scan.ID, "complete", step.Scan.Complete,
		"outage", step.Scan.Outage, "events", len(step.Events), "duration", step.Scan.Duration())
	if w.o.Alerts != nil {
		w.enqueue(ctx, AlertsOf(step, prev, w.o.Link))
	}
}

// record moves the domain's history one step and stores it.
func (w *Watcher) record(ctx context.Context, ds *domainState, r Result) (*history.Step, error) {
	if r.Started.IsZero() {
		r.Started = w.o.Now()
	}
	return recordResult(ctx, w.o.History, ds.Name, r)
}

// recordResult moves domain's history one step with r and stores it: the
// scan is compared with the domain's baseline (findings open, refresh,
// resolve) unless it is an outage or failed.
func recordResult(ctx context.Context, h store.History, domain string, r Result) (*history.Step, error) {
	_, base, states, err := h.Last(ctx, domain)
	if err != nil {
		return nil, fmt.Errorf("reading the history of %s: %w", domain, err)
	}
	started, finished := r.Started, r.Finished
	if finished.Before(started) {
		finished = started
	}
	scan := history.Scan{ID: history.NewScanID(started), Domain: domain, Started: started.UTC(), Finished: finished.UTC(),
		Complete: r.Complete && r.Err == nil && !r.Outage, Outage: r.Outage}
	if r.Err != nil {
		scan.Error = clip(r.Err.Error(), 1000)
	}
	snap := r.Snapshot
	snap.Domain = domain
	step := history.Advance(base, states, snap, scan)
	if err := h.Record(ctx, &step); err != nil {
		return nil, fmt.Errorf("recording the scan of %s: %w", domain, err)
	}
	return &step, nil
}

// failed notes a failed scan: the domain is retried after a backoff, the
// failure is logged and counted, and the first failure of a run of them
// is alerted (scan-failed).
func (w *Watcher) failed(ctx context.Context, ds *domainState, err error) {
	now := w.o.Now()
	w.mu.Lock()
	ds.failures++
	first := ds.failures == 1
	if first {
		ds.failingSince = now
	}
	ds.lastErr = err.Error()
	wait := w.o.MinRetry
	for i := 1; i < ds.failures && wait < w.o.MaxRetry; i++ {
		wait *= 2
	}
	wait = min(wait, w.o.MaxRetry, ds.Every)
	ds.next = now.Add(wait)
	since, n := ds.failingSince, ds.failures
	w.mu.Unlock()
	w.met.failed(ds.Name, n)
	w.log.Warn("scan failed; retrying", "domain", ds.Name, "failures", n, "retry_in", wait, "err", err)
	if first && w.o.Alerts != nil {
		sinceID := since.UTC().Format(time.RFC3339Nano)
		w.enqueue(ctx, []alert.Alert{{
			ID:   alert.NewID(ds.Name, alert.KindScanFailed, ds.Name, "", sinceID),
			Time: since, Domain: ds.Name, Kind: alert.KindScanFailed, Severity: scanFailedSeverity, Subject: ds.Name,
			Title: "scan failed (retried in " + wait.String() + "): " + clip(err.Error(), 300),
		}})
	}
}

// enqueue hands alerts to the dispatcher; what it refuses is kept and
// retried before the next run.
func (w *Watcher) enqueue(ctx context.Context, as []alert.Alert) {
	if len(as) == 0 || w.o.Alerts == nil {
		return
	}
	if err := w.o.Alerts.Enqueue(context.WithoutCancel(ctx), as...); err != nil {
		if errors.Is(err, alert.ErrInvalidAlert) {
			w.log.Error("alerts dropped", "alerts", len(as), "err", err)
			return
		}
		w.log.Warn("alerts not spooled; retrying", "alerts", len(as), "err", err)
		w.mu.Lock()
		w.pending = append(w.pending, as...)
		w.mu.Unlock()
	}
}

// Status returns the schedule of every domain, in the watch list's order.
func (w *Watcher) Status() []DomainStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]DomainStatus, 0, len(w.domains))
	for _, ds := range w.domains {
		out = append(out, DomainStatus{Domain: ds.Name, Every: ds.Every, Source: ds.source, Next: ds.next, LastScan: ds.last, Open: ds.open,
			Failures: ds.failures, FailingSince: ds.failingSince, Error: ds.lastErr})
	}
	return out
}

// Domains returns the watched domains' names.
func (w *Watcher) Domains() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.domains))
	for _, ds := range w.domains {
		out = append(out, ds.Name)
	}
	return slices.Clip(out)
}

func openCounts(states []history.FindingState) history.SeverityCounts {
	var c history.SeverityCounts
	for i := range states {
		if states[i].State == history.StateOpen {
			c.Add(states[i].Finding.Severity)
		}
	}
	return c
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
