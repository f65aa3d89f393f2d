package api

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// This file serves DNSDB API v2 under /dnsdb/v2/: lookup and summarize
// (rrset/name, rrset/raw, rdata/name, rdata/ip, rdata/raw), Flex search
// (flex.go), ping and rate_limit, in SAF framing.

// dnsdbPrefix is where the API lives; dnsdbq appends it to DNSDB_SERVER.
const dnsdbPrefix = "/dnsdb/v2"

// dnsdbRequest is a parsed DNSDB request.
type dnsdbRequest struct {
	// verb is lookup, summarize, regex, glob, ping or rate_limit.
	verb string
	// qs are the store queries of a lookup or summarize: one, or for
	// rdata/raw without a single type one per type the bytes decode as
	// (possibly none).
	qs []store.Query
	// rrset is true for rrset lookups (whose objects carry a bailiwick).
	rrset bool
	// limit is the limit parameter; -1 when absent.
	limit     int
	offset    int
	maxCount  uint64
	humantime bool
	// aggr is accepted for compatibility: stored tuples are already
	// aggregated per (rrname, rrtype, rdata), so both values give the
	// same answer.
	aggr bool
	// flex holds a Flex search.
	flex *flexQuery
	// fences are the time fences, applied to every query.
	fences [4]int64
	// relative is set when a fence is relative to now.
	relative bool
	// raw is the key (cacheKey) of a request the answer cache keeps
	// (shared by the requests that spell it so: read-only).
	raw string
	// entry is the answer cache's entry that holds the request, once
	// there is one: a request taken from the cache finds its answer
	// without a second lookup of its key (set and read under the
	// cache's lock).
	entry *answerEntry
	// one holds the query of a lookup by one value (qs points at it:
	// one allocation for the request).
	one [1]store.Query
}

// maxPathValue bounds one path value (a name, hex string or pattern).
const maxPathValue = 8192

// parseDNSDB parses the escaped path and raw query of a DNSDB request.
// Unknown paths fail with ErrNotFound, malformed values and parameters
// with ErrBadRequest or store.ErrBadQuery, an offset where none is allowed
// with ErrOffsetRange.
func parseDNSDB(escPath, rawQuery string, now time.Time) (*dnsdbRequest, error) {
	segs, err := dnsdbSegments(escPath)
	if err != nil {
		return nil, err
	}
	req := &dnsdbRequest{verb: strings.ToLower(segs[0]), limit: -1, aggr: true}
	switch req.verb {
	case "ping", "rate_limit":
		if len(segs) != 1 {
			return nil, notFound(escPath)
		}
		return req, nil
	case "lookup", "summarize", "regex", "glob":
	default:
		return nil, notFound(escPath)
	}
	var params url.Values // nil reads as empty (a lookup without parameters)
	if rawQuery != "" {
		if params, err = url.ParseQuery(rawQuery); err != nil {
			return nil, badRequest("malformed query string: %v", err)
		}
	}
	if err := req.parseParams(params, now); err != nil {
		return nil, err
	}
	if req.verb == "regex" || req.verb == "glob" {
		if err := req.parseFlex(segs, params, escPath); err != nil {
			return nil, err
		}
		return req, nil
	}
	if err := req.parseLookup(segs, escPath); err != nil {
		return nil, err
	}
	for i := range req.qs {
		q := &req.qs[i]
		q.FirstBefore, q.FirstAfter, q.LastBefore, q.LastAfter = req.fences[0], req.fences[1], req.fences[2], req.fences[3]
		if err := q.Validate(); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// dnsdbSegments splits the path below /dnsdb/v2 into unescaped segments
// (one trailing slash allowed); the first is the verb.
func dnsdbSegments(escPath string) ([]string, error) {
	rest, ok := strings.CutPrefix(escPath, dnsdbPrefix)
	if !ok || rest == "" || rest == "/" || rest[0] != '/' {
		return nil, notFound(escPath)
	}
	segs := strings.Split(rest[1:], "/")
	if len(segs) > 1 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1] // one trailing slash
	}
	for i, sg := range segs {
		if len(sg) > 3*maxPathValue {
			return nil, badRequest("path segment %d longer than %d bytes", i+1, maxPathValue)
		}
		u, err := url.PathUnescape(sg)
		if err != nil {
			return nil, badRequest("path segment %d: bad percent-escape", i+1)
		}
		if strings.IndexByte(u, 0) >= 0 {
			return nil, badRequest("path segment %d holds a NUL byte", i+1)
		}
		segs[i] = u
	}
	return segs, nil
}

// parseLookup reads a lookup or summarize path,
// VERB/SIDE/KIND/VALUE[/RRTYPE[/BAILIWICK]], into the store queries.
func (req *dnsdbRequest) parseLookup(segs []string, escPath string) error {
	if len(segs) < 3 {
		return notFound(escPath)
	}
	side, kind := strings.ToLower(segs[1]), strings.ToLower(segs[2])
	maxSegs := 5 // verb/side/kind/value/type
	switch {
	case side == "rrset" && (kind == "name" || kind == "raw"):
		maxSegs = 6 // .../bailiwick
		req.rrset = true
	case side == "rdata" && (kind == "name" || kind == "ip" || kind == "raw"):
	default:
		return notFound(escPath)
	}
	if len(segs) > maxSegs {
		return notFound(escPath)
	}
	if len(segs) < 4 || strings.TrimSpace(segs[3]) == "" {
		return badRequest("%s/%s needs a value", side, kind)
	}
	typ := ""
	if len(segs) > 4 {
		typ = segs[4]
		if strings.Contains(typ, ",") {
			return badRequest("one rrtype per request (dnsdbq sends one request per type)")
		}
	}
	tf, err := store.ParseTypeFilter(typ)
	if err != nil {
		return err
	}
	if side == "rdata" && kind == "raw" {
		raw, err := decodeHex(segs[3])
		if err != nil {
			return err
		}
		req.qs = rdataQueries(raw, tf)
		return nil
	}
	q, err := lookupQuery(side+"/"+kind, segs[3])
	if err != nil {
		return err
	}
	q.Type = tf
	if len(segs) > 5 {
		if q.Bailiwick, err = parseBailiwick(segs[5]); err != nil {
			return err
		}
	}
	req.one[0] = q
	req.qs = req.one[:]
	return nil
}

// lookupQuery is the store query of a lookup by one value: rrset/name,
// rrset/raw, rdata/name or rdata/ip.
func lookupQuery(what, value string) (store.Query, error) {
	var q store.Query
	var err error
	switch what {
	case "rrset/name":
		q.Kind = store.KindRRSet
		q.Name, q.Wildcard, err = store.ParseName(value)
	case "rrset/raw":
		q.Kind = store.KindRRSet
		q.Name, err = nameFromHex(value)
	case "rdata/name":
		q.Kind = store.KindRDataName
		q.Name, q.Wildcard, err = store.ParseRDataName(value)
	case "rdata/ip":
		q.Kind = store.KindRDataIP
		q.IPLow, q.IPHigh, err = store.ParseIPQuery(value)
	}
	return q, err
}

// parseBailiwick reads the bailiwick segment of an rrset lookup.
func parseBailiwick(v string) (string, error) {
	b, w, err := store.ParseName(v)
	if err != nil {
		return "", err
	}
	if w != store.WildNone {
		return "", badRequest("a bailiwick is a name, not a wildcard")
	}
	return b, nil
}

// parseParams reads the query parameters common to lookups, summaries
// and Flex searches. Unknown parameters (swclient, version, id, ...) are
// ignored.
func (req *dnsdbRequest) parseParams(p url.Values, now time.Time) error {
	get := func(name string) (string, bool) {
		v, ok := p[name]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	if v, ok := get("limit"); ok {
		n, err := parseCount(v)
		if err != nil {
			return badRequest("limit: %v", err)
		}
		req.limit = n
	}
	if v, ok := get("offset"); ok {
		n, err := parseCount(v)
		if err != nil {
			return badRequest("offset: %v", err)
		}
		if n > 0 && req.verb == "summarize" {
			return sentinelf(ErrOffsetRange, "summarize takes no offset")
		}
		req.offset = n
	}
	if v, ok := get("max_count"); ok {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return badRequest("max_count %q is not a non-negative integer", v)
		}
		req.maxCount = n
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"aggr", &req.aggr}, {"humantime", &req.humantime}} {
		if v, ok := get(b.name); ok {
			x, err := parseBool(v)
			if err != nil {
				return badRequest("%s: %v", b.name, err)
			}
			*b.dst = x
		}
	}
	for i, name := range []string{"time_first_before", "time_first_after", "time_last_before", "time_last_after"} {
		v, ok := get(name)
		if !ok {
			continue
		}
		t, err := parseFence(v, now)
		if err != nil {
			return badRequest("%s: %v", name, err)
		}
		req.fences[i] = t
		req.relative = req.relative || strings.HasPrefix(strings.TrimSpace(v), "-")
	}
	return nil
}

// parseCount reads a non-negative decimal integer below 2^31.
func parseCount(v string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n < 0 {
		return 0, errors.New("want a non-negative integer")
	}
	return int(n), nil
}

// parseBool reads DNSDB's booleans: t, f, true, false, 1, 0.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "t", "true", "1":
		return true, nil
	case "f", "false", "0":
		return false, nil
	}
	return false, errors.New("want t, f, true, false, 1 or 0")
}

// parseFence reads a time fence: epoch seconds, or negative seconds
// relative to now. 0 leaves the fence unset.
func parseFence(v string, now time.Time) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, errors.New("want epoch seconds or negative seconds relative to now")
	}
	const maxAbs = 1 << 40
	if n > maxAbs || n < -maxAbs {
		return 0, errors.New("out of range")
	}
	if n < 0 {
		n += now.Unix()
		if n <= 0 {
			return 0, errors.New("relative time before 1970")
		}
	}
	return n, nil
}

// decodeHex reads the hex of rrset/raw and rdata/raw.
func decodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, badRequest("raw value: want an even number of hex digits")
	}
	if len(b) == 0 || len(b) > 65535 {
		return nil, badRequest("raw value: want 1 to 65535 bytes")
	}
	return b, nil
}

// nameFromHex decodes rrset/raw's wire-format owner name.
func nameFromHex(s string) (string, error) {
	b, err := decodeHex(s)
	if err != nil {
		return "", err
	}
	name, off, err := dns.UnpackDomainName(b, 0)
	if err != nil || off != len(b) {
		return "", badRequest("raw value is not one wire-format domain name")
	}
	return pdns.CanonicalName(name), nil
}

// allTypes are the rrtypes miekg/dns can decode, ascending: the
// candidates of an rdata/raw lookup without a single type.
var allTypes = func() []uint16 {
	var ts []uint16
	for t := range dns.TypeToRR {
		switch t {
		case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR:
			continue
		}
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}()

// rdataQueries turns wire rdata into the exact-rdata queries that find it:
// the presentation form for each type the filter selects and the bytes
// decode as. Types without a decoder (selected by TYPEn) use RFC 3597's
// generic form, as the sensor stores them.
func rdataQueries(raw []byte, tf store.TypeFilter) []store.Query {
	types := allTypes
	if t, ok := tf.Single(); ok {
		types = []uint16{t}
	}
	var qs []store.Query
	for _, t := range types {
		if !tf.Match(t) {
			continue
		}
		if s, ok := presentRData(t, raw); ok {
			qs = append(qs, store.Query{Kind: store.KindRDataRaw, RData: s, Type: store.OneType(t)})
		}
	}
	return qs
}

// presentRData decodes rdata of type t into the canonical presentation
// form tuples use.
func presentRData(t uint16, raw []byte) (s string, ok bool) {
	if len(raw) > 65535 {
		return "", false
	}
	msg := make([]byte, 0, 11+len(raw))
	msg = append(msg, 0) // owner: the root
	msg = binary.BigEndian.AppendUint16(msg, t)
	msg = binary.BigEndian.AppendUint16(msg, dns.ClassINET)
	msg = binary.BigEndian.AppendUint32(msg, 0)
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(raw)))
	msg = append(msg, raw...)
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	rr, off, err := dns.UnpackRR(msg, 0)
	if err != nil || rr == nil || off != len(msg) || rr.Header().Rrtype != t {
		return "", false
	}
	s = pdns.RData(rr)
	if s == "" {
		return "", false
	}
	return s, true
}

// acceptable reports whether an Accept header admits NDJSON/JSON output.
// An absent header admits everything; a type with q=0 is refused.
func acceptable(h string) bool {
	switch h = strings.TrimSpace(h); h {
	case "", "application/x-ndjson", "application/json", "*/*": // what clients send, without parsing
		return true
	}
	for _, part := range strings.Split(h, ",") {
		mt, params, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if q := qValue(params); q <= 0 {
			continue
		}
		switch mt {
		case "*/*", "application/*", "application/x-ndjson", "application/ndjson", "application/jsonl",
			"application/json", "application/x-json", "text/*", "text/plain", "text/json":
			return true
		}
	}
	return false
}

// qValue reads the q parameter of one Accept entry (1 when absent).
func qValue(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0
			}
			return f
		}
	}
	return 1
}

// parseDNSDBRoute is the DNSDB route's Parse: the path and query, and
// whether the client accepts the answer.
// A lookup the answer cache holds is not parsed again (answers.go).
func parseDNSDBRoute(s *Server, r *http.Request) (any, error) {
	if accept := headerValue(r.Header, hkAccept); !acceptable(accept) {
		// A bad path or query is told first.
		if _, err := parseDNSDB(r.URL.EscapedPath(), r.URL.RawQuery, s.now()); err != nil {
			return nil, err
		}
		return nil, sentinelf(ErrMediaType, "Accept %q: this API answers application/x-ndjson", accept)
	}
	raw := ""
	if s.answers != nil {
		raw = cacheKey(r)
		if req := s.answers.request(raw); req != nil {
			return req, nil
		}
	}
	req, err := parseDNSDB(r.URL.EscapedPath(), r.URL.RawQuery, s.now())
	if err != nil {
		return nil, err
	}
	if s.answers != nil && req.cacheable() {
		req.raw = raw // kept with its answer, if it gets one (dnsdbLookup)
	}
	return req, nil
}

// dnsdbLabels are the /metrics labels of the DNSDB verbs.
var dnsdbLabels = map[string]string{
	"lookup": "dnsdb_lookup", "summarize": "dnsdb_summarize", "regex": "dnsdb_regex", "glob": "dnsdb_glob",
	"ping": "dnsdb_ping", "rate_limit": "dnsdb_rate_limit",
}

// serveDNSDB answers /dnsdb/v2/.
func (s *Server) serveDNSDB(c *call) {
	req := c.parsed.(*dnsdbRequest)
	w, r, k := &c.w, c.r, c.key
	cl, p := classQuery, page{cost: queryCost(req.qs, s.limitFor(req.limit, k))}
	switch req.verb {
	case "ping", "rate_limit":
		cl = classMeta
	case "lookup":
		p.offset = req.offset
	case "regex", "glob":
		p.offset, p.cost = req.offset, maxCost
	}
	if !c.admit(cl, p) {
		return
	}
	c.label = dnsdbLabels[req.verb]
	switch req.verb {
	case "ping":
		setShared(w.Header(), hkContentType, hvNDJSON)
		w.Write([]byte(`{"ping":"ok"}` + "\n"))
	case "rate_limit":
		setShared(w.Header(), hkContentType, hvNDJSON)
		w.Write(rateLimitJSON(s.rateOf(k)))
	case "lookup":
		s.setRateHeaders(w, k)
		s.dnsdbLookup(w, r, req, s.limitFor(req.limit, k))
	case "summarize":
		s.setRateHeaders(w, k)
		s.dnsdbSummarize(w, r, req, s.limitFor(req.limit, k))
	default:
		s.setRateHeaders(w, k)
		s.serveFlex(w, r, req, s.limitFor(req.limit, k))
	}
}

// dnsdbLookup streams a lookup in SAF.
// A complete answer is kept in the answer cache (answers.go), and a
// lookup found there is answered from it.
func (s *Server) dnsdbLookup(w http.ResponseWriter, r *http.Request, req *dnsdbRequest, limit int) {
	c := s.answers
	if c != nil && req.raw != "" {
		if body, clen, n, ok := c.get(req, limit); ok {
			s.met.resultsDNSDB.Add(float64(n))
			h := w.Header()
			setShared(h, hkContentType, hvNDJSON)
			setShared(h, hkContentLength, clen)
			w.Write(body)
			return
		}
	}
	// Declared after the cached answer: keep captures sw, which moves
	// it to the heap where it is declared.
	var keep func([]byte)
	var sw *safWriter
	if c != nil && req.raw != "" {
		if v, ok := c.begin(); ok {
			keep = func(body []byte) { c.put(req, v, limit, body, sw.n) }
		}
	}
	sw = &safWriter{w: w, style: dnsdbStyle{humantime: req.humantime, bailiwick: req.rrset}}
	var more bool
	var err error
	if len(req.qs) > 0 {
		more, err = s.lookupPage(r.Context(), req.qs, req.offset, limit, sw.tuple)
	}
	s.met.resultsDNSDB.Add(float64(sw.n))
	switch {
	case err != nil && clientGone(w, r):
		return // the client went away
	case err != nil && !sw.started:
		s.writeError(w, r, flavorDNSDB, err)
	case err != nil:
		s.log.Error("lookup failed mid-stream", "path", r.URL.Path, "err", err)
		sw.end("failed", publicMessage(err))
	case more:
		sw.keep = keep
		sw.end("limited", "result limit reached")
	default:
		sw.keep = keep
		sw.end("succeeded", "")
	}
}

// dnsdbSummarize answers a summarize: one object, none when nothing
// matched.
func (s *Server) dnsdbSummarize(w http.ResponseWriter, r *http.Request, req *dnsdbRequest, limit int) {
	ctx := r.Context()
	sum, limited, err := s.summarize(ctx, req.qs, limit, req.maxCount)
	if err != nil {
		if ctx.Err() == nil {
			s.writeError(w, r, flavorDNSDB, err)
		}
		return
	}
	sw := &safWriter{w: w}
	if sum.NumResults > 0 {
		sw.raw(appendSummary(nil, &sum, req.humantime))
	}
	if limited {
		sw.end("limited", "result limit reached")
		return
	}
	sw.end("succeeded", "")
}

// summarize aggregates at most limit tuples of qs, stopping once the
// summed count reaches maxCount (0 = no cap). limited reports that the
// result limit cut the summary short.
func (s *Server) summarize(ctx context.Context, qs []store.Query, limit int, maxCount uint64) (sum store.Summary, limited bool, err error) {
	switch len(qs) {
	case 0:
		return sum, false, nil
	case 1:
		q := qs[0]
		q.Limit = limit
		if sum, err = store.Summarize(ctx, s.st, q, maxCount); err != nil {
			return sum, false, err
		}
	default:
		_, err = s.lookupPage(ctx, qs, 0, limit, func(t *pdns.Tuple) error {
			sum.Add(t)
			if maxCount > 0 && sum.Count >= maxCount {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return sum, false, err
		}
	}
	if sum.NumResults >= int64(limit) && (maxCount == 0 || sum.Count < maxCount) {
		limited = s.countAtLeast(ctx, qs, limit+1)
	}
	return sum, limited, nil
}

// countAtLeast reports whether qs match at least n tuples.
func (s *Server) countAtLeast(ctx context.Context, qs []store.Query, n int) bool {
	found := false
	more, _ := s.lookupPage(ctx, qs, n-1, 1, func(*pdns.Tuple) error { found = true; return nil })
	return found || more
}
