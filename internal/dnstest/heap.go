package dnstest

import (
	"runtime"
	"sync/atomic"
	"time"
)

// HeapPeak runs fn and returns the largest growth of the heap in use seen
// meanwhile (sampled every 5 ms) above what was in use before, for tests
// that bound the memory a hostile peer can make the code under test take.
// Other goroutines of the test binary count too: run such tests without
// t.Parallel.
func HeapPeak(fn func()) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
				peak.Store(m.HeapInuse - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	return peak.Load()
}
