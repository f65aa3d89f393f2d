package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// Packet builders for tests. Checksums are left zero: the decoder does not
// verify them (offloading makes captured checksums unreliable).

func udpSeg(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

const (
	fSYN = 0x02
	fFIN = 0x01
	fRST = 0x04
	fACK = 0x10
	fPSH = 0x08
)

func tcpSeg(sport, dport uint16, seq uint32, flags byte, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], seq)
	b[12] = 5 << 4
	b[13] = flags | fACK
	return append(b, payload...)
}

// ipv4 builds a header for payload; off is the fragment offset in bytes.
func ipv4(src, dst string, proto byte, id uint16, off int, mf bool, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(b[4:], id)
	fo := uint16(off / 8)
	if mf {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], fo)
	b[8] = 64
	b[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	return append(b, payload...)
}

// ipv6 builds a header; ext are extension headers given as (type, body)
// pairs already padded, chained in order before proto.
func ipv6(src, dst string, proto byte, payload []byte, ext ...[]byte) []byte {
	var chain []byte
	next := proto
	for i := len(ext) - 1; i >= 0; i-- {
		h := slices.Clone(ext[i])
		nh := h[0]
		h[0] = next
		next = nh
		chain = append(h, chain...)
	}
	b := make([]byte, 40, 40+len(chain)+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(chain)+len(payload)))
	b[6] = next
	b[7] = 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	b = append(b, chain...)
	return append(b, payload...)
}

// ext6 is an extension header of type typ (its first byte is replaced by
// the chain's next header) with n 8-byte units.
func ext6(typ byte, units int) []byte {
	b := make([]byte, 8*units)
	b[0] = typ
	b[1] = byte(units - 1)
	return b
}

// frag6 is a fragment header (type 44) for offset off.
func frag6(off int, more bool, id uint32) []byte {
	b := make([]byte, 8)
	b[0] = 44
	v := uint16(off)
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(b[2:], v)
	binary.BigEndian.PutUint32(b[4:], id)
	return b
}

func eth(etype uint16, payload []byte, vlans ...uint16) []byte {
	b := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}
	for _, tpid := range vlans {
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, 11) // TCI: VLAN 11
	}
	b = binary.BigEndian.AppendUint16(b, etype)
	return append(b, payload...)
}

// dnsMsg is a stand-in DNS message: the decoder passes bytes through.
func dnsMsg(n int, tag byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = tag + byte(i)
	}
	return b
}

type got struct {
	msgs [][]byte
	ts   []int64
	meta []Message // without Data
}

func newTestDecoder(o Options) (*Decoder, *got) {
	g := &got{}
	d := NewDecoder(o, func(m *Message) error {
		g.msgs = append(g.msgs, slices.Clone(m.Data))
		g.ts = append(g.ts, m.Time)
		g.meta = append(g.meta, Message{Time: m.Time, Port: m.Port, TCP: m.TCP, Cut: m.Cut})
		return nil
	})
	return d, g
}

func TestLinkLayers(t *testing.T) {
	msg := dnsMsg(40, 1)
	v4 := ipv4("192.0.2.53", "198.51.100.1", 17, 1, 0, false, udpSeg(53, 40000, msg))
	v6 := ipv6("2001:db8::53", "2001:db8::1", 17, udpSeg(53, 40000, msg))
	sll := func(proto uint16, p []byte) []byte {
		b := make([]byte, 16)
		binary.BigEndian.PutUint16(b[14:], proto)
		return append(b, p...)
	}
	sll2 := func(proto uint16, p []byte) []byte {
		b := make([]byte, 20)
		binary.BigEndian.PutUint16(b[0:], proto)
		return append(b, p...)
	}
	null := func(le bool, fam uint32, p []byte) []byte {
		b := make([]byte, 4)
		if le {
			binary.LittleEndian.PutUint32(b, fam)
		} else {
			binary.BigEndian.PutUint32(b, fam)
		}
		return append(b, p...)
	}
	tests := []struct {
		name string
		lt   int
		pkt  []byte
	}{
		{"ethernet v4", LinkEthernet, eth(0x0800, v4)},
		{"ethernet v6", LinkEthernet, eth(0x86dd, v6)},
		{"802.1Q", LinkEthernet, eth(0x0800, v4, 0x8100)},
		{"QinQ", LinkEthernet, eth(0x86dd, v6, 0x88a8, 0x8100)},
		{"ethernet padding", LinkEthernet, append(eth(0x0800, v4), 0, 0, 0, 0, 0, 0)},
		{"SLL", LinkSLL, sll(0x0800, v4)},
		{"SLL with VLAN", LinkSLL, sll(0x8100, append([]byte{0, 11, 0x86, 0xdd}, v6...))},
		{"SLL2", LinkSLL2, sll2(0x86dd, v6)},
		{"NULL", LinkNull, null(true, 2, v4)},
		{"LOOP", LinkLoop, null(false, 24, v6)},
		{"raw v4", LinkRaw, v4},
		{"raw v6", LinkRaw, v6},
		{"IPV4", LinkIPv4, v4},
		{"IPV6", LinkIPv6, v6},
		{"IP in IP", LinkRaw, ipv4("192.0.2.1", "192.0.2.2", 4, 9, 0, false, v4)},
		{"v6 extension headers", LinkRaw, ipv6("2001:db8::53", "2001:db8::1", 17, udpSeg(53, 1, msg), ext6(0, 1), ext6(60, 2), ext6(43, 1))},
		{"v6 atomic fragment", LinkRaw, ipv6("2001:db8::53", "2001:db8::1", 17, udpSeg(53, 1, msg), frag6(0, false, 7))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, g := newTestDecoder(Options{})
			if err := d.Packet(42, tc.lt, tc.pkt); err != nil {
				t.Fatal(err)
			}
			if len(g.msgs) != 1 || !bytes.Equal(g.msgs[0], msg) || g.ts[0] != 42 {
				t.Fatalf("got %d messages %x; stats %+v", len(g.msgs), g.msgs, d.Stats())
			}
			if st := d.Stats(); st.MalformedTotal() != 0 || st.Messages != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestPacketFilter(t *testing.T) {
	msg := dnsMsg(30, 7)
	tests := []struct {
		name      string
		o         Options
		lt        int
		pkt       []byte
		messages  int
		queries   uint64
		ignored   uint64
		malformed Reason
	}{
		{name: "query to 53 is counted, not decoded", lt: LinkRaw, pkt: ipv4("192.0.2.1", "192.0.2.53", 17, 1, 0, false, udpSeg(40000, 53, msg)), queries: 1},
		{name: "query from a tunnel port is a query", lt: LinkRaw, pkt: ipv4("192.0.2.1", "192.0.2.53", 17, 1, 0, false, udpSeg(4789, 53, msg)), queries: 1},
		{name: "other port ignored", lt: LinkRaw, pkt: ipv4("192.0.2.1", "192.0.2.53", 17, 1, 0, false, udpSeg(123, 123, msg)), ignored: 1},
		{name: "--ports 5353", o: Options{Ports: []uint16{5353}}, lt: LinkRaw, pkt: ipv4("192.0.2.53", "192.0.2.1", 17, 1, 0, false, udpSeg(5353, 5353, msg)), messages: 1},
		{name: "53 not in --ports", o: Options{Ports: []uint16{5353}}, lt: LinkRaw, pkt: ipv4("192.0.2.53", "192.0.2.1", 17, 1, 0, false, udpSeg(53, 4000, msg)), ignored: 1},
		{name: "ARP ignored", lt: LinkEthernet, pkt: eth(0x0806, make([]byte, 28)), ignored: 1},
		{name: "ICMP ignored", lt: LinkRaw, pkt: ipv4("192.0.2.53", "192.0.2.1", 1, 1, 0, false, make([]byte, 8)), ignored: 1},
		{name: "short ethernet", lt: LinkEthernet, pkt: make([]byte, 10), malformed: BadLink},
		{name: "unknown link type", lt: 147, pkt: make([]byte, 40), malformed: LinkType},
		{name: "IHL below 5", lt: LinkRaw, pkt: func() []byte {
			b := ipv4("192.0.2.53", "192.0.2.1", 17, 1, 0, false, udpSeg(53, 1, msg))
			b[0] = 0x44
			return b
		}(), malformed: BadIPv4},
		{name: "snap length cut the DNS header", lt: LinkRaw, pkt: ipv4("192.0.2.53", "192.0.2.1", 17, 1, 0, false, udpSeg(53, 1, msg))[:39], malformed: Truncated},
		{name: "UDP length beyond IP", lt: LinkRaw, pkt: func() []byte {
			u := udpSeg(53, 1, msg)
			binary.BigEndian.PutUint16(u[4:], 200)
			return ipv4("192.0.2.53", "192.0.2.1", 17, 1, 0, false, u)
		}(), malformed: BadUDP},
		{name: "v6 truncated extension header", lt: LinkRaw, pkt: ipv6("2001:db8::53", "2001:db8::1", 17, nil, []byte{0, 4, 0, 0, 0, 0, 0, 0}), malformed: BadIPv6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, g := newTestDecoder(tc.o)
			if err := d.Packet(1, tc.lt, tc.pkt); err != nil {
				t.Fatal(err)
			}
			st := d.Stats()
			if len(g.msgs) != tc.messages || st.Queries != tc.queries || st.Ignored != tc.ignored {
				t.Errorf("messages %d queries %d ignored %d; want %d %d %d", len(g.msgs), st.Queries, st.Ignored, tc.messages, tc.queries, tc.ignored)
			}
			wantBad := [numReasons]uint64{}
			if tc.messages == 0 && tc.queries == 0 && tc.ignored == 0 {
				wantBad[tc.malformed] = 1
			}
			if st.Malformed != wantBad {
				t.Errorf("malformed %v, want %v", st.Malformed, wantBad)
			}
		})
	}
}

// fragments4 splits an IPv4 UDP datagram into fragments of size bytes.
func fragments4(id uint16, udp []byte, size int) [][]byte {
	var out [][]byte
	for off := 0; off < len(udp); off += size {
		end := min(len(udp), off+size)
		out = append(out, ipv4("192.0.2.53", "198.51.100.1", 17, id, off, end < len(udp), udp[off:end]))
	}
	return out
}

func fragments6(id uint32, udp []byte, size int) [][]byte {
	var out [][]byte
	for off := 0; off < len(udp); off += size {
		end := min(len(udp), off+size)
		out = append(out, ipv6("2001:db8::53", "2001:db8::1", 44, udp[off:end], frag6(off, end < len(udp), id)))
	}
	return out
}

func TestFragments(t *testing.T) {
	msg := dnsMsg(3000, 3)
	u := udpSeg(53, 41000, msg)
	f4 := fragments4(77, u, 1480)
	f6 := fragments6(99, u, 1232)
	// In IPv6 the fragment header's next-header must be UDP: fix the
	// first byte of each fragment header (ipv6() put 44 there).
	for _, p := range f6 {
		p[40] = 17
	}
	overlap := ipv4("192.0.2.53", "198.51.100.1", 17, 77, 8, true, bytes.Repeat([]byte{0xee}, 16))
	tests := []struct {
		name     string
		pkts     [][]byte
		gaps     []time.Duration // capture time before each packet
		messages int
		bad      Reason
		nbad     uint64
	}{
		{name: "v4 in order", pkts: f4, messages: 1},
		{name: "v4 reversed", pkts: [][]byte{f4[2], f4[1], f4[0]}, messages: 1},
		{name: "v4 duplicate fragment", pkts: [][]byte{f4[0], f4[0], f4[2], f4[1]}, messages: 1},
		{name: "v4 conflicting overlap", pkts: [][]byte{f4[0], overlap, f4[1], f4[2]}, bad: FragOverlap, nbad: 1},
		{name: "v6 out of order", pkts: [][]byte{f6[1], f6[2], f6[0]}, messages: 1},
		{name: "v4 timeout", pkts: [][]byte{f4[0], f4[1], f4[2]}, gaps: []time.Duration{0, 0, time.Minute}, bad: FragDropped, nbad: 1},
		{name: "v4 missing middle", pkts: [][]byte{f4[0], f4[2]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, g := newTestDecoder(Options{})
			var ts int64
			for i, p := range tc.pkts {
				if tc.gaps != nil {
					ts += int64(tc.gaps[i])
				}
				if err := d.Packet(ts, LinkRaw, p); err != nil {
					t.Fatal(err)
				}
			}
			if len(g.msgs) != tc.messages {
				t.Fatalf("%d messages, want %d; stats %+v", len(g.msgs), tc.messages, d.Stats())
			}
			if tc.messages == 1 && !bytes.Equal(g.msgs[0], msg) {
				t.Errorf("reassembled message differs")
			}
			if st := d.Stats(); st.Malformed[tc.bad] != tc.nbad {
				t.Errorf("malformed %v, want %d of %v", st.Malformed, tc.nbad, tc.bad)
			}
		})
	}
}

func TestFragmentMemoryBound(t *testing.T) {
	d, _ := newTestDecoder(Options{FragmentMemory: 10000})
	u := udpSeg(53, 41000, dnsMsg(3000, 1))
	for id := range 100 {
		// First fragments only: nothing ever completes.
		if err := d.Packet(0, LinkRaw, fragments4(uint16(id), u, 1480)[0]); err != nil {
			t.Fatal(err)
		}
	}
	if d.frags.bytes > 10000 {
		t.Errorf("fragments hold %d bytes, over the 10000 budget", d.frags.bytes)
	}
	if st := d.Stats(); st.Malformed[FragDropped] < 90 {
		t.Errorf("dropped %d datagrams, want at least 90", st.Malformed[FragDropped])
	}
}

// tcpCase describes server-to-client segments relative to the ISN.
type seg struct {
	rel   int // sequence number relative to the server's ISN+1
	flags byte
	data  []byte
}

func framed(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

func TestTCPReassembly(t *testing.T) {
	m1, m2, m3 := dnsMsg(100, 1), dnsMsg(700, 2), dnsMsg(50, 3)
	stream := framed(m1, m2, m3) // 856 bytes
	part := func(a, b int) []byte { return stream[a:b] }
	const isn = 0xfffffff0 // wraps around 2^32 mid-stream
	tests := []struct {
		name   string
		syn    bool
		segs   []seg
		want   [][]byte
		retx   uint64
		gaps   uint64
		badLen uint64
	}{
		{name: "all in one segment", syn: true, segs: []seg{{0, fPSH, stream}}, want: [][]byte{m1, m2, m3}},
		{name: "message across segments", syn: true, segs: []seg{{0, 0, part(0, 1)}, {1, 0, part(1, 300)}, {300, 0, part(300, 856)}}, want: [][]byte{m1, m2, m3}},
		{name: "out of order", syn: true, segs: []seg{{300, 0, part(300, 856)}, {0, 0, part(0, 150)}, {150, 0, part(150, 300)}}, want: [][]byte{m1, m2, m3}},
		{name: "retransmission", syn: true, segs: []seg{{0, 0, part(0, 300)}, {0, 0, part(0, 300)}, {300, 0, part(300, 856)}}, want: [][]byte{m1, m2, m3}, retx: 1},
		{name: "overlapping retransmission", syn: true, segs: []seg{{0, 0, part(0, 300)}, {200, 0, part(200, 600)}, {600, 0, part(600, 856)}}, want: [][]byte{m1, m2, m3}},
		{name: "duplicate out-of-order segment", syn: true, segs: []seg{{300, 0, part(300, 856)}, {300, 0, part(300, 856)}, {0, 0, part(0, 300)}}, want: [][]byte{m1, m2, m3}, retx: 1},
		{name: "no SYN seen", syn: false, segs: []seg{{0, 0, part(0, 400)}, {400, 0, part(400, 856)}}, want: [][]byte{m1, m2, m3}},
		{name: "FIN after data", syn: true, segs: []seg{{0, fFIN, stream}}, want: [][]byte{m1, m2, m3}},
		{name: "gap never filled", syn: true, segs: []seg{{0, 0, part(0, 102)}, {300, fFIN, part(300, 856)}}, want: [][]byte{m1}, gaps: 0},
		{name: "RST with a partial message", syn: true, segs: []seg{{0, 0, part(0, 200)}, {200, fRST, nil}}, want: [][]byte{m1}, gaps: 1},
		{name: "zero length prefix", syn: true, segs: []seg{{0, 0, append([]byte{0, 0}, framed(m1)...)}}, want: [][]byte{m1}, badLen: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, g := newTestDecoder(Options{})
			send := func(seq uint32, flags byte, data []byte) {
				p := ipv4("192.0.2.53", "198.51.100.1", 6, 1, 0, false, tcpSeg(53, 40001, seq, flags, data))
				if err := d.Packet(0, LinkRaw, p); err != nil {
					t.Fatal(err)
				}
			}
			// The client's side is ignored whatever it sends.
			send2 := ipv4("198.51.100.1", "192.0.2.53", 6, 1, 0, false, tcpSeg(40001, 53, 5, fSYN, nil))
			if err := d.Packet(0, LinkRaw, send2); err != nil {
				t.Fatal(err)
			}
			if tc.syn {
				send(isn, fSYN, nil)
			}
			for _, s := range tc.segs {
				send(uint32(isn+1+s.rel), s.flags, s.data)
			}
			if len(g.msgs) != len(tc.want) {
				t.Fatalf("%d messages, want %d; stats %+v", len(g.msgs), len(tc.want), d.Stats())
			}
			for i := range tc.want {
				if !bytes.Equal(g.msgs[i], tc.want[i]) {
					t.Errorf("message %d differs (len %d, want %d)", i, len(g.msgs[i]), len(tc.want[i]))
				}
			}
			st := d.Stats()
			if st.Retransmissions != tc.retx || st.Malformed[TCPBadLength] != tc.badLen {
				t.Errorf("retransmissions %d bad length %d, want %d %d", st.Retransmissions, st.Malformed[TCPBadLength], tc.retx, tc.badLen)
			}
			if tc.gaps > 0 && st.Malformed[TCPGap] != tc.gaps {
				t.Errorf("gaps %d, want %d", st.Malformed[TCPGap], tc.gaps)
			}
			if st.TCPMessages != uint64(len(tc.want)) {
				t.Errorf("TCPMessages %d", st.TCPMessages)
			}
		})
	}
}

func TestTCPBounds(t *testing.T) {
	t.Run("out-of-order buffer", func(t *testing.T) {
		d, _ := newTestDecoder(Options{StreamBuffer: 1000})
		send := func(seq uint32, flags byte, data []byte) {
			if err := d.Packet(0, LinkRaw, ipv4("192.0.2.53", "198.51.100.1", 6, 1, 0, false, tcpSeg(53, 40001, seq, flags, data))); err != nil {
				t.Fatal(err)
			}
		}
		send(0, fSYN, nil)
		for i := range 10 {
			send(uint32(1000+i*500), 0, make([]byte, 500)) // never in order
		}
		if d.streams.bytes > 1000 {
			t.Errorf("streams hold %d bytes", d.streams.bytes)
		}
		if st := d.Stats(); st.Malformed[TCPGap] == 0 {
			t.Errorf("no gap counted: %+v", st)
		}
	})
	t.Run("stream count", func(t *testing.T) {
		d, _ := newTestDecoder(Options{MaxStreams: 100})
		for i := range 1000 {
			p := ipv4("192.0.2.53", "198.51.100.1", 6, 1, 0, false, tcpSeg(53, uint16(1024+i), 1, 0, []byte{0, 50, 1, 2}))
			if err := d.Packet(int64(i), LinkRaw, p); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(d.streams.m); n > 100 {
			t.Errorf("%d streams tracked, limit 100", n)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		d, _ := newTestDecoder(Options{StreamTimeout: time.Second})
		p := ipv4("192.0.2.53", "198.51.100.1", 6, 1, 0, false, tcpSeg(53, 4000, 1, 0, []byte{0, 50, 1, 2}))
		if err := d.Packet(0, LinkRaw, p); err != nil {
			t.Fatal(err)
		}
		q := ipv4("192.0.2.54", "198.51.100.1", 17, 1, 0, false, udpSeg(53, 4000, dnsMsg(12, 0)))
		if err := d.Packet(int64(5*time.Second), LinkRaw, q); err != nil {
			t.Fatal(err)
		}
		q2 := ipv4("192.0.2.54", "198.51.100.1", 6, 1, 0, false, tcpSeg(53, 4001, 1, fSYN, nil))
		if err := d.Packet(int64(5*time.Second), LinkRaw, q2); err != nil {
			t.Fatal(err)
		}
		if _, ok := d.streams.m[flowKey{src: addr16("192.0.2.53"), dst: addr16("198.51.100.1"), sport: 53, dport: 4000}]; ok {
			t.Error("idle stream not dropped")
		}
		if st := d.Stats(); st.Malformed[TCPGap] != 1 {
			t.Errorf("gap count %d, want 1 (the idle stream had a partial message)", st.Malformed[TCPGap])
		}
	})
}

func addr16(s string) [16]byte {
	var b [16]byte
	a := netip.MustParseAddr(s).As4()
	copy(b[:], a[:])
	return b
}

func TestHandlerErrorStops(t *testing.T) {
	boom := fmt.Errorf("sink full")
	d := NewDecoder(Options{}, func(*Message) error { return boom })
	err := d.Packet(0, LinkRaw, ipv4("192.0.2.53", "198.51.100.1", 17, 1, 0, false, udpSeg(53, 1, dnsMsg(20, 0))))
	if err != boom {
		t.Fatalf("Packet = %v, want the handler's error", err)
	}
}
