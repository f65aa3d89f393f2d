package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
			b := s.spec.pack(t)
			b[0], b[1] = 0, byte(len(out)+1) // a fixed ID: the captures are reproducible
			out = append(out, captureExchange{f, b})
		}
	}
	return out
}

// tsharkCannot lists the encapsulations tshark 4.0 does not decode by
// default, and why.
var tsharkCannot = map[string]string{
	"NFLOG big-endian": "tshark 4.0 reads NFLOG TLVs in the host's byte order only",
}

// corpusFile is the generated capture kept in ingest/pcap's testdata: a
// seed of its fuzz targets and one of TestAgainstTshark's captures (which
// passes tshark no options: the pseudowire with a control word is left out
// with what tshark cannot decode).
var corpusFile = filepath.Join("pcap", "testdata", "derived__encapsulations.pcapng")

// TestEncapsulationCorpus keeps corpusFile what writeEncapCapture
// writes.
func TestEncapsulationCorpus(t *testing.T) {
	skip := maps.Clone(tsharkCannot)
	skip["MPLS Ethernet pseudowire with control word (label 200)"] = "tshark needs -d"
	b, err := os.ReadFile(writeEncapCapture(t, skip))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(corpusFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := os.ReadFile(corpusFile)
	if err != nil || !bytes.Equal(old, b) {
		t.Errorf("%s is not what pcaptest builds now (%v): run go test ./internal/ingest -run TestEncapsulationCorpus -update", corpusFile, err)
	}
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

// ingestFiles runs an ingester with o over files and closes it.
func ingestFiles(t *testing.T, o Options, files ...string) (*memSink, *Ingester) {
	t.Helper()
	m := newMemSink()
	in, err := New(m, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := in.Run(context.Background(), nil, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m, in
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
	_, in := ingestFiles(t, Options{SensorID: "t"}, writeEncapCapture(t, nil))
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
	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Decapsulated map[string]uint64 `json:"decapsulated"`
	}
	if err := json.Unmarshal(js, &back); err != nil || back.Decapsulated["GENEVE"] != 6*per {
		t.Errorf("JSON statistics %s: decapsulated %v (%v)", js, back.Decapsulated, err)
	}
	var text bytes.Buffer
	st.WriteTo(&text)
	for _, row := range []string{"packets through VXLAN", "packets through ERSPAN type II", "packets through NFLOG"} {
		if !strings.Contains(text.String(), row) {
			t.Errorf("statistics do not show %q:\n%s", row, text.String())
		}
	}
}

// writeCapture writes exchanges as an Ethernet pcap with the given snap
// length (0: none) at successive seconds from t0, and returns its path.
func writeCapture(t *testing.T, snap int, xs []captureExchange) string {
	t.Helper()
	var pkts []pcaptest.Packet
	for i, x := range xs {
		pkts = append(pkts, pcaptest.Packet{Time: time.Unix(t0+int64(i), 0), Data: pcaptest.EthernetIP(pcaptest.UDP(x.flow, x.msg))})
	}
	var b bytes.Buffer
	if err := pcaptest.WritePcap(&b, pcaptest.LinkEthernet, snap, pkts); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "capture.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSnapLengthCut captures responses with a snap length that cuts them
// inside a record: the complete records before the cut are stored under
// the bailiwick rule, the cut record and everything after it are not, an
// NXDOMAIN whose CNAME chain was cut names nobody, and tshark decodes the
// same records.
func TestSnapLengthCut(t *testing.T) {
	flow := pcaptest.Flow{Src: netip.MustParseAddr("192.0.2.53"), Dst: netip.MustParseAddr("198.51.100.7"), SrcPort: 53, DstPort: 40000}
	referral := msgSpec{q: "www.cut.example.com A", aa: true,
		ans: []string{"www.cut.example.com. 60 IN A 192.0.2.1", "www.cut.example.com. 60 IN A 192.0.2.2",
			"www.cut.example.com. 60 IN A 192.0.2.3", "www.cut.example.com. 60 IN A 192.0.2.4"},
		auth:  []string{"cut.example.com. 60 IN NS ns1.cut.example.com.", "cut.example.com. 60 IN NS ns2.cut.example.com."},
		extra: []string{"ns1.cut.example.com. 60 IN A 192.0.2.53", "ns2.cut.example.com. 60 IN A 192.0.2.54"}}
	nx := msgSpec{q: "a.cut.example.com A", aa: true, rcode: dns.RcodeNameError,
		ans:  []string{"a.cut.example.com. 60 IN CNAME b.cut.example.com.", "b.cut.example.com. 60 IN CNAME c.cut.example.com."},
		auth: []string{"cut.example.com. 60 IN SOA ns1.cut.example.com. admin.cut.example.com. 1 7200 3600 1209600 60"}}
	// cutAfter returns the snap length that cuts spec's message 3 bytes
	// into the record following the first n (answer, authority,
	// additional in order).
	cutAfter := func(spec msgSpec, n int) int {
		s := spec
		all := slices.Concat(s.ans, s.auth, s.extra)
		s.ans, s.auth, s.extra = nil, nil, nil
		for i, r := range all[:n] {
			switch {
			case i < len(spec.ans):
				s.ans = append(s.ans, r)
			case i < len(spec.ans)+len(spec.auth):
				s.auth = append(s.auth, r)
			default:
				s.extra = append(s.extra, r)
			}
		}
		return 14 + 20 + 8 + len(s.pack(t)) + 3
	}
	tests := []struct {
		name string
		spec msgSpec
		snap int
		want []string // stored, as stored() renders them
		nx   []string
	}{
		{name: "cut in the answer section", spec: referral, snap: cutAfter(referral, 2),
			want: []string{"www.cut.example.com A 192.0.2.1 @", "www.cut.example.com A 192.0.2.2 @"}},
		{name: "cut in the additional section", spec: referral, snap: cutAfter(referral, 7),
			want: []string{"cut.example.com NS ns1.cut.example.com. @cut.example.com", "cut.example.com NS ns2.cut.example.com. @cut.example.com",
				"ns1.cut.example.com A 192.0.2.53 @cut.example.com",
				"www.cut.example.com A 192.0.2.1 @cut.example.com", "www.cut.example.com A 192.0.2.2 @cut.example.com",
				"www.cut.example.com A 192.0.2.3 @cut.example.com", "www.cut.example.com A 192.0.2.4 @cut.example.com"}},
		{name: "cut in the first record", spec: referral, snap: cutAfter(referral, 0)},
		{name: "NXDOMAIN cut inside its CNAME chain", spec: nx, snap: cutAfter(nx, 1)},
		{name: "NXDOMAIN cut in the authority section", spec: nx, snap: cutAfter(nx, 2), nx: []string{"c.cut.example.com"}},
		{name: "NXDOMAIN whole", spec: nx, nx: []string{"c.cut.example.com"}},
	}
	tshark, _ := exec.LookPath("tshark")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeCapture(t, tc.snap, []captureExchange{{flow, tc.spec.pack(t)}})
			m, in := ingestFiles(t, Options{SensorID: "t"}, file)
			if got := stored(m); !slices.Equal(got, tc.want) {
				t.Errorf("stored:\n %s\nwant:\n %s", strings.Join(got, "\n "), strings.Join(tc.want, "\n "))
			}
			if got := slices.Sorted(maps.Keys(m.nx)); !slices.Equal(got, tc.nx) {
				t.Errorf("NXDOMAIN names %v, want %v", got, tc.nx)
			}
			st := in.Stats()
			if cut := tc.snap > 0; st.CutMessages != map[bool]uint64{true: 1}[cut] || (st.Malformed[wireErrNames[errRecord]] == 1) != cut {
				t.Errorf("cut messages %d, malformed %v", st.CutMessages, st.Malformed)
			}
			if tshark != "" && tc.spec.rcode == 0 {
				compareWithTshark(t, tshark, file, Options{SensorID: "t"}, nil)
			}
		})
	}
}

// TestLocalNames ingests mDNS and LLMNR answers beside DNS ones: local
// names are stored under SENSOR/mdns and SENSOR/llmnr only, a tuple seen
// in both carries both ids, across a flush too, and local NXDOMAINs name
// nobody.
func TestLocalNames(t *testing.T) {
	dnsFlow := pcaptest.Flow{Src: netip.MustParseAddr("192.0.2.53"), Dst: netip.MustParseAddr("198.51.100.7"), SrcPort: 53, DstPort: 40000}
	mdnsFlow := pcaptest.Flow{Src: netip.MustParseAddr("192.0.2.20"), Dst: netip.MustParseAddr("224.0.0.251"), SrcPort: 5353, DstPort: 5353}
	llmnrFlow := pcaptest.Flow{Src: netip.MustParseAddr("192.0.2.30"), Dst: netip.MustParseAddr("198.51.100.7"), SrcPort: 5355, DstPort: 50000}
	global := msgSpec{q: "www.example.com A", aa: true, ans: []string{"www.example.com. 60 IN A 192.0.2.99"}}
	claimed := msgSpec{aa: true, ans: []string{"www.example.com. 60 IN A 192.0.2.99", "printer.local. 120 IN A 192.0.2.20"}}
	llmnr := msgSpec{q: "wpad A", ans: []string{"wpad. 30 IN A 192.0.2.30"}}
	llmnrNX := msgSpec{q: "nobody A", rcode: dns.RcodeNameError}
	xs := []captureExchange{
		{dnsFlow, global.pack(t)}, {mdnsFlow, claimed.pack(t)}, {llmnrFlow, llmnr.pack(t)}, {llmnrFlow, llmnrNX.pack(t)},
	}
	// The second file comes after a flush: the local tuples must keep
	// their ids.
	m, in := ingestFiles(t, Options{SensorID: "edge"}, writeCapture(t, 0, xs), writeCapture(t, 0, xs[1:2]))
	var got []string
	for _, tp := range m.tuples {
		got = append(got, fmt.Sprintf("%s %s %d %s", tp.RRName, tp.RData, tp.Count, strings.Join(tp.SensorIDs, ",")))
	}
	slices.Sort(got)
	want := []string{
		"printer.local 192.0.2.20 2 edge/mdns",
		"wpad 192.0.2.30 1 edge/llmnr",
		"www.example.com 192.0.2.99 3 edge,edge/mdns",
	}
	if !slices.Equal(got, want) {
		t.Errorf("stored:\n %s\nwant:\n %s", strings.Join(got, "\n "), strings.Join(want, "\n "))
	}
	if len(m.nx) != 0 || in.Stats().NXDomain != 1 {
		t.Errorf("NXDOMAIN names %v (counted %d): an LLMNR NXDOMAIN must only be counted", m.nx, in.Stats().NXDomain)
	}
}

// TestAnyPortAgainstTshark ingests DNS exchanged on UDP 8053 with
// AnyPort: what is stored is what tshark decodes when told the port is
// DNS; without AnyPort nothing is.
func TestAnyPortAgainstTshark(t *testing.T) {
	var xs []captureExchange
	for _, x := range captureExchanges(t, "anyport") {
		if x.flow.SrcPort != 53 && x.flow.DstPort != 53 {
			continue
		}
		f := x.flow
		if f.SrcPort == 53 {
			f.SrcPort = 8053
			// The query this response answers, on the reverse flow.
			m := new(dns.Msg)
			if err := m.Unpack(x.msg); err != nil {
				t.Fatal(err)
			}
			q := new(dns.Msg)
			q.SetQuestion(m.Question[0].Name, m.Question[0].Qtype)
			q.Id = m.Id
			qb, err := q.Pack()
			if err != nil {
				t.Fatal(err)
			}
			xs = append(xs, captureExchange{f.Reverse(), qb})
		} else {
			f.DstPort = 8053
		}
		xs = append(xs, captureExchange{f, x.msg})
	}
	file := writeCapture(t, 0, xs)
	m, _ := ingestFiles(t, Options{SensorID: "t"}, file)
	if len(m.tuples) != 0 {
		t.Errorf("without AnyPort, %d tuples stored", len(m.tuples))
	}
	compareWithTshark(t, needTshark(t), file, Options{SensorID: "t", AnyPort: true}, []uint16{8053}, "-d", "udp.port==8053,dns")
}
