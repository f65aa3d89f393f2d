package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// lameWorld serves example.test (healthy) and umbrella.test, whose two
// nameservers are one silent address and one server that refuses the
// zone, behind an in-process recursor.
func lameWorld(t *testing.T) (string, string) {
	t.Helper()
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.InProcess,
		Resolver:    dnstest.ResolverInProcess,
		Zones: []dnstest.WorldZone{
			{Name: "example.test", Records: "www IN A 192.0.2.10\n"},
			{Name: "umbrella.test", Records: "www IN A 192.0.2.20\n", Servers: []dnstest.WorldServer{{}, {}}},
		},
	})
	lame := w.Servers("umbrella.test")
	lame[0].Stop()
	lame[1].Stop()
	dnstest.StartServer(t, lame[1].Addr, dns.HandlerFunc(func(rw dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeRefused)
		_ = rw.WriteMsg(m)
	}))
	return w.Resolver.String(), strconv.Itoa(int(w.Port))
}

// TestReconLameAndMissingTargets: a dead delegation still gets a full
// report with its findings; a target that does not exist at its parent is
// the only error line; neither costs the other targets their results.
func TestReconLameAndMissingTargets(t *testing.T) {
	resolverAddr, port := lameWorld(t)
	common := []string{"recon", "-r", resolverAddr, "--nameserver-port", port, "--format", "json", "--progress", "never",
		"--timeout", "300ms", "--retries", "1", "--no-ptr", "-w", "none"}

	t.Run("several targets", func(t *testing.T) {
		code, out, errOut := run(t, nil, append(common, "example.test", "nowhere.test", "umbrella.test")...)
		if code != ExitError {
			t.Fatalf("exit %d, want %d (one target does not exist); stderr %s", code, ExitError, errOut)
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], "nowhere.test: recon: domain does not exist") || !strings.Contains(lines[1], "1 of 3 domains failed") {
			t.Errorf("stderr %q: want the missing domain's line and the count", errOut)
		}
		var results []scan.Report
		if err := json.Unmarshal([]byte(out), &results); err != nil {
			t.Fatalf("stdout: %v\n%.300s", err, out)
		}
		if len(results) != 2 || results[0].Domain != "example.test" || results[1].Domain != "umbrella.test" {
			t.Fatalf("results for %v, want example.test and umbrella.test", domainsOf(results))
		}
		lame := results[1]
		lameFindings := 0
		for _, f := range lame.Findings {
			if f.ID == "lame-delegation" {
				lameFindings++
				if f.Severity.String() != "high" {
					t.Errorf("lame-delegation %s: severity %s, want high (nothing answers for the zone)", f.Subject, f.Severity)
				}
			}
		}
		if lameFindings != 2 {
			t.Errorf("%d lame-delegation findings, want one per nameserver: %+v", lameFindings, lame.Findings)
		}
		if len(lame.Gaps) == 0 {
			t.Error("the lame target's gaps do not say what could not be covered")
		}
	})

	t.Run("fail-on", func(t *testing.T) {
		code, out, errOut := run(t, nil, append(common, "--fail-on", "high", "umbrella.test")...)
		if code != ExitFindings || !strings.Contains(out, `"lame-delegation"`) {
			t.Fatalf("exit %d, want %d with the report written; stderr %s", code, ExitFindings, errOut)
		}
	})

	t.Run("no fail-on", func(t *testing.T) {
		if code, _, errOut := run(t, nil, append(common, "umbrella.test")...); code != ExitOK {
			t.Fatalf("exit %d, want 0: a lame delegation is a finding, not a failure; stderr %s", code, errOut)
		}
	})
}

func domainsOf(rs []scan.Report) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Domain)
	}
	return out
}
