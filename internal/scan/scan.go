// Package scan is the "scan a domain" job as one library call: recon, then
// the audit checks on what recon found, then the comparison with a
// baseline, assembled into one Report — what package report renders and
// what `dnsscout recon --format json` prints. The CLI, the API's recon
// page and the demo call Run (or Stream) once per domain with one shared
// Engine; so can anything that scans many domains or scans again and again.
//
// Each stage returns its own part and scan puts the parts together: recon
// knows nothing of checks, baselines or reports, and nothing writes to a
// recon.Result after recon returns. scan does not parse flags (package
// cli), render (package report) or own the engine: the caller creates it
// (a *resolver.Resolver), probes it once (Probe), shares it between any
// number of concurrent Run calls, and closes it.
package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/dnsscout/dnsscout/internal/baseline"
	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/checks"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

// Errors returned by Run and Stream; recon's (recon.ErrNoSuchDomain,
// recon.ErrNoAnswer, invalid names) are returned as they are.
var (
	ErrNoEngine = errors.New("scan: no engine")
	ErrOptions  = errors.New("scan: invalid options")
	// ErrInterrupted is wrapped, with the context's error, when ctx ended
	// during a scan: the report returned beside it holds what was found
	// until then, marked partial.
	ErrInterrupted = errors.New("scan: interrupted")
)

// Engine is what recon and the checks need to send queries: recursive
// queries through the configured resolvers, direct queries to a chosen
// (authoritative) server, and zone transfers. *resolver.Resolver
// implements it, and Health and Prober too. One engine serves any number
// of concurrent scans.
type Engine interface {
	Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error)
	Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error)
	Transfer(ctx context.Context, server netip.AddrPort, zone string, qtype uint16, serial uint32) <-chan resolver.Envelope
}

// Health is the optional ability of an engine to report its resolver pool;
// with it a Report lists the resolvers (Report.Resolvers) and counts the
// responses the engine dropped and the attempts it repeated (Stats).
type Health interface {
	Stats() resolver.Stats
	Servers() []resolver.ServerStatus
}

// Prober is the optional ability of an engine to test its resolvers for
// lies before use (see Probe).
type Prober interface {
	Probe(ctx context.Context, zones []string) error
}

var (
	_ Engine = (*resolver.Resolver)(nil)
	_ Health = (*resolver.Resolver)(nil)
	_ Prober = (*resolver.Resolver)(nil)
)

// Options tunes one scan. The zero value runs every recon stage and every
// audit check, with no baseline.
type Options struct {
	// Recon are recon's options. Stream replaces OnEvent; a nil Logger
	// becomes Options.Logger. Progress (per domain) is the caller's.
	Recon recon.Options
	// NoChecks skips the audit: Findings is then empty. Default false.
	NoChecks bool
	// Checks selects the audit checks by id; the zero value runs them all.
	Checks checks.Selection
	// CheckConcurrency bounds the queries one check has in flight; default
	// 16 (checks.Env.Concurrency).
	CheckConcurrency int
	// Baseline, when set, is an earlier run's --format json output: the
	// report's Changes say what is new, changed or gone since then, and
	// its findings are marked. Default nil: no comparison.
	Baseline *baseline.File
	// Logger receives the stages' debug and warning logs; nil discards.
	Logger *slog.Logger
}

// SelectChecks sets the audit the way a user picks checks by id: only
// (when not empty) keeps those, skip drops those, and a skip of "all"
// turns the audit off (NoChecks). An unknown id is checks.Select's error
// (it wraps checks.ErrUnknownCheck and lists the valid ids).
func (o *Options) SelectChecks(only, skip []string) error {
	if slices.Contains(skip, "all") {
		o.NoChecks, o.Checks = true, checks.Selection{}
		return nil
	}
	sel := checks.Selection{Only: only, Skip: skip}
	if _, err := checks.Select(sel); err != nil {
		return err
	}
	o.NoChecks, o.Checks = false, sel
	return nil
}

func (o *Options) check() error {
	if !o.NoChecks {
		if _, err := checks.Select(o.Checks); err != nil {
			return fmt.Errorf("%w: %w", ErrOptions, err)
		}
	}
	if o.CheckConcurrency < 0 {
		return fmt.Errorf("%w: check concurrency must not be negative", ErrOptions)
	}
	return nil
}

// Event is one step of a streamed scan. Exactly one of Recon, Finding and
// Report is set. A scan streams recon's discoveries while recon runs,
// then the findings in report order, then the report itself, last.
type Event struct {
	Domain string
	// Recon is one discovery (name, record, wildcard, nameserver).
	Recon *recon.Event
	// Finding is one audit finding, with its baseline mark.
	Finding *finding.Finding
	// Report closes the domain's stream.
	Report *Report
}

// Run scans target through eng: recon, the audit, the baseline
// comparison. It returns the assembled Report, or a nil Report and recon's
// error when the domain could not be examined at all (invalid name,
// NXDOMAIN at its parent, nobody answering for it).
//
// When ctx ends (an interrupt) no further query is sent: the audit judges
// offline what was found, the report is marked partial ("complete":
// false) and returned with an error wrapping ErrInterrupted and ctx's
// error. When recon.Options.MaxTime runs out the report is partial too,
// but the audit runs normally and the error is nil: the bound was asked
// for. The caller decides what either means for its exit code.
//
// Run may be called concurrently with one engine.
func Run(ctx context.Context, eng Engine, target string, opts Options) (*Report, error) {
	return Stream(ctx, eng, target, opts, nil)
}

// Stream is Run that also hands each step to emit as it happens (see
// Event): recon's discoveries from several goroutines, one call at a time,
// then the findings and the report from the calling goroutine. A nil emit
// discards.
func Stream(ctx context.Context, eng Engine, target string, opts Options, emit func(Event)) (*Report, error) {
	if eng == nil {
		return nil, ErrNoEngine
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	ro := opts.Recon
	if ro.Logger == nil {
		ro.Logger = opts.Logger
	}
	ro.OnEvent = nil
	if emit != nil {
		ro.OnEvent = func(ev recon.Event) { emit(Event{Domain: ev.Domain, Recon: &ev}) }
	}
	health, _ := eng.(Health)
	var before resolver.Stats
	if health != nil {
		before = health.Stats()
	}
	res, err := recon.Run(ctx, eng, target, ro)
	if err != nil && (ctx.Err() == nil || res == nil) {
		return nil, err
	}
	rep := &Report{Result: res, Stats: statsOf(res.Stats), Resolvers: []ResolverStatus{}}
	if health != nil {
		rep.addHealth(health, before)
	}
	rep.Findings = audit(ctx, eng, res, opts, ro)
	rep.Changes = opts.Baseline.Against(rep.baselineRun())
	if ctx.Err() != nil && !rep.Partial() {
		// Recon finished; the audit was cut short.
		rep.MarkPartial(recon.Gap{Stage: "interrupted", Reason: "the run was stopped during the audit: some checks did not finish"})
	}
	if emit != nil {
		for i := range rep.Findings {
			emit(Event{Domain: rep.Domain, Finding: &rep.Findings[i]})
		}
		emit(Event{Domain: rep.Domain, Report: rep})
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("%w: %s: %w", ErrInterrupted, rep.Domain, err)
	}
	return rep, nil
}

// audit runs the selected checks on res and returns their findings (never
// nil). The checks send their own queries through eng, except in
// passive-only mode (their queries would reach the target's servers) and
// after an interrupt, when they judge offline what recon found.
func audit(ctx context.Context, eng Engine, res *recon.Result, opts Options, ro recon.Options) []finding.Finding {
	if opts.NoChecks {
		return []finding.Finding{}
	}
	env := &checks.Env{Result: res, Exchanger: eng, Logger: ro.Logger, NameserverPort: ro.NameserverPort, Concurrency: opts.CheckConcurrency}
	auditCtx := ctx
	if ro.PassiveOnly || ctx.Err() != nil {
		env.Exchanger = nil
		auditCtx = context.WithoutCancel(ctx)
	}
	found, err := checks.RunEnv(auditCtx, env, opts.Checks)
	if err != nil && ctx.Err() == nil && ro.Logger != nil {
		ro.Logger.Warn("audit incomplete", "domain", res.Domain, "err", err)
	}
	if found == nil {
		found = []finding.Finding{}
	}
	return found
}

// Annotate compares every report with the run of the same domain in f,
// sets its Changes and marks its findings, and returns the changes keyed
// by domain; domains f does not hold get a set with Missing. It is for
// reports made without Options.Baseline (read back from a file, say). A
// nil f returns nil.
func Annotate(f *baseline.File, reports []*Report) map[string]*change.Set {
	if f == nil {
		return nil
	}
	out := make(map[string]*change.Set, len(reports))
	for _, r := range reports {
		if r == nil || r.Result == nil {
			continue
		}
		r.Changes = f.Against(r.baselineRun())
		out[r.Domain] = r.Changes
	}
	return out
}
