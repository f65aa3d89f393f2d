package api

import (
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// CIRCL-style API: GET /pdns/query/{value}, as CIRCL's PyPDNS and
// dnsdbq -u circl use it. The value is a name, a left-hand wildcard
// (*.example.com), an address, a prefix (addr/len or dnsdbq's addr,len) or
// a range. Like CIRCL's own server, a name finds the records it owns and
// the records pointing at it (rdata names), each tuple once; an address
// finds the A/AAAA records pointing into it. The answer is COF NDJSON; no
// results is 200 with an empty body. Paging: dribble-paginate-count is
// the page size, dribble-paginate-cursor the number of results already
// seen, x-dribble-cursor the cursor of the next page (a positive integer,
// absent on the last page).

const circlPrefix = "/pdns/query"

// circlRequest is a parsed CIRCL query.
type circlRequest struct {
	qs     []store.Query
	page   int // dribble-paginate-count; 0 = not given
	cursor int // dribble-paginate-cursor
}

// parseCIRCL parses the escaped path and the dribble headers.
func parseCIRCL(escPath string, h http.Header) (*circlRequest, error) {
	rest, ok := strings.CutPrefix(escPath, circlPrefix)
	if !ok || rest != "" && rest[0] != '/' {
		return nil, notFound(escPath)
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		return nil, badRequest("give a value: /pdns/query/NAME, /pdns/query/*.NAME or /pdns/query/ADDRESS[/LEN]")
	}
	if len(rest) > 3*maxPathValue {
		return nil, badRequest("value longer than %d bytes", maxPathValue)
	}
	value, err := url.PathUnescape(rest)
	if err != nil {
		return nil, badRequest("bad percent-escape in the value")
	}
	if strings.IndexByte(value, 0) >= 0 {
		return nil, badRequest("the value holds a NUL byte")
	}
	q, err := store.ParseQuery(value, false)
	if err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(h.Get("dribble-filter-rrtype")); t != "" {
		if q.Type, err = store.ParseTypeFilter(t); err != nil {
			return nil, err
		}
	}
	req := &circlRequest{qs: []store.Query{q}}
	if q.Kind == store.KindRRSet {
		r := q
		r.Kind = store.KindRDataName
		req.qs = append(req.qs, r)
	}
	for i := range req.qs {
		if err := req.qs[i].Validate(); err != nil {
			return nil, err
		}
	}
	for _, p := range []struct {
		name string
		dst  *int
		min  int
	}{{"dribble-paginate-count", &req.page, 1}, {"dribble-paginate-cursor", &req.cursor, 0}} {
		v := strings.TrimSpace(h.Get(p.name))
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || int(n) < p.min {
			return nil, badRequest("%s: want an integer >= %d", p.name, p.min)
		}
		*p.dst = int(n)
	}
	return req, nil
}

// parseCIRCLRoute is the CIRCL route's Parse: the value, the dribble
// headers, and whether the client accepts the answer.
func parseCIRCLRoute(_ *Server, r *http.Request) (any, error) {
	req, err := parseCIRCL(r.URL.EscapedPath(), r.Header)
	if err != nil {
		return nil, err
	}
	if !acceptable(r.Header.Get("Accept")) {
		return nil, sentinelf(ErrMediaType, "Accept %q: this API answers COF NDJSON", r.Header.Get("Accept"))
	}
	return req, nil
}

// serveCIRCL answers /pdns/query/.
func (s *Server) serveCIRCL(c *call) {
	req := c.parsed.(*circlRequest)
	w, r, k := &c.w, c.r, c.key
	limit := s.resultsMax(k)
	if req.page > 0 {
		limit = min(req.page, limit)
	}
	if !c.admit(classQuery, page{offset: req.cursor, cursor: true, cost: queryCost(req.qs, limit)}) {
		return
	}
	// The page is buffered so that x-dribble-cursor, a header, can say
	// whether more follows. A page too large to buffer (over 8 MiB) is
	// streamed after a probe past its end has decided the header.
	var (
		buf      []byte
		n        int
		streamed bool
	)
	more, err := s.lookupPage(r.Context(), req.qs, req.cursor, limit, func(t *pdns.Tuple) error {
		n++
		buf = pdns.AppendCOF(buf, t)
		buf = append(buf, '\n')
		if len(buf) < 8<<20 {
			return nil
		}
		if !streamed {
			streamed = true
			next := s.countAtLeast(r.Context(), req.qs, req.cursor+limit+1)
			s.circlHeaders(w, req, limit, req.cursor+limit, next)
		}
		_, err := w.Write(buf)
		buf = buf[:0]
		runtime.Gosched() // as safWriter.maybeFlush does
		return err
	})
	s.met.resultsCIRCL.Add(float64(n))
	if err != nil {
		if clientGone(w, r) {
			return
		}
		if !streamed {
			c.fail(err)
			return
		}
		s.log.Error("lookup failed mid-stream", "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler) // the client sees a truncated answer, not a silently short one
	}
	if !streamed {
		s.circlHeaders(w, req, limit, req.cursor+n, more)
	}
	w.Write(buf)
}

// circlHeaders sends the status and headers of a CIRCL answer; next is
// the cursor of the following page when more is true.
func (s *Server) circlHeaders(w http.ResponseWriter, req *circlRequest, limit, next int, more bool) {
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("X-Content-Type-Options", "nosniff")
	if more && next > 0 {
		h.Set("x-dribble-cursor", strconv.Itoa(next))
		if req.page == 0 {
			h.Set("x-dribble-errors", `{"truncated":"result limit `+strconv.Itoa(limit)+` reached; page with dribble-paginate-count and dribble-paginate-cursor"}`)
		}
	}
	w.WriteHeader(http.StatusOK)
}
