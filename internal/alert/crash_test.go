package alert

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash helper is this test binary run again with these variables set:
// it opens a Dispatcher on DIR, enqueues N alerts (all at once, or one per
// call when TRICKLE is set), printing "enqueued I" after each call returns,
// and delivers to URL until it is killed.
const (
	envCrashDir     = "DNSSCOUT_ALERT_CRASH_DIR"
	envCrashURL     = "DNSSCOUT_ALERT_CRASH_URL"
	envCrashN       = "DNSSCOUT_ALERT_CRASH_N"
	envCrashTrickle = "DNSSCOUT_ALERT_CRASH_TRICKLE"
	envCrashDigest  = "DNSSCOUT_ALERT_CRASH_DIGEST"
	crashSecret     = "crash-secret"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envCrashDir); dir != "" {
		os.Exit(crashHelper(dir))
	}
	os.Exit(m.Run())
}

func crashHelper(dir string) int {
	n, _ := strconv.Atoi(os.Getenv(envCrashN))
	sink, err := newWebhook(&WebhookConfig{URL: os.Getenv(envCrashURL), Secret: crashSecret}, &Env{Now: time.Now})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	o := fastOptions(dir, Target{Name: "hook", Sink: sink})
	if os.Getenv(envCrashDigest) != "" {
		o.DigestThreshold, o.DigestMax = 3, 5
	}
	d, err := Open(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	alerts := nameAlerts("example.com", n)
	step := n
	if os.Getenv(envCrashTrickle) != "" {
		step = 1
	}
	for i := 0; i < n; i += step {
		if err := d.Enqueue(context.Background(), alerts[i:i+step]...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Printf("enqueued %d\n", i+step)
	}
	select {} // deliver until killed
}

// TestCrash kills (SIGKILL) a process in the middle of delivery, or of
// enqueueing, then opens its spool again: every alert whose Enqueue
// returned arrives at least once, none that the dead process recorded as
// delivered arrives again, and only the alerts of the one request in
// flight at the kill can arrive twice.
func TestCrash(t *testing.T) {
	cases := []struct {
		name      string
		n, killAt int // alerts; kill after this many accepted requests
		trickle   bool
		digest    bool
		inFlight  int // most alerts one request carries
	}{
		{"early", 40, 3, false, false, 1},
		{"middle", 40, 20, false, false, 1},
		{"late", 40, 38, false, false, 1},
		{"during enqueue", 100000, 10, true, false, 1},
		{"digests", 60, 4, false, true, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, crashSecret, func(r *receiver) { r.failFirst, r.delay = 2, 2*time.Millisecond })
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashURL+"="+r.srv.URL, envCrashN+"="+strconv.Itoa(tc.n))
			if tc.trickle {
				cmd.Env = append(cmd.Env, envCrashTrickle+"=1")
			}
			if tc.digest {
				cmd.Env = append(cmd.Env, envCrashDigest+"=1")
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() }) // if the test stops early
			enqueued := make(chan int, 1)
			go func() {
				last := 0
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					if v, ok := strings.CutPrefix(sc.Text(), "enqueued "); ok {
						last, _ = strconv.Atoi(v)
					}
				}
				enqueued <- last
			}()
			for range tc.killAt {
				select {
				case <-r.delivered:
				case <-time.After(60 * time.Second):
					t.Fatal("the helper delivered nothing for 60s")
				}
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			durable := <-enqueued
			if strings.Contains(stderr.String(), "DATA RACE") || strings.Contains(stderr.String(), "panic") {
				t.Errorf("the helper:\n%s", stderr.String())
			}
			if !tc.trickle && durable != tc.n {
				t.Fatalf("helper enqueued %d of %d before the kill", durable, tc.n)
			}
			if tc.trickle && durable >= tc.n {
				t.Fatalf("the kill came after every Enqueue (%d); the case needs it during", durable)
			}
			before := r.counts()
			l, err := loadDoneLog(filepath.Join(dir, sinksDir, "hook"+logExt), 0)
			if err != nil {
				t.Fatal(err)
			}
			for id := range l.done {
				if before[id] != 1 {
					t.Errorf("alert %.12s recorded as delivered, received %d times", id, before[id])
				}
			}

			o := fastOptions(dir, r.target("hook"))
			o.DigestThreshold = 3 // what the dead process left goes quickly
			d := mustOpen(t, o)
			flush(t, d)
			closeD(t, d)
			after := r.counts()
			alerts := nameAlerts("example.com", max(durable, tc.n-tc.n/1000*999))
			twice := 0
			for i, a := range alerts {
				switch got := after[a.ID]; {
				case got == 0 && i < durable:
					t.Errorf("alert %d (enqueued before the kill) never arrived", i)
				case got > 2:
					t.Errorf("alert %d arrived %d times", i, got)
				case got == 2:
					twice++
					if _, acked := l.done[a.ID]; acked {
						t.Errorf("alert %d recorded as delivered before the kill arrived again", i)
					}
				}
			}
			if twice > tc.inFlight {
				t.Errorf("%d alerts arrived twice; only the %d of the request in flight may", twice, tc.inFlight)
			}
			t.Logf("killed after %d requests: %d alerts durable, %d recorded delivered, %d delivered twice", tc.killAt, durable, len(l.done), twice)
		})
	}
}
