package pebble

// Key layout. Every key starts with a table byte; names inside keys are
// either reversed (labels in reverse order joined by '.', so that a zone
// and everything below it share a prefix) or forward (the canonical name
// as is), and are terminated by 0x00, which no stored name contains.
//
//	r REV(rrname) 00 TYPE(2) RDATA     tuple; value = encoded aggregate (Merge)
//	i FAM IP REV(rrname) 00            A (FAM 4, 4 bytes) / AAAA (FAM 6, 16 bytes)
//	d REV(target) 00 TYPE(2) REV(rrname) 00 [RDATA text]
//	                                   rdata-name index; the rdata text follows
//	                                   when it is not exactly "target."
//	g target 00                        distinct rdata targets (right-hand wildcards)
//	f rrname 00                        distinct rrnames (right-hand wildcards)
//	h HASH(8) TYPE(2) REV(rrname) 00   exact-rdata index of every other tuple
//	n REV(name) 00                     NXDOMAIN counter (Merge)
//	m namespace 00 key                 Meta
//	z ...                              store metadata (format version)
//
// RDATA is 0x01 + the address bytes for A/AAAA rdata in canonical form
// (so the IP index can rebuild the tuple key), else 0x00 + the rdata text.
// Index values are empty, so an index entry costs its key.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"

	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/miekg/dns"
)

const (
	tRecord    = 'r'
	tIP        = 'i'
	tTarget    = 'd'
	tTargetFwd = 'g'
	tName      = 'f'
	tHash      = 'h'
	tNX        = 'n'
	tMeta      = 'm'
	tSys       = 'z'
)

const (
	rdataText = 0x00
	rdataIP   = 0x01
)

var errKey = errors.New("malformed key")

// labelStarts returns the start offsets of the labels of a presentation
// name (escapes respected); the root and "" have none.
func labelStarts(name string, dst []int) []int {
	dst = dst[:0]
	if name == "" || name == "." {
		return dst
	}
	dst = append(dst, 0)
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '.':
			dst = append(dst, i+1)
		}
	}
	return dst
}

// appendRev appends the label-reversed form of name ("" for the root).
func appendRev(dst []byte, name string) []byte {
	if name == "" || name == "." {
		return dst
	}
	if strings.IndexByte(name, '\\') >= 0 {
		return appendRevEscaped(dst, name)
	}
	// No escapes: every dot ends a label.
	end := len(name)
	for {
		i := strings.LastIndexByte(name[:end], '.')
		dst = append(dst, name[i+1:end]...)
		if i < 0 {
			return dst
		}
		dst = append(dst, '.')
		end = i
	}
}

// appendRevEscaped is appendRev for names with escapes (a "\." is not a
// label boundary).
func appendRevEscaped(dst []byte, name string) []byte {
	var buf [32]int
	starts := labelStarts(name, buf[:0])
	for k := len(starts) - 1; k >= 0; k-- {
		end := len(name)
		if k+1 < len(starts) {
			end = starts[k+1] - 1
		}
		dst = append(dst, name[starts[k]:end]...)
		if k > 0 {
			dst = append(dst, '.')
		}
	}
	return dst
}

// revToName turns a reversed name back into canonical form (reversal is
// its own inverse); "" is the root.
func revToName(rev []byte) string {
	if len(rev) == 0 {
		return "."
	}
	return string(appendRev(make([]byte, 0, len(rev)), string(rev)))
}

// appendRData appends the RDATA part of a tuple key.
func appendRData(dst []byte, rrtype uint16, rdata string) []byte {
	a, _ := canonicalIP(rrtype, rdata)
	return appendRDataAddr(dst, rdata, a)
}

// appendRDataAddr is appendRData for rdata whose canonicalIP is a (the
// zero Addr when it has none).
func appendRDataAddr(dst []byte, rdata string, a netip.Addr) []byte {
	if a.IsValid() {
		dst = append(dst, rdataIP)
		return append(dst, a.AsSlice()...)
	}
	dst = append(dst, rdataText)
	return append(dst, rdata...)
}

// canonicalIP returns the address of A/AAAA rdata when the rdata is its
// canonical text (so that it round-trips through the binary form).
func canonicalIP(rrtype uint16, rdata string) (netip.Addr, bool) {
	a, ok := store.RDataIP(rrtype, rdata)
	if !ok {
		return netip.Addr{}, false
	}
	return canonicalAddr(a, rdata)
}

// canonicalAddr is canonicalIP for an address already parsed from rdata.
func canonicalAddr(a netip.Addr, rdata string) (netip.Addr, bool) {
	if a.Is4() {
		// netip parses an IPv4 address only from its canonical dotted
		// form (four fields, no leading zeros): nothing to compare.
		return a, true
	}
	var buf [64]byte
	if string(a.AppendTo(buf[:0])) != rdata {
		return netip.Addr{}, false
	}
	return a, true
}

// decodeRData reads the RDATA part of a tuple key.
func decodeRData(rrtype uint16, b []byte) (string, error) {
	if len(b) == 0 {
		return "", errKey
	}
	switch b[0] {
	case rdataText:
		return string(b[1:]), nil
	case rdataIP:
		switch {
		case rrtype == dns.TypeA && len(b) == 5:
			return netip.AddrFrom4([4]byte(b[1:])).String(), nil
		case rrtype == dns.TypeAAAA && len(b) == 17:
			return netip.AddrFrom16([16]byte(b[1:])).String(), nil
		}
	}
	return "", errKey
}

// appendRecordPrefix appends "r REV(name) 00".
func appendRecordPrefix(dst []byte, name string) []byte {
	dst = append(dst, tRecord)
	dst = appendRev(dst, name)
	return append(dst, 0)
}

// appendRecordKey appends a tuple key.
func appendRecordKey(dst []byte, name string, rrtype uint16, rdata string) []byte {
	a, _ := canonicalIP(rrtype, rdata)
	return appendRecordKeyAddr(dst, name, rrtype, rdata, a)
}

// appendRecordKeyAddr is appendRecordKey for rdata whose canonicalIP is a
// (the zero Addr when it has none).
func appendRecordKeyAddr(dst []byte, name string, rrtype uint16, rdata string, a netip.Addr) []byte {
	dst = appendRecordPrefix(dst, name)
	dst = binary.BigEndian.AppendUint16(dst, rrtype)
	return appendRDataAddr(dst, rdata, a)
}

// recordKey is a decoded tuple key; rev and rdata alias the key.
type recordKey struct {
	rev    []byte
	rrtype uint16
	rdata  []byte // the RDATA part (tag byte first)
}

func parseRecordKey(k []byte) (recordKey, error) {
	if len(k) < 1 || k[0] != tRecord {
		return recordKey{}, errKey
	}
	i := bytes.IndexByte(k[1:], 0)
	if i < 0 || len(k) < 1+i+1+2+1 {
		return recordKey{}, errKey
	}
	rest := k[1+i+1:]
	return recordKey{rev: k[1 : 1+i], rrtype: binary.BigEndian.Uint16(rest), rdata: rest[2:]}, nil
}

// indexEntry is one secondary-index key (and value) of a tuple.
type indexEntry struct {
	key, value []byte
	// fwd marks the distinct-name entries ('f', 'g'), shared by many
	// tuples.
	fwd bool
}

// appendIndexEntries appends the index entries of a tuple to dst, using buf
// for their bytes.
func appendIndexEntries(dst []indexEntry, buf []byte, name string, rrtype uint16, rdata string) ([]indexEntry, []byte) {
	a, _ := canonicalIP(rrtype, rdata)
	return appendIndexEntriesAddr(dst, buf, name, rrtype, rdata, a)
}

// appendIndexEntriesAddr is appendIndexEntries for rdata whose canonicalIP
// is a (the zero Addr when it has none).
func appendIndexEntriesAddr(dst []indexEntry, buf []byte, name string, rrtype uint16, rdata string, a netip.Addr) ([]indexEntry, []byte) {
	add := func(k, v []byte, fwd bool) {
		// Set in place, not copied from a literal built on the stack:
		// the copy's wide loads would wait for the literal's narrow
		// stores to reach the cache (ingest's messageLocked has the
		// measurement).
		dst = append(dst, indexEntry{})
		e := &dst[len(dst)-1]
		e.key, e.value, e.fwd = k, v, fwd
	}
	start := len(buf)
	buf = append(buf, tName)
	buf = append(buf, name...)
	buf = append(buf, 0)
	add(buf[start:len(buf):len(buf)], nil, true)

	if a.IsValid() {
		start = len(buf)
		buf = append(buf, tIP, famByte(a))
		buf = append(buf, a.AsSlice()...)
		buf = appendRev(buf, name)
		buf = append(buf, 0)
		add(buf[start:len(buf):len(buf)], nil, false)
		return dst, buf
	}
	var tbuf [4]string
	targets := store.AppendRDataNames(tbuf[:0], rrtype, rdata)
	if len(targets) == 0 {
		start = len(buf)
		buf = append(buf, tHash)
		buf = binary.BigEndian.AppendUint64(buf, rdataHash(rdata))
		buf = binary.BigEndian.AppendUint16(buf, rrtype)
		buf = appendRev(buf, name)
		buf = append(buf, 0)
		add(buf[start:len(buf):len(buf)], nil, false)
		return dst, buf
	}
	for _, t := range targets {
		start = len(buf)
		buf = append(buf, tTarget)
		buf = appendRev(buf, t)
		buf = append(buf, 0)
		buf = binary.BigEndian.AppendUint16(buf, rrtype)
		buf = appendRev(buf, name)
		buf = append(buf, 0)
		if !isBareTarget(rdata, t) {
			// The rdata is part of the key: MX 10 and MX 20 to one host
			// from one owner are two entries.
			buf = append(buf, rdata...)
		}
		add(buf[start:len(buf):len(buf)], nil, false)
		start = len(buf)
		buf = append(buf, tTargetFwd)
		buf = append(buf, t...)
		buf = append(buf, 0)
		add(buf[start:len(buf):len(buf)], nil, true)
	}
	return dst, buf
}

// isBareTarget reports whether rdata is exactly target in FQDN form.
func isBareTarget(rdata, target string) bool {
	return len(rdata) == len(target)+1 && strings.HasPrefix(rdata, target) && rdata[len(target)] == '.'
}

func famByte(a netip.Addr) byte {
	if a.Is4() {
		return 4
	}
	return 6
}

// rdataHash is the 64-bit FNV-1a hash of rdata (hash/fnv's New64a,
// written out: no allocation for the hasher and the bytes).
func rdataHash(rdata string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(rdata); i++ {
		h ^= uint64(rdata[i])
		h *= prime
	}
	return h
}

// prefixEnd returns the smallest key greater than every key with prefix p
// (nil when there is none).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// subtreeRange returns the key range of the names strictly below name
// under table tab (reversed names).
func subtreeRange(tab byte, name string) (lo, hi []byte) {
	if name == "." {
		return []byte{tab, 0x01}, []byte{tab + 1}
	}
	lo = append([]byte{tab}, appendRev(nil, name)...)
	lo = append(lo, '.')
	return lo, prefixEnd(lo)
}

// fwdRange returns the key range of the names whose leftmost labels are
// name's under a forward-name table.
func fwdRange(tab byte, name string) (lo, hi []byte) {
	lo = append([]byte{tab}, name...)
	lo = append(lo, '.')
	return lo, prefixEnd(lo)
}

// metaKey returns "m ns 00 key".
func metaKey(ns, key string) []byte {
	b := make([]byte, 0, 2+len(ns)+len(key))
	b = append(b, tMeta)
	b = append(b, ns...)
	b = append(b, 0)
	return append(b, key...)
}
