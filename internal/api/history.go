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

// scanListRequest is a parsed /api/v1/scans.
type scanListRequest struct{ q store.ScanQuery }

func parseScansRoute(_ *Server, r *http.Request) (any, error) {
	p, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query string: %v", err)
	}
	l, err := parseListParams(p)
	if err != nil {
		return nil, err
	}
	q := store.ScanQuery{Domain: l.domain, Since: l.since, Until: l.until, Limit: l.limit, Cursor: l.cursor}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return &scanListRequest{q: q}, nil
}

// ScanList is the answer of /api/v1/scans.
type ScanList struct {
	Scans []history.Scan `json:"scans"`
	// Cursor continues the listing (cursor=); empty on the last page.
	Cursor string `json:"cursor,omitempty"`
}

func (s *Server) serveScans(c *call) {
	req := c.parsed.(*scanListRequest)
	h, err := s.historyArea()
	if err != nil {
		c.fail(err)
		return
	}
	if !c.admit(classQuery, page{cost: historyCost}) {
		return
	}
	scans, cur, err := h.Scans(c.r.Context(), req.q)
	if err != nil {
		c.fail(err)
		return
	}
	if scans == nil {
		scans = []history.Scan{}
	}
	writeHistory(&c.w, ScanList{Scans: scans, Cursor: cur})
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
	h, err := s.historyArea()
	if err != nil {
		c.fail(err)
		return
	}
	if !c.admit(classQuery, page{cost: historyCost}) {
		return
	}
	ctx := c.r.Context()
	scan, snap, err := snapshotOf(ctx, h, req.id)
	if err != nil {
		c.fail(err)
		return
	}
	if !req.diff {
		writeHistory(&c.w, ScanDetail{Scan: scan, Snapshot: snap})
		return
	}
	to, toSnap, err := snapshotOf(ctx, h, req.other)
	if err != nil {
		c.fail(err)
		return
	}
	if to.Domain != scan.Domain {
		c.fail(badRequest("scans %s and %s are of different domains", req.id, req.other))
		return
	}
	if snap == nil || toSnap == nil {
		c.fail(badRequest("an outage scan saw nothing to compare: pick a scan that is not an outage"))
		return
	}
	writeHistory(&c.w, ScanDiff{From: scan, To: to, Diff: history.Diff(snap, toSnap)})
}

// snapshotOf is History.Snapshot with an unknown id as ErrNotFound.
func snapshotOf(ctx context.Context, h store.History, id string) (history.Scan, *history.Snapshot, error) {
	scan, snap, err := h.Snapshot(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return scan, nil, sentinelf(ErrNotFound, "no scan %s", id)
	}
	return scan, snap, err
}

// findingsRequest is a parsed /api/v1/findings.
type findingsRequest struct{ q store.FindingQuery }

func parseFindingsRoute(_ *Server, r *http.Request) (any, error) {
	p, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query string: %v", err)
	}
	l, err := parseListParams(p)
	if err != nil {
		return nil, err
	}
	q := store.FindingQuery{Domain: l.domain, State: p.Get("state"), Limit: l.limit, Cursor: l.cursor}
	if v := p.Get("severity"); v != "" {
		if q.MinSeverity, err = finding.ParseSeverity(v); err != nil {
			return nil, badRequest("severity %q: want info, low, medium, high or critical", v)
		}
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return &findingsRequest{q: q}, nil
}

// FindingList is the answer of /api/v1/findings.
type FindingList struct {
	Findings []history.FindingState `json:"findings"`
	Cursor   string                 `json:"cursor,omitempty"`
}

func (s *Server) serveFindings(c *call) {
	req := c.parsed.(*findingsRequest)
	h, err := s.historyArea()
	if err != nil {
		c.fail(err)
		return
	}
	if !c.admit(classQuery, page{cost: historyCost}) {
		return
	}
	fs, cur, err := h.Findings(c.r.Context(), req.q)
	if err != nil {
		c.fail(err)
		return
	}
	if fs == nil {
		fs = []history.FindingState{}
	}
	writeHistory(&c.w, FindingList{Findings: fs, Cursor: cur})
}

// eventsRequest is a parsed /api/v1/events.
type eventsRequest struct{ q store.EventQuery }

func parseEventsRoute(_ *Server, r *http.Request) (any, error) {
	p, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query string: %v", err)
	}
	l, err := parseListParams(p)
	if err != nil {
		return nil, err
	}
	q := store.EventQuery{Domain: l.domain, Since: l.since, Until: l.until, Limit: l.limit, Cursor: l.cursor}
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
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return &eventsRequest{q: q}, nil
}

// EventList is the answer of /api/v1/events.
type EventList struct {
	Events []history.Event `json:"events"`
	Cursor string          `json:"cursor,omitempty"`
}

func (s *Server) serveEvents(c *call) {
	req := c.parsed.(*eventsRequest)
	h, err := s.historyArea()
	if err != nil {
		c.fail(err)
		return
	}
	if !c.admit(classQuery, page{cost: historyCost}) {
		return
	}
	evs, cur, err := h.Events(c.r.Context(), req.q)
	if err != nil {
		c.fail(err)
		return
	}
	if evs == nil {
		evs = []history.Event{}
	}
	writeHistory(&c.w, EventList{Events: evs, Cursor: cur})
}

// DomainEntry is one line of /api/v1/domains: the store's summary and,
// when the server runs the watch, the domain's schedule.
type DomainEntry struct {
	store.DomainSummary
	// Watched is true when the running watch has the domain in its list.
	Watched bool `json:"watched"`
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
	h, err := s.historyArea()
	if err != nil {
		c.fail(err)
		return
	}
	if !c.admit(classQuery, page{cost: historyCost}) {
		return
	}
	sums, err := h.Domains(c.r.Context())
	if err != nil {
		c.fail(err)
		return
	}
	out := DomainList{Domains: make([]DomainEntry, 0, len(sums))}
	idx := make(map[string]int, len(sums))
	for _, d := range sums {
		idx[d.Domain] = len(out.Domains)
		out.Domains = append(out.Domains, DomainEntry{DomainSummary: d})
	}
	if s.opt.Watch != nil {
		for _, st := range s.opt.Watch.Status() {
			i, ok := idx[st.Domain]
			if !ok {
				// Watched, not scanned yet.
				i = len(out.Domains)
				out.Domains = append(out.Domains, DomainEntry{DomainSummary: store.DomainSummary{Domain: st.Domain}})
			}
			e := &out.Domains[i]
			e.Watched, e.Next, e.Failures, e.FailingSince, e.Error = true, st.Next, st.Failures, st.FailingSince, st.Error
		}
	}
	writeHistory(&c.w, out)
}

// writeHistory answers a history listing.
func writeHistory(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
}
