package pcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap/pcaptest"
)

// seedPackets returns the packets of the testdata captures (pcap and
// pcapng) with their link types, for fuzz seeds.
func seedPackets(tb testing.TB) (pkts [][]byte, lts []int) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pcap*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		if binary.LittleEndian.Uint32(b) == 0x0a0d0d0a {
			r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
			if err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			for {
				data, ci, err := r.ReadPacketData()
				if err != nil {
					break
				}
				pkts = append(pkts, data)
				lts = append(lts, int(ci.AncillaryData[0].(layers.LinkType)))
			}
			continue
		}
		r, err := pcapgo.NewReader(bytes.NewReader(b))
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		for {
			data, _, err := r.ReadPacketData()
			if err != nil {
				break
			}
			pkts = append(pkts, data)
			lts = append(lts, int(r.LinkType()))
		}
	}
	return pkts, lts
}

// FuzzPacket feeds arbitrary packets (a link type byte, then the frame;
// several frames separated by a 2-byte length) to one decoder: nothing may
// panic, the memory bounds must hold and no message may exceed 64 KiB.
//
//	go test ./internal/ingest/pcap -run '^$' -fuzz FuzzPacket -fuzztime 20s
func FuzzPacket(f *testing.F) {
	links := []int{LinkEthernet, LinkSLL, LinkSLL2, LinkNull, LinkRaw, LinkLoop, LinkIPv4, LinkIPv6, 0xff,
		LinkNFLOG, Link80211, LinkRadiotap, LinkPPP, LinkPPPoE, LinkCHDLC, LinkPFLOG, LinkPrism, LinkAVS,
		LinkPPI, LinkFDDI, LinkPPPHDLC, LinkATMRFC1483, LinkPPPWithDir, LinkIPNet, LinkPKTAP, LinkRawBSD, LinkRawOBSD}
	linkByte := func(lt int) byte {
		i := slices.Index(links, lt)
		if i < 0 {
			f.Fatalf("link type %d is not in FuzzPacket's links", lt)
		}
		return byte(i)
	}
	pkts, lts := seedPackets(f)
	for i, p := range pkts {
		f.Add(append([]byte{linkByte(lts[i])}, p...))
	}
	// Every encapsulation, also those the testdata capture leaves out,
	// whole and cut by the snap length.
	msg := dnsMsg(80, 3)
	for _, e := range pcaptest.Encaps() {
		for _, fl := range []pcaptest.Flow{flow4, flow6} {
			if frame := e.Wrap(pcaptest.UDP(fl, msg)); frame != nil {
				f.Add(append([]byte{linkByte(e.Link)}, frame...))
				f.Add(append([]byte{linkByte(e.Link)}, frame[:len(frame)-40]...))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(Options{FragmentMemory: 1 << 16, StreamMemory: 1 << 16, StreamBuffer: 1 << 14, MaxStreams: 8,
			AnyPort: true, AnyPortQueries: 8}, func(m *Message) error {
			if len(m.Data) > 65535 {
				t.Fatalf("message of %d bytes", len(m.Data))
			}
			return nil
		})
		ts := int64(0)
		for len(data) > 0 {
			lt := links[int(data[0])%len(links)]
			data = data[1:]
			n := len(data)
			if n > 3 && data[0] == 0xfe { // frame with an explicit length
				n = min(len(data)-3, int(binary.BigEndian.Uint16(data[1:3])))
				data = data[3:]
			}
			frame := data[:n]
			data = data[n:]
			ts += 1e9
			if err := d.Packet(ts, lt, frame); err != nil {
				t.Fatal(err)
			}
			if d.frags.bytes > 1<<16 || d.streams.bytes > 1<<16 || len(d.streams.m) > 8 || len(d.queries.m) > 8 {
				t.Fatalf("bounds exceeded: frags %d streams %d bytes, %d streams, %d queries", d.frags.bytes, d.streams.bytes, len(d.streams.m), len(d.queries.m))
			}
		}
	})
}

// FuzzTCPReassembly cuts a stream of DNS messages into segments, delivers
// them in a fuzzed order with fuzzed retransmissions, and checks that the
// messages come out whole and in order.
//
//	go test ./internal/ingest/pcap -run '^$' -fuzz FuzzTCPReassembly -fuzztime 20s
func FuzzTCPReassembly(f *testing.F) {
	f.Add([]byte("a dns message and another one, then a third"), []byte{5, 9, 200, 3}, uint64(1))
	f.Add(bytes.Repeat([]byte{0xab}, 3000), []byte{255, 1, 17}, uint64(42))
	f.Fuzz(func(t *testing.T, payload, cuts []byte, seed uint64) {
		if len(payload) == 0 || len(cuts) == 0 || len(payload) > 20000 {
			return
		}
		var msgs [][]byte
		for i, rest := 0, payload; len(rest) > 0; i++ {
			n := min(len(rest), 1+int(cuts[i%len(cuts)]))
			msgs = append(msgs, rest[:n])
			rest = rest[n:]
		}
		stream := framed(msgs...)
		type piece struct {
			off  int
			data []byte
		}
		var pieces []piece
		for i, off := 0, 0; off < len(stream); i++ {
			n := min(len(stream)-off, 1+int(cuts[(i+1)%len(cuts)])%97)
			pieces = append(pieces, piece{off, stream[off : off+n]})
			off += n
		}
		if len(pieces) > maxSegments/2 {
			// A stream holds at most maxSegments out-of-order segments
			// (bounded memory); beyond that dropping it is correct.
			return
		}
		r := rand.New(rand.NewPCG(seed, 7))
		r.Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })
		for i := range pieces { // some retransmissions
			if r.IntN(4) == 0 {
				pieces = append(pieces, pieces[i])
			}
		}
		d, g := newTestDecoder(Options{StreamBuffer: 1 << 20, StreamMemory: 1 << 22})
		isn := r.Uint32()
		send := func(seq uint32, flags byte, data []byte) {
			p := ipv6("2001:db8::53", "2001:db8::1", 6, tcpSeg(53, 5300, seq, flags, data))
			if err := d.Packet(0, LinkRaw, p); err != nil {
				t.Fatal(err)
			}
		}
		send(isn, fSYN, nil)
		for _, p := range pieces {
			send(isn+1+uint32(p.off), 0, p.data)
		}
		if len(g.msgs) != len(msgs) {
			t.Fatalf("%d messages out, %d in", len(g.msgs), len(msgs))
		}
		for i := range msgs {
			if !bytes.Equal(g.msgs[i], msgs[i]) {
				t.Fatalf("message %d differs", i)
			}
		}
	})
}

// FuzzDefrag fragments a UDP datagram at fuzzed 8-byte boundaries, shuffles
// and duplicates fragments, and checks the datagram comes back whole, over
// IPv4 and IPv6.
//
//	go test ./internal/ingest/pcap -run '^$' -fuzz FuzzDefrag -fuzztime 20s
func FuzzDefrag(f *testing.F) {
	f.Add(bytes.Repeat([]byte("dns!"), 1000), []byte{10, 200, 3}, uint64(3), false)
	f.Add([]byte("small"), []byte{1}, uint64(9), true)
	f.Fuzz(func(t *testing.T, payload, cuts []byte, seed uint64, v6 bool) {
		if len(cuts) == 0 || len(payload) > 20000 {
			return
		}
		u := udpSeg(53, 33000, payload)
		type frag struct {
			off  int
			data []byte
		}
		var frags []frag
		for i, off := 0, 0; off < len(u); i++ {
			n := min(len(u)-off, 8*(1+int(cuts[i%len(cuts)])+len(u)/(8*maxFragments)))
			frags = append(frags, frag{off, u[off : off+n]})
			off += n
		}
		r := rand.New(rand.NewPCG(seed, 11))
		r.Shuffle(len(frags), func(i, j int) { frags[i], frags[j] = frags[j], frags[i] })
		if len(frags) > 1 && r.IntN(2) == 0 {
			frags = append(frags, frags[r.IntN(len(frags))])
		}
		d, g := newTestDecoder(Options{})
		for _, fr := range frags {
			more := fr.off+len(fr.data) < len(u)
			var p []byte
			if v6 {
				p = ipv6("2001:db8::53", "2001:db8::1", 44, fr.data, frag6(fr.off, more, 5))
				p[40] = 17
			} else {
				p = ipv4("192.0.2.53", "198.51.100.1", 17, 5, fr.off, more, fr.data)
			}
			if len(frags) == 1 && !v6 {
				// A single unfragmented packet is not a fragment.
				p = ipv4("192.0.2.53", "198.51.100.1", 17, 5, 0, false, fr.data)
			}
			if err := d.Packet(0, LinkRaw, p); err != nil {
				t.Fatal(err)
			}
		}
		if len(g.msgs) != 1 || !bytes.Equal(g.msgs[0], payload) {
			t.Fatalf("%d messages; stats %+v", len(g.msgs), d.Stats())
		}
	})
}

// FuzzRead feeds arbitrary files to the pcap and pcapng readers: nothing
// may panic or loop, and every failure must be one of the package's
// errors (or the end of the input).
//
//	go test ./internal/ingest/pcap -run '^$' -fuzz FuzzRead -fuzztime 20s
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pcap*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 16<<10 && binary.LittleEndian.Uint32(b) != 0x8b1f {
			f.Add(b)
		}
	}
	pkt := ipv4("192.0.2.53", "198.51.100.1", 17, 1, 0, false, udpSeg(53, 40000, dnsMsg(40, 1)))
	for _, o := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		g := (&ngFile{o: o}).shb()
		f.Add(g.idb(LinkRaw, 0, g.opt(9, []byte{0x80 | 20}), g.opt(14, o.AppendUint64(nil, 7))).epb(0, 1<<30, pkt).spb(uint32(len(pkt)), pkt).b)
	}
	f.Add(pcapFile(true, 0xa1b23c4d, LinkEthernet, pcapRecord(true, 1, 2, 0, eth(0x0800, pkt))))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(Options{FragmentMemory: 1 << 16, StreamMemory: 1 << 16, MaxStreams: 8}, func(*Message) error { return nil })
		err := Read(context.Background(), bytes.NewReader(data), d)
		switch {
		case err == nil, errors.Is(err, ErrFormat), errors.Is(err, ErrLinkType), errors.Is(err, ErrCorrupt), errors.Is(err, ErrTruncatedFile):
		case errors.Is(err, io.ErrUnexpectedEOF):
			t.Fatalf("unexpected EOF not mapped to ErrTruncatedFile: %v", err)
		default:
			t.Fatalf("Read = %v", err)
		}
	})
}

// TestFuzzSeeds makes sure the capture seeds are present and decodable, so
// the fuzz targets do not silently run without a corpus.
func TestFuzzSeeds(t *testing.T) {
	pkts, lts := seedPackets(t)
	if len(pkts) < 500 {
		t.Fatalf("only %d seed packets in testdata", len(pkts))
	}
	for i, lt := range lts {
		if !SupportedLink(lt) {
			t.Fatalf("seed packet %d has link type %d", i, lt)
		}
	}
}
