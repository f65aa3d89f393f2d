package pcap

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// openCapture opens a testdata file, unwrapping gzip.
func openCapture(t testing.TB, name string) io.Reader {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return zr
	}
	return bytes.NewReader(b)
}

// TestReadCorpus reads real captures. The expected numbers of DNS
// messages sent from the default ports (53, 5353, 5355) are tshark's:
//
//	tshark -r F -Y '(udp.srcport==53 || udp.srcport==5353 || udp.srcport==5355 ||
//	    tcp.srcport==53 || tcp.srcport==5353 || tcp.srcport==5355) && (dns || mdns || llmnr)'
func TestReadCorpus(t *testing.T) {
	tests := []struct {
		file     string
		packets  uint64
		messages int
	}{
		{"dnscap__dns.pcap", 133, 41},
		{"dnscap__dns6.pcap", 2, 1},
		{"dnscap__dnso1tcp.pcap", 212, 41},
		{"dnscap__edns.pcap", 14, 7},
		{"dnscap__sll2.pcap", 2, 1},
		{"dnscap__vlan11.pcap", 133, 41},
		{"gopacket__test_dns.pcap", 10, 0},
		{"gopassivedns__multiple_udp.pcap", 6, 3},
		{"tcpdump__LINKTYPE_RAW_ipv6.pcap", 1, 0},
		{"tcpdump__dns_tcp.pcap", 11, 1},
		{"tcpdump__edns-opts.pcap", 42, 21},
		{"zeek__dnssec__rrsig.pcap", 7, 3},
		{"zeek__wikipedia.pcap", 136, 18},
		{"derived__mixed-links.pcapng", 7, 3},
		{"derived__dnso1tcp.pcap.gz", 212, 41},
		{"derived__encapsulations.pcapng", 976, 854},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			d, g := newTestDecoder(Options{})
			if err := Read(context.Background(), openCapture(t, tc.file), d); err != nil {
				t.Fatal(err)
			}
			st := d.Stats()
			if st.Packets != tc.packets || len(g.msgs) != tc.messages {
				t.Errorf("packets %d messages %d, want %d %d (stats %+v)", st.Packets, len(g.msgs), tc.packets, tc.messages, st)
			}
			if st.MalformedTotal() != 0 {
				t.Errorf("malformed %v", st.Malformed)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	whole, err := os.ReadFile(filepath.Join("testdata", "dnscap__dns.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("not a capture", func(t *testing.T) {
		d, _ := newTestDecoder(Options{})
		if err := Read(context.Background(), strings.NewReader("hello world, this is text"), d); !errors.Is(err, ErrFormat) {
			t.Errorf("Read = %v, want ErrFormat", err)
		}
	})
	t.Run("cut inside a packet", func(t *testing.T) {
		d, g := newTestDecoder(Options{})
		err := Read(context.Background(), bytes.NewReader(whole[:len(whole)-30]), d)
		if !errors.Is(err, ErrTruncatedFile) {
			t.Errorf("Read = %v, want ErrTruncatedFile", err)
		}
		if len(g.msgs) < 40 {
			t.Errorf("only %d messages before the cut", len(g.msgs))
		}
	})
	t.Run("unknown link type", func(t *testing.T) {
		b := bytes.Clone(whole)
		b[20] = 147 // LINKTYPE_USER0
		d, _ := newTestDecoder(Options{})
		if err := Read(context.Background(), bytes.NewReader(b), d); !errors.Is(err, ErrLinkType) {
			t.Errorf("Read = %v, want ErrLinkType", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d, _ := newTestDecoder(Options{})
		if err := Read(ctx, bytes.NewReader(whole), d); !errors.Is(err, context.Canceled) {
			t.Errorf("Read = %v, want context.Canceled", err)
		}
	})
}

// ngFile builds a pcapng file block by block.
type ngFile struct {
	o binary.AppendByteOrder
	b []byte
}

func (g *ngFile) block(typ uint32, body []byte) *ngFile {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	g.b = g.o.AppendUint32(g.b, typ)
	g.b = g.o.AppendUint32(g.b, n)
	g.b = append(g.b, body...)
	g.b = g.o.AppendUint32(g.b, n)
	return g
}

func (g *ngFile) shb() *ngFile {
	body := g.o.AppendUint32(nil, 0x1a2b3c4d)
	body = g.o.AppendUint16(body, 1)
	body = g.o.AppendUint16(body, 0)
	body = g.o.AppendUint64(body, ^uint64(0))
	return g.block(0x0a0d0d0a, body)
}

// ngOpt is one option (code, value), padded.
func (g *ngFile) opt(code uint16, v []byte) []byte {
	b := g.o.AppendUint16(nil, code)
	b = g.o.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (g *ngFile) idb(lt uint16, snap uint32, opts ...[]byte) *ngFile {
	body := g.o.AppendUint16(nil, lt)
	body = g.o.AppendUint16(body, 0)
	body = g.o.AppendUint32(body, snap)
	for _, o := range opts {
		body = append(body, o...)
	}
	if len(opts) > 0 {
		body = append(body, 0, 0, 0, 0)
	}
	return g.block(1, body)
}

func (g *ngFile) epb(iface uint32, ts uint64, data []byte) *ngFile {
	body := g.o.AppendUint32(nil, iface)
	body = g.o.AppendUint32(body, uint32(ts>>32))
	body = g.o.AppendUint32(body, uint32(ts))
	body = g.o.AppendUint32(body, uint32(len(data)))
	body = g.o.AppendUint32(body, uint32(len(data)))
	return g.block(6, append(body, data...))
}

func (g *ngFile) spb(orig uint32, data []byte) *ngFile {
	return g.block(3, append(g.o.AppendUint32(nil, orig), data...))
}

func TestReadPcapng(t *testing.T) {
	msg := dnsMsg(40, 1)
	pkt := ipv4("192.0.2.53", "198.51.100.1", 17, 1, 0, false, udpSeg(53, 40000, msg))
	le := func() *ngFile { return (&ngFile{o: binary.LittleEndian}).shb() }
	const sec = 1700000000
	u8 := func(v byte) []byte { return []byte{v} }
	tests := []struct {
		name  string
		file  []byte
		times []int64 // of the messages
		lens  []int   // of the messages when not all whole
	}{
		{name: "microseconds by default", file: le().idb(LinkRaw, 0).epb(0, sec*1e6+123456, pkt).b, times: []int64{sec*1e9 + 123456000}},
		{name: "big-endian section", file: (&ngFile{o: binary.BigEndian}).shb().idb(LinkRaw, 0).epb(0, sec*1e6+1, pkt).b, times: []int64{sec*1e9 + 1000}},
		{name: "if_tsresol 10^-9", file: le().idb(LinkRaw, 0, le().opt(9, u8(9))).epb(0, sec*1e9+7, pkt).b, times: []int64{sec*1e9 + 7}},
		{name: "if_tsresol 10^-3", file: le().idb(LinkRaw, 0, le().opt(9, u8(3))).epb(0, sec*1e3+250, pkt).b, times: []int64{sec*1e9 + 250e6}},
		{name: "if_tsresol 2^-20", file: le().idb(LinkRaw, 0, le().opt(9, u8(0x80|20))).epb(0, sec<<20|1<<19, pkt).b, times: []int64{sec*1e9 + 5e8}},
		{name: "if_tsresol 2^-30 rounds down", file: le().idb(LinkRaw, 0, le().opt(9, u8(0x80|30))).epb(0, sec<<30|3, pkt).b, times: []int64{sec*1e9 + 2}},
		{name: "if_tsresol 10^-12", file: le().idb(LinkRaw, 0, le().opt(9, u8(12))).epb(0, 5e12+1234567, pkt).b, times: []int64{5e9 + 1234}},
		{name: "if_tsoffset", file: le().idb(LinkRaw, 0, le().opt(14, binary.LittleEndian.AppendUint64(nil, 3600))).epb(0, 5e6, pkt).b, times: []int64{3605e9}},
		{name: "resolution per interface", file: le().idb(LinkRaw, 0).idb(LinkRaw, 0, le().opt(9, u8(9))).epb(1, sec*1e9+9, pkt).epb(0, sec*1e6+9, pkt).b,
			times: []int64{sec*1e9 + 9, sec*1e9 + 9000}},
		{name: "simple packet block takes the last time", file: le().idb(LinkRaw, 0).epb(0, sec*1e6+5, pkt).spb(uint32(len(pkt)), pkt).b, times: []int64{sec*1e9 + 5000, sec*1e9 + 5000}},
		{name: "simple packet block cut to the snap length", file: le().idb(LinkRaw, uint32(len(pkt)-8)).spb(uint32(len(pkt)), pkt).b, times: []int64{0}, lens: []int{len(msg) - 8}},
		{name: "new section forgets interfaces", file: le().idb(LinkRaw, 0, le().opt(9, u8(9))).shb().idb(LinkRaw, 0).epb(0, sec*1e6, pkt).b, times: []int64{sec * 1e9}},
		{name: "other blocks skipped", file: le().block(0xbad, make([]byte, 100)).idb(LinkRaw, 0).block(5, make([]byte, 20)).epb(0, 1, pkt).b, times: []int64{1000}},
		{name: "obsolete packet block", file: le().idb(LinkRaw, 0).block(2, func() []byte {
			g := &ngFile{o: binary.LittleEndian}
			b := g.o.AppendUint16(nil, 0)
			b = g.o.AppendUint16(b, 0)
			b = g.o.AppendUint32(b, 0)
			b = g.o.AppendUint32(b, 77)
			b = g.o.AppendUint32(b, uint32(len(pkt)))
			b = g.o.AppendUint32(b, uint32(len(pkt)))
			return append(b, pkt...)
		}()).b, times: []int64{77000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, g := newTestDecoder(Options{})
			if err := Read(context.Background(), bytes.NewReader(tc.file), d); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.ts, tc.times) {
				t.Errorf("times %v, want %v", g.ts, tc.times)
			}
			for i, m := range g.msgs {
				want := len(msg)
				if tc.lens != nil {
					want = tc.lens[i]
				}
				if len(m) != want || !bytes.HasPrefix(msg, m) {
					t.Errorf("message %d: %d bytes, want %d", i, len(m), want)
				}
			}
		})
	}
}

func TestReadPcapngErrors(t *testing.T) {
	pkt := ipv4("192.0.2.53", "198.51.100.1", 17, 1, 0, false, udpSeg(53, 40000, dnsMsg(40, 1)))
	le := func() *ngFile { return (&ngFile{o: binary.LittleEndian}).shb() }
	good := le().idb(LinkRaw, 0).epb(0, 1, pkt).b
	patch := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	shbLen := 28
	tests := []struct {
		name     string
		file     []byte
		err      error
		text     string
		messages int
	}{
		{name: "huge block length", file: patch(good, shbLen+4, 553509542), err: ErrCorrupt, text: "bad block length 553509542"},
		{name: "block length not a multiple of 4", file: patch(good, shbLen+4, 22), err: ErrCorrupt, text: "bad block length 22"},
		{name: "block length below 12", file: patch(good, shbLen+4, 8), err: ErrCorrupt, text: "bad block length 8"},
		{name: "cut inside an interface block", file: le().idb(LinkRaw, 0).b[:shbLen+16], err: ErrTruncatedFile},
		{name: "trailing length differs", file: func() []byte {
			b := le().idb(LinkRaw, 0).epb(0, 1, pkt).b
			return patch(b, len(b)-4, 1000)
		}(), err: ErrCorrupt, text: "length 1000 at its end"},
		{name: "bad byte-order magic", file: patch(good, 8, 0x12345678), err: ErrCorrupt, text: "byte-order magic"},
		{name: "packet on an undeclared interface", file: le().idb(LinkRaw, 0).epb(3, 1, pkt).b, err: ErrCorrupt, text: "names interface 3"},
		{name: "packet before any interface", file: le().spb(10, make([]byte, 10)).b, err: ErrCorrupt},
		{name: "captured length past the block", file: func() []byte {
			b := le().idb(LinkRaw, 0).epb(0, 1, pkt).b
			return patch(b, shbLen+20+8+12, 5000)
		}(), err: ErrCorrupt, text: "captured length 5000"},
		{name: "unknown link type first", file: le().idb(147, 0).epb(0, 1, pkt).b, err: ErrLinkType, text: "link type 147"},
		{name: "unknown link type after a known one", file: le().idb(LinkRaw, 0).idb(147, 0).epb(1, 1, pkt).epb(0, 1, pkt).b, messages: 1},
		{name: "timestamp resolution 10^-20", file: le().idb(LinkRaw, 0, le().opt(9, []byte{20})).b, err: ErrCorrupt, text: "10^-20"},
		{name: "cut inside a packet", file: good[:len(good)-10], err: ErrTruncatedFile},
		{name: "cut inside a block header", file: good[:shbLen+20+5], err: ErrTruncatedFile},
		{name: "cut inside a skipped block", file: le().block(0xbad, make([]byte, 1000)).b[:shbLen+500], err: ErrTruncatedFile},
		{name: "section header only", file: le().b},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, g, err := readWant(t, tc.file, tc.err)
			if tc.text != "" && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
			if len(g.msgs) != tc.messages {
				t.Errorf("%d messages, want %d", len(g.msgs), tc.messages)
			}
			if tc.name == "unknown link type after a known one" && d.Stats().Malformed[LinkType] != 1 {
				t.Errorf("malformed %v: the packet of link type 147 not counted", d.Stats().Malformed)
			}
		})
	}
}

// readWant reads file and fails unless Read's error is want (nil or
// one of the package's errors).
func readWant(t *testing.T, file []byte, want error) (*Decoder, *got, error) {
	t.Helper()
	d, g := newTestDecoder(Options{})
	err := Read(context.Background(), bytes.NewReader(file), d)
	if !errors.Is(err, want) || (want == nil) != (err == nil) {
		t.Fatalf("Read = %v, want %v", err, want)
	}
	return d, g, err
}

// pcapFile builds a classic pcap file: magic (as written, little-endian
// unless be), link type, records.
func pcapFile(be bool, magic uint32, lt uint32, recs ...[]byte) []byte {
	o := orderOf(be)
	b := o.AppendUint32(nil, magic)
	b = o.AppendUint16(b, 2)
	b = o.AppendUint16(b, 4)
	b = o.AppendUint64(b, 0)
	b = o.AppendUint32(b, 65535)
	b = o.AppendUint32(b, lt)
	for _, r := range recs {
		b = append(b, r...)
	}
	return b
}

func orderOf(be bool) binary.AppendByteOrder {
	if be {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func pcapRecord(be bool, sec, frac uint32, extra int, data []byte) []byte {
	o := orderOf(be)
	b := o.AppendUint32(nil, sec)
	b = o.AppendUint32(b, frac)
	b = o.AppendUint32(b, uint32(len(data)))
	b = o.AppendUint32(b, uint32(len(data)))
	b = append(b, make([]byte, extra)...)
	return append(b, data...)
}

func TestReadPcapFormats(t *testing.T) {
	pkt := ipv4("192.0.2.53", "198.51.100.1", 17, 1, 0, false, udpSeg(53, 40000, dnsMsg(40, 1)))
	tests := []struct {
		name string
		file []byte
		ts   int64
		err  error
	}{
		{"microseconds", pcapFile(false, 0xa1b2c3d4, LinkRaw, pcapRecord(false, 10, 5, 0, pkt)), 10e9 + 5000, nil},
		{"big-endian", pcapFile(true, 0xa1b2c3d4, LinkRaw, pcapRecord(true, 10, 5, 0, pkt)), 10e9 + 5000, nil},
		{"nanoseconds", pcapFile(false, 0xa1b23c4d, LinkRaw, pcapRecord(false, 10, 5, 0, pkt)), 10e9 + 5, nil},
		{"nanoseconds big-endian", pcapFile(true, 0xa1b23c4d, LinkRaw, pcapRecord(true, 10, 5, 0, pkt)), 10e9 + 5, nil},
		{"Kuznetzov records", pcapFile(false, 0xa1b2cd34, LinkRaw, pcapRecord(false, 10, 5, 8, pkt)), 10e9 + 5000, nil},
		{"FCS bits in the link type", pcapFile(false, 0xa1b2c3d4, 0x10000000|LinkRaw, pcapRecord(false, 10, 5, 0, pkt)), 10e9 + 5000, nil},
		{"captured length too large", pcapFile(false, 0xa1b2c3d4, LinkRaw, func() []byte {
			r := pcapRecord(false, 10, 5, 0, pkt)
			binary.LittleEndian.PutUint32(r[8:], 553509542)
			return r
		}()), 0, ErrCorrupt},
		{"header cut", pcapFile(false, 0xa1b2c3d4, LinkRaw)[:20], 0, ErrTruncatedFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, g, _ := readWant(t, tc.file, tc.err)
			if tc.err != nil {
				return
			}
			if len(g.ts) != 1 || g.ts[0] != tc.ts {
				t.Errorf("times %v, want [%d]", g.ts, tc.ts)
			}
		})
	}
}
