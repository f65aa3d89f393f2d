package ipintel

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Table is the iptoasn range table: sorted, non-overlapping address ranges
// with their origin AS, country and AS description, searched by binary
// search. Load files into the zero value; after loading it is safe for
// concurrent lookups.
type Table struct {
	v4   []span4
	v6   []span6
	recs []asRecord
	ids  map[asRecord]uint32
}

var _ Source = (*Table)(nil)

type span4 struct {
	lo, hi uint32
	rec    uint32
}

type span6 struct {
	lo, hi u128
	rec    uint32
}

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

type asRecord struct {
	asn     uint32
	country string
	desc    string
}

// LoadStats describes one load.
type LoadStats struct {
	// Lines read (empty lines and # comments included).
	Lines int
	// Ranges added to the table.
	Ranges int
	// Unrouted counts lines for AS 0 ("Not routed"), which are not kept.
	Unrouted int
	// Skipped counts malformed lines and ranges overlapping one already
	// loaded; FirstError describes the first.
	Skipped    int
	FirstError string
}

// maxTSVLine bounds one line (real lines are under 200 bytes).
const maxTSVLine = 64 << 10

// LoadFile loads an iptoasn TSV file, gzip-compressed or not (detected by
// its magic bytes).
func (t *Table) LoadFile(path string) (LoadStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return LoadStats{}, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	defer f.Close()
	st, err := t.Load(f)
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// Load reads TSV lines "range_start\trange_end\tAS_number\tcountry_code\t
// AS_description" (addresses in text form, or as decimal integers in the
// -u32 files; gzip detected) and adds them to the table. Malformed lines
// are counted and skipped; a line longer than 64 KiB or a read error stops
// the load with an error (the ranges read so far are kept).
func (t *Table) Load(r io.Reader) (LoadStats, error) {
	var st LoadStats
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("%w: gzip: %v", ErrFormat, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	if t.ids == nil {
		t.ids = make(map[asRecord]uint32)
	}
	n4, n6 := len(t.v4), len(t.v6)
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 4096), maxTSVLine)
	for sc.Scan() {
		st.Lines++
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		l, err := ParseTSVLine(string(line))
		if err != nil {
			st.skip(fmt.Sprintf("line %d: %v", st.Lines, err))
			continue
		}
		if l.ASN == 0 {
			st.Unrouted++
			continue
		}
		rec := t.intern(asRecord{l.ASN, l.Country, l.Desc})
		if l.Start.Is4() {
			t.v4 = append(t.v4, span4{v4(l.Start), v4(l.End), rec})
		} else {
			t.v6 = append(t.v6, span6{v6(l.Start), v6(l.End), rec})
		}
		st.Ranges++
	}
	var err error
	if e := sc.Err(); e != nil {
		if errors.Is(e, bufio.ErrTooLong) {
			err = fmt.Errorf("%w: line %d longer than %d bytes", ErrFormat, st.Lines+1, maxTSVLine)
		} else {
			err = fmt.Errorf("%w: reading: %v", ErrFormat, e)
		}
	}
	if st.Lines > 0 && st.Ranges == 0 && st.Unrouted == 0 && st.Skipped > 0 {
		err = errors.Join(err, fmt.Errorf("%w: no line is an iptoasn range (%s)", ErrFormat, st.FirstError))
	}
	if len(t.v4) > n4 || len(t.v6) > n6 {
		dropped := t.normalize()
		st.Ranges -= dropped
		for range dropped {
			st.skip("a range overlaps one loaded before it")
		}
	}
	return st, err
}

func (st *LoadStats) skip(msg string) {
	st.Skipped++
	if st.FirstError == "" {
		st.FirstError = msg
	}
}

func (t *Table) intern(r asRecord) uint32 {
	if id, ok := t.ids[r]; ok {
		return id
	}
	id := uint32(len(t.recs))
	t.recs = append(t.recs, r)
	t.ids[r] = id
	return id
}

// normalize sorts the ranges and drops any that overlaps an earlier one
// (stable: the line loaded first wins); it returns the number dropped.
func (t *Table) normalize() int {
	dropped := 0
	slices.SortStableFunc(t.v4, func(a, b span4) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	out4 := t.v4[:0]
	for i, s := range t.v4 {
		if i > 0 && len(out4) > 0 && s.lo <= out4[len(out4)-1].hi {
			dropped++
			continue
		}
		out4 = append(out4, s)
	}
	t.v4 = out4
	slices.SortStableFunc(t.v6, func(a, b span6) int {
		switch {
		case a.lo.less(b.lo):
			return -1
		case b.lo.less(a.lo):
			return 1
		}
		return 0
	})
	out6 := t.v6[:0]
	for i, s := range t.v6 {
		if i > 0 && len(out6) > 0 && !out6[len(out6)-1].hi.less(s.lo) {
			dropped++
			continue
		}
		out6 = append(out6, s)
	}
	t.v6 = out6
	return dropped
}

// Len returns the number of ranges.
func (t *Table) Len() int { return len(t.v4) + len(t.v6) }

// Name is "iptoasn".
func (t *Table) Name() string { return "iptoasn" }

// Lookup implements Source; it never fails.
func (t *Table) Lookup(_ context.Context, addr netip.Addr) (Info, error) {
	addr = addr.Unmap()
	var lo, hi netip.Addr
	var rec uint32
	if addr.Is4() {
		a := v4(addr)
		i, _ := slices.BinarySearchFunc(t.v4, a, func(s span4, a uint32) int {
			switch {
			case s.lo > a:
				return 1
			case s.hi < a:
				return -1
			}
			return 0
		})
		if i >= len(t.v4) || t.v4[i].lo > a || t.v4[i].hi < a {
			return Info{}, nil
		}
		s := t.v4[i]
		lo, hi, rec = from4(s.lo), from4(s.hi), s.rec
	} else if addr.Is6() {
		a := v6(addr)
		i, _ := slices.BinarySearchFunc(t.v6, a, func(s span6, a u128) int {
			switch {
			case a.less(s.lo):
				return 1
			case s.hi.less(a):
				return -1
			}
			return 0
		})
		if i >= len(t.v6) || a.less(t.v6[i].lo) || t.v6[i].hi.less(a) {
			return Info{}, nil
		}
		s := t.v6[i]
		lo, hi, rec = from6(s.lo), from6(s.hi), s.rec
	} else {
		return Info{}, nil
	}
	r := t.recs[rec]
	return Info{Prefix: blockIn(addr, lo, hi), ASN: r.asn, ASName: r.desc, Country: r.country}, nil
}

// blockIn returns the largest CIDR block that holds addr and lies inside
// [lo, hi] (iptoasn ranges need not be CIDR-aligned).
func blockIn(addr, lo, hi netip.Addr) netip.Prefix {
	for b := 0; b <= addr.BitLen(); b++ {
		p, err := addr.Prefix(b)
		if err != nil {
			break
		}
		if p.Addr().Compare(lo) >= 0 && lastOf(p).Compare(hi) <= 0 {
			return p
		}
	}
	return netip.PrefixFrom(addr, addr.BitLen())
}

// lastOf returns the highest address of a masked prefix.
func lastOf(p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		v := v4(p.Addr())
		if p.Bits() < 32 {
			v |= 1<<(32-p.Bits()) - 1
		}
		return from4(v)
	}
	v := v6(p.Addr())
	host := 128 - p.Bits()
	switch {
	case host >= 64:
		v.lo = ^uint64(0)
		if host > 64 {
			v.hi |= 1<<(host-64) - 1
		}
		if host == 128 {
			v.hi = ^uint64(0)
		}
	case host > 0:
		v.lo |= 1<<host - 1
	}
	return from6(v)
}

func v4(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

func from4(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func v6(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func from6(v u128) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b)
}

// TSVLine is one parsed iptoasn line.
type TSVLine struct {
	Start, End netip.Addr
	ASN        uint32
	// Country is the upper-case ISO code, "" for "None" or "Unknown".
	Country string
	Desc    string
}

// ParseTSVLine parses one iptoasn line (a trailing CR is ignored).
// Addresses are text ("192.0.2.0", "2001:db8::") or decimal integers
// (the ip2asn-v4-u32 files); both ends are of one family, start <= end.
func ParseTSVLine(line string) (TSVLine, error) {
	line = strings.TrimSuffix(line, "\r")
	f := strings.Split(line, "\t")
	if len(f) != 5 {
		return TSVLine{}, fmt.Errorf("%d tab-separated fields, want 5", len(f))
	}
	var l TSVLine
	var err error
	if l.Start, err = parseTSVAddr(f[0]); err != nil {
		return TSVLine{}, err
	}
	if l.End, err = parseTSVAddr(f[1]); err != nil {
		return TSVLine{}, err
	}
	if l.Start.Is4() != l.End.Is4() {
		return TSVLine{}, fmt.Errorf("range %s-%s mixes IPv4 and IPv6", l.Start, l.End)
	}
	if l.End.Less(l.Start) {
		return TSVLine{}, fmt.Errorf("range %s-%s ends before it starts", l.Start, l.End)
	}
	asn, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(f[2]), "AS"), 10, 32)
	if err != nil {
		return TSVLine{}, fmt.Errorf("AS number %q", f[2])
	}
	l.ASN = uint32(asn)
	l.Country = countryCode(f[3])
	l.Desc = cleanText(f[4])
	if l.ASN == 0 {
		l.Desc = ""
	}
	return l, nil
}

func parseTSVAddr(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s != "" && s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, ".:") {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("address %q", s)
		}
		return from4(uint32(n)), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("address %q", s)
	}
	return a.Unmap(), nil
}

// cleanText makes a description printable: control bytes become spaces,
// runs of space collapse, invalid UTF-8 is replaced, at most 256 bytes.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 256 {
		s = strings.ToValidUTF8(s[:256], "")
	}
	return s
}
