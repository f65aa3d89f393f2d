package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// collectSink keeps what an import hands over.
type collectSink struct {
	tuples []pdns.Tuple
	nx     []string
}

func (c *collectSink) Tuple(t *pdns.Tuple) error {
	u := *t
	u.SensorIDs = append([]string(nil), t.SensorIDs...)
	c.tuples = append(c.tuples, u)
	return nil
}

func (c *collectSink) NXDomain(name string, ts int64, count uint64) error {
	c.nx = append(c.nx, fmt.Sprintf("%s %d %d", name, ts, count))
	return nil
}

// TestStage: what is staged comes back unchanged and in order, from
// memory or, past the memory bound, from the temporary file, which is
// not left in the directory.
func TestStage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		max   int
		spill bool
	}{
		{"in memory", 100, 1 << 20, false},
		{"spilled", 5000, 4 << 10, true},
		{"empty", 0, 1 << 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newStage(dir, tc.max)
			defer s.close()
			var want collectSink
			for i := range tc.n {
				tp := pdns.Tuple{RRName: fmt.Sprintf("h%d.example.com", i), RRType: 1, RData: fmt.Sprintf("192.0.2.%d", i%250),
					Bailiwick: "example.com", TimeFirst: int64(i), TimeLast: int64(i + 1), ZoneTimeFirst: -5, Count: uint64(i * 1000)}
				if i%3 == 0 {
					tp.SensorIDs = []string{"a", fmt.Sprint(i)}
				}
				if err := s.Tuple(&tp); err != nil {
					t.Fatal(err)
				}
				want.Tuple(&tp)
				if i%7 == 0 {
					s.NXDomain(fmt.Sprintf("nx%d.example.com", i), int64(i), 2)
					want.NXDomain(fmt.Sprintf("nx%d.example.com", i), int64(i), 2)
				}
			}
			if (s.file != nil) != tc.spill {
				t.Fatalf("spilled to a file: %v, want %v", s.file != nil, tc.spill)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("temporary files left in the directory: %v", left)
			}
			var got collectSink
			n, err := s.replay(context.Background(), &got)
			if err != nil || n != s.n {
				t.Fatalf("replayed %d of %d: %v", n, s.n, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("replay differs: %d tuples %d nx, want %d %d", len(got.tuples), len(got.nx), len(want.tuples), len(want.nx))
			}
		})
	}
	// A cancelled replay stops and says how far it got.
	s := newStage(t.TempDir(), 1<<20)
	defer s.close()
	for range 5000 {
		s.Tuple(&pdns.Tuple{RRName: "a.example.com", RRType: 1, RData: "192.0.2.1", Count: 1})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := s.replay(ctx, &collectSink{}); !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("cancelled replay: %d, %v", n, err)
	}
}
