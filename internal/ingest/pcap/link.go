package pcap

import (
	"encoding/binary"
	"sync/atomic"
)

// Link layers: from the start of a captured frame to an IP header. Each
// function takes what is left of the packet and hands the rest on; a
// header that does not fit is counted (BadLink, BadTunnel) and the packet
// dropped.

// EtherTypes the decoder follows.
const (
	etherIPv4     = 0x0800
	etherIPv6     = 0x86dd
	etherVLAN     = 0x8100 // 802.1Q
	etherQinQ     = 0x88a8 // 802.1ad
	etherQinQOld  = 0x9100 // pre-standard QinQ
	etherQinQOld2 = 0x9200
	etherMPLS     = 0x8847
	etherMPLSMC   = 0x8848
	etherPPPoE    = 0x8864 // PPPoE session stage
	etherTEB      = 0x6558 // transparent Ethernet bridging (GRE, GENEVE)
	etherERSPAN   = 0x88be // ERSPAN types I and II (GRE)
	etherERSPAN3  = 0x22eb // ERSPAN type III (GRE)
	etherPPP      = 0x880b // PPP (enhanced GRE, PPTP)
	etherVNTag    = 0x8926 // Cisco VN-Tag
	etherETag     = 0x893f // 802.1BR E-Tag
	etherCMD      = 0x8909 // Cisco MetaData (TrustSec SGT)
	etherPBB      = 0x88e7 // 802.1ah backbone I-TAG
)

// maxVLANTags bounds the stacked VLAN and switch tags of one frame.
const maxVLANTags = 8

func (d *Decoder) link(lt int, data []byte) {
	switch lt {
	case LinkEthernet:
		d.ethernet(data, 0)
	case LinkRaw, LinkRawBSD, LinkRawOBSD, LinkIPv4, LinkIPv6:
		d.ip(data, 0)
	case LinkSLL:
		d.etherAt(data, 14, 16, 0)
	case LinkSLL2:
		d.etherAt(data, 0, 20, 0)
	case LinkNull, LinkLoop:
		if b, ok := d.skipLink(data, 4); ok {
			d.ip(b, 0)
		}
	case LinkNFLOG:
		d.nflog(data)
	case Link80211:
		d.wlan(data)
	case LinkRadiotap:
		d.radiotap(data)
	case LinkPrism:
		d.prism(data)
	case LinkAVS:
		d.avs(data)
	case LinkPPI:
		d.ppi(data)
	case LinkPPP, LinkPPPHDLC:
		d.hdlc(data)
	case LinkPPPWithDir:
		// A direction byte (0: received, else sent), then the frame.
		if b, ok := d.skipLink(data, 1); ok {
			d.hdlc(b)
		}
	case LinkFDDI:
		// Frame control and two addresses (13 bytes), then LLC/SNAP.
		if b, ok := d.skipLink(data, 13); ok {
			d.llc(b)
		}
	case LinkATMRFC1483:
		d.llc(data)
	case LinkIPNet:
		// Version, address family (2 IPv4, 26 IPv6), then 22 bytes.
		if b, ok := d.skipLink(data, 24); ok {
			if f := data[1]; f == 2 || f == 26 {
				d.ip(b, 0)
			} else {
				d.ignore()
			}
		}
	case LinkPKTAP:
		d.pktap(data)
	case LinkPPPoE:
		d.pppoe(data, 0)
	case LinkCHDLC:
		d.etherAt(data, 2, 4, 0)
	case LinkPFLOG:
		// OpenBSD pf: a header whose first byte is its length, padded to
		// 4 bytes, then IP.
		if len(data) < 4 || int(data[0]) < 4 || (int(data[0])+3)&^3 > len(data) {
			d.bad(BadLink)
			return
		}
		d.ip(data[(int(data[0])+3)&^3:], 0)
	default:
		d.bad(LinkType)
	}
}

// skipLink returns what follows a link header of n bytes; a frame
// shorter than that is counted (BadLink).
func (d *Decoder) skipLink(b []byte, n int) ([]byte, bool) {
	if len(b) < n {
		d.bad(BadLink)
		return nil, false
	}
	return b[n:], true
}

// ethernet decodes an Ethernet frame (Ethernet II, or 802.3 with
// LLC/SNAP).
func (d *Decoder) ethernet(b []byte, depth int) { d.etherAt(b, 12, 14, depth) }

// etherAt decodes a link header of hdr bytes with an EtherType at typeOff
// (Ethernet, SLL, SLL2, Cisco HDLC) and what follows.
func (d *Decoder) etherAt(b []byte, typeOff, hdr, depth int) {
	if len(b) < hdr {
		d.bad(BadLink)
		return
	}
	d.ether(be16(b[typeOff:]), b[hdr:], depth)
}

// ether decodes what follows an EtherType: VLAN tags, then IP or a
// tunnel. depth is the number of encapsulations already entered.
func (d *Decoder) ether(etype uint16, b []byte, depth int) {
	vlans := 0
	for tags := 0; ; tags++ {
		switch etype {
		case etherIPv4, etherIPv6:
			d.ip(b, depth)
			return
		case etherVLAN, etherQinQ, etherQinQOld, etherQinQOld2:
			if len(b) < 4 || tags == maxVLANTags {
				d.bad(BadLink)
				return
			}
			if vlans++; vlans == 1 {
				d.encap(EncapVLAN)
			} else {
				d.encap(EncapQinQ)
			}
			etype = be16(b[2:4])
			b = b[4:]
			continue
		case etherVNTag, etherETag, etherCMD, etherPBB:
			// Switch tags: a fixed header, then an EtherType (PBB: the
			// customer's addresses first).
			n := 6
			switch etype {
			case etherVNTag:
				n = 4
			case etherPBB:
				n = 16
			}
			if len(b) < n+2 || tags == maxVLANTags {
				d.bad(BadLink)
				return
			}
			d.encap(EncapTag)
			etype = be16(b[n : n+2])
			b = b[n+2:]
			continue
		case etherMPLS, etherMPLSMC:
			d.mpls(b, depth)
		case etherPPPoE:
			d.pppoe(b, depth)
		case etherTEB:
			if d.deeper(depth) {
				d.ethernet(b, depth+1)
			}
		default:
			if etype <= 1500 {
				// An 802.3 length field: LLC, with SNAP for IP.
				if et, rest, ok := snap(b); ok {
					etype, b = et, rest
					continue
				}
			}
			d.ignore()
		}
		return
	}
}

// snap reads an LLC/SNAP header (RFC 1042 or 802.1H OUI) and returns the
// EtherType and payload after it.
func snap(b []byte) (uint16, []byte, bool) {
	if len(b) < 8 || b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 || b[3] != 0 || b[4] != 0 || (b[5] != 0 && b[5] != 0xf8) {
		return 0, nil, false
	}
	return be16(b[6:8]), b[8:], true
}

// mpls decodes a label stack and its payload: IPv4 or IPv6 by the first
// nibble, else an Ethernet pseudowire (RFC 4448). A pseudowire's first
// nibble is 0 with a control word, but a destination MAC address often
// starts with 0 too: the control word is assumed (RFC 8469 makes it the
// rule) unless only the frame without it has an EtherType the decoder
// follows.
func (d *Decoder) mpls(b []byte, depth int) {
	if !d.deeper(depth) {
		return
	}
	d.encap(EncapMPLS)
	for {
		if len(b) < 4 {
			d.bad(BadTunnel)
			return
		}
		bos := b[2]&1 != 0
		b = b[4:]
		if bos {
			break
		}
	}
	if len(b) == 0 {
		d.bad(BadTunnel)
		return
	}
	switch b[0] >> 4 {
	case 4, 6:
		d.ip(b, depth+1)
	case 0:
		if len(b) >= 14 && followed(be16(b[12:14])) && (len(b) < 18 || !followed(be16(b[16:18]))) {
			d.ethernet(b, depth+1)
			return
		}
		if len(b) < 4 {
			d.bad(BadTunnel)
			return
		}
		d.ethernet(b[4:], depth+1)
	default:
		d.ethernet(b, depth+1)
	}
}

// followed reports whether ether takes EtherType t further than counting
// it.
func followed(t uint16) bool {
	switch t {
	case etherIPv4, etherIPv6, etherVLAN, etherQinQ, etherQinQOld, etherQinQOld2, etherMPLS, etherMPLSMC, etherPPPoE:
		return true
	}
	return false
}

// pppoe decodes a PPPoE session header (RFC 2516) and the PPP frame after
// it.
func (d *Decoder) pppoe(b []byte, depth int) {
	if !d.deeper(depth) {
		return
	}
	d.encap(EncapPPPoE)
	if len(b) < 6 || b[0] != 0x11 || b[1] != 0 {
		d.bad(BadTunnel)
		return
	}
	if n := int(be16(b[4:6])); 6+n < len(b) {
		b = b[:6+n] // cut Ethernet padding
	}
	d.ppp(b[6:], depth+1)
}

// ppp decodes a PPP frame, with or without the HDLC-like address and
// control bytes, with a one- or two-byte protocol field.
func (d *Decoder) ppp(b []byte, depth int) {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		d.bad(BadLink)
		return
	}
	var proto uint16
	if b[0]&1 != 0 { // protocol field compressed to one byte
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			d.bad(BadLink)
			return
		}
		proto, b = be16(b[0:2]), b[2:]
	}
	switch proto {
	case 0x0021, 0x0057: // IPv4, IPv6
		d.ip(b, depth)
	default:
		d.ignore()
	}
}

// nflog decodes a Linux NFLOG record: a 4-byte header (address family,
// version, resource id), then TLVs whose length and type are in the byte
// order of the host that captured; the payload TLV (type 9) holds the
// network-layer packet. The byte order is guessed as tshark does: the
// first that gives a plausible TLV chain.
func (d *Decoder) nflog(b []byte) {
	if len(b) < 4 {
		d.bad(BadLink)
		return
	}
	family := b[0]
	tlvs := b[4:]
	var order binary.ByteOrder
	switch {
	case nflogOrder(tlvs, binary.BigEndian):
		order = binary.BigEndian
	case nflogOrder(tlvs, binary.LittleEndian):
		order = binary.LittleEndian
	default:
		d.bad(BadLink)
		return
	}
	for len(tlvs) >= 4 {
		n := int(order.Uint16(tlvs[0:2]))
		typ := order.Uint16(tlvs[2:4]) & 0x7fff
		if n < 4 {
			d.bad(BadLink)
			return
		}
		if n > len(tlvs) {
			n = len(tlvs) // cut by the snap length: IP sees the rest
		}
		if typ == 9 {
			d.encap(EncapNFLOG)
			p := tlvs[4:n]
			switch {
			case family == 2 && len(p) > 0 && p[0]>>4 == 4: // AF_INET
				d.ipv4(p, 0)
			case family == 10 && len(p) > 0 && p[0]>>4 == 6: // AF_INET6
				d.ipv6(p, 0)
			default:
				d.ignore()
			}
			return
		}
		tlvs = tlvs[min(len(tlvs), (n+3)&^3):]
	}
	d.ignore() // no payload (e.g. logged without --nflog-range)
}

// nflogOrder reports whether the TLVs read plausibly in byte order o:
// lengths of at least 4 and a known type before an implausible one.
func nflogOrder(b []byte, o binary.ByteOrder) bool {
	for len(b) > 4 {
		n := int(o.Uint16(b[0:2]))
		typ := o.Uint16(b[2:4]) & 0x7fff
		if n < 4 || typ >= 0x100 {
			return false
		}
		if typ != 0 {
			return true
		}
		b = b[min(len(b), (n+3)&^3):]
	}
	return false
}

// radiotap skips a radiotap header (its length is in the header) and
// decodes the 802.11 frame after it. When the header's flags say the frame
// has padding between its 802.11 header and payload, that is honoured.
func (d *Decoder) radiotap(b []byte) {
	n, ok := d.v0Header(b)
	if !ok {
		return
	}
	pad := false
	present := binary.LittleEndian.Uint32(b[4:8])
	if present&(1<<1) != 0 { // Flags field present
		// Fields follow the (possibly extended) presence bitmaps, each
		// aligned to its size; only TSFT (8 bytes) comes before Flags.
		off := 8
		for p := present; p&(1<<31) != 0 && off+4 <= n; off += 4 {
			p = binary.LittleEndian.Uint32(b[off:])
		}
		if present&1 != 0 {
			off = (off+7)&^7 + 8
		}
		if off < n {
			pad = b[off]&0x20 != 0
		}
	}
	d.wlanFrame(b[n:], pad)
}

func (d *Decoder) wlan(b []byte) { d.wlanFrame(b, false) }

// The monitor-mode headers of older 802.11 captures (Kismet, airodump-ng,
// wlan-ng drivers), read as tshark and tcpdump read them.
const (
	avsMagic1 = 0x80211001 // AVS header version 1
	avsMagic2 = 0x80211002 // version 2
	// prismHeader is the length of a Prism header (message code and
	// length, device name, ten items of 12 bytes).
	prismHeader = 144
	// prismCode1 and prismCode2 are a Prism header's message codes.
	prismCode1 = 0x44
	prismCode2 = 0x41
	// pktapHeader is the length of a PKTAP header, version 1.
	pktapHeader = 108
)

// prism decodes LINKTYPE_IEEE802_11_PRISM as tshark and tcpdump read it:
// an AVS header when the first word (big-endian) is an AVS version; a
// Prism header of 144 bytes when it is a Prism message code (in either
// byte order; its length field is not trusted); else a bare 802.11 frame.
func (d *Decoder) prism(b []byte) {
	if len(b) >= 4 {
		if v := binary.BigEndian.Uint32(b); v == avsMagic1 || v == avsMagic2 {
			d.avs(b)
			return
		}
		switch binary.LittleEndian.Uint32(b) {
		case prismCode1, prismCode2, prismCode1 << 24, prismCode2 << 24:
			if b, ok := d.skipLink(b, prismHeader); ok {
				d.wlanFrame(b, false)
			}
			return
		}
	}
	d.wlanFrame(b, false)
}

// avs decodes LINKTYPE_IEEE802_11_AVS: version and header length (both
// big-endian), the radio fields, then an 802.11 frame.
func (d *Decoder) avs(b []byte) {
	if len(b) < 8 {
		d.bad(BadLink)
		return
	}
	if v := binary.BigEndian.Uint32(b); v != avsMagic1 && v != avsMagic2 {
		d.bad(BadLink)
		return
	}
	n := binary.BigEndian.Uint32(b[4:])
	if n < 8 || n > uint32(len(b)) {
		d.bad(BadLink)
		return
	}
	d.wlanFrame(b[n:], false)
}

// hdlc decodes a frame in HDLC-like framing: PPP (address 0xff), or
// Cisco HDLC (address 0x0f or 0x8f, then an EtherType), as tshark takes
// both under these link types.
func (d *Decoder) hdlc(b []byte) {
	if len(b) > 0 && (b[0] == 0x0f || b[0] == 0x8f) {
		d.etherAt(b, 2, 4, 0)
		return
	}
	d.ppp(b, 0)
}

// pktap decodes Apple's PKTAP header (macOS tcpdump -i pktap): its
// length (at least the 108 bytes of version 1, as tshark requires), the
// record type (1: a packet follows) and the link type of the packet,
// little-endian, then the packet, decoded as that link type says
// (inner).
func (d *Decoder) pktap(b []byte) {
	if len(b) < pktapHeader {
		d.bad(BadLink)
		return
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	lt := binary.LittleEndian.Uint32(b[8:12])
	switch {
	case n < pktapHeader || n > uint32(len(b)):
		d.bad(BadLink)
	case binary.LittleEndian.Uint32(b[4:8]) != 1:
		d.ignore() // no packet follows
	default:
		d.inner(lt, b[n:])
	}
}

// inner decodes the frame a PPI or PKTAP header announces as of link type
// lt. Another such header inside is refused, so that they nest at most
// two deep.
func (d *Decoder) inner(lt uint32, b []byte) {
	switch {
	case lt == LinkPPI || lt == LinkPKTAP:
		d.bad(BadLink)
	case !SupportedLink(int(lt)):
		d.bad(LinkType)
	default:
		d.link(int(lt), b)
	}
}

// ppi decodes LINKTYPE_PPI: version 0, flags, header length and the link
// type of the frame that follows (little-endian), whatever fields the
// header carries (802.11 radio information, GPS). The frame is decoded as
// its link type says (inner).
func (d *Decoder) ppi(b []byte) {
	if n, ok := d.v0Header(b); ok {
		d.inner(binary.LittleEndian.Uint32(b[4:8]), b[n:])
	}
}

// v0Header returns the length of a radiotap or PPI header: version 0, a
// byte of padding or flags, then the header's length (little-endian, 8
// bytes at least, within b). A bad header is counted (BadLink).
func (d *Decoder) v0Header(b []byte) (int, bool) {
	if len(b) < 8 || b[0] != 0 {
		d.bad(BadLink)
		return 0, false
	}
	n := int(binary.LittleEndian.Uint16(b[2:4]))
	if n < 8 || n > len(b) {
		d.bad(BadLink)
		return 0, false
	}
	return n, true
}

// wlanFrame decodes an 802.11 data frame: QoS or not, three or four
// addresses, HT control, LLC/SNAP, A-MSDU aggregates. Management and
// control frames, null data, fragments and protected (encrypted) frames
// are counted and skipped. pad: the payload starts at a 4-byte boundary
// (radiotap's data-pad flag).
func (d *Decoder) wlanFrame(b []byte, pad bool) {
	if len(b) < 24 {
		d.bad(BadLink)
		return
	}
	fc0, flags := b[0], b[1]
	if fc0&3 != 0 || (fc0>>2)&3 != 2 { // version 0, type data
		d.ignore()
		return
	}
	subtype := fc0 >> 4
	if subtype&4 != 0 { // null function: no data
		d.ignore()
		return
	}
	if flags&0x40 != 0 { // protected
		atomic.AddUint64(&d.stats.Protected, 1)
		return
	}
	if flags&0x04 != 0 || binary.LittleEndian.Uint16(b[22:24])&0xf != 0 {
		d.ignore() // a fragment: 802.11 fragments are not reassembled
		return
	}
	hdr := 24
	if flags&0x03 == 0x03 { // to and from DS: a fourth address
		hdr += 6
	}
	amsdu := false
	if subtype&8 != 0 { // QoS data
		if len(b) < hdr+2 {
			d.bad(BadLink)
			return
		}
		amsdu = b[hdr]&0x80 != 0
		hdr += 2
		if flags&0x80 != 0 { // +HTC
			hdr += 4
		}
	}
	if pad {
		hdr = (hdr + 3) &^ 3
	}
	if len(b) < hdr {
		d.bad(BadLink)
		return
	}
	b = b[hdr:]
	d.encap(Encap80211)
	if !amsdu || len(b) == 0 {
		d.llc(b)
		return
	}
	// A-MSDU: subframes of destination, source, length, then LLC/SNAP
	// and payload, each padded to 4 bytes.
	for len(b) > 0 {
		if len(b) < 14 {
			d.bad(BadLink)
			return
		}
		n := int(be16(b[12:14]))
		d.llc(b[14:min(len(b), 14+n)])
		if d.err != nil {
			return
		}
		b = b[min(len(b), (14+n+3)&^3):]
	}
}

// llc decodes an 802.2 LLC/SNAP header and what follows it.
func (d *Decoder) llc(b []byte) {
	et, rest, ok := snap(b)
	if !ok {
		d.ignore()
		return
	}
	d.ether(et, rest, 0)
}
