package api

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/store"
)

// The server's routing table: one Route per handler, in one ordered
// slice (routes) from which both the mux and the OpenAPI document
// (openapi.go) are built. Adding an endpoint is one entry here, its
// handler, its test and a line in docs/api.md.
//
// Every request goes through the same opening (serveRoute), so that no
// handler repeats it:
//
//  1. Parse, when the route has one, reads the path, query and headers
//     (never the body). ErrNotFound is answered at once: an unknown path
//     is a 404 whatever the method or key.
//  2. The method: GET routes answer GET and HEAD, POST routes POST; else
//     405 with Allow.
//  3. Authentication for AuthKey routes (authenticate).
//  4. Parse's other errors, now that the client is known.
//  5. Handle, which calls call.admit before doing work: the page the
//     request asks for against the key's caps, then admission (the
//     server's, the tenant's and the key's limits; admission.go).
//
// The call carries the writer and body wrappers that put deadlines on
// every read and write (deadline.go) and count the request in /metrics.

// Auth is how a route authenticates its requests.
type Auth uint8

const (
	// AuthNone: public (the UI's files, operations).
	AuthNone Auth = iota
	// AuthKey: an API key, when the server requires keys.
	AuthKey
	// AuthCapability: the URL itself is the secret (recon reports).
	AuthCapability
)

// Route is one entry of the routing table.
type Route struct {
	// Method is GET (which answers HEAD too) or POST.
	Method string
	// Path is the ServeMux path (exact, or a subtree when it ends in
	// "/"), or with Tree the root of a tree the route parses itself.
	Path string
	// Tree routes Path and everything below it on the raw path, before
	// ServeMux would clean it: DNSDB and CIRCL values may be "." or hold
	// escaped slashes.
	Tree bool
	// Auth is how requests authenticate.
	Auth Auth
	// Endpoint is the route's label in /metrics.
	Endpoint string
	// Flavor selects the status codes of authentication failures.
	Flavor flavor
	// NoBudget exempts the route from Options.WorkBudget (the recon page
	// has its own timeout).
	NoBudget bool
	// Doc are the OpenAPI operations the route serves (their method and
	// security come from Method and Auth).
	Doc []apiRoute
	// Parse reads the request line and headers before authentication;
	// nil when the handler needs nothing read early. Its value is
	// call.parsed.
	Parse func(s *Server, r *http.Request) (any, error)
	// Handle answers an authenticated request.
	Handle func(s *Server, c *call)
}

// allows reports whether the route answers method.
func (rt *Route) allows(method string) bool {
	return method == rt.Method || rt.Method == http.MethodGet && method == http.MethodHead
}

// allowed lists the methods of every route at rt's path, for Allow.
func (rt *Route) allowed() string {
	var ms []string
	for i := range routes {
		if routes[i].Path == rt.Path && !slices.Contains(ms, routes[i].Method) {
			ms = append(ms, routes[i].Method)
		}
	}
	return strings.Join(ms, ", ")
}

// sharedPath reports whether another route has rt's path (another
// method): such routes are registered with their method.
func (rt *Route) sharedPath() bool {
	for i := range routes {
		if r := &routes[i]; r != rt && r.Path == rt.Path {
			return true
		}
	}
	return false
}

// routes is the routing table, in the order the document lists them.
var routes = []Route{
	{Method: http.MethodGet, Path: dnsdbPrefix, Tree: true, Auth: AuthKey, Endpoint: "dnsdb", Flavor: flavorDNSDB,
		Doc: dnsdbDoc(), Parse: parseDNSDBRoute, Handle: (*Server).serveDNSDB},
	{Method: http.MethodGet, Path: circlPrefix, Tree: true, Auth: AuthKey, Endpoint: "circl", Flavor: flavorCIRCL,
		Doc: circlDoc, Parse: parseCIRCLRoute, Handle: (*Server).serveCIRCL},
	{Method: http.MethodPost, Path: "/api/v1/ingest", Auth: AuthKey, Endpoint: "ingest",
		Doc: []apiRoute{{path: "/api/v1/ingest", id: "ingest", tag: "Remote sensors",
			summary: "Merge COF NDJSON tuples from a remote sensor into the store",
			desc:    "Plain or SAF-framed COF NDJSON, optionally gzip (Content-Encoding: gzip). Needs a key with the ingest permission. Send an Idempotency-Key header to make retries harmless.",
			params:  []apiParam{pIdempotency}, reqType: "application/x-ndjson", reqSchema: "COF",
			okType: "application/json", okSchema: "IngestResult", errors: []int{400, 401, 403, 405, 413, 415, 429, 500, 503}}},
		Parse: parseIngestHeaders, Handle: (*Server).serveIngest},
	{Method: http.MethodPost, Path: "/api/v1/ingest/nxdomain", Auth: AuthKey, Endpoint: "ingest_nxdomain",
		Doc: []apiRoute{{path: "/api/v1/ingest/nxdomain", id: "ingest_nxdomain", tag: "Remote sensors",
			summary: "Merge NXDOMAIN counters from a remote sensor into the store",
			desc:    "NDJSON, one NXCount per line, optionally gzip (Content-Encoding: gzip): count = sum, time_first = min, time_last = max. Needs a key with the ingest permission; Idempotency-Key as for /api/v1/ingest.",
			params:  []apiParam{pIdempotency}, reqType: "application/x-ndjson", reqSchema: "NXCount",
			okType: "application/json", okSchema: "IngestResult", errors: []int{400, 401, 403, 404, 405, 413, 415, 429, 500, 503}}},
		Parse: parseIngestHeaders, Handle: (*Server).serveIngestNX},
	{Method: http.MethodGet, Path: "/api/v1/search", Auth: AuthKey, Endpoint: "search",
		Doc: []apiRoute{{path: "/api/v1/search", id: "search", tag: "Web UI",
			summary: "The web UI's search: records of a name, wildcard, address, prefix or range, as JSON",
			params: []apiParam{
				{name: "q", in: "query", desc: "The value.", example: "www.example.com"},
				{name: "side", in: "query", desc: "rrset (owner, default) or rdata.", enum: []string{"rrset", "rdata"}},
				{name: "type", in: "query", desc: "An rrtype, ANY or ANY-DNSSEC."},
				{name: "limit", in: "query", typ: "integer", desc: "Most results (default 1000)."},
				{name: "offset", in: "query", typ: "integer", desc: "Skip this many results."},
			},
			okType: "application/json", okSchema: "SearchResult", errors: []int{400, 401, 403, 416, 429, 500, 503}}},
		Parse: parseSearchRoute, Handle: (*Server).serveSearch},
	{Method: http.MethodGet, Path: "/api/v1/info", Endpoint: "info",
		Doc: []apiRoute{{path: "/api/v1/info", id: "info", tag: "Web UI", summary: "What this server offers (auth, recon page)",
			okType: "application/json", okSchema: "Info"}},
		Handle: (*Server).serveInfo},
	{Method: http.MethodPost, Path: "/api/v1/recon", Auth: AuthKey, Endpoint: "recon", NoBudget: true,
		Doc: []apiRoute{{path: "/api/v1/recon", id: "recon", tag: "Web UI",
			summary: "Run recon and the audit checks on a domain through the server's resolvers",
			desc:    "One run at a time (503 while another runs); 404 when the server has no --resolver.",
			reqType: "application/json", reqSchema: "ReconRequest",
			okType: "application/json", okSchema: "ReconAnswer", errors: []int{400, 401, 403, 404, 415, 429, 500, 503, 504}}},
		Handle: (*Server).serveRecon},
	{Method: http.MethodGet, Path: "/api/v1/recon/", Auth: AuthCapability, Endpoint: "recon_report",
		Doc: []apiRoute{
			{path: "/api/v1/recon/{id}/report.html", id: "reconReport", tag: "Web UI",
				summary: "The HTML report (findings, domain map) of a recent recon run",
				params:  []apiParam{pReconID}, okType: "text/html", errors: []int{404}},
			{path: "/api/v1/recon/{id}/result.json", id: "reconResult", tag: "Web UI",
				summary: "The full recon result (dnsscout's JSON contract) of a recent recon run",
				params:  []apiParam{pReconID}, okType: "application/json", errors: []int{404}},
		},
		Handle: (*Server).serveReconReport},
	{Method: http.MethodGet, Path: "/api/v1/domains", Auth: AuthKey, Endpoint: "domains",
		Doc: []apiRoute{{path: "/api/v1/domains", id: "domains", tag: "Watch",
			summary: "The inventory: every domain with scan history, its newest scan and open findings by severity",
			desc:    "With serve --watch, also each watched domain's schedule (next scan, consecutive failures).",
			okType:  "application/json", okSchema: "DomainList", errors: []int{401, 403, 404, 429, 500, 503}}},
		Handle: (*Server).serveDomains},
	{Method: http.MethodPost, Path: "/api/v1/domains", Auth: AuthKey, Endpoint: "domains_add",
		Doc: []apiRoute{{path: "/api/v1/domains", id: "domainsAdd", tag: "Watch",
			summary: "Add domains to the running watch (serve --watch), with an optional interval",
			desc: "Needs the admin permission when the server has keys. Names are read like inventory list lines (IDNA, URLs reduced to their host); " +
				"at most 1000 per request and --watch-max-domains in all. The watch scans a new domain at its next tick, which the request starts at once.",
			reqType: "application/json", reqSchema: "DomainsAdd",
			okType: "application/json", okSchema: "DomainsChanged", errors: []int{400, 401, 403, 404, 413, 415, 429, 500, 503}}},
		Handle: (*Server).serveDomainsAdd},
	{Method: http.MethodDelete, Path: domainsPrefix, Auth: AuthKey, Endpoint: "domain_remove",
		Doc: []apiRoute{{path: "/api/v1/domains/{domain}", id: "domainRemove", tag: "Watch",
			summary: "Stop watching a domain added through the API (its history is kept)",
			desc:    "Needs the admin permission when the server has keys. 409 for a domain of the watch's configuration file.",
			params:  []apiParam{{name: "domain", in: "path", desc: "The domain (Unicode or A-labels).", example: "example.com"}},
			okType:  "application/json", okSchema: "DomainsChanged", errors: []int{400, 401, 403, 404, 409, 429, 500, 503}}},
		Parse: parseDomainRoute, Handle: (*Server).serveDomainRemove},
	{Method: http.MethodGet, Path: "/api/v1/scans", Auth: AuthKey, Endpoint: "scans",
		Doc: []apiRoute{{path: "/api/v1/scans", id: "scans", tag: "Watch", summary: "Scans, newest first",
			params: append([]apiParam{pDomain}, historyListParams...),
			okType: "application/json", okSchema: "ScanList", errors: []int{400, 401, 403, 404, 429, 500, 503}}},
		Parse: parseScansRoute, Handle: (*Server).serveScans},
	{Method: http.MethodGet, Path: scansPrefix, Auth: AuthKey, Endpoint: "scan",
		Doc: []apiRoute{
			{path: "/api/v1/scans/{id}", id: "scan", tag: "Watch", summary: "One scan and what it saw (names, records, nameservers, findings)",
				params: []apiParam{pScanID}, okType: "application/json", okSchema: "ScanDetail", errors: []int{401, 403, 404, 429, 500, 503}},
			{path: "/api/v1/scans/{id}/diff/{other}", id: "scanDiff", tag: "Watch",
				summary: "What differs between two scans of a domain, from {id} to {other}",
				params:  []apiParam{pScanID, {name: "other", in: "path", desc: "The later scan.", example: "20240301T060000.000000000Z-00000002"}},
				okType:  "application/json", okSchema: "ScanDiff", errors: []int{400, 401, 403, 404, 429, 500, 503}},
		},
		Parse: parseScanRoute, Handle: (*Server).serveScan},
	{Method: http.MethodGet, Path: "/api/v1/findings", Auth: AuthKey, Endpoint: "findings",
		Doc: []apiRoute{{path: "/api/v1/findings", id: "findings", tag: "Watch",
			summary: "Finding lifecycles (first seen, last seen, resolved at, reopened), by domain then finding",
			params: append([]apiParam{pDomain,
				{name: "state", in: "query", desc: "open or resolved (default both).", enum: []string{"open", "resolved"}, example: "open"},
				{name: "severity", in: "query", desc: "The lowest severity listed.", enum: []string{"info", "low", "medium", "high", "critical"}},
			}, historyListParams[2:]...),
			okType: "application/json", okSchema: "FindingList", errors: []int{400, 401, 403, 404, 429, 500, 503}}},
		Parse: parseFindingsRoute, Handle: (*Server).serveFindings},
	{Method: http.MethodGet, Path: "/api/v1/events", Auth: AuthKey, Endpoint: "events",
		Doc: []apiRoute{{path: "/api/v1/events", id: "events", tag: "Watch",
			summary: "The timeline: findings opened, resolved, reopened and changed, names, nameservers and records added and removed, outages",
			params: append([]apiParam{pDomain,
				{name: "kind", in: "query", desc: "Only these kinds (repeatable or comma-separated)."},
				{name: "order", in: "query", desc: "newest (default) or oldest first.", enum: []string{"newest", "oldest"}},
			}, historyListParams...),
			okType: "application/json", okSchema: "EventList", errors: []int{400, 401, 403, 404, 429, 500, 503}}},
		Parse: parseEventsRoute, Handle: (*Server).serveEvents},
	{Method: http.MethodGet, Path: "/healthz", Endpoint: "healthz",
		Doc: []apiRoute{{path: "/healthz", id: "healthz", tag: "Operations", summary: "200 when the store answers, else 503",
			okType: "application/json", errors: []int{503}}},
		Handle: (*Server).serveHealthz},
	{Method: http.MethodGet, Path: "/metrics", Endpoint: "metrics",
		Doc: []apiRoute{{path: "/metrics", id: "metrics", tag: "Operations", summary: "Prometheus metrics",
			okType: "text/plain"}},
		Handle: func(s *Server, c *call) { s.met.handler().ServeHTTP(&c.w, c.r) }},
	{Method: http.MethodGet, Path: "/openapi.json", Endpoint: "openapi",
		Doc: []apiRoute{{path: "/openapi.json", id: "openapi", tag: "Operations", summary: "This document",
			okType: "application/json"}},
		Handle: (*Server).serveOpenAPI},
	{Method: http.MethodGet, Path: "/", Endpoint: "ui",
		Doc:   []apiRoute{{path: "/", id: "ui", tag: "Web UI", summary: "The web UI", okType: "text/html"}},
		Parse: parseUIPath, Handle: (*Server).serveUI},
}

// apiRoutes are the documented operations of every route, with the
// method and security their route gives them.
var apiRoutes = func() []apiRoute {
	var out []apiRoute
	for i := range routes {
		rt := &routes[i]
		for _, op := range rt.Doc {
			op.method = strings.ToLower(rt.Method)
			switch rt.Auth {
			case AuthKey:
				op.auth = "key"
			case AuthCapability:
				op.auth = "capability"
			}
			out = append(out, op)
		}
	}
	return out
}()

// routeHandler is a route registered in the ServeMux; the root handler
// finds it there and runs the opening itself.
type routeHandler struct{ rt *Route }

func (routeHandler) ServeHTTP(http.ResponseWriter, *http.Request) {
	panic("api: a route is served through the root handler")
}

// buildMux registers the routes that are not trees.
func buildMux() *http.ServeMux {
	m := http.NewServeMux()
	for i := range routes {
		switch rt := &routes[i]; {
		case rt.Tree:
		case rt.sharedPath():
			m.Handle(rt.Method+" "+rt.Path, routeHandler{rt})
		default:
			m.Handle(rt.Path, routeHandler{rt})
		}
	}
	return m
}

// routeOf finds the route of a request, or the handler ServeMux answers
// with instead (a redirect to a clean path).
func (s *Server) routeOf(r *http.Request) (*Route, http.Handler) {
	p := r.URL.Path
	for i := range routes {
		rt := &routes[i]
		if rt.Tree && (p == rt.Path || len(p) > len(rt.Path) && p[len(rt.Path)] == '/' && strings.HasPrefix(p, rt.Path)) {
			return rt, nil
		}
	}
	h, _ := s.mux.Handler(r)
	if rh, ok := h.(routeHandler); ok {
		return rh.rt, nil
	}
	// A path shared by routes of other methods: the first of them
	// answers 405 with every method in Allow.
	for i := range routes {
		if rt := &routes[i]; !rt.Tree && rt.Path == p && rt.sharedPath() {
			return rt, nil
		}
	}
	return nil, h
}

// ServeHTTP is the root handler: deadlines and accounting for every
// request, then the route's opening.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, other := s.routeOf(r)
	c := s.newCall(w, r, rt)
	defer s.endCall(c)
	if rt == nil {
		other.ServeHTTP(&c.w, r)
		return
	}
	s.serveRoute(c)
}

// serveRoute is the opening every route shares (see the file comment).
func (s *Server) serveRoute(c *call) {
	rt := c.route
	var perr error
	if rt.Parse != nil {
		c.parsed, perr = rt.Parse(s, c.r)
		if errors.Is(perr, ErrNotFound) {
			c.fail(perr)
			return
		}
	}
	if !rt.allows(c.r.Method) {
		c.w.Header().Set("Allow", rt.allowed())
		c.fail(ErrMethod)
		return
	}
	if rt.Auth == AuthKey {
		k, err := s.authenticate(c.r)
		if err != nil {
			c.fail(err)
			return
		}
		c.key = k
	}
	if perr != nil {
		c.fail(perr)
		return
	}
	rt.Handle(s, c)
}

// fail answers err with the route's flavor of status codes.
func (c *call) fail(err error) {
	f := flavorAPI
	if c.route != nil {
		f = c.route.Flavor
	}
	c.s.writeError(&c.w, c.r, f, err)
}

// page is the part of the result set a request asks for, and what it
// is expected to cost.
type page struct {
	// offset is the number of results to skip.
	offset int
	// cursor names the offset "cursor" in the refusal (CIRCL's paging).
	cursor bool
	// cost is the server time the request is expected to take (see
	// queryCost); it orders the tenant's queue.
	cost time.Duration
}

// Expected costs, for ordering queues: rough, and capped (below the
// queue timeout), since they only let cheap requests pass dear ones of
// the same tenant.
const (
	costPerResult = 5 * time.Microsecond
	maxCost       = 5 * time.Second
)

// queryCost is the expected cost of looking qs up with limit: nothing
// for exact names and single addresses, the limit's worth of results
// for wildcards, ranges and raw rdata.
func queryCost(qs []store.Query, limit int) time.Duration {
	for _, q := range qs {
		exact := q.Kind == store.KindRRSet || q.Kind == store.KindRDataName
		exact = exact && q.Wildcard == store.WildNone || q.Kind == store.KindRDataIP && q.IPLow == q.IPHigh
		if !exact {
			return min(time.Duration(limit)*costPerResult, maxCost)
		}
	}
	return 0
}

// admit checks the page against the key's offset cap and lets the
// request start (admission.go). It answers a refusal itself and reports
// whether the handler may go on; the opening releases what it took.
func (c *call) admit(cl class, p page) bool {
	s := c.s
	if max := s.offsetMax(c.key); p.offset > max {
		if p.cursor {
			c.fail(sentinelf(ErrOffsetRange, "cursor %d above the maximum offset %d", p.offset, max))
		} else {
			c.fail(sentinelf(ErrOffsetRange, "offset %d above the maximum %d", p.offset, max))
		}
		return false
	}
	if err := s.admit(c, cl, p.cost); err != nil {
		if c.r.Context().Err() == nil { // else the client left while its request waited
			c.fail(err)
		}
		return false
	}
	return true
}

// endCall releases what the request took, stops its deadlines from
// being cut by others, and counts, times and logs it. A handler panic
// becomes a 500 (http.ErrAbortHandler goes on to net/http).
func (s *Server) endCall(c *call) {
	v := recover()
	s.adm.release(c)
	now := time.Now() // one reading for the deadline and the duration
	if c.dl != nil && now.UnixNano()-c.w.deadlineAt > int64(s.opt.WriteTimeout/8) {
		// net/http flushes the answer after the handler: give the flush
		// the write timeout from now, not from a write before a wait.
		c.setDeadline(false, now.Add(s.opt.WriteTimeout))
	}
	c.finish()
	s.met.inFlight.Add(-1)
	code := c.w.code
	if code == 0 {
		code = http.StatusOK
	}
	if v != nil {
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.log.Error("handler panic", "endpoint", c.label, "path", c.r.URL.Path, "panic", v)
		if c.w.code == 0 {
			c.w.Header().Set("Content-Type", "application/json")
			c.w.WriteHeader(http.StatusInternalServerError)
			c.w.Write([]byte(`{"error":"internal error (logged on the server)","status":500}` + "\n"))
		}
		code = http.StatusInternalServerError
	}
	el := now.Sub(c.start)
	s.met.observe(c.label, code, el)
	lvl := slog.LevelDebug
	if s.opt.LogRequests {
		lvl = slog.LevelInfo
	}
	if code >= 500 && code != http.StatusServiceUnavailable {
		lvl = slog.LevelWarn
	}
	if s.log.Enabled(c.r.Context(), lvl) {
		s.log.Log(c.r.Context(), lvl, "request", "id", reqSeq.Add(1), "method", c.r.Method, "path", c.r.URL.Path,
			"endpoint", c.label, "status", code, "bytes", c.w.bytes, "duration", el, "remote", c.r.RemoteAddr)
	}
}

// limitFor turns a limit parameter (-1 = absent, 0 = the maximum) into
// the number of results to deliver: at most the key's result cap.
func (s *Server) limitFor(limit int, k *keys.Key) int {
	max := s.resultsMax(k)
	switch {
	case limit < 0:
		return min(s.opt.DefaultLimit, max)
	case limit == 0 || limit > max:
		return max
	}
	return limit
}

// retryAfter renders a Retry-After value in whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}
