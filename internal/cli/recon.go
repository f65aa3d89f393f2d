package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/baseline"
	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/report"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/watch"
)

func init() { subcommands = append(subcommands, newReconCmd) }

// reconFlags are the flags of `dnsscout recon` (and the recon part of
// `dnsscout demo`).
type reconFlags struct {
	sources     sourceFlags
	resolvers   []string
	wordlist    string
	rate        float64
	serverRate  float64
	concurrency int
	timeout     time.Duration
	retries     int
	noAXFR      bool
	noBrute     bool
	noWalk      bool
	noPTR       bool
	noSRV       bool
	alterations bool
	ptrPrefix4  int
	ptrPrefix6  int
	ptrMax      int
	axfrMax     int
	axfrTimeout time.Duration
	walkMax     int
	walkTimeout time.Duration
	maxTime     time.Duration
	format      string
	output      string
	verbose     bool
	progress    string
	nsPort      uint16
	baseline    string
	checks      []string
	skipChecks  []string
	failOn      string
	inv         inventoryFlags
}

const resolvConfPath = "/etc/resolv.conf"

func newReconCmd(e *env) *cobra.Command {
	f := &reconFlags{}
	cmd := &cobra.Command{
		Use:   "recon [flags] DOMAIN... | -l FILE",
		Short: "Discover every name, record and nameserver a domain's DNS reveals",
		Long: `recon maps one or more domains the way an adversary does: standard records,
every nameserver address and what it reveals (zone transfers, recursion,
version strings, NSID), delegated sub-zones, word-list brute force with
wildcard filtering, NSEC walking and NSEC3 chain cracking, SRV services, PTR
sweeps of the address neighbourhoods, and names mined from record data.

Queries go through the resolvers given with -r (default: those of
/etc/resolv.conf); nameserver checks go directly to each nameserver address.
When the resolvers cannot answer for a domain (a lame or dead delegation),
its parent's servers are asked for the delegation and the domain's own
servers directly: a broken domain still gets a full report. Unicode domains
are accepted and converted to IDNA A-labels.

Zone transfers, NSEC walks and NSEC3 collection are bounded (--axfr-*,
--walk-*); what a capped stage brought is kept and listed under "gaps".
The first Ctrl-C (SIGINT/SIGTERM) stops the queries and writes what was
found, marked partial ("complete": false), exit status 130; a second one
exits at once.

Inventories: -l FILE (or -l - for standard input) examines every domain
listed, one per line ("#" comments, URLs and "*." reduced to the domain;
bad lines are reported by number and skipped), on one engine,
--parallel-domains at a time, each with an equal share of --concurrency
and its own --max-time. Each domain's report is written as soon as it is
done: one JSON line on standard output or -o, one file in --output-dir,
or, with --format html|xlsx|csv, one report for the whole run at the end.
--resume continues an interrupted or crashed run with the domains not done.`,
		Example: `  # everything, through a local resolver, as a table
  dnsscout recon -r 127.0.0.1 example.com

  # JSON for a pipeline, with a custom word list and no PTR sweeps
  dnsscout recon -r 127.0.0.1 -w names.txt --no-ptr --format json -o example.json example.com

  # stream discoveries as NDJSON while the run goes on
  dnsscout recon -r 127.0.0.1 --format ndjson example.com example.net

  # an internationalised domain
  dnsscout recon -r 127.0.0.1 bücher.example

  # a large zone: raise the transfer and walk limits, but stop after 30 minutes
  dnsscout recon -r 127.0.0.1 --axfr-max-records 5000000 --axfr-timeout 10m --walk-max 1000000 --max-time 30m example.com

  # an inventory: 16 domains at a time, 10 minutes at most each, one file per domain
  dnsscout recon -r 127.0.0.1 -l domains.txt --parallel-domains 16 --max-time 10m --output-dir inventory/

  # continue it after a crash or Ctrl-C, then one HTML report of the whole portfolio
  dnsscout recon -r 127.0.0.1 -l domains.txt --resume inventory/ --format html -o inventory.html

  # a list on standard input, as NDJSON (one report per line), failing a pipeline on high findings
  cut -d, -f1 assets.csv | dnsscout recon -r 127.0.0.1 -l - --fail-on high > inventory.ndjson

  # an inventory recorded in the scan history: then on the UI's Watch page and /api/v1/scans
  dnsscout recon -r 127.0.0.1 -l domains.txt --db ~/pdns --output-dir inventory/

  # worker 2 of 4, each with its own resolver, all storing answers in one ClickHouse store
  dnsscout recon -r 127.0.0.1 -l domains.txt --shard 2/4 --db clickhouse://192.0.2.9:9000/pdns --output-dir shard2/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRecon(cmd.Context(), e, f, args)
		},
	}
	addReconFlags(cmd, f)
	addInventoryFlags(cmd, &f.inv)
	return cmd
}

func addReconFlags(cmd *cobra.Command, f *reconFlags) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.resolvers, "resolver", "r", nil, "recursive resolver `host[:port]` (repeatable; default: the nameservers of /etc/resolv.conf)")
	fl.StringVarP(&f.wordlist, "wordlist", "w", "", "brute-force word list `FILE`, one label per line; \"none\" disables brute force (default: built-in list of 2,025 names)")
	fl.Float64Var(&f.rate, "rate", 0, "global query rate limit in queries/s (0 = unlimited)")
	fl.Float64Var(&f.serverRate, "server-rate", 0, "per-resolver query rate limit in queries/s (0 = unlimited)")
	fl.IntVar(&f.concurrency, "concurrency", 1000, "queries in flight at once")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Second, "wait for one query attempt")
	fl.IntVar(&f.retries, "retries", 3, "further attempts after a timeout, SERVFAIL or REFUSED")
	fl.BoolVar(&f.noAXFR, "no-axfr", false, "do not try zone transfers (AXFR, IXFR)")
	fl.BoolVar(&f.noBrute, "no-bruteforce", false, "do not brute-force names")
	fl.BoolVar(&f.noWalk, "no-walk", false, "do not walk NSEC or collect NSEC3 chains")
	fl.BoolVar(&f.noPTR, "no-ptr", false, "do not sweep PTR records around discovered addresses")
	fl.BoolVar(&f.noSRV, "no-srv", false, "do not probe SRV service labels and TXT policy names")
	fl.BoolVar(&f.alterations, "alterations", false, "also try alterations of discovered labels (dev -> dev1, dev-api, ...)")
	fl.IntVar(&f.ptrPrefix4, "ptr-prefix4", 24, "IPv4 neighbourhood swept around each address (prefix length, 16-32)")
	fl.IntVar(&f.ptrPrefix6, "ptr-prefix6", 120, "IPv6 neighbourhood swept around each address (prefix length, 104-128)")
	fl.IntVar(&f.ptrMax, "ptr-max", 65536, "most PTR queries per domain")
	fl.IntVar(&f.axfrMax, "axfr-max-records", recon.DefaultTransferMaxRecords, "most records kept from one zone transfer (AXFR or IXFR, per server address); a capped transfer is kept and reported as partial")
	fl.DurationVar(&f.axfrTimeout, "axfr-timeout", recon.DefaultTransferTimeout, "longest one zone transfer may run")
	fl.IntVar(&f.walkMax, "walk-max", recon.DefaultWalkMax, "most NSEC walk steps, and most NSEC3 collection queries, per zone")
	fl.DurationVar(&f.walkTimeout, "walk-timeout", recon.DefaultWalkTimeout, "longest one zone's NSEC walk or NSEC3 collection (and its cracking) may run")
	fl.DurationVar(&f.maxTime, "max-time", 0, "bound the recon of each domain (0 = none); what was found by then is reported, marked partial")
	fl.Uint16Var(&f.nsPort, "nameserver-port", 53, "port for direct queries to nameserver addresses (lab worlds on high ports)")
	fl.StringVar(&f.format, "format", "", "output format: table, json, ndjson, csv (records), md, html, xlsx (default: table on a terminal, json otherwise)")
	fl.StringVar(&f.baseline, "baseline", "", "mark what is new, changed or gone since an earlier `FILE` written with --format json")
	fl.StringVarP(&f.output, "output", "o", "", "write the result to `FILE` instead of standard output")
	fl.StringSliceVar(&f.checks, "checks", nil, "run only these audit checks (comma-separated ids; see docs/checks.md)")
	fl.StringSliceVar(&f.skipChecks, "skip-checks", nil, "skip these audit checks (comma-separated ids, or \"all\")")
	fl.StringVar(&f.failOn, "fail-on", "", "exit with status 3 when a finding reaches this `SEVERITY` (info, low, medium, high, critical)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log what each stage does to standard error")
	addSourceFlags(cmd, &f.sources)
	fl.StringVar(&f.progress, "progress", "auto", "progress line on standard error: auto (when it is a terminal), always, never")
}

// reconFormats are the formats recon writes: the report formats and the
// NDJSON stream.
var reconFormats = append(report.Formats(), "ndjson")

func runRecon(ctx context.Context, e *env, f *reconFlags, args []string) error {
	if f.inv.active() {
		return runInventory(ctx, e, f, args)
	}
	if len(args) == 0 {
		return usageError("requires at least 1 arg(s): give a DOMAIN, or a list with -l FILE")
	}
	domains, err := parseDomains(args)
	if err != nil {
		return err
	}
	format, err := pickFormat(e, f)
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
		return err // before the output file is created
	}
	out, closeOut, err := openOutput(e, f.output)
	if err != nil {
		return err
	}
	defer closeOut()

	logger := newLogger(e.stderr, f.verbose)
	res, srcs, closeEngine, err := newEngine(ctx, e, f, &opts, logger)
	if err != nil {
		return err
	}
	defer closeEngine()
	ro := reconOutput{format: format, w: out, progress: f.progress, logger: logger, failOn: failOn}
	if srcs.db != nil && !srcs.only {
		if ro.history, err = store.HistoryOf(srcs.db); err != nil {
			return fmt.Errorf("--db: %v", trimPkg(err))
		}
	}
	return reconWith(ctx, e, res, domains, opts, ro)
}

// newEngine builds the resolver engine of a recon run from f, with the
// passive sources (returned too) applied to opts; close releases both.
func newEngine(ctx context.Context, e *env, f *reconFlags, opts *scan.Options, logger *slog.Logger) (*resolver.Resolver, *reconSources, func(), error) {
	servers, err := resolverAddrs(f.resolvers, e.resolvConf)
	if err != nil {
		return nil, nil, nil, err
	}
	res, err := resolver.New(resolver.Options{
		Servers:            servers,
		Rate:               f.rate,
		ServerRate:         f.serverRate,
		Concurrency:        f.concurrency,
		Timeout:            f.timeout,
		Retries:            retriesOption(f.retries),
		MaxTransferRecords: opts.Recon.TransferMaxRecords,
		TransferTimeout:    opts.Recon.TransferTimeout,
		Logger:             logger,
	})
	if err != nil {
		return nil, nil, nil, usageError("%v", err)
	}
	srcs, err := openSources(ctx, e, &f.sources, res, logger)
	if err != nil {
		res.Close()
		return nil, nil, nil, err
	}
	srcs.apply(ctx, &opts.Recon)
	return res, srcs, func() { srcs.close(); res.Close() }, nil
}

// reconOutput says where and how results go.
type reconOutput struct {
	format   string
	w        io.Writer
	progress string
	logger   *slog.Logger
	// failOn is --fail-on (nil: no gate).
	failOn *finding.Severity
	// html, when set, also receives the HTML report (demo).
	html io.Writer
	// history, when set (--db), records each domain's scan in the scan
	// history, as a watch does (watch.RecordScan).
	history store.History
}

// reconWith scans each domain through eng (one scan.Stream per domain,
// the engine shared) and writes the reports. It is shared by recon and
// demo.
//
// A domain that fails (it does not exist) costs the others nothing: its
// error is one line on stderr, the others' reports are written, and the
// exit code is 1. When ctx ends (the first SIGINT/SIGTERM) no new query is
// sent: the domain being examined is audited offline on what was found,
// every requested output is written with that report marked partial
// ("complete": false, a banner), the domains not started are left out,
// and the exit code is 130.
func reconWith(ctx context.Context, e *env, eng scan.Engine, domains []string, opts scan.Options, out reconOutput) error {
	if err := scan.Probe(ctx, eng, domains); err != nil && ctx.Err() == nil {
		return fmt.Errorf("resolvers unusable: %w", err)
	}
	opts.Logger = out.logger
	var emit func(scan.Event)
	if out.format == "ndjson" {
		emit = func(ev scan.Event) { _ = report.WriteNDJSON(out.w, ev) }
	}
	var reports []*scan.Report
	failed := 0
	interrupted := false
	line := newProgress(e, out.progress)
	for _, d := range domains {
		if ctx.Err() != nil && len(reports) > 0 {
			interrupted = true
			break
		}
		opts.Recon.Progress = &recon.Progress{}
		stop := line.tick(reconProgress(d, opts.Recon.Progress))
		rep, err := scan.Stream(ctx, eng, d, opts, emit)
		stop()
		if out.history != nil && ctx.Err() == nil {
			if _, herr := watch.RecordScan(ctx, out.history, d, rep, err); herr != nil {
				fmt.Fprintf(e.stderr, "dnsscout: %s: scan not recorded: %v\n", d, herr)
				failed++
			}
		}
		if rep == nil {
			failed++
			fmt.Fprintf(e.stderr, "dnsscout: %s: %v\n", d, err)
			continue
		}
		reports = append(reports, rep)
		if err != nil {
			interrupted = true
			break // the domains not started are left out
		}
	}
	if out.format != "ndjson" && len(reports) > 0 {
		if err := writeResults(out.w, out.format, reports, out.format == "table" && isTerminal(out.w)); err != nil {
			return err
		}
	}
	if out.html != nil && len(reports) > 0 {
		if err := writeResults(out.html, "html", reports, false); err != nil {
			return err
		}
	}
	switch {
	case interrupted:
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted: the results found so far were written, marked partial")}
	case failed > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("%d of %d domains failed", failed, len(domains))}
	case out.failOn != nil:
		if err := scan.Gate(reports, *out.failOn); err != nil {
			return &exitError{code: ExitFindings, err: err}
		}
	}
	return nil
}

// reconProgress formats the progress line of one domain's recon: stage,
// queries done and planned, query rate, names found, time taken.
func reconProgress(domain string, p *recon.Progress) func(time.Time) string {
	start := time.Now()
	last, lastDone := start, int64(0)
	return func(now time.Time) string {
		done := p.Done.Load()
		rate := float64(done-lastDone) / now.Sub(last).Seconds()
		lastDone, last = done, now
		stage, _ := p.Stage.Load().(string)
		return fmt.Sprintf("%s  %s  %d/%d queries  %.0f q/s  %d names  %s",
			domain, stage, done, p.Planned.Load(), rate, p.Names.Load(), now.Sub(start).Truncate(time.Second))
	}
}

// loadBaseline reads --baseline FILE (nil when not given).
func loadBaseline(path string) (*baseline.File, error) {
	if path == "" {
		return nil, nil
	}
	b, err := baseline.Load(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %v", trimPkg(err))
	}
	return b, nil
}

// parseDomains validates and normalises the targets, rejecting the whole
// command on the first bad one.
func parseDomains(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		d, err := dnsname.Normalize(a)
		if err != nil {
			return nil, usageError("invalid domain %q: %v", a, trimPkg(err))
		}
		if strings.Contains(d, "*") || !strings.Contains(d, ".") && len(args) > 0 && d == "" {
			return nil, usageError("invalid domain %q", a)
		}
		if !containsString(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

func pickFormat(e *env, f *reconFlags) (string, error) {
	format := f.format
	if format == "" {
		format = "json"
		if f.output == "" && isTerminal(e.stdout) {
			format = "table"
		}
	}
	if !containsString(reconFormats, format) {
		return "", usageError("unknown format %q (want one of %s)", format, strings.Join(reconFormats, ", "))
	}
	if format == "xlsx" && (f.output == "" || f.output == "-") && isTerminal(e.stdout) {
		return "", usageError("--format xlsx writes a binary workbook: give -o FILE")
	}
	return format, nil
}

func reconOptions(f *reconFlags) (recon.Options, error) {
	o := recon.Options{
		NoAXFR: f.noAXFR, NoBruteforce: f.noBrute, NoWalk: f.noWalk, NoPTR: f.noPTR, NoSRV: f.noSRV,
		Alterations: f.alterations, PTRPrefix4: f.ptrPrefix4, PTRPrefix6: f.ptrPrefix6, PTRMax: f.ptrMax,
		Concurrency: f.concurrency, NameserverPort: f.nsPort,
		TransferMaxRecords: f.axfrMax, TransferTimeout: f.axfrTimeout,
		WalkMax: f.walkMax, NSEC3MaxQueries: f.walkMax, WalkTimeout: f.walkTimeout, MaxTime: f.maxTime,
	}
	for _, c := range []struct {
		name, want string
		bad        bool
	}{
		{"--axfr-max-records", "positive", f.axfrMax < 1},
		{"--axfr-timeout", "positive", f.axfrTimeout <= 0},
		{"--walk-max", "positive", f.walkMax < 1},
		{"--walk-timeout", "positive", f.walkTimeout <= 0},
		{"--max-time", "0 (none) or positive", f.maxTime < 0},
	} {
		if c.bad {
			return o, usageError("%s must be %s", c.name, c.want)
		}
	}
	if f.nsPort == 0 {
		return o, usageError("--nameserver-port must not be 0")
	}
	if f.ptrPrefix4 < 16 || f.ptrPrefix4 > 32 {
		return o, usageError("--ptr-prefix4 %d out of range 16-32", f.ptrPrefix4)
	}
	if f.ptrPrefix6 < 104 || f.ptrPrefix6 > 128 {
		return o, usageError("--ptr-prefix6 %d out of range 104-128", f.ptrPrefix6)
	}
	if f.ptrMax < 0 {
		return o, usageError("--ptr-max must not be negative")
	}
	if f.concurrency < 1 {
		return o, usageError("--concurrency must be at least 1")
	}
	switch f.wordlist {
	case "":
	case "none":
		o.NoBruteforce = true
	default:
		fh, err := os.Open(f.wordlist)
		if err != nil {
			return o, fmt.Errorf("word list: %w", err)
		}
		defer fh.Close()
		words, skipped, err := recon.ReadWordlist(fh)
		if err != nil {
			return o, fmt.Errorf("word list %s: %w", f.wordlist, err)
		}
		if len(words) == 0 {
			return o, fmt.Errorf("word list %s holds no valid labels (%d skipped)", f.wordlist, skipped)
		}
		o.Wordlist = words
	}
	return o, nil
}

// retriesOption maps the flag (0 = no retries) to resolver.Options (0 =
// default, -1 = none).
func retriesOption(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// resolverAddrs parses -r values; with none given, it reads the system
// resolver configuration at resolvConf — the only place dnsscout ever
// falls back to it.
func resolverAddrs(flags []string, resolvConf string) ([]netip.AddrPort, error) {
	if len(flags) == 0 {
		cfg, err := dns.ClientConfigFromFile(resolvConf)
		if err != nil {
			return nil, fmt.Errorf("no -r/--resolver given and %s is unreadable: %v", resolvConf, err)
		}
		if len(cfg.Servers) == 0 {
			return nil, fmt.Errorf("no -r/--resolver given and %s lists no nameserver", resolvConf)
		}
		flags = cfg.Servers
		for i := range flags {
			flags[i] = net.JoinHostPort(flags[i], cfg.Port)
		}
	}
	var out []netip.AddrPort
	for _, s := range flags {
		ap, err := parseServer(s)
		if err != nil {
			return nil, usageError("resolver %q: %v", s, err)
		}
		out = append(out, ap)
	}
	return out, nil
}

// parseServer accepts "addr", "addr:port", "[v6]:port" and bare IPv6.
func parseServer(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 53), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err == nil {
		if _, aerr := netip.ParseAddr(host); aerr != nil {
			return netip.AddrPort{}, errors.New("want an IP address, not a host name")
		}
		if _, perr := strconv.ParseUint(port, 10, 16); perr != nil {
			return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
		}
	}
	return netip.AddrPort{}, errors.New("want an IP address with an optional port (192.0.2.1, 192.0.2.1:5353, [2001:db8::1]:53)")
}

// openOutput opens -o FILE (before any work, so an unwritable path fails
// at once) or returns stdout.
func openOutput(e *env, path string) (io.Writer, func(), error) {
	if path == "" || path == "-" {
		return e.stdout, func() {}, nil
	}
	fh, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot write output: %w", err)
	}
	return fh, func() { fh.Close() }, nil
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// trimPkg drops a "pkg: " prefix from an error for a user-facing line.
func trimPkg(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); i > 0 && !strings.Contains(msg[:i], " ") {
		return msg[i+2:]
	}
	return msg
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
