package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnstest"
)

// BenchmarkReconEndlessTransfer: the whole of `dnsscout recon --format
// json` (recon, audit, JSON) of a zone whose server streams AXFR records
// forever, capped at DNSSCOUT_BENCH_RECORDS (default 200,000). The whole
// program's figures (RSS, wall time) come from bench/hostile.
//
//	go test ./internal/cli -run '^$' -bench ReconEndlessTransfer -benchtime 1x -memprofile /tmp/mem.prof
func BenchmarkReconEndlessTransfer(b *testing.B) {
	w := dnstest.NewWorld(b, dnstest.WorldSpec{DefaultImpl: dnstest.InProcess, Resolver: dnstest.ResolverInProcess,
		Zones: []dnstest.WorldZone{{Name: "endless.test"}}})
	old := w.Servers("endless.test")[0]
	old.Stop()
	z, err := dnstest.ParseZone("endless.test.", w.Text["endless.test."])
	if err != nil {
		b.Fatal(err)
	}
	dnstest.StartServer(b, old.Addr, dnstest.Hostile(dnstest.NewZoneHandler(z), dnstest.EndlessTransfer("endless.test", 0, 0)))
	records := "200000"
	if n := os.Getenv("DNSSCOUT_BENCH_RECORDS"); n != "" {
		records = n
	}
	args := []string{"recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)), "--format", "json",
		"--progress", "never", "--axfr-max-records", records, "--axfr-timeout", "1h", "endless.test"}
	for b.Loop() {
		e := &env{getenv: func(string) string { return "" }, resolvConf: filepath.Join(b.TempDir(), "none"),
			stdin: strings.NewReader(""), stdout: io.Discard, stderr: &bytes.Buffer{}}
		if code := runEnv(context.Background(), e, args); code != ExitOK {
			b.Fatalf("exit %d: %s", code, e.stderr)
		}
	}
}
