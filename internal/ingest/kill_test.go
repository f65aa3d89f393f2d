package ingest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	_ "github.com/dnsscout/dnsscout/internal/store/pebble"
)

// ackSink reports on stdout each batch the store has acknowledged, by the
// names of its first and last tuple (a batch holds consecutive names).
type ackSink struct {
	store.Backend
}

func (s *ackSink) Upsert(ctx context.Context, ts []pdns.Tuple) error {
	if err := s.Backend.Upsert(ctx, ts); err != nil {
		return err
	}
	fmt.Printf("ack %s %s %d\n", ts[0].RRName, ts[len(ts)-1].RRName, len(ts))
	return nil
}

// TestKill9Child is the process TestKill9 kills: it ingests an endless
// stream of responses, one new tuple each, into the Pebble store named by
// DNSSCOUT_KILL9_DIR.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv("DNSSCOUT_KILL9_DIR")
	if dir == "" {
		t.Skip("run by TestKill9")
	}
	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	batch, _ := strconv.Atoi(os.Getenv("DNSSCOUT_KILL9_BATCH"))
	in, err := New(&ackSink{Backend: db}, Options{SensorID: "k", BatchSize: batch, Memory: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10_000_000; i++ {
		msg := msgSpec{q: fmt.Sprintf("h%d.example.com A", i), aa: true,
			ans: []string{fmt.Sprintf("h%d.example.com. 60 IN A 192.0.2.%d", i, i%250+1)}}.pack(t)
		if err := in.Message(context.Background(), time.Unix(t0, 0), msg, ""); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("not killed")
}

// TestKill9 kills an ingest with SIGKILL while it writes to the Pebble
// store, then checks that the store reopens, holds every batch the store
// acknowledged before the kill, and holds nothing twice or invented. It
// runs with batches that the store writes through its write-ahead log and
// with batches large enough for its bulk path (ingested tables).
func TestKill9(t *testing.T) {
	if os.Getenv("DNSSCOUT_KILL9_DIR") != "" {
		t.Skip("child")
	}
	for _, tc := range []struct {
		name         string
		batch, total int
	}{
		{"batches", 500, 5000},
		{"bulk", 20_000, 60_000},
	} {
		t.Run(tc.name, func(t *testing.T) { kill9(t, tc.batch, tc.total) })
	}
}

func kill9(t *testing.T, batch, want int) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DNSSCOUT_KILL9_DIR="+dir, "DNSSCOUT_KILL9_BATCH="+strconv.Itoa(batch))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	ackRE := regexp.MustCompile(`^ack h(\d+)\.example\.com h(\d+)\.example\.com (\d+)$`)
	var acked [][2]int
	total := 0
	for sc.Scan() && total < want {
		if m := ackRE.FindStringSubmatch(sc.Text()); m != nil {
			first, _ := strconv.Atoi(m[1])
			last, _ := strconv.Atoi(m[2])
			n, _ := strconv.Atoi(m[3])
			if last-first+1 != n {
				t.Fatalf("batch %s is not consecutive", sc.Text())
			}
			acked = append(acked, [2]int{first, last})
			total += n
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	if total < want {
		t.Fatalf("child died after %d acknowledged tuples", total)
	}

	db, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatalf("store does not reopen after kill -9: %v", err)
	}
	defer db.Close()
	nameRE := regexp.MustCompile(`^h(\d+)\.example\.com$`)
	seen := map[int]bool{}
	err = store.Export(context.Background(), db, func(tp *pdns.Tuple) error {
		m := nameRE.FindStringSubmatch(tp.RRName)
		if m == nil {
			return fmt.Errorf("unexpected tuple %+v", *tp)
		}
		i, _ := strconv.Atoi(m[1])
		if seen[i] {
			return fmt.Errorf("%s twice", tp.RRName)
		}
		seen[i] = true
		if want := fmt.Sprintf("192.0.2.%d", i%250+1); tp.RData != want || tp.Count != 1 || tp.TimeFirst != t0 {
			return fmt.Errorf("tuple %+v, want rdata %s count 1", *tp, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range acked {
		for i := r[0]; i <= r[1]; i++ {
			if !seen[i] {
				t.Fatalf("acknowledged tuple h%d missing after kill -9", i)
			}
		}
	}
	// And it takes writes again.
	if err := db.Upsert(context.Background(), []pdns.Tuple{{RRName: "after.example.com", RRType: 1, RData: "192.0.2.1", Count: 1, TimeFirst: 1, TimeLast: 1}}); err != nil {
		t.Fatalf("upsert after reopen: %v", err)
	}
	t.Logf("%d tuples acknowledged, %d in the store after kill -9", total, len(seen))
}
