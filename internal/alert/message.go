package alert

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// Message is what one delivery carries: one alert, or a digest of several.
type Message struct {
	// ID identifies the delivery: the alert's ID, or for a digest a hash
	// of its members' IDs. Webhooks send it as X-Dnsscout-Delivery, email
	// as the Message-ID, so that a receiver can drop a repeat.
	ID string `json:"id"`
	// Alerts are the alerts delivered, in the order they were enqueued.
	Alerts []Alert `json:"alerts"`
	// Digest summarises Alerts when the message is a digest; nil for a
	// single alert.
	Digest *Digest `json:"digest,omitempty"`
}

// Digest summarises many alerts: counts by domain and kind and the first
// lines.
type Digest struct {
	// Total is the number of alerts, Domains of distinct domains.
	Total   int `json:"total"`
	Domains int `json:"domains"`
	// MaxSeverity is the highest severity among the alerts.
	MaxSeverity finding.Severity `json:"max_severity"`
	// First and Last are the earliest and latest alert times.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Groups count the alerts per domain and kind, sorted by domain then
	// kind (in Kinds order).
	Groups []DigestGroup `json:"groups"`
	// Lines are the first alerts' lines (Alert.Line, prefixed with the
	// severity), More the number of alerts not shown.
	Lines []string `json:"lines"`
	More  int      `json:"more"`
}

// DigestGroup counts the alerts of one kind for one domain.
type DigestGroup struct {
	Domain      string           `json:"domain"`
	Kind        string           `json:"kind"`
	Count       int              `json:"count"`
	MaxSeverity finding.Severity `json:"max_severity"`
}

// newSingle wraps one alert.
func newSingle(a Alert) *Message {
	return &Message{ID: a.ID, Alerts: []Alert{a}}
}

// digestLineMax bounds one line of a digest.
const digestLineMax = 300

// newDigest summarises alerts (at least one) with the first lines lines.
func newDigest(alerts []Alert, lines int) *Message {
	h := sha256.New()
	for i := range alerts {
		h.Write([]byte(alerts[i].ID))
		h.Write([]byte{0})
	}
	d := &Digest{Total: len(alerts), First: alerts[0].Time, Last: alerts[0].Time}
	type key struct{ domain, kind string }
	groups := map[key]*DigestGroup{}
	domains := map[string]bool{}
	for i := range alerts {
		a := &alerts[i]
		d.MaxSeverity = max(d.MaxSeverity, a.Severity)
		if a.Time.Before(d.First) {
			d.First = a.Time
		}
		if a.Time.After(d.Last) {
			d.Last = a.Time
		}
		domains[a.Domain] = true
		g := groups[key{a.Domain, a.Kind}]
		if g == nil {
			g = &DigestGroup{Domain: a.Domain, Kind: a.Kind, MaxSeverity: a.Severity}
			groups[key{a.Domain, a.Kind}] = g
		}
		g.Count++
		g.MaxSeverity = max(g.MaxSeverity, a.Severity)
		if len(d.Lines) < lines {
			d.Lines = append(d.Lines, truncate("["+a.Severity.String()+"] "+a.Line(), digestLineMax))
		}
	}
	d.More = len(alerts) - len(d.Lines)
	d.Domains = len(domains)
	for _, g := range groups {
		d.Groups = append(d.Groups, *g)
	}
	slices.SortFunc(d.Groups, func(a, b DigestGroup) int {
		return cmp.Or(strings.Compare(a.Domain, b.Domain), cmp.Compare(kindOrder(a.Kind), kindOrder(b.Kind)))
	})
	return &Message{ID: "digest-" + hex.EncodeToString(h.Sum(nil))[:32], Alerts: alerts, Digest: d}
}

func kindOrder(k string) int {
	return slices.IndexFunc(Kinds, func(ki KindInfo) bool { return ki.Name == k })
}

// domainCounts is "example.com (8), example.net (4)" for a digest's
// domains, the busiest first, at most n of them.
func (d *Digest) domainCounts(n int) string {
	type dc struct {
		domain string
		count  int
	}
	var counts []dc
	for _, g := range d.Groups {
		if len(counts) > 0 && counts[len(counts)-1].domain == g.Domain {
			counts[len(counts)-1].count += g.Count
			continue
		}
		counts = append(counts, dc{g.Domain, g.Count})
	}
	slices.SortStableFunc(counts, func(a, b dc) int { return cmp.Compare(b.count, a.count) })
	var parts []string
	for i, c := range counts {
		if i == n {
			parts = append(parts, fmt.Sprintf("%d more", len(counts)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", c.domain, c.count))
	}
	return strings.Join(parts, ", ")
}

// summary is the digest in a few words: "12 alerts for 2 domains
// (highest: high)".
func (d *Digest) summary() string {
	dom := "domain"
	if d.Domains != 1 {
		dom = "domains"
	}
	return fmt.Sprintf("%d alerts for %d %s (highest: %s)", d.Total, d.Domains, dom, d.MaxSeverity)
}

// subject is a one-line title for a message: for one alert its domain,
// severity and headline; for a digest the counts per domain.
func (m *Message) subject() string {
	if m.Digest != nil {
		return fmt.Sprintf("%d alerts: %s", m.Digest.Total, m.Digest.domainCounts(3))
	}
	a := &m.Alerts[0]
	return fmt.Sprintf("%s: %s %s: %s", a.Domain, a.Severity, a.Kind, a.headline())
}

// timeText formats alert times in messages for people.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
