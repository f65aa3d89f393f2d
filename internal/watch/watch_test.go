package watch

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
)

// TestLifecycle runs one domain through the changes a watch meets, one
// period each, and checks the alerts each period raises and the history
// it leaves.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	h, closeStore := openHistory(t, t.TempDir())
	defer closeStore()
	wd := newWorld(c)
	out := &sink{}
	const every = time.Hour
	w, err := New(Options{History: h, Runner: wd, Domains: []Domain{{"example.com", every}}, Alerts: out, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ns := []string{"ns1.example.net", "ns2.example.net"}
	www := rec("www.example.com", "A", "192.0.2.10")
	dev := rec("dev.example.com", "A", "10.0.0.5")
	axfr := fnd("axfr-allowed", "ns1.example.net", finding.High)
	leak := fnd("private-address", "dev.example.com", finding.Medium)
	dangling := fnd("dangling-cname", "old.example.com", finding.Critical)
	lame := fnd("lame-delegation", "ns2.example.net", finding.High)
	base := []string{"example.com", "www.example.com"}
	steps := []struct {
		name string
		see  Result
		want []string
	}{
		{"first scan is a baseline", snap(base, []history.Record{www}, ns),
			lines("baseline example.com")},
		{"identical rescan says nothing", snap(base, []history.Record{www}, ns), nil},
		{"a name appears with a private address", snap(append(base, "dev.example.com"), []history.Record{www, dev}, ns, leak),
			lines("finding-opened dev.example.com\nname-added dev.example.com")},
		{"AXFR opens", snap(append(base, "dev.example.com"), []history.Record{www, dev}, ns, leak, axfr),
			lines("finding-opened ns1.example.net")},
		{"resolver outage", Result{Outage: true, Err: errors.New("no resolver answered")},
			lines("outage example.com")},
		{"the outage goes on", Result{Outage: true, Err: errors.New("no resolver answered")}, nil},
		{"a partial scan that saw nothing is another outage, not a diff", Result{Complete: false}, nil},
		{"back, unchanged", snap(append(base, "dev.example.com"), []history.Record{www, dev}, ns, leak, axfr), nil},
		{"a CNAME dangles and a nameserver goes lame", snap(append(base, "dev.example.com"), []history.Record{www, dev}, ns, leak, axfr, dangling, lame),
			lines("finding-opened old.example.com\nfinding-opened ns2.example.net")},
		{"the name vanishes, AXFR closes", snap(base, []history.Record{www}, ns, dangling, lame),
			lines("finding-resolved dev.example.com\nfinding-resolved ns1.example.net\nname-removed dev.example.com")},
		{"everything fixed", snap(base, []history.Record{www}, ns),
			lines("finding-resolved old.example.com\nfinding-resolved ns2.example.net")},
		{"AXFR opens again", snap(base, []history.Record{www}, ns, axfr),
			lines("finding-reopened ns1.example.net")},
		{"its severity changes", snap(base, []history.Record{www}, ns, fnd("axfr-allowed", "ns1.example.net", finding.Critical)),
			lines("finding-changed ns1.example.net")},
		{"a nameserver is added", snap(base, []history.Record{www}, append(ns, "ns3.example.net"), fnd("axfr-allowed", "ns1.example.net", finding.Critical)),
			lines("nameserver-added ns3.example.net")},
		{"a record changes on a known name", snap(base, []history.Record{rec("www.example.com", "A", "192.0.2.11")}, append(ns, "ns3.example.net"), fnd("axfr-allowed", "ns1.example.net", finding.Critical)),
			lines("record-added www.example.com\nrecord-removed www.example.com")},
	}
	var resolvedAt time.Time
	for i, st := range steps {
		wd.set("example.com", st.see)
		if i > 0 {
			c.Advance(every)
		}
		if st.name == "everything fixed" {
			resolvedAt = c.Now()
		}
		w.RunDue(ctx)
		if got := out.take(); !slices.Equal(got, st.want) {
			t.Fatalf("step %d (%s): alerts\n got %q\nwant %q", i, st.name, got, st.want)
		}
		if n := wd.callsOf("example.com"); n != i+1 {
			t.Fatalf("step %d: %d scans, want %d", i, n, i+1)
		}
		// Within the period nothing more runs.
		c.Advance(every / 2)
		w.RunDue(ctx)
		c.Advance(-every / 2)
		if n := wd.callsOf("example.com"); n != i+1 {
			t.Fatalf("step %d: a scan ran before its period was over", i)
		}
	}
	states, _, err := h.Findings(ctx, store.FindingQuery{Domain: "example.com", State: history.StateResolved})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Finding.ID == "dangling-cname" && !s.ResolvedAt.Equal(resolvedAt) {
			t.Errorf("dangling-cname resolved at %v, want %v (the first scan that no longer saw it)", s.ResolvedAt, resolvedAt)
		}
	}
	if len(states) != 3 {
		t.Errorf("%d resolved findings, want 3 (leak, dangling, lame): %+v", len(states), states)
	}
	scans, _, err := h.Scans(ctx, store.ScanQuery{Domain: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	outages := 0
	for _, s := range scans {
		if s.Outage {
			outages++
		}
	}
	if len(scans) != len(steps) || outages != 3 {
		t.Errorf("%d scans (%d outages), want %d (3)", len(scans), outages, len(steps))
	}
}

// TestSchedule checks the schedule across restarts: it comes from the
// store, a missed run runs once at start, a domain not yet due waits.
func TestSchedule(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := newClock()
	wd := newWorld(c)
	ns := []string{"ns1.example.net"}
	wd.set("example.com", snap([]string{"example.com"}, nil, ns))
	wd.set("example.net", snap([]string{"example.net"}, nil, ns))
	domains := []Domain{{"example.com", 6 * time.Hour}, {"example.net", time.Hour}}
	var closeStore func()
	start := func() *Watcher {
		if closeStore != nil {
			closeStore()
		}
		var h store.History
		h, closeStore = openHistory(t, dir)
		w, err := New(Options{History: h, Runner: wd, Domains: domains, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	defer func() { closeStore() }()
	w := start()
	w.RunDue(ctx)
	if a, b := wd.callsOf("example.com"), wd.callsOf("example.net"); a != 1 || b != 1 {
		t.Fatalf("first start: %d and %d scans, want 1 and 1", a, b)
	}
	st := w.Status()
	if !st[0].Next.Equal(t0.Add(6*time.Hour)) || !st[1].Next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("next due %v and %v", st[0].Next, st[1].Next)
	}
	// Down for 30 hours: each domain missed runs; each runs once at start.
	c.Advance(30 * time.Hour)
	w2 := start()
	w2.RunDue(ctx)
	w2.RunDue(ctx)
	if a, b := wd.callsOf("example.com"), wd.callsOf("example.net"); a != 2 || b != 2 {
		t.Fatalf("after 30 h down: %d and %d scans, want 2 and 2", a, b)
	}
	// A restart 10 minutes later runs nothing: nothing is due.
	c.Advance(10 * time.Minute)
	w3 := start()
	w3.RunDue(ctx)
	if a, b := wd.callsOf("example.com"), wd.callsOf("example.net"); a != 2 || b != 2 {
		t.Fatalf("restart within the period: %d and %d scans, want 2 and 2", a, b)
	}
	if next := w3.Status()[1].Next; !next.Equal(t0.Add(31 * time.Hour)) {
		t.Errorf("example.net next due %v after restart, want %v", next, t0.Add(31*time.Hour))
	}
}

// TestFailureBackoff: a failing domain is retried with a doubling wait,
// alerted once per run of failures, and goes back to its schedule when a
// scan succeeds.
func TestFailureBackoff(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	h, closeStore := openHistory(t, t.TempDir())
	defer closeStore()
	wd := newWorld(c)
	out := &sink{}
	w, err := New(Options{History: h, Runner: wd, Domains: []Domain{{"example.com", 6 * time.Hour}}, Alerts: out, Now: c.Now,
		MinRetry: time.Minute, MaxRetry: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	wd.set("example.com", Result{Err: errors.New("SERVFAIL from every server")})
	waits := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	for i, want := range waits {
		at := c.Now()
		w.RunDue(ctx)
		st := w.Status()[0]
		if st.Failures != i+1 || st.Error == "" {
			t.Fatalf("attempt %d: status %+v", i, st)
		}
		if got := st.Next.Sub(at); got != want {
			t.Fatalf("attempt %d: retry in %v, want %v", i, got, want)
		}
		w.RunDue(ctx) // not due yet: nothing runs
		if n := wd.callsOf("example.com"); n != i+1 {
			t.Fatalf("attempt %d: %d scans", i, n)
		}
		c.Advance(want)
	}
	if got := out.take(); !slices.Equal(got, []string{"scan-failed example.com"}) {
		t.Fatalf("alerts %q, want one scan-failed", got)
	}
	wd.set("example.com", snap([]string{"example.com"}, nil, []string{"ns1.example.net"}))
	w.RunDue(ctx)
	st := w.Status()[0]
	if st.Failures != 0 || st.LastScan.ID == "" || !st.Next.Equal(c.Now().Add(6*time.Hour)) {
		t.Fatalf("after success: %+v", st)
	}
}

// TestReplayAfterCrash: a crash between recording a scan and spooling its
// alerts loses nothing — the next start enqueues them again, with the
// same IDs.
func TestReplayAfterCrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := newClock()
	wd := newWorld(c)
	ns := []string{"ns1.example.net"}
	wd.set("example.com", snap([]string{"example.com"}, nil, ns))
	run := func(out *sink) []string {
		h, closeStore := openHistory(t, dir)
		defer closeStore()
		w, err := New(Options{History: h, Runner: wd, Domains: []Domain{{"example.com", time.Hour}}, Alerts: out, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		w.RunDue(ctx)
		var ids []string
		for _, a := range out.alerts {
			ids = append(ids, a.ID)
		}
		return ids
	}
	run(&sink{})
	c.Advance(time.Hour)
	wd.set("example.com", snap([]string{"example.com", "new.example.com"}, nil, ns, fnd("axfr-allowed", "ns1.example.net", finding.High)))
	lost := run(&sink{fail: true}) // the spool refused: as if killed before it
	if len(lost) != 0 {
		t.Fatal("a failing sink kept alerts")
	}
	c.Advance(time.Minute)
	again := &sink{}
	got := run(again)
	want := []string{"finding-opened ns1.example.net", "name-added new.example.com"}
	if lines := again.take(); !slices.Equal(lines, want) {
		t.Fatalf("replayed %q, want %q", lines, want)
	}
	// And once more: the same IDs (the dispatcher drops them as sent).
	c.Advance(time.Minute)
	if got2 := run(&sink{}); !slices.Equal(got, got2) {
		t.Fatalf("replayed IDs differ between starts: %q and %q", got, got2)
	}
	if n := wd.callsOf("example.com"); n != 2 {
		t.Fatalf("%d scans, want 2 (a restart within the period scans nothing)", n)
	}
}
