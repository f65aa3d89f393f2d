package pebble_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/miekg/dns"
)

const crashEnv = "DNSSCOUT_PEBBLE_CRASH_CHILD"

// crashBatch is the content of write batch b of round r: 200 tuples of
// their own, a sighting of a shared counter tuple, and an NXDOMAIN count.
func crashBatch(r, b int) ([]pdns.Tuple, []store.NXCount) {
	ts := make([]pdns.Tuple, 0, 201)
	for i := range 200 {
		ts = append(ts, pdns.Tuple{RRName: fmt.Sprintf("h%d.b%d.r%d.example.com", i, b, r), RRType: dns.TypeA,
			RData: fmt.Sprintf("192.0.2.%d", i%250+1), Count: 1, TimeFirst: int64(1_700_000_000 + b), TimeLast: int64(1_700_000_000 + b),
			SensorIDs: []string{fmt.Sprintf("sensor-r%d", r)}})
	}
	ts = append(ts, pdns.Tuple{RRName: "counter.example.com", RRType: dns.TypeTXT, RData: `"x"`, Count: 1,
		TimeFirst: int64(1_700_000_000 + b), TimeLast: int64(1_700_000_000 + b)})
	return ts, []store.NXCount{{Name: "nx.example.com", Count: 1, TimeFirst: 1_700_000_000, TimeLast: 1_700_000_000}}
}

// TestCrashChild is the writer that TestCrashRecovery kills; it does
// nothing unless started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("only run as TestCrashRecovery's child")
	}
	round, _ := strconv.Atoi(os.Getenv(crashEnv + "_ROUND"))
	bulk, _ := strconv.Atoi(os.Getenv(crashEnv + "_BULK"))
	ctx := context.Background()
	db, err := pebble.Open(ctx, dir, pebble.Options{MemTableBytes: 1 << 20, BulkTuples: bulk})
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	for b := 0; ; b++ {
		ts, nx := crashBatch(round, b)
		if err := db.Upsert(ctx, ts); err != nil {
			fmt.Fprintln(out, "upsert error:", err)
			out.Flush()
			os.Exit(3)
		}
		if err := db.AddNXDomain(ctx, nx); err != nil {
			fmt.Fprintln(out, "nxdomain error:", err)
			out.Flush()
			os.Exit(3)
		}
		fmt.Fprintf(out, "ack %d\n", b)
		out.Flush()
	}
}

// TestCrashRecovery kills a writing process with SIGKILL several times and
// checks that the store reopens with every acknowledged batch, each batch
// whole or absent, and counts that never exceed what was written; once with
// batches through the write-ahead log, once with every batch written as
// ingested tables (bulk.go).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Run("wal", func(t *testing.T) { crashRecovery(t, -1) })
	t.Run("bulk", func(t *testing.T) { crashRecovery(t, 1) })
}

func crashRecovery(t *testing.T, bulk int) {
	dir := t.TempDir()
	ctx := context.Background()
	var counterAcked, counterWritten uint64
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir, crashEnv+"_ROUND="+strconv.Itoa(round), crashEnv+"_BULK="+strconv.Itoa(bulk))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 5 + 7*round
		acked := -1
		sc := bufio.NewScanner(stdout)
		deadline := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
		for sc.Scan() {
			line := sc.Text()
			n, ok := strings.CutPrefix(line, "ack ")
			if !ok {
				t.Fatalf("round %d: child says %q", round, line)
			}
			acked, _ = strconv.Atoi(n)
			if acked >= killAfter {
				cmd.Process.Kill() // SIGKILL: no deferred code, no flush
				break
			}
		}
		deadline.Stop()
		cmd.Wait()
		if acked < killAfter {
			t.Fatalf("round %d: child stopped after %d acknowledged batches", round, acked+1)
		}
		counterAcked += uint64(acked + 1)

		db, err := pebble.Open(ctx, dir, pebble.Options{})
		if err != nil {
			t.Fatalf("round %d: the store does not reopen after SIGKILL: %v", round, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "bulk-tmp")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("round %d: tables of an interrupted bulk write left after reopening (%v)", round, err)
		}
		// The child may have run ahead of the acknowledgements the pipe
		// delivered before the kill, but it commits one batch after the
		// other: the batches present are a prefix, each one whole, and
		// reach at least the last acknowledged one.
		written := 0
		for b := 0; ; b++ {
			q := store.Query{Kind: store.KindRRSet, Name: fmt.Sprintf("b%d.r%d.example.com", b, round), Wildcard: store.WildLeft}
			n := 0
			var sensors []string
			if _, err := db.Lookup(ctx, q, func(x *pdns.Tuple) error { n++; sensors = x.SensorIDs; return nil }); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if n != 200 {
				t.Errorf("round %d batch %d: %d of 200 tuples (acknowledged up to %d)", round, b, n, acked)
			}
			if want := fmt.Sprintf("sensor-r%d", round); len(sensors) != 1 || sensors[0] != want {
				t.Errorf("round %d batch %d: sensors %q, want [%s]", round, b, sensors, want)
			}
			written++
		}
		if written <= acked {
			t.Errorf("round %d: %d batches survived, %d were acknowledged", round, written, acked+1)
		}
		later := 0
		q := store.Query{Kind: store.KindRRSet, Name: fmt.Sprintf("r%d.example.com", round), Wildcard: store.WildLeft}
		if _, err := db.Lookup(ctx, q, func(*pdns.Tuple) error { later++; return nil }); err != nil {
			t.Fatal(err)
		}
		if later != 200*written {
			t.Errorf("round %d: %d tuples in all, want %d (a gap in the batches)", round, later, 200*written)
		}
		counterWritten += uint64(written)
		var count uint64
		if _, err := db.Lookup(ctx, store.Query{Kind: store.KindRRSet, Name: "counter.example.com"}, func(x *pdns.Tuple) error {
			count = x.Count
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if count != counterWritten || count < counterAcked {
			t.Errorf("round %d: counter %d; batches written %d, acknowledged %d", round, count, counterWritten, counterAcked)
		}
		// The reopened store takes writes.
		if err := db.Upsert(ctx, []pdns.Tuple{{RRName: "after.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Count: 1}}); err != nil {
			t.Errorf("round %d: write after reopen: %v", round, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
