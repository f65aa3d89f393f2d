package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/ingest"
	"github.com/dnsscout/dnsscout/internal/ingest/remote"
	"github.com/dnsscout/dnsscout/internal/store"
	_ "github.com/dnsscout/dnsscout/internal/store/pebble" // the default backend
)

func init() { subcommands = append(subcommands, newIngestCmd) }

type ingestFlags struct {
	db            string
	to            string
	key           string
	sensorID      string
	ports         []string
	anyPort       bool
	anyPortQs     int
	decapDepth    int
	memory        string
	interfaces    []string
	dnstapTypes   []string
	zoneOrigin    string
	flushInterval time.Duration
	batch         int
	progress      string
	quiet         bool
	verbose       bool
}

func newIngestCmd(e *env) *cobra.Command {
	var f ingestFlags
	cmd := &cobra.Command{
		Use:   "ingest [flags] SOURCE...",
		Short: "Collect passive DNS from captures, dnstap and existing logs into the store",
		Long: `ingest reads DNS responses and folds every record it may keep (the bailiwick
rule, docs/ingest.md) into (rrname, rrtype, rdata) tuples with first/last
seen times and counts, written to the passive DNS store in batches.

Sources, detected by content (gzip is unwrapped) unless a prefix names them:
  FILE | -                   pcap or pcapng capture, dnstap file, gamelinux/passivedns
                             log (text or -j JSON), COF/SAF NDJSON, or zone file
  pcap:|dnstap:|passivedns:|cof:|zone:FILE
                             force the kind
  dnstap:unix:PATH           listen for dnstap (Frame Streams) on a Unix socket
  dnstap:tcp:HOST:PORT       listen for dnstap on TCP
--interface NAME captures live traffic with AF_PACKET (needs CAP_NET_RAW).
Captures may be tunnelled (VXLAN, GENEVE, GRE, ERSPAN, MPLS, QinQ, PPPoE, GTP-U,
Teredo, IP in IP) or of link type NFLOG, 802.11, radiotap or pflog. mDNS (5353) and LLMNR (5355)
answers are local names: they are stored under the sensor ids SENSOR/mdns and
SENSOR/llmnr, never as global DNS.

Listeners and live captures run until SIGINT or SIGTERM; everything collected
is flushed before exit. SIGUSR1 prints the statistics to stderr; they are
printed at the end too (unless --quiet). Client addresses are never stored.`,
		Example: `  dnsscout ingest capture.pcap.gz
  dnsscout ingest --db /var/lib/dnsscout --sensor-id edge1 --interface eth0
  dnsscout ingest dnstap:unix:/run/dnsscout/dnstap.sock --dnstap-types resolver-response,client-response
  tcpdump -w - port 53 | dnsscout ingest -
  dnsscout ingest --dns-ports 53,8053 --dns-any-port mirror.pcapng
  dnsscout ingest passivedns.log export.ndjson example.com.zone
  dnsscout ingest --to https://pdns.example.net --key "$DNSSCOUT_KEY" --interface eth0`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd.Context(), e, &f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "", "store directory or DSN (default: $XDG_DATA_HOME/dnsscout/pdns or ~/.local/share/dnsscout/pdns)")
	fl.StringVar(&f.to, "to", "", "send tuples and NXDOMAIN counters to a dnsscout server `URL` (POST /api/v1/ingest, /api/v1/ingest/nxdomain) instead of the local store")
	fl.StringVar(&f.key, "key", "", "API key with the ingest permission for --to (default $DNSSCOUT_KEY)")
	fl.StringVar(&f.sensorID, "sensor-id", "", "sensor id recorded with every tuple (default: the host name)")
	fl.StringSliceVar(&f.ports, "dns-ports", []string{"53", "5353", "5355"}, "DNS server ports of captures (comma-separated; 853, DNS over TLS, cannot be decoded)")
	fl.StringSliceVar(&f.ports, "ports", []string{"53", "5353", "5355"}, "the old name of --dns-ports")
	_ = fl.MarkHidden("ports")
	fl.BoolVar(&f.anyPort, "dns-any-port", false, "also take DNS responses on any other UDP port that match a query seen on the reverse flow")
	fl.IntVar(&f.anyPortQs, "dns-any-port-queries", 65536, "queries remembered per capture for --dns-any-port")
	fl.IntVar(&f.decapDepth, "decap-depth", 4, "most nested encapsulations taken apart (VXLAN in GENEVE counts 2)")
	fl.StringVar(&f.memory, "memory", "256MiB", "memory budget (Go heap limit; the aggregate is flushed at half of it), e.g. 64MiB, 1GiB")
	fl.StringArrayVarP(&f.interfaces, "interface", "i", nil, "capture live on this network interface (repeatable)")
	fl.StringSliceVar(&f.dnstapTypes, "dnstap-types", []string{"resolver-response"}, "dnstap message types to use: resolver-response, client-response, auth-response, forwarder-response, stub-response, tool-response")
	fl.StringVar(&f.zoneOrigin, "zone-origin", "", "origin of zone files without $ORIGIN (default: guessed from the file name)")
	fl.DurationVar(&f.flushInterval, "flush-interval", 30*time.Second, "flush to the store at least this often")
	fl.IntVar(&f.batch, "batch", 100000, "tuples per store write")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar for files: auto (when stderr is a terminal), always, never")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not print the statistics at the end")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log debug messages to stderr")
	return cmd
}

func runIngest(ctx context.Context, e *env, f *ingestFlags, args []string) error {
	if len(args) == 0 && len(f.interfaces) == 0 {
		return usageError("ingest: give at least one SOURCE or --interface")
	}
	ports, err := parsePorts(f.ports)
	if err != nil {
		return usageError("ingest: --dns-ports: %v", err)
	}
	if f.anyPortQs < 1 || f.decapDepth < 1 {
		return usageError("ingest: --dns-any-port-queries and --decap-depth must be at least 1")
	}
	mem, err := parseSize(f.memory)
	if err != nil {
		return usageError("ingest: --memory: %v", err)
	}
	switch f.progress {
	case "auto", "always", "never":
	default:
		return usageError("ingest: --progress must be auto, always or never, not %q", f.progress)
	}
	if f.flushInterval <= 0 {
		return usageError("ingest: --flush-interval must be positive")
	}
	sources := append([]string(nil), args...)
	for _, i := range f.interfaces {
		sources = append(sources, "live:"+i)
	}
	if err := ingest.CheckSources(sources); err != nil {
		return usageError("%v", err)
	}
	log := newLogger(e.stderr, f.verbose)
	dsn := f.db
	if dsn == "" {
		if dsn, err = store.DefaultDirFrom(e.getenv); err != nil {
			return usageError("ingest: %v; give --db", err)
		}
	}
	if mem < 2<<20 {
		return usageError("ingest: --memory must be at least 2MiB")
	}
	// --memory bounds the process: the Go heap is held under it, and the
	// aggregate (whose size is an estimate, and which the garbage collector
	// needs room beside) is flushed at half of it. Pebble's cache and
	// memtables live outside the Go heap and come on top.
	debug.SetMemoryLimit(mem)
	opts := ingest.Options{
		SensorID:       f.sensorID,
		Memory:         mem / 2,
		BatchSize:      f.batch,
		FlushInterval:  f.flushInterval,
		Ports:          ports,
		AnyPort:        f.anyPort,
		AnyPortQueries: f.anyPortQs,
		DecapDepth:     f.decapDepth,
		DnstapTypes:    f.dnstapTypes,
		ZoneOrigin:     f.zoneOrigin,
		Logger:         log,
	}
	var bar *progressBar
	if f.progress == "always" || (f.progress == "auto" && isTerminal(e.stderr)) {
		bar = &progressBar{e: e}
		opts.Progress = bar.update
	}
	// Tuples go to the local store, or to a remote server through an
	// on-disk spool (at-least-once delivery; the merge is idempotent).
	var sink ingest.Sink
	var db store.Backend
	if f.to != "" {
		key := f.key
		if key == "" {
			key = e.getenv("DNSSCOUT_KEY")
		}
		rs, err := remote.NewSink(remote.Options{URL: f.to, Key: key, Logger: log})
		if err != nil {
			return usageError("ingest: --to: %v", err)
		}
		defer rs.Close(context.WithoutCancel(ctx))
		sink = rs
	} else {
		if db, err = store.Open(ctx, dsn, store.Options{Logger: log}); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		defer db.Close()
		sink = db
	}
	in, err := ingest.New(sink, opts)
	if err != nil {
		if errors.Is(err, ingest.ErrOptions) {
			return usageError("%v", err)
		}
		return err
	}
	stopUSR1 := onSIGUSR1(func() {
		st := in.Stats()
		bar.clear()
		st.WriteTo(e.stderr)
	})
	runErr := in.Run(ctx, e.stdin, sources...)
	if err := in.Close(ctx); runErr == nil {
		runErr = err
	}
	stopUSR1()
	bar.clear()
	if !f.quiet {
		st := in.Stats()
		st.WriteTo(e.stderr)
	}
	if runErr != nil {
		if errors.Is(runErr, ingest.ErrSource) {
			return usageError("%v", runErr)
		}
		return runErr
	}
	if db != nil {
		return db.Close()
	}
	return nil
}

// onSIGUSR1 calls fn on every SIGUSR1 until the returned stop is called.
func onSIGUSR1(fn func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ch:
				fn()
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(ch)
		close(done)
		wg.Wait()
	}
}

// progressBar draws one line per file being read.
type progressBar struct {
	e     *env
	mu    sync.Mutex
	drawn bool
	start time.Time
	name  string
}

func (p *progressBar) update(name string, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if name != p.name {
		p.name, p.start = name, time.Now()
	}
	const width = 30
	line := fmt.Sprintf("%s  %s", name, formatBytes(done))
	if total > 0 {
		frac := min(1, float64(done)/float64(total))
		n := int(frac * width)
		line = fmt.Sprintf("%s  [%s%s] %3.0f%%  %s / %s", name, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, formatBytes(done), formatBytes(total))
	}
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		line += fmt.Sprintf("  %s/s", formatBytes(int64(float64(done)/secs)))
	}
	fmt.Fprintf(p.e.stderr, "\r\033[K%s", line)
	p.drawn = true
}

func (p *progressBar) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.e.stderr, "\r\033[K")
		p.drawn = false
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// parsePorts reads port numbers (1-65535), possibly comma-separated.
func parsePorts(list []string) ([]uint16, error) {
	var out []uint16
	for _, item := range list {
		for _, s := range strings.Split(item, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			n, err := strconv.ParseUint(s, 10, 16)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("bad port %q", s)
			}
			out = append(out, uint16(n))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no port")
	}
	return out, nil
}

// parseSize reads a byte size: a number with an optional unit (K, M, G,
// KiB, MiB, GiB, KB, MB, GB; all binary multiples).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("bad size unit in %q", s)
	}
	if v*mult > 1<<50 {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return int64(v * mult), nil
}
