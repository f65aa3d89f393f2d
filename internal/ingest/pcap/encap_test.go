package pcap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap/pcaptest"
)

var (
	flow4 = pcaptest.Flow{Src: netip.MustParseAddr("192.0.2.53"), Dst: netip.MustParseAddr("198.51.100.7"), SrcPort: 53, DstPort: 40000}
	flow6 = pcaptest.Flow{Src: netip.MustParseAddr("2001:db8::53"), Dst: netip.MustParseAddr("2001:db8::7"), SrcPort: 53, DstPort: 40000}
)

// encapKinds are the Encap counters each of pcaptest's encapsulations
// must move (the IPv6 extension header counter aside).
var encapKinds = map[string][]Encap{
	"Ethernet":                       nil,
	"802.1Q VLAN":                    {EncapVLAN},
	"QinQ 802.1ad":                   {EncapVLAN, EncapQinQ},
	"QinQ 0x9100":                    {EncapVLAN, EncapQinQ},
	"VN-Tag":                         {EncapTag},
	"E-Tag (802.1BR)":                {EncapTag},
	"Cisco MetaData (SGT) in 802.1Q": {EncapVLAN, EncapTag},
	"PBB (802.1ah)":                  {EncapVLAN, EncapTag},
	"OpenBSD pflog":                  nil,
	"802.3 LLC/SNAP":                 nil,
	"MPLS":                           {EncapMPLS},
	"MPLS label stack":               {EncapMPLS},
	"MPLS Ethernet pseudowire with control word (label 200)": {EncapMPLS},
	"PPPoE session":                            {EncapPPPoE},
	"GRE":                                      {EncapGRE},
	"GRE with checksum, key and sequence":      {EncapGRE},
	"GRE with key, over IPv6":                  {EncapGRE},
	"GRE transparent Ethernet bridging":        {EncapGRE},
	"ERSPAN type I":                            {EncapGRE, EncapERSPAN1},
	"ERSPAN type II":                           {EncapGRE, EncapERSPAN2},
	"ERSPAN type III":                          {EncapGRE, EncapERSPAN3},
	"ERSPAN type III with platform sub-header": {EncapGRE, EncapERSPAN3},
	"VXLAN":                                  {EncapVXLAN},
	"VXLAN over IPv6":                        {EncapVXLAN},
	"VXLAN-GPE with IP":                      {EncapVXLANGPE},
	"GENEVE with options":                    {EncapGENEVE},
	"GENEVE with IP (gateway load balancer)": {EncapGENEVE},
	"GENEVE in VXLAN":                        {EncapVXLAN, EncapGENEVE},
	"GTP-U":                                  {EncapGTPU},
	"GTP-U with an extension header":         {EncapGTPU},
	"Teredo with origin indication":          {EncapTeredo},
	"IP in IPv4":                             {EncapIPinIP},
	"IP in IPv6":                             {EncapIPinIP},
	"IPv6 extension headers":                 {EncapIPv6Ext},
	"raw IP":                                 nil,
	"BSD loopback":                           nil,
	"Linux cooked SLL":                       nil,
	"Linux cooked SLL2":                      nil,
	"PPP":                                    nil,
	"PPPoE link type":                        {EncapPPPoE},
	"Cisco HDLC":                             nil,
	"NFLOG little-endian":                    {EncapNFLOG},
	"NFLOG big-endian":                       {EncapNFLOG},
	"802.11 data":                            {Encap80211},
	"802.11 QoS data, four addresses":        {Encap80211},
	"802.11 QoS A-MSDU":                      {Encap80211},
	"radiotap 802.11":                        {Encap80211},
	"radiotap with TSFT, flags and data padding": {Encap80211},
	"Prism 802.11":                            {Encap80211},
	"Prism with a wrong length field":         {Encap80211},
	"802.11 under the Prism link type":        {Encap80211},
	"AVS 802.11":                              {Encap80211},
	"AVS under the Prism link type":           {Encap80211},
	"PPI 802.11 with a common field":          {Encap80211},
	"PPI Ethernet":                            nil,
	"FDDI":                                    nil,
	"ATM RFC 1483 LLC/SNAP":                   nil,
	"PPP in HDLC framing":                     nil,
	"Cisco HDLC under the PPP HDLC link type": nil,
	"PPP with direction":                      nil,
	"Cisco HDLC under PPP with direction":     nil,
	"Solaris ipnet":                           nil,
	"Apple PKTAP with Ethernet":               nil,
	"Apple PKTAP with raw IP":                 nil,
}

// TestEncapsulations wraps a DNS response over IPv4 and over IPv6 in every
// link layer and tunnel and checks that exactly the message comes out,
// with the server port, and that the packet is counted under its kinds.
func TestEncapsulations(t *testing.T) {
	msg := dnsMsg(60, 9)
	for _, e := range pcaptest.Encaps() {
		want, ok := encapKinds[e.Name]
		if !ok {
			t.Errorf("%s: no expected kinds in encapKinds", e.Name)
		}
		for _, f := range []pcaptest.Flow{flow4, flow6} {
			frame := e.Wrap(pcaptest.UDP(f, msg))
			if frame == nil {
				continue
			}
			name := e.Name + " v4"
			if f.Src.Is6() {
				name = e.Name + " v6"
			}
			t.Run(name, func(t *testing.T) {
				d, g := newTestDecoder(Options{})
				if err := d.Packet(7, e.Link, frame); err != nil {
					t.Fatal(err)
				}
				st := d.Stats()
				if len(g.msgs) != 1 || !bytes.Equal(g.msgs[0], msg) || g.meta[0].Port != 53 || g.meta[0].Cut || g.meta[0].TCP {
					t.Fatalf("got %d messages (%v); stats %+v", len(g.msgs), g.meta, st)
				}
				ignored := uint64(0)
				if e.Name == "802.11 QoS A-MSDU" {
					ignored = 1 // its first subframe is not IP
				}
				if st.MalformedTotal() != 0 || st.Ignored != ignored {
					t.Errorf("malformed %v ignored %d", st.Malformed, st.Ignored)
				}
				var kinds [numEncaps]uint64
				for _, k := range want {
					kinds[k] = 1
				}
				got := st.Encaps
				if e.Name != "IPv6 extension headers" {
					got[EncapIPv6Ext] = 0
				}
				if got != kinds {
					t.Errorf("encapsulations %v, want %v", got, kinds)
				}
			})
		}
	}
}

// TestEncapsulationCut cuts every encapsulated frame at each length and
// checks that nothing but the message (or a prefix of it, marked cut)
// comes out, and that each cut is counted.
func TestEncapsulationCut(t *testing.T) {
	msg := dnsMsg(60, 9)
	for _, e := range pcaptest.Encaps() {
		frame := e.Wrap(pcaptest.UDP(flow4, msg))
		if frame == nil {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			for n := range len(frame) - 1 {
				d, g := newTestDecoder(Options{})
				if err := d.Packet(1, e.Link, frame[:n]); err != nil {
					t.Fatal(err)
				}
				st := d.Stats()
				switch {
				case len(g.msgs) == 0:
					if st.MalformedTotal()+st.Ignored == 0 {
						t.Fatalf("cut at %d: nothing counted", n)
					}
				case len(g.msgs) > 1 || !bytes.HasPrefix(msg, g.msgs[0]) || len(g.msgs[0]) < 12:
					t.Fatalf("cut at %d: %d messages %x", n, len(g.msgs), g.msgs)
				case len(g.msgs[0]) < len(msg) && (!g.meta[0].Cut || st.Cut != 1):
					t.Fatalf("cut at %d: a short message not marked cut", n)
				}
			}
		})
	}
}

// vxlanIn wraps an Ethernet frame in VXLAN n times.
func vxlanIn(frame []byte, n int) []byte {
	for range n {
		ip := pcaptest.UDP(pcaptest.Flow{Src: netip.MustParseAddr("203.0.113.1"), Dst: netip.MustParseAddr("203.0.113.2"), SrcPort: 50000, DstPort: 4789},
			append([]byte{0x08, 0, 0, 0, 0, 0, 1, 0}, frame...))
		frame = pcaptest.EthernetIP(ip)
	}
	return frame
}

func TestDecapDepth(t *testing.T) {
	msg := dnsMsg(40, 3)
	inner := pcaptest.EthernetIP(pcaptest.UDP(flow4, msg))
	tests := []struct {
		name     string
		o        Options
		levels   int
		messages int
	}{
		{"default allows 4", Options{}, 4, 1},
		{"default refuses 5", Options{}, 5, 0},
		{"MaxDepth 1 allows 1", Options{MaxDepth: 1}, 1, 1},
		{"MaxDepth 1 refuses 2", Options{MaxDepth: 1}, 2, 0},
		{"MaxDepth 8 allows 8", Options{MaxDepth: 8}, 8, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, g := newTestDecoder(tc.o)
			if err := d.Packet(1, LinkEthernet, vxlanIn(inner, tc.levels)); err != nil {
				t.Fatal(err)
			}
			st := d.Stats()
			if len(g.msgs) != tc.messages {
				t.Fatalf("%d messages, want %d; stats %+v", len(g.msgs), tc.messages, st)
			}
			if tc.messages == 0 && st.Malformed[TooDeep] != 1 {
				t.Errorf("too deep counted %d times", st.Malformed[TooDeep])
			}
			if st.Encaps[EncapVXLAN] != 1 {
				t.Errorf("VXLAN counted %d times, want once per packet", st.Encaps[EncapVXLAN])
			}
		})
	}
}

// TestLinkEdgeCases covers frames that must be skipped and counted.
func TestLinkEdgeCases(t *testing.T) {
	msg := dnsMsg(30, 5)
	ip := pcaptest.UDP(flow4, msg)
	wlan := func(fc0, flags byte) []byte {
		f := pcaptest.Encaps()
		for _, e := range f {
			if e.Name == "802.11 data" {
				b := e.Wrap(ip)
				b[0], b[1] = fc0, flags
				return b
			}
		}
		panic("no 802.11 encapsulation")
	}
	gre := func(flags, proto uint16, rest []byte) []byte {
		g := binary.BigEndian.AppendUint16(nil, flags)
		g = binary.BigEndian.AppendUint16(g, proto)
		return ipv4("203.0.113.1", "203.0.113.2", 47, 1, 0, false, append(g, rest...))
	}
	tests := []struct {
		name      string
		lt        int
		pkt       []byte
		messages  int
		ignored   uint64
		protected uint64
		bad       Reason
	}{
		{name: "802.11 protected", lt: Link80211, pkt: wlan(0x08, 0x42), protected: 1},
		{name: "802.11 beacon", lt: Link80211, pkt: wlan(0x80, 0x00), ignored: 1},
		{name: "802.11 null data", lt: Link80211, pkt: wlan(0x48, 0x01), ignored: 1},
		{name: "802.11 more fragments", lt: Link80211, pkt: wlan(0x08, 0x06), ignored: 1},
		{name: "802.11 version 1", lt: Link80211, pkt: wlan(0x09, 0x02), ignored: 1},
		{name: "802.11 short", lt: Link80211, pkt: make([]byte, 20), bad: BadLink},
		{name: "radiotap length past the frame", lt: LinkRadiotap, pkt: []byte{0, 0, 200, 0, 0, 0, 0, 0}, bad: BadLink},
		{name: "radiotap version 1", lt: LinkRadiotap, pkt: []byte{1, 0, 8, 0, 0, 0, 0, 0}, bad: BadLink},
		{name: "Prism length past the frame", lt: LinkPrism, pkt: []byte{0x44, 0, 0, 0, 0xf4, 1, 0, 0, 0, 0, 0, 0}, bad: BadLink},
		{name: "Prism link type, no header, too short for 802.11", lt: LinkPrism, pkt: []byte{0, 0, 0, 9, 0, 0, 0, 4, 0, 0, 0, 0}, bad: BadLink},
		{name: "Prism short", lt: LinkPrism, pkt: []byte{0x44, 0, 0, 0}, bad: BadLink},
		{name: "AVS unknown version", lt: LinkAVS, pkt: []byte{0x80, 0x21, 0x10, 0x03, 0, 0, 0, 8, 0, 0}, bad: BadLink},
		{name: "AVS length past the frame", lt: LinkAVS, pkt: []byte{0x80, 0x21, 0x10, 0x01, 0, 0, 1, 0, 0, 0}, bad: BadLink},
		{name: "AVS under Prism, short", lt: LinkPrism, pkt: []byte{0x80, 0x21, 0x10, 0x02, 0, 0, 0, 64}, bad: BadLink},
		{name: "PPI version 1", lt: LinkPPI, pkt: append([]byte{1, 0, 8, 0, 1, 0, 0, 0}, pcaptest.EthernetIP(ip)...), bad: BadLink},
		{name: "PPI in PPI", lt: LinkPPI, pkt: []byte{0, 0, 8, 0, 192, 0, 0, 0, 0, 0, 8, 0, 1, 0, 0, 0}, bad: BadLink},
		{name: "PPI of an unknown link type", lt: LinkPPI, pkt: append([]byte{0, 0, 8, 0, 147, 0, 0, 0}, ip...), bad: LinkType},
		{name: "PPI length past the frame", lt: LinkPPI, pkt: []byte{0, 0, 80, 0, 1, 0, 0, 0, 0, 0}, bad: BadLink},
		{name: "PKTAP without a packet", lt: LinkPKTAP, pkt: pktap(108, 0, LinkRaw, ip), ignored: 1},
		{name: "PKTAP length past the frame", lt: LinkPKTAP, pkt: pktap(200, 1, LinkRaw, nil)[:150], bad: BadLink},
		{name: "PKTAP frame shorter than a header", lt: LinkPKTAP, pkt: pktap(12, 1, LinkRaw, nil), bad: BadLink},
		{name: "PKTAP header length below version 1's", lt: LinkPKTAP, pkt: pktap(12, 1, LinkRaw, ip), bad: BadLink},
		{name: "PKTAP in PKTAP", lt: LinkPKTAP, pkt: pktap(108, 1, LinkPKTAP, pktap(108, 1, LinkRaw, ip)), bad: BadLink},
		{name: "PPI in PKTAP", lt: LinkPKTAP, pkt: pktap(108, 1, LinkPPI, append([]byte{0, 0, 8, 0, 101, 0, 0, 0}, ip...)), bad: BadLink},
		{name: "PKTAP of an unknown link type", lt: LinkPKTAP, pkt: pktap(108, 1, 147, ip), bad: LinkType},
		{name: "PKTAP raw IP", lt: LinkPKTAP, pkt: pktap(108, 1, LinkRaw, ip), messages: 1},
		{name: "PKTAP in PPI", lt: LinkPPI, pkt: append([]byte{0, 0, 8, 0, 2, 1, 0, 0}, pktap(108, 1, LinkRaw, ip)...), bad: BadLink},
		{name: "ipnet short", lt: LinkIPNet, pkt: make([]byte, 20), bad: BadLink},
		{name: "ipnet of another family", lt: LinkIPNet, pkt: append(append([]byte{2, 7}, make([]byte, 22)...), ip...), ignored: 1},
		{name: "FDDI short", lt: LinkFDDI, pkt: make([]byte, 12), bad: BadLink},
		{name: "ATM without SNAP", lt: LinkATMRFC1483, pkt: append([]byte{0xfe, 0xfe, 0x03}, ip...), ignored: 1},
		{name: "PPP with direction, empty", lt: LinkPPPWithDir, pkt: nil, bad: BadLink},
		{name: "PPP HDLC, Cisco header short", lt: LinkPPPHDLC, pkt: []byte{0x0f, 0x00}, bad: BadLink},
		{name: "PPP, Cisco HDLC", lt: LinkPPP, pkt: append([]byte{0x0f, 0x00, 0x08, 0x00}, ip...), messages: 1},
		{name: "PPI raw IP", lt: LinkPPI, pkt: append([]byte{0, 0, 8, 0, 101, 0, 0, 0}, ip...), messages: 1},
		{name: "NFLOG without payload", lt: LinkNFLOG, pkt: []byte{2, 0, 0, 0, 8, 0, 10, 0, 'd', 'n', 's', 0}, ignored: 1},
		{name: "NFLOG TLV length below 4", lt: LinkNFLOG, pkt: []byte{2, 0, 0, 0, 2, 0, 9, 0, 0, 0, 0, 0}, bad: BadLink},
		{name: "NFLOG payload of another family", lt: LinkNFLOG, pkt: append([]byte{7, 0, 0, 0, byte(4 + len(ip)), 0, 9, 0}, ip...), ignored: 1},
		{name: "GRE version 1 (PPTP) with PPP", lt: LinkRaw, pkt: gre(0x3081, 0x880b, slices.Concat([]byte{0, byte(len(ip) + 4), 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0x03, 0x00, 0x21}, ip)), messages: 1},
		{name: "GRE with routing", lt: LinkRaw, pkt: gre(0x4000, 0x0800, slices.Concat([]byte{0, 0, 0, 0, 0x08, 0x00, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0}, ip)), messages: 1},
		{name: "GRE version 2", lt: LinkRaw, pkt: gre(0x0002, 0x0800, ip), bad: BadTunnel},
		{name: "GRE keepalive", lt: LinkRaw, pkt: gre(0, 0, nil), ignored: 1},
		{name: "GRE truncated key", lt: LinkRaw, pkt: gre(0x2000, 0x0800, []byte{0, 0}), bad: BadTunnel},
		{name: "ERSPAN unknown version", lt: LinkRaw, pkt: gre(0x1000, 0x88be, append([]byte{0, 0, 0, 1, 0x30, 0, 0, 0, 0, 0, 0, 0}, pcaptest.EthernetIP(ip)...)), bad: BadTunnel},
		{name: "GENEVE version 1", lt: LinkRaw, pkt: ipv4("203.0.113.1", "203.0.113.2", 17, 1, 0, false, udpSeg(50000, 6081, append([]byte{0x40, 0, 0x08, 0, 0, 0, 1, 0}, ip...))), bad: BadTunnel},
		{name: "GENEVE options past the end", lt: LinkRaw, pkt: ipv4("203.0.113.1", "203.0.113.2", 17, 1, 0, false, udpSeg(50000, 6081, []byte{0x3f, 0, 0x08, 0, 0, 0, 1, 0})), bad: BadTunnel},
		{name: "MPLS without bottom of stack", lt: LinkEthernet, pkt: eth(0x8847, []byte{0, 1, 0, 64, 0, 2, 0, 64}), bad: BadTunnel},
		{name: "PPPoE discovery code", lt: LinkEthernet, pkt: eth(0x8864, append([]byte{0x11, 0x09, 0, 1, 0, 0}, ip...)), bad: BadTunnel},
		{name: "PPP LCP", lt: LinkPPP, pkt: []byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}, ignored: 1},
		{name: "nine VLAN tags", lt: LinkEthernet, pkt: eth(0x0800, ip, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100), bad: BadLink},
		{name: "response to a client on port 4789 is DNS", lt: LinkRaw, pkt: ipv4("192.0.2.53", "198.51.100.7", 17, 1, 0, false, udpSeg(53, 4789, msg)), messages: 1},
		{name: "GTP-U echo request", lt: LinkRaw, pkt: ipv4("203.0.113.1", "203.0.113.2", 17, 1, 0, false, udpSeg(2152, 2152, []byte{0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0})), ignored: 1},
		{name: "GTP version 2", lt: LinkRaw, pkt: ipv4("203.0.113.1", "203.0.113.2", 17, 1, 0, false, udpSeg(2152, 2152, append([]byte{0x50, 0xff, 0, 0, 0, 0, 0, 0}, ip...))), bad: BadTunnel},
		{name: "GTP-U extension past the end", lt: LinkRaw, pkt: ipv4("203.0.113.1", "203.0.113.2", 17, 1, 0, false, udpSeg(2152, 2152, []byte{0x34, 0xff, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0x85, 9, 0, 0, 0})), bad: BadTunnel},
		{name: "Teredo bubble", lt: LinkRaw, pkt: ipv4("203.0.113.1", "203.0.113.2", 17, 1, 0, false, udpSeg(50000, 3544, []byte{0, 0, 1, 2, 3, 4, 5, 6})), ignored: 1},
		{name: "VXLAN too short", lt: LinkRaw, pkt: ipv4("203.0.113.1", "203.0.113.2", 17, 1, 0, false, udpSeg(50000, 4789, []byte{8, 0, 0})), bad: BadTunnel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, g := newTestDecoder(Options{})
			if err := d.Packet(1, tc.lt, tc.pkt); err != nil {
				t.Fatal(err)
			}
			st := d.Stats()
			if len(g.msgs) != tc.messages || st.Ignored != tc.ignored || st.Protected != tc.protected {
				t.Fatalf("messages %d ignored %d protected %d, want %d %d %d; stats %+v", len(g.msgs), st.Ignored, st.Protected, tc.messages, tc.ignored, tc.protected, st)
			}
			if tc.messages == 1 && !bytes.Equal(g.msgs[0], msg) {
				t.Errorf("message %x", g.msgs[0])
			}
			var wantBad [numReasons]uint64
			if tc.messages+int(tc.ignored+tc.protected) == 0 {
				wantBad[tc.bad] = 1
			}
			if st.Malformed != wantBad {
				t.Errorf("malformed %v, want %v", st.Malformed, wantBad)
			}
		})
	}
}

// pktap is a PKTAP header of n bytes (at least 12) with record type rec
// and link type lt, then frame.
func pktap(n, rec, lt uint32, frame []byte) []byte {
	h := make([]byte, max(n, 12))
	binary.LittleEndian.PutUint32(h[0:], n)
	binary.LittleEndian.PutUint32(h[4:], rec)
	binary.LittleEndian.PutUint32(h[8:], lt)
	return append(h, frame...)
}
