package dnstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// EnvRealServers is the environment variable that turns missing server
// binaries and missing root from a skip into a failure: CI sets it to
// "require".
const EnvRealServers = "DNSSCOUT_REAL_SERVERS"

// debianPackages maps the binaries the helpers run to the Debian package
// that ships them (scripts/install-test-deps.sh installs them all).
var debianPackages = map[string]string{
	"named":             "bind9",
	"named-checkconf":   "bind9-utils",
	"dnssec-keygen":     "bind9-utils",
	"dnssec-signzone":   "bind9-utils",
	"dig":               "bind9-dnsutils",
	"nsupdate":          "bind9-dnsutils",
	"nsd":               "nsd",
	"nsd-checkconf":     "nsd",
	"knotd":             "knot",
	"knotc":             "knot",
	"keymgr":            "knot",
	"kdig":              "knot-dnsutils",
	"unbound":           "unbound",
	"unbound-checkconf": "unbound",
	"ldns-signzone":     "ldnsutils",
	"ldns-keygen":       "ldnsutils",
	"ip":                "iproute2",
	"exim4":             "exim4-daemon-light",
}

// sbinDirs are searched after $PATH: non-root users often lack sbin there.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// lookBinary finds a server binary in $PATH or the sbin directories.
func lookBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return exec.LookPath(name) // for its error
}

// requireReal reports whether missing prerequisites must fail the test.
func requireReal() bool { return os.Getenv(EnvRealServers) == "require" }

// RequireBinary returns the path of the named program. When it is missing
// the test is skipped, or fails if DNSSCOUT_REAL_SERVERS=require, with a
// message naming the Debian package and scripts/install-test-deps.sh.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := lookBinary(name)
	if err == nil {
		return p
	}
	pkg := debianPackages[name]
	if pkg == "" {
		pkg = "the package that provides it"
	}
	msg := "dnstest: %s not found (install Debian package %s, e.g. with scripts/install-test-deps.sh)"
	if requireReal() {
		t.Fatalf(msg+"; failing because %s=require", name, pkg, EnvRealServers)
		return ""
	}
	t.Skipf(msg+"; skipping (set %s=require to fail instead)", name, pkg, EnvRealServers)
	return ""
}

// RequireRoot skips the test unless the process runs as root (needed to
// bind port 53 and add loopback addresses), or fails it if
// DNSSCOUT_REAL_SERVERS=require.
func RequireRoot(t testing.TB) {
	t.Helper()
	if isRoot() {
		return
	}
	msg := "dnstest: test needs root (port 53 on 127.53.x.y, ip addr add on lo)"
	if requireReal() {
		t.Fatalf("%s; failing because %s=require", msg, EnvRealServers)
		return
	}
	t.Skipf("%s; skipping (set %s=require to fail instead)", msg, EnvRealServers)
}
