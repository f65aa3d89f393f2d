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
// It does not store anything itself (internal/store does), decide who holds
// which key (internal/keys does), or run the server's listener and signals
// (internal/cli/serve.go does). Protocol facts follow
// /work/shared/reference/pdns-interop.md; docs/api.md describes the
// endpoints for users.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/recon"
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
	// ErrBusy: the server has its maximum of requests in flight, or the
	// recon page is running another recon.
	ErrBusy = errors.New("api: server busy")
	// ErrDisabled: the feature is not configured on this server (the
	// recon page without --resolver).
	ErrDisabled = errors.New("api: feature disabled on this server")
	// ErrOptions: an Options field is invalid.
	ErrOptions = errors.New("api: bad options")
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
//     requests 503; malformed input is 400, never 5xx.
func statusOf(f flavor, err error) int {
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrDisabled):
		return http.StatusNotFound
	case errors.Is(err, ErrMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrMediaType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrOffsetRange):
		return http.StatusRequestedRangeNotSatisfiable
	case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
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
	case errors.Is(err, keys.ErrQuota), errors.Is(err, keys.ErrBurst):
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
	// MaxInFlight caps the API requests running at once over all keys
	// (503 beyond). Default 256.
	MaxInFlight int
	// FlexTimeout bounds the scan of one Flex search; a search that runs
	// out ends with a "limited" terminator. Default 60s.
	FlexTimeout time.Duration
	// MaxIngestBytes caps one ingest body after decompression (413
	// beyond). Default 256 MiB.
	MaxIngestBytes int64
	// Recon enables the web UI's recon page; nil disables it.
	Recon *ReconConfig
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
}

// ReconConfig configures the recon page.
type ReconConfig struct {
	// Exchanger sends recon's and the checks' queries: a
	// *resolver.Resolver built from serve's --resolver flags. Required.
	Exchanger recon.Exchanger
	// Options are the recon options (NameserverPort, Concurrency, ...);
	// Logger, OnEvent and Progress are set by the server.
	Options recon.Options
	// Timeout bounds one recon run including its checks. Default 5 min.
	Timeout time.Duration
	// Keep is the number of finished runs whose results and reports stay
	// available. Default 16.
	Keep int
}

// Server serves the APIs over one store. Create it with New; it is safe
// for concurrent use.
type Server struct {
	opt      Options
	st       store.Backend
	keys     *keys.Manager
	log      *slog.Logger
	now      func() time.Time
	inflight chan struct{}
	met      *metrics
	mux      *http.ServeMux
	root     http.Handler
	openapi  []byte
	ingest   *ingestState
	recon    *reconState
}

// New validates o, fills its defaults and returns a server.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("%w: no store", ErrOptions)
	}
	if o.DefaultLimit == 0 {
		o.DefaultLimit = 10_000
	}
	if o.MaxResults == 0 {
		o.MaxResults = 1_000_000
	}
	if o.MaxOffset == 0 {
		o.MaxOffset = 1_000_000
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 256
	}
	if o.FlexTimeout == 0 {
		o.FlexTimeout = 60 * time.Second
	}
	if o.MaxIngestBytes == 0 {
		o.MaxIngestBytes = 256 << 20
	}
	switch {
	case o.DefaultLimit < 0 || o.MaxResults < 0 || o.MaxOffset < 0 || o.MaxInFlight < 0 || o.MaxIngestBytes < 0:
		return nil, fmt.Errorf("%w: limits must not be negative", ErrOptions)
	case o.FlexTimeout < 0 || o.StatsInterval < 0:
		return nil, fmt.Errorf("%w: durations must not be negative", ErrOptions)
	case o.DefaultLimit > o.MaxResults:
		return nil, fmt.Errorf("%w: default limit %d above the result cap %d", ErrOptions, o.DefaultLimit, o.MaxResults)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opt:      o,
		st:       o.Store,
		keys:     o.Keys,
		log:      log.With("component", "api"),
		now:      o.Now,
		inflight: make(chan struct{}, o.MaxInFlight),
	}
	if o.Recon != nil {
		rs, err := newReconState(o.Recon)
		if err != nil {
			return nil, err
		}
		s.recon = rs
	}
	s.met = newMetrics(o.Registry, s)
	s.ingest = newIngestState(s)
	doc, err := json.MarshalIndent(openAPIDocument(o.Version), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("api: openapi: %w", err)
	}
	s.openapi = append(doc, '\n')
	s.routes()
	return s, nil
}

// Run does the server's background work until ctx ends: refreshing the
// store statistics for /metrics and pruning old ingest batch ids.
func (s *Server) Run(ctx context.Context) {
	s.ingest.run(ctx)
	if s.opt.StatsInterval > 0 {
		go s.met.runStats(ctx, s.st, s.opt.StatsInterval, s.log)
	}
	<-ctx.Done()
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.root }

// routes registers every endpoint. The DNSDB and CIRCL trees are routed
// by their own parsers before ServeMux sees them: their values may be "."
// or hold escaped slashes, which ServeMux would clean and redirect.
func (s *Server) routes() {
	dnsdb := s.instrument("dnsdb", http.HandlerFunc(s.serveDNSDB))
	circl := s.instrument("circl", http.HandlerFunc(s.serveCIRCL))
	m := http.NewServeMux()
	m.Handle("/api/v1/ingest", s.instrument("ingest", http.HandlerFunc(s.serveIngest)))
	m.Handle("/api/v1/ingest/nxdomain", s.instrument("ingest_nxdomain", http.HandlerFunc(s.serveIngestNX)))
	m.Handle("/api/v1/search", s.instrument("search", http.HandlerFunc(s.serveSearch)))
	m.Handle("/api/v1/info", s.instrument("info", http.HandlerFunc(s.serveInfo)))
	m.Handle("/api/v1/recon", s.instrument("recon", http.HandlerFunc(s.serveRecon)))
	m.Handle("/api/v1/recon/", s.instrument("recon_report", http.HandlerFunc(s.serveReconReport)))
	m.Handle("/healthz", s.instrument("healthz", http.HandlerFunc(s.serveHealthz)))
	m.Handle("/metrics", s.instrument("metrics", s.met.handler()))
	m.Handle("/openapi.json", s.instrument("openapi", http.HandlerFunc(s.serveOpenAPI)))
	m.Handle("/", s.instrument("ui", http.HandlerFunc(s.serveUI)))
	s.mux = m
	s.root = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == dnsdbPrefix || strings.HasPrefix(p, dnsdbPrefix+"/"):
			dnsdb.ServeHTTP(w, r)
		case p == circlPrefix || strings.HasPrefix(p, circlPrefix+"/"):
			circl.ServeHTTP(w, r)
		default:
			m.ServeHTTP(w, r)
		}
	})
}

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
		h.Set("Retry-After", strconv.FormatInt(int64((le.RetryAfter+time.Second-1)/time.Second), 10))
	}
	if code == http.StatusUnauthorized && f != flavorDNSDB {
		h.Set("WWW-Authenticate", `Basic realm="dnsscout", charset="UTF-8"`)
	}
	if code == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if code == http.StatusMethodNotAllowed {
		if allow := w.Header().Get("Allow"); allow == "" {
			h.Set("Allow", "GET")
		}
	}
	msg := publicMessage(err)
	if code >= 500 {
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
	msg := err.Error()
	return strings.NewReplacer("api: ", "", "store: ", "", "keys: ", "", "pebble: ", "", "pdns: ", "").Replace(msg)
}
