package imports

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/heaptest"
	"github.com/dnsscout/dnsscout/internal/pdns"
)

func readTestdata(tb testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

const good = "1322849924.408856||192.0.2.10||198.51.100.53||IN||www.example.com.||A||192.0.2.1||3600||5\n"

// reader runs one of the three imports on r.
type reader func(ctx context.Context, r io.Reader, o Options, st *Stats, sink Sink) error

func zoneReaderFunc(ctx context.Context, r io.Reader, o Options, st *Stats, sink Sink) error {
	return ReadZone(ctx, r, ZoneOptions{Options: o, Origin: "example.com", Time: 1}, st, sink)
}

var readers = map[string]reader{"passivedns": ReadPassiveDNS, "cof": ReadCOF, "zone": zoneReaderFunc}

// TestLimits feeds each reader hostile input: long lines are skipped and
// counted (logs) or end the import (zone files), never held whole; every
// error names its line and quotes at most 80 bytes.
func TestLimits(t *testing.T) {
	long := strings.Repeat("x", 2<<20)
	tests := []struct {
		name    string
		reader  string
		input   string
		tuples  int
		bad     []string // the lines reported, by prefix
		stopped bool     // the import ends with ErrStopped
	}{
		{name: "2 MB passivedns line", reader: "passivedns",
			input:  good + "1322849925.1||192.0.2.10||198.51.100.53||IN||x.example.com.||TXT||" + long + "||60||1\n" + good,
			tuples: 2, bad: []string{`line 2: longer than 1048576 bytes (starts "1322849925.1||`}},
		{name: "long line without a newline", reader: "passivedns", input: good + long,
			tuples: 1, bad: []string{"line 2: longer than"}},
		{name: "A 999.1.1.1", reader: "passivedns",
			input:  strings.Replace(good, "192.0.2.1|", "999.1.1.1|", 1) + good,
			tuples: 1, bad: []string{`line 1: rdata does not match its type: A rdata "999.1.1.1"`}},
		{name: "NUL bytes as a log", reader: "passivedns", input: strings.Repeat("\x00", 3<<20),
			bad: []string{"line 1: longer than"}},
		{name: "COF long line", reader: "cof",
			input:  `{"rrname":"` + long + `"}` + "\n" + `{"rrname":"a.example.com","rrtype":"A","rdata":"192.0.2.1"}` + "\n",
			tuples: 1, bad: []string{`line 1: longer than 1048576 bytes (starts "{\"rrname\":\"xxx`}},
		{name: "COF bad rdata", reader: "cof",
			input: `{"rrname":"a.example.com","rrtype":"AAAA","rdata":["2001:db8::1","192.0.2.1"]}` + "\n",
			bad:   []string{`line 1: rdata does not match its type: AAAA rdata "192.0.2.1"`}},
		{name: "zone long line", reader: "zone", input: "a 60 IN A 192.0.2.1\n" + long, tuples: 1,
			bad: []string{"line 2: line longer than 1048576 bytes"}, stopped: true},
		{name: "zone NUL", reader: "zone", input: "a 60 IN A 192.0.2.1\nb 60 IN A 192.0.2.2\n\x00\x00", tuples: 2,
			bad: []string{"line 3: NUL byte: binary data, not a zone file"}, stopped: true},
		{name: "zone endless parentheses", reader: "zone",
			input: "a 60 IN TXT ( " + strings.Repeat("\"xxxxxxx\"\n", 200_000) + ")\n", bad: []string{"line 116509: record in parentheses longer than"}, stopped: true},
		{name: "zone bad token", reader: "zone", input: "a 60 IN A " + strings.Repeat("\xf5", 5000) + "\n",
			bad: []string{`line 1: bad A A: "\xf5\xf5`}, stopped: true},
		{name: "zone A 999.1.1.1", reader: "zone", input: "b 60 IN A 192.0.2.2\na 60 IN A 999.1.1.1\n", tuples: 1,
			bad: []string{`line 2: bad A A: "999.1.1.1"`}, stopped: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c collect
			var st Stats
			var bad []string
			o := Options{Bad: func(e *LineError) { bad = append(bad, e.Error()) }}
			err := readers[tc.reader](context.Background(), strings.NewReader(tc.input), o, &st, &c)
			if tc.stopped != errors.Is(err, ErrStopped) || !tc.stopped && err != nil {
				t.Fatalf("err = %v, want stopped=%v", err, tc.stopped)
			}
			if len(c.tuples) != tc.tuples {
				t.Errorf("%d tuples, want %d", len(c.tuples), tc.tuples)
			}
			if len(bad) != len(tc.bad) || st.Bad() != uint64(len(tc.bad)) {
				t.Fatalf("bad lines %q (counted %d), want %q", bad, st.Bad(), tc.bad)
			}
			for i, b := range bad {
				if !strings.HasPrefix(b, tc.bad[i]) {
					t.Errorf("bad line %q, want it to start %q", b, tc.bad[i])
				}
				if len(b) > 300 {
					t.Errorf("message of %d bytes: %.300s", len(b), b)
				}
			}
			if err != nil && len(err.Error()) > 400 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
}

// endless yields 'a' (or the given byte) for ever, and cancels its
// context after n bytes.
type endless struct {
	c      byte
	n      int
	cancel func()
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.c
	}
	if e.n -= len(p); e.n <= 0 {
		e.cancel()
	}
	return len(p), nil
}

// TestCancelInsideALine: cancelling stops a reader in the middle of an
// endless line (the context is checked between chunks, not lines).
func TestCancelInsideALine(t *testing.T) {
	for name, read := range readers {
		for _, c := range []byte{'a', '\n', ' '} {
			t.Run(name+" "+string(c), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				var st Stats
				done := make(chan error, 1)
				// Lines may be longer than the input: only the cancel stops it.
				o := Options{MaxLine: 64 << 20}
				go func() { done <- read(ctx, &endless{c: c, n: 1 << 20, cancel: cancel}, o, &st, &collect{}) }()
				select {
				case err := <-done:
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("err = %v, want context.Canceled", err)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("not stopped 30 s after the cancel")
				}
			})
		}
	}
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		max   int
		want  []string // lines; "LONG:" marks a long one with its kept start
	}{
		{"plain", "a\nbb\n", 10, []string{"a\n", "bb\n"}},
		{"no final newline", "a\nbb", 10, []string{"a\n", "bb"}},
		{"CRLF", "a\r\nb\r\n", 10, []string{"a\r\n", "b\r\n"}},
		{"exactly max", "abc\nd\n", 3, []string{"abc\n", "d\n"}},
		{"max+1", "abcd\nd\n", 3, []string{"LONG:abcd\n", "d\n"}},
		{"max+1 at the end", "d\nabcd", 3, []string{"d\n", "LONG:abcd"}},
		{"long across chunks", strings.Repeat("x", 3*lineChunk) + "\nok\n", lineChunk, []string{"LONG:" + strings.Repeat("x", keptOfLong), "ok\n"}},
		{"empty", "", 3, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := newLineReader(strings.NewReader(tc.input), tc.max)
			var got []string
			for {
				line, long, err := lr.next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				s := string(line)
				if long {
					s = "LONG:" + s
				}
				got = append(got, s)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("lines %q, want %q", got, tc.want)
			}
		})
	}
}

// repeated yields pattern again and again up to n bytes, sampling the
// live heap every 256 KiB.
type repeated struct {
	pattern     []byte
	n, off, cur int
	m           *heaptest.Live
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if r.cur += len(p); r.cur >= 256<<10 {
		r.cur = 0
		r.m.Sample()
	}
	n := 0
	for n < len(p) && r.n > 0 {
		c := copy(p[n:min(len(p), n+r.n)], r.pattern[r.off:])
		n += c
		r.n -= c
		r.off = (r.off + c) % len(r.pattern)
	}
	return n, nil
}

// countSink holds nothing and stops an import after max tuples (a
// $GENERATE line makes 65,536 of them).
type countSink struct{ n, max int }

var errEnough = errors.New("enough tuples")

func (s *countSink) Tuple(*pdns.Tuple) error {
	if s.n++; s.n >= s.max {
		return errEnough
	}
	return nil
}

func (s *countSink) NXDomain(string, int64, uint64) error { return s.Tuple(nil) }

// fuzzMemory runs read on the fuzz input as it is (finding panics), then
// on the input repeated to 2 MiB with lines bounded to 16 KiB, and fails
// when the live heap grew by more than 1 MiB: no reader may hold what it
// reads.
func fuzzMemory(t *testing.T, read reader, input []byte) {
	var st Stats
	o := Options{MaxLine: 16 << 10}
	_ = read(context.Background(), bytes.NewReader(input), o, &st, &countSink{max: 1 << 20})
	if len(input) == 0 {
		return
	}
	m := heaptest.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = read(ctx, &repeated{pattern: input, n: 2 << 20, m: m}, o, &st, &countSink{max: 50_000})
	if grew := m.Grew(); grew > 1<<20 {
		t.Fatalf("live heap grew by %d bytes reading 2 MiB of %q repeated", grew, input[:min(len(input), 80)])
	}
}

// FuzzReadPassiveDNS reads arbitrary logs whole, with a memory bound.
//
//	go test ./internal/ingest/imports -run '^$' -fuzz FuzzReadPassiveDNS -fuzztime 60s
func FuzzReadPassiveDNS(f *testing.F) {
	for _, name := range []string{"passivedns.log", "passivedns.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(strings.Repeat("x", 1000)))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzMemory(t, ReadPassiveDNS, b) })
}

// FuzzReadCOF reads arbitrary COF and SAF whole, with a memory bound.
//
//	go test ./internal/ingest/imports -run '^$' -fuzz FuzzReadCOF -fuzztime 60s
func FuzzReadCOF(f *testing.F) {
	for _, name := range []string{"circl.ndjson", "dnsdb-saf.ndjson", "saf-truncated.ndjson"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzMemory(t, ReadCOF, b) })
}

// FuzzReadZone reads arbitrary zone files whole, with a memory bound.
//
//	go test ./internal/ingest/imports -run '^$' -fuzz FuzzReadZone -fuzztime 60s
func FuzzReadZone(f *testing.F) {
	for _, name := range []string{"nsd__unsigned.zone", "bind9__auth__ns1__example.com.db"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("a 60 IN TXT ( \"x\"\n"))
	f.Add([]byte("$GENERATE 1-65535 h$ A 192.0.2.1\n"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzMemory(t, zoneReaderFunc, b) })
}

// FuzzReadZeek reads arbitrary Zeek logs whole, with a memory bound.
//
//	go test ./internal/ingest/imports -run '^$' -fuzz FuzzReadZeek -fuzztime 60s
func FuzzReadZeek(f *testing.F) {
	for _, name := range []string{"zeek-dns.log", "zeek-dns.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("#separator \\x09\n#fields\tts\tquery\tqtype_name\trcode_name\tanswers\n1.5\ta.example\tA\tNOERROR\tTXT 3 abc TXT 9 x,b.example\n"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzMemory(t, ReadZeek, b) })
}

// FuzzReadEVE reads arbitrary eve.json files whole, with a memory bound.
//
//	go test ./internal/ingest/imports -run '^$' -fuzz FuzzReadEVE -fuzztime 60s
func FuzzReadEVE(f *testing.F) {
	for _, name := range []string{"eve-v1.json", "eve-v2.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzMemory(t, ReadEVE, b) })
}
