package pages

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
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

// TestHugeAdvice checks that Touch advises huge pages (VmFlags "hg") for
// a large fresh allocation, and not after SetHuge(false).
func TestHugeAdvice(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("no transparent huge pages:", err)
	} else if strings.Contains(string(b), "[never]") {
		t.Skip("transparent huge pages: never")
	}
	defer SetHuge(true)
	for _, on := range []bool{false, true} {
		SetHuge(on)
		// Larger than anything the tests touched before, so that its
		// middle is memory no earlier advice reached.
		b := make([]byte, 64<<20)
		Touch(b)
		addr := uintptr(unsafe.Pointer(&b[len(b)/2]))
		flags := vmFlags(t, addr)
		hg := false
		for _, f := range flags {
			hg = hg || f == "hg"
		}
		if hg != on {
			t.Errorf("SetHuge(%v): the mapping of a touched 64 MiB allocation has flags %v", on, flags)
		}
		if b[0] != 0 || b[len(b)-1] != 0 {
			t.Fatal("Touch changed the allocation")
		}
	}
}
