package pcap

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap/pcaptest"
)

// dnsPair packs a query for name and its response (same ID).
func dnsPair(t *testing.T, name string, id uint16) (q, r []byte) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.Id = id
	m.SetEdns0(1232, false)
	q, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	resp := new(dns.Msg)
	resp.SetReply(m)
	resp.Answer = append(resp.Answer, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, 1}})
	r, err = resp.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return q, r
}

func TestAnyPort(t *testing.T) {
	client := pcaptest.Flow{Src: netip.MustParseAddr("198.51.100.7"), Dst: netip.MustParseAddr("192.0.2.53"), SrcPort: 41000, DstPort: 8053}
	client6 := pcaptest.Flow{Src: netip.MustParseAddr("2001:db8::7"), Dst: netip.MustParseAddr("2001:db8::53"), SrcPort: 41000, DstPort: 8053}
	q, r := dnsPair(t, "www.example.com.", 77)
	_, rOther := dnsPair(t, "www.example.net.", 77)
	_, rID := dnsPair(t, "www.example.com.", 78)
	qUpper, _ := dnsPair(t, "WWW.Example.COM.", 77)
	qWithAnswer := bytes.Clone(r)
	qWithAnswer[2] &^= 0x80 // QR=0 but an answer record
	type pkt struct {
		f   pcaptest.Flow
		msg []byte
		at  int64 // seconds
	}
	tests := []struct {
		name     string
		o        Options
		pkts     []pkt
		messages int
		cut      bool
	}{
		{name: "query then response", o: Options{AnyPort: true}, pkts: []pkt{{client, q, 0}, {client.Reverse(), r, 1}}, messages: 1},
		{name: "over IPv6", o: Options{AnyPort: true}, pkts: []pkt{{client6, q, 0}, {client6.Reverse(), r, 1}}, messages: 1},
		{name: "question case differs", o: Options{AnyPort: true}, pkts: []pkt{{client, qUpper, 0}, {client.Reverse(), r, 1}}, messages: 1},
		{name: "off by default", pkts: []pkt{{client, q, 0}, {client.Reverse(), r, 1}}},
		{name: "response without query", o: Options{AnyPort: true}, pkts: []pkt{{client.Reverse(), r, 1}}},
		{name: "response before query", o: Options{AnyPort: true}, pkts: []pkt{{client.Reverse(), r, 0}, {client, q, 1}}},
		{name: "other question", o: Options{AnyPort: true}, pkts: []pkt{{client, q, 0}, {client.Reverse(), rOther, 1}}},
		{name: "other ID", o: Options{AnyPort: true}, pkts: []pkt{{client, q, 0}, {client.Reverse(), rID, 1}}},
		{name: "same direction", o: Options{AnyPort: true}, pkts: []pkt{{client, q, 0}, {client, r, 1}}},
		{name: "other client port", o: Options{AnyPort: true}, pkts: []pkt{{client, q, 0}, {pcaptest.Flow{Src: client.Dst, Dst: client.Src, SrcPort: 8053, DstPort: 41001}, r, 1}}},
		{name: "a query matches once", o: Options{AnyPort: true}, pkts: []pkt{{client, q, 0}, {client.Reverse(), r, 1}, {client.Reverse(), r, 2}}, messages: 1},
		{name: "too late", o: Options{AnyPort: true}, pkts: []pkt{{client, q, 0}, {client.Reverse(), r, 31}}},
		{name: "query with an answer is not one", o: Options{AnyPort: true}, pkts: []pkt{{client, qWithAnswer, 0}, {client.Reverse(), r, 1}}},
		{name: "port 853 never", o: Options{AnyPort: true}, pkts: []pkt{{pcaptest.Flow{Src: client.Src, Dst: client.Dst, SrcPort: 41000, DstPort: 853}, q, 0},
			{pcaptest.Flow{Src: client.Dst, Dst: client.Src, SrcPort: 853, DstPort: 41000}, r, 1}}},
		{name: "port 853 not even when asked", o: Options{Ports: []uint16{53, 853}}, pkts: []pkt{{pcaptest.Flow{Src: client.Dst, Dst: client.Src, SrcPort: 853, DstPort: 41000}, r, 1}}},
		{name: "bounded: the oldest query is forgotten", o: Options{AnyPort: true, AnyPortQueries: 2}, pkts: []pkt{
			{client, q, 0},
			{pcaptest.Flow{Src: client.Src, Dst: client.Dst, SrcPort: 41001, DstPort: 8053}, q, 0},
			{pcaptest.Flow{Src: client.Src, Dst: client.Dst, SrcPort: 41002, DstPort: 8053}, q, 0},
			{client.Reverse(), r, 1},
			{pcaptest.Flow{Src: client.Dst, Dst: client.Src, SrcPort: 8053, DstPort: 41002}, r, 1}}, messages: 1},
		{name: "cut response", o: Options{AnyPort: true}, pkts: []pkt{{client, q, 0}, {client.Reverse(), r[:len(r)-5], 1}}, messages: 1, cut: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, g := newTestDecoder(tc.o)
			for _, p := range tc.pkts {
				ip := pcaptest.UDP(p.f, p.msg)
				if len(p.msg) < len(r) && bytes.Equal(p.msg, r[:len(p.msg)]) {
					// Cut by the snap length: the headers say more.
					ip = pcaptest.UDP(p.f, r)[:len(ip)]
				}
				if err := d.Packet(p.at*1e9, LinkRaw, ip); err != nil {
					t.Fatal(err)
				}
			}
			st := d.Stats()
			if len(g.msgs) != tc.messages || st.AnyPortMessages != uint64(tc.messages) && tc.o.AnyPort {
				t.Fatalf("%d messages; stats %+v", len(g.msgs), st)
			}
			if tc.messages == 1 {
				if g.meta[0].Port != 8053 || g.meta[0].Cut != tc.cut || !bytes.HasPrefix(r, g.msgs[0]) {
					t.Errorf("message %+v", g.meta[0])
				}
			}
			if len(d.queries.m) > max(tc.o.AnyPortQueries, 0) && tc.o.AnyPortQueries > 0 {
				t.Errorf("%d queries held, bound %d", len(d.queries.m), tc.o.AnyPortQueries)
			}
		})
	}
}
