package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIngestChild is the process TestIngestSIGTERM signals (and
// TestWatchRealWorld kills): dnsscout with
// main's signal handling, its arguments in DNSSCOUT_CHILD_ARGS (separated
// by newlines).
func TestIngestChild(t *testing.T) {
	args := os.Getenv("DNSSCOUT_CHILD_ARGS")
	if args == "" {
		t.Skip("run by TestIngestSIGTERM")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	fmt.Fprintln(os.Stderr, "child: ready")
	code := Run(ctx, strings.Split(args, "\n"), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// TestIngestSIGTERM checks that SIGTERM ends an ingest within a second
// wherever it is: inside an endless line, blocked in open(2) on a FIFO
// without a writer, blocked reading a silent pipe on stdin.
func TestIngestSIGTERM(t *testing.T) {
	if os.Getenv("DNSSCOUT_CHILD_ARGS") != "" {
		t.Skip("child")
	}
	tests := []struct {
		name string
		// setup returns the source argument; it may start a writer.
		setup func(t *testing.T, dir string) string
	}{
		{"endless line", func(t *testing.T, dir string) string {
			fifo := mkfifo(t, dir)
			go func() {
				w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				defer w.Close()
				chunk := bytes.Repeat([]byte("a"), 64<<10)
				for {
					if _, err := w.Write(chunk); err != nil {
						return // the reader is gone
					}
				}
			}()
			return "passivedns:" + fifo
		}},
		{"FIFO without a writer", func(t *testing.T, dir string) string { return mkfifo(t, dir) }},
		{"silent stdin", func(t *testing.T, dir string) string { return "-" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := tc.setup(t, dir)
			cmd := exec.Command(os.Args[0], "-test.run=^TestIngestChild$")
			// GORACE: a race-enabled binary otherwise sleeps 1 s at exit.
			cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0",
				"DNSSCOUT_CHILD_ARGS="+strings.Join([]string{"ingest", "-q", "--db", filepath.Join(dir, "pdns"), src}, "\n"))
			stdin, err := cmd.StdinPipe() // never written to
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			select {
			case l := <-lines:
				if l != "child: ready" {
					t.Fatalf("child says %q", l)
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatal("child not ready")
			}
			// Let it get into the read or the open.
			time.Sleep(300 * time.Millisecond)
			sent := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() {
				var rest []string
				for l := range lines {
					rest = append(rest, l)
				}
				err := cmd.Wait()
				if err != nil {
					err = fmt.Errorf("%w; stderr: %s", err, strings.Join(rest, " | "))
				}
				exited <- err
			}()
			select {
			case err := <-exited:
				took := time.Since(sent)
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) || ee != nil && !ee.Exited() {
					t.Fatalf("child ended by %v", err)
				}
				if took > time.Second {
					t.Errorf("exited %v after SIGTERM, want within 1 s", took)
				}
				t.Logf("exited %v after SIGTERM (%v)", took.Round(time.Millisecond), err)
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("still running 10 s after SIGTERM")
			}
		})
	}
}

func mkfifo(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
