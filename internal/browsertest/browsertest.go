// Package browsertest drives Debian's headless Chromium for tests of what
// a person sees: the HTML reports and the web UI. It is imported by tests
// only.
package browsertest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns the path of Debian's chromium, skipping the test when
// it is absent unless DNSSCOUT_REAL_SERVERS=require.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("DNSSCOUT_REAL_SERVERS") == "require" {
		t.Fatal("chromium not found: install the Debian package chromium (apt-get install --no-install-recommends chromium)")
	}
	t.Skip("chromium not installed (Debian package chromium); set DNSSCOUT_REAL_SERVERS=require to make this a failure")
	return ""
}

// Start starts a headless Chromium with a fresh profile and no network
// features, and returns a tab context that ends after timeout or with
// the test.
func Start(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	t.Cleanup(acancel)
	tab, tcancel := chromedp.NewContext(actx)
	t.Cleanup(tcancel)
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", exe, err)
	}
	return tab
}

// Console collects every console message of a tab until Problems.
type Console struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
	stop context.CancelFunc
	done chan struct{}
}

// RecordConsole starts collecting the console messages of tab.
func RecordConsole(tab context.Context) *Console {
	ctx, stop := context.WithCancel(tab)
	c := &Console{stop: stop, done: make(chan struct{})}
	msgs := chromedp.Console(ctx)
	go func() {
		defer close(c.done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// Problems stops recording and returns the errors, exceptions and
// warnings the page produced.
func (c *Console) Problems() []string {
	c.stop()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m.String(), m.URL, m.Line))
		}
	}
	return out
}

// SaveScreenshot keeps a PNG screenshot under t.TempDir() and copies it
// to $DNSSCOUT_SCREENSHOTS when that is set. A screenshot under 1,000
// bytes is a blank page and fails the test.
func SaveScreenshot(t testing.TB, name string, png []byte) {
	t.Helper()
	if len(png) < 1000 {
		t.Fatalf("screenshot %s is only %d bytes", name, len(png))
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("DNSSCOUT_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := copyFile(path, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot %s", path)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
