package alert

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// Alert is one change worth telling someone about. The caller (a watch
// run) builds it; the package routes, spools and renders it.
type Alert struct {
	// ID is the stable deduplication key: the same change must get the
	// same ID in every run (see NewID). 1-128 bytes of [A-Za-z0-9._:-].
	ID string `json:"id"`
	// Time is when the change was seen. Required.
	Time time.Time `json:"time"`
	// Domain is the monitored domain (canonical: lower case, A-labels, no
	// trailing dot). Required.
	Domain string `json:"domain"`
	// Kind is one of the kinds in Kinds.
	Kind string `json:"kind"`
	// Severity is the finding's severity, or the caller's judgement for
	// kinds without a finding.
	Severity finding.Severity `json:"severity"`
	// Subject is what changed: a name, a nameserver, a record, the
	// finding's subject.
	Subject string `json:"subject,omitempty"`
	// Title is a short headline (the finding's title, say).
	Title string `json:"title,omitempty"`
	// Text is one human line; Line composes one when it is empty.
	Text string `json:"text,omitempty"`
	// Finding is the finding behind a finding-* alert.
	Finding *finding.Finding `json:"finding,omitempty"`
	// Link is a URL to the domain's timeline in the web UI, optional.
	Link string `json:"link,omitempty"`
}

// Kinds of alert. The watch run emits them; rules select them by name.
const (
	KindFindingOpened     = "finding-opened"
	KindFindingResolved   = "finding-resolved"
	KindFindingReopened   = "finding-reopened"
	KindFindingChanged    = "finding-changed"
	KindNameAdded         = "name-added"
	KindNameRemoved       = "name-removed"
	KindNameserverAdded   = "nameserver-added"
	KindNameserverRemoved = "nameserver-removed"
	KindRecordAdded       = "record-added"
	KindRecordRemoved     = "record-removed"
	KindOutage            = "outage"
	KindScanFailed        = "scan-failed"
	KindBaseline          = "baseline"
)

// KindInfo documents one kind (docs/alerts.md is checked against Kinds).
type KindInfo struct {
	Name        string
	Description string
}

// Kinds lists every alert kind, in the order the docs present them.
var Kinds = []KindInfo{
	{KindFindingOpened, "an audit finding appeared for the first time"},
	{KindFindingResolved, "an open finding is no longer reported"},
	{KindFindingReopened, "a resolved finding is reported again"},
	{KindFindingChanged, "an open finding's severity changed"},
	{KindNameAdded, "a name was discovered that earlier scans did not see"},
	{KindNameRemoved, "a name seen by earlier scans is gone"},
	{KindNameserverAdded, "the domain (or a sub-zone) gained a nameserver"},
	{KindNameserverRemoved, "a nameserver left the delegation"},
	{KindRecordAdded, "a record appeared"},
	{KindRecordRemoved, "a record disappeared"},
	{KindOutage, "a scan could not reach the resolvers or the domain's nameservers; no diff was taken"},
	{KindScanFailed, "a scan of the domain failed (and will be retried)"},
	{KindBaseline, "the first scan of a domain: what it saw, in one alert (its findings are also alerted one by one)"},
}

func knownKind(k string) bool {
	for _, ki := range Kinds {
		if ki.Name == k {
			return true
		}
	}
	return false
}

// NewID derives a stable alert ID (64 hex digits) from what identifies a
// change: the domain, the kind, the subject, the finding ID (empty for
// kinds without one) and the occurrence the caller provides so that a
// change that happens again later is a new alert (the scan ID, or the time
// of the lifecycle transition).
func NewID(domain, kind, subject, findingID, occurrence string) string {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{domain, kind, subject, findingID, occurrence} {
		// Length-prefixed, so that ("a b", "c") and ("a", "b c") differ.
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// maxIDLen bounds an alert ID (it is a spool and log key).
const maxIDLen = 128

// validID reports whether id is 1-128 bytes of [A-Za-z0-9._:-].
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// check reports what makes a unusable, or nil.
func (a *Alert) check() error {
	switch {
	case !validID(a.ID):
		return fmt.Errorf("%w: id %s: want 1-%d bytes of [A-Za-z0-9._:-]", ErrInvalidAlert, quote(a.ID), maxIDLen)
	case a.Time.IsZero():
		return fmt.Errorf("%w: %s: no time", ErrInvalidAlert, a.ID)
	case a.Domain == "" || len(a.Domain) > 253:
		return fmt.Errorf("%w: %s: domain %s", ErrInvalidAlert, a.ID, quote(a.Domain))
	case !knownKind(a.Kind):
		return fmt.Errorf("%w: %s: unknown kind %s", ErrInvalidAlert, a.ID, quote(a.Kind))
	case a.Severity < finding.Info || a.Severity > finding.Critical:
		return fmt.Errorf("%w: %s: severity %d", ErrInvalidAlert, a.ID, int(a.Severity))
	}
	return nil
}

// Line is the alert in one human line: its Text, or one composed from the
// other fields.
func (a *Alert) Line() string {
	if a.Text != "" {
		return oneLine(a.Text)
	}
	var b strings.Builder
	b.WriteString(a.Domain)
	b.WriteString(": ")
	b.WriteString(a.Kind)
	if a.Title != "" {
		b.WriteString(": ")
		b.WriteString(a.Title)
	}
	if a.Subject != "" {
		b.WriteString(" (")
		b.WriteString(a.Subject)
		b.WriteString(")")
	}
	return oneLine(b.String())
}

// headline is "Title" or, without one, the kind and subject.
func (a *Alert) headline() string {
	if a.Title != "" {
		return oneLine(a.Title)
	}
	if a.Subject != "" {
		return oneLine(a.Kind + " " + a.Subject)
	}
	return a.Kind
}

// findingID is the ID of the alert's finding, or "".
func (a *Alert) findingID() string {
	if a.Finding == nil {
		return ""
	}
	return a.Finding.ID
}

// oneLine replaces control characters (line breaks included) with spaces
// and makes s valid UTF-8, so that a value cannot add lines or headers to
// a message.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// quote quotes at most 80 bytes of s for an error message.
func quote(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q...", s[:80])
	}
	return fmt.Sprintf("%q", s)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut
// with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
