package imports

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Zeek writes one dns.log line per query and response it paired, with the
// answer section summarised: `answers` holds one string per answer record
// (an address, a name, "TXT 5 hello" or a placeholder such as "RRSIG A
// example.com" or "<unknown type=39>"), in the order of the message,
// without its owner or type. zeekAnswers maps them back to records only
// where the log determines them (docs/ingest.md, "Zeek dns.log").

// IsZeek reports whether head starts a Zeek dns.log: the TSV header
// ("#separator", then "#fields" with query and answers), or a JSON line
// with Zeek's "ts" and "uid" and a DNS field.
func IsZeek(head []byte) bool {
	line := firstLine(head)
	if len(line) > 0 && line[0] == '{' {
		var j struct {
			TS      *json.RawMessage `json:"ts"`
			UID     *json.RawMessage `json:"uid"`
			Query   *json.RawMessage `json:"query"`
			TransID *json.RawMessage `json:"trans_id"`
		}
		return json.Unmarshal(line, &j) == nil && j.TS != nil && j.UID != nil && (j.Query != nil || j.TransID != nil)
	}
	if !bytes.HasPrefix(line, []byte("#separator ")) {
		return false
	}
	for rest := head; len(rest) > 0; {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		if f, ok := bytes.CutPrefix(l, []byte("#fields")); ok {
			return bytes.Contains(f, []byte("query")) && bytes.Contains(f, []byte("answers"))
		}
	}
	// A header longer than head: the separator line is enough.
	return len(head) >= 4<<10
}

// zeekRecord is one dns.log line, as text.
type zeekRecord struct {
	ts        string
	path      string // "_path" of JSON, "#path" of TSV
	query     string
	qclass    string
	qtype     string // number
	qtypeName string
	rcode     string // number
	rcodeName string
	respPort  string
	opcode    string
	answers   []string
	set       bool // the line has DNS fields at all
}

// ReadZeek imports Zeek dns.log files, TSV (several logs concatenated, each
// with its header) or JSON (one object per line; TSV and JSON lines may
// not be mixed within one header's scope). Only NOERROR answers give
// tuples, NXDOMAIN responses NXDOMAIN counts; each is seen once at the
// line's ts.
func ReadZeek(ctx context.Context, r io.Reader, o Options, st *Stats, sink Sink) error {
	var h zeekHeader
	return readLinesWith(ctx, r, o, st, trimEOL, func(line []byte) error {
		if len(line) == 0 {
			return nil
		}
		var rec zeekRecord
		switch {
		case line[0] == '#':
			return h.meta(line)
		case line[0] == '{':
			if err := rec.fromJSON(line); err != nil {
				return err
			}
		default:
			if err := h.record(line, &rec); err != nil {
				return err
			}
		}
		return rec.emit(st, sink)
	})
}

// zeekHeader is the state of the TSV header in force.
type zeekHeader struct {
	sep, setSep   string
	empty, unset  string
	path          string
	fields        map[string]int
	nfields       int
	parts         []string
	haveSeparator bool
}

// meta reads a header line. A "#separator" line starts a new log.
func (h *zeekHeader) meta(line []byte) error {
	s := string(line)
	if v, ok := strings.CutPrefix(s, "#separator "); ok {
		*h = zeekHeader{sep: zeekUnescape(v), setSep: ",", empty: "(empty)", unset: "-", haveSeparator: true}
		if h.sep == "" {
			return lineErr(BadSyntax, "empty #separator")
		}
		return nil
	}
	if !h.haveSeparator {
		return lineErr(BadSyntax, "Zeek header line before #separator: %s", quote(s))
	}
	key, val, _ := strings.Cut(s, h.sep)
	switch key {
	case "#set_separator":
		h.setSep = zeekUnescape(val)
	case "#empty_field":
		h.empty = val
	case "#unset_field":
		h.unset = val
	case "#path":
		h.path = val
	case "#fields":
		names := strings.Split(val, h.sep)
		h.fields = make(map[string]int, len(names))
		for i, n := range names {
			h.fields[n] = i
		}
		h.nfields = len(names)
	}
	// #open, #close, #types and comments say nothing the import needs.
	return nil
}

// record splits a TSV data line by the header in force.
func (h *zeekHeader) record(line []byte, rec *zeekRecord) error {
	if h.fields == nil {
		return lineErr(BadSyntax, "Zeek log line before its #fields header: %s", quote(string(line)))
	}
	h.parts = strings.Split(string(line), h.sep)
	if len(h.parts) != h.nfields {
		return lineErr(BadSyntax, "%d fields, the #fields header names %d (%s)", len(h.parts), h.nfields, quote(string(line)))
	}
	get := func(name string) string {
		i, ok := h.fields[name]
		if !ok {
			return ""
		}
		v := h.parts[i]
		if v == h.unset || v == h.empty {
			return ""
		}
		return zeekUnescape(v)
	}
	rec.path = h.path
	rec.ts, rec.query, rec.qclass = get("ts"), get("query"), get("qclass")
	rec.qtype, rec.qtypeName = get("qtype"), get("qtype_name")
	rec.rcode, rec.rcodeName = get("rcode"), get("rcode_name")
	rec.respPort, rec.opcode = get("id.resp_p"), get("opcode")
	_, rec.set = h.fields["query"]
	if i, ok := h.fields["answers"]; ok {
		if v := h.parts[i]; v != h.unset && v != h.empty {
			// Split before unescaping: a separator inside an element
			// is escaped.
			for _, a := range strings.Split(v, h.setSep) {
				rec.answers = append(rec.answers, zeekUnescape(a))
			}
		}
	}
	return nil
}

func (rec *zeekRecord) fromJSON(line []byte) error {
	var j struct {
		TS        json.RawMessage `json:"ts"`
		Path      string          `json:"_path"`
		Query     *string         `json:"query"`
		TransID   json.RawMessage `json:"trans_id"`
		QClass    json.RawMessage `json:"qclass"`
		QType     json.RawMessage `json:"qtype"`
		QTypeName string          `json:"qtype_name"`
		RCode     json.RawMessage `json:"rcode"`
		RCodeName string          `json:"rcode_name"`
		RespPort  json.RawMessage `json:"id.resp_p"`
		Opcode    json.RawMessage `json:"opcode"`
		Answers   []string        `json:"answers"`
	}
	if err := json.Unmarshal(line, &j); err != nil {
		return lineErr(BadSyntax, "%v", err)
	}
	rec.ts, rec.path = unquote(j.TS), j.Path
	if j.Query != nil {
		rec.query = *j.Query
	}
	rec.set = j.Query != nil || j.TransID != nil || j.RCode != nil
	rec.qclass, rec.qtype, rec.qtypeName = unquote(j.QClass), unquote(j.QType), j.QTypeName
	rec.rcode, rec.rcodeName = unquote(j.RCode), j.RCodeName
	rec.respPort, rec.opcode = unquote(j.RespPort), unquote(j.Opcode)
	rec.answers = j.Answers
	return nil
}

// zeekUnescape undoes the escapes of Zeek's ASCII writer: \xHH for bytes
// that are not printable or are separators, \\ for a backslash.
func zeekUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		if c == '\\' && i+1 < len(s) && s[i+1] == '\\' {
			b.WriteByte('\\')
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// zeekLocalPorts are the ports of Zeek's DNS analyser that carry local
// names (NetBIOS, mDNS, LLMNR), which the sensor keeps apart or not at all.
var zeekLocalPorts = map[string]bool{"137": true, "5353": true, "5355": true}

func (rec *zeekRecord) emit(st *Stats, sink Sink) error {
	switch {
	case rec.path != "" && rec.path != "dns":
		return lineErr(OtherEvent, "Zeek %s log line", quote(rec.path))
	case !rec.set:
		return lineErr(OtherEvent, "Zeek log line without DNS fields")
	case rec.opcode != "" && rec.opcode != "0":
		return lineErr(OtherEvent, "opcode %s", quote(rec.opcode))
	case zeekLocalPorts[rec.respPort]:
		return lineErr(LocalName, "port %s", rec.respPort)
	case rec.qclass != "" && rec.qclass != "1":
		return lineErr(NotIN, "qclass %s", quote(rec.qclass))
	}
	ts, err := zeekTime(rec.ts)
	if err != nil {
		return err
	}
	nx := false
	switch {
	case rec.rcodeName == "NOERROR" || rec.rcodeName == "" && rec.rcode == "0":
	case rec.rcodeName == "NXDOMAIN" || rec.rcodeName == "" && rec.rcode == "3":
		nx = true
	default:
		return lineErr(NoAnswer, "rcode %s", quote(rec.rcodeName+rec.rcode))
	}
	query, ok := zeekName(rec.query)
	if !ok {
		return lineErr(Undetermined, "query %s", quote(rec.query))
	}
	qtype := zeekQType(rec.qtype, rec.qtypeName)
	recs, last, ok := zeekAnswers(query, qtype, rec.answers)
	if nx {
		if !ok || last == "" {
			return lineErr(Undetermined, "NXDOMAIN whose last name the answers do not tell")
		}
		if err := store.CheckName(last); err != nil {
			return lineErr(Undetermined, "NXDOMAIN name %s", quote(last))
		}
		atomic.AddUint64(&st.NX, 1)
		return sink.NXDomain(last, ts, 1)
	}
	if !ok {
		return lineErr(Undetermined, "%s answers %s", pdns.TypeString(qtype), quote(strings.Join(rec.answers, ",")))
	}
	recs = distinct(recs)
	dropped := false
	for i := range recs {
		t := &recs[i]
		t.TimeFirst, t.TimeLast, t.Count = ts, ts, 1
		if check(t) != nil {
			// Data a capture gives but the store cannot hold (a name
			// with a space): the sensor would have counted it too.
			dropped = true
			continue
		}
		atomic.AddUint64(&st.Tuples, 1)
		if err := sink.Tuple(t); err != nil {
			return err
		}
	}
	if dropped {
		atomic.AddUint64(&st.Skipped[Undetermined], 1)
	}
	return nil
}

// zeekTime reads ts: epoch seconds with a fraction, or ISO 8601
// (LogAscii::json_timestamps).
func zeekTime(s string) (int64, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1<<40 {
		return int64(math.Floor(f)), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil && t.Unix() > 0 {
		return t.Unix(), nil
	}
	return 0, lineErr(BadNumber, "ts %s", quote(s))
}

func zeekQType(num, name string) uint16 {
	if n, err := strconv.ParseUint(num, 10, 16); err == nil {
		return uint16(n)
	}
	if name == "*" {
		return dns.TypeANY
	}
	if t, ok := pdns.ParseType(name); ok {
		return t
	}
	return 0
}

// zeekName returns name in the Tuple form when Zeek printed it such that
// the name is known: letters, digits and -_*/ in non-empty labels (Zeek
// prints the other bytes of a label raw or escaped, and a dot inside a
// label like a separator).
func zeekName(s string) (string, bool) {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return "", false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if label == 0 {
				return "", false
			}
			label = 0
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '*', c == '/':
		default:
			return "", false
		}
		if label++; label > 63 {
			return "", false
		}
	}
	if label == 0 {
		return "", false
	}
	return pdns.ASCIILower(s), true
}

// Kinds of Zeek answer strings.
const (
	zeekOther   = iota // a placeholder of Zeek's: no owner change, nothing kept
	zeekAddr           // an A or AAAA address
	zeekText           // a TXT or SPF record rebuilt from its strings
	zeekNameAns        // a name: CNAME, NS, PTR, MX, SRV or SOA data
	zeekUnknown        // something that may be a name Zeek printed unclean
)

// zeekAnswer classifies one answer string; for zeekAddr and zeekText it
// returns the record's type and canonical rdata, for zeekNameAns the name.
func zeekAnswer(a string) (kind int, t uint16, data string) {
	if addr, err := netip.ParseAddr(a); err == nil && addr.Zone() == "" {
		if addr.Is4() {
			return zeekAddr, dns.TypeA, addr.String()
		}
		rd, ok := pdns.CanonicalRData(dns.TypeAAAA, a)
		if ok {
			return zeekAddr, dns.TypeAAAA, rd
		}
		return zeekUnknown, 0, ""
	}
	for _, p := range []struct {
		prefix string
		t      uint16
	}{{"TXT ", dns.TypeTXT}, {"SPF ", dns.TypeSPF}} {
		if strings.HasPrefix(a, p.prefix) {
			if strs, ok := zeekStrings(a, p.prefix); ok {
				return zeekText, p.t, renderTXT(p.t, strs)
			}
			return zeekOther, 0, ""
		}
	}
	if n, ok := zeekName(a); ok {
		if a == "NSEC3" || a == "NSEC3PARAM" {
			return zeekOther, 0, ""
		}
		return zeekNameAns, 0, n
	}
	if strings.Contains(a, " ") || strings.HasPrefix(a, "<unknown type=") {
		return zeekOther, 0, "" // "RRSIG A example.com", "DS 8 2", ...
	}
	return zeekUnknown, 0, ""
}

// zeekStrings parses Zeek's rendering of TXT strings: "TXT 5 hello TXT 3
// abc" (one "TXT <length> <bytes>" per character-string, separated by a
// space). The lengths make it exact; anything else (a string Zeek cut at
// its field limit) fails.
func zeekStrings(a, prefix string) ([]string, bool) {
	var strs []string
	for {
		rest, ok := strings.CutPrefix(a, prefix)
		if !ok {
			return nil, false
		}
		num, rest, ok := strings.Cut(rest, " ")
		if !ok {
			// "TXT 0 " keeps its space; a string of length 0 at the end
			// may have lost it to trimming.
			if num == "0" {
				return append(strs, ""), true
			}
			return nil, false
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || n > 255 || n > len(rest) {
			return nil, false
		}
		strs = append(strs, rest[:n])
		a = rest[n:]
		if a == "" {
			return strs, true
		}
		if a, ok = strings.CutPrefix(a, " "); !ok {
			return nil, false
		}
	}
}

// zeekAnswers maps the answers of a response to qtype for query to
// records, where the log determines them, and returns the last name of the
// CNAME chain (for NXDOMAIN). ok is false when the answers do not tell
// owners and types (then nothing of the line is kept):
//
//   - Query types whose data Zeek never prints as a bare name (A, AAAA,
//     TXT, SPF, HTTPS, SVCB, CAA, DNSKEY, DS, TLSA, ...: chainTypes): a
//     name is a CNAME target, owned by the query or the previous target,
//     and the next owner; an address (in A, AAAA and ANY queries) is an A
//     or AAAA record, a TXT string (in TXT, SPF and ANY queries) a TXT or
//     SPF record, of the chain's last name. A name after data means the
//     message was not in chain order: undetermined.
//   - ANY queries, and responses whose query Zeek did not see (no qtype;
//     Zeek then logs the first answer's owner as query): addresses and TXT
//     strings are the query's (ANY does not follow CNAMEs); a name (NS,
//     MX, CNAME, ...) is undetermined.
//   - CNAME queries: the first name is the query's CNAME (a CNAME is not
//     followed); the rest is not kept.
//   - PTR queries: names are the query's PTRs, unless one is under
//     in-addr.arpa or ip6.arpa (an RFC 2317 CNAME chain): undetermined.
//   - NS queries with two names or more: the query's NS records; one name
//     may be a CNAME.
//   - Other queries (MX, SRV and SOA answers are cut to a name; zone
//     transfers hold many owners), and answers of an unknown query type:
//     undetermined.
//
// Zeek's placeholders for other types (RRSIG, DNSKEY, DS, NSEC, unknown
// types such as DNAME) are passed over: they change no owner.
func zeekAnswers(query string, qtype uint16, answers []string) (recs []pdns.Tuple, last string, ok bool) {
	switch {
	case chainTypes[qtype] || qtype == dns.TypeANY:
		return zeekChain(query, qtype, answers)
	case qtype == 0:
		// A response whose query Zeek did not see: query is the owner of
		// its first answer; read like ANY (no name may follow).
		return zeekChain(query, dns.TypeANY, answers)
	case qtype == dns.TypeCNAME:
		for _, a := range answers {
			switch kind, _, data := zeekAnswer(a); kind {
			case zeekNameAns:
				return []pdns.Tuple{{RRName: query, RRType: dns.TypeCNAME, RData: data + "."}}, data, true
			case zeekOther:
				continue
			}
			return nil, "", false
		}
		return nil, query, true
	case qtype == dns.TypePTR || qtype == dns.TypeNS:
		names := 0
		for _, a := range answers {
			switch kind, _, data := zeekAnswer(a); kind {
			case zeekNameAns:
				if qtype == dns.TypePTR && (strings.HasSuffix(data, ".in-addr.arpa") || strings.HasSuffix(data, ".ip6.arpa")) {
					return nil, "", false
				}
				recs = append(recs, pdns.Tuple{RRName: query, RRType: qtype, RData: data + "."})
				names++
			case zeekOther:
			default:
				return nil, "", false
			}
		}
		if len(answers) == 0 {
			return nil, query, true
		}
		if qtype == dns.TypeNS && names < 2 {
			return nil, "", false
		}
		return recs, "", true
	}
	if len(answers) == 0 {
		return nil, query, true
	}
	return nil, "", false
}

// chainTypes are the query types whose answer data Zeek prints as an
// address, TXT strings, a placeholder with spaces or "<unknown type=N>",
// never as a bare name: in their answers a name is a CNAME target.
var chainTypes = map[uint16]bool{
	dns.TypeA: true, dns.TypeAAAA: true, dns.TypeTXT: true, dns.TypeSPF: true,
	dns.TypeHTTPS: true, dns.TypeSVCB: true, dns.TypeCAA: true, dns.TypeTLSA: true,
	dns.TypeSSHFP: true, dns.TypeDNSKEY: true, dns.TypeDS: true, dns.TypeCDS: true,
	dns.TypeCDNSKEY: true, dns.TypeRRSIG: true, dns.TypeNSEC: true, dns.TypeNSEC3: true,
	dns.TypeNSEC3PARAM: true, dns.TypeLOC: true, dns.TypeHINFO: true, dns.TypeNAPTR: true,
	dns.TypeURI: true, dns.TypeOPENPGPKEY: true, dns.TypeSMIMEA: true,
}

// zeekChain reads the answers of a chainTypes or ANY query: the CNAME
// chain, then data of the chain's last name.
func zeekChain(query string, qtype uint16, answers []string) (recs []pdns.Tuple, last string, ok bool) {
	owner, seenData := query, false
	for _, a := range answers {
		kind, t, data := zeekAnswer(a)
		switch kind {
		case zeekAddr, zeekText:
			seenData = true
			addr := kind == zeekAddr && (qtype == dns.TypeA || qtype == dns.TypeAAAA || qtype == dns.TypeANY)
			text := kind == zeekText && (qtype == t || qtype == dns.TypeANY)
			if addr || text {
				recs = append(recs, pdns.Tuple{RRName: owner, RRType: t, RData: data})
			}
		case zeekNameAns:
			if seenData || qtype == dns.TypeANY {
				return nil, "", false
			}
			recs = append(recs, pdns.Tuple{RRName: owner, RRType: dns.TypeCNAME, RData: data + "."})
			owner = data
		case zeekUnknown:
			return nil, "", false
		}
	}
	return recs, owner, true
}

// renderTXT renders character-strings as the sensor renders a TXT (or
// SPF) record carrying them: the wire form decoded by miekg/dns, so that
// escapes are exactly the sensor's.
func renderTXT(t uint16, strs []string) string {
	var wire []byte
	for _, s := range strs {
		wire = append(wire, byte(len(s)))
		wire = append(wire, s...)
	}
	h := dns.RR_Header{Name: ".", Rrtype: t, Class: dns.ClassINET, Rdlength: uint16(len(wire))}
	rr, _, err := dns.UnpackRRWithHeader(h, wire, 0)
	if err != nil {
		return ""
	}
	return pdns.RData(rr)
}

// distinct drops records repeated within one response: as the sensor
// counts them, one sighting each.
func distinct(recs []pdns.Tuple) []pdns.Tuple {
	if len(recs) < 2 {
		return recs
	}
	seen := make(map[pdns.Key]bool, len(recs))
	out := recs[:0]
	for _, r := range recs {
		if k := r.Key(); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}
