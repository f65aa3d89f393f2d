package ingest

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// miekgRData is the reference rendering: the key-form rdata (names
// uncompressed) decoded by miekg/dns and printed by pdns.RData.
func miekgRData(typ uint16, rd []byte) (string, bool) {
	h := dns.RR_Header{Name: ".", Rrtype: typ, Class: dns.ClassINET, Rdlength: uint16(len(rd))}
	x, _, err := dns.UnpackRRWithHeader(h, rd, 0)
	if err != nil || x == nil {
		return "", false
	}
	return pdns.RData(x), true
}

func miekgOwner(name []byte) (string, bool) {
	s, next, err := dns.UnpackDomainName(name, 0)
	if err != nil || next != len(name) {
		return "", false
	}
	return pdns.CanonicalName(s), true
}

func rdataString(typ uint16, rd []byte) (string, bool) {
	b, ok := appendRDataText(nil, typ, rd)
	return string(b), ok
}

func ownerString(name []byte) (string, bool) {
	b, ok := appendOwnerText(nil, name)
	return string(b), ok
}

// checkRender fails when the hand-written renderers accept rdata or an
// owner name and print it differently from miekg/dns.
func checkRender(t *testing.T, typ uint16, rd, owner []byte) {
	t.Helper()
	if got, ok := rdataString(typ, rd); ok {
		want, wok := miekgRData(typ, rd)
		if !wok || got != want {
			t.Fatalf("type %d rdata %x: rendered %q, miekg/dns %q (ok %v)", typ, rd, got, want, wok)
		}
	}
	if got, ok := ownerString(owner); ok {
		want, wok := miekgOwner(owner)
		if !wok || got != want {
			t.Fatalf("owner %x: rendered %q, miekg/dns %q (ok %v)", owner, got, want, wok)
		}
	}
	if want, ok := miekgOwner(owner); ok {
		if got := wireToText(owner); got != want {
			t.Fatalf("owner %x: wireToText %q, miekg/dns %q", owner, got, want)
		}
	}
}

func wireName(t *testing.T, s string) []byte {
	t.Helper()
	b, ok := textToWire(s)
	if !ok {
		t.Fatalf("bad name %q", s)
	}
	return b
}

func TestRender(t *testing.T) {
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	ns := wireName(t, "ns1.example.com")
	for _, tc := range []struct {
		name string
		typ  uint16
		rd   []byte
		want string // "" = the renderer declines
	}{
		{"A", dns.TypeA, []byte{192, 0, 2, 1}, "192.0.2.1"},
		{"AAAA", dns.TypeAAAA, cat([]byte{0x20, 0x01, 0x0d, 0xb8}, make([]byte, 11), []byte{1}), "2001:db8::1"},
		{"AAAA v4-mapped declined", dns.TypeAAAA, cat(make([]byte, 10), []byte{0xff, 0xff, 192, 0, 2, 1}), ""},
		{"NS", dns.TypeNS, ns, "ns1.example.com."},
		{"CNAME to the root", dns.TypeCNAME, []byte{0}, "."},
		{"PTR with underscore", dns.TypePTR, wireName(t, "_svc.example.net"), "_svc.example.net."},
		{"NS with an escaped byte declined", dns.TypeNS, []byte{3, 'a', '.', 'b', 0}, ""},
		{"NS with trailing bytes declined", dns.TypeNS, cat(ns, []byte{1}), ""},
		{"MX", dns.TypeMX, cat([]byte{0, 10}, wireName(t, "mail.example.com")), "10 mail.example.com."},
		{"SRV", dns.TypeSRV, cat([]byte{0, 1, 0, 5, 0x13, 0xc4}, wireName(t, "sip.example.com")), "1 5 5060 sip.example.com."},
		{"SOA", dns.TypeSOA, cat(ns, wireName(t, "hostmaster.example.com"), []byte{0x78, 0x9a, 0xbc, 0xde, 0, 0, 0x0e, 0x10, 0, 0, 3, 0x84, 0, 0x09, 0x3a, 0x80, 0, 0, 0, 60}),
			"ns1.example.com. hostmaster.example.com. 2023406814 3600 900 604800 60"},
		{"SOA short declined", dns.TypeSOA, cat(ns, ns, []byte{1, 2, 3}), ""},
		{"TXT", dns.TypeTXT, []byte("\x0bv=spf1 -all\x00\x03a b"), `"v=spf1 -all" "" "a b"`},
		{"TXT with a quote declined", dns.TypeTXT, []byte("\x03a\"b"), ""},
		{"TXT overrun declined", dns.TypeTXT, []byte("\x05abc"), ""},
		{"RRSIG", dns.TypeRRSIG, cat([]byte{0, 1, 13, 3, 0, 0, 0x0e, 0x10, 0x68, 0x5f, 0x8c, 0x80, 0x68, 0x4c, 0x11, 0x80, 0x93, 0x54},
			wireName(t, "example.com"), []byte{0xde, 0xad, 0xbe, 0xef, 0x01}),
			"A 13 3 3600 20250628063232 20250613115440 37716 example.com. 3q2+7wE="},
		{"RRSIG of an unknown type", dns.TypeRRSIG, cat([]byte{0xff, 0x00, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 1},
			[]byte{0}, []byte{1, 2, 3}),
			"TYPE65280 8 0 0 19700101000000 21060207062815 1 . AQID"},
		{"RRSIG without a signature declined", dns.TypeRRSIG, cat(make([]byte, 18), wireName(t, "example.com")), ""},
		{"RRSIG with an escaped signer declined", dns.TypeRRSIG, cat(make([]byte, 18), []byte{3, 'a', ' ', 'b', 0, 1}), ""},
		{"RRSIG short declined", dns.TypeRRSIG, make([]byte, 19), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := rdataString(tc.typ, tc.rd)
			if tc.want == "" {
				if ok {
					t.Fatalf("rendered %q, want the miekg/dns fallback", got)
				}
				return
			}
			if !ok || got != tc.want {
				t.Fatalf("got %q (ok %v), want %q", got, ok, tc.want)
			}
			checkRender(t, tc.typ, tc.rd, nil)
		})
	}
	for _, tc := range []struct{ name, want string }{{"www.example.com", "www.example.com"}, {".", "."}, {"*.example.net", "*.example.net"}} {
		if got, ok := ownerString(wireName(t, tc.name)); !ok || got != tc.want {
			t.Errorf("owner %s: %q (ok %v)", tc.name, got, ok)
		}
	}
	if got, ok := ownerString([]byte{3, 'a', ' ', 'b', 0}); ok {
		t.Errorf("owner with a space rendered %q, want the fallback", got)
	}
}

// TestRenderMatchesMiekg renders every record of the seed messages both
// ways.
func TestRenderMatchesMiekg(t *testing.T) {
	n := 0
	for _, msg := range seedMessages(t) {
		var w walker
		if w.walk(msg) != wireOK {
			continue
		}
		for i := range w.rrs {
			r := &w.rrs[i]
			rd, e := appendRData(nil, msg, r.rdOff, r.rdOff+r.rdLen, r.typ)
			if e != wireOK {
				continue
			}
			checkRender(t, r.typ, rd, w.ownerOf(r))
			if _, ok := rdataString(r.typ, rd); ok {
				n++
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d records rendered by hand", n)
	}
}

// FuzzRender holds the hand-written renderers to miekg/dns on arbitrary
// rdata and owner names.
//
//	go test ./internal/ingest -run '^$' -fuzz FuzzRender -fuzztime 20s
func FuzzRender(f *testing.F) {
	for _, msg := range seedMessages(f) {
		var w walker
		if w.walk(msg) != wireOK {
			continue
		}
		for i := range w.rrs {
			r := &w.rrs[i]
			if rd, e := appendRData(nil, msg, r.rdOff, r.rdOff+r.rdLen, r.typ); e == wireOK {
				f.Add(r.typ, rd, w.ownerOf(r))
			}
		}
	}
	f.Fuzz(func(t *testing.T, typ uint16, rd, owner []byte) {
		checkRender(t, typ, rd, owner)
	})
}

// TestRRSIGCompressedSigner: an RRSIG whose signer name is a pointer past
// its own record (RFC 4034 forbids compressing it) is left to miekg/dns,
// which reads the record alone and refuses it, as before the hand-written
// renderer; one whose signer is not compressed is rendered by hand.
func TestRRSIGCompressedSigner(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		stored    int
	}{
		// example.com A: answer RRSIG with signer c0 41, the owner of the
		// additional A record after it.
		{"pointer past the record", "000181800001000100000001076578616d706c6503636f6d0000010001" +
			"c00c002e00010000003c001800010d0200000e10685f8c80684c11809354c041deadbeef" +
			"026e73c00c000100010000003c0004c0000201", 0},
		// The same RRSIG with the signer written out (example.com.).
		{"uncompressed", "000181800001000100000000076578616d706c6503636f6d0000010001" +
			"c00c002e00010000003c002300010d0200000e10685f8c80684c11809354076578616d706c6503636f6d00deadbeef", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			m := newMemSink()
			in, err := New(m, Options{SensorID: "s"})
			if err != nil {
				t.Fatal(err)
			}
			if err := in.Message(context.Background(), time.Unix(t0, 0), msg, ""); err != nil {
				t.Fatal(err)
			}
			if err := in.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := m.lines(); len(got) != tc.stored {
				t.Fatalf("stored %q, want %d tuple(s)", got, tc.stored)
			}
			if tc.stored == 1 {
				if tp := m.get("example.com", dns.TypeRRSIG, "A 13 2 3600 20250628063232 20250613115440 37716 example.com. 3q2+7w=="); tp == nil {
					t.Fatalf("stored %q", m.lines())
				}
			}
		})
	}
}
