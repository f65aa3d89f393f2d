package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/baseline"
	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/checks"
	"github.com/dnsscout/dnsscout/internal/demo"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/passive"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// world is the offline demo world with one engine in front of it.
type world struct {
	*demo.World
	eng *resolver.Resolver
}

func startWorld(t testing.TB) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the demo DNS world")
	}
	w, err := demo.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	eng, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{w.Resolver}, Concurrency: 64, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return &world{World: w, eng: eng}
}

// options are the scan options for the demo world; PTR sweeps, brute
// force and SRV probes are left out (they only cost time here).
func (w *world) options() scan.Options {
	return scan.Options{Recon: recon.Options{NameserverPort: w.Port, Concurrency: 64, NoPTR: true, NoBruteforce: true, NoSRV: true}}
}

func findingKeys(fs []finding.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID + " " + f.Subject + " " + f.Change
	}
	return out
}

func nameSet(r *scan.Report) []string {
	var out []string
	for _, n := range r.Names {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out
}

// TestStreamOrder: a streamed scan hands over recon's discoveries, then
// every finding in report order, then the report, last and once.
func TestStreamOrder(t *testing.T) {
	w := startWorld(t)
	var mu sync.Mutex
	var events []scan.Event
	rep, err := scan.Stream(t.Context(), w.eng, "example.net", w.options(), func(ev scan.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	phase := 0 // 0 recon, 1 findings, 2 report
	var streamed []finding.Finding
	discoveries := 0
	for i, ev := range events {
		set := 0
		for _, b := range []bool{ev.Recon != nil, ev.Finding != nil, ev.Report != nil} {
			if b {
				set++
			}
		}
		if set != 1 {
			t.Fatalf("event %d sets %d parts, want 1: %+v", i, set, ev)
		}
		if ev.Domain != "example.net" {
			t.Errorf("event %d for domain %q", i, ev.Domain)
		}
		switch {
		case ev.Recon != nil:
			if phase > 0 {
				t.Fatalf("recon event %d after the audit began", i)
			}
			discoveries++
		case ev.Finding != nil:
			if phase > 1 {
				t.Fatalf("finding %d after the report", i)
			}
			phase = 1
			streamed = append(streamed, *ev.Finding)
		default:
			if phase == 2 {
				t.Fatalf("second report at event %d", i)
			}
			phase = 2
			if ev.Report != rep {
				t.Error("the report event is not the report returned")
			}
		}
	}
	if phase != 2 || events[len(events)-1].Report == nil {
		t.Fatal("the stream did not end with the report")
	}
	if discoveries < len(rep.Names) {
		t.Errorf("%d discoveries streamed for %d names", discoveries, len(rep.Names))
	}
	if len(rep.Findings) == 0 || !slices.Equal(findingKeys(streamed), findingKeys(rep.Findings)) {
		t.Errorf("streamed findings %v, report has %v", findingKeys(streamed), findingKeys(rep.Findings))
	}
}

// TestInterrupt: ending ctx mid-recon returns the report of what was
// found, audited offline and marked partial, beside an error that says
// why.
func TestInterrupt(t *testing.T) {
	w := startWorld(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var sawReport atomic.Bool
	rep, err := scan.Stream(ctx, w.eng, "example.com", w.options(), func(ev scan.Event) {
		if ev.Recon != nil && ev.Recon.Name != nil {
			cancel() // the first name found
		}
		if ev.Report != nil {
			sawReport.Store(true)
		}
	})
	if !errors.Is(err, scan.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want ErrInterrupted wrapping context.Canceled", err)
	}
	if rep == nil {
		t.Fatal("no report after an interrupt")
	}
	if !rep.Partial() || !slices.ContainsFunc(rep.Gaps, func(g recon.Gap) bool { return g.Stage == "interrupted" }) {
		t.Errorf("report not marked interrupted: complete %v gaps %+v", rep.Complete, rep.Gaps)
	}
	if rep.Findings == nil || rep.Resolvers == nil {
		t.Errorf("nil lists in a partial report: findings %v resolvers %v", rep.Findings, rep.Resolvers)
	}
	if len(rep.Names) == 0 {
		t.Error("the names found before the interrupt were dropped")
	}
	if !sawReport.Load() {
		t.Error("a partial scan did not stream its report")
	}
}

// TestMaxTime: recon's own bound ends the scan early without an error;
// the audit still runs on what was found.
func TestMaxTime(t *testing.T) {
	w := startWorld(t)
	opts := w.options()
	opts.Recon.MaxTime = 50 * time.Millisecond
	opts.Recon.NoBruteforce = false
	opts.Recon.Wordlist = bigWordlist(200000)
	rep, err := scan.Run(t.Context(), w.eng, "example.com", opts)
	if err != nil {
		t.Fatalf("max-time scan: %v", err)
	}
	if !rep.Partial() || !slices.ContainsFunc(rep.Gaps, func(g recon.Gap) bool { return g.Stage == "max-time" }) {
		t.Errorf("report not marked max-time: gaps %+v", rep.Gaps)
	}
	if rep.Findings == nil {
		t.Error("nil findings")
	}
}

func bigWordlist(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "w" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i)
	}
	return out
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestFailures: what Run refuses, and what it passes on from recon.
func TestFailures(t *testing.T) {
	w := startWorld(t)
	tests := []struct {
		name   string
		eng    scan.Engine
		target string
		opts   func(*scan.Options)
		want   error
	}{
		{name: "no engine", target: "example.com", want: scan.ErrNoEngine},
		{name: "unknown check", eng: w.eng, target: "example.com", opts: func(o *scan.Options) { o.Checks.Only = []string{"no-such-check"} }, want: scan.ErrOptions},
		{name: "negative check concurrency", eng: w.eng, target: "example.com", opts: func(o *scan.Options) { o.CheckConcurrency = -1 }, want: scan.ErrOptions},
		{name: "nxdomain", eng: w.eng, target: "nonexistent.example.com", want: recon.ErrNoSuchDomain},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := w.options()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			rep, err := scan.Run(t.Context(), tc.eng, tc.target, opts)
			if !errors.Is(err, tc.want) || rep != nil {
				t.Errorf("got %v, %v; want nil, %v", rep, err, tc.want)
			}
		})
	}
}

// TestChecksSelection: the audit runs the selected checks only, or none.
func TestChecksSelection(t *testing.T) {
	w := startWorld(t)
	ids := func(opts scan.Options) []string {
		t.Helper()
		rep, err := scan.Run(t.Context(), w.eng, "example.net", opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Findings == nil {
			t.Fatal("nil findings: JSON would say null")
		}
		out := []string{}
		for _, f := range rep.Findings {
			if !slices.Contains(out, f.ID) {
				out = append(out, f.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	all := ids(w.options())
	if !slices.Contains(all, "single-nameserver") || len(all) < 2 {
		t.Fatalf("the whole audit found %v", all)
	}
	tests := []struct {
		name string
		opts func(*scan.Options)
		want []string // finding ids, deduplicated and sorted
	}{
		{name: "none", opts: func(o *scan.Options) { o.NoChecks = true }, want: []string{}},
		{name: "only", opts: func(o *scan.Options) { o.Checks = checks.Selection{Only: []string{"single-nameserver"}} }, want: []string{"single-nameserver"}},
		{name: "skip", opts: func(o *scan.Options) { o.Checks = checks.Selection{Skip: []string{"single-nameserver"}} },
			want: slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == "single-nameserver" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := w.options()
			tc.opts(&opts)
			if got := ids(opts); !slices.Equal(got, tc.want) {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBaseline: a scan compared with an earlier one says what changed and
// marks its findings; the earlier run is read as --format json output.
func TestBaseline(t *testing.T) {
	w := startWorld(t)
	first, err := scan.Run(t.Context(), w.eng, "example.com", w.options())
	if err != nil {
		t.Fatal(err)
	}
	// The earlier run knew one name fewer, one name more, and lacked the
	// first finding.
	prev := *first
	res := *first.Result
	prev.Result = &res
	res.Names = append(slices.Clone(res.Names[1:]), recon.Name{Name: "retired.example.com", Addresses: []string{"198.51.100.99"}})
	prev.Findings = slices.Clone(first.Findings[1:])
	b, err := json.Marshal(&prev)
	if err != nil {
		t.Fatal(err)
	}
	base, err := baseline.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	base.Path = "prev.json"
	opts := w.options()
	opts.Baseline = base
	rep, err := scan.Run(t.Context(), w.eng, "example.com", opts)
	if err != nil {
		t.Fatal(err)
	}
	cs := rep.Changes
	if cs == nil || cs.Baseline != "prev.json" || cs.Missing {
		t.Fatalf("changes %+v", cs)
	}
	if cs.Summary.Names != (change.Counts{New: 1, Gone: 1}) {
		t.Errorf("name changes %+v, want one new and one gone", cs.Summary.Names)
	}
	if cs.Summary.Findings.New != 1 || rep.Findings[0].Change != change.New {
		t.Errorf("finding changes %+v, first finding marked %q", cs.Summary.Findings, rep.Findings[0].Change)
	}
	for _, f := range rep.Findings[1:] {
		if f.Change != "" {
			t.Errorf("unchanged finding %s marked %q", f.ID, f.Change)
		}
	}
	// A domain the baseline does not hold: everything is new.
	other, err := scan.Run(t.Context(), w.eng, "example.net", opts)
	if err != nil {
		t.Fatal(err)
	}
	if other.Changes == nil || !other.Changes.Missing {
		t.Errorf("changes for a domain missing from the baseline: %+v", other.Changes)
	}
}

// TestSharedEngine: scans running at once on one engine each report what
// a scan of their domain alone reports (run with -race). example.net is
// scanned too but not compared: its wildcard makes recon's names vary
// from run to run even alone.
func TestSharedEngine(t *testing.T) {
	w := startWorld(t)
	alone := map[string]*scan.Report{}
	for _, d := range demo.Domains {
		r, err := scan.Run(t.Context(), w.eng, d, w.options())
		if err != nil {
			t.Fatal(err)
		}
		alone[d] = r
	}
	got := make([]*scan.Report, len(demo.Domains))
	var wg sync.WaitGroup
	for i, d := range demo.Domains {
		wg.Go(func() {
			opts := w.options()
			opts.Recon.Progress = &recon.Progress{} // per-domain progress
			r, err := scan.Run(t.Context(), w.eng, d, opts)
			if err != nil {
				t.Error(d, err)
				return
			}
			got[i] = r
		})
	}
	wg.Wait()
	for i, d := range demo.Domains {
		r := got[i]
		if r == nil {
			continue
		}
		if r.Domain != d {
			t.Errorf("report %d is for %s, want %s", i, r.Domain, d)
		}
		if d == "example.net" {
			continue
		}
		if !slices.Equal(nameSet(r), nameSet(alone[d])) {
			t.Errorf("%s: names %v concurrently, %v alone", d, nameSet(r), nameSet(alone[d]))
		}
		if !slices.Equal(findingKeys(r.Findings), findingKeys(alone[d].Findings)) {
			t.Errorf("%s: findings %v concurrently, %v alone", d, findingKeys(r.Findings), findingKeys(alone[d].Findings))
		}
		if r.Stats.Queries == 0 || len(r.Resolvers) != 1 {
			t.Errorf("%s: stats %+v, resolvers %+v", d, r.Stats, r.Resolvers)
		}
	}
}

// countingEngine is an engine without the optional abilities: it counts
// what is sent through it.
type countingEngine struct {
	eng     scan.Engine
	queries atomic.Int64
}

func (c *countingEngine) Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	c.queries.Add(1)
	return c.eng.Exchange(ctx, q)
}

func (c *countingEngine) Direct(ctx context.Context, s netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	c.queries.Add(1)
	return c.eng.Direct(ctx, s, q)
}

func (c *countingEngine) Transfer(ctx context.Context, s netip.AddrPort, zone string, qtype uint16, serial uint32) <-chan resolver.Envelope {
	c.queries.Add(1)
	return c.eng.Transfer(ctx, s, zone, qtype, serial)
}

// TestPassiveOnly: in passive-only mode neither recon nor the audit sends
// a query; an engine without Health gives an empty resolver list.
func TestPassiveOnly(t *testing.T) {
	w := startWorld(t)
	ce := &countingEngine{eng: w.eng}
	opts := w.options()
	opts.Recon.PassiveOnly = true
	opts.Recon.Passive = []passive.Source{demo.PassiveSource()}
	rep, err := scan.Run(t.Context(), ce, "example.com", opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := ce.queries.Load(); n != 0 {
		t.Errorf("%d queries sent in passive-only mode", n)
	}
	if len(rep.Names) == 0 {
		t.Error("no names from the passive source")
	}
	if rep.Resolvers == nil || len(rep.Resolvers) != 0 {
		t.Errorf("resolvers %v, want []", rep.Resolvers)
	}
	if err := scan.Probe(t.Context(), ce, []string{"example.com"}); err != nil {
		t.Errorf("Probe of an engine that cannot probe: %v", err)
	}
}

// TestReportJSON: a Report's JSON is recon's fields, then findings,
// changes, resolvers and stats, recon's own stats replaced — the
// contract's order — and it reads back.
func TestReportJSON(t *testing.T) {
	rep := &scan.Report{
		Result: &recon.Result{Domain: "example.com", Names: []recon.Name{{Name: "www.example.com"}}, Records: []recon.Record{},
			Stats: recon.Stats{Queries: 1}},
		Findings:  []finding.Finding{{ID: "wildcard", Subject: "*.example.com", Severity: finding.Low}},
		Changes:   &change.Set{Domain: "example.com"},
		Resolvers: []scan.ResolverStatus{{Address: "192.0.2.53:53", Healthy: true}},
		Stats:     scan.Stats{Queries: 7, Dropped: 2, Retries: 3},
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(keys); n < 5 || !slices.Equal(keys[n-4:], []string{"findings", "changes", "resolvers", "stats"}) || keys[0] != "domain" {
		t.Errorf("keys %v: want recon's first, then findings, changes, resolvers, stats", keys)
	}
	if strings.Count(string(b), `"stats"`) != 1 || !strings.Contains(string(b), `"stats":{"queries":7,"responses":0,"timeouts":0,"dropped":2,"retries":3,"tcp":0,"duration_ms":0}`) {
		t.Errorf("stats not the scan's: %s", b)
	}
	var back scan.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	if !bytes.Equal(again, b) {
		t.Errorf("round trip changed the JSON:\n%s\n%s", b, again)
	}
}

func TestGate(t *testing.T) {
	reps := []*scan.Report{
		{Findings: []finding.Finding{{Severity: finding.High}, {Severity: finding.Low}}},
		nil,
		{Findings: []finding.Finding{{Severity: finding.Critical}}},
	}
	tests := []struct {
		at   finding.Severity
		want int // 0: passes
	}{
		{finding.Info, 3},
		{finding.Medium, 2},
		{finding.Critical, 1},
	}
	for _, tc := range tests {
		t.Run(tc.at.String(), func(t *testing.T) {
			err := scan.Gate(reps, tc.at)
			var g *scan.GateError
			if !errors.As(err, &g) || g.Count != tc.want || g.At != tc.at {
				t.Fatalf("Gate(%s) = %v, want %d findings", tc.at, err, tc.want)
			}
			if want := itoa(tc.want) + " findings at or above " + tc.at.String(); err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
		})
	}
	if err := scan.Gate(reps[:1], finding.Critical); err != nil {
		t.Errorf("Gate below every finding: %v", err)
	}
	if err := scan.Gate(nil, finding.Info); err != nil {
		t.Errorf("Gate of no reports: %v", err)
	}
}

func TestProbeZones(t *testing.T) {
	tests := []struct {
		targets []string
		want    []string
	}{
		{nil, []string{"invalid"}},
		{[]string{"example.com", "www.example.com", "example.co.uk"}, []string{"invalid", "com", "co.uk"}},
		{[]string{"com"}, []string{"invalid"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.targets, ","), func(t *testing.T) {
			if got := scan.ProbeZones(tc.targets); !slices.Equal(got, tc.want) {
				t.Errorf("ProbeZones(%v) = %v, want %v", tc.targets, got, tc.want)
			}
		})
	}
}

// TestSelectChecks: the user's --checks and --skip-checks, "all" included.
func TestSelectChecks(t *testing.T) {
	tests := []struct {
		name       string
		only, skip []string
		noChecks   bool
		err        error
	}{
		{name: "default"},
		{name: "only", only: []string{"wildcard"}},
		{name: "skip all", skip: []string{"wildcard", "all"}, noChecks: true},
		{name: "unknown", only: []string{"no-such-check"}, err: checks.ErrUnknownCheck},
		{name: "unknown skip", skip: []string{"no-such-check"}, err: checks.ErrUnknownCheck},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := scan.Options{NoChecks: !tc.noChecks} // Select must set it either way
			err := o.SelectChecks(tc.only, tc.skip)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "valid ids: axfr-allowed") {
					t.Errorf("error %q does not list the valid ids", err)
				}
				return
			}
			if o.NoChecks != tc.noChecks {
				t.Errorf("NoChecks %v, want %v", o.NoChecks, tc.noChecks)
			}
			if !tc.noChecks && (!slices.Equal(o.Checks.Only, tc.only) || !slices.Equal(o.Checks.Skip, tc.skip)) {
				t.Errorf("selection %+v", o.Checks)
			}
		})
	}
}

// auditCanceller cancels its context at the first query of the audit:
// scan asks an engine with Health for its figures before recon and again
// when recon has returned, so a query after the second call is the
// audit's.
type auditCanceller struct {
	*resolver.Resolver
	cancel context.CancelFunc
	calls  atomic.Int32
	fired  atomic.Bool
}

func (a *auditCanceller) Stats() resolver.Stats {
	a.calls.Add(1)
	return a.Resolver.Stats()
}

func (a *auditCanceller) query() {
	if a.calls.Load() >= 2 && a.fired.CompareAndSwap(false, true) {
		a.cancel()
	}
}

func (a *auditCanceller) Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	a.query()
	return a.Resolver.Exchange(ctx, q)
}

func (a *auditCanceller) Direct(ctx context.Context, s netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	a.query()
	return a.Resolver.Direct(ctx, s, q)
}

// TestInterruptDuringAudit: an interrupt after recon finished stops the
// audit's queries; the findings made so far are kept and the report is
// marked partial, naming the audit.
func TestInterruptDuringAudit(t *testing.T) {
	w := startWorld(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	eng := &auditCanceller{Resolver: w.eng, cancel: cancel}
	rep, err := scan.Run(ctx, eng, "example.com", w.options())
	if !eng.fired.Load() {
		t.Fatal("the audit sent no query: nothing was interrupted")
	}
	if !errors.Is(err, scan.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want ErrInterrupted wrapping context.Canceled", err)
	}
	if rep == nil || rep.Findings == nil {
		t.Fatalf("report %v", rep)
	}
	if !rep.Partial() || !slices.ContainsFunc(rep.Gaps, func(g recon.Gap) bool {
		return g.Stage == "interrupted" && strings.Contains(g.Reason, "audit")
	}) {
		t.Errorf("report not marked as stopped during the audit: %+v", rep.Gaps)
	}
	if len(rep.Names) == 0 || len(rep.Resolvers) != 1 {
		t.Errorf("recon's part lost: %d names, resolvers %+v", len(rep.Names), rep.Resolvers)
	}
}
