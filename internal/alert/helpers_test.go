package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current output")

// golden compares got with testdata/golden/name.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// t0 is the time of the sample alerts.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// axfrAlert is a finding-opened alert as a watch run makes it.
func axfrAlert() Alert {
	f := &finding.Finding{
		ID: "axfr-allowed", Severity: finding.High, Title: "Zone transfer allowed",
		Subject:     "ns1.example.com (192.0.2.1)",
		Evidence:    []string{"AXFR of example.com from 192.0.2.1 returned 26 records", "the <first> record: example.com. SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300"},
		Remediation: "Restrict zone transfers to the secondaries' addresses\n(allow-transfer in BIND, provide-xfr in NSD).",
		References:  []string{"https://www.rfc-editor.org/rfc/rfc5936"},
	}
	return Alert{
		ID: NewID("example.com", KindFindingOpened, f.Subject, f.ID, "scan-42"), Time: t0, Domain: "example.com",
		Kind: KindFindingOpened, Severity: finding.High, Subject: f.Subject, Title: f.Title,
		Text: "Zone transfer allowed on ns1.example.com (192.0.2.1): anyone can list the zone", Finding: f,
		Link: "https://dnsscout.example.net/domains/example.com/timeline?at=scan-42",
	}
}

// nameAlert is a name-added alert for domain, numbered i.
func nameAlert(domain string, i int) Alert {
	name := fmt.Sprintf("host%d.%s", i, domain)
	return Alert{
		ID: NewID(domain, KindNameAdded, name, "", "scan-42"), Time: t0.Add(time.Duration(i) * time.Second), Domain: domain,
		Kind: KindNameAdded, Severity: finding.Info, Subject: name, Text: "new name " + name + " (192.0.2." + fmt.Sprint(i%250+1) + ")",
	}
}

func nameAlerts(domain string, n int) []Alert {
	out := make([]Alert, n)
	for i := range out {
		out[i] = nameAlert(domain, i)
	}
	return out
}

// receiver is a webhook endpoint: it checks every signature, can fail the
// first requests or every request, and counts what it accepted.
type receiver struct {
	t      testing.TB
	secret []byte
	srv    *httptest.Server

	mu        sync.Mutex
	failFirst int           // answer 503 to this many requests first
	status    int           // when not 0, answer this to every request
	delay     time.Duration // before answering
	requests  int
	got       map[string]int // alert ID -> accepted deliveries
	bodies    []WebhookBody  // accepted, in order
	badSigs   int
	delivered chan struct{} // receives after every accepted request
}

// newReceiver starts a receiver after applying setup to it.
func newReceiver(t testing.TB, secret string, setup ...func(r *receiver)) *receiver {
	r := &receiver{t: t, secret: []byte(secret), got: map[string]int{}, delivered: make(chan struct{}, 1<<16)}
	for _, f := range setup {
		f(r)
	}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	if err := VerifySignature(r.secret, req.Header.Get(HeaderTimestamp), req.Header.Get(HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		r.mu.Lock()
		r.badSigs++
		r.mu.Unlock()
		r.t.Errorf("receiver: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	r.requests++
	fail := r.requests <= r.failFirst
	status, delay := r.status, r.delay
	r.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if fail {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if status != 0 {
		http.Error(w, "no", status)
		return
	}
	var wb WebhookBody
	if err := json.Unmarshal(body, &wb); err != nil || wb.Version != 1 || len(wb.Alerts) == 0 || req.Header.Get(HeaderDelivery) != wb.Delivery {
		r.t.Errorf("receiver: bad body (%v): %s", err, body)
		http.Error(w, "bad body", 400)
		return
	}
	r.mu.Lock()
	for _, a := range wb.Alerts {
		r.got[a.ID]++
	}
	r.bodies = append(r.bodies, wb)
	r.mu.Unlock()
	r.delivered <- struct{}{}
}

// counts returns a copy of the accepted deliveries per alert ID.
func (r *receiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.got))
	for k, v := range r.got {
		out[k] = v
	}
	return out
}

func (r *receiver) requestCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

func (r *receiver) accepted() []WebhookBody {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]WebhookBody(nil), r.bodies...)
}

func (r *receiver) set(f func(r *receiver)) {
	r.mu.Lock()
	f(r)
	r.mu.Unlock()
}

// target is a webhook sink to the receiver.
func (r *receiver) target(name string) Target {
	s, err := newWebhook(&WebhookConfig{URL: r.srv.URL + "/hook", Secret: string(r.secret)}, &Env{Now: time.Now})
	if err != nil {
		r.t.Fatal(err)
	}
	return Target{Name: name, Type: "webhook", Sink: s}
}

// fastOptions are Options for tests: short backoffs, no digest window.
func fastOptions(dir string, targets ...Target) Options {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name
	}
	return Options{
		Dir: dir, Targets: targets, Rules: []Rule{{Name: "all", Sinks: names}},
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, DigestWindow: -1, DigestThreshold: -1,
		SinkTimeout: 10 * time.Second,
	}
}

func mustOpen(t testing.TB, o Options) *Dispatcher {
	t.Helper()
	d, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func flush(t testing.TB, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v; stats %+v", err, d.Stats())
	}
}

func closeD(t testing.TB, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// sinkStats returns the named sink's stats.
func sinkStats(t testing.TB, d *Dispatcher, name string) SinkStats {
	t.Helper()
	for _, s := range d.Stats().Sinks {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sink %s", name)
	return SinkStats{}
}

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
