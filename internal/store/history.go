package store

// Scan history (issue 13): the optional ability of a backend to keep every
// scan of every watched domain, the lifecycle of its findings and the
// timeline of changes. The model and its rules live in package history;
// this file is the storage contract and the query model both backends
// implement (docs/store.md, "History").

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
)

// ErrBadHistory: a history step given to Record breaks the model's rules
// (history.Step.Validate) or a snapshot is too large.
var ErrBadHistory = errors.New("store: bad history record")

// HistoryStore is the optional ability to keep scan history.
type HistoryStore interface {
	// History returns the history area of the store.
	History() (History, error)
}

// HistoryOf returns b's history area, or an error wrapping ErrUnsupported.
func HistoryOf(b Backend) (History, error) {
	hs, ok := b.(HistoryStore)
	if !ok {
		return nil, fmt.Errorf("%w: scan history", ErrUnsupported)
	}
	return hs.History()
}

// History keeps the scans of watched domains. Record for one domain must be
// serialized by the caller (Last, history.Advance, Record is a
// read-modify-write); Records of different domains may run concurrently,
// beside every read.
type History interface {
	// Record writes one step atomically: its scan, its snapshot (when
	// set), the domain's new baseline (when set), the states the step
	// changed (history.Step.Changed) and its events. Either all of it is
	// visible afterwards or, on error, none of it. Recording the same step
	// again (a retry, even after later steps) changes nothing: the newest
	// state of a finding (by history.FindingState.Updated) and the newest
	// baseline (by scan start) win. A step that does not validate fails
	// with ErrBadHistory.
	Record(ctx context.Context, step *history.Step) error
	// Last returns what the next history.Advance of domain needs: its
	// newest scan (of any kind), its baseline and every finding state
	// (sorted by key). A domain without history returns a zero scan, nil
	// and nil.
	Last(ctx context.Context, domain string) (last history.Scan, baseline *history.Snapshot, states []history.FindingState, err error)
	// Scans lists scans newest first (start time, then id, descending).
	Scans(ctx context.Context, q ScanQuery) (scans []history.Scan, cursor string, err error)
	// Snapshot returns a scan and what it saw (nil for an outage), for a
	// diff between any two scans (history.Diff). An unknown id wraps
	// ErrNotFound.
	Snapshot(ctx context.Context, scanID string) (history.Scan, *history.Snapshot, error)
	// Findings lists finding states ordered by domain, then key.
	Findings(ctx context.Context, q FindingQuery) (states []history.FindingState, cursor string, err error)
	// Events lists the timeline ordered by time, then scan id, then
	// sequence number (descending with EventQuery.Newest).
	Events(ctx context.Context, q EventQuery) (events []history.Event, cursor string, err error)
	// Domains summarises every domain with history, ordered by name.
	Domains(ctx context.Context) ([]DomainSummary, error)
	// PruneHistory forgets what happened before before: scans (with their
	// snapshots) started before it, events before it, finding states last
	// updated (history.FindingState.Updated) before it, and a baseline
	// whose scan started before it (the domain's next scan is then a first
	// scan, its events marked Baseline).
	PruneHistory(ctx context.Context, before time.Time) (HistoryPruneResult, error)
}

// DomainSummary is one line of the inventory: a domain, its newest scan and
// its open findings.
type DomainSummary struct {
	Domain   string                 `json:"domain"`
	LastScan history.Scan           `json:"last_scan"`
	Open     history.SeverityCounts `json:"open"`
}

// HistoryPruneResult says what PruneHistory deleted.
type HistoryPruneResult struct {
	Scans         int64 `json:"scans"`
	Events        int64 `json:"events"`
	FindingStates int64 `json:"finding_states"`
}

// HistoryMaxLimit is the most items one history listing returns; it is
// used for Limit 0 and caps larger limits.
const HistoryMaxLimit = 10_000

// ScanQuery selects scans.
type ScanQuery struct {
	// Domain restricts to one domain ("" = every domain).
	Domain string
	// Since (inclusive) and Until (exclusive) fence the start time; zero =
	// unbounded.
	Since, Until time.Time
	// Limit caps the scans returned (0 = HistoryMaxLimit); Cursor resumes
	// after the last scan of an earlier page.
	Limit  int
	Cursor string
}

// FindingQuery selects finding states.
type FindingQuery struct {
	// Domain restricts to one domain ("" = every domain).
	Domain string
	// State is history.StateOpen, history.StateResolved or "" (both).
	State string
	// MinSeverity keeps findings at least this severe (default info: all).
	MinSeverity finding.Severity
	Limit       int
	Cursor      string
}

// EventQuery selects timeline events.
type EventQuery struct {
	// Domain restricts to one domain ("" = every domain).
	Domain string
	// Since (inclusive) and Until (exclusive) fence the event time.
	Since, Until time.Time
	// Kinds keeps these event kinds (empty = all).
	Kinds []string
	// Newest lists the newest events first.
	Newest bool
	Limit  int
	Cursor string
}

// historyLimit turns a query limit into the number of items to return.
func historyLimit(n int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("%w: negative limit %d", ErrBadQuery, n)
	case n == 0 || n > HistoryMaxLimit:
		return HistoryMaxLimit, nil
	}
	return n, nil
}

func historyDomain(d *string) error {
	if *d == "" {
		return nil
	}
	*d = history.DomainKey(*d)
	if err := history.ValidDomain(*d); err != nil {
		return fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	return nil
}

func historyFence(since, until time.Time) error {
	for _, t := range []time.Time{since, until} {
		if !t.IsZero() && (t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, 1<<63-1))) {
			return fmt.Errorf("%w: time %s out of range", ErrBadQuery, t.Format(time.RFC3339))
		}
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return fmt.Errorf("%w: until before since", ErrBadQuery)
	}
	return nil
}

// Validate checks q and fills its defaults: Domain in identity form, Limit
// the number of scans to return.
func (q *ScanQuery) Validate() (err error) {
	if err := historyDomain(&q.Domain); err != nil {
		return err
	}
	if err := historyFence(q.Since, q.Until); err != nil {
		return err
	}
	q.Limit, err = historyLimit(q.Limit)
	return err
}

// Validate checks q and fills its defaults.
func (q *FindingQuery) Validate() (err error) {
	if err := historyDomain(&q.Domain); err != nil {
		return err
	}
	switch q.State {
	case "", history.StateOpen, history.StateResolved:
	default:
		return fmt.Errorf("%w: finding state %q (want open or resolved)", ErrBadQuery, q.State)
	}
	if q.MinSeverity < finding.Info || q.MinSeverity > finding.Critical {
		return fmt.Errorf("%w: severity %d", ErrBadQuery, q.MinSeverity)
	}
	q.Limit, err = historyLimit(q.Limit)
	return err
}

// Validate checks q and fills its defaults.
func (q *EventQuery) Validate() (err error) {
	if err := historyDomain(&q.Domain); err != nil {
		return err
	}
	if err := historyFence(q.Since, q.Until); err != nil {
		return err
	}
	for _, k := range q.Kinds {
		if !slices.Contains(history.Kinds, k) {
			return fmt.Errorf("%w: event kind %q", ErrBadQuery, k)
		}
	}
	q.Limit, err = historyLimit(q.Limit)
	return err
}

// EncodedStep is a step in the stored forms (history.MarshalSnapshot,
// history.MarshalRecord) that every backend writes.
type EncodedStep struct {
	// Scan is the scan's JSON.
	Scan []byte
	// Snapshot is the stored snapshot, nil for none.
	Snapshot []byte
	// Baseline is the stored new baseline, nil when unchanged or when
	// SameBaseline says it is Snapshot (a complete scan: stored once).
	Baseline     []byte
	SameBaseline bool
	// States are the states the step changed (history.Step.Changed) and
	// StateJSON their JSON; EventJSON is the JSON of each event.
	States    []history.FindingState
	StateJSON [][]byte
	EventJSON [][]byte
}

// EncodeStep validates a step for Record and encodes it; errors wrap
// ErrBadHistory.
func EncodeStep(step *history.Step) (*EncodedStep, error) {
	bad := func(err error) (*EncodedStep, error) { return nil, fmt.Errorf("%w: %v", ErrBadHistory, err) }
	if err := step.Validate(); err != nil {
		return bad(err)
	}
	enc := &EncodedStep{States: step.Changed()}
	var err error
	if enc.Scan, err = history.MarshalRecord(&step.Scan); err != nil {
		return bad(err)
	}
	for i := range enc.States {
		b, err := history.MarshalRecord(&enc.States[i])
		if err != nil {
			return bad(err)
		}
		enc.StateJSON = append(enc.StateJSON, b)
	}
	for i := range step.Events {
		b, err := history.MarshalRecord(&step.Events[i])
		if err != nil {
			return bad(err)
		}
		enc.EventJSON = append(enc.EventJSON, b)
	}
	if step.Snapshot != nil {
		if enc.Snapshot, err = history.MarshalSnapshot(step.Snapshot); err != nil {
			return bad(err)
		}
	}
	switch {
	case step.Baseline == nil:
	case step.Baseline == step.Snapshot:
		enc.SameBaseline = true
	default:
		if enc.Baseline, err = history.MarshalSnapshot(step.Baseline); err != nil {
			return bad(err)
		}
		if enc.Snapshot != nil && string(enc.Baseline) == string(enc.Snapshot) {
			enc.Baseline, enc.SameBaseline = nil, true
		}
	}
	return enc, nil
}

// HistoryDomain checks a domain argument (History.Last) and returns its
// identity form; errors wrap ErrBadQuery.
func HistoryDomain(d string) (string, error) {
	if d == "" {
		return "", fmt.Errorf("%w: empty domain", ErrBadQuery)
	}
	err := historyDomain(&d)
	return d, err
}

// DecodeSnapshot decodes a stored snapshot; errors wrap ErrCorrupt.
func DecodeSnapshot(b []byte) (*history.Snapshot, error) {
	s, err := history.UnmarshalSnapshot(b, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return s, nil
}

// Cursor kinds of the history listings.
const (
	CursorScans    = 's'
	CursorFindings = 'f'
	CursorEvents   = 'e'
)

// HistoryCursor is the position after the last item of a history page.
// Scans: Time (start, Unix ns) and ID; events: Time, ID (scan id) and Seq;
// findings: Domain and ID (key).
type HistoryCursor struct {
	Time   int64
	Domain string
	ID     string
	Seq    int
}

const historyCursorVersion = 1

// ScanCursor is the cursor after scan s.
func ScanCursor(s *history.Scan) string {
	return EncodeHistoryCursor(CursorScans, HistoryCursor{Time: s.Started.UnixNano(), ID: s.ID})
}

// EventCursor is the cursor after event e.
func EventCursor(e *history.Event) string {
	return EncodeHistoryCursor(CursorEvents, HistoryCursor{Time: e.Time.UnixNano(), ID: e.ScanID, Seq: e.Seq})
}

// FindingCursor is the cursor after state s.
func FindingCursor(s *history.FindingState) string {
	return EncodeHistoryCursor(CursorFindings, HistoryCursor{Domain: s.Domain, ID: s.Key})
}

// EncodeHistoryCursor returns the opaque form of c for listings of kind.
func EncodeHistoryCursor(kind byte, c HistoryCursor) string {
	b := []byte{kind, historyCursorVersion}
	b = binary.AppendVarint(b, c.Time)
	b = binary.AppendUvarint(b, uint64(len(c.Domain)))
	b = append(b, c.Domain...)
	b = binary.AppendUvarint(b, uint64(len(c.ID)))
	b = append(b, c.ID...)
	b = binary.AppendUvarint(b, uint64(c.Seq))
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeHistoryCursor reads a cursor of kind; errors wrap ErrBadCursor.
func DecodeHistoryCursor(kind byte, s string) (HistoryCursor, error) {
	var c HistoryCursor
	bad := func() (HistoryCursor, error) {
		q := s
		if len(q) > 80 {
			q = q[:80] + "..."
		}
		return HistoryCursor{}, fmt.Errorf("%w: %q", ErrBadCursor, q)
	}
	if len(s) > 4*history.MaxKeyBytes {
		return bad()
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != kind || b[1] != historyCursorVersion {
		return bad()
	}
	b = b[2:]
	t, n := binary.Varint(b)
	if n <= 0 {
		return bad()
	}
	c.Time, b = t, b[n:]
	str := func() (string, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return "", false
		}
		v := string(b[n : n+int(l)])
		b = b[n+int(l):]
		return v, true
	}
	var ok1, ok2 bool
	c.Domain, ok1 = str()
	c.ID, ok2 = str()
	seq, n := binary.Uvarint(b)
	if !ok1 || !ok2 || n <= 0 || n != len(b) || seq > 1<<31-1 {
		return bad()
	}
	c.Seq = int(seq)
	return c, nil
}
