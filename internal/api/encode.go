package api

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// This file renders tuples as DNSDB API v2 objects (inside SAF framing)
// and summaries. CIRCL answers use pdns.AppendCOF as is.

// dnsdbStyle says how DNSDB objects are rendered.
type dnsdbStyle struct {
	// humantime writes times as RFC 3339 strings instead of epoch seconds.
	humantime bool
	// bailiwick includes the bailiwick (rrset lookups only).
	bailiwick bool
}

// appendDNSDB appends t as one DNSDB v2 lookup object: count, the sensor
// times when the tuple was seen in traffic, the zone times when it was
// seen in zone files, rrname (trailing dot), rrtype (mnemonic or TYPEn),
// bailiwick (rrset lookups), rdata as a one-element array.
func appendDNSDB(b []byte, t *pdns.Tuple, st dnsdbStyle) []byte {
	b = append(b, `{"count":`...)
	b = strconv.AppendUint(b, t.Count, 10)
	if t.TimeFirst != 0 || t.TimeLast != 0 {
		b = appendTime(b, `,"time_first":`, t.TimeFirst, st.humantime)
		b = appendTime(b, `,"time_last":`, t.TimeLast, st.humantime)
	}
	if t.ZoneTimeFirst != 0 || t.ZoneTimeLast != 0 {
		b = appendTime(b, `,"zone_time_first":`, t.ZoneTimeFirst, st.humantime)
		b = appendTime(b, `,"zone_time_last":`, t.ZoneTimeLast, st.humantime)
	}
	b = append(b, `,"rrname":`...)
	b = appendJSONName(b, t.RRName)
	b = append(b, `,"rrtype":`...)
	b = appendJSONString(b, typeName(t.RRType))
	if st.bailiwick && t.Bailiwick != "" {
		b = append(b, `,"bailiwick":`...)
		b = appendJSONName(b, t.Bailiwick)
	}
	b = append(b, `,"rdata":[`...)
	b = appendJSONString(b, t.RData)
	return append(b, "]}"...)
}

// appendSummary appends DNSDB's summarize object.
func appendSummary(b []byte, s *store.Summary, humantime bool) []byte {
	b = append(b, `{"count":`...)
	b = strconv.AppendUint(b, s.Count, 10)
	b = append(b, `,"num_results":`...)
	b = strconv.AppendInt(b, s.NumResults, 10)
	if s.TimeFirst != 0 || s.TimeLast != 0 {
		b = appendTime(b, `,"time_first":`, s.TimeFirst, humantime)
		b = appendTime(b, `,"time_last":`, s.TimeLast, humantime)
	}
	if s.ZoneTimeFirst != 0 || s.ZoneTimeLast != 0 {
		b = appendTime(b, `,"zone_time_first":`, s.ZoneTimeFirst, humantime)
		b = appendTime(b, `,"zone_time_last":`, s.ZoneTimeLast, humantime)
	}
	return append(b, '}')
}

func appendTime(b []byte, field string, t int64, human bool) []byte {
	b = append(b, field...)
	if !human {
		return strconv.AppendInt(b, t, 10)
	}
	b = append(b, '"')
	b = time.Unix(t, 0).UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// typeName is the rrtype mnemonic clients parse: TYPEn for types without
// one and for the reserved 0 and 65535.
func typeName(t uint16) string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	if t == 65535 {
		return "TYPE65535"
	}
	return pdns.TypeString(t)
}

// typeNames caches the names of the low types, which nearly all records
// have.
var typeNames = func() []string {
	n := make([]string, 300)
	n[0] = "TYPE0"
	for t := 1; t < len(n); t++ {
		n[t] = pdns.TypeString(uint16(t))
	}
	return n
}()

// appendJSONName appends fqdn(n) as a JSON string without building it.
func appendJSONName(b []byte, n string) []byte {
	if n == "" || n == "." {
		return append(b, `"."`...)
	}
	b = appendJSONString(b, n)
	b[len(b)-1] = '.'
	return append(b, '"')
}

// fqdn renders a canonical name with its trailing dot, as DNSDB does.
func fqdn(n string) string {
	if n == "" || n == "." {
		return "."
	}
	return n + "."
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD, control characters are escaped, HTML characters are not.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, `\u00`...)
				b = append(b, hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
