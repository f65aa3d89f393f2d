package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
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
}

// waitFor1s lets a 1 s interval pass.
func waitFor1s() { time.Sleep(1100 * time.Millisecond) }
