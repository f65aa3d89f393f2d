package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeWatchManagedDomains: serve --watch started without domains
// gets one through "dnsscout domains add" (the API), scans it and alerts
// its baseline and its finding; "domains ls" shows it with its source;
// "domains rm" stops watching it, and removing it again, or adding without
// an admin key, fails with the server's reason.
func TestServeWatchManagedDomains(t *testing.T) {
	resolverAddr, port := serveZone(t, "example.test", "www IN A 192.0.2.10\nshop IN CNAME gone.example.test.\n")
	dir := t.TempDir()
	db, out, config := filepath.Join(dir, "db"), filepath.Join(dir, "alerts.ndjson"), filepath.Join(dir, "watch.json")
	cfg := `{"every": "1h", "domains": [],
	  "alerts": {"rules": [{"name": "all", "sinks": ["file"]}], "sinks": [{"name": "file", "ndjson": {"path": ` + strconv.Quote(out) + `}}]}}`
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, admin, errOut := run(t, nil, "keys", "add", "--db", db, "--name", "watch-admin", "--perms", "query,admin")
	if code != ExitOK {
		t.Fatalf("keys add: %d %s", code, errOut)
	}
	code, reader, errOut := run(t, nil, "keys", "add", "--db", db, "--name", "reader")
	if code != ExitOK {
		t.Fatalf("keys add: %d %s", code, errOut)
	}
	admin, reader = strings.TrimSpace(admin), strings.TrimSpace(reader)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr serveLogBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--stats-interval", "0", "--watch-digest-window", "0",
			"-r", resolverAddr.String(), "--nameserver-port", port, "--watch", config}, strings.NewReader(""), io.Discard, &stderr)
	}()
	base := serveBase(t, &stderr, done)
	domains := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, nil, append([]string{"domains"}, args...)...)
	}
	if code, _, errOut := domains("add", "--server", base, "--key", reader, "example.test"); code == ExitOK || !strings.Contains(errOut, "403") || !strings.Contains(errOut, "admin") {
		t.Errorf("add with a query key: exit %d, %s; want a 403 naming the admin permission", code, errOut)
	}
	code, stdout, errOut := domains("add", "--server", base, "--key", admin, "--every", "2h", "Example.TEST.")
	if code != ExitOK || !strings.Contains(stdout, "example.test\tadded\tevery 2h0m0s") {
		t.Fatalf("add: exit %d, %q, %s", code, stdout, errOut)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		if strings.Contains(string(b), `"kind":"baseline"`) && strings.Contains(string(b), `"subject":"shop.example.test"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the added domain was not scanned and alerted: %s\n%s", b, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, stdout, errOut = domains("ls", "--server", base, "--key", reader)
	if code != ExitOK || !strings.Contains(stdout, "example.test") || !strings.Contains(stdout, " api ") || !strings.Contains(stdout, "2h0m0s") {
		t.Errorf("ls: exit %d, %q, %s", code, stdout, errOut)
	}
	code, stdout, errOut = domains("rm", "--server", base, "--key", admin, "example.test")
	if code != ExitOK || !strings.Contains(stdout, "example.test\tremoved") {
		t.Errorf("rm: exit %d, %q, %s", code, stdout, errOut)
	}
	if code, _, errOut := domains("rm", "--server", base, "--key", admin, "example.test"); code == ExitOK || !strings.Contains(errOut, "not managed") {
		t.Errorf("rm again: exit %d, %s; want not managed", code, errOut)
	}
	if code, _, errOut := domains("ls", "--key", admin); code != ExitUsage || !strings.Contains(errOut, "--server") {
		t.Errorf("ls without --server: exit %d, %s", code, errOut)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("serve exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
