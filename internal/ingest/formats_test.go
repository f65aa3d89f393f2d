package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var update = flag.Bool("update", false, "rewrite generated test data ("+corpusFile+") and the format table in docs/ingest.md")

// TestFormatsDetect checks that every test file is taken by its format,
// compressed or not, and that no format takes what is none of them.
func TestFormatsDetect(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"pcap/testdata/dnscap__dns.pcap", "pcap"},
		{"pcap/testdata/derived__mixed-links.pcapng", "pcap"},
		{"pcap/testdata/tcpdump__LINKTYPE_RAW_ipv6.pcap", "pcap"},
		{"dnstap/testdata/go-dnscollector__dnstap.fstrm", "dnstap"},
		{"dnstap/testdata/dsc__test.dnstap", "dnstap"},
		{"imports/testdata/passivedns.log", "passivedns"},
		{"imports/testdata/passivedns.json", "passivedns"},
		{"imports/testdata/circl.ndjson", "cof"},
		{"imports/testdata/dnsdb-saf.ndjson", "cof"},
		{"imports/testdata/zeek-dns.log", "zeek"},
		{"imports/testdata/zeek-dns.json", "zeek"},
		{"imports/testdata/eve-v1.json", "eve"},
		{"imports/testdata/eve-v2.json", "eve"},
		{"imports/testdata/nsd__unsigned.zone", "zone"},
		{"imports/testdata/bind9__nsec3.db.signed", "zone"},
	}
	for _, tc := range tests {
		raw, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, comp := range []string{"", "gzip", "zstd"} {
			t.Run(filepath.Base(tc.file)+" "+comp, func(t *testing.T) {
				o := identifyBytes(t, compress(t, comp, raw))
				if o.format == nil || o.format.Name != tc.want || o.compression != comp {
					t.Fatalf("detected %v (%q), want %s (%q)", o.format, o.compression, tc.want, comp)
				}
				// What is read is the whole file, decompressed.
				got, err := io.ReadAll(o.r)
				if err != nil || !bytes.Equal(got, raw) {
					t.Fatalf("read %d bytes (%v), want the %d of the file", len(got), err, len(raw))
				}
			})
		}
	}
}

// TestJSONDetectorsExclusive: the JSON-lines formats (passivedns -j, COF
// and SAF, Zeek JSON, Suricata EVE) are told apart by their fields, not by
// the order of Formats: each file is accepted by its own detector only.
func TestJSONDetectorsExclusive(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"imports/testdata/passivedns.json", "passivedns"},
		{"imports/testdata/circl.ndjson", "cof"},
		{"imports/testdata/dnsdb-saf.ndjson", "cof"},
		{"imports/testdata/zeek-dns.json", "zeek"},
		{"imports/testdata/zeek-dns.log", "zeek"},
		{"imports/testdata/eve-v1.json", "eve"},
		{"imports/testdata/eve-v2.json", "eve"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			raw, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range Formats {
				if f.Name != "zone" && f.Detect(raw) {
					got = append(got, f.Name)
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("accepted by %q, want %s only", got, tc.want)
			}
		})
	}
}

func compress(t *testing.T, how string, b []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch how {
	case "":
		return b
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zstd":
		var err error
		if w, err = zstd.NewWriter(&buf); err != nil {
			t.Fatal(err)
		}
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func identifyBytes(t *testing.T, b []byte) *openedSource {
	t.Helper()
	in, err := New(newMemSink(), Options{SensorID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(context.Background()) })
	o := &openedSource{name: "x", raw: &countingReader{r: bytes.NewReader(b)}}
	o.r = bufio.NewReaderSize(o.raw, 1<<20)
	t.Cleanup(o.close)
	if err := in.identify(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestUnknownFormat: a file no format takes is one error saying what it
// looks like.
func TestUnknownFormat(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"ELF", []byte("\x7fELF\x02\x01\x01\x00\x00\x00"), "x: unknown format (starts 7f 45 4c 46 02 01 01 00 ...: an ELF executable)"},
		{"zeros", make([]byte, 100), "x: unknown format (starts 00 00 00 00 00 00 00 00 ...: zero bytes only)"},
		{"gzip of zeros", compress(t, "gzip", make([]byte, 100)), "x: unknown format (gzip-compressed; starts 00 00 00 00 00 00 00 00 ...: zero bytes only)"},
		{"gzip of gzip", compress(t, "gzip", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")), "x: unknown format (gzip-compressed; starts 1f 8b 08 00 00 00 00 00 ...: gzip data (compressed twice?))"},
		{"bzip2", []byte("BZh91AY&SY"), "x: unknown format (starts 42 5a 68 39 31 41 59 26 ...: bzip2 data: decompress it first)"},
		{"text", []byte("Dear reader,\nthis is not DNS data.\n"), `x: unknown format (text: "Dear reader,")`},
		{"long text", []byte(strings.Repeat("word ", 100)), `x: unknown format (text: "word word word word word word word word word word word word "...)`},
		{"binary", []byte{1, 2, 3, 0xff, 0xfe}, "x: unknown format (starts 01 02 03 ff fe: binary data)"},
		{"pcap version 3", []byte("\xd4\xc3\xb2\xa1\x03\x00\x04\x00" + strings.Repeat("\x00", 16)), "x: unknown format (starts d4 c3 b2 a1 03 00 04 00 ...: a pcap file the reader does not take (version or header))"},
	}
	in, err := New(newMemSink(), Options{SensorID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(context.Background())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &openedSource{name: "x", raw: &countingReader{r: bytes.NewReader(tc.data)}}
			o.r = bufio.NewReaderSize(o.raw, 1<<20)
			defer o.close()
			err := in.identify(context.Background(), o)
			if !errors.Is(err, ErrUnknownFormat) || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestDecompressionLimits stops a bomb by its ratio and a large stream by
// its size, with errors that name the flag.
func TestDecompressionLimits(t *testing.T) {
	zeros := compress(t, "gzip", make([]byte, 16<<20))
	tests := []struct {
		name string
		o    Options
		data []byte
		want string // in the error; "" none
	}{
		{"bomb by ratio", Options{}, zeros, "--max-ratio"},
		{"bomb by size", Options{MaxRatio: -1, MaxDecompressed: 8 << 20}, zeros, "--max-decompressed"},
		{"no limits", Options{MaxRatio: -1, MaxDecompressed: -1}, zeros, ""},
		{"zstd bomb", Options{}, compress(t, "zstd", make([]byte, 16<<20)), "--max-ratio"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.SensorID = "t"
			in, err := New(newMemSink(), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close(context.Background())
			o := &openedSource{name: "x", format: formatNamed("passivedns"), raw: &countingReader{r: bytes.NewReader(tc.data)}}
			o.r = bufio.NewReaderSize(o.raw, 1<<20)
			defer o.close()
			if err := in.identify(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, o.r)
			if tc.want == "" {
				if err != nil || n != 16<<20 {
					t.Fatalf("read %d bytes: %v", n, err)
				}
				return
			}
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v after %d bytes, want ErrLimit naming %s", err, n, tc.want)
			}
		})
	}
}

// TestFormatTableInDocs keeps docs/ingest.md's table of formats the one
// Formats makes. Run with -update to rewrite it.
func TestFormatTableInDocs(t *testing.T) {
	const begin, end = "<!-- formats: generated from ingest.Formats, go test ./internal/ingest -run TestFormatTableInDocs -update -->\n", "<!-- end formats -->\n"
	path := filepath.Join("..", "..", "docs", "ingest.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q section", path, begin, end)
	}
	want := FormatTable()
	if got := string(doc[i+len(begin) : j]); got != want {
		if *update {
			out := fmt.Sprintf("%s%s%s%s", doc[:i+len(begin)], want, end, doc[j+len(end):])
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the format table in %s differs from Formats (run with -update):\n--- got\n%s--- want\n%s", path, got, want)
	}
	for _, f := range Formats {
		if !strings.Contains(FormatHelp(), f.Name+":FILE") {
			t.Errorf("FormatHelp lacks %s", f.Name)
		}
	}
}
