package pcap

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap/pcaptest"
)

// BenchmarkDecode compares the hand-written link/IP/UDP path with
// gopacket's DecodingLayerParser (the fastest gopacket API: preallocated
// layers, no Packet objects) on the same Ethernet/IPv4/UDP DNS response,
// down to the UDP payload. The numbers quoted on Decoder come from it.
//
//	go test ./internal/ingest/pcap -run '^$' -bench BenchmarkDecode -benchtime 2s
func BenchmarkDecode(b *testing.B) {
	pkt := eth(0x0800, ipv4("192.0.2.53", "198.51.100.1", 17, 1, 0, false, udpSeg(53, 40000, dnsMsg(180, 0))))
	b.Run("handwritten", func(b *testing.B) {
		n := 0
		d := NewDecoder(Options{}, func(m *Message) error { n += len(m.Data); return nil })
		b.ReportAllocs()
		for b.Loop() {
			d.Packet(1, LinkEthernet, pkt)
		}
		if n == 0 {
			b.Fatal("no payload")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	})
	b.Run("gopacket", func(b *testing.B) {
		var (
			eth   layers.Ethernet
			dot1q layers.Dot1Q
			ip4   layers.IPv4
			ip6   layers.IPv6
			udp   layers.UDP
			tcp   layers.TCP
			pl    gopacket.Payload
		)
		p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &udp, &tcp, &pl)
		p.IgnoreUnsupported = true
		decoded := make([]gopacket.LayerType, 0, 8)
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			if err := p.DecodeLayers(pkt, &decoded); err != nil {
				b.Fatal(err)
			}
			for _, lt := range decoded {
				if lt == layers.LayerTypeUDP && udp.SrcPort == 53 {
					n += len(udp.Payload)
				}
			}
		}
		if n == 0 {
			b.Fatal("no payload")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	})
}

// BenchmarkDecap decodes the same UDP DNS response (180 bytes, IPv4) in
// each of pcaptest's encapsulations, down to the handler: what taking a
// tunnel apart costs per packet, against "Ethernet".
//
//	go test ./internal/ingest/pcap -run '^$' -bench BenchmarkDecap -benchtime 1s
func BenchmarkDecap(b *testing.B) {
	msg := dnsMsg(180, 0)
	for _, e := range pcaptest.Encaps() {
		frame := e.Wrap(pcaptest.UDP(flow4, msg))
		if frame == nil {
			continue
		}
		b.Run(e.Name, func(b *testing.B) {
			n := 0
			d := NewDecoder(Options{}, func(m *Message) error { n += len(m.Data); return nil })
			b.ReportAllocs()
			for b.Loop() {
				d.Packet(1, e.Link, frame)
			}
			if n == 0 {
				b.Fatal("no payload")
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
