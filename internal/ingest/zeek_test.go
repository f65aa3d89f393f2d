package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
	"github.com/dnsscout/dnsscout/internal/pdns"
)

// zeekLine is one dns.log line as Zeek's base/protocols/dns/main.zeek
// writes it for a response (the query seen before it).
type zeekLine struct {
	ts      float64
	port    uint16
	query   string
	qtype   uint16
	rcode   int
	answers []string
	ttls    []float64
}

// zeekReply renders one answer record as main.zeek's dns_*_reply handlers
// do; "" for records it does not log (Zeek then leaves them out).
func zeekReply(rr dns.RR) string {
	name := func(s string) string { return strings.TrimSuffix(s, ".") }
	switch r := rr.(type) {
	case *dns.A:
		return r.A.String()
	case *dns.AAAA:
		return r.AAAA.String()
	case *dns.CNAME:
		return name(r.Target)
	case *dns.NS:
		return name(r.Ns)
	case *dns.PTR:
		return name(r.Ptr)
	case *dns.MX:
		return name(r.Mx)
	case *dns.SRV:
		return name(r.Target)
	case *dns.SOA:
		return name(r.Ns)
	case *dns.TXT, *dns.SPF:
		prefix := "TXT"
		if _, ok := rr.(*dns.SPF); ok {
			prefix = "SPF"
		}
		var parts []string
		for _, s := range rawStrings(rr) {
			parts = append(parts, fmt.Sprintf("%s %d %s", prefix, len(s), s))
		}
		return strings.Join(parts, " ")
	case *dns.RRSIG:
		signer := name(r.SignerName)
		if signer == "" {
			signer = "<Root>"
		}
		return fmt.Sprintf("RRSIG %d %s", r.TypeCovered, signer)
	case *dns.DNSKEY:
		return fmt.Sprintf("DNSKEY %d", r.Algorithm)
	case *dns.DS:
		return fmt.Sprintf("DS %d %d", r.Algorithm, r.DigestType)
	case *dns.NSEC:
		return fmt.Sprintf("NSEC %s %s", name(r.Hdr.Name), name(r.NextDomain))
	case *dns.NSEC3:
		return "NSEC3"
	}
	return fmt.Sprintf("<unknown type=%d>", rr.Header().Rrtype)
}

// rawStrings returns the character-strings of a TXT or SPF record as bytes
// (miekg/dns keeps them escaped).
func rawStrings(rr dns.RR) []string {
	buf := make([]byte, 65536)
	n, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return nil
	}
	rd := buf[n-int(rr.Header().Rdlength) : n]
	var out []string
	for len(rd) > 0 {
		l := int(rd[0])
		if 1+l > len(rd) {
			break
		}
		out = append(out, string(rd[1:1+l]))
		rd = rd[1+l:]
	}
	return out
}

// zeekLogOf decodes a capture's DNS responses (miekg/dns, not the sensor's
// walker) into the lines Zeek would log for them.
func zeekLogOf(t *testing.T, file string) []zeekLine {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []zeekLine
	d := pcap.NewDecoder(pcap.Options{}, func(m *pcap.Message) error {
		var msg dns.Msg
		if msg.Unpack(m.Data) != nil || !msg.Response || msg.Opcode != dns.OpcodeQuery || len(msg.Question) == 0 {
			return nil // Zeek logs what it parses; the sensor drops the rest
		}
		q := msg.Question[0]
		l := zeekLine{ts: float64(m.Time) / 1e9, port: m.Port, query: strings.ToLower(strings.TrimSuffix(q.Name, ".")),
			qtype: q.Qtype, rcode: msg.Rcode}
		for _, rr := range msg.Answer {
			if r := zeekReply(rr); r != "" {
				l.answers = append(l.answers, r)
				l.ttls = append(l.ttls, float64(rr.Header().Ttl))
			}
		}
		lines = append(lines, l)
		return nil
	})
	if err := pcap.Read(context.Background(), f, d); err != nil && !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("%s: %v", file, err)
	}
	return lines
}

// zeekEscape escapes as Zeek's ASCII writer: bytes outside printable
// ASCII, the separator and (inside a vector) the set separator as \xHH.
func zeekEscape(s string, inSet bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c >= 0x7f || c == '\t' || inSet && c == ',' || c == '\\':
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

var rcodeNames = map[int]string{0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

// writeZeekTSV writes lines as a TSV dns.log, in two logs concatenated
// (each with its header and #close) to exercise both.
func writeZeekTSV(lines []zeekLine) []byte {
	var b bytes.Buffer
	header := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#open\t2026-01-01-00-00-00\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n"
	for i, l := range lines {
		if i == 0 || i == len(lines)/2 {
			if i > 0 {
				b.WriteString("#close\t2026-01-01-00-00-01\n")
			}
			b.WriteString(header)
		}
		answers, ttls := "-", "-"
		if len(l.answers) > 0 {
			var as, ts []string
			for j, a := range l.answers {
				as = append(as, zeekEscape(a, true))
				ts = append(ts, fmt.Sprintf("%.6f", l.ttls[j]))
			}
			answers, ttls = strings.Join(as, ","), strings.Join(ts, ",")
		}
		qtypeName := pdns.TypeString(l.qtype)
		if l.qtype == dns.TypeANY {
			qtypeName = "*"
		}
		fmt.Fprintf(&b, "%.6f\tCx%d\t192.0.2.1\t40000\t192.0.2.53\t%d\tudp\t1\t0.001\t%s\t1\tC_INTERNET\t%d\t%s\t%d\t%s\tF\tF\tT\tT\t0\t%s\t%s\tF\n",
			l.ts, i, l.port, zeekEscape(l.query, false), l.qtype, qtypeName, l.rcode, rcodeNames[l.rcode], answers, ttls)
	}
	b.WriteString("#close\t2026-01-01-00-00-02\n")
	return b.Bytes()
}

// writeZeekJSON writes lines as Zeek's JSON logs (LogAscii::use_json=T).
func writeZeekJSON(t *testing.T, lines []zeekLine) []byte {
	var b bytes.Buffer
	for i, l := range lines {
		m := map[string]any{"ts": l.ts, "uid": fmt.Sprintf("Cx%d", i), "id.orig_h": "192.0.2.1", "id.orig_p": 40000,
			"id.resp_h": "192.0.2.53", "id.resp_p": l.port, "proto": "udp", "trans_id": 1, "query": l.query,
			"qclass": 1, "qclass_name": "C_INTERNET", "qtype": l.qtype, "qtype_name": pdns.TypeString(l.qtype),
			"rcode": l.rcode, "rcode_name": rcodeNames[l.rcode], "AA": false, "TC": false, "RD": true, "RA": true, "Z": 0, "rejected": false}
		if len(l.answers) > 0 {
			m["answers"], m["TTLs"] = l.answers, l.ttls
		}
		line, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestZeekLogAgainstCaptures turns each test capture into the dns.log
// Zeek would write for it (TSV and JSON), imports that, and checks that
// every tuple imported is one the capture gives: one tshark finds in it
// (an independent decoder) and one the sensor stores from it. It also
// checks that every answer whose owner and type the log determines (A,
// AAAA and TXT queries answered in chain order) was imported.
func TestZeekLogAgainstCaptures(t *testing.T) {
	tshark := needTshark(t)
	files, _ := filepath.Glob(filepath.Join("pcap", "testdata", "*.pcap*"))
	if len(files) < 20 {
		t.Fatalf("only %d captures in pcap/testdata", len(files))
	}
	total := 0
	for _, file := range files {
		if strings.HasSuffix(file, ".gz") {
			continue
		}
		lines := zeekLogOf(t, file)
		if len(lines) == 0 {
			continue
		}
		tsharkKeys, _, _ := tsharkExpect(t, tshark, file, "t", "-Y", "(udp.srcport==53 || tcp.srcport==53) && dns.flags.response==1")
		capture, _ := ingestFiles(t, Options{SensorID: "t"}, file)
		for _, form := range []string{"tsv", "json"} {
			t.Run(filepath.Base(file)+" "+form, func(t *testing.T) {
				var log []byte
				if form == "tsv" {
					log = writeZeekTSV(lines)
				} else {
					log = writeZeekJSON(t, lines)
				}
				path := filepath.Join(t.TempDir(), "dns.log")
				if err := os.WriteFile(path, log, 0o644); err != nil {
					t.Fatal(err)
				}
				imported, _ := ingestFiles(t, Options{SensorID: "t"}, "zeek:"+path)
				for _, tp := range imported.tuples {
					k := tp.RRName + " " + pdns.TypeString(tp.RRType) + " "
					full := k + tp.RData
					if !fullRData(tp.RRType) {
						k += "*"
					} else {
						k = full
					}
					if tsharkKeys[k] == 0 {
						t.Errorf("imported %s, which tshark does not find in the capture", full)
					}
					if capture.get(tp.RRName, tp.RRType, tp.RData) == nil {
						t.Errorf("imported %s, which the sensor does not store from the capture", full)
					}
				}
				for _, want := range determined(lines) {
					f := strings.SplitN(want, " ", 3)
					typ, _ := pdns.ParseType(f[1])
					if imported.get(f[0], typ, f[2]) == nil {
						t.Errorf("not imported: %s", want)
					}
				}
				total += len(imported.tuples)
			})
		}
	}
	t.Logf("%d tuples imported from all the logs", total)
	if total < 50 {
		t.Errorf("only %d tuples imported from all the logs", total)
	}
}

// determined lists the answers the log ties to an owner and type without
// doubt: those of NOERROR A and AAAA queries on port 53 whose answers are
// names (CNAME targets) then addresses, the query's or the last target's,
// and the CNAME chains of TXT, HTTPS and SVCB queries.
func determined(lines []zeekLine) []string {
	var out []string
	for _, l := range lines {
		switch {
		case l.rcode != 0 || l.port != 53:
			continue
		case l.qtype == dns.TypeA, l.qtype == dns.TypeAAAA, l.qtype == dns.TypeTXT, l.qtype == dns.TypeHTTPS, l.qtype == dns.TypeSVCB:
		default:
			continue
		}
		owner, data, ok := l.query, false, true
		var recs []string
		for _, a := range l.answers {
			kind, typ, rd := zeekAnswerKind(a)
			switch kind {
			case "addr", "txt":
				if l.qtype == dns.TypeA || l.qtype == dns.TypeAAAA {
					recs = append(recs, owner+" "+pdns.TypeString(typ)+" "+rd)
				}
				data = true
			case "name":
				if data {
					ok = false
				}
				recs = append(recs, owner+" CNAME "+strings.ToLower(a)+".")
				owner = strings.ToLower(a)
			}
		}
		if ok {
			out = append(out, recs...)
		}
	}
	return out
}

// zeekAnswerKind is the test's own reading of an answer string.
func zeekAnswerKind(a string) (string, uint16, string) {
	if rr, err := dns.NewRR(". 0 IN A " + a); err == nil && !strings.Contains(a, ":") && rr != nil {
		return "addr", dns.TypeA, rr.(*dns.A).A.String()
	}
	if rr, err := dns.NewRR(". 0 IN AAAA " + a); err == nil && strings.Contains(a, ":") && rr != nil {
		return "addr", dns.TypeAAAA, rr.(*dns.AAAA).AAAA.String()
	}
	if strings.HasPrefix(a, "TXT ") {
		return "other", 0, "" // checked by the imports package's tests
	}
	if !strings.ContainsAny(a, " <>:") && a != "NSEC3" {
		return "name", 0, ""
	}
	return "other", 0, ""
}
