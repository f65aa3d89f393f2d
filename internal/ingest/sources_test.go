package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestRunSources(t *testing.T) {
	pcapBytes, err := os.ReadFile(filepath.Join("pcap", "testdata", "tcpdump__dns_udp.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sources []string
		stdin   []byte
		o       Options
		want    []string // name TYPE rdata that must be stored
		nx      []string
		tuples  int // exact number stored; -1 = do not check
	}{
		{name: "gzip pcap", sources: []string{"pcap/testdata/derived__dnso1tcp.pcap.gz"}, tuples: 3,
			want: []string{"google.com A 216.58.211.142"}},
		{name: "pcapng with mixed links", sources: []string{"pcap/testdata/derived__mixed-links.pcapng"}, tuples: -1,
			want: []string{"google.com A 172.217.20.46", "www.tcpdump.org A 192.139.46.66"}, nx: []string{`,\.`}},
		{name: "stdin", sources: []string{"-"}, stdin: pcapBytes, tuples: 4, want: []string{"www.tcpdump.org A 198.199.88.104"}},
		// Both logs have a bad line: imported without it.
		{name: "passivedns log", sources: []string{"imports/testdata/passivedns.log"}, o: Options{SkipBad: true}, tuples: 5,
			want: []string{"www.example.com A 192.0.2.1", "alias.example.com CNAME target.example.net."}, nx: []string{"nx.example.com"}},
		{name: "passivedns json", sources: []string{"imports/testdata/passivedns.json"}, o: Options{SkipBad: true}, tuples: 1, nx: []string{"nx.example.com"}},
		{name: "COF", sources: []string{"imports/testdata/circl.ndjson"}, tuples: 3, want: []string{"mail.example.net CNAME mx1.example.net."}},
		{name: "SAF", sources: []string{"imports/testdata/dnsdb-saf.ndjson"}, tuples: 3, want: []string{"example.com NS ns1.example.com."}},
		{name: "zone by content", sources: []string{"imports/testdata/nsd__unsigned.zone"}, tuples: -1, want: []string{"www.example.org AAAA 1::3"}},
		{name: "zone forced, origin given", sources: []string{"zone:imports/testdata/bind9__nsec3.db.signed"}, o: Options{ZoneOrigin: "nsec3"}, tuples: -1, want: []string{"nsec3 NS ns1.nsec3."}},
		{name: "dnstap file", sources: []string{"dnstap/testdata/go-dnscollector__dnstap.fstrm"}, o: Options{DnstapTypes: []string{"client-response"}}, tuples: 1,
			want: []string{"www.google.com A 216.58.213.68"}},
		{name: "several at once", sources: []string{"imports/testdata/circl.ndjson", "pcap/testdata/tcpdump__dns_udp.pcap"}, tuples: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemSink()
			if tc.o.SensorID == "" {
				tc.o.SensorID = "s"
			}
			var calls atomic.Int64
			tc.o.Progress = func(string, int64, int64) { calls.Add(1) }
			in, err := New(m, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if err := in.Run(context.Background(), bytes.NewReader(tc.stdin), tc.sources...); err != nil {
				t.Fatal(err)
			}
			if err := in.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			lines := m.lines()
			for _, w := range tc.want {
				found := false
				for _, l := range lines {
					found = found || l == w
				}
				if !found {
					t.Errorf("%q not stored; have\n  %s", w, strings.Join(lines, "\n  "))
				}
			}
			if tc.tuples >= 0 && len(lines) != tc.tuples {
				t.Errorf("%d tuples, want %d:\n  %s", len(lines), tc.tuples, strings.Join(lines, "\n  "))
			}
			for _, n := range tc.nx {
				if m.nx[n] == nil {
					t.Errorf("no NXDOMAIN count for %q (have %v)", n, m.nx)
				}
			}
			if calls.Load() == 0 {
				t.Error("progress never reported")
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.zone")
	if err := os.WriteFile(bad, []byte("this is not ( a zone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sources []string
		want    error
	}{
		{"missing file", []string{filepath.Join(dir, "nope.pcap")}, ErrSource},
		{"no source", nil, ErrSource},
		{"empty file is fine", []string{empty}, nil},
		{"bad zone", []string{bad}, nil}, // checked below: an error, not ErrSource
		{"stdin without a reader", []string{"-"}, ErrSource},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := New(newMemSink(), Options{SensorID: "s"})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close(context.Background())
			err = in.Run(context.Background(), nil, tc.sources...)
			if tc.name == "bad zone" {
				var fe *FailedError
				if !errors.As(err, &fe) || len(fe.Errs) != 1 || !strings.Contains(fe.Errs[0].Error(), "bad.zone") {
					t.Errorf("err = %v, want a FailedError naming the file", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestImportFoldsWithSensor checks that a COF export read back folds into
// the tuples the sensor made: same keys, counts summed.
func TestImportFoldsWithSensor(t *testing.T) {
	msg := msgSpec{q: "Mail.Example.NET CNAME", aa: true, ans: []string{"Mail.Example.NET. 60 IN CNAME MX1.example.net."}}.pack(t)
	cof := filepath.Join(t.TempDir(), "export.ndjson")
	line := `{"count":5,"time_first":1600000000,"time_last":1600000100,"rrname":"mail.example.net","rrtype":"CNAME","rdata":["MX1.Example.NET."],"sensor_id":"old"}` + "\n"
	if err := os.WriteFile(cof, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	m := newMemSink()
	in, err := New(m, Options{SensorID: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Message(context.Background(), time.Unix(t0, 0), msg, ""); err != nil {
		t.Fatal(err)
	}
	if err := in.Run(context.Background(), nil, cof); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tp := m.get("mail.example.net", dns.TypeCNAME, "mx1.example.net.")
	if len(m.tuples) != 1 || tp == nil {
		t.Fatalf("stored %v", m.lines())
	}
	if tp.Count != 6 || tp.TimeFirst != 1600000000 || tp.TimeLast != t0 || strings.Join(tp.SensorIDs, ",") != "new,old" {
		t.Errorf("folded tuple %+v", *tp)
	}
}

func TestCancelFlushes(t *testing.T) {
	// A listener runs until cancelled; what came before must be written.
	m := newMemSink()
	in, err := New(m, Options{SensorID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	msg := msgSpec{q: "www.example.com A", aa: true, ans: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t)
	if err := in.Message(context.Background(), time.Unix(t0, 0), msg, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, nil, "dnstap:unix:"+filepath.Join(t.TempDir(), "s.sock")) }()
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel = %v", err)
	}
	if len(m.tuples) != 1 {
		t.Errorf("stored %v after cancel", m.lines())
	}
	in.Close(context.Background())
}

func TestCheckSources(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		src string
		ok  bool
	}{
		{"-", true},
		{"pcap/testdata/dnscap__dns.pcap", true},
		{"zone:imports/testdata/nsd__unsigned.zone", true},
		{"dnstap:unix:/run/x.sock", true},
		{"dnstap:tcp:127.53.220.1:6000", true},
		{"live:lo", true},
		{"live:", false},
		{"dnstap:unix:", false},
		{dir, false},
		{"pcap:" + filepath.Join(dir, "none.pcap"), false},
	}
	for _, tc := range tests {
		err := CheckSources([]string{tc.src})
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrSource) {
			t.Errorf("CheckSources(%q) = %v, want ok=%v", tc.src, err, tc.ok)
		}
	}
}

func TestImportInvalidNames(t *testing.T) {
	cof := filepath.Join(t.TempDir(), "bad.ndjson")
	lines := `{"rrname":"two..dots.example.com","rrtype":"A","rdata":"192.0.2.1","time_first":1,"time_last":1}
{"rrname":"spa ce.example.com","rrtype":"A","rdata":"192.0.2.1","time_first":1,"time_last":1}
{"rrname":"ok.example.com","rrtype":"A","rdata":"192.0.2.1","time_first":1,"time_last":1}
`
	if err := os.WriteFile(cof, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, skip := range []bool{false, true} {
		m := newMemSink()
		var reported []string
		in, err := New(m, Options{SensorID: "s", SkipBad: skip, Report: func(err error) { reported = append(reported, err.Error()) }})
		if err != nil {
			t.Fatal(err)
		}
		err = in.Run(context.Background(), nil, cof)
		if cerr := in.Close(context.Background()); cerr != nil {
			t.Fatal(cerr)
		}
		want := []string{cof + `: line 1: name "two..dots.example.com" has an empty label`,
			cof + `: line 2: name "spa ce.example.com" has a byte 0x20 that is not printable ASCII`}
		if !skip {
			// Atomic: nothing of a file with bad lines.
			if !errors.Is(err, ErrNotImported) || len(m.lines()) != 0 {
				t.Errorf("without SkipBad: err %v, stored %v", err, m.lines())
			}
			want = append(want, cof+": 2 bad lines, nothing imported (--skip-bad imports the 1 good record)")
		} else {
			if err != nil {
				t.Fatal(err)
			}
			if got := m.lines(); len(got) != 1 || got[0] != "ok.example.com A 192.0.2.1" {
				t.Errorf("stored %v", got)
			}
			if st := in.Stats(); st.Malformed["import: bad owner name"] != 2 || st.SkippedLines != 2 {
				t.Errorf("counted %v, skipped %d", st.Malformed, st.SkippedLines)
			}
			want = append(want, cof+": 2 bad lines, imported the 1 good record (--skip-bad)")
		}
		if !slices.Equal(reported, want) {
			t.Errorf("SkipBad %v: reported\n  %s\nwant\n  %s", skip, strings.Join(reported, "\n  "), strings.Join(want, "\n  "))
		}
	}
}

// errAfter returns its data, then err.
type errAfter struct {
	data []byte
	err  error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

// TestReadAheadFreeRoom: every buffer a read-ahead can have in use at
// once (those queued, the one being filled, the one being read) fits in
// its free list. With one place less, when the reading goroutine was
// descheduled right after queueing a buffer and the reader drained the
// queue meanwhile, the last buffer given back was dropped, and made anew
// once the goroutine ran ahead again (9-24 buffers of 256 KiB on
// bench/ingest instead of 6).
func TestReadAheadFreeRoom(t *testing.T) {
	ra := newReadAhead(context.Background(), bytes.NewReader(nil), nil, true)
	defer ra.Close()
	if inUse := cap(ra.chunks) + 2; cap(ra.free) < inUse {
		t.Errorf("room for %d free buffers, %d can be in use", cap(ra.free), inUse)
	}
}

func TestReadAhead(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		err  error // what the source ends with (io.EOF: a clean end)
	}{
		{"empty", 0, io.EOF},
		{"one byte", 1, io.EOF},
		{"one buffer", readAheadBuf, io.EOF},
		{"several buffers", 3*readAheadBuf + 17, io.EOF},
		{"error after data", readAheadBuf + 5, io.ErrClosedPipe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := make([]byte, tc.size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			ra := newReadAhead(context.Background(), &errAfter{data: slices.Clone(data), err: tc.err}, nil, true)
			defer ra.Close()
			var got []byte
			buf := make([]byte, 1000)
			var err error
			for err == nil {
				var n int
				n, err = ra.Read(buf)
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, want %d (equal prefix: %v)", len(got), len(data), bytes.HasPrefix(data, got))
			}
			if err != tc.err {
				t.Fatalf("ended with %v, want %v", err, tc.err)
			}
		})
	}
	// Closing before the end stops the goroutine.
	ra := newReadAhead(context.Background(), bytes.NewReader(make([]byte, 10*readAheadBuf)), nil, true)
	if _, err := ra.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	ra.Close()
}
