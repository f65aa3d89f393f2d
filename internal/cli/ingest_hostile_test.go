package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// hostileDir holds the files of TestIngestHostile, written once per test
// binary. Sizes are those of issue 11 where writing them is cheap; the
// long line and the zero files are smaller (8 to 20 MiB, still many times
// the 1 MiB line limit): bench/ingest/hostile.sh runs the full sizes and
// measures memory.
var hostileDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "dnsscout-hostile-")
	if err != nil {
		return "", err
	}
	pdnsLine := func(ts int, name, typ, answer string) string {
		return fmt.Sprintf("%d.5||192.0.2.10||198.51.100.53||IN||%s||%s||%s||60||1\n", ts, name, typ, answer)
	}
	files := map[string][]byte{
		"nul.bin":      make([]byte, 8<<20),
		"zeros.txt":    bytes.Repeat([]byte("0"), 8<<20),
		"longline.txt": append(bytes.Repeat([]byte("a"), 20<<20), '\n'),
		"elf.bin":      append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 1000)...),
		"pdns-long.log": []byte(pdnsLine(1700000000, "a.example.com.", "A", "192.0.2.1") +
			pdnsLine(1700000001, "t.example.com.", "TXT", strings.Repeat("x", 2<<20)) +
			pdnsLine(1700000002, "b.example.com.", "A", "192.0.2.2")),
		"pdns-999.log": []byte(pdnsLine(1700000000, "a.example.com.", "A", "192.0.2.1") +
			pdnsLine(1700000001, "bad.example.com.", "A", "999.1.1.1")),
		"half.zone":   []byte("$ORIGIN example.com.\n$TTL 60\n@ IN SOA ns hostmaster 1 2 3 4 5\nwww IN A 192.0.2.1\nbad IN A 999.1.1.1\nafter IN A 192.0.2.2\n"),
		"good.ndjson": []byte(`{"rrname":"cof.example.com","rrtype":"A","rdata":"192.0.2.7","time_first":1700000000,"time_last":1700000000,"count":3}` + "\n"),
		"empty":       nil,
	}
	// random.pcap: bytes of no format, named like a capture.
	rnd := make([]byte, 1<<20)
	x := uint32(2463534242)
	for i := range rnd {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		rnd[i] = byte(x)
	}
	files["random.pcap"] = rnd
	// bomb.gz: 2 GiB of zeros in 128 gzip members of 16 MiB, about 2 MB.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 16<<20))
	zw.Close()
	files["bomb.gz"] = bytes.Repeat(member.Bytes(), 128)
	// A COF export compressed with zstd.
	var zs bytes.Buffer
	enc, _ := zstd.NewWriter(&zs)
	enc.Write(files["good.ndjson"])
	enc.Close()
	files["good.ndjson.zst"] = zs.Bytes()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := hostileDir(); err == nil && strings.Contains(dir, "dnsscout-hostile-") {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// storedTuples lists what the store at db holds ("name TYPE rdata"),
// opening it for writing: the store must be usable at once after ingest.
func storedTuples(t *testing.T, db string) []string {
	t.Helper()
	s, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatalf("store not usable after ingest: %v", err)
	}
	defer s.Close()
	var got []string
	err = store.Export(context.Background(), s, func(tp *pdns.Tuple) error {
		got = append(got, fmt.Sprintf("%s %s %s", tp.RRName, pdns.TypeString(tp.RRType), tp.RData))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestIngestHostile gives ingest the hostile files of issue 11: each ends
// at once with one short error naming the file (what it looks like, or
// the line), nothing of a bad import is stored, and the store is usable
// right after.
func TestIngestHostile(t *testing.T) {
	dir, err := hostileDir()
	if err != nil {
		t.Fatal(err)
	}
	pcapFile := filepath.Join("..", "ingest", "pcap", "testdata", "tcpdump__dns_udp.pcap")
	tests := []struct {
		name   string
		args   []string
		code   int
		stored []string // exactly what the store must hold
	}{
		{name: "bomb", args: []string{"$DIR/bomb.gz"}, code: ExitError},
		{name: "bomb-forced", args: []string{"passivedns:$DIR/bomb.gz"}, code: ExitError},
		{name: "bomb-zone", args: []string{"zone:$DIR/bomb.gz"}, code: ExitError},
		{name: "nul", args: []string{"$DIR/nul.bin"}, code: ExitError},
		{name: "nul-zone", args: []string{"zone:$DIR/nul.bin"}, code: ExitError},
		{name: "zeros", args: []string{"$DIR/zeros.txt"}, code: ExitError},
		{name: "longline", args: []string{"$DIR/longline.txt"}, code: ExitError},
		{name: "longline-zone", args: []string{"zone:$DIR/longline.txt"}, code: ExitError},
		{name: "random-pcap", args: []string{"$DIR/random.pcap"}, code: ExitError},
		{name: "random-pcap-forced", args: []string{"pcap:$DIR/random.pcap"}, code: ExitError},
		{name: "elf", args: []string{"$DIR/elf.bin"}, code: ExitError},
		{name: "empty", args: []string{"$DIR/empty"}},
		{name: "pdns-long-line", args: []string{"$DIR/pdns-long.log"}, code: ExitError},
		{name: "pdns-long-line-skip", args: []string{"--skip-bad", "$DIR/pdns-long.log"}, code: ExitSkipped,
			stored: []string{"a.example.com A 192.0.2.1", "b.example.com A 192.0.2.2"}},
		{name: "pdns-999", args: []string{"$DIR/pdns-999.log"}, code: ExitError},
		{name: "pdns-999-skip", args: []string{"--skip-bad", "$DIR/pdns-999.log"}, code: ExitSkipped,
			stored: []string{"a.example.com A 192.0.2.1"}},
		{name: "zone-half", args: []string{"$DIR/half.zone"}, code: ExitError},
		{name: "zone-half-skip", args: []string{"--skip-bad", "$DIR/half.zone"}, code: ExitSkipped,
			stored: []string{"example.com SOA ns.example.com. hostmaster.example.com. 1 2 3 4 5", "www.example.com A 192.0.2.1"}},
		{name: "zstd-cof", args: []string{"$DIR/good.ndjson.zst"}, stored: []string{"cof.example.com A 192.0.2.7"}},
		{name: "several", args: []string{"$DIR/elf.bin", pcapFile, "$DIR/pdns-999.log", "$DIR/good.ndjson"}, code: ExitPartial,
			stored: []string{"cof.example.com A 192.0.2.7", "tcpdump.org NS nic.sandelman.ca.", "tcpdump.org NS sns.cooperix.net.",
				"www.tcpdump.org A 192.139.46.66", "www.tcpdump.org A 198.199.88.104"}},
		{name: "all-fail", args: []string{"$DIR/elf.bin", "$DIR/random.pcap"}, code: ExitError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "pdns")
			args := append([]string{"ingest", "-q", "--db", "$DB"}, tc.args...)
			ingestTranscript(t, "hostile-"+tc.name, args, "", tc.code, map[string]string{"$DB": db, "$DIR": dir})
			got := storedTuples(t, db)
			if strings.Join(got, "\n") != strings.Join(tc.stored, "\n") {
				t.Errorf("store holds\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.stored, "\n  "))
			}
		})
	}
}

// TestIngestFIFOLeavesStoreFree starts an ingest on a FIFO no one writes
// to: while it waits, another command uses the store; once a writer
// comes, the ingest waits for the other command to let go of the store,
// finishes and stores what it was sent. Before the FIFO may come files
// that do not open the store either (ingest.ChecksLedgerFirst): an empty
// one, and one read with --force, whose tuples wait in memory.
func TestIngestFIFOLeavesStoreFree(t *testing.T) {
	for _, tc := range []struct {
		name string
		lead func(dir string) []string // arguments before the FIFO
		want []string
	}{
		{"FIFO", func(string) []string { return nil }, nil},
		{"empty file first", func(dir string) []string {
			f := filepath.Join(dir, "empty.json")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{f}
		}, nil},
		{"forced file first", func(dir string) []string {
			f := filepath.Join(dir, "file.json")
			line := `{"rrname":"file.example.com","rrtype":"A","rdata":"192.0.2.8","time_first":1700000000,"time_last":1700000000}` + "\n"
			if err := os.WriteFile(f, []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"--force", f}
		}, []string{"file.example.com A 192.0.2.8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "pdns")
			fifo := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			args := append(append([]string{"ingest", "-q", "--db", db}, tc.lead(dir)...), fifo)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var errb syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, args, nil, &bytes.Buffer{}, &errb)
			}()
			// Another command gets the store while ingest waits on the FIFO.
			deadline := time.Now().Add(30 * time.Second)
			for {
				var out, serr bytes.Buffer
				if code := Run(context.Background(), []string{"pdns", "stats", "--db", db}, nil, &out, &serr); code == 0 {
					break
				} else if time.Now().After(deadline) {
					t.Fatalf("pdns stats while ingest waits on a FIFO: exit %d: %s", code, serr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			select {
			case code := <-done:
				t.Fatalf("ingest ended (exit %d) with no writer on the FIFO: %s", code, errb.String())
			default:
			}
			// The other command still has the store when ingest comes to write:
			// ingest waits for it.
			other, err := store.Open(context.Background(), db, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			w.WriteString(`{"rrname":"fifo.example.com","rrtype":"A","rdata":"192.0.2.9","time_first":1700000000,"time_last":1700000000}` + "\n")
			w.Close()
			for !strings.Contains(errb.String(), "the store is in use by another process; waiting for it") {
				if time.Now().After(deadline.Add(30 * time.Second)) {
					t.Fatalf("ingest did not wait for the store; stderr:\n%s", errb.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			other.Close()
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("ingest exit %d: %s", code, errb.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatal("ingest did not end after the writer closed the FIFO")
			}
			want := append([]string{"fifo.example.com A 192.0.2.9"}, tc.want...)
			slices.Sort(want)
			got := storedTuples(t, db)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("store holds %q, want %q", got, want)
			}
		})
	}
}
