package resolver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// A real Unbound answering a static local zone (bench.test) without
// recursion, on 127.53.209.250:53 (this package's range; set
// DNSSCOUT_UNBOUND_ADDR to move it). Not 127.53.250.1: bench/bruteforce
// runs its own Unbound there, and two Unbounds on one address would split
// each other's traffic. BenchmarkExchangeUnbound runs whenever unbound is
// installed; TestUnbound only with DNSSCOUT_UNBOUND=1:
//
//	go test ./internal/resolver/ -run '^$' -bench Unbound -benchtime 3s
//	DNSSCOUT_UNBOUND=1 go test ./internal/resolver/ -run TestUnbound -v

func unboundAddr(tb testing.TB) netip.AddrPort {
	s := os.Getenv("DNSSCOUT_UNBOUND_ADDR")
	if s == "" {
		return netip.MustParseAddrPort("127.53.209.250:53")
	}
	a, err := netip.ParseAddrPort(s)
	if err != nil || !a.Addr().IsLoopback() {
		tb.Fatalf("DNSSCOUT_UNBOUND_ADDR=%q: want a loopback address:port", s)
	}
	return a
}

// benchZoneHosts is how many names of benchNames exist in bench.test; the
// rest are NXDOMAIN, as in a brute force.
const benchZoneHosts = 2000

func startUnbound(tb testing.TB, threads int) netip.AddrPort {
	tb.Helper()
	bin, err := exec.LookPath("unbound")
	if err != nil {
		for _, p := range []string{"/usr/sbin/unbound", "/usr/local/sbin/unbound"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		tb.Skip("unbound is not installed")
	}
	addr := unboundAddr(tb)
	// Refuse to share: if anything holds the port, skip.
	probe, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		tb.Skipf("%s is in use, not starting unbound: %v", addr, err)
	}
	probe.Close()
	dir := tb.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
	interface: %s
	port: %d
	do-not-query-localhost: no
	module-config: "iterator"
	chroot: ""
	username: ""
	directory: %q
	pidfile: %q
	logfile: ""
	use-syslog: no
	verbosity: 0
	num-threads: %d
	so-rcvbuf: 4m
	so-sndbuf: 4m
	outgoing-range: 64
	num-queries-per-thread: 4096
	access-control: 127.0.0.0/8 allow
	local-zone: "bench.test." static
	local-data: "bench.test. 300 IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 900 604800 300"
`, addr.Addr(), addr.Port(), dir, filepath.Join(dir, "unbound.pid"), threads)
	for i := range benchZoneHosts {
		fmt.Fprintf(&conf, "\tlocal-data: \"%s. 300 IN A 192.0.2.%d\"\n", benchNames[i], i%250+1)
	}
	conf.WriteString("remote-control:\n\tcontrol-enable: no\n")
	path := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-d", "-c", path)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	// Wait until it answers.
	r, err := New(Options{Servers: []netip.AddrPort{addr}, Timeout: 100 * time.Millisecond, Retries: -1})
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			tb.Skipf("unbound exited (%v): %s", err, stderr.String())
		default:
		}
		resp, err := r.Exchange(context.Background(), Query{Name: benchNames[0], Type: dns.TypeA})
		if err == nil && resp.Msg.Rcode == dns.RcodeSuccess {
			return addr
		}
		if time.Now().After(deadline) {
			tb.Fatalf("unbound did not answer: %v %s", err, stderr.String())
		}
	}
}

func TestUnbound(t *testing.T) {
	if os.Getenv("DNSSCOUT_UNBOUND") == "" {
		t.Skip("set DNSSCOUT_UNBOUND=1 to run against a real unbound")
	}
	addr := startUnbound(t, 1)
	r, err := New(Options{Servers: []netip.AddrPort{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Every existing name is found, every other is NXDOMAIN; nothing lost.
	var wg sync.WaitGroup
	var found, nx, bad atomic.Int64
	sem := make(chan struct{}, 500)
	for i := range 3 * benchZoneHosts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			resp, err := r.Exchange(context.Background(), Query{Name: benchNames[i], Type: dns.TypeA})
			switch {
			case err != nil:
				bad.Add(1)
			case resp.Msg.Rcode == dns.RcodeSuccess && len(resp.Msg.Answer) == 1 && i < benchZoneHosts:
				found.Add(1)
			case resp.Msg.Rcode == dns.RcodeNameError && i >= benchZoneHosts:
				nx.Add(1)
			default:
				bad.Add(1)
			}
		})
	}
	wg.Wait()
	if found.Load() != benchZoneHosts || nx.Load() != 2*benchZoneHosts || bad.Load() != 0 {
		t.Errorf("found %d/%d, nxdomain %d/%d, bad %d", found.Load(), benchZoneHosts, nx.Load(), 2*benchZoneHosts, bad.Load())
	}
	if err := r.Probe(context.Background(), []string{"test"}); err != nil {
		t.Errorf("Probe: %v", err)
	}
	t.Logf("stats %+v", r.Stats())
}

func BenchmarkExchangeUnbound(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("unbound-threads=%d", threads), func(b *testing.B) {
			addr := startUnbound(b, threads)
			r, err := New(Options{Servers: []netip.AddrPort{addr}})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			benchExchange(b, r)
			st := r.Stats()
			b.ReportMetric(float64(st.Timeouts), "timeouts")
		})
	}
}
