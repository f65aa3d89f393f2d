// Package finding defines the shape of an audit finding and its severity
// scale: the public vocabulary that checks produce and reports, baselines and
// the pipeline gate consume. It does not decide what is a finding; that is
// the checks package's job.
package finding

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity orders findings from informational to critical.
type Severity int

// Severities, lowest first, so that comparisons read naturally
// (s >= High).
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String returns the lower-case name used in JSON and reports.
func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity accepts a severity name in any case.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("finding: unknown severity %q (want one of %s)", name, strings.Join(severityNames[:], ", "))
}

// MarshalJSON writes the severity name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	v, err := ParseSeverity(name)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Finding is one problem found in a domain's DNS, with what proves it and how
// to fix it. ID is a stable public identifier documented in docs/checks.md.
type Finding struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	Subject     string   `json:"subject"`
	Evidence    []string `json:"evidence"`
	Remediation string   `json:"remediation"`
	References  []string `json:"references"`
	// Change is set by a baseline comparison: "new", "changed" or "gone".
	Change string `json:"change,omitempty"`
}
