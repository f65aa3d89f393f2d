package watch

import (
	"context"
	"sync"
)

// Runner scans a batch of domains: the watch hands it the domains that are
// due and it calls emit once per domain, from any goroutine, as each scan
// ends. Run returns when every domain was emitted; when ctx ends, the
// scans still running stop early and are emitted as what they found
// (partial), and domains not started are emitted with ctx's error.
//
// Pool is the watch's own runner; an inventory run can take its place.
type Runner interface {
	Run(ctx context.Context, domains []string, emit func(Result))
}

// Pool runs a ScanFunc over the domains with bounded parallelism.
type Pool struct {
	// Scan scans one domain. Required.
	Scan ScanFunc
	// Parallel is the most scans at once. Default 4.
	Parallel int
}

var _ Runner = (*Pool)(nil)

// Run implements Runner.
func (p *Pool) Run(ctx context.Context, domains []string, emit func(Result)) {
	n := p.Parallel
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, d := range domains {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			emit(Result{Domain: d, Err: ctx.Err()})
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			emit(p.Scan(ctx, d))
		})
	}
	wg.Wait()
}
