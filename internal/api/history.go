package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/watch"
)

// The watch endpoints (issue 13): the scan history the store keeps —
// /api/v1/domains (the inventory), /api/v1/scans (scans, one scan with
// what it saw, the diff between two), /api/v1/findings (finding
// lifecycles) and /api/v1/events (the timeline). They read the store's
// history area (store.History) and need no running watch.

// WatchStatus is what the server asks of a running watch.
type WatchStatus interface {
	Status() []watch.DomainStatus
}

// historyPageLimit is the page size of the history listings without
// limit=.
const historyPageLimit = 1000

// historyCost is the expected cost of a history listing, for admission.
const historyCost = 5 * time.Millisecond

// historyArea returns the store's history, or ErrDisabled.
func (s *Server) historyArea() (store.History, error) {
	h, err := store.HistoryOf(s.st)
	if err != nil {
		return nil, sentinelf(ErrDisabled, "this store keeps no scan history")
	}
	return h, nil
}

// listParams are the parameters every history listing shares.
type listParams struct {
	domain       string
	since, until time.Time
	limit        int
	cursor       string
}

func parseListParams(p url.Values) (listParams, error) {
	l := listParams{domain: strings.TrimSpace(p.Get("domain")), cursor: p.Get("cursor"), limit: historyPageLimit}
	if v := p.Get("limit"); v != "" {
		n, err := parseCount(v)
		if err != nil {
			return l, badRequest("limit: %v", err)
		}
		l.limit = min(max(n, 1), store.HistoryMaxLimit)
	}
	for _, x := range []struct {
		name string
		dst  *time.Time
	}{{"since", &l.since}, {"until", &l.until}} {
		if v := p.Get(x.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return l, badRequest("%s: want an RFC 3339 time (2026-03-14T09:26:53Z)", x.name)
			}
			*x.dst = t
		}
	}
	return l, nil
}

// parseHistoryQuery reads a history listing's query string: the shared
// parameters (domain, since, until, limit, cursor) into a listParams, the
// rest by build, which returns the store query; the query is validated.
func parseHistoryQuery[Q interface{ Validate() error }](r *http.Request, build func(p url.Values, l listParams) (Q, error)) (Q, error) {
	var zero Q
	p, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return zero, badRequest("malformed query string: %v", err)
	}
	l, err := parseListParams(p)
	if err != nil {
		return zero, err
	}
	q, err := build(p, l)
	if err != nil {
		return zero, err
	}
	return q, q.Validate()
}

func parseScansRoute(_ *Server, r *http.Request) (any, error) {
	return parseHistoryQuery(r, func(_ url.Values, l listParams) (*store.ScanQuery, error) {
		return &store.ScanQuery{Domain: l.domain, Since: l.since, Until: l.until, Limit: l.limit, Cursor: l.cursor}, nil
	})
}

// ScanList is the answer of /api/v1/scans.
type ScanList struct {
	Scans []history.Scan `json:"scans"`
	// Cursor continues the listing (cursor=); empty on the last page.
	Cursor string `json:"cursor,omitempty"`
}

func (s *Server) serveScans(c *call) {
	q := c.parsed.(*store.ScanQuery)
	s.serveHistory(c, func(ctx context.Context, h store.History) (any, error) {
		scans, cur, err := h.Scans(ctx, *q)
		return ScanList{Scans: nonNil(scans), Cursor: cur}, err
	})
}

// serveHistory answers a history request: the store's history area (404
// without one), admission, then read's answer or error.
func (s *Server) serveHistory(c *call, read func(ctx context.Context, h store.History) (any, error)) {
	h, err := s.historyArea()
	if err != nil {
		c.fail(err)
		return
	}
	if !c.admit(classQuery, page{cost: historyCost}) {
		return
	}
	v, err := read(c.r.Context(), h)
	if err != nil {
		c.fail(err)
		return
	}
	c.w.Header().Set("Cache-Control", "no-store")
	writeJSON(&c.w, http.StatusOK, v)
}

// nonNil makes an empty listing a JSON [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// scanRequest is a parsed /api/v1/scans/{id} or
// /api/v1/scans/{id}/diff/{other}.
type scanRequest struct {
	id, other string
	diff      bool
}

const scansPrefix = "/api/v1/scans/"

func parseScanRoute(_ *Server, r *http.Request) (any, error) {
	rest := strings.TrimPrefix(r.URL.Path, scansPrefix)
	parts := strings.Split(rest, "/")
	bad := func() (any, error) { return nil, notFound(r.URL.Path) }
	switch {
	case len(parts) == 1 && history.ValidScanID(parts[0]):
		return &scanRequest{id: parts[0]}, nil
	case len(parts) == 3 && parts[1] == "diff" && history.ValidScanID(parts[0]) && history.ValidScanID(parts[2]):
		return &scanRequest{id: parts[0], other: parts[2], diff: true}, nil
	}
	return bad()
}

// ScanDetail is the answer of /api/v1/scans/{id}.
type ScanDetail struct {
	Scan history.Scan `json:"scan"`
	// Snapshot is what the scan saw; absent for an outage (and for a scan
	// whose snapshot was pruned).
	Snapshot *history.Snapshot `json:"snapshot,omitempty"`
}

// ScanDiff is the answer of /api/v1/scans/{from}/diff/{to}.
type ScanDiff struct {
	From history.Scan         `json:"from"`
	To   history.Scan         `json:"to"`
	Diff history.SnapshotDiff `json:"diff"`
}

func (s *Server) serveScan(c *call) {
	req := c.parsed.(*scanRequest)
	s.serveHistory(c, func(ctx context.Context, h store.History) (any, error) {
		scan, snap, err := snapshotOf(ctx, h, req.id)
		if err != nil || !req.diff {
			return ScanDetail{Scan: scan, Snapshot: snap}, err
		}
		to, toSnap, err := snapshotOf(ctx, h, req.other)
		switch {
		case err != nil:
			return nil, err
		case to.Domain != scan.Domain:
			return nil, badRequest("scans %s and %s are of different domains", req.id, req.other)
		case snap == nil || toSnap == nil:
			return nil, badRequest("an outage scan saw nothing to compare: pick a scan that is not an outage")
		}
		return ScanDiff{From: scan, To: to, Diff: history.Diff(snap, toSnap)}, nil
	})
}

// snapshotOf is History.Snapshot with an unknown id as ErrNotFound.
func snapshotOf(ctx context.Context, h store.History, id string) (history.Scan, *history.Snapshot, error) {
	scan, snap, err := h.Snapshot(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return scan, nil, sentinelf(ErrNotFound, "no scan %s", id)
	}
	return scan, snap, err
}

func parseFindingsRoute(_ *Server, r *http.Request) (any, error) {
	return parseHistoryQuery(r, func(p url.Values, l listParams) (*store.FindingQuery, error) {
		q := &store.FindingQuery{Domain: l.domain, State: p.Get("state"), Limit: l.limit, Cursor: l.cursor}
		if v := p.Get("severity"); v != "" {
			sev, err := finding.ParseSeverity(v)
			if err != nil {
				return nil, badRequest("severity %q: want info, low, medium, high or critical", v)
			}
			q.MinSeverity = sev
		}
		return q, nil
	})
}

// FindingList is the answer of /api/v1/findings.
type FindingList struct {
	Findings []history.FindingState `json:"findings"`
	Cursor   string                 `json:"cursor,omitempty"`
}

func (s *Server) serveFindings(c *call) {
	q := c.parsed.(*store.FindingQuery)
	s.serveHistory(c, func(ctx context.Context, h store.History) (any, error) {
		fs, cur, err := h.Findings(ctx, *q)
		return FindingList{Findings: nonNil(fs), Cursor: cur}, err
	})
}

func parseEventsRoute(_ *Server, r *http.Request) (any, error) {
	return parseHistoryQuery(r, func(p url.Values, l listParams) (*store.EventQuery, error) {
		q := &store.EventQuery{Domain: l.domain, Since: l.since, Until: l.until, Limit: l.limit, Cursor: l.cursor}
		for _, k := range p["kind"] {
			for _, k := range strings.Split(k, ",") {
				if k = strings.TrimSpace(k); k != "" {
					q.Kinds = append(q.Kinds, k)
				}
			}
		}
		switch v := p.Get("order"); v {
		case "", "newest":
			q.Newest = true
		case "oldest":
		default:
			return nil, badRequest("order %q: want newest or oldest", v)
		}
		return q, nil
	})
}

// EventList is the answer of /api/v1/events.
type EventList struct {
	Events []history.Event `json:"events"`
	Cursor string          `json:"cursor,omitempty"`
}

func (s *Server) serveEvents(c *call) {
	q := c.parsed.(*store.EventQuery)
	s.serveHistory(c, func(ctx context.Context, h store.History) (any, error) {
		evs, cur, err := h.Events(ctx, *q)
		return EventList{Events: nonNil(evs), Cursor: cur}, err
	})
}

// DomainEntry is one line of /api/v1/domains: the store's summary and,
// when the server runs the watch, the domain's schedule.
type DomainEntry struct {
	store.DomainSummary
	// Watched is true when the running watch has the domain in its list.
	Watched bool `json:"watched"`
	// Source is where a watched domain comes from: "config" (the watch's
	// file or command line) or "api" (added through POST
	// /api/v1/domains); Every is its interval (0 for an API domain
	// without its own: the watch's default).
	Source string        `json:"source,omitempty"`
	Every  time.Duration `json:"every_ns,omitempty"`
	// Next, Failures, FailingSince and Error are the watch's schedule.
	Next         time.Time `json:"next,omitzero"`
	Failures     int       `json:"failures,omitempty"`
	FailingSince time.Time `json:"failing_since,omitzero"`
	Error        string    `json:"error,omitempty"`
}

// DomainList is the answer of /api/v1/domains.
type DomainList struct {
	Domains []DomainEntry `json:"domains"`
}

func (s *Server) serveDomains(c *call) {
	s.serveHistory(c, func(ctx context.Context, h store.History) (any, error) {
		sums, err := h.Domains(ctx)
		if err != nil {
			return nil, err
		}
		inv := s.inventory(sums)
		return inv, s.managedEntries(ctx, &inv)
	})
}

// inventory adds the running watch's schedule to the store's summaries.
func (s *Server) inventory(sums []store.DomainSummary) DomainList {
	out := DomainList{Domains: make([]DomainEntry, 0, len(sums))}
	idx := make(map[string]int, len(sums))
	for _, d := range sums {
		idx[d.Domain] = len(out.Domains)
		out.Domains = append(out.Domains, DomainEntry{DomainSummary: d})
	}
	if s.opt.Watch == nil {
		return out
	}
	for _, st := range s.opt.Watch.Status() {
		i, ok := idx[st.Domain]
		if !ok {
			// Watched, not scanned yet.
			i = len(out.Domains)
			out.Domains = append(out.Domains, DomainEntry{DomainSummary: store.DomainSummary{Domain: st.Domain}})
		}
		e := &out.Domains[i]
		e.Watched, e.Next, e.Failures, e.FailingSince, e.Error = true, st.Next, st.Failures, st.FailingSince, st.Error
		e.Source, e.Every = st.Source, st.Every
	}
	return out
}
