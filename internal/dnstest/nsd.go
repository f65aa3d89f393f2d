package dnstest

import (
	"github.com/dnsscout/dnsscout/internal/dnsworld"

	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NSDConfig configures StartNSD.
type NSDConfig struct {
	// Addr is the listening address; the port is always 53. Default: a
	// fresh AllocAddr address.
	Addr netip.Addr
	// Zones are served as primaries. Zones with Sign set are signed before
	// start with ldns-keygen and ldns-signzone (one ECDSA P-256 key with
	// flags 257; NSEC3 salt, iterations and opt-out exactly as given).
	Zones []ZoneConfig
	// Version answers version.bind: "" keeps NSD's ("NSD 4.6.1"), "none"
	// hides it.
	Version string
	// Identity answers id.server and hostname.bind: "" keeps NSD's (the
	// host name), "none" hides it.
	Identity string
	// NSID is sent as EDNS NSID. Default "": none.
	NSID string
}

// StartNSD runs nsd (NSD 4.6) in the foreground with a configuration
// generated in t.TempDir() and `database: ""`, waits until every zone
// answers and stops it on cleanup. It needs root, nsd and, for signed
// zones, ldns-keygen and ldns-signzone.
func StartNSD(t testing.TB, cfg NSDConfig) *Server {
	t.Helper()
	RequireRoot(t)
	RequireBinary(t, "nsd")
	for _, z := range cfg.Zones {
		if z.Sign.Mode != SignNone {
			RequireBinary(t, "ldns-signzone")
			RequireBinary(t, "ldns-keygen")
			break
		}
	}
	s, err := startNSD(t, cfg)
	if err != nil {
		t.Fatalf("dnstest.StartNSD: %v", err)
	}
	return s
}

func startNSD(l life, cfg NSDConfig) (*Server, error) {
	bin, addr, dir, err := prepareReal(l, "nsd", cfg.Addr)
	if err != nil {
		return nil, err
	}
	conf, files, err := nsdConf(dir, addr, cfg)
	if err != nil {
		return nil, err
	}
	files["nsd.conf"] = conf
	if err := writeFiles(dir, files); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrServerStart, err)
	}
	for i, z := range cfg.Zones {
		if z.Sign.Mode == SignNone {
			continue
		}
		if err := ldnsSign(dir, zoneFileName(i)+".unsigned", zoneFileName(i), z.Name, z.Sign); err != nil {
			return nil, err
		}
	}
	ap := netip.AddrPortFrom(addr, 53)
	spec := realSpec{
		kind: KindNSD,
		bin:  bin,
		args: []string{"-d", "-c", filepath.Join(dir, "nsd.conf")},
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

// ldnsSign signs dir/in into dir/out with a fresh ECDSA P-256 key.
func ldnsSign(dir, in, out, origin string, s Signing) error {
	keygen, err := lookBinary("ldns-keygen")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSign, err)
	}
	signzone, err := lookBinary("ldns-signzone")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSign, err)
	}
	origin = dnsworld.CanonName(origin)
	cmd := exec.Command(keygen, "-a", "ECDSAP256SHA256", "-k", origin)
	cmd.Dir = dir
	key, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%w: ldns-keygen %s: %v", ErrSign, origin, cmdErr(err))
	}
	args := []string{
		"-i", time.Now().Add(-time.Hour).UTC().Format("20060102150405"),
		"-e", time.Now().Add(30 * 24 * time.Hour).UTC().Format("20060102150405"),
		"-o", origin, "-f", out,
	}
	if s.Mode == SignNSEC3 {
		args = append(args, "-n", "-t", strconv.Itoa(int(s.Iterations)))
		if s.Salt != "" && s.Salt != "-" {
			args = append(args, "-s", s.Salt)
		}
		if s.OptOut {
			args = append(args, "-p")
		}
	}
	args = append(args, in, strings.TrimSpace(string(key)))
	cmd = exec.Command(signzone, args...)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: ldns-signzone %s: %v: %s", ErrSign, origin, err, msg)
	}
	return nil
}

func cmdErr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return fmt.Sprintf("%v: %s", err, ee.Stderr)
	}
	return err.Error()
}

// nsdConf renders nsd.conf and the zone files (unsigned zones to be signed
// get the ".unsigned" suffix).
func nsdConf(dir string, addr netip.Addr, cfg NSDConfig) (string, map[string]string, error) {
	files := map[string]string{}
	q := func(s string) string { return `"` + s + `"` }
	if _, err := confString(dir); err != nil {
		return "", nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n")
	fmt.Fprintf(&b, "\tip-address: %s@53\n\tdo-ip4: yes\n\tdo-ip6: no\n", addr)
	fmt.Fprintf(&b, "\tdatabase: \"\"\n\tzonesdir: %s\n", q(dir))
	fmt.Fprintf(&b, "\tzonelistfile: %s\n\txfrdfile: %s\n\txfrdir: %s\n",
		q(filepath.Join(dir, "zone.list")), q(filepath.Join(dir, "xfrd.state")), q(dir))
	fmt.Fprintf(&b, "\tpidfile: \"\"\n\tusername: \"\"\n\tchroot: \"\"\n")
	fmt.Fprintf(&b, "\tserver-count: 1\n\tverbosity: 1\n\trefuse-any: no\n\ttcp-count: 256\n")
	// Response rate limiting is on by default: it would truncate a brute
	// force aimed straight at NSD, and its default 1M-entry table costs
	// 50-300 ms of start-up.
	fmt.Fprintf(&b, "\trrl-ratelimit: 0\n\trrl-whitelist-ratelimit: 0\n\trrl-size: 1000\n")
	switch cfg.Version {
	case "":
	case "none":
		fmt.Fprintf(&b, "\thide-version: yes\n")
	default:
		v, err := confString(cfg.Version)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "\tversion: %s\n", v)
	}
	switch cfg.Identity {
	case "":
	case "none":
		fmt.Fprintf(&b, "\thide-identity: yes\n")
	default:
		v, err := confString(cfg.Identity)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "\tidentity: %s\n", v)
	}
	if cfg.NSID != "" {
		v, err := confString("ascii_" + cfg.NSID)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "\tnsid: %s\n", v)
	}
	fmt.Fprintf(&b, "remote-control:\n\tcontrol-enable: no\n")
	for i, z := range cfg.Zones {
		name, err := confString(dnsworld.CanonName(z.Name))
		if err != nil {
			return "", nil, err
		}
		file := zoneFileName(i)
		if z.Sign.Mode != SignNone {
			files[file+".unsigned"] = zoneFileText(z.Name, z.Text)
		} else {
			files[file] = zoneFileText(z.Name, z.Text)
		}
		fmt.Fprintf(&b, "zone:\n\tname: %s\n\tzonefile: %q\n", name, file)
		if z.AllowTransfer {
			fmt.Fprintf(&b, "\tprovide-xfr: 0.0.0.0/0 NOKEY\n\tprovide-xfr: ::0/0 NOKEY\n")
		}
	}
	return b.String(), files, nil
}
