package pages

import (
	"runtime"
	"testing"
)

// TestTouch checks that touching leaves fresh allocations of every shape
// all zero and usable, pointers included.
func TestTouch(t *testing.T) {
	type withPointer struct {
		s string
		p *int
		n uint64
	}
	for _, tc := range []struct {
		name string
		n    int // bytes
	}{
		{"empty", 0},
		{"one byte", 1},
		{"under a page", size - 1},
		{"a page and a bit", size + 17},
		{"under the system call", populateMin - 1},
		{"system call", populateMin},
		{"megabytes", 3<<20 + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, 0, tc.n)
			Touch(b)
			for i, c := range b[:cap(b)] {
				if c != 0 {
					t.Fatalf("byte %d is %#x after Touch", i, c)
				}
			}
			w := make([]withPointer, 0, tc.n/24+1)
			Touch(w)
			runtime.GC()
			for i, e := range w[:cap(w)] {
				if e != (withPointer{}) {
					t.Fatalf("element %d is %+v after Touch", i, e)
				}
			}
			x := 1
			w = append(w, withPointer{s: "example.com", p: &x, n: 7})
			if w[0].s != "example.com" || *w[0].p != 1 {
				t.Fatalf("element 0 is %+v after append", w[0])
			}
		})
	}
}

// TestPopulate checks the Linux system call on an unaligned slice: it
// must take the whole pages inside and say so.
func TestPopulate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("MADV_POPULATE_WRITE is Linux")
	}
	b := make([]byte, 8*size)
	if !populate(b[3 : len(b)-5]) {
		t.Skip("kernel without MADV_POPULATE_WRITE (before 5.14)")
	}
	if populate(b[1 : size+1]) {
		t.Errorf("populate took a slice holding no whole page")
	}
}

// TestAppend checks that Append keeps every element through growths of
// every size, with pointers that the garbage collector must keep seeing.
func TestAppend(t *testing.T) {
	var s []*int
	var plain []int
	for i := range 200_000 {
		v := i
		s = Append(s, &v)
		plain = append(plain, i)
		if i%50_000 == 0 {
			runtime.GC()
		}
	}
	s = Append(s, s[:3]...) // a slice of itself, within its capacity
	plain = append(plain, plain[:3]...)
	s = Append(s, s[:cap(s)-len(s)+1]...) // and across a growth
	plain = append(plain, plain[:len(s)-len(plain)]...)
	if len(s) != len(plain) {
		t.Fatalf("%d elements, want %d", len(s), len(plain))
	}
	for i, p := range s {
		if *p != plain[i] {
			t.Fatalf("element %d is %d, want %d", i, *p, plain[i])
		}
	}
}
