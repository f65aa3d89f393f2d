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
//
// Fresh pages cost even when faulted in at once: on the development
// machine the first write of each 4 KiB page after MADV_POPULATE_WRITE
// still took about 5.5 µs (43-46 ms for 32 MiB, against 1.5 ms for the
// second write: a cost of the virtual machine's memory management), and
// 3.3 ms for 32 MiB in transparent huge pages when the kernel had them at
// hand (25-58 ms when not). So on Linux, where the program asks for it
// (SetHuge), the 2 MiB-aligned range around what is faulted in is
// advised as huge pages first.
package pages

import (
	"sync/atomic"
	"unsafe"
)

// huge turns on the huge-page advice (SetHuge).
var huge atomic.Bool

// SetHuge sets whether Touch advises transparent huge pages (Linux,
// MADV_HUGEPAGE) for the 2 MiB-aligned range around an allocation it
// faults in at once. Off by default: a process that runs for long (a
// server) would keep the advice on memory its garbage collector hands
// back, and the kernel's khugepaged may fill such a range back into a
// huge page, resident again (the Go runtime stopped advising huge pages
// after such reports). An ingest of files, which ends with them, turns
// it on: on bench/ingest's plain-UDP capture the command then had 4,300
// page faults instead of 35,900 and took 0.88 s of CPU instead of 1.06 s
// (medians of eight runs alternated), with 1-3% more peak RSS. The advice
// reaches past the allocation, into heap memory the program uses next;
// the kernel's transparent_hugepage settings decide what it does
// ("never": nothing; its defrag setting: whether a fault waits for memory
// to be compacted into a huge page).
func SetHuge(on bool) { huge.Store(on) }

// Huge reports what SetHuge set.
func Huge() bool { return huge.Load() }

const (
	// hugeSize is the size of a transparent huge page on amd64 and
	// arm64 (with 4 KiB pages).
	hugeSize = 2 << 20
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
