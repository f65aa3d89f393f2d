// Command gen writes a pcap of what a recursive resolver exchanges with
// authoritative servers, for bench/ingest: referrals from the root, a TLD
// and second-level zones with glue (some of it out of bailiwick), answers
// with CNAME chains, A/AAAA/MX/TXT/SOA/NS records, RRSIGs, NXDOMAIN and
// NODATA, over IPv4 and IPv6, UDP and (2%) TCP with handshakes and
// responses split across segments. Names follow a Zipf law so that popular
// names repeat. Names live under .test, addresses in the documentation
// ranges. Deterministic for a given -seed. -encap wraps every frame the
// same way in one of ingest/pcap/pcaptest's encapsulations (a mirrored
// copy of the same traffic, to measure what decapsulation costs); -tcp 0
// makes the capture plain UDP.
//
//	go run ./bench/ingest/gen -o /tmp/upstream.pcap -packets 521000
//	go run ./bench/ingest/gen -o /tmp/upstream-vxlan.pcap -packets 521000 -encap VXLAN
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap/pcaptest"
)

func main() {
	out := flag.String("o", "upstream.pcap", "output pcap file")
	packets := flag.Int("packets", 521000, "number of packets")
	domains := flag.Int("domains", 120000, "number of second-level domains")
	seed := flag.Uint64("seed", 1, "random seed")
	encap := flag.String("encap", "", "wrap every frame in this encapsulation of ingest/pcap/pcaptest (e.g. VXLAN, \"GENEVE with options\", \"802.1Q VLAN\")")
	tcp := flag.Int("tcp", 2, "percent of exchanges over TCP")
	flag.Parse()
	if err := run(*out, *packets, *domains, *seed, *encap, *tcp); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

type gen struct {
	wrap     func(ip []byte) []byte // nil: plain Ethernet
	tcpPct   int
	r        *rand.Rand
	zipf     *rand.Zipf
	domains  int
	w        *pcapgo.Writer
	ts       time.Time
	written  int
	resolver [2]netip.Addr // v4, v6
	buf      []byte
}

func run(path string, packets, domains int, seed uint64, encap string, tcpPct int) error {
	link := layers.LinkTypeEthernet
	var wrap func([]byte) []byte
	if encap != "" {
		var names []string
		for _, e := range pcaptest.Encaps() {
			names = append(names, e.Name)
			if e.Name == encap {
				link, wrap = layers.LinkType(e.Link), e.Wrap
			}
		}
		if wrap == nil {
			return fmt.Errorf("unknown encapsulation %q; known: %s", encap, strings.Join(names, ", "))
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(65535, link); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &gen{
		wrap:     wrap,
		tcpPct:   tcpPct,
		r:        r,
		zipf:     rand.NewZipf(r, 1.1, 4, uint64(domains-1)),
		domains:  domains,
		w:        w,
		ts:       time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		resolver: [2]netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8:53::53")},
	}
	for g.written < packets {
		if err := g.exchange(packets - g.written); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: %d packets, %s of capture time\n", g.written, g.ts.Sub(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).Truncate(time.Second))
	return nil
}

func (g *gen) domain(i int) string { return fmt.Sprintf("d%d.z%02d.test.", i, i%100) }
func (g *gen) zone(i int) string   { return fmt.Sprintf("z%02d.test.", i%100) }

// server returns the address of one of a zone's name servers.
func (g *gen) server(zone string, v6 bool, k int) netip.Addr {
	h := uint32(2166136261)
	for i := 0; i < len(zone); i++ {
		h = (h ^ uint32(zone[i])) * 16777619
	}
	h += uint32(k) * 7919
	if v6 {
		var b [16]byte
		copy(b[:], []byte{0x20, 0x01, 0x0d, 0xb8})
		binary.BigEndian.PutUint32(b[12:], h)
		return netip.AddrFrom16(b)
	}
	if h&1 == 0 {
		return netip.AddrFrom4([4]byte{198, 51, 100, byte(h >> 8)})
	}
	return netip.AddrFrom4([4]byte{203, 0, 113, byte(h >> 8)})
}

func (g *gen) a(i, k int) string {
	return fmt.Sprintf("198.51.100.%d", (i*7+k)%254+1)
}

func (g *gen) aaaa(i, k int) string { return fmt.Sprintf("2001:db8:%x::%x", i%65536, k+1) }

func rr(s string) dns.RR {
	x, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return x
}

// exchange writes one query and its response (at most budget packets).
func (g *gen) exchange(budget int) error {
	i := int(g.zipf.Uint64())
	dom := g.domain(i)
	hosts := []string{"www", "mail", "api", "cdn", "login", "static", "m", "app"}
	host := hosts[(i+g.r.IntN(3))%len(hosts)] + "." + dom
	q := new(dns.Msg)
	m := new(dns.Msg)
	serverZone := dom
	var qtype uint16
	p := g.r.IntN(100)
	ttl := "3600"
	signed := i%10 == 0
	switch {
	case p < 45: // authoritative A/AAAA, maybe through a CNAME chain
		qtype = dns.TypeA
		if g.r.IntN(4) == 0 {
			qtype = dns.TypeAAAA
		}
		q.SetQuestion(host, qtype)
		m.SetReply(q)
		m.Authoritative = true
		target := host
		if i%5 == 0 {
			target = "edge" + fmt.Sprint(i%7) + "." + dom
			m.Answer = append(m.Answer, rr(host+" "+ttl+" IN CNAME "+target))
		}
		for k := range 1 + i%3 {
			if qtype == dns.TypeA {
				m.Answer = append(m.Answer, rr(target+" 300 IN A "+g.a(i, k)))
			} else {
				m.Answer = append(m.Answer, rr(target+" 300 IN AAAA "+g.aaaa(i, k)))
			}
		}
		if g.r.IntN(2) == 0 {
			g.nsGlue(m, dom, i, true)
		}
	case p < 55: // MX with in-zone additional addresses
		qtype = dns.TypeMX
		q.SetQuestion(dom, qtype)
		m.SetReply(q)
		m.Authoritative = true
		for k := range 2 {
			mx := fmt.Sprintf("mx%d.%s", k+1, dom)
			m.Answer = append(m.Answer, rr(fmt.Sprintf("%s %s IN MX %d %s", dom, ttl, 10*(k+1), mx)))
			m.Extra = append(m.Extra, rr(mx+" 300 IN A "+g.a(i, k+5)))
		}
	case p < 60: // TXT
		qtype = dns.TypeTXT
		q.SetQuestion(dom, qtype)
		m.SetReply(q)
		m.Authoritative = true
		m.Answer = append(m.Answer, rr(fmt.Sprintf(`%s %s IN TXT "v=spf1 ip4:%s include:_spf.z%02d.test ~all"`, dom, ttl, g.a(i, 1), i%100)))
		if i%3 == 0 {
			m.Answer = append(m.Answer, rr(fmt.Sprintf(`%s %s IN TXT "site-verification=%016x%016x" "second string %d"`, dom, ttl, g.r.Uint64(), g.r.Uint64(), i)))
		}
	case p < 63: // NS or SOA at the apex
		qtype = dns.TypeNS
		if p == 62 {
			qtype = dns.TypeSOA
		}
		q.SetQuestion(dom, qtype)
		m.SetReply(q)
		m.Authoritative = true
		if qtype == dns.TypeSOA {
			m.Answer = append(m.Answer, g.soa(dom, i))
		} else {
			g.nsGlue(m, dom, i, false)
			m.Answer, m.Ns = m.Ns, nil
		}
	case p < 83: // referral from the zNN.test servers
		qtype = dns.TypeA
		q.SetQuestion(host, qtype)
		m.SetReply(q)
		serverZone = g.zone(i)
		g.nsGlue(m, dom, i, true)
		if i%4 == 0 { // a provider's name servers, out of bailiwick
			m.Ns = append(m.Ns, rr(fmt.Sprintf("%s 86400 IN NS ns1.provider%d.example.", dom, i%50)))
			m.Extra = append(m.Extra, rr(fmt.Sprintf("ns1.provider%d.example. 86400 IN A %s", i%50, g.a(i, 9))))
		}
	case p < 85: // referral from the root or from test.
		qtype = dns.TypeA
		q.SetQuestion(host, qtype)
		m.SetReply(q)
		z := g.zone(i)
		serverZone = "."
		if p == 84 {
			serverZone = "test."
		}
		for k := range 4 {
			ns := fmt.Sprintf("ns%d.nic.%s", k, z)
			m.Ns = append(m.Ns, rr(fmt.Sprintf("%s 172800 IN NS %s", z, ns)))
			m.Extra = append(m.Extra, rr(fmt.Sprintf("%s 172800 IN A 203.0.113.%d", ns, (i+k)%250+1)))
		}
	case p < 95: // NXDOMAIN
		qtype = dns.TypeA
		q.SetQuestion(fmt.Sprintf("x%d.%s", g.r.IntN(1000000), dom), qtype)
		m.SetRcode(q, dns.RcodeNameError)
		m.Authoritative = true
		m.Ns = append(m.Ns, g.soa(dom, i))
	default: // NODATA
		qtype = dns.TypeAAAA
		q.SetQuestion("mail."+dom, qtype)
		m.SetReply(q)
		m.Authoritative = true
		m.Ns = append(m.Ns, g.soa(dom, i))
	}
	if signed && len(m.Answer) > 0 {
		h := m.Answer[len(m.Answer)-1].Header()
		sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: h.Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: h.Ttl},
			TypeCovered: h.Rrtype, Algorithm: dns.ECDSAP256SHA256, Labels: uint8(dns.CountLabel(h.Name)), OrigTtl: h.Ttl,
			Expiration: 1706745600, Inception: 1704067200, KeyTag: uint16(i), SignerName: dom}
		b := make([]byte, 64)
		for j := range b {
			b[j] = byte(g.r.Uint32())
		}
		sig.Signature = encodeB64(b)
		m.Answer = append(m.Answer, sig)
	}
	q.Id = uint16(g.r.Uint32())
	m.Id = q.Id
	q.RecursionDesired = false
	q.SetEdns0(1232, true)
	m.SetEdns0(1232, true)
	m.Compress = true
	qb, err := q.Pack()
	if err != nil {
		return err
	}
	mb, err := m.Pack()
	if err != nil {
		return err
	}
	v6 := g.r.IntN(5) == 0
	srv := g.server(serverZone, v6, g.r.IntN(2))
	res := g.resolver[0]
	if v6 {
		res = g.resolver[1]
	}
	sport := uint16(1024 + g.r.IntN(64000))
	if g.r.IntN(100) < g.tcpPct && budget >= 11 {
		return g.tcpExchange(res, srv, sport, qb, mb)
	}
	if err := g.udp(res, srv, sport, 53, qb); err != nil {
		return err
	}
	if budget < 2 {
		return nil
	}
	g.advance()
	return g.udp(srv, res, 53, sport, mb)
}

func encodeB64(b []byte) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var out []byte
	for i := 0; i+2 < len(b); i += 3 {
		v := uint(b[i])<<16 | uint(b[i+1])<<8 | uint(b[i+2])
		out = append(out, enc[v>>18&63], enc[v>>12&63], enc[v>>6&63], enc[v&63])
	}
	switch len(b) % 3 {
	case 1:
		v := uint(b[len(b)-1]) << 16
		out = append(out, enc[v>>18&63], enc[v>>12&63], '=', '=')
	case 2:
		v := uint(b[len(b)-2])<<16 | uint(b[len(b)-1])<<8
		out = append(out, enc[v>>18&63], enc[v>>12&63], enc[v>>6&63], '=')
	}
	return string(out)
}

func (g *gen) soa(dom string, i int) dns.RR {
	return rr(fmt.Sprintf("%s 3600 IN SOA ns1.%s hostmaster.%s %d 7200 3600 1209600 300", dom, dom, dom, 2024010100+i%100))
}

// nsGlue puts dom's NS RRset in the authority section with in-bailiwick
// glue.
func (g *gen) nsGlue(m *dns.Msg, dom string, i int, glue bool) {
	for k := range 2 + i%2 {
		ns := fmt.Sprintf("ns%d.%s", k+1, dom)
		m.Ns = append(m.Ns, rr(fmt.Sprintf("%s 86400 IN NS %s", dom, ns)))
		if glue {
			m.Extra = append(m.Extra, rr(fmt.Sprintf("%s 86400 IN A %s", ns, g.a(i, k+20))))
			if k == 0 {
				m.Extra = append(m.Extra, rr(fmt.Sprintf("%s 86400 IN AAAA %s", ns, g.aaaa(i, k+20))))
			}
		}
	}
}

func (g *gen) advance() {
	g.ts = g.ts.Add(time.Duration(200+g.r.IntN(1000)) * time.Microsecond)
}

func (g *gen) write(data []byte) error {
	if g.wrap != nil {
		// The IP packet, out of its Ethernet frame (kept when the
		// encapsulation does not apply: IPv6 extension headers and IPv4).
		if w := g.wrap(data[14:]); w != nil {
			data = w
		}
	}
	g.advance()
	g.written++
	ci := gopacket.CaptureInfo{Timestamp: g.ts, CaptureLength: len(data), Length: len(data)}
	return g.w.WritePacket(ci, data)
}

// ipPacket builds Ethernet + IP + transport header + payload.
func (g *gen) ipPacket(src, dst netip.Addr, proto byte, transport []byte) []byte {
	b := g.buf[:0]
	b = append(b, 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01, 0x00, 0x16, 0x3e, 0x00, 0x00, 0x02)
	if src.Is4() {
		b = append(b, 0x08, 0x00)
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(transport)))
		binary.BigEndian.PutUint16(ip[4:], uint16(g.r.Uint32()))
		ip[8] = 64
		ip[9] = proto
		s, d := src.As4(), dst.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		binary.BigEndian.PutUint16(ip[10:], ^sum(0, ip))
		b = append(b, ip...)
	} else {
		b = append(b, 0x86, 0xdd)
		ip := make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(transport)))
		ip[6] = proto
		ip[7] = 64
		s, d := src.As16(), dst.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		b = append(b, ip...)
	}
	b = append(b, transport...)
	g.buf = b
	return b
}

func sum(s uint32, b []byte) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// l4sum is the transport checksum with the pseudo-header.
func l4sum(src, dst netip.Addr, proto byte, seg []byte) uint16 {
	var s uint32
	a, b := src.AsSlice(), dst.AsSlice()
	s += uint32(sum(0, a)) + uint32(sum(0, b)) + uint32(proto) + uint32(len(seg))
	c := ^sum(s, seg)
	if c == 0 {
		c = 0xffff
	}
	return c
}

func (g *gen) udp(src, dst netip.Addr, sport, dport uint16, payload []byte) error {
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	u = append(u, payload...)
	binary.BigEndian.PutUint16(u[6:], l4sum(src, dst, 17, u))
	return g.write(g.ipPacket(src, dst, 17, u))
}

func (g *gen) tcp(src, dst netip.Addr, sport, dport uint16, seq, ack uint32, flags byte, payload []byte) error {
	t := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], ack)
	t[12] = 5 << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:], 65535)
	t = append(t, payload...)
	binary.BigEndian.PutUint16(t[16:], l4sum(src, dst, 6, t))
	return g.write(g.ipPacket(src, dst, 6, t))
}

// tcpExchange writes a whole DNS-over-TCP connection in 10 packets, the
// response in two segments.
func (g *gen) tcpExchange(res, srv netip.Addr, sport uint16, q, m []byte) error {
	const syn, ack, psh, fin = 0x02, 0x10, 0x08, 0x01
	c, s := g.r.Uint32(), g.r.Uint32()
	lq := append([]byte{byte(len(q) >> 8), byte(len(q))}, q...)
	lm := append([]byte{byte(len(m) >> 8), byte(len(m))}, m...)
	half := len(lm) / 2
	steps := []func() error{
		func() error { return g.tcp(res, srv, sport, 53, c, 0, syn, nil) },
		func() error { return g.tcp(srv, res, 53, sport, s, c+1, syn|ack, nil) },
		func() error { return g.tcp(res, srv, sport, 53, c+1, s+1, ack, nil) },
		func() error { return g.tcp(res, srv, sport, 53, c+1, s+1, psh|ack, lq) },
		func() error { return g.tcp(srv, res, 53, sport, s+1, c+1+uint32(len(lq)), ack, nil) },
		func() error { return g.tcp(srv, res, 53, sport, s+1, c+1+uint32(len(lq)), ack, lm[:half]) },
		func() error {
			return g.tcp(srv, res, 53, sport, s+1+uint32(half), c+1+uint32(len(lq)), psh|ack, lm[half:])
		},
		func() error {
			return g.tcp(res, srv, sport, 53, c+1+uint32(len(lq)), s+1+uint32(len(lm)), ack|fin, nil)
		},
		func() error {
			return g.tcp(srv, res, 53, sport, s+1+uint32(len(lm)), c+2+uint32(len(lq)), ack|fin, nil)
		},
		func() error { return g.tcp(res, srv, sport, 53, c+2+uint32(len(lq)), s+2+uint32(len(lm)), ack, nil) },
	}
	for _, st := range steps {
		if err := st(); err != nil {
			return err
		}
	}
	return nil
}
