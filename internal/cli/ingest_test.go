package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

// ingestVolatile matches the statistics lines that depend on the clock,
// ingestIndent the right-aligned number column's padding (whose width the
// clock-dependent rates decide), logTime the time of a log line.
var (
	ingestVolatile = regexp.MustCompile(`(?m)^.*(elapsed|/s)$\n`)
	ingestIndent   = regexp.MustCompile(`(?m)^ +`)
	logTime        = regexp.MustCompile(`(?m)^time=\S+ `)
	ingestedOn     = regexp.MustCompile(` on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
)

// TestIngestTranscripts runs ingest command lines and compares their
// transcripts (stdout, stderr without the clock-dependent lines, exit
// code) with testdata/ingest/*.golden. Run with -update to rewrite them.
func TestIngestTranscripts(t *testing.T) {
	capture := filepath.Join("..", "ingest", "pcap", "testdata", "tcpdump__dns_udp.pcap")
	encapsulated := filepath.Join("..", "ingest", "pcap", "testdata", "derived__encapsulations.pcapng")
	cof := `{"count":2,"time_first":1600000000,"time_last":1600000100,"rrname":"www.example.com","rrtype":"A","rdata":["192.0.2.1"]}` + "\n"
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
	}{
		{name: "pcap", args: []string{"ingest", "--db", "$DB", "--sensor-id", "t", capture}},
		{name: "cof-stdin", args: []string{"ingest", "--db", "$DB", "--sensor-id", "t", "-"}, stdin: cof},
		{name: "quiet", args: []string{"ingest", "-q", "--db", "$DB", capture}},
		{name: "no-source", args: []string{"ingest", "--db", "$DB"}, code: ExitUsage},
		{name: "bad-port", args: []string{"ingest", "--db", "$DB", "--dns-ports", "53,0", capture}, code: ExitUsage},
		{name: "dot-port", args: []string{"ingest", "--db", "$DB", "--dns-ports", "53,853", capture}, code: ExitUsage},
		{name: "old-ports-flag", args: []string{"ingest", "-q", "--db", "$DB", "--ports", "53", capture}},
		{name: "encapsulated", args: []string{"ingest", "--db", "$DB", "--sensor-id", "t", "--dns-any-port", encapsulated}},
		{name: "bad-memory", args: []string{"ingest", "--db", "$DB", "--memory", "12XB", capture}, code: ExitUsage},
		{name: "bad-dnstap-type", args: []string{"ingest", "--db", "$DB", "--dnstap-types", "resolver-query", capture}, code: ExitUsage},
		{name: "missing-file", args: []string{"ingest", "--db", "$DB", "$DB/nope.pcap"}, code: ExitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "pdns")
			ingestTranscript(t, tc.name, tc.args, tc.stdin, tc.code, map[string]string{"$DB": db})
		})
	}
}

// TestIngestAgain runs ingest twice on the same store, then with --force:
// the second run skips every file with a notice (exact re-ingest), the
// third reads them; and imports a Zeek log and an eve.json.
func TestIngestAgain(t *testing.T) {
	capture := filepath.Join("..", "ingest", "pcap", "testdata", "tcpdump__dns_udp.pcap")
	zeek := filepath.Join("..", "ingest", "imports", "testdata", "zeek-dns.log")
	eve := filepath.Join("..", "ingest", "imports", "testdata", "eve-v2.json")
	db := filepath.Join(t.TempDir(), "pdns")
	repl := map[string]string{"$DB": db, "$CAPTURE": capture, "$ZEEK": zeek, "$EVE": eve}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"sensor-logs", []string{"ingest", "--db", "$DB", "--sensor-id", "t", "$ZEEK", "$EVE"}},
		{"again-first", []string{"ingest", "-q", "--db", "$DB", "--sensor-id", "t", "$CAPTURE"}},
		{"again", []string{"ingest", "--db", "$DB", "--sensor-id", "t2", "$CAPTURE", "$ZEEK", "$EVE"}},
		{"again-force", []string{"ingest", "--db", "$DB", "--force", "$CAPTURE"}},
	} {
		ingestTranscript(t, tc.name, tc.args, "", 0, repl)
	}
}

// ingestTranscript runs a command line with the placeholders of repl
// replaced (and put back in the output), and compares its transcript
// (stdout, stderr without the clock-dependent lines, exit code) with
// testdata/ingest/NAME.golden.
func ingestTranscript(t *testing.T, name string, args []string, stdin string, code int, repl map[string]string) {
	t.Helper()
	real := make([]string, len(args))
	for i, a := range args {
		for k, v := range repl {
			a = strings.ReplaceAll(a, k, v)
		}
		real[i] = a
	}
	var out, errb bytes.Buffer
	got := Run(context.Background(), real, strings.NewReader(stdin), &out, &errb)
	if got != code {
		t.Errorf("exit %d, want %d; stderr:\n%s", got, code, errb.String())
	}
	stderr := ingestIndent.ReplaceAllString(ingestVolatile.ReplaceAllString(errb.String(), ""), "")
	stderr = logTime.ReplaceAllString(stderr, "")
	stderr = ingestedOn.ReplaceAllString(stderr, " on TIME")
	for k, v := range repl {
		stderr = strings.ReplaceAll(stderr, v, k)
	}
	transcript := fmt.Sprintf("$ dnsscout %s\n%s--- stderr\n%s--- exit %d\n", strings.Join(args, " "), out.String(), stderr, got)
	golden := filepath.Join("testdata", "ingest", name+".golden")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(transcript), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run TestIngest -update)", err)
	}
	if transcript != string(want) {
		t.Errorf("transcript differs from %s (rerun with -update if intended):\n--- got\n%s--- want\n%s", golden, transcript, want)
	}
}

// TestIngestStores checks what the command leaves in the store.
func TestIngestStores(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pdns")
	capture := filepath.Join("..", "ingest", "pcap", "testdata", "tcpdump__dns_udp.pcap")
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"ingest", "-q", "--db", db, "--sensor-id", "edge1", capture}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s, err := store.Open(context.Background(), db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	err = store.Export(context.Background(), s, func(tp *pdns.Tuple) error {
		got = append(got, fmt.Sprintf("%s %s %s %d %v", tp.RRName, pdns.TypeString(tp.RRType), tp.RData, tp.Count, tp.SensorIDs))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"tcpdump.org NS nic.sandelman.ca. 1 [edge1]",
		"tcpdump.org NS sns.cooperix.net. 1 [edge1]",
		"www.tcpdump.org A 192.139.46.66 1 [edge1]",
		"www.tcpdump.org A 198.199.88.104 1 [edge1]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("store holds\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestIngestInterrupt stops a listening ingest the way SIGINT does (the
// context main builds is cancelled): exit 0, statistics printed.
func TestIngestInterrupt(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	code := Run(ctx, []string{"ingest", "--db", filepath.Join(dir, "pdns"), "dnstap:unix:" + filepath.Join(dir, "d.sock")}, nil, &out, &errb)
	if code != 0 || !strings.Contains(errb.String(), "tuples written") {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the signal goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIngestSIGUSR1 sends SIGUSR1 to a running ingest: it prints the
// statistics and goes on.
func TestIngestSIGUSR1(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"ingest", "-q", "--db", filepath.Join(dir, "pdns"), "dnstap:unix:" + filepath.Join(dir, "d.sock")}, nil, io.Discard, &errb)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errb.String(), "tuples written") {
		if time.Now().After(deadline) {
			t.Fatalf("no statistics after SIGUSR1; stderr:\n%s", errb.String())
		}
		syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// TestIngestProgress draws the progress bar (forced on: stderr is not a
// terminal in tests) and erases it.
func TestIngestProgress(t *testing.T) {
	var out, errb bytes.Buffer
	capture := filepath.Join("..", "ingest", "pcap", "testdata", "dnscap__dns.pcap")
	code := Run(context.Background(), []string{"ingest", "-q", "--progress", "always", "--db", filepath.Join(t.TempDir(), "pdns"), capture}, nil, &out, &errb)
	if code != 0 || !strings.Contains(errb.String(), "100%") || !strings.HasSuffix(errb.String(), "\r\033[K") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// TestSplitMemory: the store's share, the runtime's and the Go heap add
// up to --memory, as long as the heap gets its minimum.
func TestSplitMemory(t *testing.T) {
	for _, tc := range []struct {
		mem, heap int64
	}{
		{16 << 20, minHeap},
		{64 << 20, minHeap},
		{128 << 20, 128<<20 - 4<<20 - 3*2<<20 - runtimeOverhead},
		{256 << 20, 256<<20 - 8<<20 - 3*4<<20 - runtimeOverhead},
		{8 << 30, 8<<30 - 64<<20 - 3*32<<20 - runtimeOverhead},
	} {
		b := splitMemory(tc.mem)
		total := b.heap + b.cache + 3*int64(b.memTable) + runtimeOverhead
		if b.heap != tc.heap || b.heap > minHeap && total != tc.mem {
			t.Errorf("splitMemory(%d MiB) = %+v (total %d MiB), want heap %d MiB", tc.mem>>20, b, total>>20, tc.heap>>20)
		}
	}
}

// TestLazyStoreKeep checks that the store opened to be checked is held
// only when asked to (ingest.ChecksLedgerFirst decides when), and that
// another command can open it otherwise.
func TestLazyStoreKeep(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pdns")
	e := &env{getenv: func(string) string { return "" }}
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			ls, err := newLazyStore(context.Background(), e, db, store.Options{}, keep)
			if err != nil {
				t.Fatal(err)
			}
			defer ls.Close()
			other, err := store.Open(context.Background(), db, store.Options{ReadOnly: true})
			if held := err != nil; held != keep {
				t.Errorf("store held %v (%v)", held, err)
			}
			if err == nil {
				other.Close()
			}
		})
	}
}
