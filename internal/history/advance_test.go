package history

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func fnd(id, subject string, sev finding.Severity, evidence ...string) finding.Finding {
	return finding.Finding{ID: id, Subject: subject, Severity: sev, Title: id + " title", Evidence: evidence}
}

func snap(names []string, findings ...finding.Finding) Snapshot {
	s := Snapshot{Domain: "example.com", Names: names, Nameservers: []string{"ns1.example.net"}, Findings: findings}
	for _, n := range names {
		s.Records = append(s.Records, Record{Name: n, Type: "A", Data: "192.0.2.1"})
	}
	return s
}

// scanStep is one scan of a sequence and what it must produce.
type scanStep struct {
	partial, outage bool
	err             string
	snap            Snapshot
	// events are "kind subject" in order, with a "*" prefix when marked
	// Baseline.
	events []string
	// states are "key state" (reopened count after a slash when non-zero),
	// sorted by key.
	states []string
	check  func(t *testing.T, st *Step, prevStates []FindingState)
}

func runSteps(t *testing.T, steps []scanStep) {
	t.Helper()
	var base *Snapshot
	var states []FindingState
	for i, s := range steps {
		started := t0.Add(time.Duration(i) * 6 * time.Hour)
		scan := Scan{ID: NewScanID(started), Domain: "example.com", Started: started, Finished: started.Add(time.Minute),
			Complete: !s.partial, Outage: s.outage, Error: s.err}
		before := slices.Clone(states)
		st := Advance(base, states, s.snap, scan)
		if !slices.EqualFunc(states, before, func(a, b FindingState) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
			t.Fatalf("scan %d: Advance modified its states argument", i)
		}
		if err := st.Validate(); err != nil {
			t.Fatalf("scan %d: the step does not validate: %v", i, err)
		}
		var evs []string
		for j, e := range st.Events {
			if e.Seq != j || e.ScanID != scan.ID || !e.Time.Equal(started) || e.Domain != "example.com" {
				t.Errorf("scan %d: event %d not stamped: %+v", i, j, e)
			}
			s := e.Kind + " " + e.Subject
			if e.Baseline {
				s = "*" + s
			}
			evs = append(evs, s)
		}
		if !slices.Equal(evs, s.events) {
			t.Errorf("scan %d events:\n got %q\nwant %q", i, evs, s.events)
		}
		var sts []string
		for _, x := range st.States {
			s := x.Key + " " + x.State
			if x.Reopened > 0 {
				s += fmt.Sprintf("/%d", x.Reopened)
			}
			sts = append(sts, s)
		}
		if !slices.Equal(sts, s.states) {
			t.Errorf("scan %d states:\n got %q\nwant %q", i, sts, s.states)
		}
		if s.check != nil {
			s.check(t, &st, before)
		}
		if st.Baseline != nil {
			base = st.Baseline
		}
		states = st.States
	}
}

func TestAdvance(t *testing.T) {
	f1 := fnd("axfr-allowed", "example.com", finding.High, "ns1 allowed AXFR")
	f2 := fnd("dangling-cname", "old.example.com", finding.Critical, "old -> gone.example.net")
	fInfo := fnd("spf-missing", "example.com", finding.Low)
	baselineEvents := []string{
		"*finding-opened example.com", "*nameserver-added ns1.example.net",
		"*name-added a.example.com", "*name-added b.example.com",
		"*record-added a.example.com", "*record-added b.example.com",
	}
	tests := []struct {
		name  string
		steps []scanStep
	}{
		{name: "first scan is a baseline", steps: []scanStep{
			{snap: snap([]string{"b.example.com", "A.Example.com."}, f1), events: baselineEvents, states: []string{"axfr-allowed example.com open"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					if !st.First || st.Baseline == nil || st.Snapshot == nil {
						t.Errorf("first scan: First %v, baseline %v, snapshot %v", st.First, st.Baseline != nil, st.Snapshot != nil)
					}
					if c := st.Scan.Counts; c.Names != 2 || c.Records != 2 || c.Nameservers != 1 || c.Findings.High != 1 || c.Findings.Total() != 1 {
						t.Errorf("counts %+v", c)
					}
					if st.Snapshot.Names[0] != "a.example.com" {
						t.Errorf("names not normalized: %q", st.Snapshot.Names)
					}
				}},
		}},
		{name: "identical rescans emit nothing", steps: []scanStep{
			{snap: snap([]string{"a.example.com", "b.example.com"}, f1), events: baselineEvents, states: []string{"axfr-allowed example.com open"}},
			{snap: snap([]string{"b.example.com", "a.example.com"}, f1), states: []string{"axfr-allowed example.com open"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					s := st.States[0]
					if !s.LastSeen.Equal(st.Scan.Started) || s.LastScan != st.Scan.ID || !s.FirstSeen.Equal(t0) || s.FirstScan == st.Scan.ID {
						t.Errorf("refresh: %+v", s)
					}
					if ch := st.Changed(); len(ch) != 1 {
						t.Errorf("Changed: %d states, want the refreshed one", len(ch))
					}
				}},
			{snap: snap([]string{"a.example.com", "b.example.com"}, f1), states: []string{"axfr-allowed example.com open"}},
		}},
		{name: "open, resolved, reopened", steps: []scanStep{
			{snap: snap(nil, f1, f2), events: []string{"*finding-opened old.example.com", "*finding-opened example.com", "*nameserver-added ns1.example.net"},
				states: []string{"axfr-allowed example.com open", "dangling-cname old.example.com open"}},
			{snap: snap(nil, f2), events: []string{"finding-resolved example.com"},
				states: []string{"axfr-allowed example.com resolved", "dangling-cname old.example.com open"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					s := st.States[0]
					if !s.ResolvedAt.Equal(st.Scan.Started) || s.ResolvedScan != st.Scan.ID || !s.LastSeen.Equal(t0) {
						t.Errorf("resolved: %+v", s)
					}
					if !s.Updated().Equal(st.Scan.Started) {
						t.Errorf("Updated %v", s.Updated())
					}
					if ch := st.Changed(); len(ch) != 2 {
						t.Errorf("Changed: %d states, want 2 (resolved, refreshed)", len(ch))
					}
				}},
			{snap: snap(nil, f2), states: []string{"axfr-allowed example.com resolved", "dangling-cname old.example.com open"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					if ch := st.Changed(); len(ch) != 1 || ch[0].Key != "dangling-cname old.example.com" {
						t.Errorf("Changed: %+v, want only the refreshed finding (a resolved one stays)", ch)
					}
				}},
			{snap: snap(nil, f1, f2), events: []string{"finding-reopened example.com"},
				states: []string{"axfr-allowed example.com open/1", "dangling-cname old.example.com open"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					s := st.States[0]
					if !s.ReopenedAt.Equal(st.Scan.Started) || !s.ResolvedAt.IsZero() || s.ResolvedScan != "" || !s.FirstSeen.Equal(t0) {
						t.Errorf("reopened: %+v", s)
					}
				}},
			{snap: snap(nil, f2), events: []string{"finding-resolved example.com"},
				states: []string{"axfr-allowed example.com resolved/1", "dangling-cname old.example.com open"}},
		}},
		{name: "outage flagged by the caller", steps: []scanStep{
			{snap: snap([]string{"a.example.com"}, f1), events: []string{"*finding-opened example.com", "*nameserver-added ns1.example.net",
				"*name-added a.example.com", "*record-added a.example.com"}, states: []string{"axfr-allowed example.com open"}},
			{outage: true, err: "resolver 192.0.2.53: timeout", snap: snap(nil), events: []string{"outage example.com"},
				states: []string{"axfr-allowed example.com open"},
				check: func(t *testing.T, st *Step, prev []FindingState) {
					if st.Baseline != nil || st.Snapshot != nil || !st.Scan.Outage {
						t.Errorf("outage: baseline %v snapshot %v outage %v", st.Baseline, st.Snapshot, st.Scan.Outage)
					}
					if st.Events[0].Detail != "resolver 192.0.2.53: timeout" {
						t.Errorf("outage detail %q", st.Events[0].Detail)
					}
					if fmt.Sprint(st.States) != fmt.Sprint(prev) || len(st.Changed()) != 0 {
						t.Errorf("outage changed states")
					}
				}},
			// Back: nothing changed since the scan before the outage.
			{snap: snap([]string{"a.example.com"}, f1), states: []string{"axfr-allowed example.com open"}},
		}},
		{name: "incomplete scan that saw nothing is an outage", steps: []scanStep{
			{snap: snap([]string{"a.example.com"}), events: []string{"*nameserver-added ns1.example.net", "*name-added a.example.com", "*record-added a.example.com"}},
			{partial: true, snap: Snapshot{Findings: []finding.Finding{fInfo}}, events: []string{"outage example.com"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					if !st.Scan.Outage || st.Events[0].Detail == "" || len(st.States) != 0 {
						t.Errorf("inferred outage: %+v", st)
					}
				}},
		}},
		{name: "complete scan that saw nothing removes everything", steps: []scanStep{
			{snap: snap([]string{"a.example.com"}, f1), events: []string{"*finding-opened example.com", "*nameserver-added ns1.example.net",
				"*name-added a.example.com", "*record-added a.example.com"}, states: []string{"axfr-allowed example.com open"}},
			{snap: Snapshot{}, events: []string{"finding-resolved example.com", "nameserver-removed ns1.example.net",
				"name-removed a.example.com", "record-removed a.example.com"}, states: []string{"axfr-allowed example.com resolved"}},
		}},
		{name: "first scan during an outage", steps: []scanStep{
			{outage: true, snap: Snapshot{}, events: []string{"outage example.com"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					if st.Events[0].Baseline || st.Baseline != nil {
						t.Errorf("an outage is never a baseline: %+v", st)
					}
				}},
			{snap: snap(nil, f1), events: []string{"*finding-opened example.com", "*nameserver-added ns1.example.net"}, states: []string{"axfr-allowed example.com open"}},
		}},
		{name: "partial scan adds but never removes", steps: []scanStep{
			{snap: snap([]string{"a.example.com", "b.example.com"}, f1), events: baselineEvents, states: []string{"axfr-allowed example.com open"}},
			{partial: true, snap: snap([]string{"a.example.com", "c.example.com"}, f2),
				events: []string{"finding-opened old.example.com", "name-added c.example.com", "record-added c.example.com"},
				states: []string{"axfr-allowed example.com open", "dangling-cname old.example.com open"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					if st.Baseline == nil || !slices.Equal(st.Baseline.Names, []string{"a.example.com", "b.example.com", "c.example.com"}) {
						t.Errorf("partial baseline %+v, want the union", st.Baseline)
					}
					if !slices.Equal(st.Snapshot.Names, []string{"a.example.com", "c.example.com"}) {
						t.Errorf("partial snapshot %q, want what it saw", st.Snapshot.Names)
					}
				}},
			// The complete scan removes b once and does not add c again.
			{snap: snap([]string{"a.example.com", "c.example.com"}, f2),
				events: []string{"finding-resolved example.com", "name-removed b.example.com", "record-removed b.example.com"},
				states: []string{"axfr-allowed example.com resolved", "dangling-cname old.example.com open"}},
		}},
		{name: "partial first scan", steps: []scanStep{
			{partial: true, snap: snap([]string{"a.example.com"}), events: []string{"*nameserver-added ns1.example.net", "*name-added a.example.com", "*record-added a.example.com"}},
			{snap: snap([]string{"a.example.com", "b.example.com"}), events: []string{"name-added b.example.com", "record-added b.example.com"}},
		}},
		{name: "evidence change refreshes without an event, severity change is one", steps: []scanStep{
			{snap: snap(nil, f1), events: []string{"*finding-opened example.com", "*nameserver-added ns1.example.net"}, states: []string{"axfr-allowed example.com open"}},
			{snap: snap(nil, fnd("axfr-allowed", "example.com", finding.High, "ns1 and ns2 allowed AXFR")), states: []string{"axfr-allowed example.com open"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					if ev := st.States[0].Finding.Evidence; len(ev) != 1 || ev[0] != "ns1 and ns2 allowed AXFR" {
						t.Errorf("latest evidence not kept: %q", ev)
					}
				}},
			{snap: snap(nil, fnd("axfr-allowed", "example.com", finding.Critical, "ns1 and ns2 allowed AXFR")), events: []string{"finding-changed example.com"},
				states: []string{"axfr-allowed example.com open"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					e := st.Events[0]
					if e.Severity != finding.Critical || e.FindingID != "axfr-allowed" || !strings.Contains(e.Detail, "high → critical") {
						t.Errorf("changed event %+v", e)
					}
				}},
		}},
		{name: "duplicate findings are one state", steps: []scanStep{
			{snap: snap(nil, fnd("wildcard", "example.com", finding.Low), fnd("wildcard", "example.com", finding.Medium)),
				events: []string{"*finding-opened example.com", "*nameserver-added ns1.example.net"}, states: []string{"wildcard example.com open"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					if st.States[0].Finding.Severity != finding.Medium {
						t.Errorf("kept %s, want the most severe", st.States[0].Finding.Severity)
					}
				}},
		}},
		{name: "finding events most severe first", steps: []scanStep{
			{snap: snap(nil, fInfo), events: []string{"*finding-opened example.com", "*nameserver-added ns1.example.net"}, states: []string{"spf-missing example.com open"}},
			{snap: snap(nil, f1, f2), events: []string{"finding-opened old.example.com", "finding-opened example.com", "finding-resolved example.com"},
				states: []string{"axfr-allowed example.com open", "dangling-cname old.example.com open", "spf-missing example.com resolved"},
				check: func(t *testing.T, st *Step, _ []FindingState) {
					if st.Events[0].FindingID != "dangling-cname" || st.Events[2].FindingID != "spf-missing" {
						t.Errorf("order %+v", st.Events)
					}
				}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, tc.steps) })
	}
}

func TestStepValidate(t *testing.T) {
	good := func() Step {
		s := snap([]string{"a.example.com"}, fnd("axfr-allowed", "example.com", finding.High))
		return Advance(nil, nil, s, Scan{ID: NewScanID(t0), Domain: "example.com", Started: t0, Complete: true})
	}
	if st := good(); st.Validate() != nil {
		t.Fatalf("good step: %v", st.Validate())
	}
	tests := []struct {
		name string
		mod  func(*Step)
	}{
		{"bad scan id", func(s *Step) { s.Scan.ID = "a/b" }},
		{"long scan id", func(s *Step) { s.Scan.ID = strings.Repeat("a", 65) }},
		{"upper-case domain", func(s *Step) { s.Scan.Domain = "Example.com" }},
		{"no start", func(s *Step) { s.Scan.Started = time.Time{} }},
		{"before 1970", func(s *Step) { s.Scan.Started = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"finished first", func(s *Step) { s.Scan.Finished = s.Scan.Started.Add(-time.Second) }},
		{"state of another domain", func(s *Step) { s.States[0].Domain = "example.net" }},
		{"state key mismatch", func(s *Step) { s.States[0].Key = "x" }},
		{"state twice", func(s *Step) { s.States = append(s.States, s.States[0]) }},
		{"bad state", func(s *Step) { s.States[0].State = "closed" }},
		{"resolved without time", func(s *Step) { s.States[0].State = StateResolved }},
		{"bad severity", func(s *Step) { s.States[0].Finding.Severity = 9 }},
		{"event of another scan", func(s *Step) { s.Events[0].ScanID = "other" }},
		{"event kind", func(s *Step) { s.Events[0].Kind = "finding-closed" }},
		{"event time", func(s *Step) { s.Events[0].Time = s.Events[0].Time.Add(time.Second) }},
		{"event seq twice", func(s *Step) { s.Events[1].Seq = 0 }},
		{"NUL in subject", func(s *Step) { s.Events[0].Subject = "a\x00b" }},
		{"snapshot of another domain", func(s *Step) { s.Snapshot.Domain = "example.net" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := good()
			tc.mod(&st)
			if err := st.Validate(); !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestNewScanID(t *testing.T) {
	a, b := NewScanID(t0), NewScanID(t0.Add(time.Nanosecond))
	if !ValidScanID(a) || !ValidScanID(b) || a == NewScanID(t0) {
		t.Fatalf("ids %q %q", a, b)
	}
	if !(a < b) || !strings.HasPrefix(a, "20240501T120000.000000000Z-") {
		t.Errorf("ids do not sort by time: %q %q", a, b)
	}
	// Fixed width: a later time with fewer significant digits sorts after.
	if c := NewScanID(t0.Add(time.Second)); !(b < c) {
		t.Errorf("%q sorts after %q", b, c)
	}
}

func TestDiff(t *testing.T) {
	from := snap([]string{"a.example.com", "b.example.com"}, fnd("x", "s", finding.Low), fnd("y", "s", finding.Low))
	to := snap([]string{"a.example.com", "c.example.com"}, fnd("y", "s", finding.High), fnd("z", "s", finding.Low))
	to.Nameservers = []string{"ns2.example.net"}
	from.Normalize()
	to.Normalize()
	d := Diff(&from, &to)
	got := fmt.Sprint(d.NamesAdded, d.NamesRemoved, d.NameserversAdded, d.NameserversRemoved, len(d.RecordsAdded), len(d.RecordsRemoved),
		len(d.FindingsAdded), len(d.FindingsRemoved), len(d.FindingsChanged))
	if want := "[c.example.com] [b.example.com] [ns2.example.net] [ns1.example.net] 1 1 1 1 1"; got != want {
		t.Errorf("Diff: %s, want %s", got, want)
	}
	if d := Diff(&to, &to); !d.Empty() {
		t.Errorf("a snapshot differs from itself: %+v", d)
	}
	if d := Diff(nil, &to); len(d.NamesAdded) != 2 || len(d.NamesRemoved) != 0 {
		t.Errorf("Diff from nil: %+v", d)
	}
}
