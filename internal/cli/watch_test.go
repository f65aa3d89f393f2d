package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/alert"
)

// TestWatchUsage: bad flags, files and domains are one clear line and the
// documented exit code, before anything is opened.
func TestWatchUsage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	typo := write("typo.json", `{"domains": [{"domain": "example.com"}], "evry": "1h"}`)
	good := write("good.json", `{"domains": [{"domain": "example.com"}]}`)
	alerts := write("alerts.json", `{"rules": [{"name": "all", "sinks": ["out"]}], "sinks": [{"name": "out", "ndjson": {}}]}`)
	db := filepath.Join(dir, "db")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown field in the config", []string{"watch", "-r", "127.0.0.1", "--db", db, typo}, ExitError, `unknown field "evry"`},
		{"interval too short", []string{"watch", "-r", "127.0.0.1", "--db", db, "--every", "10ms", "example.com"}, ExitUsage, "shorter than 1s"},
		{"not a domain", []string{"watch", "-r", "127.0.0.1", "--db", db, "--every", "1h", "exa mple.com"}, ExitUsage, "exa mple.com"},
		{"--alerts with a config", []string{"watch", "-r", "127.0.0.1", "--db", db, "--alerts", alerts, good}, ExitUsage, "--alerts is for domains"},
		{"bad parallelism", []string{"watch", "-r", "127.0.0.1", "--db", db, "--parallel", "0", good}, ExitUsage, "--parallel"},
		{"serve --watch without a resolver", []string{"serve", "--db", db, "--watch", good}, ExitUsage, "--watch needs --resolver"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.want)
			}
		})
	}
}

// TestWatchOnce: two passes of watch --once over an in-process world, the
// alerts as NDJSON on standard output: the first is the baseline, the
// second (not yet due) scans nothing, the third (due) sees no change.
func TestWatchOnce(t *testing.T) {
	resolverAddr, port := serveZone(t, "example.test", "www IN A 192.0.2.10\nshop IN CNAME gone.example.test.\n")
	dir := t.TempDir()
	db, words := filepath.Join(dir, "db"), filepath.Join(dir, "words")
	if err := os.WriteFile(words, []byte("www\nshop\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := func(every string) []string {
		return []string{"watch", "--once", "-r", resolverAddr.String(), "--nameserver-port", port, "-w", words, "--no-ptr",
			"--timeout", "500ms", "--retries", "1", "--db", db, "--every", every, "--log-level", "warn", "example.test"}
	}
	code, out, errOut := run(t, nil, args("1h")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	kinds := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var a alert.Alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		kinds[a.Kind+" "+a.Subject]++
	}
	if kinds["baseline example.test"] != 1 || kinds["finding-opened shop.example.test"] != 1 {
		t.Errorf("first pass: %v, want the baseline and the dangling CNAME", kinds)
	}
	for _, every := range []string{"1h", "1s"} {
		if every == "1s" {
			// Due again: scanned, nothing changed.
			waitFor1s()
		}
		code, out, errOut = run(t, nil, args(every)...)
		if code != ExitOK || out != "" {
			t.Errorf("--every %s: exit %d, alerts %q (stderr %s), want none", every, code, out, errOut)
		}
	}
	// A domain that fails is alerted and fails the pass, not skipped.
	a := args("1h")
	a[len(a)-1] = "nowhere.test"
	code, out, errOut = run(t, nil, a...)
	if code != ExitError || !strings.Contains(errOut, "1 of 1 domains failed") || !strings.Contains(out, `"kind":"scan-failed"`) {
		t.Errorf("a missing domain: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// waitFor1s lets a 1 s interval pass.
func waitFor1s() { time.Sleep(1100 * time.Millisecond) }

// TestServeWatch: serve --watch scans its domain through --resolver into
// the store it serves; the inventory, the open findings and the watch's
// metrics are served while it runs, and the context (SIGTERM) stops both.
func TestServeWatch(t *testing.T) {
	resolverAddr, port := serveZone(t, "example.test", "www IN A 192.0.2.10\nshop IN CNAME gone.example.test.\n")
	dir := t.TempDir()
	out := filepath.Join(dir, "alerts.ndjson")
	config := filepath.Join(dir, "watch.json")
	cfg := `{"every": "1h", "domains": [{"domain": "example.test"}],
	  "alerts": {"rules": [{"name": "all", "sinks": ["file"]}], "sinks": [{"name": "file", "ndjson": {"path": ` + strconv.Quote(out) + `}}]}}`
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr serveLogBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--db", filepath.Join(dir, "db"), "--listen", "127.0.0.1:0", "--stats-interval", "0",
			"-r", resolverAddr.String(), "--nameserver-port", port, "--watch", config}, strings.NewReader(""), io.Discard, &stderr)
	}()
	base := serveBase(t, &stderr, done)
	get := func(path string) string {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(get("/api/v1/findings?state=open"), `"dangling-cname"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no scan recorded: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if inv := get("/api/v1/domains"); !strings.Contains(inv, `"domain":"example.test"`) || !strings.Contains(inv, `"watched":true`) {
		t.Errorf("inventory: %s", inv)
	}
	// The metrics follow the record: wait for the scan to be counted.
	met := get("/metrics")
	for !strings.Contains(met, `dnsscout_watch_scans_total{outcome=`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		met = get("/metrics")
	}
	for _, m := range []string{`dnsscout_watch_scans_total{outcome=`, `dnsscout_watch_domain_open_findings{domain="example.test",severity=`,
		`dnsscout_alert_pending{sink="file",type="ndjson"}`, `dnsscout_http_requests_total`} {
		if !strings.Contains(met, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	// What the dispatcher did not deliver before the stop stays spooled:
	// a watch --once on the same store delivers it (and scans nothing).
	code, _, errOut := run(t, nil, "watch", "--once", "-r", resolverAddr.String(), "--db", filepath.Join(dir, "db"), config)
	if code != ExitOK {
		t.Fatalf("watch --once: %d %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"kind":"baseline"`); n != 1 {
		t.Errorf("%d baseline alerts, want 1:\n%s", n, b)
	}
}
