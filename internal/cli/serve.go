package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/api"
	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/store"
	_ "github.com/dnsscout/dnsscout/internal/store/pebble" // the default backend
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
	maxInFlight     int
	flexTimeout     time.Duration
	maxIngest       string
	statsInterval   time.Duration
	adminSocket     string
	logFormat       string
	logLevel        string
	logRequests     bool
	shutdownTimeout time.Duration
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

While serve runs, "dnsscout keys" reaches it through the admin socket
(--admin-socket, mode 0600). SIGINT or SIGTERM stops it gracefully.`,
		Example: `  dnsscout serve --db /var/lib/dnsscout/pdns
  dnsscout keys add --name analyst --daily-quota 1000 && dnsscout serve --listen 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem
  dnsscout serve --resolver 127.0.0.1:53 --log-format json
  DNSDB_SERVER=http://127.0.0.1:8053 DNSDB_API_KEY=x dnsdbq -r www.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), e, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "", "store directory or DSN (default: $XDG_DATA_HOME/dnsscout/pdns or ~/.local/share/dnsscout/pdns)")
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
	fl.IntVar(&f.maxInFlight, "max-in-flight", 256, "API requests answered at once over all keys (503 beyond)")
	fl.DurationVar(&f.flexTimeout, "flex-timeout", time.Minute, "longest scan of one Flex (regex/glob) search")
	fl.StringVar(&f.maxIngest, "max-ingest-bytes", "256MiB", "largest remote-sensor batch after decompression")
	fl.DurationVar(&f.statsInterval, "stats-interval", time.Hour, "refresh the store's tuple count for /metrics this often (a full scan; 0 = never)")
	fl.StringVar(&f.adminSocket, "admin-socket", "", "Unix socket for \"dnsscout keys\" while serving (default: DIR.admin.sock beside the store directory; \"none\" = off)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on standard error: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.BoolVar(&f.logRequests, "log-requests", false, "log every request at info level")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, wait this long for requests in progress")
	return cmd
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

func runServe(ctx context.Context, e *env, f *serveFlags) error {
	log, err := serveLogger(e.stderr, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	loopback, err := listenIsLoopback(f.listen)
	if err != nil {
		return usageError("serve: --listen %q: %v", f.listen, err)
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usageError("serve: give both --tls-cert and --tls-key, or neither")
	}
	maxIngest, err := parseSize(f.maxIngest)
	if err != nil || maxIngest <= 0 {
		return usageError("serve: --max-ingest-bytes %q: want a positive size like 256MiB", f.maxIngest)
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"--default-limit", f.defaultLimit}, {"--max-results", f.maxResults}, {"--max-offset", f.maxOffset}, {"--max-in-flight", f.maxInFlight}} {
		if v.n <= 0 {
			return usageError("serve: %s must be positive", v.name)
		}
	}
	if f.defaultLimit > f.maxResults {
		return usageError("serve: --default-limit %d above --max-results %d", f.defaultLimit, f.maxResults)
	}
	var tlsCfg *tls.Config
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return fmt.Errorf("serve: TLS: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var servers []netip.AddrPort
	for _, s := range f.resolvers {
		ap, err := parseServer(s)
		if err != nil {
			return usageError("serve: --resolver %q: %v", s, err)
		}
		servers = append(servers, ap)
	}
	dsn := f.db
	if dsn == "" {
		if dsn, err = store.DefaultDirFrom(e.getenv); err != nil {
			return usageError("serve: %v; give --db", err)
		}
	}

	db, err := store.Open(ctx, dsn, store.Options{Logger: log, MaxLimit: -1})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer db.Close()
	var km *keys.Manager
	if ms, ok := db.(store.MetaStore); ok {
		if km, err = keys.Open(ctx, ms, keys.Options{Logger: log}); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
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

	var rc *api.ReconConfig
	if len(servers) > 0 {
		res, err := resolver.New(resolver.Options{Servers: servers, Logger: log})
		if err != nil {
			return usageError("serve: %v", err)
		}
		defer res.Close()
		rc = &api.ReconConfig{Exchanger: res, Options: recon.Options{NameserverPort: f.nsPort}, Timeout: f.reconTimeout}
	}
	srv, err := api.New(api.Options{
		Store: db, Keys: km, NoAuth: f.insecureNoAuth,
		DefaultLimit: f.defaultLimit, MaxResults: f.maxResults, MaxOffset: f.maxOffset, MaxInFlight: f.maxInFlight,
		FlexTimeout: f.flexTimeout, MaxIngestBytes: maxIngest, Recon: rc,
		StoreDir: storeDirOf(dsn), StatsInterval: f.statsInterval,
		LogRequests: f.logRequests, Logger: log, Version: Version,
	})
	if err != nil {
		return usageError("serve: %v", err)
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Bodies (remote-sensor batches) must arrive within this; answers
		// have no write deadline, as long lookups stream.
		ReadTimeout:    5 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		TLSConfig:      tlsCfg,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:    func(net.Listener) context.Context { return ctx },
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsCfg)
	}

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { srv.Run(runCtx) })
	if km != nil {
		wg.Go(func() { km.Run(runCtx, 5*time.Second) })
	}

	var admin *http.Server
	if sock := adminSocketPath(f.adminSocket, dsn); sock != "" && km != nil {
		aln, err := listenAdmin(sock)
		if err != nil {
			log.Warn("no admin socket; \"dnsscout keys\" needs the server stopped", "socket", sock, "err", err)
		} else {
			admin = &http.Server{Handler: api.AdminHandler(km), ReadHeaderTimeout: 10 * time.Second}
			wg.Go(func() { _ = admin.Serve(aln) })
			defer os.Remove(sock)
			log.Info("admin socket ready", "socket", sock)
		}
	}

	fmt.Fprintf(e.stderr, "dnsscout: serving on %s://%s\n", scheme, ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "tls", tlsCfg != nil, "auth", !f.insecureNoAuth && km != nil && km.Len() > 0,
		"recon", rc != nil, "store", dsn)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", f.shutdownTimeout)
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("requests still running at the end of the grace period were cut", "err", err)
		hs.Close()
	}
	if admin != nil {
		_ = admin.Shutdown(sctx)
	}
	stop()
	wg.Wait()
	if err := db.Close(); err != nil && runErr == nil && !errors.Is(err, store.ErrClosed) {
		runErr = fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return runErr
}

// listenAdmin opens the admin socket with mode 0600, replacing a stale
// socket file (one nobody answers on).
func listenAdmin(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by another server", path)
		}
		os.Remove(path)
	}
	// With the usual umask the socket is created without write permission
	// for others (which connecting needs); chmod narrows it to the user.
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
