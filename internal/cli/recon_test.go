package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// run executes the CLI with args and returns exit code, stdout, stderr.
func run(t *testing.T, e *env, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if e == nil {
		e = &env{getenv: func(string) string { return "" }, resolvConf: filepath.Join(t.TempDir(), "missing-resolv.conf")}
	}
	e.stdin, e.stdout, e.stderr = strings.NewReader(""), &out, &errb
	code := runEnv(context.Background(), e, args)
	return code, out.String(), errb.String()
}

// serveZone starts an in-process world (root, TLD, the zone) with an
// in-process recursive resolver and returns the resolver's address and the
// port of the world's nameservers.
func serveZone(t *testing.T, origin, records string) (netip.AddrPort, string) {
	t.Helper()
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.InProcess,
		Resolver:    dnstest.ResolverInProcess,
		Zones:       []dnstest.WorldZone{{Name: origin, Records: records}},
	})
	return w.Resolver, strconv.Itoa(int(w.Port))
}

const zoneText = "www 3600 IN A 192.0.2.10\n"

func TestReconUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no domain", []string{"recon"}, ExitUsage, "requires at least 1 arg"},
		{"invalid domain", []string{"recon", "-r", "127.53.199.9", "exa mple.com"}, ExitUsage, `invalid domain "exa mple.com"`},
		{"wildcard domain", []string{"recon", "-r", "127.53.199.9", "*.example.com"}, ExitUsage, "invalid domain"},
		{"host name resolver", []string{"recon", "-r", "dns.example.net", "example.com"}, ExitUsage, "want an IP address"},
		{"bad format", []string{"recon", "-r", "127.53.199.9", "--format", "yaml", "example.com"}, ExitUsage, `unknown format "yaml"`},
		{"bad fail-on", []string{"recon", "-r", "127.53.199.9", "--fail-on", "urgent", "example.com"}, ExitUsage, "--fail-on"},
		{"unknown check", []string{"recon", "-r", "127.53.199.9", "--checks", "no-such-check", "example.com"}, ExitUsage, "no-such-check"},
		{"unknown flag", []string{"recon", "--frobnicate", "example.com"}, ExitUsage, "unknown flag"},
		{"zero transfer cap", []string{"recon", "-r", "127.53.199.9", "--axfr-max-records", "0", "example.com"}, ExitUsage, "--axfr-max-records must be positive"},
		{"negative transfer timeout", []string{"recon", "-r", "127.53.199.9", "--axfr-timeout", "-1s", "example.com"}, ExitUsage, "--axfr-timeout must be positive"},
		{"zero walk budget", []string{"recon", "-r", "127.53.199.9", "--walk-max", "0", "example.com"}, ExitUsage, "--walk-max must be positive"},
		{"zero walk timeout", []string{"recon", "-r", "127.53.199.9", "--walk-timeout", "0s", "example.com"}, ExitUsage, "--walk-timeout must be positive"},
		{"negative max time", []string{"recon", "-r", "127.53.199.9", "--max-time", "-5m", "example.com"}, ExitUsage, "--max-time must be 0 (none) or positive"},
		{"missing word list", []string{"recon", "-r", "127.53.199.9", "-w", "/nonexistent/words.txt", "example.com"}, ExitError, "word list"},
		{"unwritable output", []string{"recon", "-r", "127.53.199.9", "-o", "/nonexistent/dir/out.json", "example.com"}, ExitError, "cannot write output"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, nil, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.msg) {
				t.Errorf("stderr %q does not mention %q", errOut, tc.msg)
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Errorf("error is not one line: %q", errOut)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
		})
	}
}

func TestReconUnreachableResolver(t *testing.T) {
	// Nothing listens on this address.
	addr := dnstest.AllocAddr(t)
	code, _, errOut := run(t, nil, "recon", "-r", addr.String(), "--timeout", "200ms", "--retries", "1", "example.com")
	if code != ExitError || !strings.Contains(errOut, "resolvers unusable") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestResolvConfFallback checks that /etc/resolv.conf is read only when no
// resolver is given: with -r, an unreadable resolv.conf does not matter;
// without, recon uses the nameserver it lists.
func TestResolvConfFallback(t *testing.T) {
	srv, port := serveZone(t, "example.com", zoneText)
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver "+srv.Addr().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--nameserver-port", port, "--format", "json", "--no-ptr", "--no-srv", "-w", "none", "--skip-checks", "all", "--progress", "never"}

	e := &env{getenv: func(string) string { return "" }, resolvConf: filepath.Join(t.TempDir(), "missing")}
	code, _, errOut := run(t, e, append([]string{"recon", "-r", srv.String()}, append(common, "example.com")...)...)
	if code != ExitOK {
		t.Fatalf("with -r: exit %d: %s", code, errOut)
	}

	code, _, errOut = run(t, e, append([]string{"recon"}, append(common, "example.com")...)...)
	if code != ExitError || !strings.Contains(errOut, "no -r/--resolver given") {
		t.Fatalf("without -r and without resolv.conf: exit %d, %q", code, errOut)
	}

	if srv.Port() != 53 {
		// resolv.conf names no port: the fallback can only be exercised
		// against a server on port 53, which needs root.
		dnstest.RequireRoot(t)
	}
	e.resolvConf = conf
	code, out, errOut := run(t, e, append([]string{"recon"}, append(common, "example.com")...)...)
	if code != ExitOK {
		t.Fatalf("resolv.conf fallback: exit %d: %s", code, errOut)
	}
	var res scan.Report
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Domain != "example.com" {
		t.Fatalf("bad output: %v %q", err, out)
	}
}

func TestReconUnicodeDomainAndFormats(t *testing.T) {
	srv, port := serveZone(t, "xn--bcher-kva.example", zoneText)
	words := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(words, []byte("# comment\nwww\nmail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"recon", "-r", srv.String(), "--nameserver-port", port, "-w", words, "--no-ptr", "--no-srv", "--skip-checks", "all", "--progress", "never"}

	code, out, errOut := run(t, nil, append(base, "--format", "json", "bücher.example")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res scan.Report
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v", err)
	}
	if res.Domain != "xn--bcher-kva.example" {
		t.Errorf("domain %q", res.Domain)
	}
	found := false
	for _, n := range res.Names {
		found = found || n.Name == "www.xn--bcher-kva.example"
	}
	if !found {
		t.Errorf("www not found: %+v", res.Names)
	}

	code, out, errOut = run(t, nil, append(base, "--format", "ndjson", "bücher.example")...)
	if code != ExitOK {
		t.Fatalf("ndjson exit %d: %s", code, errOut)
	}
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v struct{ Kind, Domain string }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("bad NDJSON line %q: %v", line, err)
		}
		if v.Domain != "xn--bcher-kva.example" {
			t.Errorf("line for domain %q", v.Domain)
		}
		kinds[v.Kind]++
	}
	if kinds["name"] == 0 || kinds["record"] == 0 || kinds["summary"] != 1 {
		t.Errorf("NDJSON kinds %v", kinds)
	}
}

func TestDemoFailOn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	code, out, errOut := run(t, nil, "demo", "--format", "json", "--progress", "never", "--fail-on", "high", "--report", filepath.Join(t.TempDir(), "demo.html"))
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d: %s", code, ExitFindings, errOut)
	}
	var results []scan.Report
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("json: %v", err)
	}
	if len(results) != 3 {
		t.Fatalf("%d results", len(results))
	}
	ids := map[string]bool{}
	for _, r := range results {
		for _, f := range r.Findings {
			ids[f.ID] = true
		}
	}
	for _, id := range []string{"axfr-allowed", "open-resolver", "private-address-leak", "wildcard", "nsec-walkable", "nsec3-enumerable", "dangling-cname", "lame-delegation"} {
		if !ids[id] {
			t.Errorf("demo finding %s missing", id)
		}
	}
}
