package api

import (
	"net/http"
	"strconv"
	"sync"
	"unsafe"

	"github.com/dnsscout/dnsscout/internal/store"
)

// The answer cache keeps recent DNSDB lookups: the parsed request and its
// complete answer body, under the request's target (cacheKey).
// A lookup asked again is neither parsed again nor, while the store has
// not changed, looked up: the lookup itself (a seek in each level of the
// store, the records decoded and rendered) was two fifths of the
// server's time per exact lookup under bench/api, the parsing a tenth.
// Everything else a request goes through is unchanged: authentication,
// quotas, admission, the rate headers, metrics.
//
// Only requests that were authenticated, admitted and answered are kept:
// a request refused before its lookup leaves nothing behind.
//
// An answer is only as fresh as the store allows: the store's version
// (store.Versioned) is read before a lookup, and its answer is kept under
// that version only if no write started or ended meanwhile; it is served
// only while the store is still at that version. Every write moves the
// version on: a store fed continuously keeps answers for the time
// between two writes (parsed requests stay). An answer depends on the
// limit the server applies, which depends on the key: it is kept with
// its limit and served only for the same one. Answers larger than
// maxCachedAnswer, answers cut by an error and lookups with relative time
// fences (their meaning moves with the clock) are never kept. A backend
// without versions (ClickHouse, written by other processes) gets no
// cache.
//
// Memory is bounded by two halves: entries go into the current half;
// when it is full it becomes the old half, and the old one is dropped.
// An entry found in the old half moves to the current one, so the
// entries in use survive and the others age out (a cheap approximation
// of LRU).

// maxCachedAnswer is the largest answer body kept (about 100 records).
const maxCachedAnswer = 16 << 10

// entryOverhead is what an entry costs besides its key, queries and body:
// the parsed request, the entry, the map's share.
const entryOverhead = 512

// answerCache is the cache of lookups; nil disables it.
type answerCache struct {
	st   store.Versioned
	half int64 // bytes of one half

	mu       sync.Mutex
	cur, old map[string]*answerEntry
	curBytes int64
	// gen counts the turns of halves: an entry whose gen is gen is in
	// the current half (each key has one entry at most).
	gen    uint64
	hits   uint64
	misses uint64
}

// answerEntry is a parsed lookup and, when body is set, its answer at
// version for limit. The request is shared, read-only; the other fields
// change under the cache's lock.
type answerEntry struct {
	req     *dnsdbRequest
	version uint64
	limit   int
	body    []byte // never modified once set
	// clen is the Content-Length header value of body, shared read-only
	// by the answers that serve it (net/http only reads it).
	clen    []string
	results int
	size    int64
	gen     uint64 // the cache's gen when the entry went into the current half
}

// newAnswerCache returns a cache of at most maxBytes, or nil when
// maxBytes is not positive or the store has no versions.
func newAnswerCache(st store.Backend, maxBytes int64) *answerCache {
	v, ok := st.(store.Versioned)
	if !ok || maxBytes <= 0 {
		return nil
	}
	return &answerCache{st: v, half: maxBytes / 2, cur: map[string]*answerEntry{}}
}

// cacheable reports whether the answer cache may keep req: a lookup
// without relative time fences.
func (req *dnsdbRequest) cacheable() bool {
	return req.verb == "lookup" && !req.relative
}

// querySize is what one store.Query costs besides its strings.
var querySize = int64(unsafe.Sizeof(store.Query{}))

// size is the memory an entry of req holds besides its answer: the key,
// the parsed request and its queries (rdata/raw without a type has one per
// type the bytes decode as, each with its rdata).
func (req *dnsdbRequest) size() int64 {
	n := int64(len(req.raw)) + entryOverhead
	for i := range req.qs {
		q := &req.qs[i]
		n += querySize + int64(len(q.Name)+len(q.RData)+len(q.Bailiwick))
	}
	return n
}

// cacheKey is the key of a request in the cache: its request-target as
// the client sent it (RequestURI), from which net/http derives the path
// and query that the request is parsed from, so that one key is always
// one parse. Read as is, it costs nothing per request (the escaped path
// and raw query joined did: URL.EscapedPath and a concatenation showed
// in profiles). Another spelling of the same target (percent-encoding,
// an empty query "?") is an entry of its own. An absolute-form target
// (`GET http://host/path`, as proxies send) and a request made
// in-process without a RequestURI are keyed by the escaped path and raw
// query joined by "?", the RequestURI of the same path and query in
// origin form (a "?" never starts a query inside an escaped path).
func cacheKey(r *http.Request) string {
	if u := r.RequestURI; u != "" && u[0] == '/' {
		return u
	}
	return r.URL.EscapedPath() + "?" + r.URL.RawQuery
}

// request returns the parsed request kept under raw (cacheKey), or nil.
// Requests are kept only with an answer (put), so only once a request
// was authenticated, admitted and answered.
func (c *answerCache) request(raw string) *dnsdbRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.find(raw); e != nil {
		return e.req
	}
	return nil
}

// get returns the answer of req for limit, valid at the store's version
// now, with its Content-Length value (read-only).
func (c *answerCache) get(req *dnsdbRequest, limit int) (body []byte, clen []string, results int, ok bool) {
	v, stable := c.st.Version()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := req.entry                  // the entry that holds req; if it is in the current
	if e == nil || e.gen != c.gen { // half, find would give it
		e = c.find(req.raw)
	}
	if !stable || e == nil || e.body == nil || e.version != v || e.limit != limit {
		c.misses++
		return nil, nil, 0, false
	}
	c.hits++
	return e.body, e.clen, e.results, true
}

// begin returns the version a lookup about to start reads, and whether
// its answer may be kept at all (no write in progress).
func (c *answerCache) begin() (uint64, bool) {
	return c.st.Version()
}

// put keeps body as the answer of req for limit, read at version v (from
// begin), if the store is still at v. body is copied.
func (c *answerCache) put(req *dnsdbRequest, v uint64, limit int, body []byte, results int) {
	if len(body) > maxCachedAnswer {
		return
	}
	if now, stable := c.st.Version(); !stable || now != v {
		return
	}
	body = append([]byte(nil), body...)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.find(req.raw)
	if e == nil {
		e = &answerEntry{req: req}
		req.entry = e
	} else {
		c.curBytes -= e.size // it is in the current half (find moved it)
		delete(c.cur, req.raw)
	}
	e.version, e.limit, e.body, e.results = v, limit, body, results
	e.clen = []string{strconv.Itoa(len(body))}
	e.size = e.req.size() + int64(len(body))
	c.add(req.raw, e)
}

// find returns the entry of raw, moving it from the old half to the
// current one. c.mu is held.
func (c *answerCache) find(raw string) *answerEntry {
	if e, ok := c.cur[raw]; ok {
		return e
	}
	e, ok := c.old[raw]
	if !ok {
		return nil
	}
	delete(c.old, raw)
	c.add(raw, e)
	if c.cur[raw] != e {
		return nil // larger than a half: dropped
	}
	return e
}

// add puts an entry in the current half, turning halves when it is
// full. c.mu is held.
func (c *answerCache) add(raw string, e *answerEntry) {
	if e.size > c.half {
		e.gen = notCurrent
		return
	}
	if c.curBytes+e.size > c.half {
		c.old, c.cur, c.curBytes = c.cur, map[string]*answerEntry{}, 0
		c.gen++
	}
	c.cur[raw] = e
	c.curBytes += e.size
	e.gen = c.gen
}

// notCurrent is the gen of an entry that went into no half.
const notCurrent = ^uint64(0)

// stats returns the hits and misses so far.
func (c *answerCache) stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}
