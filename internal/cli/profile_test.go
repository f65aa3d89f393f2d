package cli

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/pages"
)

func TestCPUProfileEnv(t *testing.T) {
	dir := t.TempDir()
	envWith := func(path string) *env {
		return &env{getenv: func(k string) string {
			if k == cpuProfileEnv {
				return path
			}
			return ""
		}, resolvConf: filepath.Join(dir, "missing-resolv.conf")}
	}

	t.Run("written", func(t *testing.T) {
		if err := pprof.StartCPUProfile(io.Discard); err != nil {
			t.Skipf("the profiler is in use (go test -cpuprofile?): %v", err)
		}
		pprof.StopCPUProfile()
		path := filepath.Join(dir, "cpu.pprof")
		code, out, stderr := run(t, envWith(path), "version")
		if code != ExitOK || !strings.Contains(out, Version) || stderr != "" {
			t.Fatalf("version with a profile: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
		// A profile is a gzip-compressed protocol buffer.
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("the profile is not gzip: %v", err)
		}
		if raw, err := io.ReadAll(zr); err != nil || len(raw) == 0 {
			t.Fatalf("the profile: %d bytes, %v", len(raw), err)
		}
	})

	t.Run("unwritable", func(t *testing.T) {
		code, out, stderr := run(t, envWith(filepath.Join(dir, "missing", "cpu.pprof")), "version")
		if code != ExitError || out != "" || !strings.Contains(stderr, cpuProfileEnv) {
			t.Fatalf("exit %d, stdout %q, stderr %q: want exit %d, nothing run, and the variable named",
				code, out, stderr, ExitError)
		}
	})
}

func TestHugePagesEnv(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		value string
		code  int
		huge  bool
	}{
		{"", ExitOK, true},
		{"off", ExitOK, false},
		{"ON", ExitOK, true},
		{"0", ExitOK, false},
		{"sometimes", ExitUsage, false},
	} {
		e := &env{getenv: func(k string) string {
			if k == hugePagesEnv {
				return tc.value
			}
			return ""
		}, resolvConf: filepath.Join(dir, "missing-resolv.conf")}
		code, out, stderr := run(t, e, "version")
		if code != tc.code {
			t.Errorf("%s=%q: exit %d (stdout %q, stderr %q), want %d", hugePagesEnv, tc.value, code, out, stderr, tc.code)
		}
		if e.hugePages != tc.huge {
			t.Errorf("%s=%q: huge pages %v, want %v", hugePagesEnv, tc.value, e.hugePages, tc.huge)
		}
		if tc.code != ExitOK && (out != "" || !strings.Contains(stderr, hugePagesEnv)) {
			t.Errorf("%s=%q: stdout %q, stderr %q: want nothing run, and the variable named", hugePagesEnv, tc.value, out, stderr)
		}
	}
}

// TestIngestHugePages: an ingest of files turns the huge-page advice on
// (and off with DNSSCOUT_HUGEPAGES=off), an ingest of standard input off;
// other commands leave it as it is (off).
func TestIngestHugePages(t *testing.T) {
	defer pages.SetHuge(pages.Huge())
	dir := t.TempDir()
	capture := filepath.Join(dir, "empty.pcap")
	// A pcap header and no packet.
	if err := os.WriteFile(capture, []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, value := range []string{"off", "on"} {
		pages.SetHuge(value == "off") // the other way round before
		e := &env{getenv: func(k string) string {
			if k == hugePagesEnv {
				return value
			}
			return ""
		}, resolvConf: filepath.Join(dir, "missing-resolv.conf")}
		code, _, stderr := run(t, e, "ingest", "-q", "--progress", "never", "--db", filepath.Join(dir, "db-"+value), "--sensor-id", "t", capture)
		if code != ExitOK {
			t.Fatalf("ingest with %s=%s: exit %d, stderr %q", hugePagesEnv, value, code, stderr)
		}
		if got := pages.Huge(); got != (value == "on") {
			t.Errorf("after ingest with %s=%s: huge pages %v", hugePagesEnv, value, got)
		}
	}
	// Not from standard input, which may never end.
	pages.SetHuge(true)
	if code, _, stderr := run(t, nil, "ingest", "-q", "--progress", "never", "--db", filepath.Join(dir, "db-stdin"), "--sensor-id", "t", "-"); code != ExitOK || pages.Huge() {
		t.Errorf("ingest of standard input: exit %d (stderr %q), huge pages %v; want 0 and off", code, stderr, pages.Huge())
	}
	pages.SetHuge(false)
	if code, _, _ := run(t, nil, "version"); code != ExitOK || pages.Huge() {
		t.Errorf("version: exit %d, huge pages %v; want 0 and off", code, pages.Huge())
	}
}
