package pcap

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// pcapng (draft-ietf-opsawg-pcapng): sections, each with its byte order,
// interfaces with their link type, snap length, timestamp resolution
// (if_tsresol, a power of 10 or of 2) and offset (if_tsoffset, seconds),
// and packets in enhanced, simple and (obsolete) packet blocks. A simple
// packet block has no timestamp: it takes the time of the packet before
// it. Other blocks are skipped. Block lengths are checked (at least 12, a
// multiple of 4, at most maxBlock, the same at both ends): a broken file
// is reported with the offset of the bad block, not misread.

const (
	ngSHB = 0x0a0d0d0a // section header
	ngIDB = 1          // interface description
	ngPB  = 2          // packet (obsolete)
	ngSPB = 3          // simple packet
	ngEPB = 6          // enhanced packet
)

// maxInterfaces bounds the interfaces of one section.
const maxInterfaces = 1 << 16

type ngIface struct {
	lt     int
	snap   uint32
	units  uint64 // timestamp units per second
	mult   int64  // nanoseconds per unit when units divides 1e9, else 0
	offset int64  // seconds added to every timestamp
	known  bool   // SupportedLink(lt)
}

// time converts a timestamp of the interface to Unix nanoseconds.
func (i *ngIface) time(ts uint64) int64 {
	var ns int64
	if i.mult != 0 {
		ns = int64(ts) * i.mult
	} else {
		sec, frac := ts/i.units, ts%i.units
		hi, lo := bits.Mul64(frac, 1e9)
		q, _ := bits.Div64(hi, lo, i.units) // hi < units: no overflow
		ns = int64(sec)*1e9 + int64(q)
	}
	return ns + i.offset*1e9
}

type ngReader struct {
	f       *fileReader
	d       *Decoder
	order   binary.ByteOrder
	ifaces  []ngIface
	last    int64 // time of the last packet with one (ns)
	known   bool  // an interface of a known link type was declared
	packets int
}

func (r *ngReader) read(ctx context.Context) error {
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		at := r.f.offset()
		h, err := r.f.peek(12) // every block has at least 12 bytes
		if err != nil {
			return readErr(err, "")
		}
		typ := r.order32(h[0:4])
		if typ == ngSHB {
			switch binary.LittleEndian.Uint32(h[8:12]) {
			case 0x1a2b3c4d:
				r.order = binary.LittleEndian
			case 0x4d3c2b1a:
				r.order = binary.BigEndian
			default:
				return fmt.Errorf("%w: section header at byte %d: bad byte-order magic %#x", ErrCorrupt, at, h[8:12])
			}
		}
		length := int(r.order.Uint32(h[4:8]))
		if length < 12 || length%4 != 0 || length > maxBlock || typ == ngSHB && length < 28 {
			return fmt.Errorf("%w: pcapng block of type %#x at byte %d: bad block length %d", ErrCorrupt, typ, at, uint32(length))
		}
		switch typ {
		case ngSHB, ngIDB, ngPB, ngSPB, ngEPB:
		default:
			if err := r.f.skip(length); err != nil {
				return readErr(err, "block")
			}
			continue
		}
		b, err := r.f.peek(length)
		if err != nil {
			return readErr(err, "block")
		}
		if tl := int(r.order.Uint32(b[length-4:])); tl != length {
			return fmt.Errorf("%w: pcapng block of type %#x at byte %d: length %d at its end, %d at its start", ErrCorrupt, typ, at, uint32(tl), length)
		}
		body := b[8 : length-4]
		r.f.discard(length)
		if err := r.block(typ, body, at); err != nil {
			return err
		}
	}
}

func (r *ngReader) order32(b []byte) uint32 {
	if r.order == nil {
		return binary.LittleEndian.Uint32(b)
	}
	return r.order.Uint32(b)
}

// block handles one block's body.
func (r *ngReader) block(typ uint32, body []byte, at int64) error {
	o := r.order
	switch typ {
	case ngSHB:
		if major := o.Uint16(body[4:6]); major != 1 {
			return fmt.Errorf("%w: section header at byte %d: pcapng version %d", ErrCorrupt, at, major)
		}
		r.ifaces = r.ifaces[:0]
	case ngIDB:
		if len(body) < 8 {
			return fmt.Errorf("%w: interface block at byte %d too short", ErrCorrupt, at)
		}
		if len(r.ifaces) == maxInterfaces {
			return fmt.Errorf("%w: more than %d interfaces in a section", ErrCorrupt, maxInterfaces)
		}
		i, err := r.iface(body, at)
		if err != nil {
			return err
		}
		r.known = r.known || i.known
		r.ifaces = append(r.ifaces, i)
	case ngEPB, ngPB:
		if len(body) < 20 {
			return fmt.Errorf("%w: packet block at byte %d too short", ErrCorrupt, at)
		}
		id := int(o.Uint32(body[0:4]))
		if typ == ngPB {
			id = int(o.Uint16(body[0:2]))
		}
		caplen := int(o.Uint32(body[12:16]))
		if caplen > len(body)-20 {
			return fmt.Errorf("%w: packet block at byte %d: captured length %d exceeds the block", ErrCorrupt, at, uint32(caplen))
		}
		if id >= len(r.ifaces) {
			return r.noIface(id, at)
		}
		i := &r.ifaces[id]
		r.last = i.time(uint64(o.Uint32(body[4:8]))<<32 | uint64(o.Uint32(body[8:12])))
		return r.packet(i, r.last, body[20:20+caplen])
	case ngSPB:
		if len(body) < 4 {
			return fmt.Errorf("%w: simple packet block at byte %d too short", ErrCorrupt, at)
		}
		if len(r.ifaces) == 0 {
			return r.noIface(0, at)
		}
		i := &r.ifaces[0]
		caplen := min(int(o.Uint32(body[0:4])), len(body)-4)
		if i.snap > 0 && uint64(caplen) > uint64(i.snap) {
			caplen = int(i.snap)
		}
		return r.packet(i, r.last, body[4:4+caplen])
	}
	return nil
}

func (r *ngReader) noIface(id int, at int64) error {
	return fmt.Errorf("%w: packet block at byte %d names interface %d, the section declares %d", ErrCorrupt, at, id, len(r.ifaces))
}

func (r *ngReader) packet(i *ngIface, ts int64, data []byte) error {
	if !i.known && !r.known {
		return fmt.Errorf("%w %d", ErrLinkType, i.lt)
	}
	return r.d.Packet(ts, i.lt, data)
}

// iface reads an interface description block's body.
func (r *ngReader) iface(body []byte, at int64) (ngIface, error) {
	o := r.order
	i := ngIface{lt: int(o.Uint16(body[0:2])), snap: o.Uint32(body[4:8]), units: 1e6, mult: 1e3}
	i.known = SupportedLink(i.lt)
	opts := body[8:]
	for len(opts) >= 4 {
		code := o.Uint16(opts[0:2])
		n := int(o.Uint16(opts[2:4]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		v := opts[4 : 4+n]
		switch {
		case code == 9 && n >= 1: // if_tsresol
			e := v[0] & 0x7f
			if v[0]&0x80 != 0 {
				if e > 63 {
					return i, fmt.Errorf("%w: interface block at byte %d: timestamp resolution 2^-%d", ErrCorrupt, at, e)
				}
				i.units = 1 << e
			} else {
				if e > 19 {
					return i, fmt.Errorf("%w: interface block at byte %d: timestamp resolution 10^-%d", ErrCorrupt, at, e)
				}
				i.units = 1
				for range e {
					i.units *= 10
				}
			}
			i.mult = 0
			if 1e9%i.units == 0 {
				i.mult = int64(1e9 / i.units)
			}
		case code == 14 && n >= 8: // if_tsoffset
			i.offset = int64(o.Uint64(v))
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	return i, nil
}
