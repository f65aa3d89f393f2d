package dnstest

import (
	"github.com/dnsscout/dnsscout/internal/dnsworld"

	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// SignMode selects DNSSEC signing and denial of existence.
type SignMode int

// Signing modes.
const (
	SignNone SignMode = iota
	SignNSEC
	SignNSEC3
)

// Signing configures DNSSEC signing of a zone.
type Signing struct {
	// Mode is SignNone (default), SignNSEC or SignNSEC3.
	Mode SignMode
	// Salt is the NSEC3 salt in hex; "" means none. BIND and Knot only
	// support a random salt, of the same length. Default none.
	Salt string
	// Iterations is the number of extra NSEC3 iterations. Default 0.
	Iterations uint16
	// OptOut sets NSEC3 opt-out. Default false.
	OptOut bool
}

// options converts to the pure-Go signer's options.
func (s Signing) options() SignOptions {
	return SignOptions{NSEC3: s.Mode == SignNSEC3, Salt: s.Salt, Iterations: s.Iterations, OptOut: s.OptOut}
}

// ZoneConfig is one primary zone of a real server.
type ZoneConfig struct {
	// Name is the zone origin.
	Name string
	// Text is the zone in master-file format, relative names relative to
	// Name. It is written verbatim after "$ORIGIN Name" and "$TTL 3600":
	// the server, not ParseZone, judges it. Text that is already signed is
	// served as it is.
	Text string
	// AllowTransfer allows AXFR and IXFR from any address. Default false:
	// transfers are refused.
	AllowTransfer bool
	// Sign has the zone signed: by BIND (dnssec-policy), by Knot (automatic
	// signing) or, for NSD, before start with ldns-signzone. Default unsigned.
	Sign Signing
	// IXFR (BIND only) bumps the SOA serial once after start with a
	// TSIG-signed dynamic update, so that BIND keeps a journal and answers
	// an IXFR for the previous serial incrementally. Default false.
	IXFR bool
}

// BINDConfig configures StartBIND.
type BINDConfig struct {
	// Addr is the listening address; the port is always 53. Default: a
	// fresh AllocAddr address.
	Addr netip.Addr
	// Zones are served as primaries.
	Zones []ZoneConfig
	// Recursion turns the server into an open resolver (recursion and cache
	// for every client) that starts from RootHints. Default false.
	Recursion bool
	// RootHints are the addresses of the test root servers, required with
	// Recursion. They get the names ns1.dnstest-root., ns2... .
	RootHints []netip.Addr
	// Version answers version.bind: "" keeps BIND's real version string,
	// "none" hides it (REFUSED).
	Version string
	// Hostname answers hostname.bind: "" keeps BIND's default (the host
	// name), "none" hides it.
	Hostname string
	// ServerID answers id.server and is sent as NSID: "" keeps BIND's
	// default (none), "none" is the same.
	ServerID string
	// Options is raw text added inside the options block. Default empty.
	Options string
}

// tsigName is the key BIND accepts dynamic updates from.
const tsigName = "dnstest-update."

// StartBIND runs named (BIND 9.18) in the foreground with a configuration
// generated in t.TempDir(), waits until every zone answers its SOA (and is
// signed, when requested) and stops it on cleanup. It needs root and the
// named binary (RequireRoot, RequireBinary are called).
func StartBIND(t testing.TB, cfg BINDConfig) *Server {
	t.Helper()
	RequireRoot(t)
	RequireBinary(t, "named")
	s, err := startBIND(t, cfg)
	if err != nil {
		t.Fatalf("dnstest.StartBIND: %v", err)
	}
	return s
}

func startBIND(l life, cfg BINDConfig) (*Server, error) {
	bin, addr, dir, err := prepareReal(l, "named", cfg.Addr)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	tsig := base64.StdEncoding.EncodeToString(secret)
	conf, files, err := bindConf(dir, addr, cfg, tsig)
	if err != nil {
		return nil, err
	}
	files["named.conf"] = conf
	if err := writeFiles(dir, files); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrServerStart, err)
	}
	ap := netip.AddrPortFrom(addr, 53)
	spec := realSpec{
		kind: KindBIND,
		bin:  bin,
		args: []string{"-g", "-n", "1", "-4", "-c", filepath.Join(dir, "named.conf")},
		dir:  dir,
		addr: ap,
	}
	var ixfr []string
	for _, z := range cfg.Zones {
		spec.zones = append(spec.zones, dnsworld.CanonName(z.Name))
		spec.checks = append(spec.checks, zoneCheck(ap, z.Name, z.Sign.Mode))
		if z.IXFR {
			ixfr = append(ixfr, z.Name)
		}
	}
	if len(cfg.Zones) == 0 {
		spec.checks = append(spec.checks, chaosCheck(ap))
	}
	if len(ixfr) > 0 {
		spec.after = func() error {
			for _, z := range ixfr {
				if err := bumpSerial(ap, z, tsig); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return startReal(l, spec)
}

// bumpSerial replaces the SOA of zone with one whose serial is one higher,
// through a TSIG-signed dynamic update, and waits until it is served.
func bumpSerial(addr netip.AddrPort, zone, secret string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := exchange(ctx, addr, newQuery(zone, dns.TypeSOA, dns.ClassINET, false), false)
	if err != nil || len(r.Answer) == 0 {
		return fmt.Errorf("ixfr: reading SOA of %s: %v", zone, err)
	}
	soa, ok := r.Answer[0].(*dns.SOA)
	if !ok {
		return fmt.Errorf("ixfr: %s: answer is not a SOA", zone)
	}
	want := soa.Serial + 1
	soa.Serial = want
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(zone))
	m.Insert([]dns.RR{soa})
	m.SetTsig(tsigName, dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second, TsigSecret: map[string]string{tsigName: secret}}
	resp, _, err := c.ExchangeContext(ctx, m, addr.String())
	if err != nil {
		return fmt.Errorf("ixfr: update of %s: %v", zone, err)
	}
	if resp.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("ixfr: update of %s: %s", zone, dns.RcodeToString[resp.Rcode])
	}
	for ctx.Err() == nil {
		r, err := exchange(ctx, addr, newQuery(zone, dns.TypeSOA, dns.ClassINET, false), false)
		if err == nil && len(r.Answer) > 0 {
			if s, ok := r.Answer[0].(*dns.SOA); ok && !dnsworld.SerialLess(s.Serial, want) {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("ixfr: serial of %s did not reach %d", zone, want)
}

// nonLoopback4 covers IPv4 outside 127.0.0.0/8; resolvers are told never
// to query it, so no packet leaves the host whatever the zones say.
var nonLoopback4 = []string{
	"0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/4", "112.0.0.0/5",
	"120.0.0.0/6", "124.0.0.0/7", "126.0.0.0/8", "128.0.0.0/1",
}

// rootHintName returns the name the test root's i-th server gets.
func rootHintName(i int) string { return fmt.Sprintf("ns%d.dnstest-root.", i+1) }

// rootHints renders a root hints file.
func rootHints(addrs []netip.Addr) string {
	var b strings.Builder
	for i := range addrs {
		fmt.Fprintf(&b, ".\t3600000\tIN\tNS\t%s\n", rootHintName(i))
	}
	for i, a := range addrs {
		fmt.Fprintf(&b, "%s\t3600000\tIN\tA\t%s\n", rootHintName(i), a)
	}
	return b.String()
}

// bindConf renders named.conf and the zone and hints files.
func bindConf(dir string, addr netip.Addr, cfg BINDConfig, tsig string) (string, map[string]string, error) {
	files := map[string]string{}
	qdir, err := confString(dir)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "options {\n")
	fmt.Fprintf(&b, "\tdirectory %s;\n\tkey-directory %s;\n\tmanaged-keys-directory %s;\n", qdir, qdir, qdir)
	fmt.Fprintf(&b, "\tlisten-on port 53 { %s; };\n\tlisten-on-v6 { none; };\n", addr)
	fmt.Fprintf(&b, "\tpid-file none;\n\tsession-keyfile none;\n")
	fmt.Fprintf(&b, "\tautomatic-interface-scan no;\n")
	fmt.Fprintf(&b, "\tnotify no;\n\tdnssec-validation no;\n\tallow-transfer { none; };\n")
	// Test zones are often deliberately broken: load them anyway.
	fmt.Fprintf(&b, "\tcheck-names primary ignore;\n\tcheck-integrity no;\n\tcheck-mx ignore;\n")
	fmt.Fprintf(&b, "\tcheck-wildcard no;\n\tcheck-sibling no;\n\tcheck-dup-records ignore;\n")
	fmt.Fprintf(&b, "\tcheck-mx-cname ignore;\n\tcheck-srv-cname ignore;\n\tcheck-spf ignore;\n")
	fmt.Fprintf(&b, "\tmax-ixfr-ratio unlimited;\n")
	for _, kv := range [][2]string{{"version", cfg.Version}, {"hostname", cfg.Hostname}, {"server-id", cfg.ServerID}} {
		switch kv[1] {
		case "":
		case "none":
			fmt.Fprintf(&b, "\t%s none;\n", kv[0])
		default:
			q, err := confString(kv[1])
			if err != nil {
				return "", nil, err
			}
			fmt.Fprintf(&b, "\t%s %s;\n", kv[0], q)
		}
	}
	if cfg.Recursion {
		if len(cfg.RootHints) == 0 {
			return "", nil, fmt.Errorf("%w: BIND recursion needs RootHints", ErrServerStart)
		}
		fmt.Fprintf(&b, "\trecursion yes;\n\tallow-recursion { any; };\n\tallow-query-cache { any; };\n")
		fmt.Fprintf(&b, "\tempty-zones-enable no;\n\tmax-cache-size 64m;\n")
	} else {
		fmt.Fprintf(&b, "\trecursion no;\n")
	}
	if cfg.Options != "" {
		fmt.Fprintf(&b, "%s\n", cfg.Options)
	}
	fmt.Fprintf(&b, "};\n")
	fmt.Fprintf(&b, "controls { };\n")
	fmt.Fprintf(&b, "key %q { algorithm hmac-sha256; secret %q; };\n", strings.TrimSuffix(tsigName, "."), tsig)
	if cfg.Recursion {
		// Never query anything outside loopback, whatever the zones say.
		for _, p := range nonLoopback4 {
			fmt.Fprintf(&b, "server %s { bogus yes; };\n", p)
		}
		fmt.Fprintf(&b, "zone \".\" { type hint; file \"root.hints\"; };\n")
		files["root.hints"] = rootHints(cfg.RootHints)
	}
	policies := map[Signing]string{}
	for i, z := range cfg.Zones {
		if z.Sign.Mode == SignNone {
			continue
		}
		if _, ok := policies[z.Sign]; ok {
			continue
		}
		name := fmt.Sprintf("dnstest-%d", i)
		policies[z.Sign] = name
		fmt.Fprintf(&b, "dnssec-policy %q {\n\tkeys { csk lifetime unlimited algorithm ecdsap256sha256; };\n", name)
		if z.Sign.Mode == SignNSEC3 {
			optout := "no"
			if z.Sign.OptOut {
				optout = "yes"
			}
			fmt.Fprintf(&b, "\tnsec3param iterations %d optout %s salt-length %d;\n", z.Sign.Iterations, optout, len(z.Sign.Salt)/2)
		}
		fmt.Fprintf(&b, "};\n")
	}
	for i, z := range cfg.Zones {
		zname := strings.TrimSuffix(dnsworld.CanonName(z.Name), ".")
		if zname == "" {
			zname = "."
		}
		if cfg.Recursion && zname == "." {
			return "", nil, fmt.Errorf("%w: BIND cannot serve the root zone with recursion on", ErrServerStart)
		}
		qz, err := confString(zname)
		if err != nil {
			return "", nil, err
		}
		file := zoneFileName(i)
		files[file] = zoneFileText(z.Name, z.Text)
		fmt.Fprintf(&b, "zone %s {\n\ttype primary;\n\tfile %q;\n", qz, file)
		if z.AllowTransfer {
			fmt.Fprintf(&b, "\tallow-transfer { any; };\n")
		} else {
			fmt.Fprintf(&b, "\tallow-transfer { none; };\n")
		}
		if z.IXFR || z.Sign.Mode != SignNone {
			// A dynamic zone: signed in place and journaled.
			fmt.Fprintf(&b, "\tallow-update { key %q; };\n", strings.TrimSuffix(tsigName, "."))
		}
		if z.Sign.Mode != SignNone {
			fmt.Fprintf(&b, "\tdnssec-policy %q;\n\tinline-signing no;\n", policies[z.Sign])
		}
		fmt.Fprintf(&b, "};\n")
	}
	return b.String(), files, nil
}
