package ingest

import (
	"bytes"
	"encoding/binary"

	rrtable "github.com/dnsscout/dnsscout/internal/rr"
)

// This file is the zero-allocation DNS walker of the hot path. It checks a
// message's structure, decompresses and lower-cases names into a scratch
// buffer, and builds the aggregation key of each record: the owner name in
// wire form, the type, and the rdata with its domain names decompressed and
// lower-cased. Presentation strings are only made (with miekg/dns) for keys
// the aggregate has not seen yet.
//
// BenchmarkWalk (bench_test.go) compares it with miekg/dns Msg.Unpack on
// a referral with glue: 317 ns and no allocation against 2,031 ns and 32
// allocations.

// wireErr says what was wrong with a message.
type wireErr uint8

const (
	wireOK      wireErr = iota
	errShort            // shorter than the header
	errName             // bad label, pointer loop or name too long
	errQuestion         // question section runs past the end
	errRecord           // record header or rdata runs past the end
	errRData            // rdata does not match its type's layout
	numWireErrors
)

var wireErrNames = [numWireErrors]string{
	errShort:    "DNS message shorter than its header",
	errName:     "bad DNS name (label, pointer loop or length)",
	errQuestion: "DNS question section truncated",
	errRecord:   "DNS message cut short (records before the cut kept)",
	errRData:    "DNS rdata does not match its type",
}

const (
	maxNameWire = 255 // RFC 1035 2.3.4
	maxPointers = 126 // as miekg/dns: (255+1)/2 - 2
)

// appendLabel appends a label (its length byte and its bytes), lower-cased
// (ASCII). It is copied whole, then lower-cased in place: appending byte by
// byte cost a third of the decoding side's time.
func appendLabel(dst, label []byte) []byte {
	dst = append(dst, label...)
	lab := dst[len(dst)-len(label)+1:]
	for i, b := range lab {
		if b-'A' < 26 {
			lab[i] = b + ('a' - 'A')
		}
	}
	return dst
}

// appendName decompresses the name at off in msg, lower-cases it, and
// appends it in wire form (ending with the root label) to dst. It returns
// the offset after the name in the message (after the first pointer).
func appendName(dst, msg []byte, off int) ([]byte, int, wireErr) {
	start := len(dst)
	next := -1
	ptrs := 0
	for {
		if off >= len(msg) {
			return dst[:start], 0, errName
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				dst = append(dst, 0)
				if next < 0 {
					next = off + 1
				}
				return dst, next, wireOK
			}
			if off+1+c > len(msg) || len(dst)-start+1+c >= maxNameWire {
				return dst[:start], 0, errName
			}
			dst = appendLabel(dst, msg[off:off+1+c])
			off += 1 + c
		case 0xc0:
			if off+1 >= len(msg) {
				return dst[:start], 0, errName
			}
			if next < 0 {
				next = off + 2
			}
			if ptrs++; ptrs > maxPointers {
				return dst[:start], 0, errName
			}
			off = (c&0x3f)<<8 | int(msg[off+1])
		default:
			return dst[:start], 0, errName
		}
	}
}

// skipName returns the offset after the name at off without copying it,
// checking only that it stays within msg.
func skipName(msg []byte, off int) (int, wireErr) {
	for {
		if off >= len(msg) {
			return 0, errName
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				return off + 1, wireOK
			}
			off += 1 + c
		case 0xc0:
			if off+1 >= len(msg) {
				return 0, errName
			}
			return off + 2, wireOK
		default:
			return 0, errName
		}
	}
}

// isSubWire reports whether child equals parent or lies below it; both are
// lower-case wire names.
func isSubWire(child, parent []byte) bool {
	for off := 0; off < len(child); off += 1 + int(child[off]) {
		switch rest := len(child) - off; {
		case rest == len(parent):
			return bytes.Equal(child[off:], parent)
		case rest < len(parent):
			return false
		}
		if child[off] == 0 {
			return false
		}
	}
	return false
}

// parentWire returns the name one label up (the root is its own parent).
func parentWire(name []byte) []byte {
	if len(name) <= 1 {
		return name
	}
	return name[1+int(name[0]):]
}

// Layout elements of typed rdata.
const (
	lName  = 0xff // a domain name (decompressed, lower-cased in the key)
	lRest  = 0xfe // everything up to the end of the rdata, as is
	lCStr  = 0xfd // a <character-string>
	lFixed = 0x00 // lFixed|n: n bytes as is (n < 0xfd)
)

// rdataLayouts holds the wire layout of every type whose rdata contains
// domain names at fixed places (rrtable.NameTypes): the types pdns.RData
// lower-cases, so equal keys give equal rdata.
var rdataLayouts = func() map[uint16][]byte {
	elems := map[rrtable.WireField]byte{rrtable.WireName: lName, rrtable.WireRest: lRest, rrtable.WireString: lCStr}
	m := map[uint16][]byte{}
	for _, nt := range rrtable.NameTypes() {
		if nt.Wire == nil {
			continue
		}
		var l []byte
		for _, el := range nt.Wire {
			if b, ok := elems[el]; ok {
				l = append(l, b)
			} else {
				l = append(l, lFixed|byte(el))
			}
		}
		m[nt.Type] = l
	}
	return m
}()

// layoutTable is rdataLayouts as a slice for the hot path.
var layoutTable = func() [256][]byte {
	var t [256][]byte
	for typ, l := range rdataLayouts {
		t[typ] = l
	}
	return t
}()

// appendRData appends the key form of the rdata at msg[off:end] of type
// typ to dst.
func appendRData(dst, msg []byte, off, end int, typ uint16) ([]byte, wireErr) {
	return appendRDataWith(dst, msg, off, end, typ, nil)
}

// appendRData is the package's appendRData reading names through the
// memo of the message just walked.
func (w *walker) appendRData(dst, msg []byte, off, end int, typ uint16) ([]byte, wireErr) {
	return appendRDataWith(dst, msg, off, end, typ, w)
}

// appendRDataWith is appendRData with names read through w's memo when w
// is not nil.
func appendRDataWith(dst, msg []byte, off, end int, typ uint16, w *walker) ([]byte, wireErr) {
	var layout []byte
	if typ < 256 {
		layout = layoutTable[typ]
	}
	if typ == typeA && end-off != 4 || typ == typeAAAA && end-off != 16 {
		return dst, errRData
	}
	if layout == nil {
		return append(dst, msg[off:end]...), wireOK
	}
	for _, el := range layout {
		switch el {
		case lName:
			var next int
			var e wireErr
			if w != nil {
				dst, next, e = w.name(dst, msg, off, false)
			} else {
				dst, next, e = appendName(dst, msg, off)
			}
			if e != wireOK {
				return dst, e
			}
			if next > end {
				return dst, errRData
			}
			off = next
		case lRest:
			dst = append(dst, msg[off:end]...)
			off = end
		case lCStr:
			if off >= end || off+1+int(msg[off]) > end {
				return dst, errRData
			}
			n := 1 + int(msg[off])
			dst = append(dst, msg[off:off+n]...)
			off += n
		default:
			n := int(el)
			if off+n > end {
				return dst, errRData
			}
			dst = append(dst, msg[off:off+n]...)
			off += n
		}
	}
	if off != end {
		return dst, errRData
	}
	return dst, wireOK
}

// rr is one record of a walked message.
type rr struct {
	section  uint8 // 1 answer, 2 authority, 3 additional
	owner    int   // offset of the owner name in the message
	name     int   // the lower-case wire owner is walker.names[name:nameEnd],
	nameEnd  int   // shared with an earlier name when the owner points at it
	typ      uint16
	class    uint16
	rdOff    int
	rdLen    int
	target   int // CNAME: offset of the lower-case wire target in names
	targetTo int
}

// walker holds the scratch buffers for one message at a time.
type walker struct {
	names []byte
	rrs   []rr
	// memo, labels and ptrAt are name's (memo.go); noMemo makes name
	// appendName, the reference FuzzNameMemo compares it with.
	memo   *nameMemo
	labels []memoLabel
	ptrAt  []uint16
	noMemo bool
	qname  []byte // lower-case wire question name (in names)
	// header fields
	id       uint16
	flags    uint16
	qdcount  int
	extRcode uint8 // upper 8 bits of the rcode, from OPT
	cut      bool  // the message ended before its counts said
	// cutSection is the section (1 answer, 2 authority, 3 additional)
	// the cut fell in.
	cutSection uint8
}

// walk checks the whole message and records its question and records.
func (w *walker) walk(msg []byte) wireErr {
	if w.memo == nil {
		w.memo = new(nameMemo)
	}
	w.memo.forget()
	w.names = w.names[:0]
	w.rrs = w.rrs[:0]
	w.qname = nil
	w.extRcode = 0
	w.cut, w.cutSection = false, 0
	if len(msg) < 12 {
		return errShort
	}
	w.id = binary.BigEndian.Uint16(msg[0:2])
	w.flags = binary.BigEndian.Uint16(msg[2:4])
	w.qdcount = int(binary.BigEndian.Uint16(msg[4:6]))
	counts := [3]int{
		int(binary.BigEndian.Uint16(msg[6:8])),
		int(binary.BigEndian.Uint16(msg[8:10])),
		int(binary.BigEndian.Uint16(msg[10:12])),
	}
	off := 12
	for i := 0; i < w.qdcount; i++ {
		var e wireErr
		if i == 0 {
			start := len(w.names)
			if w.names, off, e = w.name(w.names, msg, off, true); e != wireOK {
				return e
			}
			w.qname = w.names[start:]
		} else if off, e = skipName(msg, off); e != wireOK {
			return e
		}
		if off+4 > len(msg) {
			return errQuestion
		}
		off += 4
	}
	// Records: a message cut short (fewer records than its counts, or a
	// record cut in the middle) keeps the records before the cut, as
	// miekg/dns and tshark do; w.cut tells.
records:
	for sec := range 3 {
		for range counts[sec] {
			// Filled in place, not copied from a record built apart
			// (see messageLocked): a cut takes it back (cutRecord).
			w.rrs = append(w.rrs, rr{})
			r := &w.rrs[len(w.rrs)-1]
			r.section = uint8(sec + 1)
			r.owner = off
			mark := len(w.names)
			var e wireErr
			var next int
			if r.name, r.nameEnd, next = w.pointedName(msg, off); next == 0 {
				r.name = mark
				if w.names, next, e = w.name(w.names, msg, off, true); e != wireOK {
					w.cutRecord(mark, sec)
					break records
				}
				r.nameEnd = len(w.names)
			}
			if next+10 > len(msg) {
				w.cutRecord(mark, sec)
				break records
			}
			r.typ = binary.BigEndian.Uint16(msg[next:])
			r.class = binary.BigEndian.Uint16(msg[next+2:])
			r.rdLen = int(binary.BigEndian.Uint16(msg[next+8:]))
			r.rdOff = next + 10
			end := r.rdOff + r.rdLen
			if end > len(msg) {
				w.cutRecord(mark, sec)
				break records
			}
			off = end
			switch r.typ {
			case typeCNAME:
				r.target = len(w.names)
				var tnext int
				if w.names, tnext, e = w.name(w.names, msg, r.rdOff, true); e != wireOK || tnext != end {
					// A CNAME whose rdata is not one name: keep the
					// record (the rdata check rejects it later) but
					// not as a chain link.
					w.truncateNames(r.target)
					r.target, r.targetTo = 0, 0
				} else {
					r.targetTo = len(w.names)
				}
			case typeOPT:
				// The TTL field of OPT carries the extended rcode, in
				// the additional section, the only place for OPT (RFC
				// 6891 6.1.1; miekg/dns reads it there only). An OPT
				// elsewhere is malformed: never kept, it changes
				// nothing, so the response's records are not lost.
				if sec == 2 {
					w.extRcode = msg[r.rdOff-6]
				}
			}
		}
	}
	// The qname slice may have moved when names grew.
	if w.qdcount > 0 {
		w.qname = w.names[:len(w.qname)]
	}
	return wireOK
}

// cutRecord ends the walk at the record being read (the last of w.rrs)
// in section sec (0: answer): it and its names are taken back.
func (w *walker) cutRecord(mark, sec int) {
	w.truncateNames(mark)
	w.cut, w.cutSection = true, uint8(sec+1)
	w.rrs = w.rrs[:len(w.rrs)-1]
}

func (w *walker) ownerOf(r *rr) []byte { return w.names[r.name:r.nameEnd] }

const (
	typeA     = 1
	typeAAAA  = 28
	typeNS    = 2
	typeCNAME = 5
	typeSOA   = 6
	typePTR   = 12
	typeMX    = 15
	typeTXT   = 16
	typeSRV   = 33
	typeDNAME = 39
	typeOPT   = 41
	typeRRSIG = 46
	typeTKEY  = 249
	typeTSIG  = 250
	classIN   = 1
)
