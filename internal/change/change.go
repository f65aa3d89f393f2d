// Package change defines the shape of a baseline comparison: what is new,
// changed or gone in one domain's scan since an earlier run. It is the
// "changes" section of the JSON contract (scan.Report.Changes), and a leaf
// package (it imports only finding) so that history and the store can use
// it without importing baseline or scan. Computing a Set is the baseline
// package's job; drawing it is the report package's.
package change

import (
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// Kinds of change, as they appear in JSON and in finding.Finding.Change.
const (
	New     = "new"
	Changed = "changed"
	Gone    = "gone"
)

// Set is every difference between a baseline result and the current result
// of one domain. Lists hold only differences, each sorted by identity.
type Set struct {
	Domain string `json:"domain"`
	// Baseline names where the earlier result came from (a file path);
	// empty when unknown.
	Baseline string `json:"baseline,omitempty"`
	// Since is when the baseline run started; zero when there was none.
	Since time.Time `json:"since"`
	// Missing is true when the baseline held no result for this domain: then
	// everything current is new.
	Missing  bool      `json:"missing,omitempty"`
	Summary  Summary   `json:"summary"`
	Names    []Name    `json:"names,omitempty"`
	Records  []Record  `json:"records,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
}

// Summary counts the differences per kind of item.
type Summary struct {
	Names    Counts `json:"names"`
	Records  Counts `json:"records"`
	Findings Counts `json:"findings"`
}

// Counts is how many items are new, changed and gone.
type Counts struct {
	New     int `json:"new"`
	Changed int `json:"changed"`
	Gone    int `json:"gone"`
}

// Total is the number of differences.
func (c Counts) Total() int { return c.New + c.Changed + c.Gone }

// Empty reports whether nothing differs.
func (s *Set) Empty() bool {
	return s == nil || s.Summary.Names.Total()+s.Summary.Records.Total()+s.Summary.Findings.Total() == 0
}

// Name is a discovered owner name that appeared, disappeared or whose
// addresses changed. Identity is the name.
type Name struct {
	Change string `json:"change"`
	Name   string `json:"name"`
	// Addresses are the current addresses (for gone: the last known ones).
	Addresses []string `json:"addresses,omitempty"`
	// PreviousAddresses are the baseline's addresses; set for changed.
	PreviousAddresses []string `json:"previous_addresses,omitempty"`
}

// Record is a resource record that appeared or disappeared. Identity is
// name + type + data; a TTL change alone is not a change.
type Record struct {
	Change string `json:"change"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	TTL    uint32 `json:"ttl"`
	Data   string `json:"data"`
	Source string `json:"source"`
}

// Key is the identity of a record.
func (r Record) Key() RecordKey { return NewRecordKey(r.Name, r.Type, r.Data) }

// RecordKey identifies a record: owner name, type and data.
type RecordKey struct{ Name, Type, Data string }

// NewRecordKey makes the identity of a record, forgiving case and a
// trailing dot in the name, case in the type and space around the data.
func NewRecordKey(name, typ, data string) RecordKey {
	return RecordKey{Name: NameKey(name), Type: strings.ToUpper(strings.TrimSpace(typ)), Data: strings.TrimSpace(data)}
}

// NameKey is the identity of an owner name: lower case, no trailing dot.
func NameKey(s string) string {
	s = strings.TrimSpace(s)
	if s != "." {
		s = strings.TrimSuffix(s, ".")
	}
	return strings.ToLower(s)
}

// Finding is a finding that appeared, disappeared, or whose severity or
// evidence changed. Identity is id + subject.
type Finding struct {
	Change   string           `json:"change"`
	ID       string           `json:"id"`
	Subject  string           `json:"subject"`
	Title    string           `json:"title"`
	Severity finding.Severity `json:"severity"`
	Evidence []string         `json:"evidence,omitempty"`
	// Remediation is kept for gone findings so that a report can say what
	// was fixed.
	Remediation string `json:"remediation,omitempty"`
	// Previous is the baseline's severity and evidence; set for changed.
	Previous *FindingState `json:"previous,omitempty"`
}

// Key is the identity of a finding.
func (f Finding) Key() FindingKey { return FindingKey{f.ID, f.Subject} }

// FindingKey identifies a finding: check id and subject.
type FindingKey struct{ ID, Subject string }

// FindingState is the part of a finding whose change makes it "changed".
type FindingState struct {
	Severity finding.Severity `json:"severity"`
	Evidence []string         `json:"evidence,omitempty"`
}
