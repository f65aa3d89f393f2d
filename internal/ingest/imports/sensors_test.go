package imports

import (
	"context"
	"strings"
	"testing"
)

// TestReadSensorLogs reads hand-made Zeek and Suricata logs (written from
// their documented formats, documentation names and addresses) and checks
// every tuple, NXDOMAIN count and skip.
func TestReadSensorLogs(t *testing.T) {
	tests := []struct {
		file    string
		read    reader
		tuples  []string
		nx      []string
		skipped map[Reason]uint64
	}{
		{
			file: "zeek-dns.log", read: ReadZeek,
			tuples: []string{
				"www.example.com A 192.0.2.1 count=1 t=1767323045-1767323045",
				"www.example.com A 192.0.2.2 count=1 t=1767323045-1767323045",
				"cdn.example.com CNAME edge.example.net. count=1 t=1767323046-1767323046",
				"edge.example.net CNAME edge2.example.net. count=1 t=1767323046-1767323046",
				"edge2.example.net AAAA 2001:db8::1 count=1 t=1767323046-1767323046",
				`txt.example.com TXT "v=spf1\009-all" "" count=1 t=1767323049-1767323049`,
				`txt.example.com TXT "a,b" count=1 t=1767323049-1767323049`,
				"10.2.0.192.in-addr.arpa PTR host.example.com. count=1 t=1767323050-1767323050",
				"example.com NS ns1.example.com. count=1 t=1767323052-1767323052",
				"example.com NS ns2.example.net. count=1 t=1767323052-1767323052",
				"dname.example.com CNAME dname.example.net. count=1 t=1767323060-1767323060",
				"dname.example.net A 192.0.2.5 count=1 t=1767323060-1767323060",
				"c.example.com CNAME target.example.com. count=1 t=1767323061-1767323061",
				"svc.example.com CNAME svc.cdn.example.net. count=1 t=1767323061-1767323061",
				"replyonly.example.com A 192.0.2.71 count=1 t=1767323061-1767323061",
				"replyonly.example.com A 192.0.2.72 count=1 t=1767323061-1767323061",
				"second.example.com A 192.0.2.63 count=1 t=1767323063-1767323063",
			},
			nx: []string{"missing.example.com 1767323047 1", "gone.example.org 1767323048 1"},
			skipped: map[Reason]uint64{
				Undetermined: 5, // the RFC 2317 PTR, the lone NS, the MX, the name after an address, a name without the query
				LocalName:    1,
				NoAnswer:     2, // SERVFAIL, no response
				OtherEvent:   1, // the conn log's line
			},
		},
		{
			file: "zeek-dns.json", read: ReadZeek,
			tuples: []string{
				"www.example.com CNAME alias.example.net. count=1 t=1767323045-1767323045",
				"alias.example.net A 192.0.2.1 count=1 t=1767323045-1767323045",
				"v6.example.com AAAA 2001:db8::1 count=1 t=1767323047-1767323047",
				"dup.example.com A 192.0.2.4 count=1 t=1767323048-1767323048",
			},
			nx: []string{"gone.example.com 1767323046 1"},
		},
		{
			file: "eve-v1.json", read: ReadEVE,
			tuples: []string{
				"www.example.com CNAME web.example.net. count=1 t=1767323045-1767323045",
				"web.example.net A 192.0.2.80 count=1 t=1767323045-1767323045",
			},
			nx:      []string{"nope.example.com 1767323046 1"},
			skipped: map[Reason]uint64{OtherEvent: 3, Undetermined: 1},
		},
		{
			file: "eve-v2.json", read: ReadEVE,
			tuples: []string{
				"www.example.com CNAME web.example.net. count=1 t=1767323045-1767323045",
				"web.example.net A 192.0.2.80 count=1 t=1767323045-1767323045",
				"g.example.com CNAME g1.example.net. count=1 t=1767323046-1767323046",
				"g1.example.net CNAME g2.example.org. count=1 t=1767323046-1767323046",
				"g2.example.org AAAA 2001:db8::2 count=1 t=1767323046-1767323046",
				"example.com SOA ns1.example.com. hostmaster.example.com. 2026010201 7200 3600 1209600 300 count=1 t=1767323047-1767323047",
				"_sip._tcp.example.com SRV 10 5 5060 sip.example.com. count=1 t=1767323048-1767323048",
				`t.example.com TXT "v=spf1 -all" count=1 t=1767323049-1767323049`,
				"v3.example.com A 192.0.2.33 count=1 t=1767323054-1767323054",
			},
			nx:      []string{"x.example.com 1767323050 1", "gone.example.net 1767323055 1"},
			skipped: map[Reason]uint64{OtherEvent: 3, NoAnswer: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var st Stats
			var c collect
			var bad []string
			o := Options{Bad: func(e *LineError) { bad = append(bad, e.Error()) }}
			if err := tc.read(context.Background(), open(t, tc.file), o, &st, &c); err != nil {
				t.Fatal(err)
			}
			if len(bad) > 0 {
				t.Errorf("bad lines: %q", bad)
			}
			if got, want := strings.Join(c.lines(), "\n"), strings.Join(tc.tuples, "\n"); got != want {
				t.Errorf("tuples:\n%s\nwant:\n%s", got, want)
			}
			if got, want := strings.Join(c.nx, "\n"), strings.Join(tc.nx, "\n"); got != want {
				t.Errorf("NXDOMAIN:\n%s\nwant:\n%s", got, want)
			}
			for r := range numReasons {
				if st.Skipped[r] != tc.skipped[r] {
					t.Errorf("skipped %q: %d, want %d", r, st.Skipped[r], tc.skipped[r])
				}
			}
		})
	}
}

// TestSensorLogsBadLines: lines that are not what the format says are bad
// (reported, and they make an import fail without --skip-bad).
func TestSensorLogsBadLines(t *testing.T) {
	const hdr = "#separator \\x09\n#fields\tts\tquery\tqtype_name\trcode_name\tanswers\n"
	tests := []struct {
		name  string
		read  reader
		input string
		want  Reason
	}{
		{"zeek fields missing", ReadZeek, hdr + "1767323045.1\twww.example.com\tA\n", BadSyntax},
		{"zeek line before fields", ReadZeek, "#separator \\x09\n1767323045.1\twww.example.com\tA\tNOERROR\t192.0.2.1\n", BadSyntax},
		{"zeek header before separator", ReadZeek, "#fields\tts\n", BadSyntax},
		{"zeek bad ts", ReadZeek, hdr + "yesterday\twww.example.com\tA\tNOERROR\t192.0.2.1\n", BadNumber},
		{"zeek bad json", ReadZeek, `{"ts":1767323045.1,"uid":"C","query":` + "\n", BadSyntax},
		{"zeek json bad ts", ReadZeek, `{"ts":"never","uid":"C","query":"www.example.com","qtype":1,"rcode":0,"answers":["192.0.2.1"]}` + "\n", BadNumber},
		{"eve bad json", ReadEVE, `{"timestamp":"2026-01-02T03:04:05.000000+0000","event_type":"dns","dns":` + "\n", BadSyntax},
		{"eve bad timestamp", ReadEVE, `{"timestamp":"yesterday","event_type":"dns","dns":{"type":"answer","rcode":"NOERROR","rrname":"a.example","rrtype":"A","rdata":"192.0.2.1"}}` + "\n", BadNumber},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st Stats
			var c collect
			var bad []*LineError
			o := Options{Bad: func(e *LineError) { bad = append(bad, e) }}
			if err := tc.read(context.Background(), strings.NewReader(tc.input), o, &st, &c); err != nil {
				t.Fatal(err)
			}
			if len(bad) != 1 || bad[0].Reason != tc.want || len(c.tuples) > 0 {
				t.Fatalf("bad lines %v, tuples %q; want one %q", bad, c.lines(), tc.want)
			}
		})
	}
}
