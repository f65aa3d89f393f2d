package api

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/demo"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// TestReconPage runs the recon page over HTTP against the demo world: the
// answer's findings are the scan's, and result.json is the scan's report
// (the JSON contract, resolvers included). A timeout keeps what was
// found, marked partial.
func TestReconPage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo DNS world")
	}
	world, err := demo.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(world.Close)
	res, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{world.Resolver}, Concurrency: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	tests := []struct {
		name    string
		timeout time.Duration
		partial bool
	}{
		{name: "complete", timeout: time.Minute},
		{name: "timeout", timeout: time.Second, partial: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Brute force only where it keeps recon busy past the timeout.
			ro := recon.Options{NameserverPort: world.Port, Concurrency: 64, NoPTR: true, NoSRV: true, NoBruteforce: !tc.partial}
			if tc.partial {
				ro.Wordlist = make([]string, 200000)
				for i := range ro.Wordlist {
					ro.Wordlist[i] = "w" + strings.Repeat("q", i%5) + string(rune('a'+i%26)) + strconv.Itoa(i)
				}
			}
			e := newEnv(t, func(o *Options) {
				o.Recon = &ReconConfig{Exchanger: res, Options: scan.Options{Recon: ro}, Timeout: tc.timeout}
			})
			hdr := map[string]string{"X-API-Key": e.addKey(keys.Spec{Name: "recon"}), "Content-Type": "application/json"}
			code, _, body := e.do("POST", "/api/v1/recon", hdr, strings.NewReader(`{"domain":"example.org"}`))
			if code != 200 {
				t.Fatalf("recon: %d %s", code, body)
			}
			var ans ReconAnswer
			if err := json.Unmarshal([]byte(body), &ans); err != nil {
				t.Fatal(err)
			}
			if ans.Error != "" || ans.Result == "" {
				t.Fatalf("answer %+v", ans)
			}
			code, _, body = e.do("GET", ans.Result, hdr, nil)
			if code != 200 {
				t.Fatalf("result.json: %d %s", code, body)
			}
			var rep scan.Report
			if err := json.Unmarshal([]byte(body), &rep); err != nil || rep.Result == nil {
				t.Fatalf("result.json is not a report: %v", err)
			}
			if rep.Domain != "example.org" || len(rep.Resolvers) != 1 || rep.Partial() != tc.partial {
				t.Errorf("report of %s: resolvers %+v, partial %v (want %v), gaps %+v", rep.Domain, rep.Resolvers, rep.Partial(), tc.partial, rep.Gaps)
			}
			if len(rep.Findings) != len(ans.Findings) || !slices.EqualFunc(rep.Findings, ans.Findings, func(a, b finding.Finding) bool { return a.ID == b.ID && a.Subject == b.Subject }) {
				t.Errorf("answer findings %v, result.json %v", ans.Findings, rep.Findings)
			}
			if !tc.partial && len(ans.Findings) == 0 {
				t.Error("no findings for example.org")
			}
		})
	}
}
