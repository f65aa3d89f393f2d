package imports

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/miekg/dns"
)

// The detectors below tell whether head, the first bytes of an input
// (decompressed), start a file of their format: it must parse as one, not
// merely look like one. They read complete lines only (a head without a
// newline is taken as one line), so a cut at the end of head does no harm.

// IsPassiveDNS reports whether the first line of head is a
// gamelinux/passivedns log line: the "||" text format with its 8 or 9
// fields and a numeric timestamp, or a -j JSON object with "query" and
// "answer".
func IsPassiveDNS(head []byte) bool {
	line := firstLine(head)
	if len(line) > 0 && line[0] == '{' {
		var j struct {
			Query  *json.RawMessage `json:"query"`
			Answer *json.RawMessage `json:"answer"`
		}
		return json.Unmarshal(line, &j) == nil && j.Query != nil && j.Answer != nil
	}
	return isPassiveDNSText(line) && bytes.Count(line, []byte("||")) >= 7
}

// isPassiveDNSText: digits and dots (the timestamp), then "||".
func isPassiveDNSText(line []byte) bool {
	i := bytes.Index(line, []byte("||"))
	if i <= 0 {
		return false
	}
	for _, c := range line[:i] {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// IsCOF reports whether the first line of head is a COF object (it has
// "rrname") or a DNSDB SAF line ("cond" or "obj").
func IsCOF(head []byte) bool {
	line := firstLine(head)
	if len(line) == 0 || line[0] != '{' {
		return false
	}
	var j struct {
		RRName *json.RawMessage `json:"rrname"`
		Cond   *json.RawMessage `json:"cond"`
		Obj    *json.RawMessage `json:"obj"`
	}
	return json.Unmarshal(line, &j) == nil && (j.RRName != nil || j.Cond != nil || j.Obj != nil)
}

// IsZone reports whether head starts a master file: text without NUL
// bytes in which the zone parser reads at least one record before any
// error ($INCLUDE counts as one).
func IsZone(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
		head = head[:i+1]
	}
	zp := dns.NewZoneParser(bytes.NewReader(head), ".", "")
	zp.SetIncludeAllowed(false)
	_, ok := zp.Next()
	if !ok && zp.Err() != nil && strings.Contains(zp.Err().Error(), "$INCLUDE") {
		return true // refused when read, with a clear error
	}
	return ok
}

// firstLine returns the first non-empty complete line of head, trimmed.
func firstLine(head []byte) []byte {
	for len(head) > 0 {
		line, rest, _ := bytes.Cut(head, []byte("\n"))
		if line = bytes.TrimSpace(line); len(line) > 0 {
			return line
		}
		head = rest
	}
	return nil
}
