package ingest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/heaptest"
	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// seedMessages returns DNS messages for fuzz seeds: BIND's fuzzing corpus
// and the DNS payloads of the test captures.
func seedMessages(tb testing.TB) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "messages", "bind9__*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	captures, _ := filepath.Glob(filepath.Join("pcap", "testdata", "*.pcap"))
	for _, name := range captures {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		r, err := pcapgo.NewReader(bytes.NewReader(b))
		if err != nil {
			continue // pcapng seeds come in through the pcap fuzzers
		}
		d := pcap.NewDecoder(pcap.Options{}, func(m *pcap.Message) error {
			out = append(out, bytes.Clone(m.Data))
			return nil
		})
		for {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				break
			}
			d.Packet(ci.Timestamp.UnixNano(), int(r.LinkType()), data)
		}
	}
	return out
}

// FuzzMessage runs the hot-path walker and the bailiwick rule on arbitrary
// messages. Nothing may panic; every tuple must be storable; and whenever
// miekg/dns decodes the message as a NOERROR response, every IN record of
// its answer section must have been kept with the same presentation
// (a differential check of the zero-allocation walker).
//
//	go test ./internal/ingest -run '^$' -fuzz FuzzMessage -fuzztime 20s
func FuzzMessage(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	in, err := New(newMemSink(), Options{SensorID: "f"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { in.Close(context.Background()) })
	f.Fuzz(func(t *testing.T, msg []byte) {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.syncLocked()
		in.agg.reset()
		in.messageLocked(t0*1e9, msg, nil, originDNS)
		in.syncLocked()
		kept := map[pdns.Key]bool{}
		for i := range in.agg.n {
			e := in.agg.ent(i)
			name, rdata := in.agg.name(e), in.agg.rdata(e)
			if err := store.CheckName(name); err != nil {
				t.Fatalf("unstorable name %q: %v", name, err)
			}
			if rdata == "" || e.typ == dns.TypeOPT || e.typ == dns.TypeTSIG || e.count != 1 {
				t.Fatalf("bad entry %+v", *e)
			}
			kept[pdns.Key{RRName: name, RRType: e.typ, RData: rdata}] = true
		}
		var m dns.Msg
		if m.Unpack(msg) != nil || !m.Response || m.Opcode != dns.OpcodeQuery || m.Rcode != dns.RcodeSuccess {
			return
		}
		// miekg/dns fills the missing fields of rdata that is too short
		// with zeros; the walker drops such a record. Records are matched
		// by position to skip that case.
		var w walker
		if w.walk(msg) != wireOK && len(m.Answer) > 0 {
			t.Fatalf("miekg/dns decodes answers in a message the walker rejects")
		}
		for i, rr := range m.Answer {
			if i >= len(w.rrs) || w.rrs[i].section != 1 {
				t.Fatalf("miekg/dns finds more answers than the walker")
			}
			r := &w.rrs[i]
			if _, e := appendRData(nil, msg, r.rdOff, r.rdOff+r.rdLen, r.typ); e != wireOK {
				continue
			}
			h := rr.Header()
			if h.Class != dns.ClassINET || h.Rrtype == dns.TypeOPT || h.Rrtype == dns.TypeTSIG || h.Rrtype == dns.TypeTKEY {
				continue
			}
			if h.Rrtype == dns.TypeA && h.Rdlength != 4 || h.Rrtype == dns.TypeAAAA && h.Rdlength != 16 {
				continue // miekg/dns accepts an empty address; the walker does not
			}
			k := pdns.Key{RRName: pdns.CanonicalName(h.Name), RRType: h.Rrtype, RData: pdns.RData(rr)}
			if h.Rdlength == 0 {
				if _, typed := rdataLayouts[h.Rrtype]; typed {
					continue // a type with names cannot be empty: the walker drops it
				}
				// Empty rdata is kept in RFC 3597 form, where miekg/dns
				// would print the zero values of the type's fields.
				k.RData = `\# 0`
			}
			if !kept[k] {
				t.Fatalf("miekg/dns decodes answer %q, the walker did not keep it (kept %v)", rr.String(), kept)
			}
		}
	})
}

func TestFuzzSeeds(t *testing.T) {
	if n := len(seedMessages(t)); n < 200 {
		t.Fatalf("only %d seed messages", n)
	}
}

// detectSeeds are files of every format, compressed and not, and of none.
func detectSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, pattern := range []string{"pcap/testdata/*.pcap*", "dnstap/testdata/*.*", "imports/testdata/*.*"} {
		files, _ := filepath.Glob(pattern)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b[:min(len(b), 4096)])
		}
	}
	return append(out, []byte("\x7fELF\x02\x01\x01\x00"), []byte("\x1f\x8b\x08\x00"), []byte("\x28\xb5\x2f\xfd"), nil)
}

// FuzzDetect opens arbitrary bytes as a source: decompression, format
// detection and the description of unknown content. Nothing may panic; an
// unknown format is one line of at most 300 bytes; reading the content
// out stays within the decompression limits and holds less than 48 MiB
// (the largest zstd window allowed is 16 MiB).
//
//	go test ./internal/ingest -run '^$' -fuzz FuzzDetect -fuzztime 60s
func FuzzDetect(f *testing.F) {
	for _, b := range detectSeeds(f) {
		f.Add(b)
	}
	in, err := New(discardSink{}, Options{SensorID: "f", MaxRatio: 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// As openSource does, with a smaller buffer: fuzzing wants many
		// runs a second.
		o := &openedSource{name: "fuzz", raw: &countingReader{r: bytes.NewReader(b)}}
		o.r = bufio.NewReaderSize(o.raw, DetectBytes)
		defer o.close()
		if err := in.identify(context.Background(), o); err != nil {
			if msg := err.Error(); len(msg) > 300 || strings.Contains(msg, "\n") {
				t.Fatalf("error of %d bytes: %q", len(msg), msg)
			}
			return
		}
		if o.empty {
			return
		}
		// The live heap is followed from the first MiB on (a collection
		// per MiB: only when there is much to read).
		var m *heaptest.Live
		var n, next int64 = 0, 1 << 20
		buf := make([]byte, 256<<10)
		for {
			k, err := o.r.Read(buf)
			if n += int64(k); n >= next {
				if m == nil {
					m = heaptest.Start()
				}
				m.Sample()
				next += 1 << 20
			}
			if err != nil {
				break
			}
		}
		if o.compression != "" && n > ratioSlack+20*int64(len(b))+int64(len(buf)) {
			t.Fatalf("%d bytes decompressed from %d, over the ratio", n, len(b))
		}
		if m != nil && m.Grew() > 48<<20 {
			t.Fatalf("live heap grew by %d bytes", m.Grew())
		}
	})
}
