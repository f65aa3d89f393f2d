package dnstest

import (
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/ from the generated configurations")

// goldenConfigs renders every server's configuration for a fixed input.
func goldenConfigs(t *testing.T, dir string) map[string]string {
	t.Helper()
	addr := netip.MustParseAddr("127.53.1.2")
	zones := []ZoneConfig{
		{Name: "example.com", Text: "@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n", AllowTransfer: true, IXFR: true},
		{Name: "nsec.example", Text: "@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n", Sign: Signing{Mode: SignNSEC}},
		{Name: "nsec3.example", Text: "@ SOA ns1 h 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n",
			Sign: Signing{Mode: SignNSEC3, Salt: "abcd", Iterations: 2, OptOut: true}},
	}
	hints := []netip.Addr{netip.MustParseAddr("127.53.1.1")}
	out := map[string]string{}
	c, _, err := bindConf(dir, addr, BINDConfig{Zones: zones, Version: "9.9.9-test", Hostname: "none", ServerID: "id-1"}, "ZG5zdGVzdC1nb2xkZW4tc2VjcmV0LWZvci10ZXN0cyEh")
	if err != nil {
		t.Fatal(err)
	}
	out["named.conf"] = c
	c, _, err = bindConf(dir, addr, BINDConfig{Recursion: true, RootHints: hints, Zones: zones[:1]}, "ZG5zdGVzdC1nb2xkZW4tc2VjcmV0LWZvci10ZXN0cyEh")
	if err != nil {
		t.Fatal(err)
	}
	out["named-recursive.conf"] = c
	c, _, err = nsdConf(dir, addr, NSDConfig{Zones: zones, Version: "none", Identity: "nsd-1", NSID: "nsid-1"})
	if err != nil {
		t.Fatal(err)
	}
	out["nsd.conf"] = c
	c, _, err = knotConf(dir, filepath.Join(dir, "run"), addr, KnotConfig{Zones: zones, Version: "knot-test", Identity: "none", NSID: "nsid-1"})
	if err != nil {
		t.Fatal(err)
	}
	out["knot.conf"] = c
	c, err = unboundConf(dir, addr, UnboundConfig{RootHints: hints, QNAMEMinimisation: true})
	if err != nil {
		t.Fatal(err)
	}
	out["unbound.conf"] = c
	return out
}

// TestConfigGolden pins the generated configurations; run with -update
// after an intended change.
func TestConfigGolden(t *testing.T) {
	for name, got := range goldenConfigs(t, "/DIR") {
		path := filepath.Join("testdata", "golden", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestConfigGolden -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s (run go test -run TestConfigGolden -update if the change is intended)\n--- got ---\n%s", name, path, got)
		}
	}
}

// TestConfigCheckers runs each server's own configuration checker on the
// generated files.
func TestConfigCheckers(t *testing.T) {
	dir := t.TempDir()
	confs := goldenConfigs(t, dir)
	check := map[string][]string{
		"named.conf":           {"named-checkconf", "FILE"},
		"named-recursive.conf": {"named-checkconf", "FILE"},
		"nsd.conf":             {"nsd-checkconf", "FILE"},
		"knot.conf":            {"knotc", "-c", "FILE", "conf-check"},
		"unbound.conf":         {"unbound-checkconf", "FILE"},
	}
	if err := os.WriteFile(filepath.Join(dir, "root.hints"), []byte(rootHints([]netip.Addr{netip.MustParseAddr("127.53.1.1")})), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, cmd := range check {
		t.Run(name, func(t *testing.T) {
			bin := RequireBinary(t, cmd[0])
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(confs[name]), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string(nil), cmd[1:]...)
			for i, a := range args {
				if a == "FILE" {
					args[i] = path
				}
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Errorf("%s %s: %v\n%s", cmd[0], strings.Join(args, " "), err, out)
			}
		})
	}
}
