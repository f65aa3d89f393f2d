package pcap

import (
	"encoding/binary"
	"slices"
	"sync/atomic"
)

// DNS over TCP (RFC 7766): each message is preceded by a two-byte length.
// Only the direction sent from a DNS port is reassembled. A stream starts
// at its SYN, or at the first segment seen when the capture began
// mid-connection. Segments before the expected sequence number are
// retransmissions (only their new bytes are used); segments after it wait
// (bounded by Options.StreamBuffer) until the gap fills. A FIN or RST ends
// the stream; idle streams time out on the capture clock.

type flowKey struct {
	src, dst     [16]byte
	sport, dport uint16
	v6           bool
}

// maxSegments bounds the out-of-order segments one stream holds.
const maxSegments = 512

type segment struct {
	seq  uint32
	data []byte
}

type stream struct {
	next uint32    // sequence number of the next in-order byte
	buf  []byte    // in-order bytes not yet consumed (a partial message)
	ooo  []segment // out-of-order segments, unsorted
	held int       // bytes in ooo
	fin  bool      // FIN seen while segments were still missing
	last int64     // capture time of the last segment (ns)
	port uint16    // the server port
}

type streamTable struct {
	m         map[flowKey]*stream
	max       int
	timeout   int64
	maxOOO    int
	lastSweep int64
	bytes     int // held in all streams' buf and ooo
	maxBytes  int
}

func (t *streamTable) init(max int, timeout int64, maxOOO, maxBytes int) {
	t.m = make(map[flowKey]*stream)
	t.maxBytes = maxBytes
	t.max = max
	t.timeout = timeout
	t.maxOOO = maxOOO
}

// seqDiff is a - b in sequence space (RFC 1982 style): negative when a
// is before b.
func seqDiff(a, b uint32) int32 { return int32(a - b) }

func (d *Decoder) tcp(src, dst *[16]byte, p []byte, truncated, v6 bool) {
	if len(p) < 20 {
		d.badOrCut(BadTCP, truncated)
		return
	}
	sport := binary.BigEndian.Uint16(p[0:2])
	if !d.isPort(sport) {
		d.ignore()
		return
	}
	doff := int(p[12]>>4) * 4
	if doff < 20 || doff > len(p) {
		d.badOrCut(BadTCP, truncated)
		return
	}
	key := flowKey{src: *src, dst: *dst, sport: sport, dport: binary.BigEndian.Uint16(p[2:4]), v6: v6}
	seq := binary.BigEndian.Uint32(p[4:8])
	flags := p[13]
	payload := p[doff:]
	t := &d.streams
	d.sweepStreams()
	s := t.m[key]
	if flags&0x04 != 0 { // RST
		if s != nil {
			d.endStream(key, s, false)
		}
		return
	}
	if truncated {
		// The segment's data is incomplete: the stream cannot continue.
		d.bad(Truncated)
		if s != nil {
			d.endStream(key, s, true)
		}
		return
	}
	if flags&0x02 != 0 { // SYN
		if s != nil {
			d.endStream(key, s, false)
		}
		s = &stream{next: seq + 1, port: sport}
		t.m[key] = s
		seq++
	}
	if s == nil {
		if len(payload) == 0 {
			return
		}
		// Mid-stream pickup: trust that the segment starts a message.
		s = &stream{next: seq, port: sport}
		t.m[key] = s
	}
	if len(t.m) > t.max {
		d.evictStreams()
		if t.m[key] == nil {
			return
		}
	}
	s.last = d.now
	if len(payload) > 0 {
		d.segment(key, s, seq, payload)
		if t.m[key] != s {
			return // dropped while handling the data
		}
	}
	if flags&0x01 != 0 { // FIN
		if len(s.ooo) == 0 {
			d.endStream(key, s, false)
		} else {
			s.fin = true
		}
	}
}

// segment places one segment's data in the stream.
func (d *Decoder) segment(key flowKey, s *stream, seq uint32, data []byte) {
	off := seqDiff(seq, s.next)
	if off < 0 {
		if int(-off) >= len(data) {
			atomic.AddUint64(&d.stats.Retransmissions, 1)
			return
		}
		data = data[-off:]
		off = 0
	}
	if off > 0 {
		// Keep ooo sorted by sequence number: insertion is a binary
		// search, draining takes from the front.
		i, found := slices.BinarySearchFunc(s.ooo, seq, func(o segment, q uint32) int { return int(seqDiff(o.seq, q)) })
		if found && len(s.ooo[i].data) >= len(data) {
			atomic.AddUint64(&d.stats.Retransmissions, 1)
			return
		}
		if s.held+len(data) > d.streams.maxOOO || len(s.ooo) >= maxSegments || d.streams.bytes+len(data) > d.streams.maxBytes {
			d.bad(TCPGap)
			d.endStream(key, s, true)
			return
		}
		s.ooo = slices.Insert(s.ooo, i, segment{seq: seq, data: append([]byte(nil), data...)})
		s.held += len(data)
		d.streams.bytes += len(data)
		return
	}
	if d.streams.bytes+len(data) > d.streams.maxBytes {
		d.bad(TCPGap)
		d.endStream(key, s, true)
		return
	}
	d.appendStream(s, data)
	// Drain waiting segments that now fit (they are sorted).
	n := 0
	for ; n < len(s.ooo); n++ {
		o := s.ooo[n]
		off := seqDiff(o.seq, s.next)
		if off > 0 {
			break
		}
		s.held -= len(o.data)
		d.streams.bytes -= len(o.data)
		if int(-off) < len(o.data) {
			d.appendStream(s, o.data[-off:])
		} else {
			atomic.AddUint64(&d.stats.Retransmissions, 1)
		}
		if d.streams.m[key] != s {
			return // the handler's error ended nothing, but be safe
		}
	}
	if n > 0 {
		s.ooo = slices.Delete(s.ooo, 0, n)
	}
	if len(s.ooo) == 0 && s.fin {
		d.endStream(key, s, false)
	}
}

// appendStream adds in-order bytes and emits every complete message.
func (d *Decoder) appendStream(s *stream, data []byte) {
	d.streams.bytes -= len(s.buf)
	defer func() { d.streams.bytes += len(s.buf) }()
	s.next += uint32(len(data))
	b := data
	if len(s.buf) > 0 {
		s.buf = append(s.buf, data...)
		b = s.buf
	}
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		if n == 0 {
			d.bad(TCPBadLength)
			b = b[2:]
			continue
		}
		if len(b) < 2+n {
			break
		}
		atomic.AddUint64(&d.stats.Messages, 1)
		atomic.AddUint64(&d.stats.TCPMessages, 1)
		d.emit(b[2:2+n], s.port, true, false)
		b = b[2+n:]
	}
	switch {
	case len(b) == 0:
		if cap(s.buf) > 4096 {
			s.buf = nil
		} else {
			s.buf = s.buf[:0]
		}
	case len(s.buf) == 0:
		s.buf = append(s.buf, b...)
	default:
		s.buf = append(s.buf[:0], b...) // copy within: b is a suffix of s.buf
	}
}

// endStream forgets a stream. Unless the caller has counted the loss
// already (counted), data still waiting is counted as a gap.
func (d *Decoder) endStream(key flowKey, s *stream, counted bool) {
	if !counted && (len(s.ooo) > 0 || len(s.buf) > 0) {
		d.bad(TCPGap)
	}
	d.streams.bytes -= len(s.buf) + s.held
	delete(d.streams.m, key)
}

// sweepStreams drops idle streams once per timeout period of capture time.
func (d *Decoder) sweepStreams() {
	t := &d.streams
	if d.now-t.lastSweep < t.timeout {
		return
	}
	t.lastSweep = d.now
	for k, s := range t.m {
		if d.now-s.last > t.timeout {
			d.endStream(k, s, false)
		}
	}
}

// evictStreams makes room when too many streams are open: first the idle
// half of the timeout, then arbitrary ones, down to 90% of the limit.
func (d *Decoder) evictStreams() {
	t := &d.streams
	for k, s := range t.m {
		if d.now-s.last > t.timeout/2 {
			d.endStream(k, s, false)
		}
	}
	for k, s := range t.m {
		if len(t.m) <= t.max*9/10 {
			break
		}
		d.endStream(k, s, false)
	}
	d.log.Debug("tcp streams evicted", "open", len(t.m))
}
