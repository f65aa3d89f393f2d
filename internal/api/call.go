package api

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
)

// A call is one request from the root handler to its end: the route, the
// key, what Parse read, the wrappers that put deadlines on the body and
// the answer, and the request's place in admission (admission.go). One
// allocation per request holds all of it.
//
// Deadlines (Options.WriteTimeout, BodyTimeout, MinBodyRate, BodyGrace):
//   - every write of the answer must be taken by the client within
//     WriteTimeout: the connection's write deadline is pushed forward
//     before each write and set when the request starts (so an answer
//     that is never read cuts the connection instead of holding a
//     goroutine, and a stale deadline of an earlier request on the same
//     connection never cuts this one);
//   - the body must arrive at MinBodyRate bytes/s, counting only the
//     time the server waits for it, after a grace of BodyGrace, and
//     within BodyTimeout in all; a slower body is answered 408.
//
// While a call waits on its client (inside a read of the body or a write
// of the answer) it is marked, so that admission can lend its work slot
// to a request that needs one and cut it when it has waited too long.
type call struct {
	s      *Server
	route  *Route
	r      *http.Request
	w      respWriter
	body   bodyReader
	key    *keys.Key
	parsed any
	label  string
	start  time.Time
	// dl sets the connection's deadlines (nil under httptest recorders).
	dl deadliner

	// Admission state (admission.go): the tenant whose share the call
	// uses, its links in the lists of members, and its slot state.
	ten        *tenant
	links      [2]link // in the tenant's members, in all members
	member     bool
	fresh      bool // queued, never had a slot
	state      atomic.Int32
	ioSince    atomic.Int64 // unix ns since the call waits on its client; 0 when not
	ioTotal    atomic.Int64 // ns spent waiting on the client, all told
	queued     time.Duration
	queueKey   int64 // its order in a queue: join time plus work done (ns)
	grant      chan struct{}
	keyHolding keys.Ticket // its place in its key's limits (keys.Manager.AdmitTicket)
	// expensive are the turns of an expensive query's tenant
	// (acquireExpensive); it holds one while in expensive.holders.
	expensive *expensiveTurns
	// class is the request's class, once admit is called.
	class class
	// paced is the work time at the last pace; pauseSince is set (unix
	// ns) while an expensive query pauses for cheap ones (pace).
	paced       time.Duration
	pauseSince  atomic.Int64
	budgetSpent bool
	timedOut    bool

	// cutMu guards cutting the call's connection (by admission, from
	// another goroutine) against the end of the request, after which the
	// connection serves the next request.
	cutMu sync.Mutex
	done  bool
	cut   atomic.Bool
}

// deadliner is what net/http's ResponseWriters (HTTP/1 and HTTP/2) offer
// through http.ResponseController.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// longAgo is a deadline in the past: it fails the pending read or write.
var longAgo = time.Unix(1, 0)

// newCall starts the bookkeeping of a request.
func (s *Server) newCall(w http.ResponseWriter, r *http.Request, rt *Route) *call {
	c := &call{s: s, route: rt, r: r, start: time.Now(), label: "other"}
	if rt != nil {
		c.label = rt.Endpoint
	}
	c.w = respWriter{rw: w, c: c}
	if d, ok := w.(deadliner); ok {
		c.dl = d
		c.w.deadlineAt = c.start.UnixNano()
		_ = d.SetWriteDeadline(c.start.Add(s.opt.WriteTimeout))
	}
	if r.Body != nil && r.Body != http.NoBody {
		c.body = bodyReader{rc: r.Body, c: c}
		r.Body = &c.body
	}
	hdr := w.Header()
	setShared(hdr, hkNoSniff, hvNoSniff)
	setShared(hdr, hkReferrer, hvNoReferrer)
	s.met.inFlight.Add(1)
	return c
}

// finish ends the call's exposure to cutting: from now on the connection
// belongs to net/http again.
func (c *call) finish() {
	c.cutMu.Lock()
	c.done = true
	c.cutMu.Unlock()
}

// cutConn fails the call's pending and future reads and writes, which
// makes its handler return and net/http close the connection. It does
// nothing once the request has ended. It reports whether it cut.
func (c *call) cutConn() bool {
	c.cutMu.Lock()
	defer c.cutMu.Unlock()
	if c.done || c.cut.Load() {
		return false
	}
	c.cut.Store(true)
	if c.dl != nil {
		_ = c.dl.SetReadDeadline(longAgo)
		_ = c.dl.SetWriteDeadline(longAgo)
	}
	return true
}

// setDeadline sets the read or write deadline unless the call was cut
// (whose deadlines stay in the past).
func (c *call) setDeadline(read bool, t time.Time) {
	c.cutMu.Lock()
	defer c.cutMu.Unlock()
	if c.cut.Load() || c.done {
		return
	}
	if read {
		_ = c.dl.SetReadDeadline(t)
	} else {
		_ = c.dl.SetWriteDeadline(t)
	}
}

// ioStart marks the call as waiting on its client, for a read of its
// body or a write of its answer.
func (c *call) ioStart(now int64, read bool) {
	c.ioSince.Store(now)
	if c.ten != nil {
		c.s.adm.ioStart(c, now, read)
	}
}

// ioEnd marks the end of a wait on the client (failed: the read or
// write failed); the call takes back the turn of its expensive query and
// its work slot if they went to others meanwhile, and is cut when it has
// used up its work budget.
func (c *call) ioEnd(failed bool) {
	if c.expensive != nil && !failed {
		c.s.adm.reclaimExpensive(c)
	}
	now := time.Now().UnixNano()
	c.ioDone(now)
	if c.ten != nil {
		lent := c.state.Load() == stateLent
		c.s.adm.ioEnd(c)
		if lent { // it may have waited for a slot
			now = time.Now().UnixNano()
		}
	}
	c.checkBudget(now)
}

// ioDone ends the call's wait on its client, if it waits, and counts it.
func (c *call) ioDone(now int64) {
	if since := c.ioSince.Swap(0); since != 0 {
		c.ioTotal.Add(now - since)
	}
}

// workTime is the time the server spent on the call: its age minus the
// time it waited on its client or in its tenant's queue.
func (c *call) workTime(now int64) time.Duration {
	return time.Duration(now-c.start.UnixNano()-c.ioTotal.Load()) - c.queued
}

// checkBudget cuts an admitted call that has worked longer than
// Options.WorkBudget (operational endpoints are not admitted).
func (c *call) checkBudget(now int64) {
	b := c.s.opt.WorkBudget
	if b <= 0 || c.ten == nil || c.budgetSpent || c.route.NoBudget || c.workTime(now) <= b {
		return
	}
	c.budgetSpent = true
	if c.cutConn() {
		c.s.met.rejected(reasonWorkBudget)
		c.s.log.Warn("request cut: work budget used up", "path", c.r.URL.Path, "budget", b, "remote", c.r.RemoteAddr)
	}
}

// respWriter wraps the ResponseWriter: it remembers the status and size
// for /metrics and the log, pushes the write deadline forward before
// each write, and marks the call as waiting on its client meanwhile.
type respWriter struct {
	rw    http.ResponseWriter
	c     *call
	code  int
	bytes int64
	// deadlineAt is when the write deadline was last pushed (unix ns).
	deadlineAt int64
	// failed is set once a write to the client failed.
	failed bool
}

// clientGone reports whether a handler's client went away, was cut, or
// did not take a write in time: the answer cannot be finished, and
// there is nothing to log.
func clientGone(w http.ResponseWriter, r *http.Request) bool {
	if rw, ok := w.(*respWriter); ok && (rw.failed || rw.c.cut.Load()) {
		return true
	}
	return r.Context().Err() != nil
}

func (w *respWriter) Header() http.Header { return w.rw.Header() }

func (w *respWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.rw.WriteHeader(code)
}

func (w *respWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	now := w.extend()
	w.c.ioStart(now, false)
	n, err := w.rw.Write(b)
	w.c.ioEnd(err != nil)
	w.bytes += int64(n)
	if err != nil {
		w.failed = true
		w.c.writeFailed(err)
	} else if w.c.expensive != nil {
		w.c.s.adm.pace(w.c)
		w.extend() // after a pause, the deadline counts from now
	}
	return n, err
}

// FlushError flushes the answer to the client (http.ResponseController
// finds it).
func (w *respWriter) FlushError() error {
	now := w.extend()
	w.c.ioStart(now, false)
	err := http.NewResponseController(w.rw).Flush()
	w.c.ioEnd(err != nil)
	if err != nil {
		w.failed = true
		w.c.writeFailed(err)
	}
	return err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.rw }

// extend pushes the write deadline to WriteTimeout from now, at most
// every eighth of it (a timer update per small write showed in
// profiles), and returns now.
func (w *respWriter) extend() int64 {
	now := time.Now().UnixNano()
	c := w.c
	if c.dl == nil {
		return now
	}
	wt := c.s.opt.WriteTimeout
	if now-w.deadlineAt > int64(wt/8) {
		w.deadlineAt = now
		c.setDeadline(false, time.Unix(0, now).Add(wt))
	}
	return now
}

// writeFailed counts a write the client did not take in time.
func (c *call) writeFailed(err error) {
	if c.timedOut || !errors.Is(err, os.ErrDeadlineExceeded) || c.cut.Load() {
		return
	}
	c.timedOut = true
	c.s.met.rejected(reasonWriteTimeout)
	c.s.adm.strike(c)
}

// bodyReader wraps the request body with its read deadlines: the body
// must come at Options.MinBodyRate after BodyGrace, within BodyTimeout.
type bodyReader struct {
	rc io.ReadCloser
	c  *call
	n  int64
	// waited is the time spent waiting for the body.
	waited time.Duration
	eof    bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	c := b.c
	if b.eof || c.dl == nil {
		return b.rc.Read(p)
	}
	o := &c.s.opt
	allowed := o.BodyGrace - b.waited
	if o.MinBodyRate > 0 {
		allowed += time.Duration(float64(b.n) / float64(o.MinBodyRate) * float64(time.Second))
	}
	now := time.Now()
	deadline := now.Add(allowed)
	if abs := c.start.Add(o.BodyTimeout); abs.Before(deadline) {
		deadline = abs
	}
	if !deadline.After(now) {
		return 0, c.slowBody()
	}
	c.setDeadline(true, deadline)
	c.ioStart(now.UnixNano(), true)
	n, err := b.rc.Read(p)
	c.ioEnd(err != nil && err != io.EOF)
	b.waited += time.Since(now)
	b.n += int64(n)
	switch {
	case err == nil:
	case err == io.EOF:
		b.eof = true
		c.setDeadline(true, time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.cut.Load():
		return n, c.slowBody()
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.rc.Close() }

// slowBody counts and returns the refusal of a body that came too slowly.
func (c *call) slowBody() error {
	if !c.timedOut {
		c.timedOut = true
		c.s.met.rejected(reasonSlowBody)
		c.s.adm.strike(c)
	}
	return sentinelf(ErrSlowClient, "the request body came slower than %d bytes/s (after %v) or took longer than %v",
		c.s.opt.MinBodyRate, c.s.opt.BodyGrace, c.s.opt.BodyTimeout)
}
