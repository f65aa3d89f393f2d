package pcap

import (
	"bytes"
	"slices"
)

// IP fragment reassembly for IPv4 and IPv6 (RFC 791, RFC 8200 4.5). A
// datagram is rebuilt when its last fragment is known and every byte up to
// it has arrived. Overlapping fragments that disagree make the whole
// datagram invalid (RFC 5722); an exact duplicate is ignored. Memory is
// bounded by Options.FragmentMemory and time by Options.FragmentTimeout,
// both measured on the capture clock.

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    byte
	v6       bool
}

type fragPart struct {
	off  int
	data []byte
}

type fragDatagram struct {
	key   fragKey
	first int64 // capture time of the first fragment (ns)
	parts []fragPart
	end   int // total payload length; -1 until the last fragment is seen
	have  int // payload bytes held
	dead  bool
}

type fragTable struct {
	m       map[fragKey]*fragDatagram
	queue   []*fragDatagram // arrival order, for expiry and eviction
	bytes   int
	max     int
	timeout int64
	out     []byte
}

// maxDatagram is the largest IP payload reassembly accepts.
const maxDatagram = 65535

// maxFragments bounds the fragments of one datagram (a 64 KiB datagram in
// 1280-byte fragments needs 52); more is an attack or garbage.
const maxFragments = 128

func (t *fragTable) init(maxBytes int, timeout int64) {
	t.m = make(map[fragKey]*fragDatagram)
	t.max = maxBytes
	t.timeout = timeout
}

func (t *fragTable) drop(g *fragDatagram) {
	if g.dead {
		return
	}
	g.dead = true
	g.parts = nil
	t.bytes -= g.have
	delete(t.m, g.key)
}

// expire drops datagrams that are too old or, while over budget, the
// oldest.
func (t *fragTable) expire(d *Decoder, incoming int) {
	i := 0
	for ; i < len(t.queue); i++ {
		g := t.queue[i]
		if g.dead {
			continue
		}
		if d.now-g.first <= t.timeout && t.bytes+incoming <= t.max {
			break
		}
		t.drop(g)
		d.bad(FragDropped)
	}
	if i > 0 {
		t.queue = append(t.queue[:0], t.queue[i:]...)
	}
	if len(t.queue) > 2*len(t.m)+64 {
		t.queue = slices.DeleteFunc(t.queue, func(g *fragDatagram) bool { return g.dead })
	}
}

// add stores one fragment with payload data at byte offset off; more is
// the More Fragments flag. It returns the whole payload when this fragment
// completed the datagram; the slice is valid until the next call.
func (t *fragTable) add(d *Decoder, key fragKey, off int, more bool, data []byte) ([]byte, bool) {
	t.expire(d, len(data))
	g := t.m[key]
	if g == nil {
		g = &fragDatagram{key: key, first: d.now, end: -1}
		t.m[key] = g
		t.queue = append(t.queue, g)
	}
	end := off + len(data)
	switch {
	case end > maxDatagram,
		more && len(data)%8 != 0,
		more && len(data) == 0,
		g.end >= 0 && end > g.end,
		!more && g.end >= 0 && end != g.end:
		t.drop(g)
		d.bad(FragOverlap)
		return nil, false
	}
	// parts are kept sorted by offset: only the neighbours can overlap.
	i, _ := slices.BinarySearchFunc(g.parts, off, func(p fragPart, o int) int { return p.off - o })
	for _, k := range []int{i - 1, i} {
		if k < 0 || k >= len(g.parts) {
			continue
		}
		p := g.parts[k]
		if off >= p.off+len(p.data) || end <= p.off {
			continue
		}
		if p.off == off && bytes.Equal(p.data, data) {
			return nil, false // duplicate of a fragment we hold
		}
		t.drop(g)
		d.bad(FragOverlap)
		return nil, false
	}
	if len(g.parts) >= maxFragments {
		t.drop(g)
		d.bad(FragOverlap)
		return nil, false
	}
	if !more {
		if n := len(g.parts); n > 0 && g.parts[n-1].off+len(g.parts[n-1].data) > end {
			t.drop(g)
			d.bad(FragOverlap)
			return nil, false
		}
		g.end = end
	}
	g.parts = slices.Insert(g.parts, i, fragPart{off: off, data: append([]byte(nil), data...)})
	g.have += len(data)
	t.bytes += len(data)
	if g.end < 0 || g.have != g.end {
		return nil, false
	}
	// No overlaps and every byte up to end present: copy out.
	if cap(t.out) < g.end {
		t.out = make([]byte, maxDatagram)
	}
	out := t.out[:g.end]
	for _, p := range g.parts {
		copy(out[p.off:], p.data)
	}
	t.drop(g)
	return out, true
}
