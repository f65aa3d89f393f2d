package store

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/pdns"
)

// Kind is what a lookup searches by.
type Kind uint8

// Lookup kinds. They cover DNSDB v2's rrset/name, rdata/name, rdata/ip and
// (after the API converts wire data to presentation form) rrset/raw and
// rdata/raw, and CIRCL's /pdns/query values.
const (
	// KindRRSet finds tuples by owner name (Name, Wildcard).
	KindRRSet Kind = iota + 1
	// KindRDataName finds tuples whose rdata points at a name (Name,
	// Wildcard): the targets of CNAME, DNAME, NS, PTR, MX, SRV, SVCB,
	// HTTPS, NAPTR, AFSDB, RT, KX, PX, LP, MB/MD/MF/MG/MR, the two names
	// of SOA, MINFO, RP and TALINK (see RDataNames).
	KindRDataName
	// KindRDataIP finds A and AAAA tuples whose address lies in
	// [IPLow, IPHigh].
	KindRDataIP
	// KindRDataRaw finds tuples whose rdata is exactly RData (canonical
	// presentation form, byte for byte).
	KindRDataRaw
)

func (k Kind) String() string {
	switch k {
	case KindRRSet:
		return "rrset"
	case KindRDataName:
		return "rdata-name"
	case KindRDataIP:
		return "rdata-ip"
	case KindRDataRaw:
		return "rdata-raw"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Wildcard is the name-matching mode of KindRRSet and KindRDataName.
type Wildcard uint8

// Wildcard modes.
const (
	// WildNone matches Name exactly.
	WildNone Wildcard = iota
	// WildLeft (*.example.com, or .example.com for rdata) matches names
	// strictly below Name. Name "." matches every name but the root.
	WildLeft
	// WildRight (www.example.*, or www.example. for rdata) matches names
	// whose leftmost labels are Name's, followed by at least one more.
	WildRight
)

// TypeFilter selects rrtypes: a single type number (1-65535), or one of
// the sets TypeANY, TypeANYDNSSEC, TypeAll.
type TypeFilter uint32

// Type sets.
const (
	// TypeANY, the zero value, is DNSDB's ANY: every type except
	// pdns.DNSSECTypes.
	TypeANY TypeFilter = 0
	// TypeANYDNSSEC is DNSDB's ANY-DNSSEC: only pdns.DNSSECTypes.
	TypeANYDNSSEC TypeFilter = 1 << 16
	// TypeAll selects every type (a dnsscout extension; export uses it).
	TypeAll TypeFilter = 1<<16 + 1
)

// OneType returns the filter selecting exactly t.
func OneType(t uint16) TypeFilter {
	if t == 0 {
		return TypeAll // type 0 is reserved; never stored
	}
	return TypeFilter(t)
}

// ParseTypeFilter reads a type as DNSDB spells it: a mnemonic (any case),
// TYPEn, ANY, ANY-DNSSEC, or (dnsscout) ALL. The empty string is ANY.
func ParseTypeFilter(s string) (TypeFilter, error) {
	switch u := strings.ToUpper(strings.TrimSpace(s)); u {
	case "", "ANY":
		return TypeANY, nil
	case "ANY-DNSSEC":
		return TypeANYDNSSEC, nil
	case "ALL":
		return TypeAll, nil
	}
	t, ok := pdns.ParseType(strings.TrimSpace(s))
	if !ok || t == 0 {
		return 0, fmt.Errorf("%w: unknown rrtype %q", ErrBadQuery, s)
	}
	return TypeFilter(t), nil
}

// Single returns the one type the filter selects, if it selects one.
func (f TypeFilter) Single() (uint16, bool) {
	if f > 0 && f < 1<<16 {
		return uint16(f), true
	}
	return 0, false
}

// Match reports whether rrtype t passes the filter.
func (f TypeFilter) Match(t uint16) bool {
	switch f {
	case TypeANY:
		return !pdns.IsDNSSEC(t)
	case TypeANYDNSSEC:
		return pdns.IsDNSSEC(t)
	case TypeAll:
		return true
	}
	return uint32(f) == uint32(t)
}

func (f TypeFilter) String() string {
	switch f {
	case TypeANY:
		return "ANY"
	case TypeANYDNSSEC:
		return "ANY-DNSSEC"
	case TypeAll:
		return "ALL"
	}
	if t, ok := f.Single(); ok {
		return pdns.TypeString(t)
	}
	return "TypeFilter(" + strconv.FormatUint(uint64(f), 10) + ")"
}

// Query is one lookup. Build it with ParseQuery / ParseName /
// ParseRDataName / ParseIPQuery or fill it in; backends call Validate.
//
// Time fences compare the tuple's sighting window: time_first/time_last
// when the tuple was seen in traffic, otherwise (zone-file-only tuples)
// zone_time_first/zone_time_last, as DNSDB does. A tuple with no time at
// all fails every fence. All fences are strict (before = earlier than,
// after = later than) and absolute Unix seconds; 0 leaves a fence unset.
type Query struct {
	Kind Kind
	// Name (KindRRSet, KindRDataName) is a canonical name without any
	// wildcard characters: lower case, no trailing dot, "." for the root.
	Name     string
	Wildcard Wildcard
	// IPLow and IPHigh (KindRDataIP) bound the addresses, inclusive, of
	// one family (an IPv4-mapped IPv6 address counts as IPv6).
	IPLow, IPHigh netip.Addr
	// RData (KindRDataRaw) is the exact rdata.
	RData string
	// Type filters rrtypes; the zero value is ANY.
	Type TypeFilter
	// Bailiwick (KindRRSet only) keeps tuples whose bailiwick is exactly
	// this canonical name; "" = any.
	Bailiwick string
	// Time fences; see the type comment.
	FirstBefore, FirstAfter, LastBefore, LastAfter int64
	// Limit caps the tuples delivered; 0 = the backend's maximum.
	Limit int
	// Offset skips that many matching tuples first (DNSDB offset).
	Offset int
	// Cursor resumes a previous Lookup: an opaque string the backend
	// returned, or a decimal integer N meaning "after the first N results"
	// (CIRCL's x-dribble-cursor; Validate adds it to Offset).
	Cursor string
}

// Validate checks q, brings names to lower case, and turns a decimal
// cursor into an offset. Backends call it first; errors wrap ErrBadQuery.
func (q *Query) Validate() error {
	if err := q.validateSubject(); err != nil {
		return err
	}
	if q.Type > TypeAll {
		return fmt.Errorf("%w: bad type filter %d", ErrBadQuery, q.Type)
	}
	if q.Bailiwick != "" {
		if q.Kind != KindRRSet {
			return fmt.Errorf("%w: a bailiwick applies only to rrset lookups", ErrBadQuery)
		}
		b, err := checkName(q.Bailiwick)
		if err != nil {
			return err
		}
		q.Bailiwick = b
	}
	if q.Limit < 0 || q.Offset < 0 {
		return fmt.Errorf("%w: negative limit or offset", ErrBadQuery)
	}
	for _, f := range []int64{q.FirstBefore, q.FirstAfter, q.LastBefore, q.LastAfter} {
		if f < 0 {
			return fmt.Errorf("%w: negative time fence (convert relative times first)", ErrBadQuery)
		}
	}
	return q.foldCursor()
}

// validateSubject checks what q looks up (a name, an address range or raw
// rdata) for its Kind.
func (q *Query) validateSubject() error {
	switch q.Kind {
	case KindRRSet, KindRDataName:
		return q.validateName()
	case KindRDataIP:
		return q.validateIPRange()
	case KindRDataRaw:
		if q.RData == "" {
			return fmt.Errorf("%w: empty rdata", ErrBadQuery)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown lookup kind %d", ErrBadQuery, q.Kind)
	}
}

// validateName checks and lower-cases the name of a name lookup and its wildcard mode.
func (q *Query) validateName() error {
	n, err := checkName(q.Name)
	if err != nil {
		return err
	}
	q.Name = n
	switch q.Wildcard {
	case WildNone, WildLeft:
		return nil
	case WildRight:
		if q.Name == "." {
			return fmt.Errorf("%w: a right-hand wildcard needs at least one label", ErrBadQuery)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown wildcard mode %d", ErrBadQuery, q.Wildcard)
	}
}

// validateIPRange checks the address range of an address lookup and that its
// type filter can match an address record.
func (q *Query) validateIPRange() error {
	if !q.IPLow.IsValid() || !q.IPHigh.IsValid() {
		return fmt.Errorf("%w: missing address", ErrBadQuery)
	}
	if q.IPLow.Zone() != "" || q.IPHigh.Zone() != "" {
		return fmt.Errorf("%w: addresses with a zone are not stored", ErrBadQuery)
	}
	if q.IPLow.Is4() != q.IPHigh.Is4() {
		return fmt.Errorf("%w: range %s-%s mixes IPv4 and IPv6", ErrBadQuery, q.IPLow, q.IPHigh)
	}
	if q.IPHigh.Less(q.IPLow) {
		return fmt.Errorf("%w: range %s-%s ends before it starts", ErrBadQuery, q.IPLow, q.IPHigh)
	}
	if t, ok := q.Type.Single(); ok && t != 1 && t != 28 || q.Type == TypeANYDNSSEC {
		return fmt.Errorf("%w: address lookups take only A, AAAA or ANY, not %s", ErrBadQuery, q.Type)
	}
	return nil
}

// foldCursor turns a decimal cursor into an offset.
func (q *Query) foldCursor() error {
	if q.Cursor == "" || !isDigits(q.Cursor) {
		return nil
	}
	n, err := strconv.Atoi(q.Cursor)
	if err != nil || n < 0 || q.Offset > int(^uint(0)>>1)-n {
		return fmt.Errorf("%w: cursor %q out of range", ErrBadCursor, q.Cursor)
	}
	q.Offset += n
	q.Cursor = ""
	return nil
}

// Window returns the sighting window the time fences compare: sensor
// times when the tuple was seen in traffic, else zone times.
func Window(t *pdns.Tuple) (first, last int64) {
	if t.TimeFirst != 0 || t.TimeLast != 0 {
		return t.TimeFirst, t.TimeLast
	}
	return t.ZoneTimeFirst, t.ZoneTimeLast
}

// HasFences reports whether any time fence is set.
func (q *Query) HasFences() bool {
	return q.FirstBefore != 0 || q.FirstAfter != 0 || q.LastBefore != 0 || q.LastAfter != 0
}

// MatchFilters applies the type, bailiwick and time filters of q to t
// (not the name/rdata condition).
func (q *Query) MatchFilters(t *pdns.Tuple) bool {
	if !q.Type.Match(t.RRType) {
		return false
	}
	if q.Bailiwick != "" && t.Bailiwick != q.Bailiwick {
		return false
	}
	return q.MatchTimes(t)
}

// MatchTimes applies the time fences of q to t.
func (q *Query) MatchTimes(t *pdns.Tuple) bool {
	if !q.HasFences() {
		return true
	}
	first, last := Window(t)
	if first == 0 && last == 0 {
		return false
	}
	if q.FirstBefore != 0 && first >= q.FirstBefore {
		return false
	}
	if q.FirstAfter != 0 && first <= q.FirstAfter {
		return false
	}
	if q.LastBefore != 0 && last >= q.LastBefore {
		return false
	}
	if q.LastAfter != 0 && last <= q.LastAfter {
		return false
	}
	return true
}

// Match reports whether t satisfies every condition of a validated q. It
// is the reference semantics that backends implement with indexes (the
// conformance suite compares against it).
func (q *Query) Match(t *pdns.Tuple) bool {
	if !q.MatchFilters(t) {
		return false
	}
	switch q.Kind {
	case KindRRSet:
		return MatchName(t.RRName, q.Name, q.Wildcard)
	case KindRDataName:
		for _, n := range RDataNames(t.RRType, t.RData) {
			if MatchName(n, q.Name, q.Wildcard) {
				return true
			}
		}
		return false
	case KindRDataIP:
		a, ok := RDataIP(t.RRType, t.RData)
		return ok && !a.Less(q.IPLow) && !q.IPHigh.Less(a)
	case KindRDataRaw:
		return t.RData == q.RData
	}
	return false
}

// MatchName matches a canonical name against a pattern.
func MatchName(name, pattern string, w Wildcard) bool {
	switch w {
	case WildNone:
		return name == pattern
	case WildLeft:
		if pattern == "." {
			return name != "."
		}
		return len(name) > len(pattern)+1 && name[len(name)-len(pattern)-1] == '.' &&
			strings.HasSuffix(name, pattern) && !escapedAt(name, len(name)-len(pattern)-1)
	case WildRight:
		return len(name) > len(pattern)+1 && strings.HasPrefix(name, pattern) && name[len(pattern)] == '.' &&
			!escapedAt(name, len(pattern))
	}
	return false
}

// escapedAt reports whether the byte at i is escaped by a backslash (an odd
// run of backslashes before it).
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// ParseName reads an rrset name pattern: "www.example.com" (exact),
// "*.example.com" (left-hand wildcard), "www.example.*" (right-hand
// wildcard), "*" (every name). Names are normalised (IDNA A-labels, lower
// case, no trailing dot).
func ParseName(s string) (name string, w Wildcard, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "*" || s == "*.":
		return ".", WildLeft, nil
	case strings.HasPrefix(s, "*."):
		n, err := normalizeName(s[2:])
		return n, WildLeft, err
	case strings.HasSuffix(s, ".*"):
		n, err := normalizeName(s[:len(s)-2])
		if err == nil && n == "." {
			err = fmt.Errorf("%w: empty right-hand wildcard", ErrBadQuery)
		}
		return n, WildRight, err
	}
	n, err := normalizeName(s)
	return n, WildNone, err
}

// ParseRDataName reads an rdata name pattern. Besides ParseName's forms it
// accepts DNSDB's rdata spellings: ".example.com" (left-hand wildcard) and
// "www.example." (right-hand wildcard: a trailing dot is a wildcard here,
// as in DNSDB).
func ParseRDataName(s string) (name string, w Wildcard, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "." || s == "*" || s == "*.":
		return ".", WildLeft, nil
	case strings.HasPrefix(s, "*.") || strings.HasSuffix(s, ".*"):
		return ParseName(s)
	case strings.HasPrefix(s, "."):
		n, err := normalizeName(s[1:])
		return n, WildLeft, err
	case strings.HasSuffix(s, ".") && !strings.HasSuffix(s, `\.`):
		n, err := normalizeName(s[:len(s)-1])
		return n, WildRight, err
	}
	n, err := normalizeName(s)
	return n, WildNone, err
}

// normalizeName brings user input to canonical form. Names that dnsname
// rejects only for their characters (e.g. "/" in classless reverse
// delegations, escapes) are accepted as long as they are printable.
func normalizeName(s string) (string, error) {
	if s == "." {
		return ".", nil
	}
	n, err := dnsname.Normalize(s)
	if err == nil {
		// IDNA mapping can leave nothing (U+00AD maps to "").
		return checkName(n)
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "", fmt.Errorf("%w: %v", ErrBadQuery, err)
		}
	}
	return checkName(strings.TrimSuffix(s, "."))
}

// checkName validates and lower-cases a canonical name: printable ASCII,
// no empty label, at most 1024 bytes of presentation text.
func checkName(s string) (string, error) {
	if s == "." {
		return s, nil
	}
	if s == "" {
		return "", fmt.Errorf("%w: empty name", ErrBadQuery)
	}
	if err := CheckName(s); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	return pdns.ASCIILower(s), nil
}

// MaxTime is the latest time a tuple may carry (2106-02-07): both
// backends keep times as unsigned 32-bit seconds.
const MaxTime = math.MaxUint32

// CheckTuple rejects what the store cannot hold; both backends apply it,
// so that they accept the same data, and every source of tuples (ingest,
// its imports, the ingest API) applies it before them: names are names
// (CheckName) and rdata is valid for its type (pdns.CheckRData).
func CheckTuple(t *pdns.Tuple) error {
	var c TupleChecker
	return c.Check(t)
}

// TupleChecker applies CheckTuple to the tuples of a batch one after the
// other, remembering the last rrname and bailiwick it accepted: the
// tuples of a batch often share them (an aggregate hands out the records
// of one owner together; a bailiwick covers many), and checking such a
// name again is one comparison. The zero value is ready.
type TupleChecker struct {
	name, bail string // accepted by CheckName
	// addr is the address of the last tuple checked when it is an A or
	// AAAA record (else the zero Addr), so that a store that keys it in
	// binary need not parse it again (Addr).
	addr netip.Addr
}

// Check is CheckTuple.
func (c *TupleChecker) Check(t *pdns.Tuple) error {
	if t.RRName != c.name || c.name == "" {
		if err := CheckName(t.RRName); err != nil {
			return err
		}
		c.name = t.RRName
	}
	c.addr = netip.Addr{}
	if a, ok := RDataIP(t.RRType, t.RData); ok {
		// RDataIP accepts what CheckRData does of A and AAAA rdata.
		c.addr = a
	} else if err := pdns.CheckRData(t.RRType, t.RData); err != nil {
		return err
	}
	if t.Bailiwick != "" && t.Bailiwick != c.bail {
		if err := CheckName(t.Bailiwick); err != nil {
			return fmt.Errorf("bailiwick: %v", err)
		}
		c.bail = t.Bailiwick
	}
	for _, x := range []int64{t.TimeFirst, t.TimeLast, t.ZoneTimeFirst, t.ZoneTimeLast} {
		if x < 0 || x > MaxTime {
			return fmt.Errorf("time %d out of range (0 to %d)", x, int64(MaxTime))
		}
	}
	if t.TimeLast != 0 && t.TimeFirst > t.TimeLast || t.ZoneTimeLast != 0 && t.ZoneTimeFirst > t.ZoneTimeLast {
		return errors.New("time_first after time_last")
	}
	for _, s := range t.SensorIDs {
		if len(s) > 255 {
			return errors.New("sensor id longer than 255 bytes")
		}
	}
	return nil
}

// Addr returns the address of the tuple Check accepted last when it is an
// A or AAAA record (as RDataIP parses it), else the zero Addr.
func (c *TupleChecker) Addr() netip.Addr { return c.addr }

// CheckName reports whether s can be a stored name: "." or printable ASCII
// labels (escapes allowed) separated by single dots, no leading or
// trailing dot, labels of at most 63 octets and at most 255 octets in wire
// form (1024 bytes of text).
func CheckName(s string) error {
	if s == "." {
		return nil
	}
	if s == "" {
		return fmt.Errorf("empty name")
	}
	if len(s) > 1024 {
		return fmt.Errorf("name longer than 1024 bytes")
	}
	prevDot := true
	label, wire := 0, 1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f {
			return fmt.Errorf("name %s has a byte 0x%02x that is not printable ASCII", pdns.Excerpt(s), c)
		}
		if c == '\\' {
			if i+1 == len(s) {
				return fmt.Errorf("name %s ends with a lone backslash", pdns.Excerpt(s))
			}
			i++
			if e := s[i]; e < 0x20 || e >= 0x7f {
				// Escapes are \DDD or a printable character, space
				// included ("\ ", as miekg/dns writes it).
				return fmt.Errorf("name %s has a byte 0x%02x that is not printable ASCII", pdns.Excerpt(s), e)
			}
			if isDigit(s[i]) && i+2 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) {
				i += 2 // \DDD is one octet
			}
			prevDot = false
			if label++; label > 63 {
				return fmt.Errorf("name %s has a label longer than 63 octets", pdns.Excerpt(s))
			}
			continue
		}
		if c == '.' {
			if prevDot {
				return fmt.Errorf("name %s has an empty label", pdns.Excerpt(s))
			}
			prevDot = true
			wire += label + 1
			label = 0
			continue
		}
		prevDot = false
		if label++; label > 63 {
			return fmt.Errorf("name %s has a label longer than 63 octets", pdns.Excerpt(s))
		}
	}
	if prevDot {
		return fmt.Errorf("name %s ends with a dot", pdns.Excerpt(s))
	}
	if wire += label + 1; wire > 255 {
		return fmt.Errorf("name %s is longer than 255 octets", pdns.Excerpt(s))
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ParseIPQuery reads an address lookup: "192.0.2.1", a prefix
// "192.0.2.0/24" or "192.0.2.0,24" (dnsdbq's form), or an inclusive range
// "192.0.2.1-192.0.2.9". Host bits of a prefix are ignored.
func ParseIPQuery(s string) (low, high netip.Addr, err error) {
	s = strings.TrimSpace(s)
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		b, err2 := netip.ParseAddr(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil {
			return low, high, fmt.Errorf("%w: %q is not an address range", ErrBadQuery, s)
		}
		return checkRange(a, b)
	}
	if i := strings.IndexAny(s, "/,"); i >= 0 {
		p, err := netip.ParsePrefix(s[:i] + "/" + s[i+1:])
		if err != nil {
			return low, high, fmt.Errorf("%w: %q is not a prefix", ErrBadQuery, s)
		}
		p = p.Masked()
		return p.Addr(), lastAddr(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return low, high, fmt.Errorf("%w: %q is not an address", ErrBadQuery, s)
	}
	return checkRange(a, a)
}

func checkRange(a, b netip.Addr) (netip.Addr, netip.Addr, error) {
	if a.Zone() != "" || b.Zone() != "" {
		return a, b, fmt.Errorf("%w: addresses with a zone are not stored", ErrBadQuery)
	}
	if a.Is4() != b.Is4() {
		return a, b, fmt.Errorf("%w: range %s-%s mixes IPv4 and IPv6", ErrBadQuery, a, b)
	}
	if b.Less(a) {
		return a, b, fmt.Errorf("%w: range %s-%s ends before it starts", ErrBadQuery, a, b)
	}
	return a, b, nil
}

// lastAddr returns the highest address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// ParseQuery reads a lookup value the way the CLI and CIRCL's API take it:
// an address, prefix or range becomes KindRDataIP; anything else a name
// pattern (KindRDataName when rdata is set, else KindRRSet).
func ParseQuery(value string, rdata bool) (Query, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return Query{}, fmt.Errorf("%w: empty query", ErrBadQuery)
	}
	if looksLikeIP(value) {
		lo, hi, err := ParseIPQuery(value)
		if err != nil {
			return Query{}, err
		}
		return Query{Kind: KindRDataIP, IPLow: lo, IPHigh: hi}, nil
	}
	q := Query{Kind: KindRRSet}
	parse := ParseName
	if rdata {
		q.Kind, parse = KindRDataName, ParseRDataName
	}
	var err error
	if q.Name, q.Wildcard, err = parse(value); err != nil {
		return Query{}, err
	}
	return q, nil
}

// looksLikeIP reports whether v is meant as an address, prefix or range:
// its first part parses as an address (so names like 10-0-0-1.example.com
// stay names).
func looksLikeIP(v string) bool {
	first := v
	if i := strings.IndexAny(v, "-/,"); i >= 0 {
		first = v[:i]
	}
	_, err := netip.ParseAddr(strings.TrimSpace(first))
	return err == nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
