package alert

import (
	"context"
	"fmt"
	"testing"
)

// nopSink takes everything at once.
type nopSink struct{}

func (nopSink) Send(context.Context, *Message) error { return nil }

// BenchmarkEnqueue measures spooling: each Enqueue of a batch writes and
// fsyncs one queue file; the workers drain the spool meanwhile.
//
//	go test ./internal/alert -run '^$' -bench Enqueue -benchtime 200x
func BenchmarkEnqueue(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			o := fastOptions(b.TempDir(), Target{Name: "nop", Sink: nopSink{}})
			o.DigestThreshold = 10
			d := mustOpen(b, o)
			defer closeD(b, d)
			alerts := make([]Alert, batch)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for j := range alerts {
					alerts[j] = nameAlert("example.com", n)
					n++
				}
				if err := d.Enqueue(context.Background(), alerts...); err != nil {
					b.Fatal(err)
				}
			}
			flush(b, d)
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
