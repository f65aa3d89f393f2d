package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
)

// HT0 is the start of the first scan of the history fixture.
var HT0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// HistoryScan is one scan of the history fixture: what it saw and how it
// ended.
type HistoryScan struct {
	Domain          string
	At              time.Duration // after HT0
	Partial, Outage bool
	Names           []string
	Nameservers     []string
	Findings        []finding.Finding
}

func hf(id, subject string, sev finding.Severity, evidence ...string) finding.Finding {
	return finding.Finding{ID: id, Subject: subject, Severity: sev, Title: id, Evidence: evidence}
}

// HistoryFixture returns the scans of the history cases, in time order:
// example.com opens findings, resolves two, has an outage, a partial scan,
// then resolves and reopens; example.net is scanned twice identically.
func HistoryFixture() []HistoryScan {
	axfr := hf("axfr-allowed", "example.com", finding.High, "ns1.example.net allowed AXFR")
	spf := hf("spf-missing", "example.com", finding.Low)
	leak := hf("private-address-leak", "test.example.com", finding.Medium, "10.0.0.1")
	dangling := hf("dangling-cname", "old.example.com", finding.Critical, "old.example.com -> gone.example.org")
	ns := []string{"ns1.example.net", "ns2.example.net"}
	h := time.Hour
	return []HistoryScan{
		{Domain: "example.com", At: 0, Names: []string{"www.example.com", "mail.example.com"}, Nameservers: ns,
			Findings: []finding.Finding{axfr, spf, hf("version-disclosure", "ns1.example.net", finding.Low, "9.18.1")}},
		{Domain: "example.net", At: 1 * h, Names: []string{"a.example.net"}, Nameservers: ns, Findings: []finding.Finding{hf("dmarc-missing", "example.net", finding.Medium)}},
		{Domain: "example.com", At: 6 * h, Names: []string{"www.example.com", "mail.example.com", "test.example.com"}, Nameservers: ns,
			Findings: []finding.Finding{hf("axfr-allowed", "example.com", finding.High, "ns1 and ns2 allowed AXFR"), leak}},
		{Domain: "example.net", At: 7 * h, Names: []string{"a.example.net"}, Nameservers: ns, Findings: []finding.Finding{hf("dmarc-missing", "example.net", finding.Medium)}},
		{Domain: "example.com", At: 12 * h, Outage: true},
		{Domain: "example.com", At: 18 * h, Partial: true, Names: []string{"www.example.com"}, Nameservers: ns[:1],
			Findings: []finding.Finding{dangling}},
		{Domain: "example.com", At: 24 * h, Names: []string{"www.example.com", "test.example.com"}, Nameservers: ns,
			Findings: []finding.Finding{spf, dangling}},
	}
}

func (s *HistoryScan) snapshot() history.Snapshot {
	snap := history.Snapshot{Domain: s.Domain, Names: s.Names, Nameservers: s.Nameservers, Findings: s.Findings}
	for _, n := range s.Names {
		snap.Records = append(snap.Records, history.Record{Name: n, Type: "A", Data: "192.0.2.1"})
	}
	return snap
}

func (s *HistoryScan) scan() history.Scan {
	started := HT0.Add(s.At)
	sc := history.Scan{ID: history.NewScanID(started), Domain: s.Domain, Started: started, Finished: started.Add(90 * time.Second),
		Complete: !s.Partial, Outage: s.Outage}
	if s.Outage {
		sc.Error = "resolver 127.0.0.53: timeout"
	}
	return sc
}

// recorded is what the suite recorded, the oracle of the listings.
type recorded struct {
	steps    []history.Step
	states   map[string][]history.FindingState // per domain, after its last step
	baseline map[string]*history.Snapshot
	baseAt   map[string]time.Time // start of the baseline's scan
}

func newRecorded() *recorded {
	return &recorded{states: map[string][]history.FindingState{}, baseline: map[string]*history.Snapshot{}, baseAt: map[string]time.Time{}}
}

func (r *recorded) scans(domain string) []history.Scan {
	var out []history.Scan
	for i := len(r.steps) - 1; i >= 0; i-- {
		if domain == "" || r.steps[i].Scan.Domain == domain {
			out = append(out, r.steps[i].Scan)
		}
	}
	slices.SortStableFunc(out, func(a, b history.Scan) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out
}

func (r *recorded) events(keep func(*history.Event) bool) []history.Event {
	var out []history.Event
	for _, st := range r.steps {
		for _, e := range st.Events {
			if keep == nil || keep(&e) {
				out = append(out, e)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b history.Event) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.ScanID, b.ScanID); c != 0 {
			return c
		}
		return a.Seq - b.Seq
	})
	return out
}

func (r *recorded) allStates() []history.FindingState {
	var out []history.FindingState
	for _, ss := range r.states {
		out = append(out, ss...)
	}
	slices.SortFunc(out, func(a, b history.FindingState) int {
		return strings.Compare(a.Domain+"\x00"+a.Key, b.Domain+"\x00"+b.Key)
	})
	return out
}

// record drives the store like a watcher: Last, Advance, Record. It may
// run on any goroutine.
func (r *recorded) record(t *testing.T, h store.History, scans []HistoryScan) error {
	ctx := context.Background()
	for i := range scans {
		s := &scans[i]
		last, base, states, err := h.Last(ctx, s.Domain)
		if err != nil {
			return fmt.Errorf("Last(%s): %w", s.Domain, err)
		}
		checkLast(t, r, s.Domain, last, base, states)
		st := history.Advance(base, states, s.snapshot(), s.scan())
		if err := h.Record(ctx, &st); err != nil {
			return fmt.Errorf("Record scan %d of %s: %w", i, s.Domain, err)
		}
		r.steps = append(r.steps, st)
		r.states[s.Domain] = st.States
		if st.Baseline != nil {
			r.baseline[s.Domain], r.baseAt[s.Domain] = st.Baseline, st.Scan.Started
		}
	}
	return nil
}

// recordScans records scans on a fresh oracle.
func recordScans(t *testing.T, h store.History, scans []HistoryScan) *recorded {
	t.Helper()
	r := newRecorded()
	if err := r.record(t, h, scans); err != nil {
		t.Fatal(err)
	}
	return r
}

// same compares two values through their JSON form (times compare by
// instant and zone, nil and empty lists alike).
func same(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	empty := func(s string) bool { return s == "null" || s == "[]" }
	return err1 == nil && err2 == nil && (string(ja) == string(jb) || empty(string(ja)) && empty(string(jb)))
}

func js(a any) string {
	b, _ := json.Marshal(a)
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

func checkLast(t *testing.T, r *recorded, domain string, last history.Scan, base *history.Snapshot, states []history.FindingState) {
	t.Helper()
	want := r.scans(domain)
	switch {
	case len(want) == 0 && last.ID != "":
		t.Errorf("Last(%s): scan %s, want none", domain, last.ID)
	case len(want) > 0 && !same(last, want[0]):
		t.Errorf("Last(%s) scan:\n got %s\nwant %s", domain, js(last), js(want[0]))
	}
	if wb := r.baseline[domain]; !same(base, wb) {
		t.Errorf("Last(%s) baseline:\n got %s\nwant %s", domain, js(base), js(wb))
	}
	if ws := r.states[domain]; len(states)+len(ws) > 0 && !same(states, ws) {
		t.Errorf("Last(%s) states:\n got %s\nwant %s", domain, js(states), js(ws))
	}
}

func historyOf(t *testing.T, b store.Backend) store.History {
	t.Helper()
	h, err := store.HistoryOf(b)
	if errors.Is(err, store.ErrUnsupported) {
		t.Skip("backend keeps no history")
	}
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Reopen closes b and opens the same store again.
type Reopen func(t *testing.T, b store.Backend) store.Backend

// RunHistory runs the scan history cases (store.HistoryStore); backends
// without the ability skip them. reopen, when set, enables the restart
// case.
func RunHistory(t *testing.T, open func(t *testing.T) store.Backend, reopen Reopen) {
	t.Run("Lifecycle", func(t *testing.T) { testHistoryLifecycle(t, open) })
	t.Run("Listings", func(t *testing.T) { testHistoryListings(t, open) })
	t.Run("Paging", func(t *testing.T) { testHistoryPaging(t, open) })
	t.Run("Atomic", func(t *testing.T) { testHistoryAtomic(t, open) })
	t.Run("Retry", func(t *testing.T) { testHistoryRetry(t, open) })
	t.Run("Prune", func(t *testing.T) { testHistoryPrune(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testHistoryConcurrent(t, open) })
	t.Run("BadQuery", func(t *testing.T) { testHistoryBadQuery(t, open) })
	if reopen != nil {
		t.Run("Restart", func(t *testing.T) { testHistoryRestart(t, open, reopen) })
	}
}

func testHistoryLifecycle(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	h := historyOf(t, b)
	ctx := context.Background()
	fx := HistoryFixture()
	r := recordScans(t, h, fx)
	for _, d := range []string{"example.com", "example.net", "example.org"} {
		last, base, states, err := h.Last(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		checkLast(t, r, d, last, base, states)
	}
	// The lifecycle as the fixture's comments tell it.
	want := map[string]string{
		"version-disclosure ns1.example.net":    "resolved 0",
		"axfr-allowed example.com":              "resolved 0",
		"spf-missing example.com":               "open 1",
		"private-address-leak test.example.com": "resolved 0",
		"dangling-cname old.example.com":        "open 0",
	}
	for _, s := range r.states["example.com"] {
		if got := fmt.Sprintf("%s %d", s.State, s.Reopened); got != want[s.Key] {
			t.Errorf("%s: %s, want %s", s.Key, got, want[s.Key])
		}
	}
	// Every scan's snapshot, for a diff between any two.
	for _, st := range r.steps {
		sc, snap, err := h.Snapshot(ctx, st.Scan.ID)
		if err != nil {
			t.Fatalf("Snapshot(%s): %v", st.Scan.ID, err)
		}
		if !same(sc, st.Scan) || !same(snap, st.Snapshot) {
			t.Errorf("Snapshot(%s):\n got %s %s\nwant %s %s", st.Scan.ID, js(sc), js(snap), js(st.Scan), js(st.Snapshot))
		}
	}
	for _, id := range []string{history.NewScanID(HT0), "no/such/scan", ""} {
		if _, _, err := h.Snapshot(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Snapshot(%q): %v, want ErrNotFound", id, err)
		}
	}
	// The outage changed nothing but its scan and its event.
	outage := r.steps[4]
	if !outage.Scan.Outage || len(outage.Events) != 1 || outage.Events[0].Kind != history.KindOutage {
		t.Fatalf("fixture: scan 4 is not an outage: %+v", outage.Scan)
	}
	evs, _, err := h.Events(ctx, store.EventQuery{Domain: "example.com", Kinds: []string{history.KindOutage}})
	if err != nil || len(evs) != 1 || evs[0].ScanID != outage.Scan.ID {
		t.Errorf("outage events: %s, %v", js(evs), err)
	}
}

func testHistoryListings(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	h := historyOf(t, b)
	r := recordScans(t, h, HistoryFixture())
	since, until := HT0.Add(6*time.Hour), HT0.Add(18*time.Hour)
	checkScanListings(t, h, r, since, until)
	checkEventListings(t, h, r, since, until)
	checkFindingListings(t, h, r)
	checkDomainSummaries(t, h, r)
}

// checkScanListings lists the scans of each domain, of none, and of a time
// window [since, until).
func checkScanListings(t *testing.T, h store.History, r *recorded, since, until time.Time) {
	ctx := context.Background()
	for _, d := range []string{"", "example.com", "EXAMPLE.net.", "example.org"} {
		got, cur, err := h.Scans(ctx, store.ScanQuery{Domain: d})
		if err != nil || cur != "" {
			t.Fatalf("Scans(%q): cursor %q, %v", d, cur, err)
		}
		if want := r.scans(history.DomainKey(d)); !same(got, want) {
			t.Errorf("Scans(%q):\n got %s\nwant %s", d, js(got), js(want))
		}
	}
	got, _, err := h.Scans(ctx, store.ScanQuery{Since: since, Until: until})
	var want []history.Scan
	for _, s := range r.scans("") {
		if !s.Started.Before(since) && s.Started.Before(until) {
			want = append(want, s)
		}
	}
	if err != nil || !same(got, want) || len(want) != 3 {
		t.Errorf("Scans since %s until %s: %s, %v; want %s", since, until, js(got), err, js(want))
	}
}

// checkEventListings lists events by domain, kind and time window, oldest
// and newest first.
func checkEventListings(t *testing.T, h store.History, r *recorded, since, until time.Time) {
	ctx := context.Background()
	evq := []struct {
		name string
		q    store.EventQuery
		keep func(*history.Event) bool
	}{
		{"all", store.EventQuery{}, nil},
		{"domain", store.EventQuery{Domain: "example.com"}, func(e *history.Event) bool { return e.Domain == "example.com" }},
		{"kinds", store.EventQuery{Kinds: []string{history.KindFindingResolved, history.KindFindingReopened}}, func(e *history.Event) bool {
			return e.Kind == history.KindFindingResolved || e.Kind == history.KindFindingReopened
		}},
		{"fence", store.EventQuery{Since: since, Until: until}, func(e *history.Event) bool { return !e.Time.Before(since) && e.Time.Before(until) }},
		{"domain fence kinds", store.EventQuery{Domain: "example.com", Since: HT0.Add(time.Hour), Kinds: []string{history.KindNameRemoved, history.KindNameAdded}},
			func(e *history.Event) bool {
				return e.Domain == "example.com" && !e.Time.Before(HT0.Add(time.Hour)) && (e.Kind == history.KindNameRemoved || e.Kind == history.KindNameAdded)
			}},
	}
	for _, tc := range evq {
		t.Run("events "+tc.name, func(t *testing.T) {
			want := r.events(tc.keep)
			got, cur, err := h.Events(ctx, tc.q)
			if err != nil || cur != "" || !same(got, want) {
				t.Errorf("Events(%+v): cursor %q, %v\n got %s\nwant %s", tc.q, cur, err, js(got), js(want))
			}
			tc.q.Newest = true
			got, _, err = h.Events(ctx, tc.q)
			slices.Reverse(want)
			if err != nil || !same(got, want) {
				t.Errorf("Events(%+v) newest first: %v\n got %s\nwant %s", tc.q, err, js(got), js(want))
			}
		})
	}
	if n := len(r.events(nil)); n < 15 {
		t.Errorf("fixture: only %d events", n)
	}
}

// checkFindingListings lists finding states by state, domain and severity.
func checkFindingListings(t *testing.T, h store.History, r *recorded) {
	ctx := context.Background()
	all := r.allStates()
	fq := []struct {
		name string
		q    store.FindingQuery
		keep func(*history.FindingState) bool
	}{
		{"all", store.FindingQuery{}, nil},
		{"open", store.FindingQuery{State: history.StateOpen}, func(s *history.FindingState) bool { return s.State == history.StateOpen }},
		{"resolved of a domain", store.FindingQuery{State: history.StateResolved, Domain: "example.com"}, func(s *history.FindingState) bool {
			return s.State == history.StateResolved && s.Domain == "example.com"
		}},
		{"min severity", store.FindingQuery{MinSeverity: finding.Medium}, func(s *history.FindingState) bool { return s.Finding.Severity >= finding.Medium }},
		{"open high", store.FindingQuery{State: history.StateOpen, MinSeverity: finding.High}, func(s *history.FindingState) bool {
			return s.State == history.StateOpen && s.Finding.Severity >= finding.High
		}},
	}
	for _, tc := range fq {
		t.Run("findings "+tc.name, func(t *testing.T) {
			var want []history.FindingState
			for i := range all {
				if tc.keep == nil || tc.keep(&all[i]) {
					want = append(want, all[i])
				}
			}
			got, cur, err := h.Findings(ctx, tc.q)
			if err != nil || cur != "" || !same(got, want) {
				t.Errorf("Findings(%+v): cursor %q, %v\n got %s\nwant %s", tc.q, cur, err, js(got), js(want))
			}
		})
	}
}

// checkDomainSummaries checks each domain's last scan and open findings.
func checkDomainSummaries(t *testing.T, h store.History, r *recorded) {
	ctx := context.Background()
	doms, err := h.Domains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wantDoms []store.DomainSummary
	for _, d := range []string{"example.com", "example.net"} {
		s := store.DomainSummary{Domain: d, LastScan: r.scans(d)[0]}
		for _, st := range r.states[d] {
			if st.State == history.StateOpen {
				s.Open.Add(st.Finding.Severity)
			}
		}
		wantDoms = append(wantDoms, s)
	}
	if !same(doms, wantDoms) {
		t.Errorf("Domains:\n got %s\nwant %s", js(doms), js(wantDoms))
	}
	if wantDoms[0].Open.Critical != 1 || wantDoms[0].Open.Low != 1 || wantDoms[0].Open.Total() != 2 {
		t.Errorf("fixture: example.com open %+v", wantDoms[0].Open)
	}
}

// page follows cursors with a small limit and returns every item.
func page[T any](t *testing.T, what string, limit int, fn func(cursor string) ([]T, string, error)) []T {
	t.Helper()
	var out []T
	cur := ""
	for range 1000 {
		items, next, err := fn(cur)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(items) > limit {
			t.Fatalf("%s: %d items, limit %d", what, len(items), limit)
		}
		if next != "" && len(items) != limit {
			t.Fatalf("%s: a cursor after a short page (%d of %d)", what, len(items), limit)
		}
		out = append(out, items...)
		if next == "" {
			return out
		}
		cur = next
	}
	t.Fatalf("%s: the cursor never ends", what)
	return nil
}

func testHistoryPaging(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	h := historyOf(t, b)
	ctx := context.Background()
	r := recordScans(t, h, HistoryFixture())
	for _, limit := range []int{1, 2, 3, 7} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			for _, d := range []string{"", "example.com"} {
				got := page(t, "Scans", limit, func(c string) ([]history.Scan, string, error) {
					return h.Scans(ctx, store.ScanQuery{Domain: d, Limit: limit, Cursor: c})
				})
				if want := r.scans(d); !same(got, want) {
					t.Errorf("Scans(%q) by %d:\n got %s\nwant %s", d, limit, js(got), js(want))
				}
				for _, newest := range []bool{false, true} {
					got := page(t, "Events", limit, func(c string) ([]history.Event, string, error) {
						return h.Events(ctx, store.EventQuery{Domain: d, Newest: newest, Limit: limit, Cursor: c})
					})
					want := r.events(func(e *history.Event) bool { return d == "" || e.Domain == d })
					if newest {
						slices.Reverse(want)
					}
					if !same(got, want) {
						t.Errorf("Events(%q, newest %v) by %d:\n got %s\nwant %s", d, newest, limit, js(got), js(want))
					}
				}
				gotF := page(t, "Findings", limit, func(c string) ([]history.FindingState, string, error) {
					return h.Findings(ctx, store.FindingQuery{Domain: d, Limit: limit, Cursor: c})
				})
				var wantF []history.FindingState
				for _, s := range r.allStates() {
					if d == "" || s.Domain == d {
						wantF = append(wantF, s)
					}
				}
				if !same(gotF, wantF) {
					t.Errorf("Findings(%q) by %d:\n got %s\nwant %s", d, limit, js(gotF), js(wantF))
				}
			}
			// A filter that skips items between pages.
			got := page(t, "Events kinds", limit, func(c string) ([]history.Event, string, error) {
				return h.Events(ctx, store.EventQuery{Kinds: []string{history.KindNameAdded}, Limit: limit, Cursor: c})
			})
			if want := r.events(func(e *history.Event) bool { return e.Kind == history.KindNameAdded }); !same(got, want) {
				t.Errorf("name-added events by %d:\n got %s\nwant %s", limit, js(got), js(want))
			}
		})
	}
	// Cursors survive new scans: the rest of a listing started before a
	// Record is what came after its cursor.
	first, cur, err := h.Scans(ctx, store.ScanQuery{Limit: 2})
	if err != nil || cur == "" {
		t.Fatalf("Scans limit 2: %v %q", err, cur)
	}
	recordScans(t, h, []HistoryScan{{Domain: "example.org", At: 48 * time.Hour, Names: []string{"example.org"}}})
	rest := page(t, "Scans rest", 3, func(c string) ([]history.Scan, string, error) {
		if c == "" {
			c = cur
		}
		return h.Scans(ctx, store.ScanQuery{Limit: 3, Cursor: c})
	})
	if want := r.scans(""); !same(append(first, rest...), want) {
		t.Errorf("listing across a Record:\n got %s\nwant %s", js(append(first, rest...)), js(want))
	}
}

func testHistoryAtomic(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	h := historyOf(t, b)
	ctx := context.Background()
	fx := HistoryFixture()
	r := recordScans(t, h, fx[:2])
	next := fx[2]
	_, base, states, err := h.Last(ctx, next.Domain)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*history.Step)
	}{
		{"bad last event", func(s *history.Step) { s.Events[len(s.Events)-1].Kind = "finding-vanished" }},
		{"event of another scan", func(s *history.Step) { s.Events[len(s.Events)-1].ScanID = history.NewScanID(HT0) }},
		{"state of another domain", func(s *history.Step) { s.States[len(s.States)-1].Domain = "example.org" }},
		{"bad scan", func(s *history.Step) { s.Scan.ID = "" }},
		{"bad snapshot", func(s *history.Step) { s.Snapshot = &history.Snapshot{Domain: "example.org"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := history.Advance(base, states, next.snapshot(), next.scan())
			tc.mod(&st)
			if err := h.Record(ctx, &st); !errors.Is(err, store.ErrBadHistory) {
				t.Fatalf("Record: %v, want ErrBadHistory", err)
			}
			checkUnchanged(t, h, r)
			if _, _, err := h.Snapshot(ctx, st.Scan.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a failed Record left its snapshot: %v", err)
			}
		})
	}
	// The store goes on as if nothing happened.
	if err := r.record(t, h, fx[2:]); err != nil {
		t.Fatal(err)
	}
	checkUnchanged(t, h, r)
}

// checkUnchanged compares every listing with r.
func checkUnchanged(t *testing.T, h store.History, r *recorded) {
	t.Helper()
	ctx := context.Background()
	if got, _, err := h.Scans(ctx, store.ScanQuery{}); err != nil || !same(got, r.scans("")) {
		t.Errorf("scans: %v\n got %s\nwant %s", err, js(got), js(r.scans("")))
	}
	if got, _, err := h.Events(ctx, store.EventQuery{}); err != nil || !same(got, r.events(nil)) {
		t.Errorf("events: %v\n got %s\nwant %s", err, js(got), js(r.events(nil)))
	}
	if got, _, err := h.Findings(ctx, store.FindingQuery{}); err != nil || !same(got, r.allStates()) {
		t.Errorf("findings: %v\n got %s\nwant %s", err, js(got), js(r.allStates()))
	}
	for d := range r.states {
		last, base, states, err := h.Last(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		checkLast(t, r, d, last, base, states)
	}
}

func testHistoryRetry(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	h := historyOf(t, b)
	ctx := context.Background()
	r := recordScans(t, h, HistoryFixture())
	// A watcher that did not learn whether its Record committed records
	// the same step again.
	for _, i := range []int{len(r.steps) - 1, 0} {
		st := r.steps[i]
		if err := h.Record(ctx, &st); err != nil {
			t.Fatalf("Record again: %v", err)
		}
	}
	checkUnchanged(t, h, r)
	doms, err := h.Domains(ctx)
	if err != nil || len(doms) != 2 {
		t.Errorf("Domains after retries: %s, %v", js(doms), err)
	}
	// Compaction (merging parts, collapsing copies) changes nothing either.
	if c, ok := b.(store.Compacter); ok {
		if err := c.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		checkUnchanged(t, h, r)
	}
}

func testHistoryPrune(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	h := historyOf(t, b)
	ctx := context.Background()
	r := recordScans(t, h, HistoryFixture())
	// After example.com's second scan and example.net's last: example.net
	// goes whole, example.com keeps its later scans.
	cut := HT0.Add(8 * time.Hour)
	var want store.HistoryPruneResult
	keep := newRecorded()
	for _, st := range r.steps {
		if st.Scan.Started.Before(cut) {
			want.Scans++
			want.Events += int64(len(st.Events))
			continue
		}
		keep.steps = append(keep.steps, st)
	}
	for d, ss := range r.states {
		keep.states[d] = nil
		for _, s := range ss {
			if s.Updated().Before(cut) {
				want.FindingStates++
			} else {
				keep.states[d] = append(keep.states[d], s)
			}
		}
		if !r.baseAt[d].Before(cut) {
			keep.baseline[d] = r.baseline[d]
		}
	}
	if want.Scans != 4 || want.FindingStates != 2 || len(keep.baseline) != 1 {
		t.Fatalf("fixture: pruning at %s should delete 4 scans, 2 states (version-disclosure, dmarc-missing) and a baseline: %+v", cut, want)
	}
	res, err := h.PruneHistory(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if res != want {
		t.Errorf("PruneHistory: %+v, want %+v", res, want)
	}
	checkUnchanged(t, h, keep)
	for _, st := range r.steps[:4] {
		if _, _, err := h.Snapshot(ctx, st.Scan.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("pruned scan %s still has its snapshot: %v", st.Scan.ID, err)
		}
	}
	if res, err := h.PruneHistory(ctx, cut); err != nil || res != (store.HistoryPruneResult{}) {
		t.Errorf("second PruneHistory: %+v, %v; want nothing deleted", res, err)
	}
	// Everything: the domains are gone, and their next scan is a first
	// scan again.
	if _, err := h.PruneHistory(ctx, HT0.Add(1000*time.Hour)); err != nil {
		t.Fatal(err)
	}
	empty := newRecorded()
	empty.states["example.com"], empty.states["example.net"] = nil, nil
	checkUnchanged(t, h, empty)
	if doms, err := h.Domains(ctx); err != nil || len(doms) != 0 {
		t.Errorf("Domains after pruning everything: %s, %v", js(doms), err)
	}
	again := recordScans(t, h, []HistoryScan{{Domain: "example.com", At: 2000 * time.Hour, Names: []string{"www.example.com"}}})
	if evs := again.steps[0].Events; len(evs) == 0 || !evs[0].Baseline {
		t.Errorf("the scan after a full prune is not a baseline: %s", js(evs))
	}
}

func testHistoryConcurrent(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	h := historyOf(t, b)
	const domains, scans = 6, 4
	var wg sync.WaitGroup
	results := make([]*recorded, domains)
	for d := range domains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var fx []HistoryScan
			dom := fmt.Sprintf("d%d.example.com", d)
			for i := range scans {
				names := []string{"www." + dom}
				if i%2 == 1 {
					names = append(names, fmt.Sprintf("h%d.%s", i, dom))
				}
				fx = append(fx, HistoryScan{Domain: dom, At: time.Duration(i)*time.Hour + time.Duration(d)*time.Minute, Names: names,
					Findings: []finding.Finding{hf("wildcard", dom, finding.Severity(i%3))}})
			}
			r := newRecorded()
			if err := r.record(t, h, fx); err != nil {
				t.Error(err)
				return
			}
			results[d] = r
		}()
	}
	wg.Wait()
	all := newRecorded()
	for _, r := range results {
		if r == nil {
			t.Fatal("a writer failed")
		}
		all.steps = append(all.steps, r.steps...)
		for d, s := range r.states {
			all.states[d], all.baseline[d] = s, r.baseline[d]
		}
	}
	checkUnchanged(t, h, all)
	if doms, err := h.Domains(context.Background()); err != nil || len(doms) != domains {
		t.Errorf("Domains: %d, %v; want %d", len(doms), err, domains)
	}
}

func testHistoryBadQuery(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	h := historyOf(t, b)
	ctx := context.Background()
	recordScans(t, h, HistoryFixture()[:2])
	_, scur, err := h.Scans(ctx, store.ScanQuery{Limit: 1})
	if err != nil || scur == "" {
		t.Fatalf("Scans: %v %q", err, scur)
	}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"negative limit", func() error { _, _, err := h.Scans(ctx, store.ScanQuery{Limit: -1}); return err }, store.ErrBadQuery},
		{"bad domain", func() error { _, _, err := h.Scans(ctx, store.ScanQuery{Domain: "a b"}); return err }, store.ErrBadQuery},
		{"until before since", func() error {
			_, _, err := h.Events(ctx, store.EventQuery{Since: HT0, Until: HT0.Add(-time.Hour)})
			return err
		}, store.ErrBadQuery},
		{"bad kind", func() error { _, _, err := h.Events(ctx, store.EventQuery{Kinds: []string{"opened"}}); return err }, store.ErrBadQuery},
		{"bad state", func() error { _, _, err := h.Findings(ctx, store.FindingQuery{State: "closed"}); return err }, store.ErrBadQuery},
		{"bad severity", func() error { _, _, err := h.Findings(ctx, store.FindingQuery{MinSeverity: 7}); return err }, store.ErrBadQuery},
		{"empty domain for Last", func() error { _, _, _, err := h.Last(ctx, ""); return err }, store.ErrBadQuery},
		{"garbage cursor", func() error { _, _, err := h.Scans(ctx, store.ScanQuery{Cursor: "!!"}); return err }, store.ErrBadCursor},
		{"cursor of scans for events", func() error { _, _, err := h.Events(ctx, store.EventQuery{Cursor: scur}); return err }, store.ErrBadCursor},
		{"cursor of scans for findings", func() error { _, _, err := h.Findings(ctx, store.FindingQuery{Cursor: scur}); return err }, store.ErrBadCursor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("%v, want %v", err, tc.want)
			}
		})
	}
}

func testHistoryRestart(t *testing.T, open func(t *testing.T) store.Backend, reopen Reopen) {
	b := open(t)
	h := historyOf(t, b)
	fx := HistoryFixture()
	r := recordScans(t, h, fx[:5])
	b = reopen(t, b)
	h = historyOf(t, b)
	checkUnchanged(t, h, r)
	if err := r.record(t, h, fx[5:]); err != nil {
		t.Fatal(err)
	}
	b = reopen(t, b)
	checkUnchanged(t, historyOf(t, b), r)
}
