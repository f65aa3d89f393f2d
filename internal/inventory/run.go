package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/report"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// DefaultParallelDomains is how many domains an inventory examines at once.
const DefaultParallelDomains = 8

// Options tunes an inventory run.
type Options struct {
	// Scan are the options of each domain's scan. Scan.Recon.MaxTime
	// bounds each domain (default none); Scan.Recon.Concurrency is set
	// by Run to the domain's fair share (see Concurrency).
	Scan scan.Options
	// ParallelDomains is how many domains are examined at once; default
	// DefaultParallelDomains.
	ParallelDomains int
	// Concurrency is the query budget of the whole run (queries in
	// flight); default Scan.Recon.Concurrency, or 1,000. Each domain in
	// flight gets an equal share, at least 1 (its recon's concurrency, and
	// its audit's up to the checks' default of 16): one huge zone or one
	// slow nameserver holds its share, never the others'.
	Concurrency int
	// Journal, when set, is the resume journal: domains it holds are
	// skipped, and each domain whose outputs are written is recorded.
	Journal *Journal
	// Related, when set, finds the domains that share the inventory's
	// nameservers or mail exchangers (--expand related): once the list
	// is done, up to ExpandMax of them are examined too, marked
	// discovered. Default nil: no expansion.
	Related Related
	// ExpandMax bounds the discovered domains; default DefaultExpandMax.
	ExpandMax int
	// NoShared turns off the per-run cache of answers that do not depend
	// on the domain (see shared); default false (cache on).
	NoShared bool
	// Progress, when set, is updated as domains finish.
	Progress *Progress
	// Version is the dnsscout version the reports carry.
	Version string
	// Logger receives warnings; nil discards.
	Logger *slog.Logger
}

// Progress counts an inventory's work for a display. Fields are updated
// atomically.
type Progress struct {
	Total   atomic.Int64 // domains in the inventory
	Done    atomic.Int64 // domains finished, resumed ones included
	Failed  atomic.Int64
	Running atomic.Int64
	// CacheHits counts the questions the per-run cache answered (see
	// Summary.SharedHits and OutsideHits).
	CacheHits atomic.Int64
	Findings  [finding.Critical + 1]atomic.Int64
}

// Summary is what an inventory did.
type Summary struct {
	// Totals covers every domain with a result, those a resumed run
	// found in its journal included.
	Totals
	// Total is the number of domains; Resumed those skipped because the
	// journal held them; Interrupted those stopped by the end of ctx,
	// whose results were not written (a resumed run examines them).
	Total, Resumed, Interrupted int
	// Discovered counts the domains expansion added (in Total).
	Discovered int
	// SharedHits counts the nameserver questions (identity, recursion)
	// the per-run cache answered; OutsideHits the questions about names
	// outside the domain asking (its parents' NS/SOA/DS, its
	// nameservers' addresses, ...).
	SharedHits, OutsideHits int64
	Elapsed                 time.Duration
}

// Gate returns a *scan.GateError when findings of the whole inventory
// reach sev.
func (s *Summary) Gate(sev finding.Severity) error {
	if n := s.AtLeast(sev); n > 0 {
		return &scan.GateError{Count: n, At: sev}
	}
	return nil
}

func (o *Options) fill() {
	if o.ParallelDomains <= 0 {
		o.ParallelDomains = DefaultParallelDomains
	}
	if o.Concurrency <= 0 {
		o.Concurrency = o.Scan.Recon.Concurrency
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1000
	}
	o.Scan.Recon.Concurrency = max(1, o.Concurrency/o.ParallelDomains)
	if o.Scan.CheckConcurrency == 0 {
		// The audit's queries share the domain's part too.
		o.Scan.CheckConcurrency = min(16, o.Scan.Recon.Concurrency)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
	if o.ExpandMax <= 0 {
		o.ExpandMax = DefaultExpandMax
	}
}

// Run examines domains through eng, ParallelDomains at a time, and hands
// each domain's outcome to every sink as it finishes, in the order they
// finish; nothing of a domain is kept once its sinks have it. A domain
// that cannot be examined is an outcome too (StatusFailed). With a
// journal, domains already recorded are skipped and each written domain
// is recorded after every sink has it.
//
// When ctx ends, no new domain starts and the scans in flight stop; their
// partial results are not written (a resumed run examines them again), so
// that a resumed run ends with the same outputs as one never interrupted.
// Run then returns the summary and an error wrapping ctx's. A sink or
// journal error stops the run and is returned.
func Run(ctx context.Context, eng scan.Engine, domains []string, opts Options, sinks ...Sink) (*Summary, error) {
	if eng == nil {
		return nil, scan.ErrNoEngine
	}
	opts.fill()
	start := time.Now()
	r := &runner{opts: opts, sinks: sinks, sum: &Summary{Total: len(domains)}, p: opts.Progress, hosts: newHostSet()}
	if opts.Journal != nil {
		r.sum.Totals = opts.Journal.Totals()
		r.hosts.addAll(opts.Journal.Hosts())
	}
	r.eng = eng
	if !opts.NoShared {
		r.sh = newShared(eng, DefaultSharedMax)
		r.sh.progress = r.p
	}
	r.p.Total.Store(int64(len(domains)))
	err := r.phase(ctx, domains, false)
	if err == nil && ctx.Err() == nil && opts.Related != nil {
		var extra []string
		extra, err = r.related(ctx, domains)
		r.sum.Discovered = len(extra)
		r.sum.Total += len(extra)
		r.p.Total.Add(int64(len(extra)))
		if err == nil {
			err = r.phase(ctx, extra, true)
		}
	}
	// Domains stopped before they started are interrupted too.
	r.sum.Interrupted = r.sum.Total - r.sum.Resumed - r.written
	if r.sh != nil {
		r.sum.SharedHits, r.sum.OutsideHits = r.sh.Hits()
	}
	r.sum.Elapsed = time.Since(start)
	if err != nil {
		return r.sum, err
	}
	if err := ctx.Err(); err != nil {
		return r.sum, fmt.Errorf("%w: %d domains not finished: %w", scan.ErrInterrupted, r.sum.Interrupted, err)
	}
	return r.sum, nil
}

// runner is one inventory run.
type runner struct {
	eng     scan.Engine
	sh      *shared // nil with Options.NoShared
	opts    Options
	sinks   []Sink
	sum     *Summary
	p       *Progress
	hosts   *hostSet
	written int
}

// phase examines domains (the list, or the discovered ones) and writes
// each as it finishes. It returns a sink or journal error.
func (r *runner) phase(ctx context.Context, domains []string, discovered bool) error {
	opts, p := r.opts, r.p
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan string)
	results := make(chan *Outcome, opts.ParallelDomains)
	go func() {
		defer close(todo)
		for _, d := range domains {
			if opts.Journal != nil && opts.Journal.Done(d) {
				r.sum.Resumed++
				p.Done.Add(1)
				continue
			}
			select {
			case todo <- d:
			case <-runCtx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range opts.ParallelDomains {
		wg.Go(func() {
			for d := range todo {
				if runCtx.Err() != nil {
					return
				}
				p.Running.Add(1)
				o := examine(runCtx, r.engineFor(d), d, opts, discovered)
				p.Running.Add(-1)
				if o == nil {
					continue // interrupted: not written
				}
				results <- o
			}
		})
	}
	go func() { wg.Wait(); close(results) }()

	var werr error
	for o := range results {
		if werr != nil {
			continue // drain
		}
		var e Entry
		entryOf(o, &e)
		if werr = r.write(runCtx, o, &e); werr != nil {
			cancel()
			continue
		}
		r.hosts.addAll(e.Hosts)
		r.sum.Totals.add(&e)
		r.written++
		p.Done.Add(1)
		if o.Status == StatusFailed {
			p.Failed.Add(1)
		}
		for i, n := range e.Findings {
			p.Findings[i].Add(int64(n))
		}
	}
	return werr
}

// engineFor is the engine domain's scan uses: the run's, through the
// per-run cache unless it is off.
func (r *runner) engineFor(domain string) scan.Engine {
	if r.sh == nil {
		return r.eng
	}
	return r.sh.forDomain(domain)
}

// examine scans one domain. It returns nil when ctx ended during the
// scan (the partial result is dropped).
func examine(ctx context.Context, eng scan.Engine, domain string, opts Options, discovered bool) *Outcome {
	rep, err := scan.Run(ctx, newLimited(eng, opts.Scan.Recon.Concurrency), domain, opts.Scan)
	if ctx.Err() != nil {
		return nil
	}
	o := &Outcome{Domain: domain, Report: rep, Err: err, Status: StatusDone, Discovered: discovered}
	if rep == nil || err != nil {
		if err == nil {
			err = errors.New("no result")
		}
		o.Status, o.Err, o.Report = StatusFailed, err, nil
		o.JSON, _ = json.MarshalIndent(failedDoc{Domain: domain, Error: err.Error(), Discovered: discovered}, "", "  ")
		o.JSON = append(o.JSON, '\n')
		return o
	}
	if rep.Partial() {
		o.Status = StatusPartial
	}
	var buf bytes.Buffer
	if werr := report.Write(&buf, "json", []*scan.Report{rep}, report.Options{Version: opts.Version}); werr != nil {
		o.Status, o.Err, o.Report = StatusFailed, werr, nil
		o.JSON, _ = json.MarshalIndent(failedDoc{Domain: domain, Error: werr.Error()}, "", "  ")
		o.JSON = append(o.JSON, '\n')
		return o
	}
	o.JSON = buf.Bytes()
	if discovered {
		o.JSON = markDiscovered(o.JSON)
	}
	return o
}

// markDiscovered adds "discovered": true as the first member of a
// report's JSON object.
func markDiscovered(doc []byte) []byte {
	rest, ok := bytes.CutPrefix(doc, []byte("{\n"))
	if !ok {
		return doc
	}
	return append([]byte("{\n  \"discovered\": true,\n"), rest...)
}

// write hands o to every sink, then records e in the journal.
func (r *runner) write(ctx context.Context, o *Outcome, e *Entry) error {
	var off int64
	for _, s := range r.sinks {
		if err := s.Put(ctx, o); err != nil {
			return err
		}
		if of, ok := s.(offsetter); ok {
			off = of.Offset()
		}
	}
	if r.opts.Journal == nil {
		return nil
	}
	e.Out = off
	return r.opts.Journal.Record(*e)
}

func entryOf(o *Outcome, e *Entry) {
	e.Domain, e.Status = o.Domain, o.Status
	if o.Err != nil {
		e.Error = o.Err.Error()
	}
	if o.Report != nil {
		for _, f := range o.Report.Findings {
			if f.Severity >= finding.Info && f.Severity <= finding.Critical {
				e.Findings[f.Severity]++
			}
		}
		e.Hosts = hostsOf(o.Report)
	}
}
