package watch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPool: at most Parallel scans at once, every domain emitted once,
// and after ctx ends the domains not started are emitted with its error.
func TestPool(t *testing.T) {
	for _, parallel := range []int{1, 3} {
		t.Run(fmt.Sprint(parallel), func(t *testing.T) {
			var running, peak atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan struct{}, 100)
			p := &Pool{Parallel: parallel, Scan: func(ctx context.Context, d string) Result {
				n := running.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				started <- struct{}{}
				select {
				case <-time.After(20 * time.Millisecond):
				case <-ctx.Done():
				}
				running.Add(-1)
				return Result{Domain: d, Err: ctx.Err()}
			}}
			var domains []string
			for i := range 10 {
				domains = append(domains, fmt.Sprintf("d%d.example.com", i))
			}
			var mu sync.Mutex
			got := map[string]int{}
			cancelled := 0
			go func() {
				for range 2 * parallel {
					<-started
				}
				cancel()
			}()
			p.Run(ctx, domains, func(r Result) {
				mu.Lock()
				got[r.Domain]++
				if r.Err != nil {
					cancelled++
				}
				mu.Unlock()
			})
			if int(peak.Load()) > parallel {
				t.Errorf("%d scans at once, want at most %d", peak.Load(), parallel)
			}
			for _, d := range domains {
				if got[d] != 1 {
					t.Errorf("%s emitted %d times", d, got[d])
				}
			}
			if cancelled == 0 {
				t.Error("no domain was emitted as cancelled")
			}
		})
	}
}
