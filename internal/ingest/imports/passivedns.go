package imports

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// ReadPassiveDNS imports a gamelinux/passivedns log, text or JSON (each
// line is recognised on its own). See ParsePassiveDNS.
func ReadPassiveDNS(ctx context.Context, r io.Reader, o Options, st *Stats, sink Sink) error {
	return readLines(ctx, r, o, st, func(line []byte) error {
		t, nx, err := ParsePassiveDNS(line)
		if err != nil {
			return err
		}
		if nx {
			if err := store.CheckName(t.RRName); err != nil {
				return lineErr(BadName, "%v", err)
			}
			atomic.AddUint64(&st.NX, 1)
			return sink.NXDomain(t.RRName, t.TimeLast, t.Count)
		}
		atomic.AddUint64(&st.Tuples, 1)
		return sink.Tuple(&t)
	})
}

// ParsePassiveDNS parses one passivedns log line:
//
//	ts.usec||client||server||class||query||type||answer||ttl||count
//
// (older versions omit count), or one -j JSON object. The time becomes
// both time_first and time_last (passivedns prints the last sighting),
// count is taken as is (1 when absent). The addresses are dropped. nx is
// true for an NXDOMAIN line; t then carries the name, time and count only.
// TXT answers (passivedns keeps the first string only) are quoted as one
// string; other answers must parse as their type and are brought to
// canonical form (store.CheckTuple). Answers passivedns shortened to a name
// (MX and SRV keep only the target, SOA only the MNAME) are no valid
// record: they are skipped by policy (Shortened), as class CH lines are.
func ParsePassiveDNS(line []byte) (t pdns.Tuple, nx bool, err error) {
	line = bytes.TrimSpace(line)
	var f pdnsFields
	if len(line) > 0 && line[0] == '{' {
		err = f.fromJSON(line)
	} else {
		err = f.fromText(string(line))
	}
	if err != nil {
		return t, false, err
	}
	return f.tuple()
}

type pdnsFields struct {
	ts, class, query, typ, answer, count string
}

func (f *pdnsFields) fromText(s string) error {
	p := strings.Split(s, "||")
	switch {
	case len(p) == 8:
		f.ts, f.class, f.query, f.typ, f.answer = p[0], p[3], p[4], p[5], p[6]
	case len(p) >= 9:
		// An answer (TXT) may itself contain "||": the fields after it
		// are the last two.
		f.ts, f.class, f.query, f.typ = p[0], p[3], p[4], p[5]
		f.answer = strings.Join(p[6:len(p)-2], "||")
		f.count = p[len(p)-1]
	default:
		return lineErr(BadSyntax, "%d fields, want 8 or 9 (%s)", len(p), quote(s))
	}
	return nil
}

func (f *pdnsFields) fromJSON(b []byte) error {
	var j struct {
		Timestamp   json.RawMessage `json:"timestamp"`
		TimestampS  json.RawMessage `json:"timestamp_s"`
		TimestampMS json.RawMessage `json:"timestamp_ms"`
		Class       string          `json:"class"`
		Query       string          `json:"query"`
		Type        json.RawMessage `json:"type"`
		Answer      string          `json:"answer"`
		Count       json.RawMessage `json:"count"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return lineErr(BadSyntax, "%v", err)
	}
	f.class, f.query, f.answer = j.Class, j.Query, j.Answer
	f.typ = unquote(j.Type)
	f.count = unquote(j.Count)
	switch {
	case len(j.TimestampS) > 0:
		f.ts = unquote(j.TimestampS)
	case len(j.Timestamp) > 0:
		f.ts = unquote(j.Timestamp)
	case len(j.TimestampMS) > 0:
		ms, err := strconv.ParseInt(unquote(j.TimestampMS), 10, 64)
		if err != nil || ms < 0 {
			return lineErr(BadNumber, "timestamp_ms %s", quote(string(j.TimestampMS)))
		}
		f.ts = strconv.FormatInt(ms/1000, 10)
	}
	if f.class == "" {
		f.class = "IN"
	}
	return nil
}

// unquote returns a JSON scalar as text: strings without their quotes,
// numbers as written.
func unquote(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

func (f *pdnsFields) tuple() (t pdns.Tuple, nx bool, err error) {
	sec, _, _ := strings.Cut(strings.TrimSpace(f.ts), ".")
	ts, perr := strconv.ParseInt(sec, 10, 64)
	if perr != nil || ts <= 0 {
		return t, false, lineErr(BadNumber, "timestamp %s", quote(f.ts))
	}
	if c := strings.ToUpper(strings.TrimSpace(f.class)); c != "IN" && c != "1" {
		return t, false, lineErr(NotIN, "class %s", quote(f.class))
	}
	q := strings.TrimSpace(f.query)
	if q == "" || strings.ContainsAny(q, " \t") {
		return t, false, lineErr(BadName, "query %s", quote(f.query))
	}
	t.RRName = pdns.CanonicalName(q)
	t.TimeFirst, t.TimeLast, t.Count = ts, ts, 1
	if c := strings.TrimSpace(f.count); c != "" && c != "null" {
		n, err := strconv.ParseUint(c, 10, 64)
		if err != nil || n == 0 {
			return t, false, lineErr(BadNumber, "count %s", quote(f.count))
		}
		t.Count = n
	}
	if strings.EqualFold(strings.TrimSpace(f.answer), "NXDOMAIN") {
		return t, true, nil
	}
	typ := strings.TrimSpace(f.typ)
	var ok bool
	if t.RRType, ok = pdns.ParseType(typ); !ok {
		n, err := strconv.ParseUint(typ, 10, 16)
		if err != nil || n == 0 {
			return t, false, lineErr(BadType, "type %s", quote(f.typ))
		}
		t.RRType = uint16(n)
	}
	if t.RRType == dns.TypeOPT || t.RRType == dns.TypeTSIG || t.RRType == dns.TypeTKEY {
		return t, false, lineErr(Meta, "type %s", quote(f.typ))
	}
	answer := strings.TrimSpace(f.answer)
	if answer == "" {
		return t, false, lineErr(BadSyntax, "empty answer")
	}
	if t.RRType == dns.TypeTXT || t.RRType == dns.TypeSPF {
		t.RData = quoteTXT(f.answer)
	} else {
		t.RData, _ = pdns.CanonicalRData(t.RRType, answer)
	}
	if err := check(&t); err != nil {
		if ReasonOf(err) == BadRData && shortened(t.RRType, answer) {
			return t, false, lineErr(Shortened, "%s answer %s", pdns.TypeString(t.RRType), quote(answer))
		}
		return t, false, err
	}
	return t, false, nil
}

// shortened reports whether answer is what passivedns prints for a record
// of type t whose data has a name and more: the name alone.
func shortened(t uint16, answer string) bool {
	switch t {
	case dns.TypeMX, dns.TypeSRV, dns.TypeSOA, dns.TypeNAPTR, dns.TypeRP, dns.TypeAFSDB, dns.TypeKX,
		dns.TypeRT, dns.TypePX, dns.TypeMINFO, dns.TypeLP, dns.TypeSVCB, dns.TypeHTTPS:
		return pdns.IsPresentationName(answer)
	}
	return false
}

// quoteTXT renders text as the sensor renders a TXT record carrying it:
// split into character-strings of at most 255 bytes (within the 64 KiB
// of rdata).
func quoteTXT(text string) string {
	var strs []string
	for s, size := text, 0; (len(s) > 0 || len(strs) == 0) && size < 65535; {
		n := min(len(s), 255, 65535-size-1)
		strs = append(strs, s[:n])
		s = s[n:]
		size += n + 1
	}
	if rd := renderTXT(dns.TypeTXT, strs); rd != "" {
		return rd
	}
	return `"` + text + `"`
}
