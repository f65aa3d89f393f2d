package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/checks"
	"github.com/dnsscout/dnsscout/internal/inventory"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/watch"
)

func init() { subcommands = append(subcommands, newWatchCmd) }

// watchFlags are the flags of `dnsscout watch` (and, with the "watch-"
// prefix where they would clash, of `dnsscout serve --watch`).
type watchFlags struct {
	db        string
	every     time.Duration
	alerts    string
	spool     string
	parallel  int
	list      string
	minRetry  time.Duration
	maxRetry  time.Duration
	linkBase  string
	digestWin time.Duration
	digestMin int
	digestMax int
	mailBytes int
	once      bool
	logFormat string
	logLevel  string
	recon     reconFlags
}

func newWatchCmd(e *env) *cobra.Command {
	f := &watchFlags{}
	cmd := &cobra.Command{
		Use:   "watch [flags] CONFIG | --every DURATION DOMAIN... | --every DURATION --list FILE",
		Short: "Scan domains on a schedule, keep their history and alert on every change",
		Long: `watch monitors domains continuously: it runs recon and the audit checks on each
domain on its schedule, records every scan in the store's history (findings
opened, resolved and reopened, names, nameservers and records added and
removed) and sends an alert for each change through the sinks of its
configuration (webhook, Slack, Mattermost, SMTP, syslog, NDJSON).

CONFIG is a JSON file with the domains, their intervals and the alerting
rules and sinks (docs/watch.md). Or give the domains on the command line
and/or in a list file (--list FILE, read like "recon -l": one domain per line,
comments, URLs reduced to their host, invalid lines reported and skipped)
with --every and, optionally, --alerts FILE (the alerting block alone);
without alerting configuration, alerts are written to standard output as
NDJSON.

Each period, the domains that are due form one inventory run (as "recon -l"):
one engine, --parallel-domains at once, each with an equal share of
--concurrency, nameserver identities asked once per run, each domain bounded
by --max-time.

The schedule lives in the store: after a restart each domain is due one
interval after its last scan, and a domain whose time passed while watch was
down is scanned once at start. A failed scan is retried with backoff
(--min-retry doubling up to --max-retry) and alerted once (scan-failed). A
resolver outage is recorded and alerted once, and is never a diff. Alerts
are spooled on disk before they are sent (--spool) and each is sent once,
across restarts. SIGINT or SIGTERM stops watch: scans in progress are
dropped (they run again at the next start), spooled alerts stay spooled.

The first scan of a domain is its baseline: one "baseline" alert and one
alert per finding; its names and records are not news.`,
		Example: `  # two domains every 6 hours, alerts as NDJSON on standard output
  dnsscout watch -r 127.0.0.1 --every 6h example.com example.net

  # a configuration file: per-domain intervals, rules and sinks
  dnsscout watch -r 127.0.0.1 --db /var/lib/dnsscout/pdns /etc/dnsscout/watch.json

  # the domains of an inventory list, every day, 16 at once
  dnsscout watch -r 127.0.0.1 --every 24h --list domains.txt --parallel-domains 16

  # one pass over what is due, then exit (cron)
  dnsscout watch -r 127.0.0.1 --once /etc/dnsscout/watch.json

  # inside the server, with the inventory and timelines in the web UI
  dnsscout serve -r 127.0.0.1 --watch /etc/dnsscout/watch.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && f.list == "" {
				return usageError("watch: give a CONFIG file, domains, or --list FILE")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWatch(cmd.Context(), e, f, args, cmd.Flags().Changed("every"))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "", "store directory or DSN (default: $XDG_DATA_HOME/dnsscout/pdns or ~/.local/share/dnsscout/pdns)")
	fl.DurationVar(&f.every, "every", watch.DefaultEvery, "interval between two scans of a domain (a CONFIG's \"every\" overrides it)")
	fl.StringVar(&f.alerts, "alerts", "", "alerting configuration `FILE` (rules and sinks, docs/alerts.md) for domains given on the command line")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on standard error: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.BoolVar(&f.once, "once", false, "scan the domains that are due, deliver the alerts, and exit")
	fl.StringVarP(&f.list, "list", "l", "", "watch the domains listed in `FILE` (\"-\" for standard input), one per line as for recon -l, besides the arguments")
	addWatchRunFlags(fl, f, "")
	addWatchScanFlags(fl, &f.recon)
	return cmd
}

// addWatchRunFlags registers the flags watch and serve --watch share;
// prefix is "watch-" for serve.
func addWatchRunFlags(fl *pflag.FlagSet, f *watchFlags, prefix string) {
	fl.StringVar(&f.spool, prefix+"spool", "", "alert spool `DIR` (default: DB.watch-spool beside the store directory)")
	fl.IntVar(&f.parallel, prefix+"parallel-domains", inventory.DefaultParallelDomains, "domains scanned at once in a period's inventory run (each gets an equal share of the query budget)")
	fl.IntVar(&f.parallel, prefix+"parallel", inventory.DefaultParallelDomains, "domains scanned at once")
	_ = fl.MarkDeprecated(prefix+"parallel", "use --"+prefix+"parallel-domains")
	fl.DurationVar(&f.minRetry, prefix+"min-retry", time.Minute, "first wait before a failed domain is scanned again (doubles with each failure)")
	fl.DurationVar(&f.maxRetry, prefix+"max-retry", time.Hour, "longest wait before a failed domain is scanned again (at most its interval)")
	fl.DurationVar(&f.digestWin, prefix+"digest-window", time.Second, "hold new alerts this long so that those of scans ending together can go as one digest (0 = send at once)")
	fl.IntVar(&f.digestMin, prefix+"digest-threshold", 10, "more alerts than this waiting for one sink go as one digest (-1 = never digest)")
	fl.IntVar(&f.digestMax, prefix+"digest-max", 200, "most alerts in one digest (a larger burst goes as several)")
	fl.IntVar(&f.mailBytes, prefix+"digest-email-bytes", alert.DefaultEmailDigestBytes, "most bytes of alert lines in one digest email; the alerts past it are counted, with where to find them")
	fl.StringVar(&f.linkBase, prefix+"link-base", "", "`URL` of the web UI, for the alerts' links to a domain's timeline (e.g. https://dnsscout.example.net)")
}

// addWatchScanFlags registers the recon settings of a standalone watch.
func addWatchScanFlags(fl *pflag.FlagSet, f *reconFlags) {
	fl.StringArrayVarP(&f.resolvers, "resolver", "r", nil, "recursive resolver `host[:port]` (repeatable; default: the nameservers of /etc/resolv.conf)")
	fl.StringVarP(&f.wordlist, "wordlist", "w", "", "brute-force word list `FILE`; \"none\" disables brute force (default: built-in list)")
	fl.Float64Var(&f.rate, "rate", 0, "global query rate limit in queries/s (0 = unlimited)")
	fl.Float64Var(&f.serverRate, "server-rate", 0, "per-resolver query rate limit in queries/s (0 = unlimited)")
	fl.IntVar(&f.concurrency, "concurrency", 200, "queries in flight at once in a period's run, shared equally by the domains in flight")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Second, "wait for one query attempt")
	fl.IntVar(&f.retries, "retries", 3, "further attempts after a timeout, SERVFAIL or REFUSED")
	fl.BoolVar(&f.noPTR, "no-ptr", false, "do not sweep PTR records around discovered addresses")
	fl.BoolVar(&f.noWalk, "no-walk", false, "do not walk NSEC or collect NSEC3 chains")
	fl.DurationVar(&f.maxTime, "max-time", 30*time.Minute, "bound each domain's scan; a scan cut short is kept as partial (it resolves nothing)")
	fl.Uint16Var(&f.nsPort, "nameserver-port", 53, "port for direct queries to nameserver addresses (lab worlds on high ports)")
	fl.StringSliceVar(&f.checks, "checks", nil, "run only these audit checks (comma-separated ids; see docs/checks.md)")
	fl.StringSliceVar(&f.skipChecks, "skip-checks", nil, "skip these audit checks (comma-separated ids)")
	// The rest keep recon's defaults.
	f.ptrPrefix4, f.ptrPrefix6, f.ptrMax = 24, 120, 65536
	f.axfrMax, f.axfrTimeout = recon.DefaultTransferMaxRecords, recon.DefaultTransferTimeout
	f.walkMax, f.walkTimeout = recon.DefaultWalkMax, recon.DefaultWalkTimeout
}

// watchTargets reads what to watch: a CONFIG file, or domains (arguments
// and --list) with --every and --alerts.
func watchTargets(ctx context.Context, e *env, f *watchFlags, args []string, everySet bool) ([]watch.Domain, *alert.Config, error) {
	if len(args) == 1 && !everySet && f.list == "" && fileExists(args[0]) {
		if f.alerts != "" {
			return nil, nil, usageError("watch: --alerts is for domains given on the command line; put \"alerts\" in %s", args[0])
		}
		cfg, err := readWatchConfig(args[0])
		if err != nil {
			return nil, nil, err
		}
		if len(cfg.Domains) == 0 {
			return nil, nil, usageError("watch: %s: no domains (only serve --watch takes its domains from the API)", args[0])
		}
		return cfg.WatchList(f.every), cfg.Alerts, nil
	}
	if f.every < watch.MinInterval {
		return nil, nil, usageError("watch: --every %v is shorter than %v", f.every, watch.MinInterval)
	}
	if f.list != "" {
		// The list is read as recon -l reads it; the arguments come first.
		var err error
		inv := &inventoryFlags{list: f.list, maxLine: inventory.DefaultMaxLineBytes, maxDomains: watch.MaxDomains, listIssues: 10}
		if args, err = inventoryDomains(ctx, e, inv, inventory.Shard{}, args); err != nil {
			return nil, nil, err
		}
	}
	domains, err := watch.DomainsFromArgs(args, f.every)
	if err != nil {
		return nil, nil, usageError("%v (a CONFIG file must exist)", trimPkg(err))
	}
	if len(domains) > watch.MaxDomains {
		return nil, nil, usageError("watch: %d domains, more than %d", len(domains), watch.MaxDomains)
	}
	var ac *alert.Config
	if f.alerts != "" {
		b, err := os.ReadFile(f.alerts)
		if err != nil {
			return nil, nil, fmt.Errorf("watch: %w", err)
		}
		if ac, err = alert.ParseConfig(b); err != nil {
			return nil, nil, fmt.Errorf("watch: %s: %v", f.alerts, err)
		}
	}
	return domains, ac, nil
}

func readWatchConfig(path string) (*watch.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	cfg, err := watch.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("watch: %s: %v", path, trimPkg(err))
	}
	return cfg, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// stdoutAlerts is the alerting configuration without one: everything as
// NDJSON on standard output.
func stdoutAlerts() *alert.Config {
	return &alert.Config{Rules: []alert.Rule{{Name: "all", Sinks: []string{"stdout"}}},
		Sinks: []alert.SinkConfig{{Name: "stdout", NDJSON: &alert.NDJSONConfig{}}}}
}

// watchSpoolDir is --spool, or DB.watch-spool beside the store directory.
func watchSpoolDir(flag, dsn string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	dir := storeDirOf(dsn)
	if dir == "" {
		return "", usageError("watch: give --spool DIR for a store that is not a directory")
	}
	return filepath.Clean(dir) + ".watch-spool", nil
}

// watchRun is a watch wired to its store, scanner and dispatcher.
type watchRun struct {
	w    *watch.Watcher
	disp *alert.Dispatcher
}

// startWatch builds the dispatcher and the watcher. runner scans the
// domains of a period; reg receives the metrics (nil: none).
func startWatch(e *env, f *watchFlags, log *slog.Logger, db store.Backend, dsn string, domains []watch.Domain, ac *alert.Config,
	runner *watch.Inventory, reg prometheus.Registerer, managed watch.Managed, managedEvery time.Duration) (*watchRun, error) {
	h, err := store.HistoryOf(db)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	if f.parallel < 1 {
		return nil, usageError("watch: --parallel-domains must be at least 1")
	}
	runner.Options.ParallelDomains = f.parallel
	if f.minRetry <= 0 || f.maxRetry < f.minRetry {
		return nil, usageError("watch: --min-retry must be positive and at most --max-retry")
	}
	spool, err := watchSpoolDir(f.spool, dsn)
	if err != nil {
		return nil, err
	}
	if ac == nil {
		ac = stdoutAlerts()
	}
	if f.digestMax < 2 || f.mailBytes < 1 {
		return nil, usageError("watch: --digest-max must be at least 2, --digest-email-bytes positive")
	}
	targets, err := alert.NewTargets(ac, alert.Env{Stdout: e.stdout, Getenv: e.getenv, EmailDigestBytes: f.mailBytes})
	if err != nil {
		return nil, fmt.Errorf("watch: %v", err)
	}
	if f.digestWin < 0 || f.digestMin == 0 || f.digestMin < -1 {
		return nil, usageError("watch: --digest-window must not be negative, --digest-threshold must be positive or -1")
	}
	win := f.digestWin
	if win == 0 {
		win = -1 // alert.Options: no wait
	}
	disp, err := alert.Open(alert.Options{Dir: spool, Rules: ac.Rules, Targets: targets, Logger: log, DigestWindow: win, DigestThreshold: f.digestMin, DigestMax: f.digestMax})
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	var link func(domain, scanID string) string
	if f.linkBase != "" {
		link = func(domain, scanID string) string { return timelineLink(f.linkBase, domain, scanID) }
	}
	w, err := watch.New(watch.Options{History: h, Runner: runner, Domains: domains,
		Managed: managed, ManagedEvery: managedEvery,
		Alerts: disp, Link: link, MinRetry: f.minRetry, MaxRetry: f.maxRetry, Registerer: reg, AlertStats: disp.Stats, Logger: log})
	if err != nil {
		disp.Close(context.Background())
		return nil, usageError("%v", trimPkg(err))
	}
	return &watchRun{w: w, disp: disp}, nil
}

// close flushes the dispatcher for at most grace and closes it: what is
// not delivered by then stays spooled for the next start.
func (r *watchRun) close(ctx context.Context, grace time.Duration) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	return r.disp.Close(cctx)
}

// watchRunner is the runner of a watch: each period one inventory run on a
// fresh engine of ro (a resolver that failed its probe stays dropped for
// that period only: an outage must not outlive itself).
func watchRunner(ro resolver.Options, opts scan.Options, concurrency int, log *slog.Logger) *watch.Inventory {
	return &watch.Inventory{
		Engine: func() (scan.Engine, func(), error) {
			eng, err := resolver.New(ro)
			if err != nil {
				return nil, nil, err
			}
			return eng, func() { eng.Close() }, nil
		},
		Options: inventory.Options{Scan: opts, Concurrency: concurrency, Version: Version, Logger: log},
	}
}

func runWatch(ctx context.Context, e *env, f *watchFlags, args []string, everySet bool) error {
	log, err := serveLogger(e.stderr, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	domains, ac, err := watchTargets(ctx, e, f, args, everySet)
	if err != nil {
		return err
	}
	opts, err := reconOptions(&f.recon)
	if err != nil {
		return err
	}
	if f.recon.concurrency < 1 {
		return usageError("--concurrency must be at least 1")
	}
	servers, err := resolverAddrs(f.recon.resolvers, e.resolvConf)
	if err != nil {
		return err
	}
	so := scan.Options{Recon: opts, Logger: log, Checks: checks.Selection{Only: f.recon.checks, Skip: f.recon.skipChecks}}
	if _, err := checks.Select(so.Checks); err != nil {
		return usageError("%v", trimPkg(err))
	}
	ro := resolver.Options{Servers: servers, Rate: f.recon.rate, ServerRate: f.recon.serverRate, Concurrency: f.recon.concurrency, Timeout: f.recon.timeout,
		Retries: retriesOption(f.recon.retries), MaxTransferRecords: opts.TransferMaxRecords, TransferTimeout: opts.TransferTimeout, Logger: log}
	dsn := f.db
	if dsn == "" {
		if dsn, err = store.DefaultDirFrom(e.getenv); err != nil {
			return usageError("watch: %v; give --db", err)
		}
	}
	db, err := store.Open(ctx, dsn, store.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer db.Close()
	wr, err := startWatch(e, f, log, db, dsn, domains, ac, watchRunner(ro, so, f.recon.concurrency, log), nil, nil, 0)
	if err != nil {
		return err
	}
	log.Info("watching", "domains", len(domains), "once", f.once)
	var runErr error
	if f.once {
		wr.w.RunDue(ctx)
		if err := wr.disp.Flush(ctx); err != nil && ctx.Err() == nil {
			log.Warn("alerts not all delivered; they stay spooled", "err", err)
		}
		runErr = failedDomains(wr.w.Status())
	} else {
		runErr = wr.w.Run(ctx)
	}
	if err := wr.close(ctx, 10*time.Second); err != nil {
		log.Warn("alerts left in the spool for the next start", "err", err)
	}
	return runErr
}

// failedDomains is the error of a --once pass in which domains failed
// (they are retried at the next pass), or nil.
func failedDomains(st []watch.DomainStatus) error {
	var failed []string
	for _, s := range st {
		if s.Failures > 0 {
			failed = append(failed, s.Domain+": "+s.Error)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("watch: %d of %d domains failed (retried at the next pass): %s", len(failed), len(st), strings.Join(failed, "; "))
}

// timelineLink is the web UI address of a domain's timeline at a scan.
func timelineLink(base, domain, scanID string) string {
	q := url.Values{"d": {domain}, "scan": {scanID}}
	return strings.TrimRight(base, "/") + "/#/watch/domain?" + q.Encode()
}
