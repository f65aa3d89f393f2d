// Package history owns the model of continuous monitoring: what one scan of
// one domain saw (Snapshot), the scan itself (Scan), the lifecycle of every
// finding across scans (FindingState: open, resolved, reopened) and the
// timeline of changes (Event), and the pure rules that move a domain from
// one scan to the next (Advance). It neither scans (recon and checks do),
// stores (package store and its backends do) nor alerts (package alert
// does); the caller fills a Snapshot from its scan result, asks the store
// for the domain's last state, calls Advance and records the Step.
package history

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/finding"
)

// Errors of package history.
var (
	// ErrInvalid: a scan, state, event or step breaks the model's rules
	// (bad scan id, unknown event kind, a state of another domain, ...).
	ErrInvalid = errors.New("history: invalid")
	// ErrCorrupt: stored bytes do not decode.
	ErrCorrupt = errors.New("history: corrupt data")
	// ErrTooLarge: a snapshot or record exceeds its size limit.
	ErrTooLarge = errors.New("history: too large")
)

// Finding states.
const (
	StateOpen     = "open"
	StateResolved = "resolved"
)

// Event kinds, as they appear in JSON.
const (
	KindFindingOpened     = "finding-opened"
	KindFindingResolved   = "finding-resolved"
	KindFindingReopened   = "finding-reopened"
	KindFindingChanged    = "finding-changed" // severity changed; evidence alone is not an event
	KindNameAdded         = "name-added"
	KindNameRemoved       = "name-removed"
	KindNameserverAdded   = "nameserver-added"
	KindNameserverRemoved = "nameserver-removed"
	KindRecordAdded       = "record-added"
	KindRecordRemoved     = "record-removed"
	KindOutage            = "outage"
)

// Kinds lists every event kind, in the order Advance emits them within a
// scan.
var Kinds = []string{
	KindOutage,
	KindFindingOpened, KindFindingReopened, KindFindingChanged, KindFindingResolved,
	KindNameserverAdded, KindNameserverRemoved,
	KindNameAdded, KindNameRemoved,
	KindRecordAdded, KindRecordRemoved,
}

// Record is one resource record of a snapshot. Its identity is the whole
// value: owner name (lower case, no trailing dot), type (upper case) and
// data as recon presents it (change.NewRecordKey's rules).
type Record struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// Snapshot is what one scan of one domain saw. The caller builds it from its
// scan result (recon names, records and nameservers, checks findings);
// Normalize puts it in the canonical form Advance and the stores use.
type Snapshot struct {
	Domain      string            `json:"domain"`
	Names       []string          `json:"names,omitempty"`
	Records     []Record          `json:"records,omitempty"`
	Nameservers []string          `json:"nameservers,omitempty"`
	Findings    []finding.Finding `json:"findings,omitempty"`
}

// Normalize puts s in canonical form in place: names and nameservers in
// identity form (change.NameKey), records through change.NewRecordKey,
// each list sorted and without duplicates; findings sorted by Key, one per
// key (the most severe of duplicates, the first among equals), with their
// Change mark cleared. Empty names are dropped.
func (s *Snapshot) Normalize() {
	s.Domain = change.NameKey(s.Domain)
	s.Names = nameSet(s.Names)
	s.Nameservers = nameSet(s.Nameservers)
	recs := make([]Record, 0, len(s.Records))
	for _, r := range s.Records {
		k := change.NewRecordKey(r.Name, r.Type, r.Data)
		if k.Name == "" || k.Type == "" {
			continue
		}
		recs = append(recs, Record{Name: k.Name, Type: k.Type, Data: k.Data})
	}
	slices.SortFunc(recs, compareRecords)
	s.Records = slices.Compact(recs)
	fs := make([]finding.Finding, 0, len(s.Findings))
	for _, f := range s.Findings {
		f.Change = ""
		fs = append(fs, f)
	}
	// Most severe first within a key, stable, then keep the first of each.
	slices.SortStableFunc(fs, func(a, b finding.Finding) int {
		return cmp.Or(strings.Compare(FindingKey(&a), FindingKey(&b)), cmp.Compare(b.Severity, a.Severity))
	})
	s.Findings = slices.CompactFunc(fs, func(a, b finding.Finding) bool { return FindingKey(&a) == FindingKey(&b) })
	if len(s.Names) == 0 {
		s.Names = nil
	}
	if len(s.Records) == 0 {
		s.Records = nil
	}
	if len(s.Findings) == 0 {
		s.Findings = nil
	}
}

func nameSet(in []string) []string {
	out := make([]string, 0, len(in))
	for _, n := range in {
		if n = change.NameKey(n); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func compareRecords(a, b Record) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Type, b.Type), strings.Compare(a.Data, b.Data))
}

// Empty reports whether the snapshot saw no name, record or nameserver
// (findings do not count: a scan whose resolution failed can still report
// findings about that failure).
func (s *Snapshot) Empty() bool {
	return s == nil || len(s.Names) == 0 && len(s.Records) == 0 && len(s.Nameservers) == 0
}

// FindingKey is the identity of a finding across scans: its check id, a
// space, its subject (check ids contain no space; see docs/checks.md).
func FindingKey(f *finding.Finding) string { return f.ID + " " + f.Subject }

// SeverityCounts counts findings per severity.
type SeverityCounts struct {
	Info     int `json:"info"`
	Low      int `json:"low"`
	Medium   int `json:"medium"`
	High     int `json:"high"`
	Critical int `json:"critical"`
}

func (c *SeverityCounts) slot(s finding.Severity) *int {
	switch s {
	case finding.Low:
		return &c.Low
	case finding.Medium:
		return &c.Medium
	case finding.High:
		return &c.High
	case finding.Critical:
		return &c.Critical
	}
	return &c.Info
}

// Add counts one finding of severity s (out-of-range severities count as
// info).
func (c *SeverityCounts) Add(s finding.Severity) { *c.slot(s)++ }

// Of returns the count of severity s.
func (c SeverityCounts) Of(s finding.Severity) int { return *c.slot(s) }

// Total is the number of findings counted.
func (c SeverityCounts) Total() int { return c.Info + c.Low + c.Medium + c.High + c.Critical }

// Counts summarises what a scan saw.
type Counts struct {
	Names       int            `json:"names"`
	Records     int            `json:"records"`
	Nameservers int            `json:"nameservers"`
	Findings    SeverityCounts `json:"findings"`
}

// CountsOf counts a (normalized) snapshot.
func CountsOf(s *Snapshot) Counts {
	c := Counts{Names: len(s.Names), Records: len(s.Records), Nameservers: len(s.Nameservers)}
	for i := range s.Findings {
		c.Findings.Add(s.Findings[i].Severity)
	}
	return c
}

// Scan is one scan of one domain.
type Scan struct {
	// ID is unique across domains and sorts by start time when made by
	// NewScanID; letters, digits and ".", "_", ":", "-", at most 64 bytes.
	ID     string `json:"id"`
	Domain string `json:"domain"`
	// Started and Finished bound the scan. Every time Advance writes
	// (first seen, last seen, resolved at, event times) is Started.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Complete is true when the scan ran every step it meant to. A partial
	// scan (time-capped, a step failed) may open and refresh findings and
	// add names, but never resolves or removes anything.
	Complete bool `json:"complete"`
	// Outage is true when the scan saw nothing because resolution failed.
	// The caller sets it when it knows; Advance also sets it for an
	// incomplete scan that saw nothing where the baseline saw something.
	Outage bool `json:"outage,omitempty"`
	// Error says what went wrong, for partial and outage scans.
	Error string `json:"error,omitempty"`
	// Counts is what the scan saw (Advance fills it).
	Counts Counts `json:"counts"`
}

// Duration is Finished - Started (zero when unfinished).
func (s *Scan) Duration() time.Duration {
	if s.Finished.IsZero() {
		return 0
	}
	return s.Finished.Sub(s.Started)
}

// NewScanID returns a unique scan id that sorts by started: the UTC time
// with nanoseconds in fixed width, a dash, 8 random hex digits
// ("20240501T120000.000000000Z-1a2b3c4d").
func NewScanID(started time.Time) string {
	var r [4]byte
	rand.Read(r[:]) // never fails (crypto/rand)
	return started.UTC().Format(scanIDLayout) + "-" + hex.EncodeToString(r[:])
}

const scanIDLayout = "20060102T150405.000000000Z"

// FindingState is the lifecycle of one finding of one domain.
type FindingState struct {
	Domain string `json:"domain"`
	// Key is FindingKey of the finding.
	Key string `json:"key"`
	// Finding is the latest evidence: as the last scan that saw it
	// reported it.
	Finding finding.Finding `json:"finding"`
	// State is StateOpen or StateResolved.
	State string `json:"state"`
	// FirstSeen is when a scan first saw it; LastSeen when one last did.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// ResolvedAt is the start of the first complete scan that no longer
	// saw it (zero while open); ResolvedScan is that scan.
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	ResolvedScan string    `json:"resolved_scan,omitempty"`
	// Reopened counts how often it came back after being resolved;
	// ReopenedAt is the last time it did.
	Reopened   int       `json:"reopened,omitempty"`
	ReopenedAt time.Time `json:"reopened_at,omitzero"`
	// FirstScan and LastScan are the scans of FirstSeen and LastSeen.
	FirstScan string `json:"first_scan"`
	LastScan  string `json:"last_scan"`
}

// Updated is when the state last changed: the later of LastSeen and
// ResolvedAt. Retention forgets a state updated before its cut-off.
func (s *FindingState) Updated() time.Time {
	if s.ResolvedAt.After(s.LastSeen) {
		return s.ResolvedAt
	}
	return s.LastSeen
}

// Event is one change in a domain's timeline.
type Event struct {
	Domain string `json:"domain"`
	// Time is the start of the scan that saw the change.
	Time   time.Time `json:"time"`
	ScanID string    `json:"scan_id"`
	// Seq orders the events of one scan (0, 1, ...).
	Seq  int    `json:"seq"`
	Kind string `json:"kind"`
	// Subject is what changed: the finding's subject, the name, the
	// nameserver, the record's owner name, or the domain (outage).
	Subject string `json:"subject"`
	// Severity is the finding's severity (info for the other kinds).
	Severity finding.Severity `json:"severity"`
	// FindingID is the finding's check id (finding events only).
	FindingID string `json:"finding_id,omitempty"`
	// Detail is human text: the finding's title (with the severity change
	// for finding-changed), "TYPE data" of a record, the error of an
	// outage.
	Detail string `json:"detail,omitempty"`
	// Baseline marks the events of a scan that had no baseline snapshot
	// (the domain's first scan, or its history was pruned): everything is
	// "opened" and "added" then, and an alerting caller usually reports a
	// summary instead of each event.
	Baseline bool `json:"baseline,omitempty"`
}

// Limits of the model, checked by Validate and the decoders.
const (
	// MaxSnapshotBytes bounds a snapshot's encoded (uncompressed) size:
	// about half a million records.
	MaxSnapshotBytes = 64 << 20
	// MaxRecordBytes bounds the encoded size of one scan, state or event.
	MaxRecordBytes = 4 << 20
	// MaxKeyBytes bounds a finding key and an event subject.
	MaxKeyBytes = 4096
	maxIDBytes  = 64
	maxDomain   = 1024
)

// ValidScanID reports whether id can name a scan.
func ValidScanID(id string) bool {
	if id == "" || len(id) > maxIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// DomainKey returns the identity form of a domain (lower case, no final
// dot), as scans, states, events and queries name it.
func DomainKey(d string) string { return change.NameKey(d) }

// ValidDomain accepts a domain in identity form: printable ASCII without
// spaces, lower case, no trailing dot. Errors wrap ErrInvalid.
func ValidDomain(d string) error {
	if d == "" || len(d) > maxDomain {
		return fmt.Errorf("%w: domain %q", ErrInvalid, clip(d))
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: domain %q has byte 0x%02x", ErrInvalid, clip(d), c)
		}
	}
	if change.NameKey(d) != d {
		return fmt.Errorf("%w: domain %q is not lower case without a final dot", ErrInvalid, clip(d))
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// minTime and maxTime bound stored times: Unix nanoseconds must fit an
// int64 and be non-negative.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, 1<<63-1)
)

func validTime(what string, t time.Time, required bool) error {
	if t.IsZero() {
		if required {
			return fmt.Errorf("%w: %s missing", ErrInvalid, what)
		}
		return nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return fmt.Errorf("%w: %s %s out of range (1970 to 2262)", ErrInvalid, what, t.Format(time.RFC3339))
	}
	return nil
}

func validText(what, s string, maxLen int, required bool) error {
	if s == "" && required {
		return fmt.Errorf("%w: %s missing", ErrInvalid, what)
	}
	if len(s) > maxLen {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, what, maxLen)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s %q has a NUL byte", ErrInvalid, what, clip(s))
	}
	return nil
}

// Validate checks a scan before it is stored.
func (s *Scan) Validate() error {
	if !ValidScanID(s.ID) {
		return fmt.Errorf("%w: scan id %q (letters, digits, . _ : -, at most %d bytes)", ErrInvalid, clip(s.ID), maxIDBytes)
	}
	if err := ValidDomain(s.Domain); err != nil {
		return err
	}
	if err := validTime("scan start", s.Started, true); err != nil {
		return err
	}
	if err := validTime("scan end", s.Finished, false); err != nil {
		return err
	}
	if !s.Finished.IsZero() && s.Finished.Before(s.Started) {
		return fmt.Errorf("%w: scan %s finished before it started", ErrInvalid, s.ID)
	}
	return validText("scan error", s.Error, MaxKeyBytes, false)
}

// Validate checks a finding state before it is stored.
func (s *FindingState) Validate() error {
	if err := ValidDomain(s.Domain); err != nil {
		return err
	}
	if err := validText("finding key", s.Key, MaxKeyBytes, true); err != nil {
		return err
	}
	if s.Key != FindingKey(&s.Finding) {
		return fmt.Errorf("%w: finding key %q does not match the finding (%q)", ErrInvalid, clip(s.Key), clip(FindingKey(&s.Finding)))
	}
	if s.Finding.Severity < finding.Info || s.Finding.Severity > finding.Critical {
		return fmt.Errorf("%w: finding %q: severity %d", ErrInvalid, clip(s.Key), s.Finding.Severity)
	}
	switch s.State {
	case StateOpen, StateResolved:
	default:
		return fmt.Errorf("%w: finding %q: state %q (want open or resolved)", ErrInvalid, clip(s.Key), clip(s.State))
	}
	for _, t := range []struct {
		what string
		t    time.Time
		req  bool
	}{{"first seen", s.FirstSeen, true}, {"last seen", s.LastSeen, true}, {"resolved at", s.ResolvedAt, s.State == StateResolved}, {"reopened at", s.ReopenedAt, false}} {
		if err := validTime(t.what, t.t, t.req); err != nil {
			return fmt.Errorf("finding %q: %w", clip(s.Key), err)
		}
	}
	for _, id := range []string{s.FirstScan, s.LastScan} {
		if !ValidScanID(id) {
			return fmt.Errorf("%w: finding %q: scan id %q", ErrInvalid, clip(s.Key), clip(id))
		}
	}
	if s.ResolvedScan != "" && !ValidScanID(s.ResolvedScan) {
		return fmt.Errorf("%w: finding %q: scan id %q", ErrInvalid, clip(s.Key), clip(s.ResolvedScan))
	}
	if s.Reopened < 0 {
		return fmt.Errorf("%w: finding %q: reopened %d times", ErrInvalid, clip(s.Key), s.Reopened)
	}
	return nil
}

// Validate checks an event before it is stored.
func (e *Event) Validate() error {
	if err := ValidDomain(e.Domain); err != nil {
		return err
	}
	if !ValidScanID(e.ScanID) {
		return fmt.Errorf("%w: event scan id %q", ErrInvalid, clip(e.ScanID))
	}
	if err := validTime("event time", e.Time, true); err != nil {
		return err
	}
	if !slices.Contains(Kinds, e.Kind) {
		return fmt.Errorf("%w: event kind %q", ErrInvalid, clip(e.Kind))
	}
	if e.Seq < 0 || e.Seq > 1<<31-1 {
		return fmt.Errorf("%w: event sequence number %d", ErrInvalid, e.Seq)
	}
	if e.Severity < finding.Info || e.Severity > finding.Critical {
		return fmt.Errorf("%w: event severity %d", ErrInvalid, e.Severity)
	}
	if err := validText("event subject", e.Subject, MaxKeyBytes, false); err != nil {
		return err
	}
	return validText("event finding id", e.FindingID, MaxKeyBytes, false)
}
