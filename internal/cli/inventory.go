package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dnsscout/dnsscout/internal/durable"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/inventory"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/report"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
	"github.com/dnsscout/dnsscout/internal/store"

	"github.com/dnsscout/dnsscout/internal/watch"
)

// inventoryFlags are the flags of `dnsscout recon` that examine many
// domains in one run.
type inventoryFlags struct {
	list       string
	parallel   int
	outDir     string
	resume     string
	shard      string
	maxLine    int
	maxDomains int
	noShared   bool
	listIssues int
	expand     string
	expandMax  int
	flags      *pflag.FlagSet
}

// journalName is the resume journal inside an --output-dir.
const journalName = "inventory.journal"

func addInventoryFlags(cmd *cobra.Command, f *inventoryFlags) {
	fl := cmd.Flags()
	f.flags = fl
	fl.StringVarP(&f.list, "list", "l", "", "examine the domains listed in `FILE` (\"-\" for standard input), one per line, besides the arguments: an inventory")
	fl.IntVar(&f.parallel, "parallel-domains", inventory.DefaultParallelDomains, "inventory: domains examined at once (each gets an equal share of --concurrency)")
	fl.StringVar(&f.outDir, "output-dir", "", "inventory: write each domain's JSON report to `DIR`/DOMAIN.json as it finishes (and a resume journal)")
	fl.StringVar(&f.resume, "resume", "", "inventory: continue the run whose journal is `FILE`, or whose --output-dir is DIR: domains already written are skipped")
	fl.StringVar(&f.shard, "shard", "", "inventory: examine only shard `K/N` of the list (split by a hash of each name; N workers with 1/N..N/N cover it once)")
	fl.IntVar(&f.maxLine, "list-max-line", inventory.DefaultMaxLineBytes, "inventory: longest list line in bytes; longer lines are reported and skipped")
	fl.IntVar(&f.maxDomains, "list-max-domains", inventory.DefaultMaxDomains, "inventory: most domains one list may hold")
	fl.BoolVar(&f.noShared, "no-shared-cache", false, "inventory: ask every nameserver's identity and recursion, and every question about names outside the domain (its parents, nameserver hosts), again for each domain")
	fl.StringVar(&f.expand, "expand", "", "inventory: \"related\" also examines the domains that share the list's nameservers or mail exchangers in the passive DNS store (--db), marked discovered")
	fl.IntVar(&f.expandMax, "expand-max", inventory.DefaultExpandMax, "inventory: most domains --expand adds")
	fl.IntVar(&f.listIssues, "list-issues", 10, "inventory: list lines skipped or noted that are printed on standard error (all are counted)")
}

// active reports whether the flags ask for an inventory.
func (f *inventoryFlags) active() bool {
	return f.list != "" || f.outDir != "" || f.resume != "" || f.shard != "" || f.expand != "" || f.flags != nil && f.flags.Changed("parallel-domains")
}

// runInventory is `dnsscout recon` over a list: one engine, many domains
// at once, each domain's report streamed as it finishes.
func runInventory(ctx context.Context, e *env, f *reconFlags, args []string) error {
	inv := &f.inv
	if err := checkInventoryFlags(f); err != nil {
		return err
	}
	shard, err := inventory.ParseShard(inv.shard)
	if err != nil {
		return usageError("--shard: %v", trimPkg(err))
	}
	domains, err := inventoryDomains(ctx, e, inv, shard, args)
	if err != nil {
		return err
	}
	opts, err := scanOptions(f)
	if err != nil {
		return err
	}
	failOn, err := failOnOption(f)
	if err != nil {
		return err
	}
	if _, err := resolverAddrs(f.resolvers, e.resolvConf); err != nil {
		return err
	}
	outs, err := openInventoryOutputs(e, f)
	if err != nil {
		return err
	}
	defer outs.close()

	logger := newLogger(e.stderr, f.verbose)
	res, srcs, closeEngine, err := newEngine(ctx, e, f, &opts, logger)
	if err != nil {
		return err
	}
	defer closeEngine()
	var related inventory.Related
	if inv.expand != "" {
		if srcs.db == nil {
			return usageError("--expand related looks in the passive DNS store: give --db")
		}
		related = storeRelated{srcs.db}
	}
	if srcs.db != nil && !srcs.only {
		h, err := store.HistoryOf(srcs.db)
		if err != nil {
			return fmt.Errorf("--db: %v", trimPkg(err))
		}
		outs.sinks = append(outs.sinks, watch.NewHistorySink(h))
	}
	if err := scan.Probe(ctx, res, domains); err != nil && ctx.Err() == nil {
		return fmt.Errorf("resolvers unusable: %w", err)
	}
	opts.Logger = logger
	prog := &inventory.Progress{}
	stopProgress := inventoryProgress(e, f.progress, prog, res)
	sum, err := inventory.Run(ctx, res, domains, inventory.Options{
		Scan: opts, ParallelDomains: inv.parallel, Concurrency: f.concurrency,
		Journal: outs.journal, NoShared: inv.noShared, Progress: prog, Version: Version, Logger: logger,
		Related: related, ExpandMax: inv.expandMax,
	}, outs.sinks...)
	stopProgress()
	if sum != nil {
		fmt.Fprintln(e.stderr, "dnsscout: inventory: "+inventorySummary(sum))
	}
	if outs.report != nil && sum != nil && (err == nil || errors.Is(err, scan.ErrInterrupted)) {
		if rerr := report.WriteInventory(outs.report, f.format, inventory.ReadDir(outs.dir), report.Options{Version: Version}); rerr != nil {
			return fmt.Errorf("inventory report: %w", rerr)
		}
	}
	return inventoryExit(err, sum, outs, failOn)
}

func checkInventoryFlags(f *reconFlags) error {
	inv := &f.inv
	switch {
	case inv.parallel < 1:
		return usageError("--parallel-domains must be at least 1")
	case inv.expand != "" && inv.expand != "related":
		return usageError("--expand %q: the only expansion is \"related\"", inv.expand)
	case inv.expandMax < 1:
		return usageError("--expand-max must be at least 1")
	case inv.maxLine < 1 || inv.maxDomains < 1:
		return usageError("--list-max-line and --list-max-domains must be positive")
	case f.format != "" && f.format != "ndjson" && f.format != "json" && !slices.Contains(report.InventoryFormats(), f.format):
		return usageError("an inventory streams one JSON report per line (--format ndjson), or ends with one report (--format %s)", strings.Join(report.InventoryFormats(), ", "))
	}
	return nil
}

// inventoryDomains reads the targets: the arguments, then the list.
func inventoryDomains(ctx context.Context, e *env, inv *inventoryFlags, shard inventory.Shard, args []string) ([]string, error) {
	domains, err := parseDomains(args)
	if err != nil {
		return nil, err
	}
	kept := domains[:0]
	for _, d := range domains {
		if shard.Has(d) {
			kept = append(kept, d)
		}
	}
	domains = kept
	if inv.list == "" {
		return domains, nil
	}
	var r io.Reader = e.stdin
	name := "standard input"
	if inv.list != "-" {
		fh, err := os.Open(inv.list)
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		defer fh.Close()
		r, name = fh, inv.list
	}
	l, err := inventory.ReadList(ctx, r, inventory.ListOptions{MaxLineBytes: inv.maxLine, MaxDomains: inv.maxDomains, MaxIssues: max(inv.listIssues, 1), Shard: shard})
	shown := l.Issues[:min(len(l.Issues), max(inv.listIssues, 0))]
	for _, is := range shown {
		fmt.Fprintf(e.stderr, "dnsscout: list %s: %s\n", name, is)
	}
	if more := l.Invalid + l.Duplicates + l.Nested - len(shown); more > 0 {
		fmt.Fprintf(e.stderr, "dnsscout: list %s: %d more lines skipped or noted (--list-issues shows more)\n", name, more)
	}
	fmt.Fprintf(e.stderr, "dnsscout: list %s: %s\n", name, l.Summary())
	switch {
	case errors.Is(err, inventory.ErrNoDomains) && len(domains) > 0:
	case errors.Is(err, inventory.ErrNoDomains):
		if l.OtherShards > 0 {
			return nil, &exitError{code: ExitOK, err: errors.New("no domain of the list falls in shard " + shard.String()), quiet: false}
		}
		return nil, usageError("list %s holds no valid domain (%s)", name, l.Summary())
	case errors.Is(err, inventory.ErrTooManyDomains):
		return nil, usageError("list %s: %v (raise --list-max-domains, or split it with --shard)", name, trimPkg(err))
	case err != nil:
		return nil, fmt.Errorf("list %s: %v; nothing was examined", name, trimPkg(err))
	}
	seen := make(map[string]bool, len(domains))
	for _, d := range domains {
		seen[d] = true
	}
	for _, d := range l.Domains {
		if !seen[d] {
			domains = append(domains, d)
		}
	}
	return domains, nil
}

// inventoryOutputs are the sinks of a run and its journal.
type inventoryOutputs struct {
	sinks   []inventory.Sink
	journal *inventory.Journal
	// dir is the output directory (a temporary one for a report without
	// --output-dir); report, when set, is where the report goes.
	dir    string
	report io.Writer
	// resumeHint is what to give --resume to continue ("" without a
	// journal).
	resumeHint string
	closers    []func()
}

func (o *inventoryOutputs) close() {
	for i := len(o.closers) - 1; i >= 0; i-- {
		o.closers[i]()
	}
}

// openInventoryOutputs opens the journal, the output directory and the
// NDJSON stream, before any query is sent.
func openInventoryOutputs(e *env, f *reconFlags) (_ *inventoryOutputs, err error) {
	o := &inventoryOutputs{}
	defer func() {
		if err != nil {
			o.close()
		}
	}()
	dir, journal, err := resumeTarget(&f.inv)
	if err != nil {
		return nil, err
	}
	reportFormat := slices.Contains(report.InventoryFormats(), f.format)
	temp := false // dir is ours, removed at the end
	if reportFormat {
		if temp, err = o.openReport(e, f, &dir, journal); err != nil {
			return nil, err
		}
	}
	o.dir = dir
	if dir != "" {
		if err := o.openDir(dir); err != nil {
			return nil, err
		}
		if journal == "" {
			journal = filepath.Join(dir, journalName)
		}
	}
	if journal != "" {
		if err := o.openJournal(&f.inv, journal, dir, temp); err != nil {
			return nil, err
		}
	}
	if err := o.openStream(e, f, reportFormat); err != nil {
		return nil, err
	}
	return o, nil
}

// resumeTarget works out the output directory and the journal file from
// --output-dir and --resume (a directory, or a journal file).
func resumeTarget(inv *inventoryFlags) (dir, journal string, err error) {
	dir = inv.outDir
	if inv.resume == "" {
		return dir, "", nil
	}
	if st, serr := os.Stat(inv.resume); serr != nil || !st.IsDir() {
		return dir, inv.resume, nil
	}
	if dir != "" && filepath.Clean(dir) != filepath.Clean(inv.resume) {
		return "", "", usageError("--resume %s is a directory but --output-dir is %s", inv.resume, dir)
	}
	return inv.resume, "", nil
}

// openReport opens where an inventory report goes and, without an output
// directory or journal, a temporary directory for the per-domain files
// the report is built from (temp: it is removed at the end).
func (o *inventoryOutputs) openReport(e *env, f *reconFlags, dir *string, journal string) (temp bool, err error) {
	if f.format == "xlsx" && (f.output == "" || f.output == "-") && isTerminal(e.stdout) {
		return false, usageError("--format xlsx writes a binary workbook: give -o FILE")
	}
	o.report = e.stdout
	if f.output != "" && f.output != "-" {
		fh, err := os.Create(f.output)
		if err != nil {
			return false, fmt.Errorf("cannot write output: %w", err)
		}
		o.closers = append(o.closers, func() { fh.Close() })
		o.report = fh
	}
	if *dir != "" || journal != "" {
		return false, nil
	}
	tmp, err := os.MkdirTemp("", "dnsscout-inventory-")
	if err != nil {
		return false, err
	}
	o.closers = append(o.closers, func() { os.RemoveAll(tmp) })
	*dir = tmp
	return true, nil
}

// openDir opens and locks the output directory, one JSON file per domain.
func (o *inventoryOutputs) openDir(dir string) error {
	d, err := inventory.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("cannot write output: %w", err)
	}
	unlock, err := durable.Lock(dir)
	if err != nil {
		return fmt.Errorf("output directory %s: %w", dir, err)
	}
	o.closers = append(o.closers, unlock)
	o.sinks = append(o.sinks, d)
	return nil
}

// openJournal opens the resume journal; a fresh run refuses the journal
// of an earlier one.
func (o *inventoryOutputs) openJournal(inv *inventoryFlags, journal, dir string, temp bool) error {
	if inv.resume == "" {
		if st, serr := os.Stat(journal); serr == nil && st.Size() > 0 {
			return usageError("%s holds the journal of an earlier run: continue it with --resume %s, or write elsewhere", dir, dir)
		}
	}
	j, err := inventory.OpenJournal(journal)
	if err != nil {
		return fmt.Errorf("%v", trimPkg(err))
	}
	o.journal = j
	o.resumeHint = inv.resume
	if o.resumeHint == "" && !temp {
		o.resumeHint = dir
	}
	o.closers = append(o.closers, func() { j.Close() })
	return nil
}

// openStream puts the NDJSON stream first among the sinks: to -o FILE, or
// to stdout when nothing else takes the results.
func (o *inventoryOutputs) openStream(e *env, f *reconFlags, reportFormat bool) error {
	switch {
	case reportFormat:
		if o.dir == "" {
			return usageError("--format %s with --resume FILE needs --output-dir: the report is built from its files", f.format)
		}
	case f.output != "" && f.output != "-":
		nd, err := inventory.OpenNDJSONFile(f.output, o.journal)
		if err != nil {
			return fmt.Errorf("cannot write output: %v", trimPkg(err))
		}
		o.closers = append(o.closers, func() { nd.Close() })
		o.sinks = append([]inventory.Sink{nd}, o.sinks...)
	case f.output == "-" || o.dir == "":
		o.sinks = append([]inventory.Sink{inventory.NewNDJSON(e.stdout)}, o.sinks...)
	}
	return nil
}

func inventorySummary(s *inventory.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d domains: %d examined (%d partial), %d failed", s.Total, s.Examined(), s.Partial, s.Failed)
	if s.Discovered > 0 {
		fmt.Fprintf(&b, " (%d discovered)", s.Discovered)
	}
	if s.Resumed > 0 {
		fmt.Fprintf(&b, ", %d from the earlier run", s.Resumed)
	}
	if s.Interrupted > 0 {
		fmt.Fprintf(&b, ", %d not finished", s.Interrupted)
	}
	b.WriteString("; findings:")
	for sev := finding.Critical; sev >= finding.Info; sev-- {
		fmt.Fprintf(&b, " %d %s", s.Findings[sev], sev)
		if sev > finding.Info {
			b.WriteString(",")
		}
	}
	fmt.Fprintf(&b, "; %s", s.Elapsed.Truncate(time.Millisecond))
	if s.SharedHits > 0 || s.OutsideHits > 0 {
		fmt.Fprintf(&b, "; shared cache: %d nameserver questions and %d about names outside the domains (parents, nameserver hosts) answered once for all", s.SharedHits, s.OutsideHits)
	}
	return b.String()
}

// inventoryExit maps the end of a run to the exit code: interrupted
// (130), a sink failed (1), domains failed (1), --fail-on (3).
func inventoryExit(err error, sum *inventory.Summary, outs *inventoryOutputs, failOn *finding.Severity) error {
	switch {
	case errors.Is(err, scan.ErrInterrupted):
		hint := "give --output-dir or --resume FILE to be able to continue an interrupted inventory"
		if outs.resumeHint != "" {
			hint = "continue with --resume " + outs.resumeHint
		}
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted: the %d domains finished were written; %s", sum.Examined()+sum.Failed-sum.Resumed, hint)}
	case err != nil:
		return err
	case sum.Failed > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("%d of %d domains failed (each is in the output with its error)", sum.Failed, sum.Total)}
	case failOn != nil:
		if gerr := sum.Gate(*failOn); gerr != nil {
			return &exitError{code: ExitFindings, err: gerr}
		}
	}
	return nil
}

// storeRelated finds related domains in the passive DNS store: the
// owners of NS or MX records that point at a host.
type storeRelated struct{ db store.Backend }

func (s storeRelated) Related(ctx context.Context, rrtype uint16, host string, limit int) ([]string, error) {
	var out []string
	q := store.Query{Kind: store.KindRDataName, Name: host, Type: store.OneType(rrtype), Limit: limit}
	_, err := s.db.Lookup(ctx, q, func(t *pdns.Tuple) error {
		out = append(out, t.RRName)
		return nil
	})
	return out, err
}

// inventoryProgress draws the status line of an inventory: domains done
// of total, queries/s, findings by severity, ETA.
func inventoryProgress(e *env, mode string, p *inventory.Progress, res *resolver.Resolver) (stop func()) {
	start, last := time.Now(), time.Now()
	startDone := p.Done.Load()
	lastQ := res.Stats().Queries
	return newProgress(e, mode).tick(func(now time.Time) string {
		q := res.Stats().Queries
		qps := float64(q-lastQ) / now.Sub(last).Seconds()
		lastQ, last = q, now
		done, total := p.Done.Load(), p.Total.Load()
		eta := "-"
		if n := done - startDone; n > 0 {
			eta = time.Duration(float64(now.Sub(start)) / float64(n) * float64(total-done)).Truncate(time.Second).String()
		}
		return fmt.Sprintf("%d/%d domains (%d running, %d failed)  %.0f q/s, %d cached  findings %d critical %d high %d medium %d low  ETA %s",
			done, total, p.Running.Load(), p.Failed.Load(), qps, p.CacheHits.Load(),
			p.Findings[finding.Critical].Load(), p.Findings[finding.High].Load(), p.Findings[finding.Medium].Load(), p.Findings[finding.Low].Load(), eta)
	})
}
