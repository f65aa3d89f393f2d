package ingest

import (
	"encoding/base64"
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"

	"github.com/miekg/dns"
)

// Presentation strings of new tuples, the common cases written by hand.
//
// A tuple's rrname and rdata are made once, when its key first enters the
// aggregate; miekg/dns (UnpackRRWithHeader, then pdns.RData) cost about
// 550 ns and 9 allocations per tuple, 0.15 s of the 0.9 s that reading,
// decoding and aggregating bench/ingest's capture took. The renderers below
// work on the key form of a record (wire.go: names decompressed and
// lower-cased) and produce the same text as that path for names made of
// plain label bytes and the types resolvers see most (A, AAAA, NS, CNAME,
// PTR, DNAME, MX, SOA, SRV, TXT with printable strings, RRSIG); for anything else
// they decline and the caller uses miekg/dns. TestRenderMatchesMiekg and
// FuzzMessage hold them to the miekg/dns text.

// plainLabelByte marks the bytes miekg/dns prints as they are in a name (a
// conservative subset: no escapes are ever needed for them).
var plainLabelByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'], t['*'], t['/'] = true, true, true, true
	return t
}()

// appendNameText appends the wire name at name[off:] (uncompressed,
// lower-case) as text with a trailing dot ("." for the root) and returns
// the offset after it; ok is false when a label holds a byte that would
// need an escape or the name does not end within name.
func appendNameText(dst, name []byte, off int) (_ []byte, next int, ok bool) {
	if off >= len(name) {
		return dst, 0, false
	}
	if name[off] == 0 {
		return append(dst, '.'), off + 1, true
	}
	for {
		if off >= len(name) {
			return dst, 0, false
		}
		n := int(name[off])
		if n == 0 {
			return dst, off + 1, true
		}
		if n > 63 || off+1+n > len(name) {
			return dst, 0, false
		}
		for _, c := range name[off+1 : off+1+n] {
			if !plainLabelByte[c] {
				return dst, 0, false
			}
		}
		dst = append(dst, name[off+1:off+1+n]...)
		dst = append(dst, '.')
		off += 1 + n
	}
}

// appendOwnerText appends a lower-case wire owner name as a tuple's rrname
// (no trailing dot, "." for the root); ok is false when it needs escapes.
func appendOwnerText(dst, name []byte) ([]byte, bool) {
	start := len(dst)
	b, next, ok := appendNameText(dst, name, 0)
	if !ok || next != len(name) {
		return dst[:start], false
	}
	if len(b)-start > 1 {
		b = b[:len(b)-1]
	}
	return b, true
}

// appendRDataText appends the key form of rdata of type typ as pdns.RData
// would render it; ok is false (and dst unchanged) when the type or the
// content is not one it handles.
func appendRDataText(dst []byte, typ uint16, rd []byte) ([]byte, bool) {
	b, ok := rdataText(dst, typ, rd)
	if !ok {
		return dst, false
	}
	return b, true
}

// rdataText appends the text of rd by its type family; on false the bytes
// appended so far are garbage and the caller drops them.
func rdataText(b []byte, typ uint16, rd []byte) ([]byte, bool) {
	switch typ {
	case typeA:
		if len(rd) != 4 {
			return b, false
		}
		return netip.AddrFrom4([4]byte(rd)).AppendTo(b), true
	case typeAAAA:
		if len(rd) != 16 {
			return b, false
		}
		a := netip.AddrFrom16([16]byte(rd))
		if a.Is4In6() {
			return b, false // miekg/dns prints these as ::ffff:a.b.c.d
		}
		return a.AppendTo(b), true
	case typeNS, typeCNAME, typePTR, typeDNAME:
		return appendNameRDataText(b, rd, 0)
	case typeMX:
		return appendNameRDataText(b, rd, 1) // preference exchange
	case typeSRV:
		return appendNameRDataText(b, rd, 3) // priority weight port target
	case typeSOA:
		return appendSOAText(b, rd)
	case typeTXT:
		return appendTXTText(b, rd)
	case typeRRSIG:
		return appendRRSIGText(b, rd, time.Now().Unix())
	default:
		return b, false
	}
}

// appendNameRDataText appends rdata made of n 16-bit integers and then a
// name that ends it (NS and its kin with n = 0, MX with 1, SRV with 3).
func appendNameRDataText(b, rd []byte, n int) ([]byte, bool) {
	if len(rd) < 2*n+1 {
		return b, false
	}
	for i := 0; i < 2*n; i += 2 {
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(rd[i:])), 10)
		b = append(b, ' ')
	}
	b, next, ok := appendNameText(b, rd, 2*n)
	return b, ok && next == len(rd)
}

// appendSOAText appends SOA rdata: two names and five 32-bit integers.
func appendSOAText(b, rd []byte) ([]byte, bool) {
	var next int
	var ok bool
	if b, next, ok = appendNameText(b, rd, 0); !ok {
		return b, false
	}
	b = append(b, ' ')
	if b, next, ok = appendNameText(b, rd, next); !ok || len(rd)-next != 20 {
		return b, false
	}
	for i := next; i < len(rd); i += 4 {
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(rd[i:])), 10)
	}
	return b, true
}

// appendTXTText appends TXT rdata, one or more strings of printable bytes
// that need no escape, each quoted.
func appendTXTText(b, rd []byte) ([]byte, bool) {
	if len(rd) == 0 {
		return b, false
	}
	for off := 0; off < len(rd); {
		n := int(rd[off])
		if off+1+n > len(rd) {
			return b, false
		}
		if off > 0 {
			b = append(b, ' ')
		}
		b = append(b, '"')
		for _, c := range rd[off+1 : off+1+n] {
			if c < ' ' || c > '~' || c == '"' || c == '\\' {
				return b, false
			}
		}
		b = append(b, rd[off+1:off+1+n]...)
		b = append(b, '"')
		off += 1 + n
	}
	return b, true
}

// appendRRSIGText appends RRSIG rdata as miekg/dns prints it: type
// covered, algorithm, labels, original TTL, expiration and inception
// (dnssecTime), key tag, signer name, base64 signature. In signed traffic
// nearly every new tuple has its RRSIG, and miekg/dns took 1 µs and 12
// allocations for each. An empty signature is left to miekg/dns.
func appendRRSIGText(b, rd []byte, now int64) ([]byte, bool) {
	if len(rd) < 18+1+1 {
		return b, false
	}
	covered := binary.BigEndian.Uint16(rd)
	if s, ok := dns.TypeToString[covered]; ok {
		b = append(b, s...)
	} else {
		b = append(b, "TYPE"...)
		b = strconv.AppendUint(b, uint64(covered), 10)
	}
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(rd[2]), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(rd[3]), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(rd[4:])), 10)
	b = append(b, ' ')
	b = appendDNSSECTime(b, binary.BigEndian.Uint32(rd[8:]), now)
	b = append(b, ' ')
	b = appendDNSSECTime(b, binary.BigEndian.Uint32(rd[12:]), now)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(rd[16:])), 10)
	b = append(b, ' ')
	b, next, ok := appendNameText(b, rd, 18)
	if !ok || next >= len(rd) {
		return b, false
	}
	b = append(b, ' ')
	return base64.StdEncoding.AppendEncode(b, rd[next:]), true
}

// appendDNSSECTime appends a signature time as YYYYMMDDHHmmSS the way
// miekg/dns's TimeToString reads the 32-bit value (RFC 4034 3.2 serial
// arithmetic): the time nearest after now minus 68 years that it can
// stand for.
func appendDNSSECTime(b []byte, t uint32, now int64) []byte {
	const year68 = 1 << 31
	mod := (int64(t)-now)/year68 - 1
	if mod < 0 {
		mod = 0
	}
	tm := time.Unix(int64(t)-mod*year68, 0).UTC()
	y, mo, d := tm.Date()
	h, mi, s := tm.Clock()
	b = appendDigits(b, y, 4)
	for _, v := range [...]int{int(mo), d, h, mi, s} {
		b = appendDigits(b, v, 2)
	}
	return b
}

// appendDigits appends v in decimal, zero-padded to n digits.
func appendDigits(b []byte, v, n int) []byte {
	var buf [20]byte
	i := len(buf)
	for ; v > 0 || i > len(buf)-n; v /= 10 {
		i--
		buf[i] = byte('0' + v%10)
	}
	return append(b, buf[i:]...)
}
