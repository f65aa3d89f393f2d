package scan

import (
	"fmt"

	"github.com/dnsscout/dnsscout/internal/baseline"
	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

// Report is one domain's scan: what recon found (the embedded Result, its
// fields first in JSON), what the audit judged, what changed since the
// baseline, the resolvers' health and the run's statistics. Its JSON form
// is the public contract documented in the README; Stats shadows recon's.
// Timing (Started, Finished, Stats.DurationMS) and completeness (Complete,
// Gaps, Partial) come from recon's part.
type Report struct {
	*recon.Result
	Findings []finding.Finding `json:"findings"`
	// Changes is set when the scan was compared with a baseline: what is
	// new, changed or gone since then.
	Changes   *change.Set      `json:"changes,omitempty"`
	Resolvers []ResolverStatus `json:"resolvers"`
	Stats     Stats            `json:"stats"`
}

// ResolverStatus is the health of one resolver after the scan.
type ResolverStatus struct {
	Address  string `json:"address"`
	Healthy  bool   `json:"healthy"`
	Reason   string `json:"reason,omitempty"`
	Queries  uint64 `json:"queries"`
	Timeouts uint64 `json:"timeouts"`
}

// Stats counts the work of one scan: recon's queries (recon.Stats) plus
// what the engine dropped and repeated meanwhile. Dropped and Retries are
// the engine's own counters over the scan, so scans sharing an engine at
// the same time see each other's.
type Stats struct {
	Queries    uint64 `json:"queries"`
	Responses  uint64 `json:"responses"`
	Timeouts   uint64 `json:"timeouts"`
	Dropped    uint64 `json:"dropped"`
	Retries    uint64 `json:"retries"`
	TCP        uint64 `json:"tcp"`
	DurationMS int64  `json:"duration_ms"`
}

func statsOf(s recon.Stats) Stats {
	return Stats{Queries: s.Queries, Responses: s.Responses, Timeouts: s.Timeouts, TCP: s.TCP, DurationMS: s.DurationMS}
}

// addHealth adds the engine's view (health, drops, retries since before).
func (r *Report) addHealth(h Health, before resolver.Stats) {
	after := h.Stats()
	r.Stats.Dropped = after.Dropped - before.Dropped
	r.Stats.Retries = after.Retries - before.Retries
	for _, s := range h.Servers() {
		r.Resolvers = append(r.Resolvers, ResolverStatus{
			Address: s.Address.String(), Healthy: s.Healthy, Reason: s.Reason,
			Queries: s.Queries, Timeouts: s.Timeouts,
		})
	}
}

// baselineRun is the part of r a baseline comparison reads.
func (r *Report) baselineRun() *baseline.Run {
	return &baseline.Run{Result: r.Result, Findings: r.Findings}
}

// GateError says that findings reached the --fail-on severity.
type GateError struct {
	// Count is the number of findings at or above At.
	Count int
	At    finding.Severity
}

func (e *GateError) Error() string {
	return fmt.Sprintf("%d findings at or above %s", e.Count, e.At)
}

// Gate returns a *GateError when any finding of reports is at or above
// sev, nil otherwise: a pipeline's --fail-on.
func Gate(reports []*Report, sev finding.Severity) error {
	n := 0
	for _, r := range reports {
		if r == nil {
			continue
		}
		for _, f := range r.Findings {
			if f.Severity >= sev {
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	return &GateError{Count: n, At: sev}
}
