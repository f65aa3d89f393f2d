package pdns

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func decodeAll(t *testing.T, r io.Reader) ([]Tuple, error) {
	t.Helper()
	d := NewDecoder(r)
	var out []Tuple
	for {
		var err error
		out, err = d.Decode(out)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestDecoderFiles(t *testing.T) {
	tests := []struct {
		file    string
		want    []Tuple
		wantErr error
	}{
		{
			file: "dnsdb-saf.ndjson",
			want: []Tuple{
				{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Bailiwick: "example.com", TimeFirst: 1609459200, TimeLast: 1612137600, Count: 12},
				{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.2", Bailiwick: "example.com", TimeFirst: 1609459200, TimeLast: 1612137600, Count: 12},
				{RRName: "example.com", RRType: dns.TypeNS, RData: "ns1.example.com.", Bailiwick: "com", ZoneTimeFirst: 1609459200, ZoneTimeLast: 1609545600, Count: 3},
			},
		},
		{
			file: "circl.ndjson",
			want: []Tuple{
				{RRName: "mail.example.net", RRType: dns.TypeCNAME, RData: "MX1.Example.NET", TimeFirst: 1609459200, TimeLast: 1609462800, Count: 5, SensorIDs: []string{"sensor-1"}},
				{RRName: "odd.example.net", RRType: 65280, RData: `\# 2 abcd`, TimeFirst: 1609459200, TimeLast: 1609459200, Count: 1, SensorIDs: []string{"a", "b"}},
				{RRName: "v6.example.org", RRType: dns.TypeAAAA, RData: "2001:db8::1", TimeFirst: 1609459200, TimeLast: 1609459201, Count: 1},
			},
		},
		{
			file:    "saf-truncated.ndjson",
			want:    []Tuple{{RRName: "a.example.com", RRType: dns.TypeA, RData: "192.0.2.9", TimeFirst: 1, TimeLast: 2, Count: 1}},
			wantErr: ErrSAFTruncated,
		},
		{file: "saf-failed.ndjson", wantErr: ErrSAFFailed},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "cof", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := decodeAll(t, f)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("tuples:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseCOFErrors(t *testing.T) {
	tests := []struct {
		name, line string
		want       error
	}{
		{"not json", `rrname=www.example.com`, ErrCOFSyntax},
		{"array", `[1,2]`, ErrCOFSyntax},
		{"no rrname", `{"rrtype":"A","rdata":"192.0.2.1"}`, ErrCOFMissing},
		{"no rrtype", `{"rrname":"example.com","rdata":"192.0.2.1"}`, ErrCOFMissing},
		{"no rdata", `{"rrname":"example.com","rrtype":"A"}`, ErrCOFMissing},
		{"empty rdata array", `{"rrname":"example.com","rrtype":"A","rdata":[]}`, ErrCOFMissing},
		{"rdata number", `{"rrname":"example.com","rrtype":"A","rdata":5}`, ErrCOFSyntax},
		{"unknown mnemonic", `{"rrname":"example.com","rrtype":"BOGUS","rdata":"x"}`, ErrCOFValue},
		{"rrtype too big", `{"rrname":"example.com","rrtype":70000,"rdata":"x"}`, ErrCOFValue},
		{"negative count", `{"rrname":"example.com","rrtype":"A","rdata":"192.0.2.1","count":-1}`, ErrCOFValue},
		{"time text", `{"rrname":"example.com","rrtype":"A","rdata":"192.0.2.1","time_first":"soon"}`, ErrCOFSyntax},
		{"first after last", `{"rrname":"example.com","rrtype":"A","rdata":"192.0.2.1","time_first":5,"time_last":4}`, ErrCOFValue},
		{"unknown cond", `{"cond":"maybe"}`, ErrCOFValue},
		{"failed cond", `{"cond":"failed","msg":"x"}`, ErrSAFFailed},
		{"obj not object", `{"obj":"x"}`, ErrCOFSyntax},
		{"rrtype zero (fuzz)", `{"rrname":"0","rrtype":"TYPE0","rdata":"0"}`, ErrCOFValue},
		{"empty rrname", `{"rrname":"","rrtype":"A","rdata":"192.0.2.1"}`, ErrCOFMissing},
		{"empty rdata string", `{"rrname":"example.com","rrtype":"TXT","rdata":["x",""]}`, ErrCOFMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := ParseCOF([]byte(tc.line), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if len(got) != 0 {
				t.Errorf("returned tuples %+v with an error", got)
			}
		})
	}
}

var sampleTuples = []Tuple{
	{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Bailiwick: "example.com", TimeFirst: 1700000000, TimeLast: 1700000100, Count: 7, SensorIDs: []string{"s1"}},
	{RRName: "example.com", RRType: dns.TypeTXT, RData: `"v=spf1 -all" "quote\"d"`, TimeFirst: 1700000000, TimeLast: 1700000000, Count: 1},
	{RRName: "zone.example.net", RRType: dns.TypeNS, RData: "ns.example.net.", ZoneTimeFirst: 1600000000, ZoneTimeLast: 1600000500, Count: 2, SensorIDs: []string{"a", "b"}},
	{RRName: ".", RRType: dns.TypeNS, RData: "a.root-servers.net.", Bailiwick: ".", TimeFirst: 1, TimeLast: 2, ZoneTimeFirst: 3, ZoneTimeLast: 4, Count: 1},
	{RRName: "x.example.org", RRType: 65280, RData: "\\# 1 00", TimeFirst: 9, TimeLast: 9, Count: 18446744073709551615},
	{RRName: "bad\xffutf8.example.org", RRType: dns.TypeA, RData: "192.0.2.3\t\x01", TimeFirst: 9, TimeLast: 9, Count: 1},
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, f := range []Format{FormatCOF, FormatSAF} {
		var buf bytes.Buffer
		e := NewEncoder(&buf, f)
		for i := range sampleTuples {
			if err := e.Encode(&sampleTuples[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := decodeAll(t, &buf)
		if err != nil {
			t.Fatalf("format %d: %v\n%s", f, err, buf.String())
		}
		want := slicesCloneTuples(sampleTuples)
		// Invalid UTF-8 cannot survive JSON; it is replaced.
		want[5].RRName = "bad\ufffdutf8.example.org"
		if !reflect.DeepEqual(got, want) {
			t.Errorf("format %d round trip:\n got %+v\nwant %+v", f, got, want)
		}
	}
}

func slicesCloneTuples(ts []Tuple) []Tuple {
	out := make([]Tuple, len(ts))
	copy(out, ts)
	return out
}

func TestEncodeLines(t *testing.T) {
	tup := sampleTuples[0]
	zone := sampleTuples[2]
	var cof, saf bytes.Buffer
	ec := NewEncoder(&cof, FormatCOF)
	es := NewEncoder(&saf, FormatSAF)
	for _, x := range []*Tuple{&tup, &zone} {
		if err := ec.Encode(x); err != nil {
			t.Fatal(err)
		}
		if err := es.Encode(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := ec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := es.Limited("result limit reached"); err != nil {
		t.Fatal(err)
	}
	wantCOF := `{"count":7,"time_first":1700000000,"time_last":1700000100,"rrname":"www.example.com","rrtype":"A","bailiwick":"example.com","rdata":["192.0.2.1"],"sensor_id":"s1"}
{"count":2,"time_first":0,"time_last":0,"zone_time_first":1600000000,"zone_time_last":1600000500,"rrname":"zone.example.net","rrtype":"NS","rdata":["ns.example.net."],"sensor_id":["a","b"]}
`
	wantSAF := `{"cond":"begin"}
{"obj":{"count":7,"time_first":1700000000,"time_last":1700000100,"rrname":"www.example.com.","rrtype":"A","bailiwick":"example.com.","rdata":["192.0.2.1"],"sensor_id":"s1"}}
{"obj":{"count":2,"zone_time_first":1600000000,"zone_time_last":1600000500,"rrname":"zone.example.net.","rrtype":"NS","rdata":["ns.example.net."],"sensor_id":["a","b"]}}
{"cond":"limited","msg":"result limit reached"}
`
	if cof.String() != wantCOF {
		t.Errorf("COF:\n%s\nwant\n%s", cof.String(), wantCOF)
	}
	if saf.String() != wantSAF {
		t.Errorf("SAF:\n%s\nwant\n%s", saf.String(), wantSAF)
	}
	// An empty SAF answer is begin + succeeded.
	var empty bytes.Buffer
	if err := NewEncoder(&empty, FormatSAF).Close(); err != nil {
		t.Fatal(err)
	}
	if want := "{\"cond\":\"begin\"}\n{\"cond\":\"succeeded\"}\n"; empty.String() != want {
		t.Errorf("empty SAF = %q, want %q", empty.String(), want)
	}
}

func TestRData(t *testing.T) {
	tests := []struct{ rr, want string }{
		{"www.example.com. 300 IN A 192.0.2.1", "192.0.2.1"},
		{"www.example.com. 300 IN AAAA 2001:DB8::1", "2001:db8::1"},
		{"Www.Example.com. 300 IN CNAME Target.EXAMPLE.net.", "target.example.net."},
		{"example.com. 300 IN MX 10 MAIL.example.com.", "10 mail.example.com."},
		{"example.com. 300 IN SOA NS1.example.com. HostMaster.example.com. 2024010101 7200 3600 1209600 300", "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"},
		{`example.com. 300 IN TXT "Mixed Case" "two"`, `"Mixed Case" "two"`},
		{"_sip._tcp.example.com. 300 IN SRV 10 60 5060 SIP.example.com.", "10 60 5060 sip.example.com."},
		{"example.com. 300 IN RRSIG A 13 2 300 20240101000000 20231201000000 12345 EXAMPLE.com. dGVzdA==", "A 13 2 300 20240101000000 20231201000000 12345 example.com. dGVzdA=="},
		{"example.com. 300 IN NSEC A.example.com. A NS SOA", "a.example.com. A NS SOA"},
		{`example.com. 300 IN CAA 0 issue "ca.example.net"`, `0 issue "ca.example.net"`},
		{"x.example.com. 300 IN TYPE65280 \\# 2 abcd", "\\# 2 abcd"},
		{`example.com. 300 IN HTTPS 1 SVC.example.net. alpn="h2"`, `1 svc.example.net. alpn="h2"`},
	}
	for _, tc := range tests {
		t.Run(tc.rr, func(t *testing.T) {
			rr, err := dns.NewRR(tc.rr)
			if err != nil {
				t.Fatal(err)
			}
			before := rr.String()
			if got := RData(rr); got != tc.want {
				t.Errorf("RData = %q, want %q", got, tc.want)
			}
			if rr.String() != before {
				t.Errorf("RData changed its argument: %q -> %q", before, rr.String())
			}
			// Canonicalizing the canonical form changes nothing.
			if got, ok := CanonicalRData(rr.Header().Rrtype, tc.want); !ok || got != tc.want {
				t.Errorf("CanonicalRData(%q) = %q, %v", tc.want, got, ok)
			}
		})
	}
}

func TestCanonicalRData(t *testing.T) {
	tests := []struct {
		typ       uint16
		in, want  string
		wantParse bool
	}{
		{dns.TypeCNAME, "Target.Example.NET", "target.example.net.", true},
		{dns.TypeMX, " 10   mx.example.com. ", "10 mx.example.com.", true},
		{dns.TypeAAAA, "2001:0db8:0000::0001", "2001:db8::1", true},
		{dns.TypeA, "NXDOMAIN", "NXDOMAIN", false},
		{dns.TypeMX, "mx.example.com.", "mx.example.com.", false},
		{dns.TypeA, "192.0.2.1 ; comment", "192.0.2.1 ; comment", false},
		{dns.TypeA, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := CanonicalRData(tc.typ, tc.in)
			if got != tc.want || ok != tc.wantParse {
				t.Errorf("CanonicalRData(%d, %q) = %q, %v; want %q, %v", tc.typ, tc.in, got, ok, tc.want, tc.wantParse)
			}
		})
	}
}

// TestParseCOFFuzzCases pins what fuzzing found.
func TestParseCOFFuzzCases(t *testing.T) {
	tests := []struct {
		name, line string
		want       Tuple
	}{
		{"empty sensor array is no sensor", `{"rrname":".","rrtype":"CNAME","rdata":"a.","sensor_id":[]}`,
			Tuple{RRName: ".", RRType: dns.TypeCNAME, RData: "a.", Count: 1}},
		{"space before the final dot is layout", `{"rrname":"www.example.com .","rrtype":"A","rdata":"192.0.2.1","bailiwick":"example.com ."}`,
			Tuple{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Bailiwick: "example.com", Count: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := ParseCOF([]byte(tc.line), nil)
			if err != nil || len(got) != 1 {
				t.Fatalf("ParseCOF = %+v, %v", got, err)
			}
			if !reflect.DeepEqual(got[0], tc.want) {
				t.Errorf("got %+v, want %+v", got[0], tc.want)
			}
		})
	}
}

func TestCanonicalName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "."},
		{" . ", "."},
		{" .", "."},
		{"WWW.Example.COM.", "www.example.com"},
		{" www.example.com ", "www.example.com"},
		{"example.com .", "example.com"},
		{`a\.`, `a\.`},    // the label "a." in text form ends in an escaped dot
		{`a\\.`, `a\\`},   // the label "a\" then the final dot
		{`a\ `, `a\ `},    // an escaped space belongs to the label
		{`a\ .`, `a\ `},   // and stays before a final dot
		{"a\u00a0.", "a"}, // Unicode space before the dot is layout too
		{"É.example.", "É.example"},
	}
	for _, tc := range tests {
		if got := CanonicalName(tc.in); got != tc.want {
			t.Errorf("CanonicalName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFromRR(t *testing.T) {
	rr, err := dns.NewRR("WWW.example.COM. 60 IN CNAME Web.Example.Net.")
	if err != nil {
		t.Fatal(err)
	}
	got := FromRR(rr, 1700000000, "example.com", "recon")
	want := Tuple{RRName: "www.example.com", RRType: dns.TypeCNAME, RData: "web.example.net.", Bailiwick: "example.com",
		TimeFirst: 1700000000, TimeLast: 1700000000, Count: 1, SensorIDs: []string{"recon"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromRR = %+v, want %+v", got, want)
	}
}

// FuzzParseCOF checks that no line panics and that whatever parses survives
// an encode/parse round trip unchanged.
//
//	go test ./internal/pdns -run '^$' -fuzz FuzzParseCOF -fuzztime 20s
func FuzzParseCOF(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "cof", "*.ndjson"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f.Add(append([]byte(nil), sc.Bytes()...))
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got, _, err := ParseCOF(line, nil)
		if err != nil {
			return
		}
		for i := range got {
			tup := got[i]
			if emptyLastLabel(tup.RRName) || emptyLastLabel(tup.Bailiwick) {
				continue // "a..": an empty last label loses one dot per pass
			}
			b := AppendCOF(nil, &tup)
			again, _, err := ParseCOF(b, nil)
			if err != nil {
				t.Fatalf("re-parse of %s: %v", b, err)
			}
			if len(again) != 1 {
				t.Fatalf("re-parse of %s gave %d tuples", b, len(again))
			}
			if !validUTF8Tuple(&tup) {
				continue
			}
			if !reflect.DeepEqual(again[0], tup) {
				t.Fatalf("round trip changed the tuple:\n was %+v\n now %+v", tup, again[0])
			}
		}
	})
}

// emptyLastLabel reports whether a canonical name still ends in an
// unescaped dot ("a." from "a.."): not a name (the store refuses it), and
// CanonicalName drops one more dot from it on the next parse.
func emptyLastLabel(s string) bool {
	return !strings.HasPrefix(s, ".") && strings.HasSuffix(s, ".") && !strings.HasSuffix(s, `\.`)
}

func validUTF8Tuple(t *Tuple) bool {
	ok := func(s string) bool { return strings.ToValidUTF8(s, "\ufffd") == s }
	for _, s := range t.SensorIDs {
		if !ok(s) {
			return false
		}
	}
	return ok(t.RRName) && ok(t.RData) && ok(t.Bailiwick)
}
