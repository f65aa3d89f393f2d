package api

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
)

// Two more ways admission keeps one client's excess off the others'
// cores (admission.go has the slots and queues):
//
//   - Penalties. A request refused or cut for misbehaving is a strike
//     against its tenant's requests of that class. Past
//     Options.MaxStrikes in quick succession, the tenant's new requests
//     of the class wait out the penalty (the tarpit), holding no slot, and
//     are let go a few a second; past QueueTimeout they are refused with
//     429 (and on HTTP/1 their connection closed). A client that floods bad requests
//     is slowed to a trickle, whatever its connections.
//   - Pacing. While cheap queries come thick and fast, expensive ones use
//     at most Options.ExpensiveShare of the processors: between writes of
//     its answer, an expensive query charges its work to a server-wide
//     pacer and pauses for what the pacer says, lending its slot meanwhile.

// strikeKey names whom a penalty applies to: the requests of one class
// (queries, ingest) of one tenant. A client that sends bad bodies has
// its uploads slowed, not its lookups, which matters when clients share
// an address and no key tells them apart.
type strikeKey struct {
	tenantKey
	cl class
}

// strikes is the record of one strikeKey's misbehaviour (a.mu guards it).
type strikes struct {
	// forgiven is when all its strikes are forgiven (monotonic): each
	// strike adds StrikePenalty to it, from now at the earliest (GCRA).
	forgiven int64
	// release is the earliest time the next request to wait out its
	// penalty may go (monotonic), so that they go one after another.
	release int64
	// waiting counts its requests waiting out the penalty.
	waiting int
}

// maxStrikeTenants bounds the tenants whose strikes are remembered: past
// it, the forgiven are forgotten, and a new tenant's strikes are not
// recorded until there is room.
const maxStrikeTenants = 1 << 16

// maxPenalty bounds a tenant's penalty beyond its allowance (or one
// StrikePenalty, if longer), so that a burst of strikes does not shut a
// client out for long.
const maxPenalty = time.Minute

// releasesPerPenalty is how many requests waiting out a tenant's penalty
// go per StrikePenalty once it has passed.
const releasesPerPenalty = 4

// strike records that c was refused or cut for misbehaving (see
// Options.MaxStrikes); the reason is counted where it is decided. The
// tenant's requests of c's class are penalized while its strikes are
// forgiven more than MaxStrikes penalties from now.
func (a *admission) strike(c *call) {
	o := &a.s.opt
	if o.MaxStrikes < 0 || c.ten == nil {
		return
	}
	id := strikeKey{c.ten.id, c.class}
	now := monotonic()
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.strikes[id]
	if st == nil {
		if len(a.strikes) >= maxStrikeTenants {
			if a.sweep(now); len(a.strikes) >= maxStrikeTenants {
				return
			}
		}
		st = &strikes{}
		a.strikes[id] = st
		a.struck.Store(int32(len(a.strikes)))
	}
	p := int64(o.StrikePenalty)
	st.forgiven = min(max(st.forgiven, now)+p, now+int64(o.MaxStrikes)*p+max(int64(maxPenalty), p))
}

// sweep forgets the tenants whose strikes are all forgiven and who have
// no request waiting (a.mu held).
func (a *admission) sweep(now int64) {
	for id, st := range a.strikes {
		if st.forgiven <= now && st.waiting == 0 {
			delete(a.strikes, id)
		}
	}
	a.struck.Store(int32(len(a.strikes)))
	a.sweepAt = now + int64(time.Second)
}

// penalty is how long st's new requests must still wait at now.
func (a *admission) penalty(st *strikes, now int64) time.Duration {
	return time.Duration(st.forgiven - now - int64(a.s.opt.MaxStrikes)*int64(a.s.opt.StrikePenalty))
}

// tarpit makes a request of a penalized tenant wait out the penalty
// before it is admitted, and its turn after those already waiting: each
// gets a time to go when it comes, the penalty's end or StrikePenalty /
// releasesPerPenalty after the one before, whichever is later, so that
// they go in order and a few at a time. (Requests that come once the
// penalty has passed go straight in.) One whose time is past
// QueueTimeout waits QueueTimeout (a client looping on refusals is slowed
// too) and is refused (429); so is, at once, one that finds
// MaxRequestsPerClient of its tenant's requests (of its class) or
// MaxRequests in all already waiting. The wait holds no slot and counts
// as queued, not as work.
func (a *admission) tarpit(c *call) error {
	if a.struck.Load() == 0 {
		return nil
	}
	o := &a.s.opt
	ten, _, who := a.tenantOf(c)
	start := time.Now()
	now := monotonic()
	a.mu.Lock()
	if now >= a.sweepAt {
		a.sweep(now)
	}
	st := a.strikes[strikeKey{ten, c.class}]
	if st == nil || a.penalty(st, now) <= 0 { // past the penalty, requests go straight in
		a.mu.Unlock()
		return nil
	}
	at := max(now+int64(a.penalty(st, now)), st.release)
	if st.waiting >= o.MaxRequestsPerClient || a.tarpitted >= o.MaxRequests {
		a.mu.Unlock()
		return a.penalized(who, time.Duration(at-now))
	}
	deadline := now + int64(o.QueueTimeout)
	step := int64(o.StrikePenalty) / releasesPerPenalty
	goes := at <= deadline
	if goes {
		st.release = at + step
	}
	st.waiting++
	a.tarpitted++
	a.mu.Unlock()
	t := time.NewTimer(time.Duration(min(at, deadline) - now))
	select {
	case <-t.C:
	case <-c.r.Context().Done():
		t.Stop()
	}
	err := c.r.Context().Err()
	a.mu.Lock()
	st.waiting--
	a.tarpitted--
	if err != nil && goes && st.release == at+step {
		st.release = at // the last turn given goes unused
	}
	a.mu.Unlock()
	c.queued += time.Since(start)
	if err != nil {
		return err
	}
	if !goes {
		return a.penalized(who, time.Duration(at-monotonic()))
	}
	return nil
}

// penalized is the refusal of a request of a penalized tenant, to retry
// after d (a second at least).
func (a *admission) penalized(who string, d time.Duration) error {
	a.s.met.rejected(reasonPenalized)
	return &keys.LimitError{Err: sentinelf(ErrPenalized, "%s misbehaved more than %d times in quick succession (slow, oversized or malformed requests, unread answers)",
		who, a.s.opt.MaxStrikes), RetryAfter: max(d, time.Second)}
}

// epoch is the origin of monotonic: the times penalties and pacing keep
// do not move when the wall clock is set. It lies a day back, so that
// zero values are long past.
var epoch = time.Now().Add(-24 * time.Hour)

// monotonic is the time since epoch, in ns, by the monotonic clock.
func monotonic() int64 { return int64(time.Since(epoch)) }

// cheapRate tells whether cheap queries come thick and fast: cheapBusy
// or more within a window of cheapWindow, lately. A few lookups a second
// do not slow the searches of a server; a stream that keeps the cores
// busy does. (Whether one is being worked on at a given instant says
// little: a lookup spends a fraction of its time in its handler, the
// rest in net/http and the kernel.)
type cheapRate struct {
	start  atomic.Int64 // the current window's (monotonic)
	n      atomic.Int32 // cheap queries in it
	busyAt atomic.Int64 // when a window last reached cheapBusy
}

const (
	cheapWindow = 10 * time.Millisecond
	cheapBusy   = 10
)

// came counts a cheap query come at now.
func (r *cheapRate) came(now int64) {
	if w := r.start.Load(); now-w > int64(cheapWindow) && r.start.CompareAndSwap(w, now) {
		r.n.Store(0)
	}
	if r.n.Add(1) == cheapBusy {
		r.busyAt.Store(now)
	}
}

// busy reports whether cheap queries came thick and fast within the
// last two windows.
func (r *cheapRate) busy(now int64) bool {
	at := r.busyAt.Load()
	return at != 0 && now-at <= 2*int64(cheapWindow)
}

// pacer holds expensive work to a share of the processors: a GCRA in
// wall time, whose debt is dropped when cheap queries stop coming.
type pacer struct {
	mu sync.Mutex
	// rate is the processors' worth of work allowed per unit of wall time;
	// allow is the wall time paceBurst of work is worth.
	rate  float64
	allow int64
	// paid is when the work charged so far is paid for (monotonic).
	paid int64
}

// paceBurst is the work expensive queries may do beyond their share
// before they pause, once cheap queries are busy.
const paceBurst = 2 * time.Millisecond

// pauseSlice is how often a pausing query checks that cheap queries are
// still busy; maxPause is the longest pause (the rest of the debt is paid
// at the next writes).
const (
	pauseSlice = 5 * time.Millisecond
	maxPause   = time.Second
)

// newPacer returns the pacer of share of the processors, nil for a
// share of 1 or more (no pacing).
func newPacer(share float64) *pacer {
	if share >= 1 {
		return nil
	}
	r := share * float64(runtime.GOMAXPROCS(0))
	return &pacer{rate: r, allow: int64(float64(paceBurst) / r)}
}

// charge adds work done by now, and returns how long the query that did
// it must pause to stay within the share.
func (p *pacer) charge(now int64, work time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paid = max(p.paid, now-p.allow) + int64(float64(work)/p.rate)
	return time.Duration(max(p.paid-now, 0))
}

// forgive drops the debt: cheap queries no longer need the cores.
func (p *pacer) forgive(now int64) {
	p.mu.Lock()
	p.paid = min(p.paid, now)
	p.mu.Unlock()
}

// pace holds the expensive queries to Options.ExpensiveShare of the
// processors while cheap queries are busy (cheapRate). An expensive
// query calls it after each write of its answer: the work it did since
// its last call (its wall time at work, as WorkBudget counts it) is
// charged to the pacer if cheap queries are busy now (work done while
// they are not costs nothing), and it pauses for as long as the pacer
// says (maxPause at most), or until they are not busy any more.
// Meanwhile its slot may be lent, and it takes one back after; a pause
// counts neither as work nor as a wait on the client (it is never cut for
// it), and it keeps its turn.
func (a *admission) pace(c *call) {
	if a.pacer == nil {
		return
	}
	start := time.Now()
	work := c.workTime(start.UnixNano())
	done := work - c.paced
	c.paced = work
	now := monotonic()
	if !a.cheapRate.busy(now) {
		a.pacer.forgive(now)
		return
	}
	if done <= 0 {
		return
	}
	// The debt past one pause is paid at the next writes: a write
	// deadline (HTTP/2 resets a stream when it passes, write or not)
	// always lies WriteTimeout after the last write.
	d := min(a.pacer.charge(now, done), maxPause, a.s.opt.WriteTimeout/4)
	if d <= 0 {
		return
	}
	c.pauseSince.Store(start.UnixNano())
	if c.ten != nil {
		a.ioStart(c, start.UnixNano(), false)
	}
	end := start.Add(d)
	t := time.NewTimer(min(d, pauseSlice))
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.r.Context().Done():
		}
		left := time.Until(end)
		if left <= 0 || c.r.Context().Err() != nil {
			break
		}
		if now := monotonic(); !a.cheapRate.busy(now) {
			a.pacer.forgive(now)
			break
		}
		t.Reset(min(left, pauseSlice))
	}
	paused := time.Since(start)
	c.queued += paused
	a.s.met.paused.Add(paused.Seconds())
	if c.ten != nil {
		a.ioEnd(c) // may wait for a slot, counted as queued
	}
	c.pauseSince.Store(0) // after: taking its slot back is no wait on the client
}
