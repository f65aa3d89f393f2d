package history

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// Step is what one scan changes in a domain's history: Advance computes it
// and a store records it (store.History.Record) in one atomic write.
type Step struct {
	// Scan is the scan, with Counts filled in and Outage set when Advance
	// judged the scan an outage.
	Scan Scan
	// Snapshot is what the scan saw, normalized, kept so that any two
	// scans can be compared (Diff); nil for an outage.
	Snapshot *Snapshot
	// Baseline is the domain's new baseline, the prev of the next Advance:
	// the snapshot of a complete scan, the union of the old baseline and
	// what a partial scan saw; nil when unchanged (an outage).
	Baseline *Snapshot
	// States is every finding state of the domain after the scan, open and
	// resolved, sorted by Key.
	States []FindingState
	// Events is the timeline of the scan, in Seq order.
	Events []Event
	// First is true when there was no baseline: every event is marked
	// Baseline.
	First bool
}

// Changed returns the states this scan changed: seen by it (LastScan) or
// resolved by it (ResolvedScan). A store writes only these.
func (s *Step) Changed() []FindingState {
	var out []FindingState
	for _, st := range s.States {
		if st.LastScan == s.Scan.ID || st.State == StateResolved && st.ResolvedScan == s.Scan.ID {
			out = append(out, st)
		}
	}
	return out
}

// Validate checks a step before it is stored: every part valid, of the
// scan's domain, events of the scan.
func (s *Step) Validate() error {
	if err := s.Scan.Validate(); err != nil {
		return err
	}
	d := s.Scan.Domain
	for _, snap := range []*Snapshot{s.Snapshot, s.Baseline} {
		if snap != nil && snap.Domain != d {
			return fmt.Errorf("%w: snapshot of %q in a scan of %q", ErrInvalid, clip(snap.Domain), d)
		}
	}
	seen := make(map[string]bool, len(s.States))
	for i := range s.States {
		st := &s.States[i]
		if err := st.Validate(); err != nil {
			return err
		}
		if st.Domain != d {
			return fmt.Errorf("%w: finding state of %q in a scan of %q", ErrInvalid, clip(st.Domain), d)
		}
		if seen[st.Key] {
			return fmt.Errorf("%w: finding %q twice", ErrInvalid, clip(st.Key))
		}
		seen[st.Key] = true
	}
	seqs := make(map[int]bool, len(s.Events))
	for i := range s.Events {
		e := &s.Events[i]
		if err := e.Validate(); err != nil {
			return err
		}
		if e.Domain != d || e.ScanID != s.Scan.ID {
			return fmt.Errorf("%w: event of %q scan %q in scan %q of %q", ErrInvalid, clip(e.Domain), clip(e.ScanID), s.Scan.ID, d)
		}
		if !e.Time.Equal(s.Scan.Started) {
			return fmt.Errorf("%w: event %d at %s, not at its scan's start", ErrInvalid, e.Seq, e.Time)
		}
		if seqs[e.Seq] {
			return fmt.Errorf("%w: event sequence number %d twice", ErrInvalid, e.Seq)
		}
		seqs[e.Seq] = true
	}
	return nil
}

// Advance applies one scan of a domain to its history. prev is the
// domain's baseline (nil before the first scan), states its finding states
// (Store.Last returns both), cur what the scan saw and scan the scan. It
// does not modify its arguments. The rules:
//
//   - Outage: a scan flagged Outage, or an incomplete scan that saw nothing
//     (Snapshot.Empty) where the baseline saw something, is not a diff. It
//     yields one outage event and changes nothing else: states untouched,
//     baseline kept, no snapshot.
//   - A finding seen by a scan (complete or partial) opens (new), is
//     refreshed (open: LastSeen, LastScan and the latest evidence in
//     Finding; a severity change is a finding-changed event, other evidence
//     changes are not events) or reopens (resolved: Reopened++, ReopenedAt,
//     and ResolvedAt/ResolvedScan cleared).
//   - An open finding absent from a complete scan is resolved at that
//     scan's start (the first scan that no longer sees it). A partial scan
//     resolves nothing: absence there proves nothing.
//   - Names, nameservers and records are compared with the baseline: what
//     is new is added; what is missing is removed only by a complete scan.
//     The new baseline is cur for a complete scan, and the union of the
//     baseline and cur for a partial one, so that what a partial scan added
//     is not added again by the next complete one.
//   - Without a baseline (the first scan) everything is opened or added and
//     every event is marked Baseline, so that the caller can report a
//     summary instead of a flood.
//   - Identical rescans yield no events.
//
// Every time Advance writes is scan.Started.
func Advance(prev *Snapshot, states []FindingState, cur Snapshot, scan Scan) Step {
	cur = cloneSnapshot(&cur)
	if cur.Domain == "" {
		cur.Domain = scan.Domain
	}
	cur.Normalize()
	scan.Counts = CountsOf(&cur)
	st := Step{Scan: scan, First: prev == nil}
	if scan.Outage || !scan.Complete && cur.Empty() && !prev.Empty() {
		st.Scan.Outage = true
		st.States = slices.Clone(states)
		detail := scan.Error
		if detail == "" {
			detail = "the scan saw nothing: resolution failed"
		}
		st.Events = []Event{{Kind: KindOutage, Subject: scan.Domain, Detail: detail}}
		st.finishEvents()
		return st
	}
	st.Snapshot = &cur
	var base Snapshot
	if prev != nil {
		base = *prev
	}
	st.States = advanceFindings(&st, states, &cur)
	d := Diff(&base, &cur)
	add := func(kind string, subjects []string) {
		for _, s := range subjects {
			st.Events = append(st.Events, Event{Kind: kind, Subject: s})
		}
	}
	add(KindNameserverAdded, d.NameserversAdded)
	if scan.Complete {
		add(KindNameserverRemoved, d.NameserversRemoved)
	}
	add(KindNameAdded, d.NamesAdded)
	if scan.Complete {
		add(KindNameRemoved, d.NamesRemoved)
	}
	recs := func(kind string, rs []Record) {
		for _, r := range rs {
			st.Events = append(st.Events, Event{Kind: kind, Subject: r.Name, Detail: r.Type + " " + r.Data})
		}
	}
	recs(KindRecordAdded, d.RecordsAdded)
	if scan.Complete {
		recs(KindRecordRemoved, d.RecordsRemoved)
		st.Baseline = &cur
	} else {
		u := union(&base, &cur)
		st.Baseline = &u
	}
	st.finishEvents()
	return st
}

// finishEvents stamps the events with the scan and numbers them.
func (st *Step) finishEvents() {
	for i := range st.Events {
		e := &st.Events[i]
		e.Domain, e.ScanID, e.Time, e.Seq = st.Scan.Domain, st.Scan.ID, st.Scan.Started, i
		e.Baseline = st.First && e.Kind != KindOutage
	}
}

// advanceFindings applies cur's findings to states and appends the finding
// events to st.Events (most severe first).
func advanceFindings(st *Step, states []FindingState, cur *Snapshot) []FindingState {
	scan := &st.Scan
	t := scan.Started
	byKey := make(map[string]int, len(states))
	out := make([]FindingState, 0, len(states)+len(cur.Findings))
	for _, s := range states {
		if _, dup := byKey[s.Key]; dup {
			continue
		}
		byKey[s.Key] = len(out)
		out = append(out, s)
	}
	var evs []Event
	ev := func(kind string, f *finding.Finding, detail string) {
		evs = append(evs, Event{Kind: kind, Subject: f.Subject, Severity: f.Severity, FindingID: f.ID, Detail: detail})
	}
	seen := make(map[string]bool, len(cur.Findings))
	for i := range cur.Findings {
		f := cur.Findings[i]
		f.Evidence = slices.Clone(f.Evidence)
		f.References = slices.Clone(f.References)
		k := FindingKey(&f)
		seen[k] = true
		j, ok := byKey[k]
		if !ok {
			byKey[k] = len(out)
			out = append(out, FindingState{Domain: scan.Domain, Key: k, Finding: f, State: StateOpen,
				FirstSeen: t, LastSeen: t, FirstScan: scan.ID, LastScan: scan.ID})
			ev(KindFindingOpened, &f, f.Title)
			continue
		}
		s := &out[j]
		was := s.Finding.Severity
		s.Finding, s.LastSeen, s.LastScan = f, t, scan.ID
		switch {
		case s.State == StateResolved:
			s.State, s.ResolvedAt, s.ResolvedScan = StateOpen, time.Time{}, ""
			s.Reopened++
			s.ReopenedAt = t
			ev(KindFindingReopened, &f, f.Title)
		case was != f.Severity:
			ev(KindFindingChanged, &f, fmt.Sprintf("severity %s → %s: %s", was, f.Severity, f.Title))
		}
	}
	if scan.Complete {
		for j := range out {
			s := &out[j]
			if s.State == StateOpen && !seen[s.Key] {
				s.State, s.ResolvedAt, s.ResolvedScan = StateResolved, t, scan.ID
				ev(KindFindingResolved, &s.Finding, s.Finding.Title)
			}
		}
	}
	order := map[string]int{KindFindingOpened: 0, KindFindingReopened: 1, KindFindingChanged: 2, KindFindingResolved: 3}
	slices.SortStableFunc(evs, func(a, b Event) int {
		return cmp.Or(cmp.Compare(order[a.Kind], order[b.Kind]), cmp.Compare(b.Severity, a.Severity),
			strings.Compare(a.FindingID, b.FindingID), strings.Compare(a.Subject, b.Subject))
	})
	st.Events = append(st.Events, evs...)
	slices.SortFunc(out, func(a, b FindingState) int { return strings.Compare(a.Key, b.Key) })
	return out
}
