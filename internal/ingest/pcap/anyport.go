package pcap

import (
	"sync/atomic"
)

// DNS on any UDP port (Options.AnyPort). A datagram between two ports
// that are not DNS ports is remembered when it parses as a standard query
// (QR=0, opcode QUERY, one question, no answer or authority records, at
// most one additional record for EDNS); one that parses as a response
// (QR=1, opcode QUERY, one question) is a DNS message when a query with
// the same ID and the same question (name compared case-insensitively,
// type, class) was seen on the reverse flow (same addresses and ports,
// swapped) within anyPortTimeout of capture time. A query matches once.
// Nothing else is trusted: a random datagram would have to repeat a
// remembered 16-bit ID and question from the right flow.
//
// The queries are held in a map bounded by Options.AnyPortQueries; when
// it is full the oldest is forgotten.

// anyPortTimeout is how long (capture time) a query waits for its answer.
const anyPortTimeout = int64(30e9)

type queryKey struct {
	client, server [16]byte
	cport, sport   uint16
	id             uint16
	v6             bool
}

type queryEntry struct {
	question uint64 // hash of the question
	ts       int64
	seq      uint64 // insertion number: the ring slot that owns the entry
}

type queryRef struct {
	key queryKey
	seq uint64
}

type queryTable struct {
	m    map[queryKey]queryEntry
	ring []queryRef // insertion order, for eviction
	seq  uint64
	max  int
}

func (t *queryTable) init(max int) { t.max = max }

func (t *queryTable) add(k queryKey, q uint64, ts int64) {
	if t.m == nil {
		t.m = make(map[queryKey]queryEntry)
		t.ring = make([]queryRef, 0, min(t.max, 1024))
	}
	t.seq++
	var slot int
	if len(t.ring) < t.max {
		t.ring = append(t.ring, queryRef{})
		slot = len(t.ring) - 1
	} else {
		slot = int((t.seq - 1) % uint64(t.max)) // the oldest
		old := t.ring[slot]
		if e, ok := t.m[old.key]; ok && e.seq == old.seq {
			delete(t.m, old.key)
		}
	}
	t.ring[slot] = queryRef{key: k, seq: t.seq}
	t.m[k] = queryEntry{question: q, ts: ts, seq: t.seq}
}

// match removes and reports the query k answers.
func (t *queryTable) match(k queryKey, q uint64, now int64) bool {
	e, ok := t.m[k]
	if !ok || e.question != q {
		return false
	}
	delete(t.m, k)
	return now-e.ts <= anyPortTimeout && e.ts-now <= anyPortTimeout
}

func (d *Decoder) anyPort(src, dst *[16]byte, sport, dport uint16, v6 bool, msg []byte, cut bool) {
	flags, q, ok := dnsQuestion(msg)
	if !ok || flags&0x7800 != 0 { // opcode QUERY only
		d.ignore()
		return
	}
	id := be16(msg[0:2])
	if flags&0x8000 == 0 {
		// A query: nothing but the question and, maybe, an OPT record.
		if cut || be16(msg[6:8]) != 0 || be16(msg[8:10]) != 0 || be16(msg[10:12]) > 1 {
			d.ignore()
			return
		}
		d.queries.add(queryKey{client: *src, server: *dst, cport: sport, sport: dport, id: id, v6: v6}, q, d.now)
		atomic.AddUint64(&d.stats.AnyPortQueries, 1)
		return
	}
	if !d.queries.match(queryKey{client: *dst, server: *src, cport: dport, sport: sport, id: id, v6: v6}, q, d.now) {
		d.ignore()
		return
	}
	atomic.AddUint64(&d.stats.AnyPortMessages, 1)
	d.message(msg, sport, cut)
}

// dnsQuestion checks that msg starts with a DNS header and exactly one
// uncompressed question, and returns the header flags and a hash of the
// question (name lower-cased, type, class).
func dnsQuestion(msg []byte) (flags uint16, hash uint64, ok bool) {
	if len(msg) < 12+5 || be16(msg[4:6]) != 1 {
		return 0, 0, false
	}
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	off := 12
	for {
		if off >= len(msg) {
			return 0, 0, false
		}
		c := int(msg[off])
		if c == 0 {
			break
		}
		if c&0xc0 != 0 || off+1+c >= len(msg) || off+1+c-12 > 254 {
			return 0, 0, false
		}
		h = (h ^ uint64(c)) * prime64
		for _, b := range msg[off+1 : off+1+c] {
			if b-'A' < 26 {
				b += 'a' - 'A'
			}
			h = (h ^ uint64(b)) * prime64
		}
		off += 1 + c
	}
	if off+5 > len(msg) {
		return 0, 0, false
	}
	for _, b := range msg[off : off+5] {
		h = (h ^ uint64(b)) * prime64
	}
	return be16(msg[2:4]), h, true
}
