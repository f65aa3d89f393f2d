package pcap

import (
	"encoding/binary"
	"sync/atomic"
)

// The network and transport layers: IPv4 and IPv6 (extension headers,
// fragments), IP in IP, GRE, UDP (with its tunnels and the any-port
// match) and TCP (tcp.go).

// ip decodes an IPv4 or IPv6 packet by its version nibble.
func (d *Decoder) ip(b []byte, depth int) {
	if len(b) < 1 {
		d.bad(BadIPv4)
		return
	}
	switch b[0] >> 4 {
	case 4:
		d.ipv4(b, depth)
	case 6:
		d.ipv6(b, depth)
	default:
		d.ignore()
	}
}

func (d *Decoder) ipv4(b []byte, depth int) {
	if len(b) < 20 {
		d.bad(BadIPv4)
		return
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || total < ihl {
		d.bad(BadIPv4)
		return
	}
	if len(b) < ihl {
		d.bad(Truncated)
		return
	}
	truncated := false
	if total <= len(b) {
		b = b[:total] // cut Ethernet padding
	} else {
		truncated = true
	}
	proto := b[9]
	frag := binary.BigEndian.Uint16(b[6:8])
	var src, dst [16]byte
	copy(src[:4], b[12:16])
	copy(dst[:4], b[16:20])
	payload := b[ihl:]
	if frag&0x3fff != 0 { // MF set or offset > 0
		if truncated {
			d.bad(Truncated)
			return
		}
		key := fragKey{src: src, dst: dst, id: uint32(binary.BigEndian.Uint16(b[4:6])), proto: proto, v6: false}
		full, ok := d.frags.add(d, key, int(frag&0x1fff)*8, frag&0x2000 != 0, payload)
		if !ok {
			return
		}
		atomic.AddUint64(&d.stats.Reassembled, 1)
		payload = full
	}
	d.transport(proto, &src, &dst, payload, truncated, false, depth)
}

func (d *Decoder) ipv6(b []byte, depth int) {
	if len(b) < 40 {
		d.bad(BadIPv6)
		return
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	truncated := false
	if plen == 0 {
		// Jumbogram or garbage: DNS never needs one.
		d.ignore()
		return
	}
	if 40+plen <= len(b) {
		b = b[:40+plen]
	} else {
		truncated = true
	}
	var src, dst [16]byte
	copy(src[:], b[8:24])
	copy(dst[:], b[24:40])
	next := b[6]
	p := b[40:]
	for {
		switch next {
		case 0, 43, 60, 135, 139, 140, 253, 254, 51:
			// Hop-by-hop, routing, destination options, mobility, HIP,
			// shim6, experimental: the uniform format of RFC 6564; the
			// authentication header (51) counts its length in 4 bytes.
			if len(p) < 8 {
				d.bad(BadIPv6)
				return
			}
			n := (int(p[1]) + 1) * 8
			if next == 51 {
				n = (int(p[1]) + 2) * 4
			}
			if len(p) < n {
				d.bad(BadIPv6)
				return
			}
			d.encap(EncapIPv6Ext)
			next, p = p[0], p[n:]
			continue
		case 44: // fragment
			if len(p) < 8 {
				d.bad(BadIPv6)
				return
			}
			if truncated {
				d.bad(Truncated)
				return
			}
			d.encap(EncapIPv6Ext)
			off := int(binary.BigEndian.Uint16(p[2:4]) &^ 7)
			more := p[3]&1 != 0
			id := binary.BigEndian.Uint32(p[4:8])
			nh := p[0]
			if off == 0 && !more {
				// Atomic fragment (RFC 6946): nothing to reassemble.
				next, p = nh, p[8:]
				continue
			}
			key := fragKey{src: src, dst: dst, id: id, proto: nh, v6: true}
			full, ok := d.frags.add(d, key, off, more, p[8:])
			if !ok {
				return
			}
			atomic.AddUint64(&d.stats.Reassembled, 1)
			// The reassembled payload starts with the header that
			// followed the fragment header (RFC 8200 4.5).
			next, p = nh, full
			continue
		}
		break
	}
	d.transport(next, &src, &dst, p, truncated, true, depth)
}

func (d *Decoder) transport(proto byte, src, dst *[16]byte, p []byte, truncated, v6 bool, depth int) {
	switch proto {
	case 17:
		d.udp(src, dst, p, truncated, v6, depth)
	case 6:
		d.tcp(src, dst, p, truncated, v6)
	case 4, 41: // IPv4 or IPv6 encapsulated
		if d.deeper(depth) {
			d.encap(EncapIPinIP)
			d.ip(p, depth+1)
		}
	case 47:
		d.gre(p, depth)
	default:
		d.ignore()
	}
}

// UDP ports of the tunnels the decoder opens (IANA assignments, as tshark
// decodes them by default).
const (
	portVXLAN    = 4789
	portVXLANGPE = 4790
	portGENEVE   = 6081
	portGTPU     = 2152
	portTeredo   = 3544
)

func tunnelPort(p uint16) bool {
	switch p {
	case portVXLAN, portVXLANGPE, portGENEVE, portGTPU, portTeredo:
		return true
	}
	return false
}

// udp passes a datagram sent from a DNS port to the handler (whole, or as
// captured when the snap length cut it), counts queries, opens tunnels
// sent to or from their port, and with AnyPort tries the other ports. As
// tshark does, a DNS port wins over a tunnel port.
func (d *Decoder) udp(src, dst *[16]byte, p []byte, truncated, v6 bool, depth int) {
	if len(p) < 8 {
		d.badOrCut(BadUDP, truncated)
		return
	}
	sport := binary.BigEndian.Uint16(p[0:2])
	dport := binary.BigEndian.Uint16(p[2:4])
	ulen := int(binary.BigEndian.Uint16(p[4:6]))
	switch {
	case d.isPort(sport):
		if body, cut, ok := d.udpBody(p, ulen, truncated); ok {
			d.message(body, sport, cut)
		}
	case d.isPort(dport):
		atomic.AddUint64(&d.stats.Queries, 1)
	case tunnelPort(dport) || tunnelPort(sport):
		if ulen < 8 {
			d.bad(BadUDP)
			return
		}
		port := dport
		if !tunnelPort(dport) {
			port = sport
		}
		d.udpTunnel(port, p[8:min(ulen, len(p))], depth)
	case d.opt.AnyPort && sport != DoTPort && dport != DoTPort:
		if body, cut, ok := d.udpBody(p, ulen, truncated); ok {
			d.anyPort(src, dst, sport, dport, v6, body, cut)
		}
	default:
		d.ignore()
	}
}

// udpBody returns a datagram's payload: whole, or as captured when the
// snap length cut it (cut), as long as a DNS header is there.
func (d *Decoder) udpBody(p []byte, ulen int, truncated bool) (body []byte, cut, ok bool) {
	switch {
	case ulen < 8:
		d.bad(BadUDP)
	case ulen <= len(p):
		return p[8:ulen], false, true
	case !truncated:
		d.bad(BadUDP)
	case len(p) < 8+12:
		d.bad(Truncated)
	default:
		return p[8:], true, true
	}
	return nil, false, false
}

// message passes a UDP message to the handler.
func (d *Decoder) message(body []byte, port uint16, cut bool) {
	atomic.AddUint64(&d.stats.Messages, 1)
	if cut {
		atomic.AddUint64(&d.stats.Cut, 1)
	}
	d.emit(body, port, false, cut)
}
