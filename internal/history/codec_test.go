package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/dnsscout/dnsscout/internal/finding"
)

func bigSnapshot(n int) Snapshot {
	s := Snapshot{Domain: "example.com", Nameservers: []string{"ns1.example.net", "ns2.example.net"}}
	for i := range n {
		name := fmt.Sprintf("host%d.example.com", i)
		s.Names = append(s.Names, name)
		s.Records = append(s.Records, Record{Name: name, Type: "A", Data: fmt.Sprintf("192.0.2.%d", i%256)})
	}
	s.Findings = []finding.Finding{fnd("axfr-allowed", "example.com", finding.High, "ns1", "ns2")}
	return s
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := bigSnapshot(n)
			b, err := MarshalSnapshot(&s)
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(&s)
			if n > 100 && len(b)*4 > len(js) {
				t.Errorf("%d names: %d bytes stored for %d of JSON; want at least 4:1", n, len(b), len(js))
			}
			got, err := UnmarshalSnapshot(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			s.Normalize()
			if d := Diff(&s, got); !d.Empty() || got.Domain != s.Domain || len(got.Names) != len(s.Names) {
				t.Errorf("round trip differs: %+v", d)
			}
			again, _ := MarshalSnapshot(got)
			if !bytes.Equal(again, b) {
				t.Errorf("encoding is not deterministic")
			}
			if n > 0 {
				if _, err := UnmarshalSnapshot(b, len(js)/2); !errors.Is(err, ErrTooLarge) {
					t.Errorf("limit %d: %v, want ErrTooLarge", len(js)/2, err)
				}
			}
		})
	}
}

func TestUnmarshalSnapshotErrors(t *testing.T) {
	s := bigSnapshot(10)
	good, _ := MarshalSnapshot(&s)
	frame := func(js string) []byte { return append([]byte{snapshotFormat}, encoder().EncodeAll([]byte(js), nil)...) }
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"format", append([]byte{9}, good[1:]...), ErrCorrupt},
		{"truncated", good[:len(good)-5], ErrCorrupt},
		{"not zstd", []byte{snapshotFormat, 'h', 'e', 'l', 'l', 'o'}, ErrCorrupt},
		{"not json", frame("not json"), ErrCorrupt},
		{"bad domain", frame(`{"domain":"Example.COM."}`), ErrCorrupt},
		{"no domain", frame(`{"names":["a"]}`), ErrCorrupt},
		{"bad severity", frame(`{"domain":"example.com","findings":[{"id":"x","severity":"dire"}]}`), ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := UnmarshalSnapshot(tc.b, 0); !errors.Is(err, tc.want) {
				t.Errorf("UnmarshalSnapshot: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSnapshotBomb: a small frame that inflates to 64 times the limit,
// without a content size in its header, stops at the limit with little
// memory.
func TestSnapshotBomb(t *testing.T) {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithWindowSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	const limit = 256 << 10
	zero := make([]byte, limit)
	w.Write([]byte(`{"domain":"example.com","names":["`))
	for range 64 {
		w.Write(zero)
	}
	w.Close()
	b := append([]byte{snapshotFormat}, buf.Bytes()...)
	alloc := allocated(func() {
		if _, err := UnmarshalSnapshot(b, limit); !errors.Is(err, ErrTooLarge) {
			t.Errorf("bomb: %v, want ErrTooLarge", err)
		}
	})
	if alloc > memBound(limit, len(b)) {
		t.Errorf("decoding a %d-byte bomb with limit %d allocated %d bytes", len(b), limit, alloc)
	}
}

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// memBound is what decoding may allocate: a few times the JSON limit, the
// zstd window and the input.
func memBound(limit, input int) uint64 { return uint64(6*limit + 3*zstdWindow + 8*input + 1<<20) }

func TestRecordRoundTrip(t *testing.T) {
	st := Advance(nil, nil, snap([]string{"a.example.com"}, fnd("axfr-allowed", "example.com", finding.High, "e1")),
		Scan{ID: NewScanID(t0), Domain: "example.com", Started: t0, Finished: t0.Add(time.Second), Complete: true})
	check := func(name string, b []byte, err error, decode func([]byte) (string, error), want string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := decode(b)
		if err != nil || got != want {
			t.Errorf("%s round trip:\n got %s (%v)\nwant %s", name, got, err, want)
		}
	}
	b, err := MarshalRecord(&st.Scan)
	check("scan", b, err, func(b []byte) (string, error) { r, err := UnmarshalRecord[Scan](b); return fmt.Sprint(r), err }, fmt.Sprint(st.Scan))
	b, err = MarshalRecord(&st.States[0])
	check("state", b, err, func(b []byte) (string, error) { r, err := UnmarshalRecord[FindingState](b); return fmt.Sprint(r), err }, fmt.Sprint(st.States[0]))
	b, err = MarshalRecord(&st.Events[0])
	check("event", b, err, func(b []byte) (string, error) { r, err := UnmarshalRecord[Event](b); return fmt.Sprint(r), err }, fmt.Sprint(st.Events[0]))

	bad := st.Events[0]
	bad.Kind = "nope"
	if _, err := MarshalRecord(&bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("MarshalRecord of a bad event: %v, want ErrInvalid", err)
	}
	for _, in := range []string{"", "{", `{"id":"x"}`, `{"domain":"example.com","kind":"outage"}`, strings.Repeat(" ", MaxRecordBytes+1)} {
		if _, err := UnmarshalRecord[Event]([]byte(in)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("UnmarshalRecord(%.20q): %v, want ErrCorrupt", in, err)
		}
	}
}
