package resolver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// Fuzz targets; seeds live in testdata/fuzz/<Target>/ and are written by
//
//	go test ./internal/resolver/ -run TestFuzzSeeds -update
//
// Run one for 20 s with
//
//	go test ./internal/resolver/ -run '^$' -fuzz FuzzHandle -fuzztime 20s

var update = flag.Bool("update", false, "rewrite testdata/fuzz seed files")

var fuzzQuestion = func() question {
	q, err := newQuestion("www.example.com", dns.TypeA, dns.ClassINET)
	if err != nil {
		panic(err)
	}
	return q
}()

const fuzzID = 0x4242

// FuzzHandle feeds arbitrary bytes as a UDP response into the matching and
// validation path with one query (ID 0x4242, www.example.com A) waiting.
// Whatever is delivered must match that query and unpack; nothing panics.
func FuzzHandle(f *testing.F) {
	r := &Resolver{}
	peer := netip.MustParseAddrPort("127.53.209.250:53")
	f.Fuzz(func(t *testing.T, b []byte) {
		sock := &udpSocket{r: r, peer: peer}
		p := &pending{q: fuzzQuestion.wire, from: peer, ch: make(chan reply, 1)}
		if !sock.table.slot(fuzzID, true).CompareAndSwap(nil, p) {
			t.Fatal("slot taken")
		}
		sock.handle(b, peer)
		select {
		case rep := <-p.ch:
			if checkHeader(b) != dropNone || binary.BigEndian.Uint16(b) != fuzzID || checkQuestion(b, fuzzQuestion.wire) != dropNone {
				t.Fatalf("delivered an invalid response %x", b)
			}
			if !rep.tc && rep.msg == nil {
				t.Fatal("delivered nothing")
			}
			if rep.msg != nil && rep.msg.Id != fuzzID {
				t.Fatalf("delivered ID %d", rep.msg.Id)
			}
			if sock.table.slot(fuzzID, false).Load() != nil {
				t.Fatal("delivered but still registered")
			}
		default:
			if sock.table.slot(fuzzID, false).Load() != p {
				t.Fatal("not delivered but unregistered")
			}
		}
		// From a wrong source nothing is ever delivered, on a dedicated
		// or a shared socket.
		for _, sp := range []netip.AddrPort{peer, {}} {
			sock2 := &udpSocket{r: r, peer: sp}
			p2 := &pending{q: fuzzQuestion.wire, from: peer, ch: make(chan reply, 1)}
			sock2.table.slot(fuzzID, true).Store(p2)
			sock2.handle(b, netip.MustParseAddrPort("127.53.209.250:54"))
			if len(p2.ch) != 0 {
				t.Fatal("delivered from a wrong port")
			}
		}
	})
}

// FuzzTransferMessages feeds an arbitrary byte stream, split by TCP
// length prefixes, to the zone-transfer parser (AXFR and IXFR).
func FuzzTransferMessages(f *testing.F) {
	axfrQ, _ := newQuestion("example.com", dns.TypeAXFR, dns.ClassINET)
	ixfrQ, _ := newQuestion("example.com", dns.TypeIXFR, dns.ClassINET)
	f.Fuzz(func(t *testing.T, stream []byte) {
		for _, q := range []*question{&axfrQ, &ixfrQ} {
			x := xfrState{id: fuzzID, q: q, serial: 10, max: 50, addr: "fuzz"}
			rest := stream
			for len(rest) >= 2 {
				n := int(binary.BigEndian.Uint16(rest))
				rest = rest[2:]
				if n > len(rest) {
					break
				}
				rrs, done, _, err := x.message(rest[:n])
				rest = rest[n:]
				if x.total > x.max || x.messages > x.max {
					t.Fatalf("accepted %d records / %d messages over the cap", x.total, x.messages)
				}
				if err != nil {
					if !errors.Is(err, ErrTransferTooLarge) && len(rrs) > 0 {
						t.Fatalf("%d records handed on with error %v", len(rrs), err)
					}
					break
				}
				for _, rr := range rrs {
					if rr == nil {
						t.Fatal("nil RR")
					}
				}
				if done {
					break
				}
			}
		}
	})
}

// FuzzAppendName checks the query-name packer against miekg/dns.
func FuzzAppendName(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		got, err := appendName(nil, name)
		if err != nil {
			return
		}
		if len(got) > 255 {
			t.Fatalf("%q packed to %d octets", name, len(got))
		}
		back, off, err := dns.UnpackDomainName(got, 0)
		if err != nil || off != len(got) {
			t.Fatalf("%q packed to %x which does not unpack: %v", name, got, err)
		}
		if !strings.Contains(name, `\`) && !strings.EqualFold(back, dns.Fqdn(name)) && name != "." {
			// Names whose labels contain characters miekg escapes on
			// output round-trip escaped; compare on the wire instead.
			var want [256]byte
			n, err := dns.PackDomainName(dns.Fqdn(name), want[:], 0, nil, false)
			if err != nil || !bytes.Equal(want[:n], got) {
				t.Fatalf("%q: packed %x, miekg %x (%v)", name, got, want[:n], err)
			}
		}
	})
}

// fuzzSeeds are the seed inputs, one name per file.
func fuzzSeeds() map[string]map[string][]byte {
	resp := func(edit func(m *dns.Msg)) []byte {
		m := new(dns.Msg)
		m.SetQuestion("www.example.com.", dns.TypeA)
		m.Id = fuzzID
		m.Response = true
		m.Answer = []dns.RR{mustRR("www.example.com. 60 IN A 192.0.2.1")}
		if edit != nil {
			edit(m)
		}
		b, err := m.Pack()
		if err != nil {
			panic(err)
		}
		return b
	}
	xfr := func(qtype uint16, rrs ...dns.RR) []byte {
		var out []byte
		for i, rr := range rrs {
			m := new(dns.Msg)
			m.SetQuestion("example.com.", qtype)
			m.Id = fuzzID
			m.Response = true
			if i > 0 {
				m.Question = nil
			}
			m.Answer = []dns.RR{rr}
			b, _ := m.Pack()
			out = binary.BigEndian.AppendUint16(out, uint16(len(b)))
			out = append(out, b...)
		}
		return out
	}
	a := mustRR("h.example.com. 60 IN A 192.0.2.1")
	return map[string]map[string][]byte{
		"FuzzHandle": {
			"valid":       resp(nil),
			"upper":       resp(func(m *dns.Msg) { m.Question[0].Name = "WWW.EXAMPLE.COM." }),
			"truncated":   resp(func(m *dns.Msg) { m.Truncated = true; m.Answer = nil }),
			"nxdomain":    resp(func(m *dns.Msg) { m.Rcode = dns.RcodeNameError; m.Answer = nil }),
			"refused-noq": resp(func(m *dns.Msg) { m.Rcode = dns.RcodeRefused; m.Question = nil; m.Answer = nil }),
			"wrong-id":    resp(func(m *dns.Msg) { m.Id = 1 }),
			"wrong-name":  resp(func(m *dns.Msg) { m.Question[0].Name = "www.example.net." }),
			"compressed":  resp(func(m *dns.Msg) { m.Compress = true; m.Answer = append(m.Answer, m.Answer[0]) }),
			"header-only": resp(nil)[:12],
			"short":       {0x42, 0x42, 0x80},
			"edns-nsid": resp(func(m *dns.Msg) {
				m.SetEdns0(1232, true)
				o := m.IsEdns0()
				o.Option = append(o.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: "6e7331"})
			}),
			"cut-in-rdata": func() []byte { b := resp(nil); return b[:len(b)-2] }(),
		},
		"FuzzTransferMessages": {
			"axfr":         xfr(dns.TypeAXFR, soa(12), a, soa(12)),
			"ixfr-incr":    xfr(dns.TypeIXFR, soa(12), soa(10), a, soa(12), a, soa(12)),
			"ixfr-current": xfr(dns.TypeIXFR, soa(10)),
			"no-soa":       xfr(dns.TypeAXFR, a, soa(12)),
			"garbage-len":  {0, 3, 1, 2, 3},
		},
		"FuzzAppendName": {
			"plain":      []byte("www.example.com"),
			"root":       []byte("."),
			"escaped":    []byte(`a\.b.example.com.`),
			"decimal":    []byte(`\065bc.example.com`),
			"empty-lab":  []byte("a..example.com"),
			"long-label": []byte(strings.Repeat("a", 64) + ".example"),
			"service":    []byte("_ldap._tcp.example.com."),
		},
	}
}

// TestFuzzSeeds keeps testdata/fuzz in sync with fuzzSeeds (-update
// rewrites it) and runs every seed through its target's checks via the
// normal fuzz seed run.
func TestFuzzSeeds(t *testing.T) {
	for target, seeds := range fuzzSeeds() {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, b := range seeds {
			var content string
			if target == "FuzzAppendName" {
				content = fmt.Sprintf("go test fuzz v1\nstring(%q)\n", b)
			} else {
				content = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			}
			path := filepath.Join(dir, name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != content {
				t.Errorf("%s is missing or stale; run go test ./internal/resolver/ -run TestFuzzSeeds -update", path)
			}
		}
	}
}
