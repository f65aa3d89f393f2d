package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/alert/alerttest"
	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
)

// watchWorld is example.com on two real BIND servers behind Unbound,
// whose zone and servers the test changes between watch periods.
type watchWorld struct {
	t    *testing.T
	w    *dnstest.World
	base string // the zone text the World generated
	ns   []*dnstest.Server
}

const watchZone = "www IN A 192.0.2.10\nshop IN CNAME shop-backend\nshop-backend IN A 192.0.2.20\n"

func newWatchWorld(t *testing.T) *watchWorld {
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.InProcess,
		Resolver:    dnstest.ResolverUnbound,
		Zones: []dnstest.WorldZone{{Name: "example.com", Records: watchZone, Servers: []dnstest.WorldServer{
			{Impl: dnstest.BIND, Version: "none", Identity: "none"}, {Impl: dnstest.BIND, Version: "none", Identity: "none"}}}},
	})
	ww := &watchWorld{t: t, w: w, base: w.Text["example.com."], ns: w.Servers("example.com")}
	return ww
}

// zone is the state of the world in one period.
type zone struct {
	dev, noBackend, axfr, lame bool
}

// apply restarts both servers with the zone z describes (ns2 serving
// another zone when lame) and Unbound with an empty cache.
func (ww *watchWorld) apply(z zone) {
	t := ww.t
	var lines []string
	for _, l := range strings.Split(ww.base, "\n") {
		if z.noBackend && strings.HasPrefix(l, "shop-backend.") {
			continue
		}
		lines = append(lines, l)
	}
	if z.dev {
		lines = append(lines, "dev.example.com. 3600 IN A 10.1.2.3")
	}
	text := strings.Join(lines, "\n") + "\n"
	for i, s := range ww.ns {
		s.Stop()
		zc := dnstest.ZoneConfig{Name: "example.com", Text: text, AllowTransfer: z.axfr && i == 0}
		if z.lame && i == 1 {
			zc = dnstest.ZoneConfig{Name: "elsewhere.test", Text: "@ IN SOA ns.elsewhere.test. h.elsewhere.test. 1 3600 600 86400 60\n@ IN NS ns.elsewhere.test.\nns IN A 192.0.2.1\n"}
		}
		ww.ns[i] = dnstest.StartBIND(t, dnstest.BINDConfig{Addr: s.Addr.Addr(), Zones: []dnstest.ZoneConfig{zc}, Version: "none", Hostname: "none", ServerID: "none"})
	}
	if err := ww.w.ResolverServer.Restart(); err != nil {
		t.Fatal(err)
	}
}

// receiver collects what every sink got: NDJSON lines, webhook bodies
// (signature checked), emails.
type receiver struct {
	t       *testing.T
	ndjson  string
	mu      sync.Mutex
	webhook []alert.Alert
	mta     *alerttest.MTA
}

const webhookSecret = "watch-test-secret"

func (r *receiver) serveWebhook(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := alert.VerifySignature([]byte(webhookSecret), req.Header.Get(alert.HeaderTimestamp), req.Header.Get(alert.HeaderSignature), body, time.Now(), time.Minute); err != nil {
		r.t.Errorf("webhook: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var b alert.WebhookBody
	if err := json.Unmarshal(body, &b); err != nil {
		r.t.Errorf("webhook body: %v", err)
	}
	r.mu.Lock()
	r.webhook = append(r.webhook, b.Alerts...)
	r.mu.Unlock()
}

// ndjsonAlerts reads the NDJSON sink's file.
func (r *receiver) ndjsonAlerts() []alert.Alert {
	b, err := os.ReadFile(r.ndjson)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	var out []alert.Alert
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var a alert.Alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			r.t.Fatalf("ndjson line %q: %v", l, err)
		}
		out = append(out, a)
	}
	return out
}

func (r *receiver) webhookAlerts() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.webhook)
}

// mailIDs returns the alert IDs of the emails (one recipient), which the
// mail rule sends one by one (findings and outages after the baseline).
func (r *receiver) mailIDs(settle time.Duration) []string {
	var ids []string
	for _, m := range r.mta.Settle(r.t, settle) {
		for _, l := range strings.Split(m.Body, "\n") {
			if id, ok := strings.CutPrefix(strings.TrimSpace(l), "Alert ID:"); ok {
				ids = append(ids, strings.TrimSpace(id))
			}
		}
	}
	return ids
}

// change is an alert reduced to what the test expects: kind, finding id
// and subject name (without the " (address)" part).
func change(a alert.Alert) string {
	subject, _, _ := strings.Cut(a.Subject, " ")
	id := ""
	if a.Finding != nil {
		id = a.Finding.ID + " "
	}
	return a.Kind + " " + id + subject
}

// TestWatchRealWorld runs `dnsscout watch` as a child process against
// example.com on two real BIND servers behind Unbound, one period after
// another, while the zone changes: a name appears and vanishes, AXFR
// opens and closes, a CNAME's target is deleted and restored, a
// nameserver goes lame and recovers, the resolver goes down for two
// periods. Each change must be alerted once, in its period, on the NDJSON
// file, a webhook receiver and a real Exim; the child is killed with
// SIGKILL after a scan and restarted without re-alerting; resolved
// findings close at the start of the scan that no longer saw them; the
// outage is one alert and changes no finding.
func TestWatchRealWorld(t *testing.T) {
	if os.Getenv("DNSSCOUT_CHILD_ARGS") != "" {
		t.Skip("child")
	}
	ww := newWatchWorld(t)
	mta := alerttest.StartMTA(t)
	dir := t.TempDir()
	rcv := &receiver{t: t, ndjson: filepath.Join(dir, "alerts.ndjson"), mta: mta}
	hook := httptest.NewServer(http.HandlerFunc(rcv.serveWebhook))
	t.Cleanup(hook.Close)
	cfg := map[string]any{
		"every":   "1s",
		"domains": []any{map[string]any{"domain": "example.com"}},
		"alerts": map[string]any{
			"rules": []any{
				map[string]any{"name": "all", "sinks": []string{"file", "hook"}},
				map[string]any{"name": "mail", "kinds": []string{"finding-opened", "finding-resolved", "finding-reopened", "outage"},
					"finding_ids": nil, "sinks": []string{"mail"}},
			},
			"sinks": []any{
				map[string]any{"name": "file", "ndjson": map[string]any{"path": rcv.ndjson}},
				map[string]any{"name": "hook", "webhook": map[string]any{"url": hook.URL, "secret": webhookSecret}},
				map[string]any{"name": "mail", "smtp": map[string]any{"address": mta.Addr.String(), "username": mta.User, "password": mta.Password,
					"from": "dnsscout@example.net", "to": []string{"ops@example.net"}, "tls": map[string]any{"ca_file": mta.CAFile, "server_name": mta.ServerName}}},
			},
		},
	}
	cb, _ := json.Marshal(cfg)
	config := filepath.Join(dir, "watch.json")
	words := filepath.Join(dir, "words.txt")
	for p, b := range map[string][]byte{config: cb, words: []byte("www\ndev\nshop\nmail\n")} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "db")
	args := []string{"--db", db, "-r", ww.w.Resolver.String(), "--nameserver-port", fmt.Sprint(ww.w.Port), "-w", words,
		"--no-ptr", "--timeout", "500ms", "--retries", "1", "--log-level", "info", config}
	child := func(extra ...string) *exec.Cmd {
		// TestIngestChild runs any dnsscout command as main does.
		cmd := exec.Command(os.Args[0], "-test.run=^TestIngestChild$")
		cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "DNSSCOUT_CHILD_ARGS="+strings.Join(append(append([]string{"watch"}, extra...), args...), "\n"))
		return cmd
	}
	once := func() {
		t.Helper()
		out, err := child("--once").CombinedOutput()
		if err != nil {
			t.Fatalf("watch --once: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "msg=scanned") && !strings.Contains(string(out), "scan failed") {
			t.Fatalf("watch --once scanned nothing:\n%s", out)
		}
	}
	// killAfterScan runs watch without --once and kills it with SIGKILL
	// as soon as it has recorded its scan: its alerts are spooled but not
	// sent.
	killAfterScan := func() {
		t.Helper()
		// The dispatcher holds new alerts for 5 s (--digest-window): the
		// kill lands after the scan is recorded and spooled, before the
		// delivery.
		cmd := child("--digest-window", "5s")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		var seen []string
		for sc.Scan() {
			seen = append(seen, sc.Text())
			if strings.Contains(sc.Text(), "msg=scanned") {
				break
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if !strings.Contains(strings.Join(seen, "\n"), "msg=scanned") {
			t.Fatalf("the watch died before its scan:\n%s", strings.Join(seen, "\n"))
		}
		// The restart delivers what the killed process spooled.
		time.Sleep(1100 * time.Millisecond)
		once()
	}

	periods := []struct {
		name   string
		z      zone
		outage bool
		kill   bool
		// want are the changes alerted in this period (besides the
		// baseline's findings in the first).
		want []string
		// resolved are finding ids that must close in this period.
		resolved []string
	}{
		{name: "baseline", want: []string{"baseline example.com"}},
		{name: "unchanged"},
		{name: "a name appears with a private address", z: zone{dev: true},
			want: []string{"name-added dev.example.com", "finding-opened private-address-leak dev.example.com"}},
		{name: "it vanishes (killed after the scan)", kill: true,
			want: []string{"name-removed dev.example.com", "finding-resolved private-address-leak dev.example.com"}, resolved: []string{"private-address-leak"}},
		{name: "AXFR opens (and IXFR with it)", z: zone{axfr: true},
			want: []string{"finding-opened axfr-allowed ns1.example.com", "finding-opened ixfr-allowed ns1.example.com"}},
		{name: "AXFR closes", want: []string{"finding-resolved axfr-allowed ns1.example.com", "finding-resolved ixfr-allowed ns1.example.com"},
			resolved: []string{"axfr-allowed", "ixfr-allowed"}},
		{name: "a CNAME's target is deleted", z: zone{noBackend: true},
			want: []string{"name-removed shop-backend.example.com", "finding-opened dangling-cname shop.example.com"}},
		{name: "it is restored", want: []string{"name-added shop-backend.example.com", "finding-resolved dangling-cname shop.example.com"},
			resolved: []string{"dangling-cname"}},
		{name: "a nameserver goes lame", z: zone{lame: true}, want: []string{"finding-opened lame-delegation ns2.example.com"}},
		{name: "it recovers", want: []string{"finding-resolved lame-delegation ns2.example.com"}, resolved: []string{"lame-delegation"}},
		{name: "the resolver goes down", outage: true, want: []string{"outage example.com"}},
		{name: "and stays down", outage: true},
		{name: "it is back", want: nil},
	}
	seenIDs := map[string]bool{}
	var nd, wh []alert.Alert
	resolvedIn := map[string][2]time.Time{}
	prevZone, prevOutage := zone{}, false
	for i, p := range periods {
		if i == 0 || p.z != prevZone {
			ww.apply(p.z)
		}
		if p.outage && !prevOutage {
			ww.w.ResolverServer.Stop()
		}
		if !p.outage && prevOutage {
			if err := ww.w.ResolverServer.Restart(); err != nil {
				t.Fatal(err)
			}
		}
		prevZone, prevOutage = p.z, p.outage
		time.Sleep(1100 * time.Millisecond) // the interval: the domain is due
		start := time.Now()
		if p.kill {
			killAfterScan()
		} else {
			once()
		}
		end := time.Now()
		for _, id := range p.resolved {
			resolvedIn[id] = [2]time.Time{start, end}
		}
		newND := rcv.ndjsonAlerts()[len(nd):]
		nd = append(nd, newND...)
		all := rcv.webhookAlerts()
		newWH := all[len(wh):]
		wh = all
		var got []string
		for _, a := range newND {
			if seenIDs[a.ID] {
				t.Errorf("period %d (%s): alert %s (%s) delivered again", i, p.name, a.ID, change(a))
			}
			seenIDs[a.ID] = true
			if i == 0 && a.Kind == alert.KindFindingOpened {
				continue // the baseline's findings
			}
			got = append(got, change(a))
		}
		slices.Sort(got)
		want := slices.Clone(p.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("period %d (%s): alerts\n got %q\nwant %q", i, p.name, got, want)
		}
		whIDs, ndIDs := idsOf(newWH), idsOf(newND)
		if !slices.Equal(whIDs, ndIDs) {
			t.Errorf("period %d (%s): the webhook got %d alerts, the file %d", i, p.name, len(whIDs), len(ndIDs))
		}
	}
	// Email: each finding change and the outage once, the same IDs.
	var wantMail []string
	for _, a := range nd {
		if slices.Contains([]string{alert.KindFindingOpened, alert.KindFindingResolved, alert.KindFindingReopened, alert.KindOutage}, a.Kind) {
			wantMail = append(wantMail, a.ID)
		}
	}
	slices.Sort(wantMail)
	gotMail := rcv.mailIDs(30 * time.Second)
	slices.Sort(gotMail)
	if !slices.Equal(gotMail, wantMail) {
		t.Errorf("emails carry %d alert ids, want %d (digests are not expected here)", len(gotMail), len(wantMail))
	}
	// The history: findings closed at the start of the scan that no longer
	// saw them, the outage changed no finding.
	st, err := store.Open(context.Background(), db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := store.HistoryOf(st)
	if err != nil {
		t.Fatal(err)
	}
	states, _, err := h.Findings(context.Background(), store.FindingQuery{Domain: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		win, ok := resolvedIn[s.Finding.ID]
		if !ok {
			continue
		}
		if s.State != history.StateResolved || s.ResolvedAt.Before(win[0]) || s.ResolvedAt.After(win[1]) {
			t.Errorf("%s: %s at %v, want resolved between %v and %v", s.Key, s.State, s.ResolvedAt, win[0], win[1])
		}
		if s.LastSeen.After(s.ResolvedAt) {
			t.Errorf("%s: last seen %v after it was resolved", s.Key, s.LastSeen)
		}
	}
	scans, _, err := h.Scans(context.Background(), store.ScanQuery{Domain: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	outages := 0
	for _, s := range scans {
		if s.Outage {
			outages++
		}
	}
	if outages != 2 {
		t.Errorf("%d outage scans, want 2", outages)
	}
}

func idsOf(as []alert.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	slices.Sort(out)
	return out
}
