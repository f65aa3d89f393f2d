package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// TestPartialBanner: a result cut short says so in every format, and what
// a run could not cover is listed; a complete result carries no banner.
func TestPartialBanner(t *testing.T) {
	capped := recon.Gap{Stage: "axfr", Zone: "example.com", Server: "192.0.2.53", Reason: "1000 records kept; stopped at the cap of 1000 records (--axfr-max-records)"}
	for _, partial := range []bool{true, false} {
		r := second()
		r.Gaps = []recon.Gap{capped}
		if partial {
			r.MarkPartial(recon.Gap{Stage: "interrupted", Reason: "the run was stopped during stage bruteforce example.net"})
		}
		for _, format := range []string{"table", "md", "html", "json"} {
			t.Run(format, func(t *testing.T) {
				out := string(render(t, format, []*scan.Report{r}, Options{}))
				for _, want := range []string{"the run was stopped during stage bruteforce example.net", "PARTIAL RESULT"} {
					if got := strings.Contains(out, want); got != partial && format != "json" {
						t.Errorf("partial=%v: %q in output: %v", partial, want, got)
					}
				}
				if format != "json" && !strings.Contains(out, "stopped at the cap of 1000 records") {
					t.Errorf("gap not listed:\n%.2000s", out)
				}
			})
		}
		// One domain: one object.
		var back struct {
			Complete *bool       `json:"complete"`
			Gaps     []recon.Gap `json:"gaps"`
		}
		if err := json.Unmarshal(render(t, "json", []*scan.Report{r}, Options{}), &back); err != nil {
			t.Fatal(err)
		}
		if got := back.Complete != nil && !*back.Complete; got != partial {
			t.Errorf("JSON complete=%v, want partial=%v", back.Complete, partial)
		}
		if len(back.Gaps) != len(r.Gaps) {
			t.Errorf("JSON gaps %+v", back.Gaps)
		}
	}
}
