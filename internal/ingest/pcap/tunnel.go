package pcap

// Tunnels: GRE (RFC 2784, 2890, the keys and sequence numbers of RFC 1701
// and the enhanced GRE of PPTP, RFC 2637), ERSPAN types I, II and III
// (draft-foschiano-erspan), VXLAN (RFC 7348), VXLAN-GPE
// (draft-ietf-nvo3-vxlan-gpe), GENEVE (RFC 8926), GTP-U (3GPP TS 29.281)
// and Teredo (RFC 4380). Each counts one level of Options.MaxDepth.

const (
	greChecksum = 0x8000
	greRouting  = 0x4000
	greKey      = 0x2000
	greSeq      = 0x1000
	greAck      = 0x0080 // enhanced GRE only
)

// gre decodes a GRE header and its payload, whatever the optional fields.
func (d *Decoder) gre(b []byte, depth int) {
	if !d.deeper(depth) {
		return
	}
	d.encap(EncapGRE)
	if len(b) < 4 {
		d.bad(BadTunnel)
		return
	}
	flags := be16(b[0:2])
	proto := be16(b[2:4])
	off := 4
	switch flags & 7 {
	case 0:
		if flags&(greChecksum|greRouting) != 0 {
			off += 4 // checksum and offset
		}
		if flags&greKey != 0 {
			off += 4
		}
		if flags&greSeq != 0 {
			off += 4
		}
		if flags&greRouting != 0 {
			// RFC 1701 source route entries, ended by a null one.
			for {
				if len(b) < off+4 {
					d.bad(BadTunnel)
					return
				}
				n := int(b[off+3])
				off += 4 + n
				if n == 0 && be16(b[off-4:]) == 0 {
					break
				}
			}
		}
	case 1: // enhanced GRE: key (payload length, call id) always there
		off += 4
		if flags&greSeq != 0 {
			off += 4
		}
		if flags&greAck != 0 {
			off += 4
		}
	default:
		d.bad(BadTunnel)
		return
	}
	if len(b) < off {
		d.bad(BadTunnel)
		return
	}
	b = b[off:]
	switch proto {
	case etherERSPAN, etherERSPAN3:
		d.erspan(flags, b, depth+1)
	case etherTEB:
		d.ethernet(b, depth+1)
	case etherPPP:
		d.ppp(b, depth+1)
	default:
		d.ether(proto, b, depth+1)
	}
}

// erspan decodes an ERSPAN header after GRE and the mirrored Ethernet
// frame. As tshark does, a GRE header without any flag means type I (no
// ERSPAN header at all); otherwise the version field tells type II (8
// bytes) from type III (12 bytes and an optional 8-byte platform
// sub-header).
func (d *Decoder) erspan(greFlags uint16, b []byte, depth int) {
	if greFlags == 0 {
		d.encap(EncapERSPAN1)
		d.ethernet(b, depth)
		return
	}
	if len(b) < 8 {
		d.bad(BadTunnel)
		return
	}
	switch b[0] >> 4 {
	case 1:
		d.encap(EncapERSPAN2)
		d.ethernet(b[8:], depth)
	case 2:
		d.encap(EncapERSPAN3)
		n := 12
		if len(b) >= 12 && b[11]&1 != 0 { // O: platform sub-header
			n += 8
		}
		if len(b) < n {
			d.bad(BadTunnel)
			return
		}
		d.ethernet(b[n:], depth)
	default:
		d.bad(BadTunnel)
	}
}

// udpTunnel decodes the payload of a datagram to or from a tunnel port.
func (d *Decoder) udpTunnel(port uint16, b []byte, depth int) {
	switch port {
	case portVXLAN:
		d.vxlan(b, depth)
	case portVXLANGPE:
		d.vxlanGPE(b, depth)
	case portGENEVE:
		d.geneve(b, depth)
	case portGTPU:
		d.gtpu(b, depth)
	case portTeredo:
		d.teredo(b, depth)
	}
}

// gtpu decodes a GTP-U (version 1) header with its optional fields and
// extension headers; only T-PDU messages carry IP packets.
func (d *Decoder) gtpu(b []byte, depth int) {
	if !d.deeper(depth) {
		return
	}
	d.encap(EncapGTPU)
	if len(b) < 8 || b[0]>>5 != 1 || b[0]&0x10 == 0 { // version 1, GTP (not GTP')
		d.bad(BadTunnel)
		return
	}
	if b[1] != 0xff { // echo, error indication, end marker...
		d.ignore()
		return
	}
	if n := 8 + int(be16(b[2:4])); n < len(b) {
		b = b[:n]
	}
	off := 8
	if b[0]&0x07 != 0 { // E, S or PN: sequence, N-PDU, next extension type
		if len(b) < 12 {
			d.bad(BadTunnel)
			return
		}
		off = 12
		for next := b[11]; next != 0; {
			if len(b) <= off {
				d.bad(BadTunnel)
				return
			}
			n := 4 * int(b[off])
			if n == 0 || len(b) < off+n {
				d.bad(BadTunnel)
				return
			}
			next = b[off+n-1]
			off += n
		}
	}
	d.ip(b[off:], depth+1)
}

// teredo decodes Teredo (IPv6 in UDP): optional authentication and origin
// indication headers, then IPv6.
func (d *Decoder) teredo(b []byte, depth int) {
	if !d.deeper(depth) {
		return
	}
	d.encap(EncapTeredo)
	if len(b) >= 4 && b[0] == 0 && b[1] == 1 { // authentication
		n := 4 + int(b[2]) + int(b[3]) + 8 + 1
		if len(b) < n {
			d.bad(BadTunnel)
			return
		}
		b = b[n:]
	}
	if len(b) >= 8 && b[0] == 0 && b[1] == 0 { // origin indication
		b = b[8:]
	}
	if len(b) == 0 || b[0]>>4 != 6 {
		d.ignore() // a bubble or something else
		return
	}
	d.ipv6(b, depth+1)
}

// vxlan decodes a VXLAN header and the Ethernet frame after it.
func (d *Decoder) vxlan(b []byte, depth int) {
	if !d.deeper(depth) {
		return
	}
	d.encap(EncapVXLAN)
	if len(b) < 8 {
		d.bad(BadTunnel)
		return
	}
	d.ethernet(b[8:], depth+1)
}

// vxlanGPE decodes a VXLAN-GPE header: its next-protocol field names
// IPv4, IPv6, Ethernet or MPLS (Ethernet when the P flag is clear).
func (d *Decoder) vxlanGPE(b []byte, depth int) {
	if !d.deeper(depth) {
		return
	}
	d.encap(EncapVXLANGPE)
	if len(b) < 8 {
		d.bad(BadTunnel)
		return
	}
	next := byte(3)
	if b[0]&0x04 != 0 {
		next = b[3]
	}
	p := b[8:]
	switch next {
	case 1, 2:
		d.ip(p, depth+1)
	case 3:
		d.ethernet(p, depth+1)
	case 5:
		d.mpls(p, depth+1)
	default:
		d.ignore()
	}
}

// geneve decodes a GENEVE header, skips its options, and decodes the
// payload its protocol type names (Ethernet, IPv4, IPv6, ...).
func (d *Decoder) geneve(b []byte, depth int) {
	if !d.deeper(depth) {
		return
	}
	d.encap(EncapGENEVE)
	if len(b) < 8 || b[0]>>6 != 0 {
		d.bad(BadTunnel)
		return
	}
	n := 8 + int(b[0]&0x3f)*4
	if len(b) < n {
		d.bad(BadTunnel)
		return
	}
	proto := be16(b[2:4])
	if proto == etherTEB {
		d.ethernet(b[n:], depth+1)
		return
	}
	d.ether(proto, b[n:], depth+1)
}
