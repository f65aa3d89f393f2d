package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/cli"
	"github.com/dnsscout/dnsscout/internal/dnstest"
)

// The tests below run this very test binary as dnsscout: with
// DNSSCOUT_TEST_MAIN=1 set, TestMain calls main() instead of the tests,
// so signals reach the real signal wiring.
func TestMain(m *testing.M) {
	if os.Getenv("DNSSCOUT_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// slow delays every answer of h, so that a recon takes seconds.
type slow struct {
	h     dns.Handler
	delay time.Duration
}

func (s slow) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	time.Sleep(s.delay)
	s.h.ServeDNS(w, r)
}

// slowWorld serves slow.test (hosts records, transfers open) through an
// in-process root and recursor, its own server answering after 20 ms. It
// returns the resolver, the nameserver port and the zone's server.
func slowWorld(t *testing.T, hosts int) (netip.AddrPort, uint16, *dnstest.Server) {
	t.Helper()
	var b strings.Builder
	for i := range hosts {
		fmt.Fprintf(&b, "host%d IN A 192.0.2.%d\n", i, i%250+1)
	}
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.InProcess,
		Resolver:    dnstest.ResolverInProcess,
		Zones:       []dnstest.WorldZone{{Name: "slow.test", Records: b.String()}},
	})
	old := w.Servers("slow.test")[0]
	old.Stop()
	z, err := dnstest.ParseZone("slow.test.", w.Text["slow.test."])
	if err != nil {
		t.Fatal(err)
	}
	z.AllowTransfer = true
	srv := dnstest.StartServer(t, old.Addr, slow{h: dnstest.NewZoneHandler(z), delay: 20 * time.Millisecond})
	return w.Resolver, w.Port, srv
}

// startRecon starts dnsscout recon against the slow world and returns the
// command once the zone's server has seen queries past the zone transfer.
func startRecon(t *testing.T, stdout io.Writer) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	resolverAddr, port, srv := slowWorld(t, 3000)
	words := filepath.Join(t.TempDir(), "words.txt")
	var wb strings.Builder
	for i := range 600 {
		fmt.Fprintf(&wb, "w%d\n", i)
	}
	if err := os.WriteFile(words, []byte(wb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "recon", "-r", resolverAddr.String(), "--nameserver-port", strconv.Itoa(int(port)),
		"--format", "json", "--progress", "never", "--concurrency", "2", "--no-ptr", "-w", words, "slow.test")
	cmd.Env = append(os.Environ(), "DNSSCOUT_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	// Past the transfer and the apex: well into SRV probing or brute force.
	deadline := time.Now().Add(30 * time.Second)
	for srv.Queries() < 150 {
		if time.Now().After(deadline) {
			t.Fatalf("recon did not get going: %d queries; stderr %s", srv.Queries(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, &stderr
}

// waitExit waits at most d for cmd and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("dnsscout still running %v after the signal", d)
		return -1
	}
}

// TestInterruptWritesPartialJSON: the first SIGINT stops recon, which
// audits what it found and writes valid JSON marked partial; exit 130.
func TestInterruptWritesPartialJSON(t *testing.T) {
	var out bytes.Buffer
	cmd, stderr := startRecon(t, &out)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, 30*time.Second); code != cli.ExitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", code, cli.ExitInterrupted, stderr)
	}
	var res struct {
		Domain   string `json:"domain"`
		Complete *bool  `json:"complete"`
		Names    []struct {
			Name string `json:"name"`
		} `json:"names"`
		Gaps []struct {
			Stage  string `json:"stage"`
			Reason string `json:"reason"`
		} `json:"gaps"`
		Findings []struct {
			ID string `json:"id"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not a JSON result: %v\n%.500s", err, out.String())
	}
	if res.Domain != "slow.test" || res.Complete == nil || *res.Complete {
		t.Fatalf("domain %q complete %v, want slow.test marked partial", res.Domain, res.Complete)
	}
	if len(res.Names) < 3000 {
		t.Errorf("%d names, want the 3000 the transfer gave before the interrupt", len(res.Names))
	}
	if !strings.Contains(fmt.Sprint(res.Gaps), "interrupted") {
		t.Errorf("gaps %+v do not say the run was interrupted", res.Gaps)
	}
	// The audit ran offline on what was found: the open transfer is there.
	if !strings.Contains(fmt.Sprint(res.Findings), "axfr-allowed") {
		t.Errorf("findings %v lack axfr-allowed", res.Findings)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q does not say it was interrupted", stderr)
	}
}

// TestSecondSignalExitsAtOnce: after the first SIGINT recon writes its
// result, here into a pipe nobody reads (it blocks once the pipe is full);
// a second SIGINT ends the process at once with 130.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd, stderr := startRecon(t, w)
	w.Close() // the child holds its own copy
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// The result (3000 names, > 64 KiB of JSON) fills the pipe: the
	// graceful path cannot finish.
	time.Sleep(time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("process gone after the first signal (the output should have blocked it): %v; stderr %s", err, stderr)
	}
	if code := waitExit(t, cmd, 10*time.Second); code != cli.ExitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", code, cli.ExitInterrupted, stderr)
	}
}
