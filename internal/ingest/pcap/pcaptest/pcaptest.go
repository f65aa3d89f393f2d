// Package pcaptest builds captured frames for the tests and benchmarks of
// ingest/pcap and ingest: a DNS message in UDP over IPv4 or IPv6, wrapped
// in every link layer and tunnel the decoder takes apart (Encaps), and
// written as a pcap file. Standard headers are serialized with gopacket's
// layers; those gopacket cannot write (ERSPAN III, GENEVE with options,
// VXLAN-GPE, NFLOG, radiotap with data padding, Prism, AVS, PPI, PKTAP,
// ipnet, Linux cooked headers) are built by hand from their
// specifications. It does not decode anything:
// tshark checks what it builds (ingest's TestEncapsulationsAgainstTshark).
package pcaptest

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Link types of the frames Encaps builds (LINKTYPE_* values).
const (
	LinkNull       = 0
	LinkEthernet   = 1
	LinkPPP        = 9
	LinkFDDI       = 10
	LinkPPPHDLC    = 50
	LinkPPPoE      = 51
	LinkATMRFC1483 = 100
	LinkRaw        = 101
	LinkCHDLC      = 104
	Link80211      = 105
	LinkSLL        = 113
	LinkPFLOG      = 117
	LinkPrism      = 119
	LinkRadiotap   = 127
	LinkAVS        = 163
	LinkPPI        = 192
	LinkPPPWithDir = 204
	LinkIPNet      = 226
	LinkNFLOG      = 239
	LinkPKTAP      = 258
	LinkSLL2       = 276
)

// Flow is one direction of a UDP exchange.
type Flow struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// Reverse is the other direction.
func (f Flow) Reverse() Flow { return Flow{f.Dst, f.Src, f.DstPort, f.SrcPort} }

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic("pcaptest: " + err.Error())
	}
	return slices.Clone(buf.Bytes())
}

// UDP returns an IPv4 or IPv6 packet (by the addresses) carrying payload
// in a UDP datagram of f.
func UDP(f Flow, payload []byte) []byte {
	u := &layers.UDP{SrcPort: layers.UDPPort(f.SrcPort), DstPort: layers.UDPPort(f.DstPort)}
	if f.Src.Is4() {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, Id: 1,
			SrcIP: net.IP(f.Src.AsSlice()), DstIP: net.IP(f.Dst.AsSlice())}
		u.SetNetworkLayerForChecksum(ip)
		return serialize(ip, u, gopacket.Payload(payload))
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
		SrcIP: net.IP(f.Src.AsSlice()), DstIP: net.IP(f.Dst.AsSlice())}
	u.SetNetworkLayerForChecksum(ip)
	return serialize(ip, u, gopacket.Payload(payload))
}

// ipType is the EtherType of an IP packet.
func ipType(ip []byte) layers.EthernetType {
	if len(ip) > 0 && ip[0]>>4 == 6 {
		return layers.EthernetTypeIPv6
	}
	return layers.EthernetTypeIPv4
}

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	macC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x03}
	// The tunnel endpoints.
	outer4 = [2]netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2")}
	outer6 = [2]netip.Addr{netip.MustParseAddr("2001:db8:ffff::1"), netip.MustParseAddr("2001:db8:ffff::2")}
)

// Ethernet is an Ethernet II frame of EtherType etype.
func Ethernet(etype uint16, payload []byte) []byte {
	return serialize(&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetType(etype)}, gopacket.Payload(payload))
}

// EthernetIP is an Ethernet frame carrying an IP packet.
func EthernetIP(ip []byte) []byte { return Ethernet(uint16(ipType(ip)), ip) }

// outerIP wraps payload in an IPv4 (or IPv6) header of protocol proto
// between the tunnel endpoints, in Ethernet.
func outerIP(v6 bool, proto layers.IPProtocol, ls ...gopacket.SerializableLayer) []byte {
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.IP(outer6[0].AsSlice()), DstIP: net.IP(outer6[1].AsSlice())}
		return serialize(append([]gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: macC, DstMAC: macB, EthernetType: layers.EthernetTypeIPv6}, ip}, ls...)...)
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, Id: 7, SrcIP: net.IP(outer4[0].AsSlice()), DstIP: net.IP(outer4[1].AsSlice())}
	return serialize(append([]gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: macC, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip}, ls...)...)
}

// outerUDP wraps payload in UDP to dport between the tunnel endpoints.
func outerUDP(v6 bool, dport uint16, payload []byte) []byte {
	f := Flow{outer4[0], outer4[1], 49152, dport}
	if v6 {
		f.Src, f.Dst = outer6[0], outer6[1]
	}
	return EthernetIP(UDP(f, payload))
}

func gre(g *layers.GRE, payload []byte) []byte {
	return outerIP(false, layers.IPProtocolGRE, g, gopacket.Payload(payload))
}

// Encap is one way of carrying an IP packet in a captured frame.
type Encap struct {
	Name string
	Link int
	// Wrap returns the frame for ip, or nil when the encapsulation does
	// not apply to ip's IP version.
	Wrap func(ip []byte) []byte
}

// Encaps lists every link layer and encapsulation the decoder takes
// apart, each applied to an IP packet.
func Encaps() []Encap {
	return slices.Concat(ethernetEncaps(), mplsPPPoEEncaps(), greEncaps(), udpTunnelEncaps(),
		ipTunnelEncaps(), linkTypeEncaps(), wirelessEncaps())
}

// ipInIP carries ip straight in an outer IPv4 or (v6) IPv6 packet.
func ipInIP(v6 bool, ip []byte) []byte {
	proto := layers.IPProtocolIPv4
	if ipType(ip) == layers.EthernetTypeIPv6 {
		proto = layers.IPProtocolIPv6
	}
	return outerIP(v6, proto, gopacket.Payload(ip))
}

// ethernetEncaps are Ethernet and the tags that can sit between its header and IP: VLAN, QinQ, VN-Tag, E-Tag, Cisco MetaData, PBB and LLC/SNAP.
func ethernetEncaps() []Encap {
	return []Encap{
		{"Ethernet", LinkEthernet, EthernetIP},
		{"802.1Q VLAN", LinkEthernet, func(ip []byte) []byte {
			return serialize(&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeDot1Q},
				&layers.Dot1Q{VLANIdentifier: 11, Type: ipType(ip)}, gopacket.Payload(ip))
		}},
		{"QinQ 802.1ad", LinkEthernet, func(ip []byte) []byte {
			return serialize(&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeQinQ},
				&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
				&layers.Dot1Q{VLANIdentifier: 11, Type: ipType(ip)}, gopacket.Payload(ip))
		}},
		{"QinQ 0x9100", LinkEthernet, func(ip []byte) []byte {
			return Ethernet(0x9100, append([]byte{0, 100, 0x81, 0x00, 0, 11, byte(ipType(ip) >> 8), byte(ipType(ip))}, ip...))
		}},
		{"VN-Tag", LinkEthernet, func(ip []byte) []byte {
			return Ethernet(0x8926, append([]byte{0x80, 0x01, 0x00, 0x02, byte(ipType(ip) >> 8), byte(ipType(ip))}, ip...))
		}},
		{"E-Tag (802.1BR)", LinkEthernet, func(ip []byte) []byte {
			return Ethernet(0x893f, append([]byte{0, 0, 0x10, 0x05, 0, 0, byte(ipType(ip) >> 8), byte(ipType(ip))}, ip...))
		}},
		{"Cisco MetaData (SGT) in 802.1Q", LinkEthernet, func(ip []byte) []byte {
			return Ethernet(0x8100, append([]byte{0, 11, 0x89, 0x09, 1, 1, 0, 1, 0x00, 0x2a, byte(ipType(ip) >> 8), byte(ipType(ip))}, ip...))
		}},
		{"PBB (802.1ah)", LinkEthernet, func(ip []byte) []byte {
			return Ethernet(0x88a8, slices.Concat([]byte{0, 100, 0x88, 0xe7, 0, 0, 0x10, 0x01}, EthernetIP(ip)))
		}},
		{"802.3 LLC/SNAP", LinkEthernet, func(ip []byte) []byte {
			p := append([]byte{0xaa, 0xaa, 0x03, 0, 0, 0, byte(ipType(ip) >> 8), byte(ipType(ip))}, ip...)
			return Ethernet(uint16(len(p)), p)
		}},
	}
}

// mplsPPPoEEncaps are MPLS label stacks, an MPLS pseudowire and PPPoE on Ethernet.
func mplsPPPoEEncaps() []Encap {
	return []Encap{
		{"MPLS", LinkEthernet, func(ip []byte) []byte {
			return serialize(&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeMPLSUnicast},
				&layers.MPLS{Label: 100, StackBottom: true, TTL: 64}, gopacket.Payload(ip))
		}},
		{"MPLS label stack", LinkEthernet, func(ip []byte) []byte {
			return serialize(&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeMPLSUnicast},
				&layers.MPLS{Label: 16, TTL: 64}, &layers.MPLS{Label: 17, TTL: 64}, &layers.MPLS{Label: 18, StackBottom: true, TTL: 64}, gopacket.Payload(ip))
		}},
		{"MPLS Ethernet pseudowire with control word (label 200)", LinkEthernet, func(ip []byte) []byte {
			return serialize(&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeMPLSUnicast},
				&layers.MPLS{Label: 200, StackBottom: true, TTL: 64}, gopacket.Payload(append([]byte{0, 0, 0, 1}, EthernetIP(ip)...)))
		}},
		{"PPPoE session", LinkEthernet, func(ip []byte) []byte {
			return serialize(&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypePPPoESession},
				&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 9},
				&layers.PPP{PPPType: pppType(ip)}, gopacket.Payload(ip))
		}},
	}
}

// greEncaps are GRE in its variants and ERSPAN, which rides on GRE.
func greEncaps() []Encap {
	return []Encap{
		{"GRE", LinkEthernet, func(ip []byte) []byte {
			return gre(&layers.GRE{Protocol: ipType(ip)}, ip)
		}},
		{"GRE with checksum, key and sequence", LinkEthernet, func(ip []byte) []byte {
			return gre(&layers.GRE{ChecksumPresent: true, KeyPresent: true, SeqPresent: true, Key: 7, Seq: 1, Protocol: ipType(ip)}, ip)
		}},
		{"GRE with key, over IPv6", LinkEthernet, func(ip []byte) []byte {
			return outerIP(true, layers.IPProtocolGRE, &layers.GRE{KeyPresent: true, Key: 9, Protocol: ipType(ip)}, gopacket.Payload(ip))
		}},
		{"GRE transparent Ethernet bridging", LinkEthernet, func(ip []byte) []byte {
			return gre(&layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging}, EthernetIP(ip))
		}},
		{"ERSPAN type I", LinkEthernet, func(ip []byte) []byte {
			return gre(&layers.GRE{Protocol: layers.EthernetTypeERSPAN}, EthernetIP(ip))
		}},
		{"ERSPAN type II", LinkEthernet, func(ip []byte) []byte {
			return outerIP(false, layers.IPProtocolGRE, &layers.GRE{SeqPresent: true, Seq: 3, Protocol: layers.EthernetTypeERSPAN},
				&layers.ERSPANII{Version: 1, SessionID: 5, Index: 2}, gopacket.Payload(EthernetIP(ip)))
		}},
		{"ERSPAN type III", LinkEthernet, func(ip []byte) []byte {
			return gre(&layers.GRE{SeqPresent: true, Seq: 4, Protocol: 0x22eb}, append(erspan3(false), EthernetIP(ip)...))
		}},
		{"ERSPAN type III with platform sub-header", LinkEthernet, func(ip []byte) []byte {
			return gre(&layers.GRE{SeqPresent: true, Seq: 5, Protocol: 0x22eb}, append(erspan3(true), EthernetIP(ip)...))
		}},
	}
}

// udpTunnelEncaps are the UDP tunnels: VXLAN, VXLAN-GPE, GENEVE, GTP-U and Teredo.
func udpTunnelEncaps() []Encap {
	return []Encap{
		{"VXLAN", LinkEthernet, func(ip []byte) []byte { return outerUDP(false, 4789, vxlan(EthernetIP(ip))) }},
		{"VXLAN over IPv6", LinkEthernet, func(ip []byte) []byte { return outerUDP(true, 4789, vxlan(EthernetIP(ip))) }},
		{"VXLAN-GPE with IP", LinkEthernet, func(ip []byte) []byte {
			next := byte(1)
			if ipType(ip) == layers.EthernetTypeIPv6 {
				next = 2
			}
			return outerUDP(false, 4790, append([]byte{0x0c, 0, 0, next, 0, 0, 42, 0}, ip...))
		}},
		{"GENEVE with options", LinkEthernet, func(ip []byte) []byte {
			return outerUDP(false, 6081, geneve(0x6558, EthernetIP(ip)))
		}},
		{"GENEVE with IP (gateway load balancer)", LinkEthernet, func(ip []byte) []byte {
			return outerUDP(false, 6081, geneve(uint16(ipType(ip)), ip))
		}},
		{"GENEVE in VXLAN", LinkEthernet, func(ip []byte) []byte {
			return outerUDP(false, 4789, vxlan(outerUDP(false, 6081, geneve(0x6558, EthernetIP(ip)))))
		}},
		{"GTP-U", LinkEthernet, func(ip []byte) []byte {
			return outerUDP(false, 2152, slices.Concat([]byte{0x30, 0xff, byte(len(ip) >> 8), byte(len(ip)), 0, 0, 0, 9}, ip))
		}},
		{"GTP-U with an extension header", LinkEthernet, func(ip []byte) []byte {
			n := 8 + len(ip)
			return outerUDP(false, 2152, slices.Concat([]byte{0x34, 0xff, byte(n >> 8), byte(n), 0, 0, 0, 9,
				0, 0, 0, 0x85, // sequence, N-PDU, next: PDU session container
				1, 0x00, 0x09, 0x00}, ip)) // one 4-byte extension, QFI 9, no next
		}},
		{"Teredo with origin indication", LinkEthernet, func(ip []byte) []byte {
			if ipType(ip) != layers.EthernetTypeIPv6 {
				return nil
			}
			return outerUDP(false, 3544, slices.Concat([]byte{0, 0, 0xf2, 0x27, 0x34, 0xff, 0x8c, 0xfd}, ip))
		}},
	}
}

// ipTunnelEncaps are IP carried straight in IP, and IPv6 extension headers.
func ipTunnelEncaps() []Encap {
	return []Encap{
		{"IP in IPv4", LinkEthernet, func(ip []byte) []byte { return ipInIP(false, ip) }},
		{"IP in IPv6", LinkEthernet, func(ip []byte) []byte { return ipInIP(true, ip) }},
		{"IPv6 extension headers", LinkEthernet, func(ip []byte) []byte {
			if ipType(ip) != layers.EthernetTypeIPv6 {
				return nil
			}
			return EthernetIP(v6ext(ip))
		}},
	}
}

// linkTypeEncaps are the link types other than Ethernet and 802.11: raw IP, BSD loopback, Linux cooked, pflog, PPP, Cisco HDLC, NFLOG
// and the rarer ones of older or other systems (FDDI, ATM, PPP in HDLC framing or with a direction byte, Solaris ipnet, Apple PKTAP).
func linkTypeEncaps() []Encap {
	chdlc := func(ip []byte) []byte {
		return append([]byte{0x0f, 0x00, byte(ipType(ip) >> 8), byte(ipType(ip))}, ip...)
	}
	ppp := func(ip []byte) []byte {
		return append([]byte{0xff, 0x03, byte(pppType(ip) >> 8), byte(pppType(ip))}, ip...)
	}
	snap := func(ip []byte) []byte { return llcSNAP(uint16(ipType(ip)), ip) }
	return []Encap{
		{"FDDI", LinkFDDI, func(ip []byte) []byte { return slices.Concat([]byte{0x50}, macB, macA, snap(ip)) }},
		{"ATM RFC 1483 LLC/SNAP", LinkATMRFC1483, snap},
		{"PPP in HDLC framing", LinkPPPHDLC, ppp},
		{"Cisco HDLC under the PPP HDLC link type", LinkPPPHDLC, chdlc},
		{"PPP with direction", LinkPPPWithDir, func(ip []byte) []byte { return append([]byte{1}, ppp(ip)...) }},
		{"Cisco HDLC under PPP with direction", LinkPPPWithDir, func(ip []byte) []byte { return append([]byte{0}, chdlc(ip)...) }},
		{"Solaris ipnet", LinkIPNet, func(ip []byte) []byte {
			h := make([]byte, 24)
			h[0], h[1] = 2, 2 // version 2, AF_INET
			if ipType(ip) == layers.EthernetTypeIPv6 {
				h[1] = 26
			}
			binary.BigEndian.PutUint32(h[4:], uint32(len(ip)))
			binary.BigEndian.PutUint32(h[8:], 3) // interface index
			return append(h, ip...)
		}},
		{"Apple PKTAP with Ethernet", LinkPKTAP, func(ip []byte) []byte { return append(pktap(LinkEthernet), EthernetIP(ip)...) }},
		{"Apple PKTAP with raw IP", LinkPKTAP, func(ip []byte) []byte { return append(pktap(LinkRaw), ip...) }},
		{"raw IP", LinkRaw, func(ip []byte) []byte { return slices.Clone(ip) }},
		{"BSD loopback", LinkNull, func(ip []byte) []byte {
			fam := uint32(2)
			if ipType(ip) == layers.EthernetTypeIPv6 {
				fam = 30 // AF_INET6 on macOS
			}
			return append(binary.LittleEndian.AppendUint32(nil, fam), ip...)
		}},
		{"Linux cooked SLL", LinkSLL, func(ip []byte) []byte {
			h := make([]byte, 16)
			binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
			binary.BigEndian.PutUint16(h[4:], 6)
			copy(h[6:], macA)
			binary.BigEndian.PutUint16(h[14:], uint16(ipType(ip)))
			return append(h, ip...)
		}},
		{"Linux cooked SLL2", LinkSLL2, func(ip []byte) []byte {
			h := make([]byte, 20)
			binary.BigEndian.PutUint16(h[0:], uint16(ipType(ip)))
			binary.BigEndian.PutUint32(h[4:], 2) // interface index
			binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
			h[11] = 6
			copy(h[12:], macA)
			return append(h, ip...)
		}},
		{"OpenBSD pflog", LinkPFLOG, func(ip []byte) []byte {
			h := make([]byte, 64) // length 61, padded to 64
			h[0] = 61
			h[1] = 2
			if ipType(ip) == layers.EthernetTypeIPv6 {
				h[1] = 24
			}
			copy(h[4:], "em0")
			return append(h, ip...)
		}},
		{"PPP", LinkPPP, ppp},
		{"PPPoE link type", LinkPPPoE, func(ip []byte) []byte {
			return serialize(&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 9},
				&layers.PPP{PPPType: pppType(ip)}, gopacket.Payload(ip))
		}},
		{"Cisco HDLC", LinkCHDLC, chdlc},
		{"NFLOG little-endian", LinkNFLOG, func(ip []byte) []byte { return nflog(binary.LittleEndian, ip) }},
		{"NFLOG big-endian", LinkNFLOG, func(ip []byte) []byte { return nflog(binary.BigEndian, ip) }},
	}
}

// wirelessEncaps are 802.11 data frames, bare and under radiotap,
// Prism, AVS and PPI headers (PPI also over Ethernet).
func wirelessEncaps() []Encap {
	return []Encap{
		{"Prism 802.11", LinkPrism, func(ip []byte) []byte { return append(prism(), wlan(false, false, false, ip)...) }},
		{"Prism with a wrong length field", LinkPrism, func(ip []byte) []byte {
			h := prism()
			binary.LittleEndian.PutUint32(h[4:], 64) // read as 144 all the same
			return append(h, wlan(false, false, false, ip)...)
		}},
		{"802.11 under the Prism link type", LinkPrism, func(ip []byte) []byte { return wlan(true, false, false, ip) }},
		{"AVS 802.11", LinkAVS, func(ip []byte) []byte { return append(avs(), wlan(true, false, false, ip)...) }},
		{"AVS under the Prism link type", LinkPrism, func(ip []byte) []byte { return append(avs(), wlan(false, false, false, ip)...) }},
		{"PPI 802.11 with a common field", LinkPPI, func(ip []byte) []byte {
			return append(ppi(Link80211, []byte{2, 0, 20, 0}, make([]byte, 20)), wlan(true, false, false, ip)...)
		}},
		{"PPI Ethernet", LinkPPI, func(ip []byte) []byte { return append(ppi(LinkEthernet, nil, nil), EthernetIP(ip)...) }},
		{"802.11 data", Link80211, func(ip []byte) []byte { return wlan(false, false, false, ip) }},
		{"802.11 QoS data, four addresses", Link80211, func(ip []byte) []byte { return wlan(true, true, false, ip) }},
		{"802.11 QoS A-MSDU", Link80211, func(ip []byte) []byte { return wlan(true, false, true, ip) }},
		{"radiotap 802.11", LinkRadiotap, func(ip []byte) []byte {
			return append([]byte{0, 0, 8, 0, 0, 0, 0, 0}, wlan(true, false, false, ip)...)
		}},
		{"radiotap with TSFT, flags and data padding", LinkRadiotap, func(ip []byte) []byte {
			h := []byte{0, 0, 17, 0, 0x03, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x20} // TSFT, flags: data pad
			f := wlan(true, false, false, ip)
			// The QoS data header is 26 bytes: two bytes of padding
			// before the LLC header.
			f = slices.Concat(f[:26], []byte{0, 0}, f[26:])
			return append(h, f...)
		}},
	}
}

// pktap is an Apple PKTAP header (108 bytes, little-endian) for a packet
// of link type lt on en0.
func pktap(lt uint32) []byte {
	h := make([]byte, 108)
	binary.LittleEndian.PutUint32(h[0:], 108)
	binary.LittleEndian.PutUint32(h[4:], 1) // a packet follows
	binary.LittleEndian.PutUint32(h[8:], lt)
	copy(h[12:], "en0")
	binary.LittleEndian.PutUint32(h[36:], 2)   // flags
	binary.LittleEndian.PutUint32(h[40:], 2)   // protocol family
	binary.LittleEndian.PutUint32(h[52:], 123) // process id
	copy(h[56:], "dig")
	return h
}

// prism is a Prism monitor-mode header as wlan-ng and hostap drivers
// write it: message code 0x44 and length 144, little-endian, the device
// name, then ten items (did, status, length, data) of radio values.
func prism() []byte {
	h := binary.LittleEndian.AppendUint32(nil, 0x44)
	h = binary.LittleEndian.AppendUint32(h, 144)
	h = append(h, []byte("wlan0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")...)
	for i := range uint32(10) {
		h = binary.LittleEndian.AppendUint32(h, 0x44|(i+1)<<16) // did: host time, MAC time, channel, ...
		h = binary.LittleEndian.AppendUint16(h, 0)              // status: supplied
		h = binary.LittleEndian.AppendUint16(h, 4)
		h = binary.LittleEndian.AppendUint32(h, 6+i)
	}
	return h
}

// avs is an AVS (wlan-ng capture frame) header, version 1: 64 bytes,
// big-endian.
func avs() []byte {
	h := binary.BigEndian.AppendUint32(nil, 0x80211001)
	h = binary.BigEndian.AppendUint32(h, 64)
	h = binary.BigEndian.AppendUint64(h, 1000) // MAC time
	h = binary.BigEndian.AppendUint64(h, 2000) // host time
	for _, v := range []uint32{4, 6, 110, 1, 0, 1, 0xffffffc4, 0xffffffa0, 1, 1} {
		h = binary.BigEndian.AppendUint32(h, v) // PHY type, channel, rate, antenna, ...
	}
	return h
}

// ppi is a PPI header for a frame of link type lt with one field of the
// given type and length header (little-endian) and data.
func ppi(lt uint32, field, data []byte) []byte {
	n := 8 + len(field) + len(data)
	h := []byte{0, 0, byte(n), byte(n >> 8)}
	h = binary.LittleEndian.AppendUint32(h, lt)
	return slices.Concat(h, field, data)
}

// llcSNAP is an 802.2 LLC/SNAP header (OUI 0) for EtherType et, then p.
func llcSNAP(et uint16, p []byte) []byte {
	return slices.Concat([]byte{0xaa, 0xaa, 0x03, 0, 0, 0, byte(et >> 8), byte(et)}, p)
}

func pppType(ip []byte) layers.PPPType {
	if ipType(ip) == layers.EthernetTypeIPv6 {
		return layers.PPPTypeIPv6
	}
	return layers.PPPTypeIPv4
}

func vxlan(frame []byte) []byte {
	return append([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, frame...)
}

// geneve is a GENEVE header with two options (8 and 4 bytes of data).
func geneve(proto uint16, payload []byte) []byte {
	opts := []byte{
		0x01, 0x08, 0x01, 0x02, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, // class 0x0108 type 1, 8 bytes
		0x01, 0x08, 0x02, 0x01, 0xca, 0xfe, 0xba, 0xbe, // class 0x0108 type 2, 4 bytes
	}
	h := []byte{byte(len(opts) / 4), 0, byte(proto >> 8), byte(proto), 0, 0, 42, 0}
	return slices.Concat(h, opts, payload)
}

// erspan3 is an ERSPAN type III header, with the 8-byte platform
// sub-header when sub.
func erspan3(sub bool) []byte {
	h := []byte{0x20, 11, 0x00, 5, 0, 0, 0, 1, 0, 0, 0, 0x04} // version 2, VLAN 11, session 5, timestamp 1, 100 ns
	if sub {
		h[11] |= 1
		h = append(h, 0x1c, 0, 0, 7, 0, 0, 0, 2) // platform 7
	}
	return h
}

// v6ext inserts hop-by-hop, destination options and routing headers
// after an IPv6 packet's fixed header.
func v6ext(ip []byte) []byte {
	nh := ip[6]
	ext := []byte{
		60, 0, 1, 4, 0, 0, 0, 0, // hop-by-hop: PadN, then destination options
		43, 0, 1, 4, 0, 0, 0, 0, // destination options, then routing
		nh, 0, 0, 0, 0, 0, 0, 0, // routing type 0, no segments left
	}
	out := slices.Concat(ip[:40], ext, ip[40:])
	out[6] = 0
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
	return out
}

// nflog is an NFLOG record with the TLVs in byte order o: packet header,
// prefix, timestamp, then the payload.
func nflog(o binary.AppendByteOrder, ip []byte) []byte {
	fam := byte(2)
	if ipType(ip) == layers.EthernetTypeIPv6 {
		fam = 10
	}
	b := []byte{fam, 0, 0, 5} // family, version 0, resource id 5 (big-endian)
	tlv := func(typ uint16, v []byte) {
		b = o.AppendUint16(b, uint16(4+len(v)))
		b = o.AppendUint16(b, typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	tlv(1, []byte{byte(ipType(ip) >> 8), byte(ipType(ip)), 1, 0}) // NFULA_PACKET_HDR
	tlv(10, []byte("dns\x00"))                                    // NFULA_PREFIX
	tlv(3, make([]byte, 16))                                      // NFULA_TIMESTAMP
	tlv(9, ip)                                                    // NFULA_PAYLOAD
	return b
}

// wlan is an 802.11 data frame from the AP (or, with four addresses,
// across a wireless distribution system) carrying ip after LLC/SNAP; qos
// makes it a QoS data frame, amsdu an A-MSDU whose first subframe is an
// ARP stand-in.
func wlan(qos, four, amsdu bool, ip []byte) []byte {
	fc := []byte{0x08, 0x02} // data, from DS
	if qos {
		fc[0] = 0x88
	}
	if four {
		fc[1] = 0x03
	}
	h := slices.Concat(fc, []byte{0, 0}, macB, macA, macC, []byte{0x10, 0})
	if four {
		h = append(h, macA...)
	}
	if !qos {
		return append(h, llcSNAP(uint16(ipType(ip)), ip)...)
	}
	if !amsdu {
		return slices.Concat(h, []byte{0x00, 0x00}, llcSNAP(uint16(ipType(ip)), ip))
	}
	h = append(h, 0x80, 0x00) // QoS control: A-MSDU present
	sub := func(p []byte) []byte {
		s := slices.Concat(macB, macA, []byte{byte(len(p) >> 8), byte(len(p))}, p)
		return s
	}
	first := sub(llcSNAP(0x0806, make([]byte, 28)))
	for len(first)%4 != 0 {
		first = append(first, 0)
	}
	return slices.Concat(h, first, sub(llcSNAP(uint16(ipType(ip)), ip)))
}

// Packet is one frame of a capture.
type Packet struct {
	Time time.Time
	Data []byte
	Link int // the frame's link type (WritePcapng; WritePcap has one per file)
}

// WritePcap writes a pcap file (microsecond timestamps) of link type link
// whose snap length is snap (0: 65535); frames longer than snap are cut
// to it, as a capture would have.
func WritePcap(w io.Writer, link, snap int, pkts []Packet) error {
	if snap <= 0 {
		snap = 65535
	}
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(uint32(snap), layers.LinkType(link)); err != nil {
		return err
	}
	for _, p := range pkts {
		data := p.Data[:min(len(p.Data), snap)]
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(data), Length: len(p.Data)}
		if err := pw.WritePacket(ci, data); err != nil {
			return err
		}
	}
	return nil
}

// WritePcapng writes a pcapng file with one interface per link type of
// pkts (in order of appearance) and an enhanced packet block per packet.
func WritePcapng(w io.Writer, pkts []Packet) error {
	if len(pkts) == 0 {
		return nil
	}
	ifaces := map[int]int{}
	var order []int
	for _, p := range pkts {
		if _, ok := ifaces[p.Link]; !ok {
			ifaces[p.Link] = len(order)
			order = append(order, p.Link)
		}
	}
	nw, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{LinkType: layers.LinkType(order[0]), SnapLength: 65535}, pcapgo.NgWriterOptions{})
	if err != nil {
		return err
	}
	for _, lt := range order[1:] {
		if _, err := nw.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkType(lt), SnapLength: 65535}); err != nil {
			return err
		}
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: len(p.Data), InterfaceIndex: ifaces[p.Link]}
		if err := nw.WritePacket(ci, p.Data); err != nil {
			return err
		}
	}
	return nw.Flush()
}
