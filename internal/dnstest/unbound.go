package dnstest

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
)

// UnboundConfig configures StartUnbound.
type UnboundConfig struct {
	// Addr is the listening address; the port is always 53. Default: a
	// fresh AllocAddr address.
	Addr netip.Addr
	// RootHints are the test root servers' addresses (names
	// ns1.dnstest-root., ...). Required: Unbound never falls back to the
	// real root.
	RootHints []netip.Addr
	// QNAMEMinimisation turns qname-minimisation on. Default false (off).
	QNAMEMinimisation bool
	// NumQueriesPerThread is num-queries-per-thread. Default 4096.
	NumQueriesPerThread int
	// Threads is num-threads. Default 1.
	Threads int
	// CacheMB sizes the message cache (and twice that for the RRset cache).
	// Default 32.
	CacheMB int
	// Options is raw text added to the server: clause. Default empty.
	Options string
}

// StartUnbound runs unbound (1.17) in the foreground as a recursive
// resolver whose only root hints are cfg.RootHints, without validation
// (module-config "iterator") or trust anchors, with the RFC 6761/AS112
// default local zones turned off (so .test and documentation reverse zones
// resolve), and forbidden to query anything outside 127.0.0.0/8. It waits
// until Unbound answers and stops it on cleanup; Server.Restart empties its
// cache.
func StartUnbound(t testing.TB, cfg UnboundConfig) *Server {
	t.Helper()
	RequireRoot(t)
	RequireBinary(t, "unbound")
	s, err := startUnbound(t, cfg)
	if err != nil {
		t.Fatalf("dnstest.StartUnbound: %v", err)
	}
	return s
}

func startUnbound(l life, cfg UnboundConfig) (*Server, error) {
	bin, addr, dir, err := prepareReal(l, "unbound", cfg.Addr)
	if err != nil {
		return nil, err
	}
	conf, err := unboundConf(dir, addr, cfg)
	if err != nil {
		return nil, err
	}
	files := map[string]string{"unbound.conf": conf, "root.hints": rootHints(cfg.RootHints)}
	if err := writeFiles(dir, files); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrServerStart, err)
	}
	ap := netip.AddrPortFrom(addr, 53)
	return startReal(l, realSpec{
		kind:   KindUnbound,
		bin:    bin,
		args:   []string{"-d", "-p", "-c", filepath.Join(dir, "unbound.conf")},
		dir:    dir,
		addr:   ap,
		checks: []check{chaosCheck(ap)},
	})
}

// unboundDefaultZones are the local zones Unbound 1.17 serves by default
// (unbound.conf(5)); each is turned off with "nodefault" so the test world
// can serve them. localhost and the loopback reverse zones stay.
func unboundDefaultZones() []string {
	zs := []string{
		"home.arpa.", "onion.", "test.", "invalid.",
		"10.in-addr.arpa.", "168.192.in-addr.arpa.",
		"0.in-addr.arpa.", "254.169.in-addr.arpa.", "2.0.192.in-addr.arpa.",
		"100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.", "255.255.255.255.in-addr.arpa.",
		"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
		"d.f.ip6.arpa.", "8.e.f.ip6.arpa.", "9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.", "b.e.f.ip6.arpa.",
		"8.b.d.0.1.0.0.2.ip6.arpa.",
	}
	for i := 16; i <= 31; i++ {
		zs = append(zs, fmt.Sprintf("%d.172.in-addr.arpa.", i))
	}
	for i := 64; i <= 127; i++ {
		zs = append(zs, fmt.Sprintf("%d.100.in-addr.arpa.", i))
	}
	return zs
}

// unboundConf renders unbound.conf.
func unboundConf(dir string, addr netip.Addr, cfg UnboundConfig) (string, error) {
	if len(cfg.RootHints) == 0 {
		return "", fmt.Errorf("%w: Unbound needs RootHints", ErrServerStart)
	}
	qdir, err := confString(dir)
	if err != nil {
		return "", err
	}
	if cfg.NumQueriesPerThread == 0 {
		cfg.NumQueriesPerThread = 4096
	}
	if cfg.Threads == 0 {
		cfg.Threads = 1
	}
	if cfg.CacheMB == 0 {
		cfg.CacheMB = 32
	}
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, "\t"+format+"\n", args...) }
	fmt.Fprintf(&b, "server:\n")
	p("interface: %s@53", addr)
	p("interface-automatic: no")
	p("do-ip4: yes")
	p("do-ip6: no")
	p("do-udp: yes")
	p("do-tcp: yes")
	p("do-daemonize: no")
	p("chroot: \"\"")
	p("username: \"\"")
	p("directory: %s", qdir)
	p("pidfile: \"\"")
	p("use-syslog: no")
	p("logfile: \"\"")
	p("verbosity: 1")
	p("num-threads: %d", cfg.Threads)
	p("num-queries-per-thread: %d", cfg.NumQueriesPerThread)
	p("outgoing-range: %d", 2*cfg.NumQueriesPerThread)
	p("so-reuseport: no")
	p("msg-cache-size: %dm", cfg.CacheMB)
	p("rrset-cache-size: %dm", 2*cfg.CacheMB)
	p("module-config: \"iterator\"")
	p("root-hints: %q", filepath.Join(dir, "root.hints"))
	p("qname-minimisation: %s", yn(cfg.QNAMEMinimisation))
	p("access-control: 0.0.0.0/0 allow")
	p("access-control: ::/0 allow")
	p("do-not-query-localhost: no")
	for _, pfx := range nonLoopback4 {
		p("do-not-query-address: %s", pfx)
	}
	p("unblock-lan-zones: yes")
	p("insecure-lan-zones: yes")
	for _, z := range unboundDefaultZones() {
		p("local-zone: %q nodefault", z)
	}
	p("harden-referral-path: no")
	p("prefetch: no")
	p("hide-identity: no")
	p("hide-version: no")
	if cfg.Options != "" {
		fmt.Fprintf(&b, "%s\n", cfg.Options)
	}
	fmt.Fprintf(&b, "remote-control:\n\tcontrol-enable: no\n")
	return b.String(), nil
}
