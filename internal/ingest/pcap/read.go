package pcap

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrTruncatedFile: the file ended inside a packet record. Everything
// before it was decoded.
var ErrTruncatedFile = errors.New("pcap: file truncated inside a packet")

// IsCapture reports whether head (the first bytes of a file, gzip already
// removed) starts a pcap or pcapng file.
func IsCapture(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	switch binary.LittleEndian.Uint32(head) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a:
		return true
	}
	return false
}

// Read decodes every packet of a pcap or pcapng stream with d until EOF or
// ctx is done. The stream must not be gzip-compressed (the caller unwraps
// it). Packets of a link type the decoder does not know are counted as
// BadLink.
func Read(ctx context.Context, r io.Reader, d *Decoder) error {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 256<<10)
	}
	head, err := br.Peek(4)
	if err != nil || !IsCapture(head) {
		return ErrFormat
	}
	var (
		next  func() (data []byte, ts int64, lt int, err error)
		fixed int
	)
	if binary.LittleEndian.Uint32(head) == 0x0a0d0d0a {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return fmt.Errorf("pcap: pcapng header: %w", err)
		}
		next = func() ([]byte, int64, int, error) {
			data, ci, err := ng.ZeroCopyReadPacketData()
			if err != nil {
				return nil, 0, 0, err
			}
			lt := -1
			if len(ci.AncillaryData) > 0 {
				if l, ok := ci.AncillaryData[0].(layers.LinkType); ok {
					lt = int(l)
				}
			}
			return data, ci.Timestamp.UnixNano(), lt, nil
		}
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return fmt.Errorf("pcap: header: %w", err)
		}
		fixed = int(pr.LinkType())
		if !SupportedLink(fixed) {
			return fmt.Errorf("%w %d", ErrLinkType, fixed)
		}
		next = func() ([]byte, int64, int, error) {
			data, ci, err := pr.ZeroCopyReadPacketData()
			if err != nil {
				return nil, 0, 0, err
			}
			return data, ci.Timestamp.UnixNano(), fixed, nil
		}
	}
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		data, ts, lt, err := next()
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			return ErrTruncatedFile
		case err != nil:
			return fmt.Errorf("pcap: packet %d: %w", n+1, err)
		}
		if err := d.Packet(ts, lt, data); err != nil {
			return err
		}
	}
}
