package pages

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// populate faults in the whole pages within b, writable, in one system
// call (MADV_POPULATE_WRITE, Linux 5.14), and writes a zero byte into the
// partial pages at its ends. It reports false when the kernel refused
// (older kernels), and the caller touches the pages itself.
func populate(b []byte) bool {
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := int((size - addr%size) % size)
	hi := len(b) - int((addr+uintptr(len(b)))%size)
	if hi-lo < size {
		return false
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
