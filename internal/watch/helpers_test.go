package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
	_ "github.com/dnsscout/dnsscout/internal/store/pebble"
)

// t0 is the start of the test clock.
var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openHistory opens a Pebble store in dir and returns its history area.
func openHistory(t *testing.T, dir string) (store.History, func()) {
	t.Helper()
	b, err := store.Open(context.Background(), "pebble://"+dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := store.HistoryOf(b)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	return h, func() { b.Close() }
}

// world is a scripted runner: what each domain's next scan sees.
type world struct {
	mu    sync.Mutex
	clock *clock
	now   map[string]Result
	calls map[string]int
}

func newWorld(c *clock) *world {
	return &world{clock: c, now: make(map[string]Result), calls: make(map[string]int)}
}

// set says what scans of domain see from now on.
func (w *world) set(domain string, r Result) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r.Domain = domain
	w.now[domain] = r
}

func (w *world) Run(ctx context.Context, domains []string, emit func(Result)) {
	for _, d := range domains {
		w.mu.Lock()
		r, ok := w.now[d]
		w.calls[d]++
		w.mu.Unlock()
		if !ok {
			r = Result{Domain: d, Err: errors.New("no such domain in the test world")}
		}
		r.Started = w.clock.Now()
		r.Finished = r.Started.Add(2 * time.Second)
		r.Snapshot.Domain = d
		emit(r)
	}
}

func (w *world) callsOf(d string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[d]
}

// sink records the alerts enqueued, and can fail.
type sink struct {
	mu     sync.Mutex
	alerts []alert.Alert
	fail   bool
}

func (s *sink) Enqueue(_ context.Context, as ...alert.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("spool unavailable")
	}
	s.alerts = append(s.alerts, as...)
	return nil
}

// take returns the alerts enqueued since the last take, as "kind subject"
// lines, sorted.
func (s *sink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.alerts {
		out = append(out, a.Kind+" "+a.Subject)
	}
	s.alerts = nil
	slices.Sort(out)
	return out
}

func snap(names []string, records []history.Record, ns []string, fs ...finding.Finding) Result {
	return Result{Complete: true, Snapshot: history.Snapshot{Names: names, Records: records, Nameservers: ns, Findings: fs}}
}

func fnd(id, subject string, sev finding.Severity) finding.Finding {
	return finding.Finding{ID: id, Subject: subject, Severity: sev, Title: strings.ReplaceAll(id, "-", " ")}
}

func rec(name, typ, data string) history.Record {
	return history.Record{Name: name, Type: typ, Data: data}
}

func lines(format string, args ...any) []string {
	if format == "" {
		return nil
	}
	out := strings.Split(fmt.Sprintf(format, args...), "\n")
	slices.Sort(out)
	return out
}
