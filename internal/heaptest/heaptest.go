// Package heaptest measures how much a piece of code holds, for the memory
// bounds of fuzz targets: the live heap after a garbage collection, at
// the samples the caller takes, against the live heap when it started. It
// does not measure garbage, stacks or memory outside the Go heap.
package heaptest

import (
	"runtime"
	"runtime/metrics"
)

// Live follows the live heap from Start.
type Live struct {
	base, peak uint64
	sample     []metrics.Sample
}

// Start collects garbage and takes the live heap as the base.
func Start() *Live {
	l := &Live{sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	l.base = l.live()
	l.peak = l.base
	return l
}

func (l *Live) live() uint64 {
	runtime.GC()
	metrics.Read(l.sample)
	return l.sample[0].Value.Uint64()
}

// Sample collects garbage and notes the live heap. It costs a collection:
// call it every few hundred KiB of input, not at every read.
func (l *Live) Sample() { l.peak = max(l.peak, l.live()) }

// Grew returns how far the live heap grew above the base at the samples.
func (l *Live) Grew() int64 { return int64(l.peak) - int64(l.base) }
