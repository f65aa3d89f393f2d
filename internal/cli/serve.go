package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dnsscout/dnsscout/internal/api"
	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/watch"
)

func init() { subcommands = append(subcommands, newServeCmd) }

type serveFlags struct {
	db              string
	listen          string
	tlsCert         string
	tlsKey          string
	insecureNoAuth  bool
	resolvers       []string
	nsPort          uint16
	reconTimeout    time.Duration
	defaultLimit    int
	maxResults      int
	maxOffset       int
	flexTimeout     time.Duration
	maxIngest       string
	maxIngestRatio  int
	maxBadLines     int
	cacheSize       string
	answerCache     string
	statsInterval   time.Duration
	adminSocket     string
	logFormat       string
	logLevel        string
	logRequests     bool
	shutdownTimeout time.Duration
	adm             admissionFlags
	watchConfig     string
	maxWatched      int
	watch           watchFlags
}

// admissionFlags are serve's admission limits, deadlines and budgets
// (api.Options documents each).
type admissionFlags struct {
	maxInFlight, perKey, perClient, maxQueue, perClientRequests, maxRequests, perExpensive, maxStrikes int
	queueTimeout, headerTimeout, bodyTimeout, bodyGrace, writeTimeout, idleTimeout, workBudget         time.Duration
	strikePenalty                                                                                      time.Duration
	expensiveShare                                                                                     float64
	minBodyRate                                                                                        string
}

// defaultListen is serve's address: loopback, so that a server started
// without thought exposes nothing.
const defaultListen = "127.0.0.1:8053"

func newServeCmd(e *env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Serve the passive DNS store: DNSDB API v2, CIRCL API, remote sensors, web UI",
		Long: `serve answers passive DNS queries from the store the way Farsight's DNSDB API v2
(/dnsdb/v2/...) and CIRCL's passive DNS (/pdns/query/...) do, so that dnsdbq,
PyPDNS and the analyzers written for them work unchanged; takes tuples from
remote sensors (POST /api/v1/ingest, what "dnsscout ingest --to URL" sends);
and serves a web UI at / (search, pivots, timelines, recon page). /healthz,
/metrics (Prometheus) and /openapi.json are for operations. docs/api.md has
the details.

Once the store holds an API key (dnsscout keys add), every API request needs
one. Without keys serve listens only on loopback addresses, unless
--insecure-no-auth says otherwise. --tls-cert and --tls-key serve HTTPS.

The recon page runs recon through the resolvers given with --resolver and is
off without them (serve never uses /etc/resolv.conf).

Admission keeps one misbehaving client from costing the others: each key
(without keys, each client address) has its own work slots and queue
(--max-in-flight-per-key, --max-queue), requests blocked on a slow client
lend their slots and are cut past --max-requests-per-client, bodies must
come at --min-body-rate and answers be read within --write-timeout, and
ingest bodies have size, gzip-ratio and bad-line budgets. A key or address
that misbehaves more than --max-strikes times in quick succession waits out
a penalty (then 429), and while exact lookups come fast, large searches
share --expensive-share of the processors. /metrics counts every refusal by
reason (dnsscout_api_rejected_total).

--watch CONFIG runs "dnsscout watch" inside the server, on the same store,
through the --resolver addresses: its history is served at /api/v1/domains,
/api/v1/scans, /api/v1/findings and /api/v1/events and in the web UI's
inventory and timelines, its metrics at /metrics. Domains can also be added
and removed while it runs (POST /api/v1/domains, DELETE
/api/v1/domains/DOMAIN, or "dnsscout domains add|rm|ls"), with an API key
that has the admin permission when the server has keys: they are kept in
the store, and the watch takes a change at once (another process sharing
the store: within 10 s). CONFIG may then list no domains.

While serve runs, "dnsscout keys" reaches it through the admin socket
(--admin-socket, mode 0600). SIGINT or SIGTERM stops it gracefully.`,
		Example: `  dnsscout serve --db /var/lib/dnsscout/pdns
  dnsscout keys add --name analyst --daily-quota 1000 && dnsscout serve --listen 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem
  dnsscout serve --resolver 127.0.0.1:53 --log-format json
  dnsscout serve --resolver 127.0.0.1:53 --watch /etc/dnsscout/watch.json --watch-link-base https://dnsscout.example.net
  dnsscout serve --cache-size 1GiB --max-in-flight-per-key 8 --write-timeout 10s
  DNSDB_SERVER=http://127.0.0.1:8053 DNSDB_API_KEY=x dnsdbq -r www.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), e, &f)
		},
	}
	fl := cmd.Flags()
	addDBFlag(fl, &f.db)
	fl.StringVar(&f.listen, "listen", defaultListen, "listen `ADDR:PORT` (an IP address or localhost; port 0 picks a free one)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM, with the chain)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "private key `FILE` of --tls-cert (PEM)")
	fl.BoolVar(&f.insecureNoAuth, "insecure-no-auth", false, "serve without API keys, even on a non-loopback address and even when keys exist")
	fl.StringArrayVarP(&f.resolvers, "resolver", "r", nil, "recursive resolver `host[:port]` for the recon page (repeatable; no default: the page is off without one)")
	fl.Uint16Var(&f.nsPort, "nameserver-port", 53, "port for the recon page's direct queries to nameservers (lab worlds on high ports)")
	fl.DurationVar(&f.reconTimeout, "recon-timeout", 5*time.Minute, "longest recon run of the recon page")
	fl.IntVar(&f.defaultLimit, "default-limit", 10000, "results of a query that gives no limit")
	fl.IntVar(&f.maxResults, "max-results", 1_000_000, "most results of one query (limit=0); keys may lower it")
	fl.IntVar(&f.maxOffset, "max-offset", 1_000_000, "largest offset of one query (416 beyond); keys may lower it")
	fl.DurationVar(&f.flexTimeout, "flex-timeout", time.Minute, "longest scan of one Flex (regex/glob) search")
	fl.StringVar(&f.maxIngest, "max-ingest-bytes", "256MiB", "largest remote-sensor batch after decompression")
	fl.IntVar(&f.maxIngestRatio, "max-ingest-ratio", 100, "largest decompression ratio of a gzip batch, checked after its first MiB (413 beyond)")
	fl.IntVar(&f.maxBadLines, "max-ingest-bad-lines", 100, "malformed or refused lines a batch may skip before it is refused (400)")
	fl.StringVar(&f.cacheSize, "cache-size", "64MiB", "block cache of the embedded store (size it near the store for the fastest lookups)")
	fl.StringVar(&f.answerCache, "answer-cache", "64MiB", "cache of complete DNSDB lookup answers, valid until the next write to the store (embedded store only; 0 = none)")
	fl.DurationVar(&f.statsInterval, "stats-interval", time.Hour, "refresh the store's tuple count for /metrics this often (a full scan; 0 = never)")
	fl.StringVar(&f.adminSocket, "admin-socket", "", "Unix socket for \"dnsscout keys\" while serving (default: DIR.admin.sock beside the store directory; \"none\" = off)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on standard error: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.BoolVar(&f.logRequests, "log-requests", false, "log every request at info level")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, wait this long for requests in progress")
	addAdmissionFlags(fl, &f.adm)
	fl.StringVar(&f.watchConfig, "watch", "", "also run the watch of this configuration `FILE` (docs/watch.md) through --resolver, with its inventory and timelines in the web UI")
	addWatchRunFlags(fl, &f.watch, "watch-")
	fl.DurationVar(&f.watch.recon.maxTime, "watch-max-time", 30*time.Minute, "bound each watched domain's scan; a scan cut short is kept as partial (it resolves nothing)")
	fl.IntVar(&f.watch.recon.concurrency, "watch-concurrency", 200, "queries in flight at once in a watch period's run, shared equally by the domains in flight")
	fl.Float64Var(&f.watch.recon.rate, "watch-rate", 0, "the watch's query rate limit in queries/s (0 = unlimited)")
	fl.IntVar(&f.maxWatched, "watch-max-domains", api.DefaultMaxWatched, "most domains managed through the API (POST /api/v1/domains); at most 1000 per request")
	return cmd
}

// addAdmissionFlags registers the admission limits, deadlines and
// budgets (docs/api.md, "Admission").
func addAdmissionFlags(fl *pflag.FlagSet, a *admissionFlags) {
	fl.IntVar(&a.maxInFlight, "max-in-flight", 256, "requests worked on at once over the server (503 beyond); those waiting on their client do not count")
	fl.IntVar(&a.perKey, "max-in-flight-per-key", 4, "requests of one API key worked on at once; more wait in the key's queue")
	fl.IntVar(&a.perClient, "max-in-flight-per-client", 4, "the same for requests without a key, per client address (IPv6: per /64)")
	fl.IntVar(&a.perExpensive, "max-expensive-per-key", max(1, runtime.GOMAXPROCS(0)/2), "expensive requests (large wildcard, range and Flex searches) of one key or client address worked on at once; more wait (default: half the processors)")
	fl.Float64Var(&a.expensiveShare, "expensive-share", 0.1, "share of the processors expensive requests may use, all together, while cheap lookups come at 1,000/s or more; they pause beyond it (1 = no pacing)")
	fl.IntVar(&a.maxStrikes, "max-strikes", 10, "times a key or client address may misbehave in quick succession (slow, oversized or malformed bodies, unread answers, holding --max-requests-per-client) before its new requests of that kind wait out a penalty (-1 = no penalties)")
	fl.DurationVar(&a.strikePenalty, "strike-penalty", time.Second, "what each strike beyond --max-strikes costs the key or address; one is forgiven this often")
	fl.IntVar(&a.maxQueue, "max-queue", 1024, "requests of one key or client address waiting for a slot (503 beyond)")
	fl.DurationVar(&a.queueTimeout, "queue-timeout", 10*time.Second, "longest wait for a slot (503 after)")
	fl.IntVar(&a.perClientRequests, "max-requests-per-client", 512, "requests of one key or client address held at once; beyond, the one waiting longest on its client is cut")
	fl.IntVar(&a.maxRequests, "max-requests", 2048, "the same over the server (bounds the memory of held requests)")
	fl.DurationVar(&a.headerTimeout, "header-timeout", 10*time.Second, "longest wait for a request's headers")
	fl.DurationVar(&a.bodyTimeout, "body-timeout", 5*time.Minute, "longest wait for a request's body")
	fl.StringVar(&a.minBodyRate, "min-body-rate", "1KiB", "slowest a body may come, in bytes per second of waiting (408 below; 0 = no minimum)")
	fl.DurationVar(&a.bodyGrace, "body-grace", 10*time.Second, "wait for a body before --min-body-rate applies")
	fl.DurationVar(&a.writeTimeout, "write-timeout", 30*time.Second, "longest one write of an answer waits for the client to read (then the connection is cut)")
	fl.DurationVar(&a.idleTimeout, "idle-timeout", 2*time.Minute, "close keep-alive connections idle this long")
	fl.DurationVar(&a.workBudget, "work-budget", 2*time.Minute, "most server time on one request, waits on the client excluded (then it is cut; 0 = none)")
}

// apply validates the admission flags into o.
func (a *admissionFlags) apply(o *api.Options) error {
	for _, v := range []struct {
		name string
		n    int
	}{{"--max-in-flight", a.maxInFlight}, {"--max-in-flight-per-key", a.perKey}, {"--max-in-flight-per-client", a.perClient}, {"--max-expensive-per-key", a.perExpensive},
		{"--max-queue", a.maxQueue}, {"--max-requests-per-client", a.perClientRequests}, {"--max-requests", a.maxRequests}} {
		if v.n <= 0 {
			return usageError("serve: %s must be positive", v.name)
		}
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"--queue-timeout", a.queueTimeout}, {"--header-timeout", a.headerTimeout}, {"--body-timeout", a.bodyTimeout},
		{"--body-grace", a.bodyGrace}, {"--write-timeout", a.writeTimeout}, {"--idle-timeout", a.idleTimeout}, {"--strike-penalty", a.strikePenalty}} {
		if v.d <= 0 {
			return usageError("serve: %s must be positive", v.name)
		}
	}
	if !(a.expensiveShare > 0 && a.expensiveShare <= 1) {
		return usageError("serve: --expensive-share must be above 0 and at most 1")
	}
	if a.maxStrikes == 0 || a.maxStrikes < -1 || a.maxStrikes > 1_000_000 {
		return usageError("serve: --max-strikes must be 1 to 1,000,000, or -1 for no penalties")
	}
	if a.strikePenalty > time.Hour {
		return usageError("serve: --strike-penalty must be an hour at most")
	}
	rate, err := parseSize(a.minBodyRate)
	if err != nil {
		return usageError("serve: --min-body-rate %q: want a size per second like 1KiB", a.minBodyRate)
	}
	if rate == 0 {
		rate = -1
	}
	budget := a.workBudget
	if budget <= 0 {
		budget = -1
	}
	o.MaxInFlight, o.MaxInFlightPerKey, o.MaxInFlightPerClient = a.maxInFlight, a.perKey, a.perClient
	o.MaxExpensivePerTenant, o.ExpensiveShare = a.perExpensive, a.expensiveShare
	o.MaxStrikes, o.StrikePenalty = a.maxStrikes, a.strikePenalty
	o.MaxQueue, o.QueueTimeout = a.maxQueue, a.queueTimeout
	o.MaxRequestsPerClient, o.MaxRequests = a.perClientRequests, a.maxRequests
	o.HeaderTimeout, o.BodyTimeout, o.MinBodyRate, o.BodyGrace = a.headerTimeout, a.bodyTimeout, rate, a.bodyGrace
	o.WriteTimeout, o.IdleTimeout, o.WorkBudget = a.writeTimeout, a.idleTimeout, budget
	return nil
}

// serveLogger builds serve's structured logger.
func serveLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("serve: --log-level must be debug, info, warn or error, not %q", level)
	}
	o := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, usageError("serve: --log-format must be text or json, not %q", format)
}

// listenIsLoopback reports whether a listen address only accepts local
// connections; it accepts IP literals and "localhost" (no name lookups).
func listenIsLoopback(addr string) (bool, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("want ADDR:PORT: %v", err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return false, fmt.Errorf("bad port %q", port)
	}
	switch strings.ToLower(host) {
	case "localhost":
		return true, nil
	case "":
		return false, nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false, fmt.Errorf("the host must be an IP address or localhost, not %q", host)
	}
	return a.IsLoopback(), nil
}

// storeDirOf returns the directory of a DSN naming the embedded store, or
// "" for other backends.
func storeDirOf(dsn string) string {
	scheme, loc, ok := strings.Cut(dsn, "://")
	switch {
	case !ok:
		return dsn
	case strings.EqualFold(scheme, "pebble"):
		return loc
	}
	return ""
}

// adminSocketPath is the admin socket of a store: DIR.admin.sock beside
// the directory.
func adminSocketPath(flag, dsn string) string {
	if flag == "none" {
		return ""
	}
	if flag != "" {
		return flag
	}
	dir := storeDirOf(dsn)
	if dir == "" {
		return ""
	}
	return filepath.Clean(dir) + ".admin.sock"
}

// serveSetup is what serve's flags give before anything is opened.
type serveSetup struct {
	opt      api.Options
	loopback bool
	servers  []netip.AddrPort
	dsn      string
	cache    int64
}

// setup validates the flags into api.Options (all but the store, keys
// and recon), without opening anything.
func (f *serveFlags) setup(e *env) (*serveSetup, error) {
	var st serveSetup
	loopback, err := listenIsLoopback(f.listen)
	if err != nil {
		return nil, usageError("serve: --listen %q: %v", f.listen, err)
	}
	st.loopback = loopback
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, usageError("serve: give both --tls-cert and --tls-key, or neither")
	}
	maxIngest, err := parseSize(f.maxIngest)
	if err != nil || maxIngest <= 0 {
		return nil, usageError("serve: --max-ingest-bytes %q: want a positive size like 256MiB", f.maxIngest)
	}
	if st.cache, err = parseSize(f.cacheSize); err != nil || st.cache <= 0 {
		return nil, usageError("serve: --cache-size %q: want a positive size like 64MiB", f.cacheSize)
	}
	answers, err := parseSize(f.answerCache)
	if err != nil || answers < 0 {
		return nil, usageError("serve: --answer-cache %q: want a size like 64MiB, or 0 for none", f.answerCache)
	}
	if answers == 0 {
		answers = -1 // api.Options: negative = none
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"--default-limit", f.defaultLimit}, {"--max-results", f.maxResults}, {"--max-offset", f.maxOffset},
		{"--max-ingest-ratio", f.maxIngestRatio}, {"--max-ingest-bad-lines", f.maxBadLines}} {
		if v.n <= 0 {
			return nil, usageError("serve: %s must be positive", v.name)
		}
	}
	if f.defaultLimit > f.maxResults {
		return nil, usageError("serve: --default-limit %d above --max-results %d", f.defaultLimit, f.maxResults)
	}
	st.opt = api.Options{NoAuth: f.insecureNoAuth,
		DefaultLimit: f.defaultLimit, MaxResults: f.maxResults, MaxOffset: f.maxOffset,
		FlexTimeout: f.flexTimeout, MaxIngestBytes: maxIngest, MaxIngestRatio: f.maxIngestRatio, MaxIngestBadLines: f.maxBadLines,
		StatsInterval: f.statsInterval, LogRequests: f.logRequests, Version: Version, ShutdownTimeout: f.shutdownTimeout,
		AnswerCacheBytes: answers}
	if err := f.adm.apply(&st.opt); err != nil {
		return nil, err
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("serve: TLS: %w", err)
		}
		st.opt.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	for _, s := range f.resolvers {
		ap, err := parseServer(s)
		if err != nil {
			return nil, usageError("serve: --resolver %q: %v", s, err)
		}
		st.servers = append(st.servers, ap)
	}
	if st.dsn, err = storeDSN(e, "serve: ", f.db); err != nil {
		return nil, err
	}
	st.opt.StoreDir = storeDirOf(st.dsn)
	st.opt.AdminSocket = adminSocketPath(f.adminSocket, st.dsn)
	return &st, nil
}

// checkAuth refuses to serve a non-loopback address without keys, and
// says how the server authenticates.
func (f *serveFlags) checkAuth(log *slog.Logger, km *keys.Manager, loopback bool) error {
	switch {
	case f.insecureNoAuth && !loopback:
		log.Warn("serving without authentication on a non-loopback address (--insecure-no-auth)", "listen", f.listen)
	case f.insecureNoAuth:
		log.Warn("serving without authentication (--insecure-no-auth)")
	case km == nil || km.Len() == 0:
		if !loopback {
			return usageError("serve: refusing to serve %s without API keys: create one with \"dnsscout keys add\" or pass --insecure-no-auth", f.listen)
		}
		log.Info("no API keys in the store: serving without authentication on loopback (dnsscout keys add turns it on)")
	}
	return nil
}

func runServe(ctx context.Context, e *env, f *serveFlags) error {
	log, err := serveLogger(e.stderr, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	st, err := f.setup(e)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, e, "serve: ", st.dsn, store.Options{Logger: log, MaxLimit: -1, CacheBytes: st.cache})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer db.Close()
	o := &st.opt
	o.Store, o.Logger = db, log
	if ms, ok := db.(store.MetaStore); ok {
		if o.Keys, err = keys.Open(ctx, ms, keys.Options{Logger: log}); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	if err := f.checkAuth(log, o.Keys, st.loopback); err != nil {
		return err
	}
	if len(st.servers) > 0 {
		res, err := resolver.New(resolver.Options{Servers: st.servers, Logger: log})
		if err != nil {
			return usageError("serve: %v", err)
		}
		defer res.Close()
		o.Recon = &api.ReconConfig{Exchanger: res, Options: scan.Options{Recon: recon.Options{NameserverPort: f.nsPort}}, Timeout: f.reconTimeout}
	}
	var wr *watchRun
	if f.watchConfig != "" {
		if wr, err = f.startWatch(e, log, db, st, o); err != nil {
			return err
		}
	}
	srv, err := api.New(*o)
	if err != nil {
		if wr != nil {
			wr.close(ctx, 0)
		}
		return usageError("serve: %v", err)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	scheme := "http"
	if o.TLS != nil {
		scheme = "https"
	}
	fmt.Fprintf(e.stderr, "dnsscout: serving on %s://%s\n", scheme, ln.Addr())
	var watchDone chan error
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if wr != nil {
		watchDone = make(chan error, 1)
		go func() { watchDone <- wr.w.Run(wctx) }()
	}
	runErr := srv.Serve(ctx, ln)
	if wr != nil {
		// Serve returns when ctx ends (or on a listener error): the watch
		// drops its scans in progress; its spooled alerts stay spooled.
		stopWatch()
		if err := <-watchDone; err != nil && runErr == nil {
			runErr = fmt.Errorf("serve: %w", err)
		}
		if err := wr.close(ctx, o.ShutdownTimeout); err != nil {
			log.Warn("alerts left in the spool for the next start", "err", err)
		}
	}
	if err := db.Close(); err != nil && runErr == nil && !errors.Is(err, store.ErrClosed) {
		runErr = fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return runErr
}

// startWatch wires serve --watch: the configuration, a registry shared
// with the server's metrics, the scans through --resolver.
func (f *serveFlags) startWatch(e *env, log *slog.Logger, db store.Backend, st *serveSetup, o *api.Options) (*watchRun, error) {
	if len(st.servers) == 0 {
		return nil, usageError("serve: --watch needs --resolver (serve never uses /etc/resolv.conf)")
	}
	cfg, err := readWatchConfig(f.watchConfig)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	o.Registry = reg
	if f.watch.recon.concurrency < 1 || f.watch.recon.maxTime < 0 || f.watch.recon.rate < 0 {
		return nil, usageError("serve: --watch-concurrency must be at least 1, --watch-max-time and --watch-rate not negative")
	}
	ro := resolver.Options{Servers: st.servers, Rate: f.watch.recon.rate, Concurrency: f.watch.recon.concurrency, Logger: log}
	opts := scan.Options{Recon: recon.Options{NameserverPort: f.nsPort, MaxTime: f.watch.recon.maxTime}, Logger: log}
	if f.maxWatched < 1 {
		return nil, usageError("serve: --watch-max-domains must be at least 1")
	}
	managed, err := store.WatchedOf(db)
	if err != nil {
		return nil, fmt.Errorf("serve: --watch: %w", err)
	}
	every := watch.DefaultEvery
	if cfg.Every > 0 {
		every = time.Duration(cfg.Every)
	}
	wr, err := startWatch(e, &f.watch, log, db, st.dsn, cfg.WatchList(0), cfg.Alerts, watchRunner(ro, opts, f.watch.recon.concurrency, log), reg,
		managed, every)
	if err != nil {
		return nil, err
	}
	o.Watch = wr.w
	o.MaxWatched = f.maxWatched
	return wr, nil
}
