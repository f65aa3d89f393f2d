package resolver

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a golang.org/x/time/rate token bucket whose reservations are
// made under a mutex with a timestamp taken inside it. rate.Limiter.Wait
// reads the clock before taking its own lock, so concurrent callers can
// hand it timestamps out of order; it then moves its "last" time backwards
// and credits the same interval twice. With a thousand callers that let
// measurably more than rate×t+burst queries through (TestRateLimit caught
// it); serialising the clock read makes the bound exact.
type limiter struct {
	mu sync.Mutex
	l  *rate.Limiter
}

func newLimiter(perSecond float64) *limiter {
	return &limiter{l: rate.NewLimiter(rate.Limit(perSecond), burst(perSecond))}
}

// burst is the bucket depth for a rate: 10 ms worth of queries, at least
// 1, so the limit also holds over short windows.
func burst(perSecond float64) int {
	return max(1, int(perSecond/100))
}

// wait blocks until a token is available. It returns ctx.Err() if ctx ends
// first (context.DeadlineExceeded at once when the wait would outlast the
// deadline) and ErrClosed if closed is closed first; the token is handed
// back in both cases.
func (l *limiter) wait(ctx context.Context, closed <-chan struct{}) error {
	l.mu.Lock()
	now := time.Now()
	res := l.l.ReserveN(now, 1)
	l.mu.Unlock()
	d := res.DelayFrom(now)
	if d == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(now.Add(d)) {
		res.CancelAt(now)
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return ctx.Err()
	case <-closed:
		res.Cancel()
		return ErrClosed
	}
}
