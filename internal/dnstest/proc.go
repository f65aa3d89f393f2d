package dnstest

import (
	"github.com/dnsscout/dnsscout/internal/dnsworld"

	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// readyTimeout bounds the wait for a real server to answer.
const readyTimeout = 30 * time.Second

// logBuffer keeps the last max bytes a process wrote.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if b.max > 0 && len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// process is one run of a server binary in its own process group.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProcess(bin string, args []string, dir string, out *logBuffer) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Env = append(os.Environ(), "HOME="+dir)
	// Own process group so that Stop reaches forked children (NSD), and
	// SIGKILL if the test binary dies without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	fmt.Fprintf(out, "+ %s %s\n", bin, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the server (which stops its own children), then
// SIGKILL to the whole process group after a grace period, and waits for
// the process to be reaped.
func (p *process) stop() error {
	pgid := p.cmd.Process.Pid
	if !p.exited() {
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	// Forked children that outlived their parent.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return nil
}

// check is one readiness probe; nil means ready.
type check func(ctx context.Context) error

// waitReady polls the checks until all pass, the process exits, or the
// timeout expires.
func waitReady(p *process, timeout time.Duration, checks []check) error {
	deadline := time.Now().Add(timeout)
	delay := 2 * time.Millisecond
	var last error
	for {
		if p.exited() {
			return fmt.Errorf("process exited before it was ready: %v", p.err)
		}
		ok := true
		for _, c := range checks {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			err := c(ctx)
			cancel()
			if err != nil {
				last, ok = err, false
				break
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", timeout, last)
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
	}
}

// realSpec describes how to run one real server.
type realSpec struct {
	kind   string
	bin    string
	args   []string
	dir    string
	addr   netip.AddrPort
	zones  []string
	checks []check
	after  func() error // once, after the first successful start
}

// startReal runs the server, waits until it is ready and registers its
// stop (and, when the test failed, its log) with l.
func startReal(l life, spec realSpec) (*Server, error) {
	out := &logBuffer{max: 1 << 20}
	s := &Server{Addr: spec.addr, Kind: spec.kind, Dir: spec.dir, Zones: spec.zones, logFn: out.String}
	var p *process
	start := func() error {
		var err error
		p, err = startProcess(spec.bin, spec.args, spec.dir, out)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrServerStart, spec.kind, err)
		}
		if err := waitReady(p, readyTimeout, spec.checks); err != nil {
			_ = p.stop()
			return fmt.Errorf("%w: %s at %s: %v\n--- %s log (%s) ---\n%s", ErrServerStart, spec.kind, spec.addr, err, spec.kind, spec.dir, out.String())
		}
		return nil
	}
	if err := start(); err != nil {
		return nil, err
	}
	s.stopFn = func() error { return p.stop() }
	s.startFn = start
	l.Cleanup(func() {
		s.Stop()
		if l.Failed() {
			l.Logf("dnstest: %s (%s) log:\n%s", s, spec.dir, out.String())
		}
	})
	if spec.after != nil {
		if err := spec.after(); err != nil {
			return nil, fmt.Errorf("%w: %s at %s: %v\n--- log ---\n%s", ErrServerStart, spec.kind, spec.addr, err, out.String())
		}
	}
	return s, nil
}

// exchange sends one query to a loopback server and returns the response.
func exchange(ctx context.Context, addr netip.AddrPort, m *dns.Msg, tcp bool) (*dns.Msg, error) {
	if !addr.Addr().IsLoopback() {
		return nil, fmt.Errorf("%w: %s is not loopback", ErrNotAllowed, addr)
	}
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second, UDPSize: dns.DefaultMsgSize}
	if tcp {
		c.Net = "tcp"
	}
	if dl, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(dl)
	}
	r, _, err := c.ExchangeContext(ctx, m, addr.String())
	if err != nil {
		return nil, err
	}
	if r.Truncated && !tcp {
		return exchange(ctx, addr, m, true)
	}
	return r, nil
}

func newQuery(name string, qtype, qclass uint16, do bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.Question[0].Qclass = qclass
	m.RecursionDesired = false
	m.SetEdns0(dns.DefaultMsgSize, do)
	return m
}

// zoneCheck is ready when the server answers the zone's SOA
// authoritatively and, for a signed zone, signs it and proves denial with
// the expected record type.
func zoneCheck(addr netip.AddrPort, zone string, mode SignMode) check {
	return func(ctx context.Context) error {
		r, err := exchange(ctx, addr, newQuery(zone, dns.TypeSOA, dns.ClassINET, mode != SignNone), false)
		if err != nil {
			return fmt.Errorf("SOA %s: %v", zone, err)
		}
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative || !hasType(r.Answer, dns.TypeSOA) {
			return fmt.Errorf("SOA %s: rcode %s, aa %v, %d answers", zone, dns.RcodeToString[r.Rcode], r.Authoritative, len(r.Answer))
		}
		if mode == SignNone {
			return nil
		}
		if !hasType(r.Answer, dns.TypeRRSIG) {
			return fmt.Errorf("SOA %s: not signed yet", zone)
		}
		want := uint16(dns.TypeNSEC)
		if mode == SignNSEC3 {
			want = dns.TypeNSEC3
		}
		probe := "dnstest-ready-probe." + dnsworld.Dotless(dnsworld.CanonName(zone))
		r, err = exchange(ctx, addr, newQuery(probe, dns.TypeTXT, dns.ClassINET, true), false)
		if err != nil {
			return fmt.Errorf("%s: %v", probe, err)
		}
		if !hasType(r.Ns, want) {
			return fmt.Errorf("%s: no %s proof yet", probe, dns.TypeToString[want])
		}
		return nil
	}
}

// chaosCheck is ready when the server answers anything to CH TXT id.server.
func chaosCheck(addr netip.AddrPort) check {
	return func(ctx context.Context) error {
		_, err := exchange(ctx, addr, newQuery("id.server.", dns.TypeTXT, dns.ClassCHAOS, false), false)
		return err
	}
}

func hasType(rrs []dns.RR, t uint16) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == t {
			return true
		}
	}
	return false
}

// confString quotes s for a configuration file; it refuses characters that
// no server's quoting handles the same way.
func confString(s string) (string, error) {
	if strings.ContainsAny(s, "\"\\\n\r\x00") {
		return "", fmt.Errorf("%w: %q: quotes, backslashes and newlines are not supported", ErrServerStart, s)
	}
	return `"` + s + `"`, nil
}

// zoneFileName returns the file name for the i-th zone of a server.
func zoneFileName(i int) string { return fmt.Sprintf("zone%03d.db", i) }

// zoneFileText prefixes zone text with $ORIGIN and a default $TTL.
func zoneFileText(name, text string) string {
	return fmt.Sprintf("$ORIGIN %s\n$TTL 3600\n%s\n", dnsworld.CanonName(name), text)
}

// writeFiles writes name -> content under dir.
func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// serverAddr resolves a configured address: zero means allocate one.
// prepareReal is the common start of every real server: it needs root, the
// binary's path, an address (want, or a fresh one) and a directory for the
// configuration.
func prepareReal(l life, binary string, want netip.Addr) (bin string, addr netip.Addr, dir string, err error) {
	if !isRoot() {
		return "", netip.Addr{}, "", ErrNeedRoot
	}
	if bin, err = lookBinary(binary); err != nil {
		return "", netip.Addr{}, "", fmt.Errorf("%w: %v", ErrServerStart, err)
	}
	if addr, err = serverAddr(l, want); err != nil {
		return "", netip.Addr{}, "", err
	}
	return bin, addr, l.TempDir(), nil
}

func serverAddr(l life, a netip.Addr) (netip.Addr, error) {
	if a.IsValid() {
		if !a.IsLoopback() {
			return netip.Addr{}, fmt.Errorf("%w: %s is not a loopback address", ErrServerStart, a)
		}
		return a, nil
	}
	return allocAddr(l)
}
