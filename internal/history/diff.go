package history

import (
	"slices"
	"strings"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// SnapshotDiff is what differs between two snapshots of a domain. Each list
// is sorted by identity.
type SnapshotDiff struct {
	NamesAdded         []string `json:"names_added,omitempty"`
	NamesRemoved       []string `json:"names_removed,omitempty"`
	NameserversAdded   []string `json:"nameservers_added,omitempty"`
	NameserversRemoved []string `json:"nameservers_removed,omitempty"`
	RecordsAdded       []Record `json:"records_added,omitempty"`
	RecordsRemoved     []Record `json:"records_removed,omitempty"`
	// FindingsAdded and FindingsRemoved are findings present on one side
	// only; FindingsChanged are on both with another severity (as in to).
	FindingsAdded   []finding.Finding `json:"findings_added,omitempty"`
	FindingsRemoved []finding.Finding `json:"findings_removed,omitempty"`
	FindingsChanged []finding.Finding `json:"findings_changed,omitempty"`
}

// Empty reports whether nothing differs.
func (d *SnapshotDiff) Empty() bool {
	return len(d.NamesAdded)+len(d.NamesRemoved)+len(d.NameserversAdded)+len(d.NameserversRemoved)+
		len(d.RecordsAdded)+len(d.RecordsRemoved)+len(d.FindingsAdded)+len(d.FindingsRemoved)+len(d.FindingsChanged) == 0
}

// Diff compares two normalized snapshots (from the older scan to the newer
// one, e.g. two Store.Snapshot results). A nil snapshot is empty.
func Diff(from, to *Snapshot) SnapshotDiff {
	if from == nil {
		from = &Snapshot{}
	}
	if to == nil {
		to = &Snapshot{}
	}
	var d SnapshotDiff
	d.NamesAdded, d.NamesRemoved = setDiff(from.Names, to.Names, strings.Compare)
	d.NameserversAdded, d.NameserversRemoved = setDiff(from.Nameservers, to.Nameservers, strings.Compare)
	d.RecordsAdded, d.RecordsRemoved = setDiff(from.Records, to.Records, compareRecords)
	byKey := make(map[string]*finding.Finding, len(from.Findings))
	for i := range from.Findings {
		byKey[FindingKey(&from.Findings[i])] = &from.Findings[i]
	}
	for i := range to.Findings {
		f := &to.Findings[i]
		k := FindingKey(f)
		was, ok := byKey[k]
		switch {
		case !ok:
			d.FindingsAdded = append(d.FindingsAdded, *f)
		case was.Severity != f.Severity:
			d.FindingsChanged = append(d.FindingsChanged, *f)
		}
		delete(byKey, k)
	}
	for i := range from.Findings {
		if _, gone := byKey[FindingKey(&from.Findings[i])]; gone {
			d.FindingsRemoved = append(d.FindingsRemoved, from.Findings[i])
		}
	}
	return d
}

// setDiff returns what is in b and not in a, and what is in a and not in b,
// each sorted, by a merge walk; inputs that are not sorted (a snapshot
// that was not normalized) are sorted on copies first.
func setDiff[T comparable](a, b []T, cmp func(T, T) int) (added, removed []T) {
	sorted := func(s []T) []T {
		if slices.IsSortedFunc(s, cmp) {
			return s
		}
		s = slices.Clone(s)
		slices.SortFunc(s, cmp)
		return s
	}
	a, b = sorted(a), sorted(b)
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && cmp(a[i], b[j]) < 0:
			if len(removed) == 0 || removed[len(removed)-1] != a[i] {
				removed = append(removed, a[i])
			}
			i++
		case i == len(a) || cmp(a[i], b[j]) > 0:
			if len(added) == 0 || added[len(added)-1] != b[j] {
				added = append(added, b[j])
			}
			j++
		default:
			x := a[i]
			for i < len(a) && a[i] == x {
				i++
			}
			for j < len(b) && b[j] == x {
				j++
			}
		}
	}
	return added, removed
}

// union returns the normalized union of two snapshots' names, records and
// nameservers, with b's findings (and a's for keys b lacks), in b's domain.
func union(a, b *Snapshot) Snapshot {
	u := Snapshot{Domain: b.Domain,
		Names:       append(slices.Clone(a.Names), b.Names...),
		Records:     append(slices.Clone(a.Records), b.Records...),
		Nameservers: append(slices.Clone(a.Nameservers), b.Nameservers...),
	}
	// b's findings first: Normalize keeps the first of equal severity.
	u.Findings = append(slices.Clone(b.Findings), a.Findings...)
	u.Normalize()
	return u
}

// cloneSnapshot copies s deeply enough that normalizing the copy leaves s
// alone.
func cloneSnapshot(s *Snapshot) Snapshot {
	c := *s
	c.Names = slices.Clone(s.Names)
	c.Records = slices.Clone(s.Records)
	c.Nameservers = slices.Clone(s.Nameservers)
	c.Findings = slices.Clone(s.Findings)
	return c
}
