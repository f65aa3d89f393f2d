package pages

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// vmFlags returns the VmFlags of the mapping that holds addr
// (/proc/self/smaps).
func vmFlags(t *testing.T, addr uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := strings.Cut(strings.Fields(line)[0], "-"); ok && !strings.HasSuffix(line, ":") {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = uint64(addr) >= a && uint64(addr) < b
				continue
			}
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.Fields(v)
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return nil
}

// TestHugeAdvice checks that populate advises huge pages (VmFlags "hg")
// for what it faults in after SetHuge(true), and not after
// SetHuge(false). The memory is a fresh mapping of its own: heap memory
// may have been advised by an earlier Touch (the advice stays with the
// memory when the garbage collector hands it on).
func TestHugeAdvice(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("no transparent huge pages:", err)
	} else if strings.Contains(string(b), "[never]") {
		t.Skip("transparent huge pages: never")
	}
	defer SetHuge(Huge())
	for _, on := range []bool{false, true} {
		SetHuge(on)
		b, err := unix.Mmap(-1, 0, 8<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			t.Fatal(err)
		}
		if !populate(b) {
			unix.Munmap(b)
			t.Skip("MADV_POPULATE_WRITE refused (Linux before 5.14?)")
		}
		flags := vmFlags(t, uintptr(unsafe.Pointer(&b[len(b)/2])))
		hg := slices.Contains(flags, "hg")
		if hg != on {
			t.Errorf("SetHuge(%v): the mapping of 8 MiB populated has flags %v", on, flags)
		}
		if b[0] != 0 || b[len(b)-1] != 0 {
			t.Fatal("populate changed the memory")
		}
		if err := unix.Munmap(b); err != nil {
			t.Fatal(err)
		}
	}
}
