package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is the one status line a command redraws on stderr: recon's
// counters per domain, ingest's bar per file. A nil *progress draws
// nothing, so callers need not ask whether it is on.
type progress struct {
	w     io.Writer
	mu    sync.Mutex
	drawn bool
}

// newProgress returns the line when mode asks for it ("always", or "auto"
// with stderr on a terminal), nil otherwise.
func newProgress(e *env, mode string) *progress {
	if mode == "always" || (mode == "auto" && isTerminal(e.stderr)) {
		return &progress{w: e.stderr}
	}
	return nil
}

// draw replaces the line with line.
func (p *progress) draw(line string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
}

// clear wipes the line (before other output, or when done).
func (p *progress) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// tick redraws the line from line(now) five times a second until the
// returned stop is called; stop clears the line.
func (p *progress) tick(line func(now time.Time) string) (stop func()) {
	if p == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				p.draw(line(now))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		p.clear()
	}
}
