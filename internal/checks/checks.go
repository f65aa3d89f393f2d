// Package checks owns dnsscout's exposure audit: an explicit, ordered
// registry of checks that read a recon.Result (and, when an Exchanger is
// given, send their own queries) and turn what a domain's DNS gives away into
// findings. Each check is one Check value (id, fixed text, severities,
// documentation, function) in the ordered registry; its id is public
// vocabulary, and docs/checks.md is generated from the registry.
//
// It does not discover anything (that is recon's job), does not render
// findings (report) and does not compare runs (baseline). Checks never fail
// because one query failed: an unanswerable question is logged and skipped,
// so that a finding always rests on evidence and never on a timeout.
package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

// Errors returned by Run and RunEnv.
var (
	// ErrUnknownCheck is returned (wrapped, naming the valid ids) when a
	// Selection names an id that is not in the registry.
	ErrUnknownCheck = errors.New("checks: unknown check id")
	// ErrNoResult is returned when there is no recon result to audit.
	ErrNoResult = errors.New("checks: no recon result")

	// errOffline: the Env has no Exchanger; the question is skipped.
	errOffline = errors.New("checks: offline")
	// errNoMessage: the Exchanger returned neither a message nor an error.
	errNoMessage = errors.New("checks: empty response")
)

// A Check is one audit check: its stable public id, the fixed text of its
// findings, its documentation and the function that runs it. The registry
// (registry.go) lists every check in order; docs/checks.md is generated from
// it (go test ./internal/checks -run TestChecksDoc -update).
type Check struct {
	// ID is the stable public identifier ("axfr-allowed").
	ID string
	// Title is the title of every finding of the check.
	Title string
	// Severity lists the severities the check's findings can have,
	// highest first, each with when it applies (empty when it always does).
	Severity []Rating
	// Remediation and References (URLs) are copied into every finding.
	Remediation string
	References  []string
	// Doc is the check's section of docs/checks.md.
	Doc Doc
	// Run returns the findings the check makes for env, with Severity,
	// Subject and Evidence set (see newFinding); RunEnv fills in the rest from
	// the Check. An error means the check could not run at all (cancelled
	// context, broken input); failed queries are not errors.
	Run func(ctx context.Context, env *Env) ([]finding.Finding, error)
}

// A Rating is one severity a check's findings can have, and when.
type Rating struct {
	Level finding.Severity
	// When says which findings get Level ("mail domain"); empty when every
	// finding of the check does.
	When string
}

// Doc is the documentation of a check: each field is one paragraph of
// Markdown (a bullet of its section in docs/checks.md).
type Doc struct {
	// Detects is what the check reports, and the finding's subject.
	Detects string
	// How is where the facts come from (optional).
	How string
	// Severity explains the severity, or which one applies when.
	Severity string
	// Fix is how to make the finding go away.
	Fix string
	// References names the references for people (Check.References holds
	// the URLs).
	References string
	// Data names the data the check ships, with its source (optional).
	Data string
}

// Env is what a check sees: the recon result, the network (optional), a
// clock and a logger. The zero value of every optional field is usable. An
// Env serves one audit: it caches the parsed records and the answers of the
// checks' queries.
type Env struct {
	// Result is the recon result under audit. Required.
	Result *recon.Result
	// Exchanger sends the checks' own queries. nil means offline: network
	// checks use only what Result holds, or skip.
	Exchanger Exchanger
	// Now returns the current time (signature validity). Default time.Now.
	Now func() time.Time
	// Logger receives skips and query failures. Default: discard.
	Logger *slog.Logger
	// Concurrency bounds the queries one check has in flight. Default 16.
	Concurrency int
	// NameserverPort is the port of the nameserver addresses in Result
	// (recon.Options.NameserverPort), for direct queries. Default 53.
	NameserverPort uint16
	// ReportDocumentation makes private-address-leak report the
	// documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
	// 2001:db8::/32, 3fff::/20). Default false: they reveal no network and
	// are the stand-in public addresses of test and lab worlds.
	ReportDocumentation bool

	initOnce sync.Once
	once     sync.Once
	parsed   []parsedRecord
	byType   map[uint16][]parsedRecord
	byOwner  map[string][]parsedRecord
	skipped  int
	cache    lookupCache
}

// Selection picks checks by id: Only (if not empty) keeps just those, Skip
// removes ids. Ids are validated against Known.
type Selection struct {
	Only []string
	Skip []string
}

// All returns every check in registry order. The order is the order of
// docs/checks.md; it does not affect the order of findings (Run sorts them).
func All() []Check {
	out := make([]Check, len(registry))
	for i, c := range registry {
		out[i] = *c
	}
	return out
}

// Known returns the id of every check in registry order.
func Known() []string {
	all := All()
	ids := make([]string, len(all))
	for i, c := range all {
		ids[i] = c.ID
	}
	return ids
}

// Select returns the checks sel picks, in registry order, or an error
// wrapping ErrUnknownCheck that lists the valid ids.
func Select(sel Selection) ([]Check, error) {
	all := All()
	known := Known()
	var unknown []string
	for _, id := range append(slices.Clone(sel.Only), sel.Skip...) {
		if !slices.Contains(known, id) && !slices.Contains(unknown, id) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: %s (valid ids: %s)", ErrUnknownCheck,
			strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	var out []Check
	for _, c := range all {
		if len(sel.Only) > 0 && !slices.Contains(sel.Only, c.ID) {
			continue
		}
		if slices.Contains(sel.Skip, c.ID) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// Run audits res with the checks sel picks, sending queries through ex
// (nil: offline). See RunEnv.
func Run(ctx context.Context, res *recon.Result, ex Exchanger, sel Selection) ([]finding.Finding, error) {
	return RunEnv(ctx, &Env{Result: res, Exchanger: ex}, sel)
}

// RunEnv runs the selected checks concurrently over env and returns their
// findings sorted by severity (highest first), then id, then subject, with
// duplicates (same id and subject) merged. A check that fails does not stop
// the others: its error is joined into the returned error, which names the
// check, and the findings of the other checks are still returned.
func RunEnv(ctx context.Context, env *Env, sel Selection) ([]finding.Finding, error) {
	if env == nil || env.Result == nil {
		return nil, ErrNoResult
	}
	list, err := Select(sel)
	if err != nil {
		return nil, err
	}
	env.init()
	results := make([][]finding.Finding, len(list))
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, c := range list {
		wg.Go(func() {
			defer func() {
				// A check bug must not take the audit down with it.
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("checks: %s: panic: %v", c.ID, r)
				}
			}()
			fs, err := c.Run(ctx, env)
			if err != nil {
				errs[i] = fmt.Errorf("checks: %s: %w", c.ID, err)
			}
			for j := range fs {
				c.stamp(&fs[j])
			}
			results[i] = fs
		})
	}
	wg.Wait()
	var all []finding.Finding
	for _, fs := range results {
		all = append(all, fs...)
	}
	return Normalize(all), errors.Join(errs...)
}

// stamp fills in the check's id and fixed text on one of its findings.
func (c *Check) stamp(f *finding.Finding) {
	f.ID = c.ID
	f.Title = c.Title
	f.Remediation = c.Remediation
	f.References = slices.Clone(c.References)
}

// Normalize sorts findings by severity (highest first), id, subject and
// evidence, and merges findings with the same id and subject: the merged
// finding keeps the highest severity and the union of the evidence, in
// first-seen order. It never returns nil for a non-nil input, so that JSON
// shows [] rather than null.
func Normalize(fs []finding.Finding) []finding.Finding {
	out := make([]finding.Finding, 0, len(fs))
	for _, f := range fs {
		f.Evidence = slices.Clone(f.Evidence)
		f.References = slices.Clone(f.References)
		out = append(out, f)
	}
	// Group duplicates (highest severity first within a group), merge,
	// then order for presentation.
	slices.SortStableFunc(out, func(a, b finding.Finding) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		if c := strings.Compare(a.Subject, b.Subject); c != 0 {
			return c
		}
		return compareFindings(a, b)
	})
	merged := out[:0]
	for _, f := range out {
		if n := len(merged); n > 0 && merged[n-1].ID == f.ID && merged[n-1].Subject == f.Subject {
			prev := &merged[n-1]
			for _, e := range f.Evidence {
				if !slices.Contains(prev.Evidence, e) {
					prev.Evidence = append(prev.Evidence, e)
				}
			}
			for _, r := range f.References {
				if !slices.Contains(prev.References, r) {
					prev.References = append(prev.References, r)
				}
			}
			continue
		}
		merged = append(merged, f)
	}
	slices.SortStableFunc(merged, compareFindings)
	return merged
}

func compareFindings(a, b finding.Finding) int {
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Subject, b.Subject); c != 0 {
		return c
	}
	return slices.Compare(a.Evidence, b.Evidence)
}

// init fills the defaults of env once per run.
func (e *Env) init() { e.initOnce.Do(e.fill) }

func (e *Env) fill() {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Logger == nil {
		e.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.Logger = e.Logger.With("component", "checks")
	if e.Concurrency <= 0 {
		e.Concurrency = 16
	}
	if e.NameserverPort == 0 {
		e.NameserverPort = 53
	}
}

// forEach runs fn for every index below n with at most env.Concurrency
// calls at once, stopping early when ctx is done. Callers write results into
// index-addressed slices so that the output order does not depend on timing.
func (e *Env) forEach(ctx context.Context, n int, fn func(i int)) error {
	limit := max(e.Concurrency, 1)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		case sem <- struct{}{}:
		}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
	return ctx.Err()
}
