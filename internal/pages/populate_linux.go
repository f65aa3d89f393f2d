package pages

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// populate faults in the whole pages within b, writable, in one system
// call (MADV_POPULATE_WRITE, Linux 5.14), and writes a zero byte into the
// partial pages at its ends. It reports false when the kernel refused
// (older kernels), and the caller touches the pages itself.
//
// After SetHuge(true), the 2 MiB-aligned range around b is advised as
// transparent huge pages first (MADV_HUGEPAGE), so that where the
// kernel has them the range is faulted in 2 MiB at a time (see SetHuge).
func populate(b []byte) bool {
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := int((size - addr%size) % size)
	hi := len(b) - int((addr+uintptr(len(b)))%size)
	if hi-lo < size {
		return false
	}
	if huge.Load() {
		// A raw system call: the range reaches past b, into memory
		// no Go value may span. Parts of it that are not mapped
		// (ENOMEM) are left, and a kernel without transparent huge
		// pages refuses (EINVAL): the advice is only that.
		start, end := addr&^(hugeSize-1), (addr+uintptr(len(b))+hugeSize-1)&^(hugeSize-1)
		unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_HUGEPAGE)
	}
	if unix.Madvise(b[lo:hi], unix.MADV_POPULATE_WRITE) != nil {
		return false
	}
	if lo > 0 {
		b[0] = 0
	}
	if hi < len(b) {
		b[len(b)-1] = 0
	}
	return true
}
