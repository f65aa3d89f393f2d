package pcap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrTruncatedFile: the file ended inside a packet record. Everything
// before it was decoded.
var ErrTruncatedFile = errors.New("pcap: file truncated inside a packet")

// File magics, read as little-endian.
const (
	magicMicro     = 0xa1b2c3d4 // pcap, microseconds
	magicMicroSwap = 0xd4c3b2a1
	magicNano      = 0xa1b23c4d // pcap, nanoseconds
	magicNanoSwap  = 0x4d3cb2a1
	magicKuznetzov = 0xa1b2cd34 // pcap with Alexey Kuznetzov's longer records
	magicKuzSwap   = 0x34cdb2a1
	magicNG        = 0x0a0d0d0a // pcapng section header block
)

// IsCapture reports whether head (the first bytes of a file, gzip already
// removed) starts a pcap or pcapng file.
func IsCapture(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	switch binary.LittleEndian.Uint32(head) {
	case magicMicro, magicMicroSwap, magicNano, magicNanoSwap, magicKuznetzov, magicKuzSwap, magicNG:
		return true
	}
	return false
}

// Bounds of the readers: a pcap record may hold at most the larger of the
// file's snap length and maxSnap (tcpdump's largest snap length), never
// more than maxBlock; a pcapng block at most maxBlock. Larger values are
// corruption, reported instead of read.
const (
	maxSnap  = 256 << 10
	maxBlock = 16 << 20
)

// Read decodes every packet of a pcap or pcapng stream with d until EOF or
// ctx is done. The stream must not be gzip-compressed (the caller unwraps
// it). A pcap file of an unknown link type fails with ErrLinkType before
// anything is decoded; in a pcapng file, packets on an interface of an
// unknown link type are counted (Reason LinkType) unless no interface of a
// known one came before them, which fails with ErrLinkType. A file cut
// inside a packet fails with ErrTruncatedFile, a broken structure with
// ErrCorrupt, both after decoding everything before.
func Read(ctx context.Context, r io.Reader, d *Decoder) error {
	f := &fileReader{r: r, buf: make([]byte, 256<<10)}
	head, err := f.peek(4)
	if err != nil || !IsCapture(head) {
		return ErrFormat
	}
	if binary.LittleEndian.Uint32(head) == magicNG {
		ng := &ngReader{f: f, d: d}
		return ng.read(ctx)
	}
	return readPcap(ctx, f, d)
}

// readPcap reads the classic format: a 24-byte header, then records of a
// 16-byte header (24 in Kuznetzov's variant) and the captured bytes.
func readPcap(ctx context.Context, f *fileReader, d *Decoder) error {
	h, err := f.peek(24)
	if err != nil {
		return readErr(err, "pcap header")
	}
	var (
		order  binary.ByteOrder = binary.LittleEndian
		fracNs int64            = 1000
		rec                     = 16
	)
	switch binary.LittleEndian.Uint32(h) {
	case magicMicroSwap:
		order = binary.BigEndian
	case magicNano:
		fracNs = 1
	case magicNanoSwap:
		order, fracNs = binary.BigEndian, 1
	case magicKuznetzov:
		rec = 24
	case magicKuzSwap:
		order, rec = binary.BigEndian, 24
	}
	snaplen := order.Uint32(h[16:20])
	lt := int(order.Uint32(h[20:24]) & 0x03ffffff) // the upper bits describe the FCS
	if !SupportedLink(lt) {
		return fmt.Errorf("%w %d", ErrLinkType, lt)
	}
	limit := maxSnap
	if snaplen > maxSnap {
		limit = int(min(snaplen, maxBlock))
	}
	f.discard(24)
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		at := f.offset()
		rh, err := f.peek(rec)
		if err != nil {
			return readErr(err, "")
		}
		sec := int64(order.Uint32(rh[0:4]))
		frac := int64(order.Uint32(rh[4:8]))
		incl := int(order.Uint32(rh[8:12]))
		if incl > limit {
			return fmt.Errorf("%w: packet %d at byte %d: captured length %d is more than %d", ErrCorrupt, n+1, at, uint32(incl), limit)
		}
		p, err := f.peek(rec + incl)
		if err != nil {
			return readErr(err, "")
		}
		f.discard(rec + incl)
		if err := d.Packet(sec*1e9+frac*fracNs, lt, p[rec:]); err != nil {
			return err
		}
	}
}

// readErr maps the end of the input to the package's errors: nil at a
// clean end, ErrTruncatedFile inside a record.
func readErr(err error, what string) error {
	switch {
	case err == io.EOF && what == "":
		return nil
	case err == io.EOF, errors.Is(err, io.ErrUnexpectedEOF):
		return ErrTruncatedFile
	}
	return err
}

// fileReader reads a capture in large chunks and hands out views of its
// buffer, so that packets are never copied. A view is valid until the
// next peek.
type fileReader struct {
	r        io.Reader
	buf      []byte
	pos, end int
	off      int64 // file offset of buf[0]
	err      error // sticky error of r
}

// peek returns the next n bytes without consuming them: io.EOF when the
// input has ended at this point, io.ErrUnexpectedEOF when it ended with
// fewer than n bytes.
func (f *fileReader) peek(n int) ([]byte, error) {
	if f.end-f.pos >= n {
		return f.buf[f.pos : f.pos+n], nil
	}
	copy(f.buf, f.buf[f.pos:f.end])
	f.off += int64(f.pos)
	f.end -= f.pos
	f.pos = 0
	for f.end < n && f.err == nil {
		if f.end == len(f.buf) {
			// Grow as the data comes, not as a length field says: a
			// lying length in a short file costs nothing.
			f.buf = append(f.buf, make([]byte, min(len(f.buf), n-f.end))...)
		}
		m, err := f.r.Read(f.buf[f.end:])
		f.end += m
		if err != nil {
			f.err = err
		}
	}
	switch {
	case f.end >= n:
		return f.buf[:n], nil
	case f.err == io.EOF && f.end == 0:
		return nil, io.EOF
	case f.err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	}
	return nil, f.err
}

// discard consumes n bytes that peek returned.
func (f *fileReader) discard(n int) { f.pos += n }

// skip consumes n bytes without holding them in the buffer.
func (f *fileReader) skip(n int) error {
	if f.end-f.pos >= n {
		f.pos += n
		return nil
	}
	n -= f.end - f.pos
	f.off += int64(f.end)
	f.pos, f.end = 0, 0
	if f.err != nil {
		return io.ErrUnexpectedEOF
	}
	m, err := io.CopyN(io.Discard, f.r, int64(n))
	f.off += m
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		f.err = err
		return err
	}
	return nil
}

// offset is the file offset of the next byte.
func (f *fileReader) offset() int64 { return f.off + int64(f.pos) }
