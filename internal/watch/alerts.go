package watch

import (
	"fmt"
	"strings"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
)

// kindOf maps history event kinds to alert kinds (they share their names,
// but the two packages own their lists).
var kindOf = map[string]string{
	history.KindFindingOpened:     alert.KindFindingOpened,
	history.KindFindingResolved:   alert.KindFindingResolved,
	history.KindFindingReopened:   alert.KindFindingReopened,
	history.KindFindingChanged:    alert.KindFindingChanged,
	history.KindNameAdded:         alert.KindNameAdded,
	history.KindNameRemoved:       alert.KindNameRemoved,
	history.KindNameserverAdded:   alert.KindNameserverAdded,
	history.KindNameserverRemoved: alert.KindNameserverRemoved,
	history.KindRecordAdded:       alert.KindRecordAdded,
	history.KindRecordRemoved:     alert.KindRecordRemoved,
	history.KindOutage:            alert.KindOutage,
}

// Severities of the alerts that carry no finding.
const (
	outageSeverity     = finding.Medium
	scanFailedSeverity = finding.Medium
)

// maxFolded bounds the records listed in the title of a name alert.
const maxFolded = 8

// AlertsOf returns the alerts of a recorded step, one per change. prev is
// the domain's scan before this one (zero when none). The rules:
//
//   - an alert's ID is derived from the domain, kind, subject, finding id,
//     the scan's id and (records) the record's data, so that the same step
//     gives the same alerts however often it is replayed;
//   - an outage alerts only when the scan before was not an outage: one
//     alert per outage, however many runs it lasts;
//   - the first scan of a domain (Step.First) gives one baseline alert
//     summarising what it saw, and one finding-opened alert per finding;
//     its names, nameservers and records are the baseline, not news;
//   - records of a name that was itself added or removed by the step are
//     folded into that name's alert instead of an alert each.
//
// link, when not nil, gives the web UI address of a domain's timeline at
// a scan.
func AlertsOf(step *history.Step, prev history.Scan, link func(domain, scanID string) string) []alert.Alert {
	sc := &step.Scan
	mk := func(kind, subject, findingID, occurrence string, sev finding.Severity, title string) alert.Alert {
		a := alert.Alert{
			ID:   alert.NewID(sc.Domain, kind, subject, findingID, sc.ID+occurrence),
			Time: sc.Started, Domain: sc.Domain, Kind: kind, Severity: sev, Subject: subject, Title: title,
		}
		if link != nil {
			a.Link = link(sc.Domain, sc.ID)
		}
		return a
	}
	var out []alert.Alert
	if sc.Outage {
		if prev.Outage {
			return nil
		}
		detail := sc.Error
		if detail == "" && len(step.Events) > 0 {
			detail = step.Events[0].Detail
		}
		return []alert.Alert{mk(alert.KindOutage, sc.Domain, "", "", outageSeverity, "outage: "+detail)}
	}
	states := make(map[string]*history.FindingState, len(step.States))
	for i := range step.States {
		states[step.States[i].Key] = &step.States[i]
	}
	if step.First {
		c := sc.Counts
		out = append(out, mk(alert.KindBaseline, sc.Domain, "", "", finding.Info,
			fmt.Sprintf("first scan: %d names, %d records, %d nameservers, %d findings (%d critical, %d high, %d medium)",
				c.Names, c.Records, c.Nameservers, c.Findings.Total(), c.Findings.Critical, c.Findings.High, c.Findings.Medium)))
	}
	folded := foldRecords(step)
	for i := range step.Events {
		e := &step.Events[i]
		kind, ok := kindOf[e.Kind]
		if !ok || kind == alert.KindOutage {
			continue
		}
		isFinding := e.FindingID != ""
		if step.First && !isFinding {
			continue
		}
		switch e.Kind {
		case history.KindRecordAdded, history.KindRecordRemoved:
			if _, ok := folded[e.Subject]; ok {
				continue
			}
			out = append(out, mk(kind, e.Subject, "", " "+e.Detail, e.Severity, e.Detail))
			continue
		case history.KindNameAdded, history.KindNameRemoved:
			out = append(out, mk(kind, e.Subject, "", "", e.Severity, folded[e.Subject]))
			continue
		}
		a := mk(kind, e.Subject, e.FindingID, "", e.Severity, e.Detail)
		if isFinding {
			key := e.FindingID + " " + e.Subject
			if st, ok := states[key]; ok {
				f := st.Finding
				a.Finding = &f
			}
		}
		out = append(out, a)
	}
	return out
}

// foldRecords returns, for each name the step added or removed, the
// summary of its records added or removed by the same step ("A
// 192.0.2.1; AAAA 2001:db8::1").
func foldRecords(step *history.Step) map[string]string {
	lists := make(map[string][]string)
	for i := range step.Events {
		e := &step.Events[i]
		if e.Kind == history.KindNameAdded || e.Kind == history.KindNameRemoved {
			lists[e.Subject] = nil
		}
	}
	for i := range step.Events {
		e := &step.Events[i]
		if e.Kind != history.KindRecordAdded && e.Kind != history.KindRecordRemoved {
			continue
		}
		if l, ok := lists[e.Subject]; ok {
			lists[e.Subject] = append(l, e.Detail)
		}
	}
	out := make(map[string]string, len(lists))
	for n, l := range lists {
		if len(l) > maxFolded {
			l = append(l[:maxFolded], fmt.Sprintf("and %d more", len(l)-maxFolded))
		}
		out[n] = strings.Join(l, "; ")
	}
	return out
}
