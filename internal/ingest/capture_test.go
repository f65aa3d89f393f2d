package ingest

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap/pcaptest"
)

// captureExchange is one DNS message of a generated capture.
type captureExchange struct {
	flow pcaptest.Flow
	msg  []byte
}

// captureExchanges returns the messages a generated capture carries for
// tag (a label that keeps the names of each capture part apart): over
// IPv4 and IPv6, an authoritative answer with a CNAME, NS and glue, a
// referral, an MX answer, TXT, an NXDOMAIN, a query, an mDNS and an LLMNR
// answer.
func captureExchanges(t testing.TB, tag string) []captureExchange {
	r := func(s string) string { return strings.ReplaceAll(s, "TAG", tag) }
	specs := []struct {
		port uint16
		spec msgSpec
	}{
		{53, msgSpec{q: r("www.TAG.example.com A"), aa: true,
			ans:   []string{r("www.TAG.example.com. 300 IN CNAME web.TAG.example.com."), r("web.TAG.example.com. 300 IN A 192.0.2.10")},
			auth:  []string{r("TAG.example.com. 3600 IN NS ns1.TAG.example.com.")},
			extra: []string{r("ns1.TAG.example.com. 3600 IN A 192.0.2.1"), r("ns1.TAG.example.com. 3600 IN AAAA 2001:db8::1")}}},
		{53, msgSpec{q: r("www.TAG.example.net A"),
			auth:  []string{r("TAG.example.net. 86400 IN NS ns1.TAG.example.net."), r("TAG.example.net. 86400 IN NS ns.example.org.")},
			extra: []string{r("ns1.TAG.example.net. 86400 IN A 198.51.100.53"), "ns.example.org. 86400 IN A 203.0.113.53"}}},
		{53, msgSpec{q: r("TAG.example.org MX"), aa: true,
			ans:   []string{r("TAG.example.org. 300 IN MX 10 mail.TAG.example.org.")},
			extra: []string{r("mail.TAG.example.org. 300 IN A 198.51.100.25")}}},
		{53, msgSpec{q: r("txt.TAG.example.com TXT"), aa: true, ans: []string{r(`txt.TAG.example.com. 60 IN TXT "v=spf1 -all" "two"`)}}},
		{53, msgSpec{q: r("nope.TAG.example.com A"), aa: true, rcode: dns.RcodeNameError,
			auth: []string{r("TAG.example.com. 60 IN SOA ns1.TAG.example.com. admin.TAG.example.com. 1 7200 3600 1209600 60")}}},
		{53, msgSpec{q: r("query.TAG.example.com A"), query: true}},
		{5353, msgSpec{aa: true, ans: []string{r("printer-TAG.local. 120 IN A 192.0.2.20"),
			r("printer-TAG._ipp._tcp.local. 120 IN SRV 0 0 631 printer-TAG.local.")}}},
		{5355, msgSpec{q: r("wpad-TAG A"), ans: []string{r("wpad-TAG. 30 IN A 192.0.2.30")}}},
	}
	var out []captureExchange
	for _, v6 := range []bool{false, true} {
		for _, s := range specs {
			f := pcaptest.Flow{Src: netip.MustParseAddr("192.0.2.53"), Dst: netip.MustParseAddr("198.51.100.7"), SrcPort: s.port, DstPort: 40000}
			if v6 {
				f.Src, f.Dst = netip.MustParseAddr("2001:db8::53"), netip.MustParseAddr("2001:db8::7")
			}
			switch {
			case s.spec.query:
				f = f.Reverse()
			case s.port == 5353: // multicast, from and to 5353
				f.Dst, f.DstPort = netip.MustParseAddr("224.0.0.251"), 5353
				if v6 {
					f.Dst = netip.MustParseAddr("ff02::fb")
				}
			}
			out = append(out, captureExchange{f, s.spec.pack(t)})
		}
	}
	return out
}

// tsharkCannot lists the encapsulations tshark 4.0 does not decode by
// default, and why.
var tsharkCannot = map[string]string{
	"NFLOG big-endian": "tshark 4.0 reads NFLOG TLVs in the host's byte order only",
}

// tsharkDecodeAs are the tshark options the generated capture needs:
// tshark 4.0 guesses "no control word" for a pseudowire whose MAC
// addresses look plausible at the wrong offset.
var tsharkDecodeAs = []string{"-d", "mpls.label==200,pwethcw"}

// writeEncapCapture writes a pcapng with the exchanges of captureExchanges
// in every encapsulation of pcaptest.Encaps (tagged e00, e01, ...) but
// those in skip, and returns its path.
func writeEncapCapture(t *testing.T, skip map[string]string) string {
	t.Helper()
	var pkts []pcaptest.Packet
	ts := time.Unix(t0, 0)
	for i, e := range pcaptest.Encaps() {
		if skip[e.Name] != "" {
			continue
		}
		for _, x := range captureExchanges(t, fmt.Sprintf("e%02d", i)) {
			frame := e.Wrap(pcaptest.UDP(x.flow, x.msg))
			if frame == nil {
				continue
			}
			pkts = append(pkts, pcaptest.Packet{Time: ts, Data: frame, Link: e.Link})
			ts = ts.Add(700 * time.Millisecond)
		}
	}
	var b bytes.Buffer
	if err := pcaptest.WritePcapng(&b, pkts); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "encapsulations.pcapng")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func needTshark(t *testing.T) string {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("DNSSCOUT_REAL_SERVERS") == "require" {
			t.Fatal("internal/ingest: tshark is required (apt-get install tshark)")
		}
		t.Skip("tshark not installed")
	}
	return tshark
}

// TestEncapsulationsAgainstTshark writes one pcapng holding DNS traffic in
// every link type and encapsulation the decoder knows (VXLAN, GENEVE, GRE,
// ERSPAN I/II/III, MPLS, QinQ, PPPoE, IP in IP, IPv6 extension headers,
// NFLOG, 802.11, radiotap, ...) and checks that dnsscout stores exactly
// the tuples tshark decodes from it, mDNS and LLMNR answers under their
// own sensor ids.
func TestEncapsulationsAgainstTshark(t *testing.T) {
	tshark := needTshark(t)
	compareWithTshark(t, tshark, writeEncapCapture(t, tsharkCannot), Options{SensorID: "t"}, nil, tsharkDecodeAs...)
}

// TestEncapsulationStats checks the per-kind counters of the generated
// capture: every packet of a kind is counted once under its name.
func TestEncapsulationStats(t *testing.T) {
	m := newMemSink()
	in, err := New(m, Options{SensorID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Run(context.Background(), nil, writeEncapCapture(t, nil)); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := in.Stats()
	per := uint64(len(captureExchanges(t, "x")) / 2) // exchanges per IP version
	want := map[string]uint64{
		"VXLAN":                  6 * per, // VXLAN, VXLAN over IPv6, GENEVE in VXLAN; both IP versions
		"GENEVE":                 6 * per, // with options, with IP, in VXLAN
		"ERSPAN type III":        4 * per, // with and without the platform sub-header
		"IPv6 extension headers": per,     // IPv6 only
	}
	for k, n := range want {
		if st.Decapsulated[k] != n {
			t.Errorf("%s: %d packets, want %d (all: %v)", k, st.Decapsulated[k], n, st.Decapsulated)
		}
	}
	if st.MalformedTotal() != 0 {
		t.Errorf("malformed %v", st.Malformed)
	}
	var text bytes.Buffer
	st.WriteTo(&text)
	for _, row := range []string{"packets through VXLAN", "packets through ERSPAN type II", "packets through NFLOG"} {
		if !strings.Contains(text.String(), row) {
			t.Errorf("statistics do not show %q:\n%s", row, text.String())
		}
	}
}
