// Package pages faults in the pages of fresh, large allocations before
// a hot loop writes them. It owns no memory and changes no content; it
// trades many page faults for one system call (Linux) or one write per
// page (elsewhere).
//
// Why: a large Go allocation comes from the kernel untouched, and the
// first access of each page is a page fault, several microseconds each on
// the 2-core development machine (a virtual machine): 3.5 µs when first
// measured (9% of bench/ingest's CPU), 11-28 µs in a later measurement,
// about 6 µs once faulted in this way (docs/ingest.md, "Fourth round").
// A page whose first access is a read is worse: it is mapped to the
// shared zero page, then copied on the first write with a TLB shootdown
// across the process's CPUs. Reads come first when a hash table is probed,
// and when pointers are stored while the garbage collector runs (the
// write barrier reads the old value).
package pages

import "unsafe"

const (
	// size is the smallest page size of the platforms we run on.
	size = 4096
	// populateMin is the size from which one system call is cheaper than
	// touching the pages one by one.
	populateMin = 16 * size
)

// Touch faults in every page of the backing array of s (up to its
// capacity), which must be freshly allocated: all zero, and not yet
// shared with another goroutine. It stays all zero (zeros are what the
// page-by-page fallback writes).
func Touch[T any](s []T) {
	var zero T
	n := cap(s) * int(unsafe.Sizeof(zero))
	if n == 0 {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s[:cap(s)]))), n)
	if n >= populateMin && populate(b) {
		return
	}
	for i := 0; i < n; i += size {
		b[i] = 0
	}
}

// Append is append(s, v...), except that a new backing array, when one is
// needed, is faulted in at once (Touch) before the elements are copied
// into it. It doubles the array, to 512 elements at least: growing by a
// quarter, as append does large slices, copied each element about four
// times (for the 25,805 NXDOMAIN names of bench/ingest's plain-UDP
// capture, 2% of the decoding goroutine's time), doubling about once.
func Append[T any](s []T, v ...T) []T {
	if n := len(s) + len(v); n > cap(s) {
		grown := make([]T, len(s), max(n, 2*cap(s), 512))
		Touch(grown)
		copy(grown, s)
		s = grown
	}
	return append(s, v...)
}
