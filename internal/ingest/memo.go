package ingest

// The walker's name memo. In a response most names are compression
// pointers to names decompressed just before: every record's owner points
// at the question or at a zone in it, glue owners at the name servers'
// names. appendName follows such a pointer and walks and lower-cases the
// labels again; with the memo, a name or a suffix of one that was
// decompressed earlier in the same message is one copy of lower-cased
// bytes.
//
// The memo maps a message offset at which a label was read to where the
// rest of that name (from the label on) sits in walker.names, with what a
// fresh decompression from that offset would have met: its pointers and
// the offset after it in the message. So a hit gives the same bytes, the
// same offset and the same errors (name length, pointer count) as
// appendName, which stays the reference (FuzzNameMemo compares them).
//
// Only offsets a pointer can reach (below 1<<14) are kept. Entries carry
// the message's generation: a new message, or names dropped from
// walker.names, forget them all with one increment.

// memoSize is the number of offsets a compression pointer can reach.
const memoSize = 1 << 14

type nameMemo struct {
	gen  uint32
	ents [memoSize]memoEnt
}

// memoEnt: the name from an offset is names[start:start+n], reached
// through ptrs pointers; next is the offset after it in the message.
type memoEnt struct {
	gen   uint32
	start uint32
	next  uint16
	n     uint8
	ptrs  uint8
}

// memoLabel is a label read by the current call of walker.name: its
// offset in the message, its place in the output and the pointers
// followed before it.
type memoLabel struct {
	off, pos uint32
	ptrs     uint8
}

// forget drops every entry: the next message, or names truncated away.
func (m *nameMemo) forget() {
	m.gen++
	if m.gen == 0 { // wrapped: entries of generation 0 would look valid
		m.ents = [memoSize]memoEnt{}
		m.gen = 1
	}
}

// name is appendName using the memo. With keep, dst is w.names and the
// labels read are remembered for the names that follow.
func (w *walker) name(dst, msg []byte, off int, keep bool) ([]byte, int, wireErr) {
	m := w.memo
	if m == nil || len(msg) > 0xffff || w.noMemo {
		// Before a walk, for the reference, or where offsets would not
		// fit the entries.
		return appendName(dst, msg, off)
	}
	if off < memoSize {
		if e := &m.ents[off]; e.gen == m.gen {
			return append(dst, w.names[e.start:e.start+uint32(e.n)]...), int(e.next), wireOK
		}
	}
	start := len(dst)
	next := -1
	ptrs := 0
	w.labels = w.labels[:0]
	w.ptrAt = w.ptrAt[:0]
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
				if keep {
					w.remember(dst, ptrs, off+1)
				}
				return dst, next, wireOK
			}
			if off+1+c > len(msg) || len(dst)-start+1+c >= maxNameWire {
				return dst[:start], 0, errName
			}
			if keep {
				w.labels = append(w.labels, memoLabel{off: uint32(off), pos: uint32(len(dst)), ptrs: uint8(ptrs)})
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
			w.ptrAt = append(w.ptrAt, uint16(off))
			off = (c&0x3f)<<8 | int(msg[off+1])
			if e := &m.ents[off]; e.gen == m.gen {
				// The rest is a name read before: the checks appendName
				// would make on its labels come down to these two.
				if ptrs+int(e.ptrs) > maxPointers || len(dst)-start+int(e.n) > maxNameWire {
					return dst[:start], 0, errName
				}
				dst = append(dst, w.names[e.start:e.start+uint32(e.n)]...)
				if keep {
					w.remember(dst, ptrs+int(e.ptrs), 0)
				}
				return dst, next, wireOK
			}
		default:
			return dst[:start], 0, errName
		}
	}
}

// pointedName finds the name at off in the memo when it is a single
// pointer to a name read before (the owner of most records): its place in
// w.names and the offset after it; next is 0 when it is not, and name must
// read it.
func (w *walker) pointedName(msg []byte, off int) (start, end, next int) {
	m := w.memo
	if m == nil || w.noMemo || len(msg) > 0xffff || off+1 >= len(msg) || msg[off]&0xc0 != 0xc0 {
		return 0, 0, 0
	}
	e := &m.ents[int(msg[off]&0x3f)<<8|int(msg[off+1])]
	if e.gen != m.gen || 1+int(e.ptrs) > maxPointers {
		return 0, 0, 0
	}
	return int(e.start), int(e.start) + int(e.n), off + 2
}

// remember records the labels of the name just read, which ends dst:
// ptrs pointers were followed in all, and end is the offset after its
// root label (0 when the name ended in a memo entry, whose labels all come
// before a pointer).
func (w *walker) remember(dst []byte, ptrs, end int) {
	m := w.memo
	for _, l := range w.labels {
		if l.off >= memoSize {
			continue
		}
		// The name from this label runs on literally to the next pointer
		// read after it, or to the root label.
		next := end
		if int(l.ptrs) < len(w.ptrAt) {
			next = int(w.ptrAt[l.ptrs]) + 2
		}
		m.ents[l.off] = memoEnt{gen: m.gen, start: l.pos, next: uint16(next),
			n: uint8(len(dst) - int(l.pos)), ptrs: uint8(ptrs - int(l.ptrs))}
	}
}

// truncateNames drops w.names from n on, and with them the memo.
func (w *walker) truncateNames(n int) {
	w.names = w.names[:n]
	w.memo.forget()
}
