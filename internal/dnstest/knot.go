package dnstest

import (
	"github.com/dnsscout/dnsscout/internal/dnsworld"

	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// KnotConfig configures StartKnot.
type KnotConfig struct {
	// Addr is the listening address; the port is always 53. Default: a
	// fresh AllocAddr address.
	Addr netip.Addr
	// Zones are served as primaries. Zones with Sign set are signed by Knot
	// (automatic signing, one ECDSA P-256 CSK; NSEC3 gets a random salt of
	// the given length).
	Zones []ZoneConfig
	// Version answers version.bind: "" keeps Knot's, "none" hides it.
	Version string
	// Identity answers id.server and hostname.bind: "" keeps Knot's (the
	// host name), "none" hides it.
	Identity string
	// NSID is sent as EDNS NSID: "" keeps Knot's (the host name), "none"
	// disables it.
	NSID string
}

// StartKnot runs knotd (Knot DNS 3.2) in the foreground with a
// configuration generated in t.TempDir(), waits until every zone answers
// (and is signed, when requested) and stops it on cleanup. It needs root
// and knotd.
func StartKnot(t testing.TB, cfg KnotConfig) *Server {
	t.Helper()
	RequireRoot(t)
	RequireBinary(t, "knotd")
	s, err := startKnot(t, cfg)
	if err != nil {
		t.Fatalf("dnstest.StartKnot: %v", err)
	}
	return s
}

func startKnot(l life, cfg KnotConfig) (*Server, error) {
	bin, addr, dir, err := prepareReal(l, "knotd", cfg.Addr)
	if err != nil {
		return nil, err
	}
	// knotd binds its control socket in rundir: keep that path short
	// (sun_path holds 108 bytes; test temp dirs carry the test's name).
	rundir, err := os.MkdirTemp("", "knot")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrServerStart, err)
	}
	l.Cleanup(func() { _ = os.RemoveAll(rundir) })
	conf, files, err := knotConf(dir, rundir, addr, cfg)
	if err != nil {
		return nil, err
	}
	files["knot.conf"] = conf
	if err := writeFiles(dir, files); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrServerStart, err)
	}
	ap := netip.AddrPortFrom(addr, 53)
	spec := realSpec{
		kind: KindKnot,
		bin:  bin,
		args: []string{"-c", filepath.Join(dir, "knot.conf")},
		dir:  dir,
		addr: ap,
	}
	for _, z := range cfg.Zones {
		spec.zones = append(spec.zones, dnsworld.CanonName(z.Name))
		spec.checks = append(spec.checks, zoneCheck(ap, z.Name, z.Sign.Mode))
	}
	if len(cfg.Zones) == 0 {
		spec.checks = append(spec.checks, chaosCheck(ap))
	}
	return startReal(l, spec)
}

// knotConf renders knot.conf and the zone files.
func knotConf(dir, rundir string, addr netip.Addr, cfg KnotConfig) (string, map[string]string, error) {
	files := map[string]string{}
	qdir, err := confString(dir)
	if err != nil {
		return "", nil, err
	}
	qrun, err := confString(rundir)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n    rundir: %s\n    listen: %s@53\n", qrun, addr)
	fmt.Fprintf(&b, "    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n")
	for _, kv := range [][2]string{{"version", cfg.Version}, {"identity", cfg.Identity}, {"nsid", cfg.NSID}} {
		switch kv[1] {
		case "":
		case "none":
			fmt.Fprintf(&b, "    %s: \"\"\n", kv[0])
		default:
			v, err := confString(kv[1])
			if err != nil {
				return "", nil, err
			}
			fmt.Fprintf(&b, "    %s: %s\n", kv[0], v)
		}
	}
	fmt.Fprintf(&b, "database:\n    storage: %s\n", qdir)
	fmt.Fprintf(&b, "log:\n  - target: stderr\n    any: info\n")
	fmt.Fprintf(&b, "acl:\n  - id: dnstest-transfer\n    action: transfer\n")
	policies := map[Signing]string{}
	var pol strings.Builder
	for i, z := range cfg.Zones {
		if z.Sign.Mode == SignNone {
			continue
		}
		if _, ok := policies[z.Sign]; ok {
			continue
		}
		name := fmt.Sprintf("dnstest-%d", i)
		policies[z.Sign] = name
		fmt.Fprintf(&pol, "  - id: %s\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n", name)
		if z.Sign.Mode == SignNSEC3 {
			optout := "off"
			if z.Sign.OptOut {
				optout = "on"
			}
			fmt.Fprintf(&pol, "    nsec3: on\n    nsec3-iterations: %d\n    nsec3-opt-out: %s\n    nsec3-salt-length: %d\n",
				z.Sign.Iterations, optout, len(z.Sign.Salt)/2)
		}
	}
	if pol.Len() > 0 {
		fmt.Fprintf(&b, "policy:\n%s", pol.String())
	}
	fmt.Fprintf(&b, "template:\n  - id: default\n    storage: %s\n", qdir)
	fmt.Fprintf(&b, "    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\n")
	if len(cfg.Zones) > 0 {
		fmt.Fprintf(&b, "zone:\n")
	}
	for i, z := range cfg.Zones {
		name, err := confString(dnsworld.CanonName(z.Name))
		if err != nil {
			return "", nil, err
		}
		file := zoneFileName(i)
		files[file] = zoneFileText(z.Name, z.Text)
		fmt.Fprintf(&b, "  - domain: %s\n    file: %q\n", name, file)
		if z.AllowTransfer {
			fmt.Fprintf(&b, "    acl: [dnstest-transfer]\n")
		}
		if z.Sign.Mode != SignNone {
			fmt.Fprintf(&b, "    dnssec-signing: on\n    dnssec-policy: %s\n", policies[z.Sign])
		}
	}
	return b.String(), files, nil
}
