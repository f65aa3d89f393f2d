// Package baseline compares one domain's run (its recon result and its
// findings) with an earlier run of the same domain and says what is new,
// changed or gone: names (changed when their addresses changed), records
// (identity name + type + data) and findings (identity id + subject;
// changed when severity or evidence changed). It also loads earlier
// --format json output. The shape of a comparison lives in the leaf
// package change; putting it in a report is package scan's job, drawing
// it the report package's.
package baseline

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

// Diff is the comparison of one domain's result with its baseline.
type Diff = change.Set

// Run is one domain's run as a baseline comparison sees it: what recon
// found and what the audit judged. Its JSON form is the part of the JSON
// contract a comparison reads (the other fields of a report are ignored).
type Run struct {
	*recon.Result
	Findings []finding.Finding `json:"findings"`
}

// Compare returns what differs in cur since prev. A nil prev means the
// baseline did not know the domain: everything in cur is new and Missing is
// set. A nil cur means the domain is gone: everything in prev is gone.
// Neither run is modified; see Apply to mark cur's findings.
func Compare(prev, cur *Run) Diff {
	var d Diff
	var pr, cr Run
	switch {
	case prev == nil && cur == nil:
		return d
	case prev == nil:
		d.Missing = true
		cr = *cur
	case cur == nil:
		pr = *prev
	default:
		pr, cr = *prev, *cur
	}
	if pr.Result == nil {
		pr.Result = &recon.Result{}
	}
	if cr.Result == nil {
		cr.Result = &recon.Result{}
	}
	if cur != nil {
		d.Domain = cur.Domain
	} else {
		d.Domain = prev.Domain
	}
	if prev != nil {
		d.Since = pr.Started
	}
	d.Names = compareNames(pr.Names, cr.Names, &d.Summary.Names)
	d.Records = compareRecords(pr.Records, cr.Records, &d.Summary.Records)
	d.Findings = compareFindings(pr.Findings, cr.Findings, &d.Summary.Findings)
	return d
}

// Apply marks findings with their change ("new" or "changed") from diff
// and clears any older mark; findings that did not change are left
// unmarked. Gone findings stay in diff only, so that the findings remain
// the list of what is wrong now (a pipeline gate must not trip on what was
// fixed). A nil diff only clears the marks.
func Apply(findings []finding.Finding, diff *Diff) {
	marks := map[change.FindingKey]string{}
	if diff != nil {
		for _, f := range diff.Findings {
			if f.Change != change.Gone {
				marks[f.Key()] = f.Change
			}
		}
	}
	for i := range findings {
		f := &findings[i]
		f.Change = marks[findingKey(f)]
	}
}

// Against compares cur with the run of the same domain in f (Compare),
// names f's path in the diff and marks cur's findings (Apply). A nil f
// returns nil and leaves cur alone.
func (f *File) Against(cur *Run) *Diff {
	if f == nil || cur == nil || cur.Result == nil {
		return nil
	}
	d := Compare(f.Lookup(cur.Domain), cur)
	d.Baseline = f.Path
	Apply(cur.Findings, &d)
	return &d
}

func compareNames(prev, cur []recon.Name, c *change.Counts) []change.Name {
	pm := make(map[string][]string, len(prev))
	for _, n := range prev {
		pm[canonName(n.Name)] = append(pm[canonName(n.Name)], n.Addresses...)
	}
	cm := make(map[string][]string, len(cur))
	for _, n := range cur {
		cm[canonName(n.Name)] = append(cm[canonName(n.Name)], n.Addresses...)
	}
	var out []change.Name
	for name, addrs := range cm {
		now := addrSet(addrs)
		was, ok := pm[name]
		switch {
		case !ok:
			out = append(out, change.Name{Change: change.New, Name: name, Addresses: now})
			c.New++
		case !slices.Equal(now, addrSet(was)):
			out = append(out, change.Name{Change: change.Changed, Name: name, Addresses: now, PreviousAddresses: addrSet(was)})
			c.Changed++
		}
	}
	for name, addrs := range pm {
		if _, ok := cm[name]; !ok {
			out = append(out, change.Name{Change: change.Gone, Name: name, Addresses: addrSet(addrs)})
			c.Gone++
		}
	}
	slices.SortFunc(out, func(a, b change.Name) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func compareRecords(prev, cur []recon.Record, c *change.Counts) []change.Record {
	index := func(rs []recon.Record) map[change.RecordKey]recon.Record {
		m := make(map[change.RecordKey]recon.Record, len(rs))
		for _, r := range rs {
			k := recordKey(r)
			if _, dup := m[k]; !dup {
				m[k] = r
			}
		}
		return m
	}
	pm, cm := index(prev), index(cur)
	var out []change.Record
	add := func(kind string, k change.RecordKey, r recon.Record) {
		out = append(out, change.Record{Change: kind, Name: k.Name, Type: k.Type, TTL: r.TTL, Data: k.Data, Source: r.Source})
	}
	for k, r := range cm {
		if _, ok := pm[k]; !ok {
			add(change.New, k, r)
			c.New++
		}
	}
	for k, r := range pm {
		if _, ok := cm[k]; !ok {
			add(change.Gone, k, r)
			c.Gone++
		}
	}
	slices.SortFunc(out, func(a, b change.Record) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Type, b.Type), strings.Compare(a.Data, b.Data))
	})
	return out
}

func compareFindings(prev, cur []finding.Finding, c *change.Counts) []change.Finding {
	// Several findings may share an identity (a check that reports one
	// subject twice); they are paired in order.
	pm := map[change.FindingKey][]*finding.Finding{}
	for i := range prev {
		k := findingKey(&prev[i])
		pm[k] = append(pm[k], &prev[i])
	}
	var out []change.Finding
	for i := range cur {
		f := &cur[i]
		k := findingKey(f)
		was := pm[k]
		if len(was) == 0 {
			out = append(out, changeOf(change.New, f))
			c.New++
			continue
		}
		p := was[0]
		pm[k] = was[1:]
		if p.Severity != f.Severity || !sameEvidence(p.Evidence, f.Evidence) {
			ch := changeOf(change.Changed, f)
			ch.Previous = &change.FindingState{Severity: p.Severity, Evidence: slices.Clone(p.Evidence)}
			out = append(out, ch)
			c.Changed++
		}
	}
	for i := range prev {
		p := &prev[i]
		k := findingKey(p)
		if rest := pm[k]; len(rest) > 0 && rest[0] == p {
			pm[k] = rest[1:]
			g := changeOf(change.Gone, p)
			g.Remediation = p.Remediation
			out = append(out, g)
			c.Gone++
		}
	}
	slices.SortStableFunc(out, func(a, b change.Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), strings.Compare(a.ID, b.ID), strings.Compare(a.Subject, b.Subject))
	})
	return out
}

func changeOf(kind string, f *finding.Finding) change.Finding {
	return change.Finding{Change: kind, ID: f.ID, Subject: f.Subject, Title: f.Title, Severity: f.Severity, Evidence: slices.Clone(f.Evidence)}
}

func findingKey(f *finding.Finding) change.FindingKey {
	return change.FindingKey{ID: f.ID, Subject: f.Subject}
}

func recordKey(r recon.Record) change.RecordKey { return change.NewRecordKey(r.Name, r.Type, r.Data) }

// canonName forgives hand-edited baselines: case and a trailing dot.
func canonName(s string) string { return change.NameKey(s) }

// addrSet returns addresses in canonical text form, sorted and unique, so
// that order and spelling (2001:DB8::1 vs 2001:db8::1) are not changes.
func addrSet(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if ip, err := netip.ParseAddr(a); err == nil {
			a = ip.Unmap().String()
		} else {
			a = strings.ToLower(a)
		}
		out = append(out, a)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sameEvidence compares evidence as a multiset: a check that lists the same
// facts in another order has not changed.
func sameEvidence(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
