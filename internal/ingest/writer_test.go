package ingest

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// gateSink counts upserts, each held until release is closed.
type gateSink struct {
	release chan struct{}
	n       atomic.Int32
}

func (s *gateSink) Upsert(ctx context.Context, tuples []pdns.Tuple) error {
	<-s.release
	s.n.Add(int32(len(tuples)))
	return nil
}

// TestWriterReserve: jobs taken under the ingester's lock count as pending
// from then on, so that a wait (a Flush about to record the files read
// meanwhile) waits for them even before they are queued; jobs given back
// with unreserve no longer hold it.
func TestWriterReserve(t *testing.T) {
	sink := &gateSink{release: make(chan struct{})}
	w := newWriter(sink, 1, slog.New(slog.DiscardHandler))
	defer w.close()
	tuple := pdns.Tuple{RRName: "a.example", RRType: 1, RData: "192.0.2.1", Count: 1}
	jobs := []*job{{tuples: []pdns.Tuple{tuple}}, {}, {tuples: []pdns.Tuple{tuple, tuple}}}
	w.reserve(jobs)
	waited := make(chan error, 1)
	go func() { waited <- w.wait() }()
	select {
	case <-waited:
		t.Fatal("wait returned before the reserved jobs were queued")
	case <-time.After(50 * time.Millisecond):
	}
	if err := w.submit(jobs[0]); err != nil {
		t.Fatal(err)
	}
	w.unreserve(jobs[1:])
	close(sink.release)
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait still blocked after the job was written and the others given back")
	}
	if n := sink.n.Load(); n != 1 {
		t.Errorf("%d tuples written, want 1", n)
	}
}
