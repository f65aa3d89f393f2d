package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/dnsscout/dnsscout/internal/recon"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressLine redraws one status line on stderr while a recon runs.
type progressLine struct {
	p    *recon.Progress
	done chan struct{}
	wg   sync.WaitGroup
}

// startProgress starts the line when mode asks for it ("always", or
// "auto" with stderr on a terminal). stop is always safe to call.
func startProgress(e *env, mode, domain string) *progressLine {
	pl := &progressLine{p: &recon.Progress{}, done: make(chan struct{})}
	show := mode == "always" || (mode == "auto" && isTerminal(e.stderr))
	if !show {
		return pl
	}
	pl.wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		var lastDone int64
		last := start
		for {
			select {
			case <-pl.done:
				fmt.Fprint(e.stderr, "\r\033[K")
				return
			case now := <-t.C:
				done := pl.p.Done.Load()
				rate := float64(done-lastDone) / now.Sub(last).Seconds()
				lastDone, last = done, now
				stage, _ := pl.p.Stage.Load().(string)
				fmt.Fprintf(e.stderr, "\r\033[K%s  %s  %d/%d queries  %.0f q/s  %d names  %s",
					domain, stage, done, pl.p.Planned.Load(), rate, pl.p.Names.Load(), now.Sub(start).Truncate(time.Second))
			}
		}
	})
	return pl
}

func (pl *progressLine) stop() {
	close(pl.done)
	pl.wg.Wait()
}
