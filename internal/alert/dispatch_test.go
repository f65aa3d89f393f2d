package alert

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/durable"
	"github.com/dnsscout/dnsscout/internal/finding"
)

// queueFiles lists the queue files of a spool directory.
func queueFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, queueDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func wantEach(t *testing.T, got map[string]int, alerts []Alert, n int) {
	t.Helper()
	for _, a := range alerts {
		if got[a.ID] != n {
			t.Errorf("alert %s (%s) delivered %d times, want %d", a.ID[:12], a.Subject, got[a.ID], n)
		}
	}
	if len(got) != len(alerts) {
		t.Errorf("%d distinct alerts delivered, want %d", len(got), len(alerts))
	}
}

// TestRetriesUntilDelivered: the receiver refuses the first attempts;
// every alert still arrives once, signed, and leaves the spool.
func TestRetriesUntilDelivered(t *testing.T) {
	r := newReceiver(t, "hook-secret", func(r *receiver) { r.failFirst = 3 })
	dir := t.TempDir()
	d := mustOpen(t, fastOptions(dir, r.target("hook")))
	defer closeD(t, d)
	alerts := nameAlerts("example.com", 20)
	if err := d.Enqueue(context.Background(), alerts...); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	wantEach(t, r.counts(), alerts, 1)
	st := sinkStats(t, d, "hook")
	if st.Delivered != 20 || st.Messages != 20 || st.FailedAttempts != 3 || st.Pending != 0 || st.Enqueued != 20 || st.LastError == "" {
		t.Errorf("stats %+v", st)
	}
	if q := queueFiles(t, dir); len(q) != 0 {
		t.Errorf("spool still holds %v", q)
	}
	if d.Stats().SpoolBytes != 0 {
		t.Errorf("spool bytes %d", d.Stats().SpoolBytes)
	}
}

// TestExactlyOnceAcrossReopen closes the Dispatcher in the middle of
// delivery and opens it again on the same spool: every alert arrives
// exactly once, and enqueueing them all again sends nothing.
func TestExactlyOnceAcrossReopen(t *testing.T) {
	r := newReceiver(t, "s", func(r *receiver) { r.failFirst, r.delay = 2, 3*time.Millisecond })
	dir := t.TempDir()
	alerts := nameAlerts("example.com", 60)
	d := mustOpen(t, fastOptions(dir, r.target("hook")))
	if err := d.Enqueue(context.Background(), alerts...); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		<-r.delivered
	}
	closeD(t, d)
	before := r.counts()
	st := sinkStats(t, d, "hook")
	if st.Pending == 0 || len(before) == len(alerts) {
		t.Fatalf("everything was delivered before Close (%d); the test needs some pending", len(before))
	}
	if int(st.Delivered) != len(before) {
		t.Errorf("closed Dispatcher counted %d delivered, receiver has %d", st.Delivered, len(before))
	}
	d = mustOpen(t, fastOptions(dir, r.target("hook")))
	defer closeD(t, d)
	flush(t, d)
	wantEach(t, r.counts(), alerts, 1)
	if err := d.Enqueue(context.Background(), alerts...); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	wantEach(t, r.counts(), alerts, 1)
	if st := sinkStats(t, d, "hook"); st.Duplicates != 60 || st.Enqueued != 0 {
		t.Errorf("after re-enqueueing: %+v", st)
	}
}

// TestEnqueueTwiceIsNoOp: the same ID in one call, in two calls, with
// other fields changed: one delivery.
func TestEnqueueTwiceIsNoOp(t *testing.T) {
	r := newReceiver(t, "s")
	d := mustOpen(t, fastOptions(t.TempDir(), r.target("hook")))
	defer closeD(t, d)
	a := axfrAlert()
	b := a
	b.Text = "same ID, other words"
	ctx := context.Background()
	if err := d.Enqueue(ctx, a, a); err != nil {
		t.Fatal(err)
	}
	if err := d.Enqueue(ctx, b); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	if err := d.Enqueue(ctx, a); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	wantEach(t, r.counts(), []Alert{a}, 1)
	if st := sinkStats(t, d, "hook"); st.Duplicates != 3 || st.Enqueued != 1 {
		t.Errorf("stats %+v", st)
	}
	if got := r.accepted()[0].Alerts[0].Text; got != a.Text {
		t.Errorf("delivered %q, want the first enqueued", got)
	}
}

// TestDedupeAcrossRestartPerSink: after a restart the old sink remembers
// what it got; a sink added to the configuration gets the alert.
func TestDedupeAcrossRestartPerSink(t *testing.T) {
	ra, rb := newReceiver(t, "a"), newReceiver(t, "b")
	dir := t.TempDir()
	a := axfrAlert()
	d := mustOpen(t, fastOptions(dir, ra.target("first")))
	if err := d.Enqueue(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	closeD(t, d)
	d = mustOpen(t, fastOptions(dir, ra.target("first"), rb.target("second")))
	defer closeD(t, d)
	if err := d.Enqueue(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	wantEach(t, ra.counts(), []Alert{a}, 1)
	wantEach(t, rb.counts(), []Alert{a}, 1)
}

// TestDedupeAge: the memory of delivered IDs lasts DedupeAge; after it
// the log is rewritten without them and the same ID is news again.
func TestDedupeAge(t *testing.T) {
	r := newReceiver(t, "s")
	dir := t.TempDir()
	clk := &clock{t: t0}
	o := fastOptions(dir, r.target("hook"))
	o.Now = clk.Now
	o.DedupeAge = 30 * 24 * time.Hour
	alerts := nameAlerts("example.com", 5)
	d := mustOpen(t, o)
	if err := d.Enqueue(context.Background(), alerts...); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	closeD(t, d)
	logPath := filepath.Join(dir, sinksDir, "hook"+logExt)
	if l, err := loadDoneLog(logPath, 0); err != nil || len(l.done) != 5 {
		t.Fatalf("log: %v, %+v", err, l)
	}

	clk.Add(29 * 24 * time.Hour) // still remembered
	d = mustOpen(t, o)
	if err := d.Enqueue(context.Background(), alerts...); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	closeD(t, d)
	wantEach(t, r.counts(), alerts, 1)

	clk.Add(2 * 24 * time.Hour) // forgotten
	d = mustOpen(t, o)
	defer closeD(t, d)
	if b, _ := os.ReadFile(logPath); len(b) != 0 {
		t.Errorf("log not rewritten after DedupeAge: %q", b)
	}
	if err := d.Enqueue(context.Background(), alerts...); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	wantEach(t, r.counts(), alerts, 2)
}

// TestRouting: an alert goes to the sinks of every rule it matches, each
// once; alerts no rule matches are counted.
func TestRouting(t *testing.T) {
	recv := map[string]*receiver{}
	var targets []Target
	for _, n := range []string{"ops", "sec", "audit"} {
		recv[n] = newReceiver(t, n)
		targets = append(targets, recv[n].target(n))
	}
	o := fastOptions(t.TempDir(), targets...)
	o.Rules = []Rule{
		{Name: "high", MinSeverity: finding.High, Sinks: []string{"sec", "ops"}},
		{Name: "axfr", FindingIDs: []string{"axfr-allowed"}, Sinks: []string{"sec"}},
		{Name: "names", Kinds: []string{KindNameAdded}, Domains: []string{"*.EXAMPLE.org", "example.org"}, Sinks: []string{"audit"}},
	}
	d := mustOpen(t, o)
	defer closeD(t, d)
	axfr := axfrAlert()
	org := nameAlert("example.org", 1)
	sub := nameAlert("shop.example.org", 2)
	com := nameAlert("example.com", 3) // no rule
	if err := d.Enqueue(context.Background(), axfr, org, sub, com); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	wantEach(t, recv["sec"].counts(), []Alert{axfr}, 1)
	wantEach(t, recv["ops"].counts(), []Alert{axfr}, 1)
	wantEach(t, recv["audit"].counts(), []Alert{org, sub}, 1)
	if u := d.Stats().Unrouted; u != 1 {
		t.Errorf("unrouted %d, want 1", u)
	}
}

// TestDigest: more than DigestThreshold pending alerts go as digests of
// at most DigestMax; at or below it, one message each.
func TestDigest(t *testing.T) {
	cases := []struct {
		name      string
		n, max    int
		wantSizes []int // alerts per accepted request, in order
		digests   int
	}{
		{"below threshold", 3, 200, []int{1, 1, 1}, 0},
		{"one digest", 10, 200, []int{10}, 1},
		{"chunks", 10, 4, []int{4, 4, 2}, 3},
		{"last chunk single", 9, 4, []int{4, 4, 1}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, "s")
			o := fastOptions(t.TempDir(), r.target("hook"))
			o.DigestThreshold, o.DigestMax = 3, tc.max
			d := mustOpen(t, o)
			defer closeD(t, d)
			alerts := append(nameAlerts("example.com", tc.n-tc.n/2), nameAlerts("example.net", tc.n/2)...)
			if err := d.Enqueue(context.Background(), alerts...); err != nil {
				t.Fatal(err)
			}
			flush(t, d)
			wantEach(t, r.counts(), alerts, 1)
			var sizes []int
			for _, b := range r.accepted() {
				sizes = append(sizes, len(b.Alerts))
				if (b.Digest != nil) != (len(b.Alerts) > 1) {
					t.Errorf("request with %d alerts, digest %v", len(b.Alerts), b.Digest != nil)
				}
				if b.Digest != nil && b.Digest.Total != len(b.Alerts) {
					t.Errorf("digest total %d for %d alerts", b.Digest.Total, len(b.Alerts))
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.wantSizes) {
				t.Errorf("requests carried %v alerts, want %v", sizes, tc.wantSizes)
			}
			if st := sinkStats(t, d, "hook"); st.Digests != uint64(tc.digests) || st.Delivered != uint64(tc.n) || st.Messages != uint64(len(tc.wantSizes)) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestDigestWindow: alerts enqueued one by one within the window are
// held and go together.
func TestDigestWindow(t *testing.T) {
	r := newReceiver(t, "s")
	o := fastOptions(t.TempDir(), r.target("hook"))
	o.DigestThreshold, o.DigestWindow = 3, 2*time.Second
	d := mustOpen(t, o)
	defer closeD(t, d)
	alerts := nameAlerts("example.com", 5)
	for _, a := range alerts {
		if err := d.Enqueue(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, d)
	if got := r.accepted(); len(got) != 1 || got[0].Digest == nil || got[0].Digest.Total != 5 {
		t.Errorf("accepted %d requests, want one digest of 5", len(got))
	}
}

// TestRejectedNotRetried: a 400 is final.
func TestRejectedNotRetried(t *testing.T) {
	r := newReceiver(t, "s", func(r *receiver) { r.status = http.StatusBadRequest })
	dir := t.TempDir()
	d := mustOpen(t, fastOptions(dir, r.target("hook")))
	defer closeD(t, d)
	if err := d.Enqueue(context.Background(), axfrAlert()); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	st := sinkStats(t, d, "hook")
	if st.Rejected != 1 || st.FailedAttempts != 1 || st.Delivered != 0 || !strings.Contains(st.LastError, "400") {
		t.Errorf("stats %+v", st)
	}
	if n := r.requestCount(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if q := queueFiles(t, dir); len(q) != 0 {
		t.Errorf("spool still holds %v", q)
	}
}

// TestGiveUp: MaxAttempts and MaxAge end the retries of a sink that
// keeps failing.
func TestGiveUp(t *testing.T) {
	t.Run("attempts", func(t *testing.T) {
		r := newReceiver(t, "s", func(r *receiver) { r.status = http.StatusInternalServerError })
		o := fastOptions(t.TempDir(), r.target("hook"))
		o.MaxAttempts = 3
		d := mustOpen(t, o)
		defer closeD(t, d)
		if err := d.Enqueue(context.Background(), axfrAlert()); err != nil {
			t.Fatal(err)
		}
		flush(t, d)
		if st := sinkStats(t, d, "hook"); st.Expired != 1 || st.FailedAttempts != 3 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("age", func(t *testing.T) {
		r := newReceiver(t, "s", func(r *receiver) { r.status = http.StatusInternalServerError })
		clk := &clock{t: t0}
		dir := t.TempDir()
		o := fastOptions(dir, r.target("hook"))
		o.Now, o.MaxAge = clk.Now, time.Hour
		d := mustOpen(t, o)
		defer closeD(t, d)
		a := axfrAlert()
		if err := d.Enqueue(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return sinkStats(t, d, "hook").FailedAttempts >= 3 }) // it is being retried
		clk.Add(time.Hour + time.Second)
		flush(t, d)
		if st := sinkStats(t, d, "hook"); st.Expired != 1 || st.Delivered != 0 {
			t.Errorf("stats %+v", st)
		}
		if q := queueFiles(t, dir); len(q) != 0 {
			t.Errorf("spool still holds %v", q)
		}
		// Given up is done with: not sent again.
		if err := d.Enqueue(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if st := sinkStats(t, d, "hook"); st.Duplicates != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// waitFor polls cond for at most 30 s.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestSpoolFull: alerts beyond SpoolBytes are dropped and counted, not
// blocked on; once the spool drains they can be enqueued again.
func TestSpoolFull(t *testing.T) {
	r := newReceiver(t, "s", func(r *receiver) { r.status = http.StatusServiceUnavailable })
	o := fastOptions(t.TempDir(), r.target("hook"))
	o.SpoolBytes = minSpoolBytes
	d := mustOpen(t, o)
	defer closeD(t, d)
	alerts := nameAlerts("example.com", 12)
	for i := range alerts {
		alerts[i].Text = strings.Repeat("x", 32<<10)
	}
	err := d.Enqueue(context.Background(), alerts...)
	if !errors.Is(err, ErrSpoolFull) {
		t.Fatalf("Enqueue: %v, want ErrSpoolFull", err)
	}
	st := sinkStats(t, d, "hook")
	if st.Dropped == 0 || st.Enqueued == 0 || st.Enqueued+st.Dropped != 12 {
		t.Fatalf("stats %+v", st)
	}
	if b := d.Stats().SpoolBytes; b > o.SpoolBytes {
		t.Errorf("spool holds %d bytes, limit %d", b, o.SpoolBytes)
	}
	r.set(func(r *receiver) { r.status = 0 })
	flush(t, d)
	if err := d.Enqueue(context.Background(), alerts...); err != nil {
		t.Fatal(err)
	}
	flush(t, d)
	wantEach(t, r.counts(), alerts, 1)
}

// TestEnqueueInvalid: a bad alert fails the call and spools nothing.
func TestEnqueueInvalid(t *testing.T) {
	good := axfrAlert()
	cases := []struct {
		name string
		edit func(a *Alert)
	}{
		{"no id", func(a *Alert) { a.ID = "" }},
		{"id with space", func(a *Alert) { a.ID = "a b" }},
		{"id too long", func(a *Alert) { a.ID = strings.Repeat("a", 129) }},
		{"no time", func(a *Alert) { a.Time = time.Time{} }},
		{"no domain", func(a *Alert) { a.Domain = "" }},
		{"unknown kind", func(a *Alert) { a.Kind = "finding-exploded" }},
		{"severity", func(a *Alert) { a.Severity = 7 }},
		{"too large", func(a *Alert) { a.ID, a.Text = "other", strings.Repeat("x", maxRecordBytes) }},
	}
	r := newReceiver(t, "s")
	dir := t.TempDir()
	d := mustOpen(t, fastOptions(dir, r.target("hook")))
	defer closeD(t, d)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := good
			tc.edit(&bad)
			if err := d.Enqueue(context.Background(), good, bad); !errors.Is(err, ErrInvalidAlert) {
				t.Errorf("Enqueue: %v, want ErrInvalidAlert", err)
			}
		})
	}
	if st := sinkStats(t, d, "hook"); st.Enqueued != 0 {
		t.Errorf("stats %+v", st)
	}
	if q := queueFiles(t, dir); len(q) != 0 {
		t.Errorf("spool holds %v", q)
	}
}

// TestOptionsErrors: Open refuses bad options with ErrOptions.
func TestOptionsErrors(t *testing.T) {
	r := newReceiver(t, "s")
	cases := []struct {
		name string
		edit func(o *Options)
	}{
		{"no dir", func(o *Options) { o.Dir = "" }},
		{"no targets", func(o *Options) { o.Targets = nil }},
		{"bad name", func(o *Options) { o.Targets[0].Name = "Hook" }},
		{"same name", func(o *Options) { o.Targets = append(o.Targets, o.Targets[0]) }},
		{"nil sink", func(o *Options) { o.Targets[0].Sink = nil }},
		{"rule names unknown sink", func(o *Options) { o.Rules[0].Sinks = []string{"nope"} }},
		{"rule bad kind", func(o *Options) { o.Rules[0].Kinds = []string{"nope"} }},
		{"backoff", func(o *Options) { o.MinBackoff, o.MaxBackoff = time.Minute, time.Second }},
		{"max age beyond dedupe", func(o *Options) { o.MaxAge, o.DedupeAge = 48*time.Hour, 24*time.Hour }},
		{"digest max", func(o *Options) { o.DigestMax = 1 }},
		{"spool bytes", func(o *Options) { o.SpoolBytes = 100 }},
		{"attempts", func(o *Options) { o.MaxAttempts = -1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := fastOptions(t.TempDir(), r.target("hook"))
			tc.edit(&o)
			if d, err := Open(o); !errors.Is(err, ErrOptions) {
				t.Errorf("Open: %v, want ErrOptions", err)
				if d != nil {
					closeD(t, d)
				}
			}
		})
	}
}

// TestSpoolLocked: one Dispatcher per directory.
func TestSpoolLocked(t *testing.T) {
	r := newReceiver(t, "s")
	dir := t.TempDir()
	d := mustOpen(t, fastOptions(dir, r.target("hook")))
	if _, err := Open(fastOptions(dir, r.target("hook"))); !errors.Is(err, ErrSpoolLocked) {
		t.Errorf("second Open: %v, want ErrSpoolLocked", err)
	}
	closeD(t, d)
	if err := d.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if err := d.Enqueue(context.Background(), axfrAlert()); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: %v", err)
	}
	d = mustOpen(t, fastOptions(dir, r.target("hook")))
	closeD(t, d)
}

// TestRecoverDamage: what a crash or a disk error can leave (a temporary
// file, an unreadable queue file, a half-written log line) does not stop
// the spool; the readable alerts are delivered once.
func TestRecoverDamage(t *testing.T) {
	r := newReceiver(t, "s")
	dir := t.TempDir()
	alerts := nameAlerts("example.com", 4)
	// Spool the alerts with a sink that never succeeds, and stop.
	dead := newReceiver(t, "s", func(r *receiver) { r.status = http.StatusServiceUnavailable })
	d := mustOpen(t, fastOptions(dir, dead.target("hook")))
	if err := d.Enqueue(context.Background(), alerts[:2]...); err != nil {
		t.Fatal(err)
	}
	if err := d.Enqueue(context.Background(), alerts[2:]...); err != nil {
		t.Fatal(err)
	}
	closeD(t, d)
	q := queueFiles(t, dir)
	if len(q) != 2 {
		t.Fatalf("queue %v", q)
	}
	qdir := filepath.Join(dir, queueDir)
	// The second file is damaged; a temporary file is left over; the log
	// says alerts[0] was delivered, then a torn line.
	if err := os.WriteFile(filepath.Join(qdir, q[1]), []byte(spoolHeader+"\n{\"enqueued\":"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(qdir, durable.TempPrefix+"0000000000000003.ndjson"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, sinksDir, "hook"+logExt)
	torn := string(appendDoneLine(nil, t0.Unix(), stateDelivered, alerts[0].ID)) + "17736"
	if err := os.WriteFile(logPath, []byte(torn), 0o600); err != nil {
		t.Fatal(err)
	}
	o := fastOptions(dir, r.target("hook"))
	o.Now = func() time.Time { return t0 }
	d = mustOpen(t, o)
	defer closeD(t, d)
	flush(t, d)
	wantEach(t, r.counts(), alerts[1:2], 1)
	if _, err := os.Stat(filepath.Join(dir, corruptDir, q[1])); err != nil {
		t.Errorf("damaged file not moved aside: %v", err)
	}
	if q := queueFiles(t, dir); len(q) != 0 {
		t.Errorf("queue still holds %v", q)
	}
	b, _ := os.ReadFile(logPath)
	if lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); len(lines) != 2 || strings.Contains(string(b), "17736\n") {
		t.Errorf("log after recovery:\n%s", b)
	}
}

// blockingSink never finishes an attempt before its ctx ends.
type blockingSink struct{ started atomic.Int32 }

func (b *blockingSink) Send(ctx context.Context, _ *Message) error {
	b.started.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// TestCloseGivesUpOnHungSink: Close waits for an attempt only until its
// ctx ends; the alert stays spooled for the next run.
func TestCloseGivesUpOnHungSink(t *testing.T) {
	dir := t.TempDir()
	b := &blockingSink{}
	o := fastOptions(dir, Target{Name: "hung", Sink: b})
	o.SinkTimeout = time.Hour
	d := mustOpen(t, o)
	if err := d.Enqueue(context.Background(), axfrAlert()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return b.started.Load() > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v", err)
	}
	r := newReceiver(t, "s")
	d = mustOpen(t, fastOptions(dir, r.target("hung")))
	defer closeD(t, d)
	flush(t, d)
	wantEach(t, r.counts(), []Alert{axfrAlert()}, 1)
}

// TestBackoff: doubling from MinBackoff, jittered within [b/2, b], capped,
// and a longer Retry-After is honoured up to MaxBackoff.
func TestBackoff(t *testing.T) {
	d := &Dispatcher{opt: Options{MinBackoff: time.Second, MaxBackoff: time.Minute}}
	plain := errors.New("x")
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 7: time.Minute, 100: time.Minute} {
		for range 20 {
			if got := d.backoff(n, plain); got < want/2 || got > want {
				t.Errorf("backoff(%d) = %v, want within [%v, %v]", n, got, want/2, want)
			}
		}
	}
	if got := d.backoff(1, &retryAfterError{plain, 30 * time.Second}); got != 30*time.Second {
		t.Errorf("with Retry-After 30s: %v", got)
	}
	if got := d.backoff(1, &retryAfterError{plain, time.Hour}); got != time.Minute {
		t.Errorf("with Retry-After 1h: %v", got)
	}
}
