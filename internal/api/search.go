package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// The web UI's JSON endpoints: /api/v1/search (what the search page
// shows), /api/v1/info (what the page may offer), /healthz.

// searchLimit is the UI's default page size.
const searchLimit = 1000

type searchRequest struct {
	q      store.Query
	value  string
	limit  int // -1 = default
	offset int
}

// parseSearch reads /api/v1/search?q=VALUE[&side=rrset|rdata][&type=T]
// [&limit=N][&offset=N][&first_after=..&last_before=..]: a name, a
// wildcard, an address, a prefix or a range, looked up by owner (side
// rrset, the default) or in rdata (side rdata); addresses always search
// A/AAAA rdata.
func parseSearch(rawQuery string) (*searchRequest, error) {
	p, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, badRequest("malformed query string: %v", err)
	}
	req := &searchRequest{value: strings.TrimSpace(p.Get("q")), limit: -1}
	if req.value == "" {
		return nil, badRequest("give q: a name, *.name, name.*, an address, a prefix or a range")
	}
	if len(req.value) > maxPathValue {
		return nil, badRequest("q longer than %d bytes", maxPathValue)
	}
	var rdata bool
	switch side := p.Get("side"); side {
	case "", "rrset", "name":
	case "rdata":
		rdata = true
	default:
		return nil, badRequest("side %q: want rrset or rdata", side)
	}
	if req.q, err = store.ParseQuery(req.value, rdata); err != nil {
		return nil, err
	}
	if req.q.Type, err = store.ParseTypeFilter(p.Get("type")); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		name string
		dst  *int
	}{{"limit", &req.limit}, {"offset", &req.offset}} {
		if v := p.Get(x.name); v != "" {
			n, err := parseCount(v)
			if err != nil {
				return nil, badRequest("%s: %v", x.name, err)
			}
			*x.dst = n
		}
	}
	if err := req.q.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

// parseSearchRoute is the search route's Parse.
func parseSearchRoute(_ *Server, r *http.Request) (any, error) { return parseSearch(r.URL.RawQuery) }

// serveSearch answers /api/v1/search.
func (s *Server) serveSearch(c *call) {
	req := c.parsed.(*searchRequest)
	w, r, k := &c.w, c.r, c.key
	limit := min(searchLimit, s.resultsMax(k))
	if req.limit >= 0 {
		limit = s.limitFor(req.limit, k)
	}
	if !c.admit(classQuery, page{offset: req.offset, cost: queryCost([]store.Query{req.q}, limit)}) {
		return
	}
	b := []byte(`{"query":`)
	b = appendJSONString(b, req.value)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, req.q.Kind.String())
	b = append(b, `,"type":`...)
	b = appendJSONString(b, req.q.Type.String())
	b = append(b, `,"results":[`...)
	n := 0
	more, err := s.lookupPage(r.Context(), []store.Query{req.q}, req.offset, limit, func(t *pdns.Tuple) error {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, '\n')
		b = pdns.AppendCOF(b, t)
		return nil
	})
	if err != nil {
		if !clientGone(w, r) {
			c.fail(err)
		}
		return
	}
	s.met.results.WithLabelValues("search").Add(float64(n))
	b = append(b, "\n],\"more\":"...)
	b = strconv.AppendBool(b, more)
	b = append(b, `,"next_offset":`...)
	b = strconv.AppendInt(b, int64(req.offset+n), 10)
	b = append(b, "}\n"...)
	s.setRateHeaders(w, k)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// Info is the answer of /api/v1/info.
type Info struct {
	Version      string `json:"version"`
	AuthRequired bool   `json:"auth_required"`
	Recon        bool   `json:"recon"`
	DefaultLimit int    `json:"default_limit"`
	MaxResults   int    `json:"max_results"`
}

func (s *Server) serveInfo(c *call) {
	w := &c.w
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, Info{Version: s.opt.Version, AuthRequired: s.authRequired(), Recon: s.recon != nil,
		DefaultLimit: min(searchLimit, s.opt.MaxResults), MaxResults: s.opt.MaxResults})
}

// serveHealthz answers 200 when the store answers a lookup, else 503.
func (s *Server) serveHealthz(c *call) {
	w, r := &c.w, c.r
	w.Header().Set("Cache-Control", "no-store")
	_, err := s.st.Lookup(r.Context(), store.Query{Kind: store.KindRRSet, Name: "healthz.invalid", Limit: 1}, func(*pdns.Tuple) error { return nil })
	if err != nil {
		s.log.Warn("health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable", "version": s.opt.Version})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.opt.Version})
}

func (s *Server) serveOpenAPI(c *call) {
	w := &c.w
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.openapi)
}
