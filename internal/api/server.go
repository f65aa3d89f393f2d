// Package api is dnsscout's passive DNS server: the CIRCL-style
// /pdns/query API and the DNSDB API v2 (lookups, summaries, Flex search,
// ping, rate_limit) over a store.Backend, so that dnsdbq, PyPDNS and the
// analyzers written for those services work unchanged; the remote-sensor
// ingest endpoint; a web UI (search, pivots, timelines, recon); and the
// operational endpoints (/healthz, /metrics, /openapi.json). It owns the
// HTTP surface: routing, request parsing, authentication with
// internal/keys, the mapping of errors to status codes (statusOf, the only
// place that does it), and response framing (COF NDJSON, DNSDB SAF).
//
// It also owns the server's lifecycle (Serve: the listener, TLS, the
// admin socket, the key manager's flushing, graceful shutdown) and
// admission: who is worked on when, the deadlines on every read and
// write, and the budgets of one request (admission.go, call.go).
//
// It does not store anything itself (internal/store does), decide who holds
// which key (internal/keys does), or open stores and parse flags
// (internal/cli/serve.go does). Protocol facts follow
// /work/shared/reference/pdns-interop.md; docs/api.md describes the
// endpoints for users.
package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/scan"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Errors of package api. statusOf maps them (and the errors of store,
// keys and pdns) to HTTP status codes.
var (
	// ErrNoCredentials: the request carries no API key.
	ErrNoCredentials = errors.New("api: no API key given")
	// ErrBadRequest: a malformed path, parameter, header or body.
	ErrBadRequest = errors.New("api: bad request")
	// ErrNotFound: no such endpoint (never "no results": those are 200).
	ErrNotFound = errors.New("api: no such endpoint")
	// ErrMethod: the endpoint exists but not for this method.
	ErrMethod = errors.New("api: method not allowed")
	// ErrMediaType: the Accept, Content-Type or Content-Encoding header
	// names a format the endpoint does not produce or read.
	ErrMediaType = errors.New("api: unsupported media type")
	// ErrOffsetRange: the offset exceeds the key's or server's offset cap,
	// or is given where none is allowed.
	ErrOffsetRange = errors.New("api: offset out of range")
	// ErrTooLarge: a request body exceeds the server's cap.
	ErrTooLarge = errors.New("api: request body too large")
	// ErrPenalized refuses a request of a key or client address that
	// misbehaved too often (Options.MaxStrikes); 429 with Retry-After.
	ErrPenalized = errors.New("api: too many bad requests")
	// ErrBusy: the server has its maximum of requests in flight, the
	// client's key or address has too many waiting, or the recon page is
	// running another recon.
	ErrBusy = errors.New("api: server busy")
	// ErrSlowClient: the request body came slower than the server's
	// minimum rate, or took longer than its body timeout.
	ErrSlowClient = errors.New("api: client too slow")
	// ErrDisabled: the feature is not configured on this server (the
	// recon page without --resolver).
	ErrDisabled = errors.New("api: feature disabled on this server")
	// ErrOptions: an Options field is invalid.
	ErrOptions = errors.New("api: bad options")
	// ErrConflict: the request contradicts the server's configuration (a
	// domain of the watch's file cannot be removed through the API).
	ErrConflict = errors.New("api: conflict")
	// ErrNoSuchDomain: the domain is not managed through the API.
	ErrNoSuchDomain = errors.New("api: no such domain")
)

// badRequest wraps a message as ErrBadRequest.
func badRequest(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, a...))
}

// notFound is ErrNotFound for a path.
func notFound(path string) error {
	if len(path) > 200 {
		path = path[:200] + "..."
	}
	return sentinelf(ErrNotFound, "%s (see /openapi.json)", path)
}

// sentinelf returns an error that matches base (errors.Is) with a
// formatted message after base's text.
func sentinelf(base error, format string, a ...any) error {
	return &wrapped{base: base, msg: base.Error() + ": " + fmt.Sprintf(format, a...)}
}

// wrapped is an error with a message and a sentinel to match.
type wrapped struct {
	base error
	msg  string
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.base }

// flavor is the API family of an endpoint; DNSDB and CIRCL define their
// own status codes for authentication failures.
type flavor uint8

const (
	flavorAPI flavor = iota
	flavorDNSDB
	flavorCIRCL
)

// statusOf is the one place where errors become HTTP status codes.
//
//   - DNSDB: a missing or invalid key is 403, a key that may not do this
//     (revoked, expired, no permission) is 401.
//   - CIRCL and dnsscout's own endpoints: not authenticated (missing,
//     invalid, revoked, expired) is 401, no permission is 403.
//   - Every API: a quota or burst limit is 429, too many concurrent
//     requests 503, a body slower than the minimum rate 408; malformed
//     input is 400, never 5xx.
func statusOf(f flavor, err error) int {
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrDisabled), errors.Is(err, ErrNoSuchDomain):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrMediaType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrOffsetRange):
		return http.StatusRequestedRangeNotSatisfiable
	case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrSlowClient):
		return http.StatusRequestTimeout
	case errors.Is(err, ErrBadRequest), errors.Is(err, store.ErrBadQuery), errors.Is(err, store.ErrBadCursor),
		errors.Is(err, store.ErrBadTuple), errors.Is(err, pdns.ErrCOFSyntax), errors.Is(err, pdns.ErrCOFMissing),
		errors.Is(err, pdns.ErrCOFValue), errors.Is(err, keys.ErrBadSpec):
		return http.StatusBadRequest
	case errors.Is(err, ErrNoCredentials), errors.Is(err, keys.ErrMalformed), errors.Is(err, keys.ErrUnknownKey):
		if f == flavorDNSDB {
			return http.StatusForbidden
		}
		return http.StatusUnauthorized
	case errors.Is(err, keys.ErrRevoked), errors.Is(err, keys.ErrExpired):
		return http.StatusUnauthorized
	case errors.Is(err, keys.ErrForbidden):
		if f == flavorDNSDB {
			return http.StatusUnauthorized
		}
		return http.StatusForbidden
	case errors.Is(err, keys.ErrQuota), errors.Is(err, keys.ErrBurst), errors.Is(err, ErrPenalized):
		return http.StatusTooManyRequests
	case errors.Is(err, keys.ErrConcurrency), errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable
	case errors.Is(err, keys.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// Options configure New. Zero values take the documented defaults.
type Options struct {
	// Store is the passive DNS store served. Required. Open it with
	// MaxLimit -1: the server applies its own caps.
	Store store.Backend
	// Keys authenticates requests. Nil, or a manager with no key at all,
	// serves without authentication (the CLI refuses that on a
	// non-loopback address unless --insecure-no-auth). Once a key exists,
	// every API request needs one.
	Keys *keys.Manager
	// NoAuth serves without authentication even when keys exist
	// (--insecure-no-auth). Default false.
	NoAuth bool
	// DefaultLimit is the result limit of a query that gives none.
	// Default 10,000 (DNSDB's).
	DefaultLimit int
	// MaxResults caps the results of one query, and is what limit=0
	// means; a key's MaxResults lowers it. Default 1,000,000.
	MaxResults int
	// MaxOffset caps the offset of one query (416 beyond); a key's
	// MaxOffset lowers it. Default 1,000,000.
	MaxOffset int
	// MaxInFlight caps the API requests being worked on at once over the
	// whole server (503 beyond). A request that waits on its client
	// (reading its body, writing an answer the client does not read)
	// does not count while it waits. Default 256.
	MaxInFlight int
	// MaxInFlightPerKey caps the requests of one API key being worked on
	// at once; more wait in the key's queue. Default 4: a few busy
	// goroutines per key are what keeps another key's latency low on a
	// machine of few cores.
	MaxInFlightPerKey int
	// MaxInFlightPerClient is MaxInFlightPerKey for requests without a
	// key, per client address (IPv4 address, IPv6 /64). Default 4.
	MaxInFlightPerClient int
	// MaxExpensivePerTenant caps the expensive requests (an expected cost
	// of ExpensiveCost or more: wildcard, range and Flex searches with
	// large limits) of one key or client address worked on at once,
	// within its MaxInFlightPerKey or MaxInFlightPerClient; more wait.
	// Default half the processors (GOMAXPROCS), at least 1: one tenant's
	// large searches never take every core from the others.
	MaxExpensivePerTenant int
	// ExpensiveShare is the share of the processors (GOMAXPROCS) that
	// expensive queries may use, all tenants together, while cheap
	// queries come thick and fast (1,000/s or more): between writes of
	// its answer an expensive query pauses for what it used beyond (see
	// pace; a second at most per write, the rest at the next writes),
	// so a flood of large searches does not take the cores that exact
	// lookups need. A few lookups a second do not slow searches, and on
	// an otherwise idle server they run at full speed. Default 0.1; 1 =
	// no pacing.
	ExpensiveShare float64
	// MaxStrikes is how many times in quick succession a key or client
	// address may misbehave before it is penalized. A strike is a
	// request of its refused or cut for misbehaving: a body too slow,
	// too large or inflating too much, too many malformed lines, an
	// answer not read within WriteTimeout, a request cut because its
	// tenant held MaxRequestsPerClient. Each strike beyond MaxStrikes
	// costs StrikePenalty: the tenant's new requests of the same class
	// (queries, uploads) wait until its penalty has passed and then go a
	// few at a time; one whose turn is past QueueTimeout is refused
	// (429, Retry-After) after QueueTimeout. So a client that floods the
	// server with bad requests is slowed to a few a second, whatever its
	// connections. Default 10; negative = no penalties.
	MaxStrikes int
	// StrikePenalty is what a strike beyond MaxStrikes costs, and how
	// often one is forgiven. Default 1s.
	StrikePenalty time.Duration
	// MaxQueue caps the requests of one key or client address waiting
	// for a slot (503 beyond). Default 1024.
	MaxQueue int
	// QueueTimeout is the longest a request waits for a slot (503
	// after), for its expensive query's turn (503), or out a penalty
	// (429). Default 10s.
	QueueTimeout time.Duration
	// MaxRequestsPerClient caps the requests of one key or client address
	// held at once, whatever they wait on; beyond, the one that has
	// waited longest on its client is cut. Default 512.
	MaxRequestsPerClient int
	// MaxRequests is MaxRequestsPerClient over the whole server (it
	// bounds the memory of requests held: about 150 KiB each at most).
	// As many more may wait out penalties (MaxStrikes), holding no
	// buffers yet. Default 2048.
	MaxRequests int
	// HeaderTimeout bounds the reading of a request's headers. Default
	// 10s.
	HeaderTimeout time.Duration
	// BodyTimeout bounds the reading of a request's body. Default 5m.
	BodyTimeout time.Duration
	// MinBodyRate is the slowest a body may come, in bytes per second of
	// waiting for it, after BodyGrace (408 below). Default 1024; negative
	// = no minimum.
	MinBodyRate int64
	// BodyGrace is the wait for a body before MinBodyRate applies.
	// Default 10s.
	BodyGrace time.Duration
	// WriteTimeout is the longest one write of an answer may wait for
	// the client to read; then the connection is cut. Default 30s.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long. Default
	// 2m.
	IdleTimeout time.Duration
	// WorkBudget bounds the server's time on one request, not counting
	// its waits on the client or in a queue; a request past it is cut.
	// The recon page has its own timeout. Default 2m; negative = none.
	WorkBudget time.Duration
	// FlexTimeout bounds the scan of one Flex search; a search that runs
	// out ends with a "limited" terminator. Default 60s.
	FlexTimeout time.Duration
	// MaxIngestBytes caps one ingest body after decompression (413
	// beyond). Default 256 MiB.
	MaxIngestBytes int64
	// MaxIngestRatio caps the decompression ratio of a gzip ingest body,
	// checked once 1 MiB was inflated (413 beyond). Default 100.
	MaxIngestRatio int
	// MaxIngestBadLines is the most lines of one ingest body that may be
	// skipped as malformed or refused; the body is refused (400) at the
	// next one. Default 100.
	MaxIngestBadLines int
	// AnswerCacheBytes bounds the cache of complete DNSDB lookup answers
	// (answers.go), used when the store has versions (the embedded
	// one). Default 64 MiB; negative = no cache.
	AnswerCacheBytes int64
	// Recon enables the web UI's recon page; nil disables it.
	Recon *ReconConfig
	// Watch, when the server runs a watch (serve --watch), adds each
	// domain's schedule (next scan, failures) to /api/v1/domains. The
	// history endpoints need only a store with history. When it also has
	// Wake (a *watch.Watcher), POST and DELETE /api/v1/domains manage
	// its domains; else they answer 404.
	Watch WatchStatus
	// MaxWatched bounds the domains managed through the API (serve
	// --watch-max-domains). Default DefaultMaxWatched.
	MaxWatched int
	// StoreDir is the store's directory, for the store-size metric when
	// the backend cannot report its size; "" = unknown.
	StoreDir string
	// StatsInterval is how often the tuple count of the store (a full
	// scan on Pebble) is refreshed for /metrics; 0 = never.
	StatsInterval time.Duration
	// Registry receives the server's metrics (served at /metrics). Nil
	// creates a registry with the Go and process collectors.
	Registry *prometheus.Registry
	// LogRequests logs every request at Info level (default: Debug).
	LogRequests bool
	// Logger receives request logs and errors; nil discards.
	Logger *slog.Logger
	// Now is the clock (relative time fences). Default time.Now.
	Now func() time.Time
	// Version is reported by /healthz, the UI and the OpenAPI document.
	Version string

	// The lifecycle (Serve).

	// TLS serves HTTPS with this configuration; nil serves HTTP.
	TLS *tls.Config
	// AdminSocket is the Unix socket path of the admin channel for
	// "dnsscout keys" (mode 0600); "" = none. It needs Keys.
	AdminSocket string
	// ShutdownTimeout is how long Serve waits, once its context ends, for
	// requests in progress. Default 30s.
	ShutdownTimeout time.Duration
	// KeysFlushInterval is how often the keys' usage is saved. Default
	// 5s.
	KeysFlushInterval time.Duration
}

// ReconConfig configures the recon page.
type ReconConfig struct {
	// Exchanger sends recon's and the checks' queries: a
	// *resolver.Resolver built from serve's --resolver flags. Required.
	Exchanger scan.Engine
	// Options are the scan options (Recon.NameserverPort,
	// Recon.Concurrency, the checks, ...); Logger and Recon.Progress are
	// set by the server.
	Options scan.Options
	// Timeout bounds one recon run including its checks. Default 5 min.
	Timeout time.Duration
	// Keep is the number of finished runs whose results and reports stay
	// available. Default 16.
	Keep int
}

// Server serves the APIs over one store. Create it with New; it is safe
// for concurrent use.
type Server struct {
	opt     Options
	st      store.Backend
	keys    *keys.Manager
	log     *slog.Logger
	now     func() time.Time
	adm     *admission
	met     *metrics
	mux     *http.ServeMux
	openapi []byte
	ingest  *ingestState
	recon   *reconState
	answers *answerCache
	// rateLimit and rateReset are the last X-RateLimit-Limit and -Reset
	// values sent (setRateHeaders).
	rateLimit, rateReset intValue
	// manageMu serialises the changes to the watched-domain list, so
	// that Options.MaxWatched holds.
	manageMu sync.Mutex
}

// New validates o, fills its defaults and returns a server.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("%w: no store", ErrOptions)
	}
	if err := o.fill(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opt:  o,
		st:   o.Store,
		keys: o.Keys,
		log:  log.With("component", "api"),
		now:  o.Now,
	}
	if o.Recon != nil {
		rs, err := newReconState(o.Recon)
		if err != nil {
			return nil, err
		}
		s.recon = rs
	}
	s.adm = newAdmission(s)
	s.answers = newAnswerCache(o.Store, o.AnswerCacheBytes)
	s.met = newMetrics(o.Registry, s)
	s.ingest = newIngestState(s)
	doc, err := json.MarshalIndent(openAPIDocument(o.Version), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("api: openapi: %w", err)
	}
	s.openapi = append(doc, '\n')
	s.mux = buildMux()
	return s, nil
}

// fill sets the defaults of zero fields and validates the options.
func (o *Options) fill() error {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&o.DefaultLimit, 10_000)
	def(&o.MaxResults, 1_000_000)
	def(&o.MaxOffset, 1_000_000)
	def(&o.MaxInFlight, 256)
	def(&o.MaxInFlightPerKey, 4)
	def(&o.MaxInFlightPerClient, 4)
	def(&o.MaxExpensivePerTenant, max(1, runtime.GOMAXPROCS(0)/2))
	def(&o.MaxQueue, 1024)
	def(&o.MaxRequestsPerClient, 512)
	def(&o.MaxRequests, 2048)
	def(&o.MaxIngestRatio, 100)
	def(&o.MaxIngestBadLines, 100)
	def(&o.MaxWatched, DefaultMaxWatched)
	def(&o.MaxStrikes, 10)
	defDur(&o.StrikePenalty, time.Second)
	defDur(&o.QueueTimeout, 10*time.Second)
	defDur(&o.HeaderTimeout, 10*time.Second)
	defDur(&o.BodyTimeout, 5*time.Minute)
	defDur(&o.BodyGrace, 10*time.Second)
	defDur(&o.WriteTimeout, 30*time.Second)
	defDur(&o.IdleTimeout, 2*time.Minute)
	defDur(&o.WorkBudget, 2*time.Minute)
	defDur(&o.FlexTimeout, 60*time.Second)
	defDur(&o.ShutdownTimeout, 30*time.Second)
	defDur(&o.KeysFlushInterval, 5*time.Second)
	if o.MaxIngestBytes == 0 {
		o.MaxIngestBytes = 256 << 20
	}
	if o.AnswerCacheBytes == 0 {
		o.AnswerCacheBytes = 64 << 20
	}
	if o.ExpensiveShare == 0 {
		o.ExpensiveShare = 0.1
	}
	if o.MinBodyRate == 0 {
		o.MinBodyRate = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.DefaultLimit < 0 || o.MaxResults < 0 || o.MaxOffset < 0 || o.MaxIngestBytes < 0 || o.MaxIngestRatio < 0 || o.MaxIngestBadLines < 0 || o.MaxWatched < 0:
		return fmt.Errorf("%w: limits must not be negative", ErrOptions)
	case o.MaxInFlight < 0 || o.MaxInFlightPerKey < 0 || o.MaxInFlightPerClient < 0 || o.MaxExpensivePerTenant < 0 || o.MaxQueue < 0 ||
		o.MaxRequestsPerClient < 0 || o.MaxRequests < 0:
		return fmt.Errorf("%w: admission limits must not be negative", ErrOptions)
	case o.FlexTimeout < 0 || o.StatsInterval < 0 || o.QueueTimeout < 0 || o.HeaderTimeout < 0 || o.BodyTimeout < 0 ||
		o.BodyGrace < 0 || o.WriteTimeout < 0 || o.IdleTimeout < 0 || o.ShutdownTimeout < 0 || o.KeysFlushInterval < 0 ||
		o.StrikePenalty < 0:
		return fmt.Errorf("%w: durations must not be negative", ErrOptions)
	case !(o.ExpensiveShare > 0 && o.ExpensiveShare <= 1):
		return fmt.Errorf("%w: the expensive share must be above 0 and at most 1", ErrOptions)
	case o.MaxStrikes > 1_000_000 || o.StrikePenalty > time.Hour:
		return fmt.Errorf("%w: at most 1,000,000 strikes and a penalty of an hour", ErrOptions)
	case o.DefaultLimit > o.MaxResults:
		return fmt.Errorf("%w: default limit %d above the result cap %d", ErrOptions, o.DefaultLimit, o.MaxResults)
	}
	return nil
}

// Run does the server's background work until ctx ends: refreshing the
// store statistics for /metrics and pruning old ingest batch ids. Serve
// runs it; a caller that serves Handler itself runs it beside.
func (s *Server) Run(ctx context.Context) {
	s.ingest.run(ctx)
	if s.opt.StatsInterval > 0 {
		go s.met.runStats(ctx, s.st, s.opt.StatsInterval, s.log)
	}
	<-ctx.Done()
}

// Handler returns the server's HTTP handler (the server itself).
func (s *Server) Handler() http.Handler { return s }

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// writeError answers err with the status statusOf gives it and a JSON
// body. Limit errors carry Retry-After; CIRCL and dnsscout 401s carry a
// Basic challenge (dnsdbq and browsers understand it).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, f flavor, err error) {
	code := statusOf(f, err)
	h := w.Header()
	var le *keys.LimitError
	if errors.As(err, &le) && le.RetryAfter > 0 {
		h.Set("Retry-After", retryAfter(le.RetryAfter))
	}
	if code == http.StatusUnauthorized && f != flavorDNSDB {
		h.Set("WWW-Authenticate", `Basic realm="dnsscout", charset="UTF-8"`)
	}
	if code == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if code == http.StatusRequestTimeout || errors.Is(err, ErrPenalized) && r.ProtoMajor == 1 {
		h.Set("Connection", "close")
	}
	if code == http.StatusMethodNotAllowed {
		if allow := w.Header().Get("Allow"); allow == "" {
			h.Set("Allow", "GET")
		}
	}
	msg := publicMessage(err)
	if code >= 500 && code != http.StatusServiceUnavailable { // 503s are counted in /metrics
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
		if code == http.StatusInternalServerError {
			msg = "internal error (logged on the server)"
		}
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Encoding")
	w.WriteHeader(code)
	b, _ := json.Marshal(errorBody{Error: msg, Status: code})
	w.Write(append(b, '\n'))
}

// publicMessage renders an error for a client: package prefixes dropped.
func publicMessage(err error) string {
	return dropPrefixes.Replace(err.Error())
}

// dropPrefixes drops the package prefixes of an error message.
var dropPrefixes = strings.NewReplacer("api: ", "", "store: ", "", "keys: ", "", "pebble: ", "", "pdns: ", "")
