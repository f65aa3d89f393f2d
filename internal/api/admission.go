package api

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
)

// Admission decides which requests the server works on, so that a client
// that misbehaves is limited without the others noticing.
//
// A request belongs to a tenant: its API key, or without one its client
// address (IPv4 address, IPv6 /64). Work slots bound the requests being
// worked on: Options.MaxInFlight over the whole server, and per tenant
// MaxInFlightPerKey or MaxInFlightPerClient. A request beyond its
// tenant's slots waits in the tenant's queue (by arrival, cheap requests
// ahead of dear ones; at most MaxQueue waiting, each at most
// QueueTimeout), so one tenant's flood delays that tenant only and its
// short requests pass its long ones; a request that finds the whole
// server full is refused at once (503). A request that has worked a
// quantum gives its slot to a waiting request of its tenant at its next
// read or write, and waits its turn again.
//
// A request that waits on its client (reading a body, or writing an
// answer the client does not read) is not being worked on: it gives its
// slot to a waiting request of its tenant when it starts to wait, and a
// newcomer that finds no free slot borrows the slot of such a request.
// A request whose slot was taken takes one back when its client moves.
// So slow bodies and unread answers never hold slots that others need.
//
// Held requests are bounded too (MaxRequestsPerClient per tenant,
// MaxRequests in all, whatever they wait on): past the bound, the
// request that has waited longest on its client, of those waiting on it
// now, is cut (its connection closed) to make room; only when none waits
// is the newcomer refused. Deadlines (call.go) cut what stalls past WriteTimeout
// or below MinBodyRate, and WorkBudget bounds the server time one request
// may use.
//
// Every refusal and cut is counted in dnsscout_api_rejected_total by
// reason.

// Slot states of a call.
const (
	// stateIdle: no slot (not admitted, queued, or its slot was lent).
	stateIdle int32 = iota
	// stateHeld: holds a slot and works.
	stateHeld
	// stateIO: holds a slot while it waits on its client; another
	// request may borrow it.
	stateIO
	// stateLent: admitted, but its slot went to another request while
	// it waited on its client; it takes one back when the wait ends.
	stateLent
)

// Reasons of dnsscout_api_rejected_total.
const (
	reasonServerBusy   = "server_busy"
	reasonServerFull   = "server_full"
	reasonTenantFull   = "tenant_full"
	reasonQueueFull    = "queue_full"
	reasonQueueTimeout = "queue_timeout"
	reasonCut          = "cut_waiting_on_client"
	reasonSlowBody     = "slow_body"
	reasonWriteTimeout = "write_timeout"
	reasonWorkBudget   = "work_budget"
	reasonTooLarge     = "body_too_large"
	reasonRatio        = "decompression_ratio"
	reasonBadLines     = "bad_lines"
	reasonPenalized    = "penalized"
)

var rejectReasons = []string{reasonServerBusy, reasonServerFull, reasonTenantFull, reasonQueueFull, reasonQueueTimeout,
	reasonCut, reasonSlowBody, reasonWriteTimeout, reasonWorkBudget, reasonTooLarge, reasonRatio, reasonBadLines, reasonPenalized}

// tenantKey names a tenant: a key id, or a client address.
type tenantKey struct {
	key  string
	addr netip.Addr
}

// tenant is the share of one key or client address.
type tenant struct {
	id     tenantKey
	limit  int
	active int
	// waiting is len(queue), readable without the lock.
	waiting atomic.Int32
	queue   []*call
	members callList
	// fresh is the number of queued requests that never had a slot:
	// they hold no buffers, and do not count against the caps on held
	// requests.
	fresh int
}

// link and callList make an intrusive list of calls; which selects the
// link (0: a tenant's members, 1: all members).
type link struct{ prev, next *call }

type callList struct {
	head  *call
	which int
	n     int
}

func (l *callList) push(c *call) {
	lk := &c.links[l.which]
	lk.prev, lk.next = nil, l.head
	if l.head != nil {
		l.head.links[l.which].prev = c
	}
	l.head = c
	l.n++
}

func (l *callList) remove(c *call) {
	lk := &c.links[l.which]
	if lk.prev != nil {
		lk.prev.links[l.which].next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		lk.next.links[l.which].prev = lk.prev
	}
	lk.prev, lk.next = nil, nil
	l.n--
}

// admission holds the slots, tenants and members. Its lock is taken
// when a request is admitted and when it ends, and on the slow paths.
type admission struct {
	s       *Server
	mu      sync.Mutex
	active  int
	all     callList
	tenants map[tenantKey]*tenant
	// queued are the tenants with requests waiting for a slot; while
	// there are some, lendLoop runs.
	queued  map[*tenant]struct{}
	lending bool
	fresh   int // all tenants' fresh
	// expensive holds, per tenant with expensive queries in progress or
	// waiting, a token per query worked on (acquireExpensive).
	expensive map[tenantKey]*expensiveTurns
	// cheapRate tells when cheap queries come thick and fast; while they do,
	// pacer holds the expensive queries to Options.ExpensiveShare of the
	// processors (penalty.go).
	cheapRate cheapRate
	pacer     *pacer // nil when ExpensiveShare is 1
	// strikes holds the tenants (per class) that misbehaved lately
	// (penalty.go); struck is its length, readable without the lock.
	// tarpitted counts the requests waiting out a penalty; sweepAt is
	// when forgiven strikes are next forgotten.
	strikes   map[strikeKey]*strikes
	struck    atomic.Int32
	tarpitted int
	sweepAt   int64
}

// expensiveTurns are the tokens of one tenant's expensive queries, and
// how many queries hold or wait for one (the entry goes with the last).
type expensiveTurns struct {
	id      tenantKey
	tokens  chan struct{}
	users   int
	holders map[*call]struct{} // the calls holding a token
}

// stallSlot is how long a request must have waited on its client before
// its slot may be lent: a write that the socket takes at once keeps it.
const stallSlot = time.Millisecond

func newAdmission(s *Server) *admission {
	return &admission{s: s, all: callList{which: 1}, tenants: map[tenantKey]*tenant{}, queued: map[*tenant]struct{}{},
		expensive: map[tenantKey]*expensiveTurns{}, strikes: map[strikeKey]*strikes{}, pacer: newPacer(s.opt.ExpensiveShare)}
}

// clientAddr is the tenant address of a RemoteAddr: the IPv4 address,
// or the /64 of an IPv6 address; the zero Addr when it does not parse.
func clientAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// busy is a refusal by admission, counted under reason.
func (a *admission) busy(reason, format string, args ...any) error {
	a.s.met.rejected(reason)
	return sentinelf(ErrBusy, format, args...)
}

// acquire admits c into its tenant: a slot now, a borrowed one, or a
// place in the tenant's queue to wait for one (ordered by its expected
// cost).
func (a *admission) acquire(c *call, cost time.Duration) error {
	o := &a.s.opt
	id, limit, who := a.tenantOf(c)
	a.mu.Lock()
	var cut [2]*call
	if a.all.n-a.fresh >= o.MaxRequests {
		if cut[0] = a.longestWaiting(&a.all); cut[0] == nil {
			a.mu.Unlock()
			return a.busy(reasonServerFull, "server busy: %d requests held, none waiting on its client", o.MaxRequests)
		}
		a.evict(cut[0])
	}
	t := a.tenants[id]
	if t == nil {
		t = &tenant{id: id, limit: limit}
		a.tenants[id] = t
	}
	if t.members.n-t.fresh >= o.MaxRequestsPerClient {
		if cut[1] = a.longestWaiting(&t.members); cut[1] == nil {
			a.dropIfEmpty(t)
			a.mu.Unlock()
			a.cutAll(&cut)
			return a.busy(reasonTenantFull, "%d requests of %s held, none waiting on its client", o.MaxRequestsPerClient, who)
		}
		a.evict(cut[1])
		a.tenants[id] = t // evicting its last member dropped it
	}
	c.ten, c.member = t, true
	t.members.push(c)
	a.all.push(c)
	var err error
	wait := false
	switch {
	case t.active < t.limit && a.active < o.MaxInFlight:
		t.active++
		a.active++
		c.state.Store(stateHeld)
	case t.active < t.limit:
		if v := a.lendable(&a.all); v != nil {
			a.lend(v, c)
		} else {
			a.leave(c)
			err = a.busy(reasonServerBusy, "server busy: %d requests in flight", o.MaxInFlight)
		}
	default:
		if v := a.lendable(&t.members); v != nil {
			a.lend(v, c)
		} else if len(t.queue) < o.MaxQueue {
			a.enqueue(t, c, cost)
			c.fresh = true
			t.fresh++
			a.fresh++
			wait = true
		} else {
			a.leave(c)
			err = a.busy(reasonQueueFull, "%d requests of %s already wait", o.MaxQueue, who)
		}
	}
	a.mu.Unlock()
	a.cutAll(&cut)
	if wait {
		return a.wait(c, who)
	}
	return err
}

// tenantOf returns the tenant of c, its slots and how refusals name it.
func (a *admission) tenantOf(c *call) (id tenantKey, limit int, who string) {
	o := &a.s.opt
	if c.key != nil {
		return tenantKey{key: c.key.ID}, o.MaxInFlightPerKey, "this key"
	}
	// The address is parsed only for requests without a key.
	return tenantKey{addr: clientAddr(c.r.RemoteAddr)}, o.MaxInFlightPerClient, "this client address"
}

// cutAll cuts the connections of the calls evicted to make room: cut[0]
// on the server, cut[1] in its own tenant. Only the second is a strike
// against its tenant (which holds too many requests); the first may be
// any tenant's long download.
func (a *admission) cutAll(cut *[2]*call) {
	for i, v := range cut {
		if v != nil && v.cutConn() {
			a.s.met.rejected(reasonCut)
			if i == 1 {
				a.strike(v)
			}
		}
	}
}

// wait blocks a queued newcomer until it gets a slot, QueueTimeout
// passes or the client goes away.
func (a *admission) wait(c *call, who string) error {
	start := time.Now()
	t := time.NewTimer(a.s.opt.QueueTimeout)
	defer t.Stop()
	var err error
	select {
	case <-c.grant:
	case <-t.C:
		err = ErrBusy
	case <-c.r.Context().Done():
		err = c.r.Context().Err()
	}
	c.queued += time.Since(start)
	if err == nil {
		return nil
	}
	a.mu.Lock()
	if c.state.Load() == stateHeld { // granted meanwhile
		<-c.grant
		a.mu.Unlock()
		return nil
	}
	a.dequeue(c.ten, c)
	a.leave(c)
	a.mu.Unlock()
	if err == ErrBusy {
		return a.busy(reasonQueueTimeout, "the requests of %s waited %v for a slot", who, a.s.opt.QueueTimeout)
	}
	return err
}

// enqueue puts c in t's queue, ordered by the time it joined plus its
// weight: for a new request its expected cost, for one taking back the
// slot it lent the work already done for it. A cheap request goes ahead
// of a dear one that joined less than their difference before it, so
// short requests keep their latency beside long, stalled or flooding
// ones of the same tenant, and no request waits forever behind
// newcomers.
func (a *admission) enqueue(t *tenant, c *call, weight time.Duration) {
	if c.grant == nil {
		c.grant = make(chan struct{}, 1)
	}
	c.queueKey = time.Now().UnixNano() + int64(weight)
	i := len(t.queue)
	t.queue = append(t.queue, nil)
	for i > 0 && t.queue[i-1].queueKey > c.queueKey {
		t.queue[i] = t.queue[i-1]
		i--
	}
	t.queue[i] = c
	t.waiting.Store(int32(len(t.queue)))
	a.queued[t] = struct{}{}
	if !a.lending {
		a.lending = true
		go a.lendLoop()
	}
}

func (a *admission) dequeue(t *tenant, c *call) {
	for i, x := range t.queue {
		if x == c {
			t.queue = append(t.queue[:i], t.queue[i+1:]...)
			break
		}
	}
	t.waiting.Store(int32(len(t.queue)))
	if len(t.queue) == 0 {
		delete(a.queued, t)
	}
	a.unfresh(c)
}

// handOver gives a slot of t (already counted) to the first request in
// t's queue.
func (a *admission) handOver(t *tenant) {
	w := t.queue[0]
	t.queue[0] = nil
	t.queue = t.queue[1:]
	t.waiting.Store(int32(len(t.queue)))
	if len(t.queue) == 0 {
		delete(a.queued, t)
	}
	w.state.Store(stateHeld)
	a.unfresh(w)
	w.grant <- struct{}{}
}

// unfresh counts a fresh request out of the queue.
func (a *admission) unfresh(c *call) {
	if c.fresh {
		c.fresh = false
		c.ten.fresh--
		a.fresh--
	}
}

// lendLoop runs while requests wait for a slot: every stallSlot it lends
// the slots of requests that have waited on their client since to the
// requests waiting in their tenant's queue.
func (a *admission) lendLoop() {
	tick := time.NewTicker(stallSlot)
	defer tick.Stop()
	for range tick.C {
		a.mu.Lock()
		if len(a.queued) == 0 {
			a.lending = false
			a.mu.Unlock()
			return
		}
		for t := range a.queued {
			for len(t.queue) > 0 {
				v := a.lendable(&t.members)
				if v == nil {
					break
				}
				a.handOver(t) // v's slot, already counted in t
			}
		}
		a.mu.Unlock()
	}
}

// free returns a slot of t and hands slots to t's queue while there is
// room.
func (a *admission) free(t *tenant) {
	t.active--
	a.active--
	for len(t.queue) > 0 && t.active < t.limit {
		t.active++
		a.active++
		a.handOver(t)
	}
}

// lendable finds, in l, the request that has waited longest on its
// client (at least stallSlot) while holding a slot, and takes the slot
// from it.
func (a *admission) lendable(l *callList) *call {
	for {
		var best *call
		bestSince := time.Now().Add(-stallSlot).UnixNano()
		for c := l.head; c != nil; c = c.links[l.which].next {
			if c.state.Load() != stateIO {
				continue
			}
			since := c.ioSince.Load()
			if since == 0 {
				since = c.pauseSince.Load()
			}
			if since != 0 && since <= bestSince {
				best, bestSince = c, since
			}
		}
		if best == nil {
			return nil
		}
		if best.state.CompareAndSwap(stateIO, stateLent) {
			return best
		}
		// Its wait has just ended; look again.
	}
}

// lend moves v's slot (v is already marked lent) to c.
func (a *admission) lend(v, c *call) {
	if v.ten != c.ten {
		v.ten.active--
		c.ten.active++
		for len(v.ten.queue) > 0 && v.ten.active < v.ten.limit && a.active < a.s.opt.MaxInFlight {
			v.ten.active++
			a.active++
			a.handOver(v.ten)
		}
	}
	c.state.Store(stateHeld)
}

// minCut is the least time a request must have waited on its client to
// be cut to make room.
const minCut = 100 * time.Millisecond

// longestWaiting is, of the members of l waiting on their client now or
// waiting to take back the slot they lent meanwhile, the one that has
// waited longest on its client (at least minCut), all its waits told: a
// slow body or an unread answer rather than a request writing its
// answer. Nil when none has.
func (a *admission) longestWaiting(l *callList) *call {
	now := time.Now().UnixNano()
	var best *call
	var bestWait int64
	for c := l.head; c != nil; c = c.links[l.which].next {
		if c.pauseSince.Load() != 0 { // paused for cheap queries, not stalled
			continue
		}
		wait := c.ioTotal.Load()
		if since := c.ioSince.Load(); since != 0 {
			wait += now - since
		} else if c.state.Load() != stateLent {
			continue
		}
		if wait >= int64(minCut) && (best == nil || wait > bestWait) {
			best, bestWait = c, wait
		}
	}
	return best
}

// evict removes v from admission; the caller cuts its connection once
// the lock is released.
func (a *admission) evict(v *call) {
	st := v.state.Swap(stateIdle)
	switch st {
	case stateHeld, stateIO:
		a.free(v.ten)
	case stateLent:
		if slices.Contains(v.ten.queue, v) { // waiting to take back its slot: wake it
			a.dequeue(v.ten, v)
			v.grant <- struct{}{}
		}
	}
	a.leave(v)
}

// leave removes c from the members.
func (a *admission) leave(c *call) {
	if !c.member {
		return
	}
	c.member = false
	c.ten.members.remove(c)
	a.all.remove(c)
	a.dropIfEmpty(c.ten)
}

// keepIdle is the number of tenants kept while nobody belongs to them,
// so that a client's next request does not allocate its tenant again.
const keepIdle = 1024

// dropIfEmpty forgets a tenant nobody belongs to once many are kept.
func (a *admission) dropIfEmpty(t *tenant) {
	if t.members.n == 0 && len(t.queue) == 0 && len(a.tenants) > keepIdle {
		delete(a.tenants, t.id)
	}
}

// release ends c's admission: its slot goes to the next in its queue.
func (a *admission) release(c *call) {
	if c.ten == nil {
		return
	}
	a.mu.Lock()
	if c.member {
		if st := c.state.Swap(stateIdle); st == stateHeld || st == stateIO {
			a.free(c.ten)
		}
		a.leave(c)
	}
	a.mu.Unlock()
	a.releaseExpensive(c)
	c.keyHolding.Release()
}

// ExpensiveCost is the expected cost (see queryCost) from which a query
// is expensive: at most Options.MaxExpensivePerTenant of a tenant's are
// worked on at once.
const ExpensiveCost = time.Millisecond

// acquireExpensive waits until fewer than MaxExpensivePerTenant
// expensive queries of c's tenant are worked on, at most QueueTimeout. It
// comes before the work slot (acquire), so that queries waiting for
// their turn hold no slot the tenant's cheap requests need. A holder that
// has waited on its client for expensiveStall or more is not being worked
// on (an answer its client does not read): a waiting query takes its
// token, and the holder waits for one again when its client moves
// (reclaimExpensive). (A shorter wait is a busy client's: a large answer
// fills the socket for a moment at every write.) releaseExpensive gives
// the token back.
func (a *admission) acquireExpensive(c *call) error {
	id, _, who := a.tenantOf(c)
	a.mu.Lock()
	e := a.expensive[id]
	if e == nil {
		e = &expensiveTurns{id: id, tokens: make(chan struct{}, a.s.opt.MaxExpensivePerTenant), holders: map[*call]struct{}{}}
		a.expensive[id] = e
	}
	e.users++
	a.mu.Unlock()
	c.expensive = e
	start := time.Now()
	err := a.waitTurn(c, e, false)
	c.queued += time.Since(start) // waiting for a turn is not work
	if err != nil {
		a.releaseExpensive(c)
		if errors.Is(err, errTurnTimeout) {
			return a.busy(reasonQueueTimeout, "the expensive queries of %s waited %v for their turn", who, a.s.opt.QueueTimeout)
		}
		return err
	}
	return nil
}

// errTurnTimeout ends a wait for an expensive query's turn that lasted
// QueueTimeout.
var errTurnTimeout = errors.New("api: no turn for an expensive query")

// waitTurn waits until c holds one of e's tokens: a free one, or the
// token of a holder stalled on its client. It returns errTurnTimeout
// after QueueTimeout, or the request context's error. A call that
// reclaims its token waits as if on its client (c.ioSince is set), and
// the wait ends with the token's grant.
func (a *admission) waitTurn(c *call, e *expensiveTurns, reclaim bool) error {
	timer := time.NewTimer(a.s.opt.QueueTimeout)
	defer timer.Stop()
	tick := time.NewTicker(expensiveStall / 10)
	defer tick.Stop()
	for {
		select {
		case e.tokens <- struct{}{}:
			a.mu.Lock()
			a.hold(c, e, reclaim)
			a.mu.Unlock()
			return nil
		case <-tick.C:
			if a.takeStalled(c, e, reclaim) {
				return nil
			}
		case <-timer.C:
			return errTurnTimeout
		case <-c.r.Context().Done():
			return c.r.Context().Err()
		}
	}
}

// expensiveStall is how long a holder of an expensive query's turn must
// have waited on its client before a waiting query takes its token.
const expensiveStall = 100 * time.Millisecond

// takeStalled gives c the token of a holder of e that has waited on its
// client for expensiveStall or more, if there is one; that holder waits
// for a token again when its client moves.
func (a *admission) takeStalled(c *call, e *expensiveTurns, reclaim bool) bool {
	now := time.Now().UnixNano()
	a.mu.Lock()
	defer a.mu.Unlock()
	for h := range e.holders {
		if since := h.ioSince.Load(); since != 0 && now-since >= int64(expensiveStall) {
			delete(e.holders, h)
			a.hold(c, e, reclaim)
			return true
		}
	}
	return false
}

// hold makes c a holder of a token of e (a.mu held). A call reclaiming
// its token stops waiting on its client here, under the lock, so that
// takeStalled never sees it as stalled with the token.
func (a *admission) hold(c *call, e *expensiveTurns, reclaim bool) {
	e.holders[c] = struct{}{}
	if reclaim {
		c.ioDone(time.Now().UnixNano())
	}
}

// reclaimExpensive is called when c's wait on its client ends, before
// c.ioSince is cleared: if its token was taken meanwhile, it waits for
// one again, still counted as waiting (its slot may be lent). A call
// that gets none within QueueTimeout is cut.
func (a *admission) reclaimExpensive(c *call) {
	e := c.expensive
	a.mu.Lock()
	_, held := e.holders[c]
	a.mu.Unlock()
	if held || c.cut.Load() {
		return
	}
	if err := a.waitTurn(c, e, true); errors.Is(err, errTurnTimeout) && c.cutConn() {
		a.s.met.rejected(reasonQueueTimeout)
		a.s.log.Warn("request cut: no turn for its expensive query", "path", c.r.URL.Path, "remote", c.r.RemoteAddr)
	}
}

// releaseExpensive gives back c's token, if it holds one, and its place.
func (a *admission) releaseExpensive(c *call) {
	e := c.expensive
	if e == nil {
		return
	}
	c.expensive = nil
	a.mu.Lock()
	if _, held := e.holders[c]; held {
		delete(e.holders, c)
		<-e.tokens
	}
	if e.users--; e.users == 0 && a.expensive[e.id] == e {
		delete(a.expensive, e.id)
	}
	a.mu.Unlock()
}

// quantum is the work after which a request gives its slot to a waiting
// request of its tenant whenever it writes or reads: long requests take
// turns with short ones instead of holding the slots.
const quantum = 5 * time.Millisecond

// ioStart is called when c starts to wait on its client: before a read
// of its body, or after a quantum of work, it gives its slot to the
// first waiting request of its tenant (a body comes at the client's
// pace); else the slot may be lent once the wait has lasted stallSlot.
func (a *admission) ioStart(c *call, now int64, read bool) {
	if c.state.Load() == stateHeld && c.ten.waiting.Load() > 0 && (read || c.workTime(now) >= quantum) {
		a.mu.Lock()
		if c.member && c.state.Load() == stateHeld && len(c.ten.queue) > 0 {
			c.state.Store(stateLent)
			a.handOver(c.ten)
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
	}
	c.state.CompareAndSwap(stateHeld, stateIO)
}

// ioEnd is called when c's wait on its client ends: it keeps its slot,
// or takes one back when it lent its own (waiting in its tenant's queue
// by the work done for it so far).
func (a *admission) ioEnd(c *call) {
	if c.state.CompareAndSwap(stateIO, stateHeld) || c.state.Load() != stateLent {
		return
	}
	a.mu.Lock()
	if !c.member || c.state.Load() != stateLent {
		a.mu.Unlock()
		return
	}
	t := c.ten
	if t.active < t.limit {
		t.active++
		a.active++
		c.state.Store(stateHeld)
		a.mu.Unlock()
		return
	}
	if v := a.lendable(&t.members); v != nil {
		a.lend(v, c)
		a.mu.Unlock()
		return
	}
	a.enqueue(t, c, max(c.workTime(time.Now().UnixNano()), 1))
	a.mu.Unlock()
	start := time.Now()
	select {
	case <-c.grant: // a slot, or evicted (state idle)
	case <-c.r.Context().Done():
		a.mu.Lock()
		if slices.Contains(t.queue, c) {
			a.dequeue(t, c)
		} else {
			<-c.grant // granted or evicted meanwhile: drop the token
		}
		a.mu.Unlock()
	}
	c.queued += time.Since(start)
}

// check verifies the slot counts against the members' states, for tests.
func (a *admission) check() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	held := 0
	per := map[*tenant]int{}
	for c := a.all.head; c != nil; c = c.links[1].next {
		if st := c.state.Load(); st == stateHeld || st == stateIO {
			held++
			per[c.ten]++
		}
	}
	if held != a.active {
		return fmt.Sprintf("%d slots counted, %d held by members", a.active, held)
	}
	for _, t := range a.tenants {
		if per[t] != t.active {
			return fmt.Sprintf("tenant %v: %d slots counted, %d held", t.id, t.active, per[t])
		}
	}
	return ""
}

// counts returns the slots in use, the members and the tenants with
// members or waiting requests, for tests and /metrics.
func (a *admission) counts() (active, members, tenants int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.tenants {
		if t.members.n > 0 || len(t.queue) > 0 {
			tenants++
		}
	}
	return a.active, a.all.n, tenants
}

// admit lets a request of class cl start: admission into its tenant,
// then the key's permission and limits. The call's end releases both.
func (s *Server) admit(c *call, cl class, cost time.Duration) error {
	k := c.key
	if cl == classMeta {
		if k != nil {
			// A key revoked since authentication is refused here too.
			var t keys.Ticket
			if err := s.keys.AdmitTicket(&t, k, firstPerm(k), false, false); err != nil {
				return err
			}
			t.Release()
		}
		return nil
	}
	c.class = cl
	if err := s.adm.tarpit(c); err != nil {
		return err
	}
	if cl == classQuery && cost >= ExpensiveCost {
		if err := s.adm.acquireExpensive(c); err != nil {
			return err
		}
	}
	if err := s.adm.acquire(c, cost); err != nil {
		s.adm.releaseExpensive(c)
		return err
	}
	if cl == classQuery && cost < ExpensiveCost {
		now := int64(c.start.Sub(epoch)) // no clock read: a call that did not wait came at its start
		if c.queued > 0 {
			now = monotonic()
		}
		s.adm.cheapRate.came(now)
	}
	if k == nil {
		return nil
	}
	perm := keys.PermQuery
	switch cl {
	case classIngest:
		perm = keys.PermIngest
	case classAdmin:
		perm = keys.PermAdmin
	}
	if err := s.keys.AdmitTicket(&c.keyHolding, k, perm, cl == classQuery, true); err != nil {
		s.adm.release(c)
		s.met.limited.WithLabelValues(limitReason(err)).Inc()
		return err
	}
	return nil
}
