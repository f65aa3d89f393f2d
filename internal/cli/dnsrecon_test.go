package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// dnsreconProblems maps what dnsrecon's standard scan reports as a problem
// to the dnsscout finding id that covers it (docs/checks.md has the table).
var dnsreconProblems = []struct {
	pattern *regexp.Regexp
	id      string
}{
	{regexp.MustCompile(`Zone Transfer was successful`), "axfr-allowed"},
	{regexp.MustCompile(`Recursion enabled on NS Server`), "open-resolver"},
	{regexp.MustCompile(`Bind Version for`), "version-disclosure"},
	{regexp.MustCompile(`Wildcard resolution is enabled`), "wildcard"},
	{regexp.MustCompile(`DNSSEC is not configured`), "dnssec-missing"},
	{regexp.MustCompile(`performs NXDOMAIN hijacking`), "open-resolver"},
}

// TestAgainstDnsrecon runs Debian's dnsrecon (standard scan with AXFR) and
// dnsscout on the same world of real servers: every problem dnsrecon
// reports, dnsscout reports too.
func TestAgainstDnsrecon(t *testing.T) {
	dnsrecon := dnstest.RequireBinary(t, "dnsrecon")
	dnstest.RequireRoot(t)
	unshare := dnstest.RequireBinary(t, "unshare")
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.NSD,
		Resolver:    dnstest.ResolverUnbound,
		Zones: []dnstest.WorldZone{{
			Name: "example.com",
			Records: `
@ IN MX 10 mail
@ IN TXT "v=spf1 mx -all"
www IN A 192.0.2.10
mail IN A 192.0.2.25
* IN A 192.0.2.99
`,
			Servers: []dnstest.WorldServer{
				{Impl: dnstest.BIND, AllowTransfer: true, Version: "9.11.4-dnsrecon-test"},
				{Impl: dnstest.BIND, Recursion: true},
			},
		}},
	})

	// dnsrecon asks the system resolver for some checks whatever -n says:
	// in a mount namespace of its own, /etc/resolv.conf names the world's
	// resolver, so nothing leaves loopback.
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver "+w.Resolver.Addr().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	script := `mount --bind "$1" /etc/resolv.conf && exec "$2" -d example.com -n "$3" -a`
	out, err := exec.CommandContext(ctx, unshare, "-m", "--", "sh", "-c", script, "sh", conf, dnsrecon, w.Resolver.Addr().String()).CombinedOutput()
	if err != nil {
		t.Fatalf("dnsrecon: %v\n%s", err, out)
	}
	var want []string
	var reported []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, p := range dnsreconProblems {
			if p.pattern.MatchString(line) {
				reported = append(reported, strings.TrimSpace(line))
				if !slices.Contains(want, p.id) {
					want = append(want, p.id)
				}
			}
		}
	}
	// The world is built to trip dnsrecon's checks: if it reports fewer,
	// the comparison would prove little.
	if len(want) < 4 {
		t.Fatalf("dnsrecon reported only %v; output:\n%s", want, out)
	}

	code, stdout, errOut := run(t, nil, "recon", "-r", w.Resolver.String(), "-w", "none", "--format", "json", "--progress", "never", "example.com")
	if code != ExitOK {
		t.Fatalf("dnsscout: exit %d: %s", code, errOut)
	}
	var res scan.Report
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.ID)
	}
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Errorf("dnsrecon reports a problem dnsscout misses: %s (dnsrecon said %q)", id, reported)
		}
	}
	t.Logf("dnsrecon: %v; dnsscout: %d findings, ids %v", want, len(res.Findings), compactIDs(got))
}

func compactIDs(ids []string) []string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}
