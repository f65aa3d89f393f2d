package pdns

// This file holds the text forms of a Tuple: COF NDJSON
// (draft-dulaunoy-dnsop-passive-dns-cof), DNSDB's SAF framing around it, and
// the canonical rdata presentation form that every producer of tuples
// (sensor, imports, recon) must use so that the same record always has the
// same key.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/rr"
)

// Errors of the COF and SAF codecs.
var (
	// ErrCOFSyntax: a line is not a JSON object or a field has the wrong
	// JSON type.
	ErrCOFSyntax = errors.New("pdns: cof: bad syntax")
	// ErrCOFMissing: a mandatory field (rrname, rrtype, rdata) is absent.
	ErrCOFMissing = errors.New("pdns: cof: missing field")
	// ErrCOFValue: a field is present but its value is out of range (an
	// unknown rrtype mnemonic, a negative time or count).
	ErrCOFValue = errors.New("pdns: cof: bad value")
	// ErrSAFFailed: the stream ended with {"cond":"failed"}.
	ErrSAFFailed = errors.New("pdns: saf: server reported failure")
	// ErrSAFTruncated: a SAF stream began but ended without a terminator.
	ErrSAFTruncated = errors.New("pdns: saf: stream truncated (no terminator)")
)

// maxCOFLine bounds one NDJSON line (a tuple with an array of large rdata,
// e.g. DNSKEY sets, stays far below it).
const maxCOFLine = 4 << 20

// Format selects a text encoding of tuples.
type Format int

const (
	// FormatCOF is plain COF NDJSON: one object per tuple with the six
	// fields clients sort on always present (count, rdata as an array,
	// rrname without a trailing dot, rrtype mnemonic, time_first,
	// time_last; zero times mean "never seen in traffic"), then bailiwick,
	// sensor_id and zone times when known.
	FormatCOF Format = iota
	// FormatSAF is DNSDB API v2 framing: {"cond":"begin"}, one
	// {"obj":{...}} per tuple, and a terminator. Objects follow DNSDB:
	// rrname and bailiwick with a trailing dot, time_first/time_last
	// omitted when the tuple was only seen in zone files.
	FormatSAF
)

// Encoder writes tuples as COF NDJSON or SAF. It buffers; Close (or Fail,
// Limited) flushes.
type Encoder struct {
	w      *bufio.Writer
	format Format
	begun  bool
	buf    []byte
}

// NewEncoder returns an encoder writing format f to w.
func NewEncoder(w io.Writer, f Format) *Encoder {
	return &Encoder{w: bufio.NewWriterSize(w, 64<<10), format: f}
}

// Encode writes one tuple as one line.
func (e *Encoder) Encode(t *Tuple) error {
	if err := e.begin(); err != nil {
		return err
	}
	e.buf = e.buf[:0]
	if e.format == FormatSAF {
		e.buf = append(e.buf, `{"obj":`...)
		e.buf = appendObject(e.buf, t, true)
		e.buf = append(e.buf, '}')
	} else {
		e.buf = appendObject(e.buf, t, false)
	}
	e.buf = append(e.buf, '\n')
	_, err := e.w.Write(e.buf)
	return err
}

// Flush writes buffered lines to the underlying writer (to stream long
// answers progressively).
func (e *Encoder) Flush() error { return e.w.Flush() }

// Close ends the stream: for SAF it writes {"cond":"succeeded"} (and the
// begin line if nothing was encoded). It flushes.
func (e *Encoder) Close() error { return e.end("succeeded", "") }

// Limited ends a SAF stream with {"cond":"limited","msg":msg}: the results
// were cut at a limit. For COF it only flushes.
func (e *Encoder) Limited(msg string) error { return e.end("limited", msg) }

// Fail ends a SAF stream with {"cond":"failed","msg":msg}. For COF it only
// flushes.
func (e *Encoder) Fail(msg string) error { return e.end("failed", msg) }

func (e *Encoder) begin() error {
	if e.format != FormatSAF || e.begun {
		return nil
	}
	e.begun = true
	_, err := e.w.WriteString(`{"cond":"begin"}` + "\n")
	return err
}

func (e *Encoder) end(cond, msg string) error {
	if e.format == FormatSAF {
		if err := e.begin(); err != nil {
			return err
		}
		b := append(e.buf[:0], `{"cond":"`...)
		b = append(b, cond...)
		b = append(b, '"')
		if msg != "" {
			b = append(b, `,"msg":`...)
			b = appendJSONString(b, msg)
		}
		b = append(b, "}\n"...)
		if _, err := e.w.Write(b); err != nil {
			return err
		}
	}
	return e.w.Flush()
}

// AppendCOF appends t as one COF object (no newline) to dst, as
// FormatCOF writes it.
func AppendCOF(dst []byte, t *Tuple) []byte { return appendObject(dst, t, false) }

func appendObject(b []byte, t *Tuple, dnsdb bool) []byte {
	b = append(b, `{"count":`...)
	b = strconv.AppendUint(b, t.Count, 10)
	if !dnsdb || t.TimeFirst != 0 || t.TimeLast != 0 {
		b = append(b, `,"time_first":`...)
		b = strconv.AppendInt(b, t.TimeFirst, 10)
		b = append(b, `,"time_last":`...)
		b = strconv.AppendInt(b, t.TimeLast, 10)
	}
	if t.ZoneTimeFirst != 0 || t.ZoneTimeLast != 0 {
		b = append(b, `,"zone_time_first":`...)
		b = strconv.AppendInt(b, t.ZoneTimeFirst, 10)
		b = append(b, `,"zone_time_last":`...)
		b = strconv.AppendInt(b, t.ZoneTimeLast, 10)
	}
	b = append(b, `,"rrname":`...)
	b = appendJSONString(b, nameOut(t.RRName, dnsdb))
	b = append(b, `,"rrtype":`...)
	b = appendJSONString(b, typeOut(t.RRType))
	if t.Bailiwick != "" {
		b = append(b, `,"bailiwick":`...)
		b = appendJSONString(b, nameOut(t.Bailiwick, dnsdb))
	}
	b = append(b, `,"rdata":[`...)
	b = appendJSONString(b, t.RData)
	b = append(b, ']')
	switch len(t.SensorIDs) {
	case 0:
	case 1:
		b = append(b, `,"sensor_id":`...)
		b = appendJSONString(b, t.SensorIDs[0])
	default:
		// The draft defines sensor_id as a string; a tuple seen by several
		// sensors carries them all as an array, which Decode accepts.
		b = append(b, `,"sensor_id":[`...)
		for i, s := range t.SensorIDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// typeOut is TypeString, except for the two reserved values miekg/dns
// names "None" and "Reserved", which no client parses.
func typeOut(t uint16) string {
	if t == 0 || t == 65535 {
		return "TYPE" + strconv.Itoa(int(t))
	}
	return TypeString(t)
}

// nameOut renders a canonical name for output: DNSDB style always has a
// trailing dot, COF style has none (except the root, ".").
func nameOut(name string, dot bool) string {
	if name == "" || name == "." {
		return "."
	}
	if dot {
		return name + "."
	}
	return name
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 is replaced by
// U+FFFD, as encoding/json does; HTML characters are not escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\uFFFD' && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ---------------------------------------------------------------------------
// Decoding

// cofObject is the wire shape of a COF object; fields whose JSON type
// varies between producers are kept raw.
type cofObject struct {
	RRName        *string         `json:"rrname"`
	RRType        json.RawMessage `json:"rrtype"`
	RData         json.RawMessage `json:"rdata"`
	TimeFirst     json.RawMessage `json:"time_first"`
	TimeLast      json.RawMessage `json:"time_last"`
	TimeFirstMS   json.RawMessage `json:"time_first_ms"`
	TimeLastMS    json.RawMessage `json:"time_last_ms"`
	ZoneTimeFirst json.RawMessage `json:"zone_time_first"`
	ZoneTimeLast  json.RawMessage `json:"zone_time_last"`
	Count         json.RawMessage `json:"count"`
	Bailiwick     *string         `json:"bailiwick"`
	SensorID      json.RawMessage `json:"sensor_id"`
}

// ParseCOF decodes one COF object (plain or SAF-wrapped {"obj":...}) and
// appends one tuple per rdata value to dst. A SAF condition line appends
// nothing and returns cond set ("begin", "succeeded", "limited",
// "failed"). Names are brought to canonical form (lower case, no trailing
// dot); rdata is kept as written (see CanonicalRData). A missing count
// means 1.
func ParseCOF(line []byte, dst []Tuple) (out []Tuple, cond string, err error) {
	var obj struct {
		cofObject
		Cond *string         `json:"cond"`
		Msg  string          `json:"msg"`
		Obj  json.RawMessage `json:"obj"`
	}
	if err := json.Unmarshal(line, &obj); err != nil {
		return dst, "", fmt.Errorf("%w: %v", ErrCOFSyntax, err)
	}
	if obj.Cond != nil && obj.Obj == nil {
		switch c := *obj.Cond; c {
		case "begin", "succeeded", "limited", "ongoing":
			return dst, c, nil
		case "failed":
			return dst, c, fmt.Errorf("%w: %s", ErrSAFFailed, Excerpt(obj.Msg))
		default:
			return dst, "", fmt.Errorf("%w: unknown cond %s", ErrCOFValue, Excerpt(c))
		}
	}
	if obj.Obj != nil {
		obj.cofObject = cofObject{}
		if err := json.Unmarshal(obj.Obj, &obj.cofObject); err != nil {
			return dst, "", fmt.Errorf("%w: obj: %v", ErrCOFSyntax, err)
		}
	}
	return parseObject(&obj.cofObject, dst)
}

func parseObject(obj *cofObject, dst []Tuple) (_ []Tuple, _ string, err error) {
	if obj.RRName == nil || strings.TrimSpace(*obj.RRName) == "" {
		return dst, "", fmt.Errorf("%w: rrname", ErrCOFMissing)
	}
	if obj.RRType == nil {
		return dst, "", fmt.Errorf("%w: rrtype", ErrCOFMissing)
	}
	if obj.RData == nil {
		return dst, "", fmt.Errorf("%w: rdata", ErrCOFMissing)
	}
	var t Tuple
	t.RRName = CanonicalName(*obj.RRName)
	if t.RRType, err = parseRRType(obj.RRType); err != nil {
		return dst, "", err
	}
	if obj.Bailiwick != nil && *obj.Bailiwick != "" {
		t.Bailiwick = CanonicalName(*obj.Bailiwick)
	}
	if err := parseObjectTimes(obj, &t); err != nil {
		return dst, "", err
	}
	t.Count = 1
	if obj.Count != nil && string(obj.Count) != "null" {
		n, err := parseUint(obj.Count, "count")
		if err != nil {
			return dst, "", err
		}
		t.Count = n
	}
	if t.SensorIDs, err = parseSensorIDs(obj.SensorID); err != nil {
		return dst, "", err
	}
	rdatas, err := parseRDatas(obj.RData)
	if err != nil {
		return dst, "", err
	}
	for _, r := range rdatas {
		u := t
		u.RData = strings.TrimSpace(r)
		u.SensorIDs = slices.Clone(t.SensorIDs)
		dst = append(dst, u)
	}
	return dst, "", nil
}

// parseObjectTimes sets the observation and zone windows of t: a window with
// one end given is that single instant, and an end before its start is refused.
func parseObjectTimes(obj *cofObject, t *Tuple) (err error) {
	if t.TimeFirst, err = parseTime(obj.TimeFirst, obj.TimeFirstMS, "time_first"); err != nil {
		return err
	}
	if t.TimeLast, err = parseTime(obj.TimeLast, obj.TimeLastMS, "time_last"); err != nil {
		return err
	}
	if t.ZoneTimeFirst, err = parseTime(obj.ZoneTimeFirst, nil, "zone_time_first"); err != nil {
		return err
	}
	if t.ZoneTimeLast, err = parseTime(obj.ZoneTimeLast, nil, "zone_time_last"); err != nil {
		return err
	}
	fillWindow(&t.TimeFirst, &t.TimeLast)
	fillWindow(&t.ZoneTimeFirst, &t.ZoneTimeLast)
	if t.TimeFirst > t.TimeLast || t.ZoneTimeFirst > t.ZoneTimeLast {
		return fmt.Errorf("%w: time_first after time_last", ErrCOFValue)
	}
	return nil
}

// fillWindow makes a window with only one end set the single instant at that end.
func fillWindow(first, last *int64) {
	if *last == 0 && *first != 0 {
		*last = *first
	}
	if *first == 0 && *last != 0 {
		*first = *last
	}
}

// parseRDatas reads COF rdata, a string or a non-empty array of strings, none blank.
func parseRDatas(raw json.RawMessage) ([]string, error) {
	var rdatas []string
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: rdata: %v", ErrCOFSyntax, err)
		}
		rdatas = []string{s}
	case len(raw) > 0 && raw[0] == '[':
		if err := json.Unmarshal(raw, &rdatas); err != nil {
			return nil, fmt.Errorf("%w: rdata: %v", ErrCOFSyntax, err)
		}
		if len(rdatas) == 0 {
			return nil, fmt.Errorf("%w: rdata is an empty array", ErrCOFMissing)
		}
	default:
		return nil, fmt.Errorf("%w: rdata must be a string or an array of strings", ErrCOFSyntax)
	}
	for _, r := range rdatas {
		if strings.TrimSpace(r) == "" {
			return nil, fmt.Errorf("%w: empty rdata", ErrCOFMissing)
		}
	}
	return rdatas, nil
}

func parseRRType(raw json.RawMessage) (uint16, error) {
	t, err := parseRRTypeValue(raw)
	if err == nil && t == 0 {
		err = fmt.Errorf("%w: rrtype 0", ErrCOFValue)
	}
	return t, err
}

func parseRRTypeValue(raw json.RawMessage) (uint16, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("%w: rrtype: %v", ErrCOFSyntax, err)
		}
		t, ok := ParseType(strings.TrimSpace(s))
		if !ok {
			return 0, fmt.Errorf("%w: rrtype %s", ErrCOFValue, Excerpt(s))
		}
		return t, nil
	}
	n, err := parseUint(raw, "rrtype")
	if err != nil {
		return 0, err
	}
	if n > math.MaxUint16 {
		return 0, fmt.Errorf("%w: rrtype %d", ErrCOFValue, n)
	}
	return uint16(n), nil
}

// parseTime reads seconds from sec, or milliseconds from ms when sec is
// absent. Numbers with a fraction are truncated; strings of digits are
// accepted (some exporters quote numbers).
func parseTime(sec, ms json.RawMessage, field string) (int64, error) {
	if sec != nil && string(sec) != "null" {
		n, err := parseUint(sec, field)
		if err != nil {
			return 0, err
		}
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%w: %s out of range", ErrCOFValue, field)
		}
		return int64(n), nil
	}
	if ms != nil && string(ms) != "null" {
		n, err := parseUint(ms, field+"_ms")
		if err != nil {
			return 0, err
		}
		return int64(n / 1000), nil
	}
	return 0, nil
}

func parseUint(raw json.RawMessage, field string) (uint64, error) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrCOFSyntax, field, err)
		}
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %s is not a number", ErrCOFSyntax, field, Excerpt(s))
	}
	if f < 0 || f >= math.MaxUint64 || math.IsNaN(f) {
		return 0, fmt.Errorf("%w: %s %s out of range", ErrCOFValue, field, Excerpt(s))
	}
	return uint64(f), nil
}

func parseSensorIDs(raw json.RawMessage) ([]string, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var ids []string
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: sensor_id: %v", ErrCOFSyntax, err)
		}
		ids = []string{s}
	case '[':
		if err := json.Unmarshal(raw, &ids); err != nil {
			return nil, fmt.Errorf("%w: sensor_id: %v", ErrCOFSyntax, err)
		}
	default:
		// Some sensors number themselves.
		ids = []string{string(raw)}
	}
	ids = slices.DeleteFunc(ids, func(s string) bool { return s == "" })
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// CanonicalName brings a name as found in COF, logs or zone files to the
// Tuple form: lower case (ASCII only), no trailing dot, "." for the root.
func CanonicalName(s string) string {
	s = trimNameSpace(s)
	if s == "" || s == "." {
		return "."
	}
	if s[len(s)-1] == '.' && !escapedAt(s, len(s)-1) {
		// "a ." is "a": white space before the final dot is layout.
		if s = trimNameSpace(s[:len(s)-1]); s == "" {
			return "."
		}
	}
	return ASCIILower(s)
}

// trimNameSpace trims surrounding white space but keeps a final space
// escaped by a backslash: "a\ " is a label that ends in a space.
func trimNameSpace(s string) string {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	for s != "" {
		r, size := utf8.DecodeLastRuneInString(s)
		if !unicode.IsSpace(r) || size == 1 && escapedAt(s, len(s)-1) {
			break
		}
		s = s[:len(s)-size]
	}
	return s
}

// escapedAt reports whether s[i] follows an odd run of backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// Decoder reads COF NDJSON or SAF from a stream, detecting SAF by its
// framing. Empty lines are skipped.
type Decoder struct {
	sc      *bufio.Scanner
	line    int
	saf     bool
	ended   bool
	cond    string
	pending []Tuple
}

// NewDecoder reads from r.
func NewDecoder(r io.Reader) *Decoder {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxCOFLine)
	return &Decoder{sc: sc}
}

// Decode appends the tuples of the next object to dst. At the end of the
// stream it returns io.EOF; a SAF stream that began without a terminator
// returns ErrSAFTruncated, one that ended with "failed" ErrSAFFailed. Errors
// in a line name the line number; the caller may call Decode again to skip
// the bad line.
func (d *Decoder) Decode(dst []Tuple) ([]Tuple, error) {
	for {
		if d.ended {
			return dst, io.EOF
		}
		if !d.sc.Scan() {
			if err := d.sc.Err(); err != nil {
				return dst, fmt.Errorf("pdns: cof line %d: %w", d.line+1, err)
			}
			if d.saf && d.cond == "" {
				return dst, ErrSAFTruncated
			}
			return dst, io.EOF
		}
		d.line++
		b := bytes.TrimSpace(d.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		n := len(dst)
		out, cond, err := ParseCOF(b, dst)
		if cond != "" {
			if cond == "begin" {
				d.saf = true
			} else if cond != "ongoing" {
				d.cond = cond
				d.ended = true
			}
		}
		if err != nil {
			return out, fmt.Errorf("pdns: cof line %d: %w", d.line, err)
		}
		if len(out) > n {
			return out, nil
		}
	}
}

// Line returns the number of the line last read.
func (d *Decoder) Line() int { return d.line }

// Cond returns the SAF terminator seen ("succeeded", "limited", "failed"),
// or "" for plain COF or a truncated stream.
func (d *Decoder) Cond() string { return d.cond }

// ---------------------------------------------------------------------------
// Canonical rdata

// RData returns rr's data in the canonical presentation form used in
// tuples: miekg/dns master-file form after the header, with every domain
// name in the rdata (rr.NameTypes) lower-cased and fully qualified. The
// caller's record is not changed.
func RData(x dns.RR) string {
	if rr.HasNames(x) {
		x = dns.Copy(x)
		rr.MapNames(x, ASCIILower)
	}
	return afterHeader(x.String())
}

// afterHeader cuts the four tab-separated header fields (name, ttl, class,
// type) off an RR's String(); names escape their tabs, so the fourth tab
// ends the header. (RFC 3597 records print their class as CLASSn, so
// trimming Header().String() would not do.)
func afterHeader(s string) string {
	for range 4 {
		i := strings.IndexByte(s, '\t')
		if i < 0 {
			return s
		}
		s = s[i+1:]
	}
	return s
}

// FromRR returns the tuple of one sighting of rr at Unix time ts.
func FromRR(rr dns.RR, ts int64, bailiwick, sensorID string) Tuple {
	t := Tuple{
		RRName:    CanonicalName(rr.Header().Name),
		RRType:    rr.Header().Rrtype,
		RData:     RData(rr),
		Bailiwick: bailiwick,
		TimeFirst: ts,
		TimeLast:  ts,
		Count:     1,
	}
	if sensorID != "" {
		t.SensorIDs = []string{sensorID}
	}
	return t
}

// CanonicalRData re-renders rdata written by another producer (COF,
// passivedns, zone files) into the canonical form of RData, so that imported
// tuples fold with sensor tuples. When the text does not parse as rrtype
// rdata (lossy passivedns answers, free text), it is returned trimmed and
// ok is false.
func CanonicalRData(rrtype uint16, rdata string) (s string, ok bool) {
	rdata = strings.TrimSpace(rdata)
	if rdata == "" || strings.ContainsAny(rdata, "\n\r;") && !strings.Contains(rdata, `"`) {
		return rdata, false
	}
	rr, err := dns.NewRR(". 0 IN " + TypeString(rrtype) + " " + rdata)
	if err != nil || rr == nil || rr.Header().Rrtype != rrtype {
		return rdata, false
	}
	return RData(rr), true
}

// ASCIILower lower-cases ASCII letters only (DNS names compare
// case-insensitively in ASCII only, RFC 4343), without allocating when
// there is nothing to change.
func ASCIILower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
