package watch

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dnsscout/dnsscout/internal/inventory"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// Runner scans a batch of domains: the watch hands it the domains that are
// due and it calls emit once per domain, from any goroutine, as each scan
// ends. Run returns when every domain was emitted; when ctx ends, the
// scans still running stop early, and every domain not finished is
// emitted with ctx's error (the watch records none of them).
//
// Inventory is the watch's runner; tests use their own.
type Runner interface {
	Run(ctx context.Context, domains []string, emit func(Result))
}

// Inventory is the Runner of dnsscout watch: the domains due in one period
// form one inventory run (inventory.Run) on a fresh engine, with its
// --parallel-domains, its fair share of the query budget, its per-run
// caches and its per-domain --max-time.
type Inventory struct {
	// Engine opens the engine of one run and returns what closes it.
	// Required. Each period gets its own: a resolver dropped during an
	// outage is not dropped for good.
	Engine func() (scan.Engine, func(), error)
	// Options are the inventory's (Journal and Related are not used: a
	// watch period is not resumed, and it examines its own list only).
	Options inventory.Options
}

var _ Runner = (*Inventory)(nil)

// Run implements Runner. The engine's resolvers are probed first: when
// they fail it (none usable, all lying), every domain is an outage. A
// domain the inventory could not examine is a failure, or an outage when
// its error says resolution failed (IsOutage).
func (r *Inventory) Run(ctx context.Context, domains []string, emit func(Result)) {
	if r.Engine == nil {
		emitAll(domains, nil, errors.New("watch: Inventory runner without Engine"), emit)
		return
	}
	started := time.Now()
	eng, closeEng, err := r.Engine()
	if err != nil {
		emitAll(domains, nil, err, emit)
		return
	}
	defer closeEng()
	if err := scan.Probe(ctx, eng, domains); err != nil {
		if ctx.Err() != nil {
			emitAll(domains, nil, ctx.Err(), emit)
			return
		}
		emitAll(domains, func(d string) Result {
			return Result{Domain: d, Started: started, Finished: time.Now(), Outage: true, Err: Outage(err)}
		}, nil, emit)
		return
	}
	opts := r.Options
	opts.Journal, opts.Related, opts.Progress = nil, nil, nil
	s := &emitSink{emit: emit, done: make(map[string]bool, len(domains))}
	_, err = inventory.Run(ctx, eng, domains, opts, s)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = errors.New("watch: the inventory did not examine it")
	}
	var rest []string
	s.mu.Lock()
	for _, d := range domains {
		if !s.done[d] {
			rest = append(rest, d)
		}
	}
	s.mu.Unlock()
	emitAll(rest, nil, err, emit)
}

// emitAll emits every domain: with mk's result, or with err.
func emitAll(domains []string, mk func(string) Result, err error, emit func(Result)) {
	for _, d := range domains {
		if mk != nil {
			emit(mk(d))
			continue
		}
		now := time.Now()
		emit(Result{Domain: d, Started: now, Finished: now, Err: err})
	}
}

// emitSink turns each inventory outcome into a Result.
type emitSink struct {
	emit func(Result)
	mu   sync.Mutex
	done map[string]bool
}

func (s *emitSink) Put(_ context.Context, o *inventory.Outcome) error {
	s.mu.Lock()
	s.done[o.Domain] = true
	s.mu.Unlock()
	s.emit(resultOfOutcome(o))
	return nil
}

// resultOfOutcome is ResultOf for an inventory outcome: the scan's times
// are its report's (recon's start and end), or now for a domain that
// failed without one.
func resultOfOutcome(o *inventory.Outcome) Result {
	now := time.Now()
	started, finished := now, now
	if o.Report != nil && o.Report.Result != nil {
		if t := o.Report.Result.Started; !t.IsZero() {
			started = t
		}
		if t := o.Report.Result.Finished; !t.IsZero() {
			finished = t
		}
	}
	return ResultOf(o.Domain, o.Report, o.Err, started, finished)
}
