package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// writer upserts batches into the sink from its own goroutines, so that
// decoding goes on while the store works: on a two-core machine the store
// writes and the decoding overlap (bench/ingest). The queue is short: a
// store slower than the sources holds them back (backpressure) instead of
// piling batches up in memory.
type writer struct {
	sink   Sink
	nxSink NXSink
	log    *slog.Logger
	jobs   chan *job
	wg     sync.WaitGroup

	mu      sync.Mutex
	cond    *sync.Cond
	pending int   // jobs submitted and not finished
	err     error // first sink error; sticky
	closed  bool

	tuples    atomic.Uint64 // tuples the sink accepted
	rejected  atomic.Uint64 // tuples the sink refused one by one (ErrBadTuple)
	nxNames   atomic.Uint64
	nxDropped atomic.Uint64
}

// job is a batch for the writer: tuples, or the entries of an aggregate
// handed off whole (src), and NXDOMAIN counters.
type job struct {
	tuples []pdns.Tuple
	src    *entryTuples
	nx     []store.NXCount
}

// len is the number of tuples of j.
func (j *job) len() int {
	if j.src != nil {
		return j.src.Len()
	}
	return len(j.tuples)
}

// batch returns the tuples of j as store.Tuples.
func (j *job) batch() store.Tuples {
	if j.src != nil {
		return j.src
	}
	return store.TupleSlice(j.tuples)
}

func newWriter(sink Sink, workers int, log *slog.Logger) *writer {
	w := &writer{sink: sink, log: log, jobs: make(chan *job, workers)}
	w.cond = sync.NewCond(&w.mu)
	if nx, ok := sink.(NXSink); ok {
		w.nxSink = nx
	}
	for range workers {
		w.wg.Go(func() {
			for j := range w.jobs {
				err := w.write(j)
				w.mu.Lock()
				w.pending--
				if err != nil && w.err == nil {
					w.err = err
				}
				w.cond.Broadcast()
				w.mu.Unlock()
			}
		})
	}
	return w
}

// reserve counts jobs as pending before they are queued, so that a wait
// that starts meanwhile waits for them too: the caller holds the
// ingester's lock, under which it took them, and then queues each with
// submit (or gives the rest back with unreserve). A reserved job leaves
// pending when a worker has written it, or when it is given back.
func (w *writer) reserve(jobs []*job) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending += countJobs(jobs)
}

// unreserve gives back the reservations of jobs that will not be queued.
func (w *writer) unreserve(jobs []*job) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending -= countJobs(jobs)
	w.cond.Broadcast()
}

// countJobs is the number of jobs with something to write.
func countJobs(jobs []*job) int {
	n := 0
	for _, j := range jobs {
		if !j.empty() {
			n++
		}
	}
	return n
}

func (j *job) empty() bool { return j == nil || j.len() == 0 && len(j.nx) == 0 }

// submit queues a job reserved before, blocking while the queue is full,
// and returns the sink's first error so far.
func (w *writer) submit(j *job) error {
	if j.empty() {
		return w.error()
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.unreserve([]*job{j})
		return errClosed
	}
	w.mu.Unlock()
	w.jobs <- j
	return w.error()
}

// trySubmit queues a job when the queue has room, without blocking (the
// caller may hold the ingester's lock), and reports whether it did.
func (w *writer) trySubmit(j *job) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	select {
	case w.jobs <- j:
		w.pending++
		return true
	default:
		return false
	}
}

var errClosed = errors.New("ingest: ingester closed")

func (w *writer) error() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// wait blocks until every submitted job is done.
func (w *writer) wait() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.pending > 0 {
		w.cond.Wait()
	}
	return w.err
}

// close stops the workers after the queued jobs. Submitting after close
// fails; close must not race with a submit in progress (Close is called
// once the sources have stopped).
func (w *writer) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	close(w.jobs)
	w.wg.Wait()
}

// write runs one job. The context is not the caller's: a flush that
// stopping started must finish.
func (w *writer) write(j *job) error {
	ctx := context.Background()
	if n := j.len(); n > 0 {
		err := store.UpsertTuples(ctx, w.sink, j.batch())
		switch {
		case err == nil:
			w.tuples.Add(uint64(n))
		case errors.Is(err, store.ErrBadTuple):
			// One tuple the store cannot hold must not cost the batch:
			// write them one by one and skip the bad ones.
			tuples := store.AppendTuples(nil, j.batch())
			for i := range tuples {
				err := w.sink.Upsert(ctx, tuples[i:i+1])
				switch {
				case err == nil:
					w.tuples.Add(1)
				case errors.Is(err, store.ErrBadTuple):
					w.rejected.Add(1)
					w.log.Warn("store refused a tuple", "rrname", tuples[i].RRName, "rrtype", pdns.TypeString(tuples[i].RRType), "err", err)
				default:
					return err
				}
			}
		default:
			return err
		}
	}
	if len(j.nx) > 0 {
		if w.nxSink == nil {
			w.nxDropped.Add(uint64(len(j.nx)))
			return nil
		}
		if err := w.nxSink.AddNXDomain(ctx, j.nx); err != nil {
			return err
		}
		w.nxNames.Add(uint64(len(j.nx)))
	}
	return nil
}
