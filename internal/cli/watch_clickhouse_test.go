package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/api"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse/chtest"
)

// TestWatchClickHouse: watch with its history on a real ClickHouse, over
// three periods — a baseline, a dangling CNAME published, then removed —
// alerts the finding opened once and resolved once, and the history API
// of a server on the same database answers with the three scans and the
// finding resolved at the third scan's start.
func TestWatchClickHouse(t *testing.T) {
	s := chtest.StartServer(t)
	dsn := "clickhouse://" + s.Addr + "/watch_test"
	if code, out, errOut := run(t, nil, "pdns", "migrate", "--db", dsn); code != ExitOK {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
	dir := t.TempDir()
	words := filepath.Join(dir, "words")
	if err := os.WriteFile(words, []byte("www\nshop\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const fixed = "www IN A 192.0.2.10\n"
	periods := []struct {
		name, zone string
		want       []string // kind subject of alerts that must come, once
		not        []string // must not come
	}{
		{"baseline", fixed, []string{"baseline example.test"}, []string{"finding-opened shop.example.test"}},
		{"a CNAME dangles", fixed + "shop IN CNAME gone.example.test.\n", []string{"finding-opened shop.example.test", "name-added shop.example.test"}, []string{"baseline example.test"}},
		{"fixed", fixed, []string{"finding-resolved shop.example.test", "name-removed shop.example.test"}, []string{"finding-opened shop.example.test"}},
	}
	for i, p := range periods {
		if i > 0 {
			waitFor1s()
		}
		resolverAddr, port := serveZone(t, "example.test", p.zone)
		code, out, errOut := run(t, nil, "watch", "--once", "-r", resolverAddr.String(), "--nameserver-port", port, "-w", words, "--no-ptr",
			"--timeout", "500ms", "--retries", "1", "--db", dsn, "--spool", filepath.Join(dir, "spool"), "--every", "1s", "--log-level", "warn", "example.test")
		if code != ExitOK {
			t.Fatalf("%s: exit %d: %s", p.name, code, errOut)
		}
		seen := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var a alert.Alert
			if err := json.Unmarshal([]byte(l), &a); err != nil {
				t.Fatalf("%s: %q: %v", p.name, l, err)
			}
			seen[a.Kind+" "+a.Subject]++
		}
		for _, w := range p.want {
			if seen[w] != 1 {
				t.Errorf("%s: %q alerted %d times, want once (%v)", p.name, w, seen[w], seen)
			}
		}
		for _, n := range p.not {
			if seen[n] != 0 {
				t.Errorf("%s: %q alerted again", p.name, n)
			}
		}
	}
	// The history API of a server on the same database.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr serveLogBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--db", dsn, "--listen", "127.0.0.1:0", "--stats-interval", "0"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	base := serveBase(t, &stderr, done)
	getJSON := func(path string, v any) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, res.StatusCode, b)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var scans api.ScanList
	getJSON("/api/v1/scans?domain=example.test", &scans)
	if len(scans.Scans) != 3 {
		t.Fatalf("%d scans, want 3: %+v", len(scans.Scans), scans.Scans)
	}
	for _, sc := range scans.Scans {
		if !sc.Complete || sc.Outage {
			t.Errorf("scan %s: complete %v, outage %v", sc.ID, sc.Complete, sc.Outage)
		}
	}
	var fs api.FindingList
	getJSON("/api/v1/findings?domain=example.test&state=resolved", &fs)
	var resolved int
	for _, f := range fs.Findings {
		if f.Finding.Subject != "shop.example.test" {
			continue
		}
		resolved++
		if !f.ResolvedAt.Equal(scans.Scans[0].Started) || f.ResolvedScan != scans.Scans[0].ID {
			t.Errorf("%s resolved at %v by %s, want the third scan: %v %s", f.Finding.ID, f.ResolvedAt, f.ResolvedScan, scans.Scans[0].Started, scans.Scans[0].ID)
		}
		if !f.FirstSeen.Equal(scans.Scans[1].Started) {
			t.Errorf("%s first seen %v, want the second scan's start %v", f.Finding.ID, f.FirstSeen, scans.Scans[1].Started)
		}
	}
	if resolved == 0 {
		t.Errorf("no resolved finding on shop.example.test: %+v", fs.Findings)
	}
	var evs api.EventList
	getJSON("/api/v1/events?domain=example.test&kind=finding-opened,finding-resolved&order=oldest", &evs)
	var kinds []string
	for _, e := range evs.Events {
		if e.Subject == "shop.example.test" {
			kinds = append(kinds, e.Kind)
		}
	}
	if strings.Join(kinds, " ") != "finding-opened finding-resolved" {
		t.Errorf("timeline of shop.example.test: %v", kinds)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
