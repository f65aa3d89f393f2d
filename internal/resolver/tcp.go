package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// TCP is used for forced queries, truncated answers and zone transfers:
// one connection per query, which is what servers expect from a client
// that falls back rarely. Every read has a deadline; cancellation (ctx or
// Close) moves the deadline into the past so blocked reads return at once,
// and no later deadline can move it back (see deadlines).

// dialTCP connects to a before deadline, giving up early on ctx or Close.
func (r *Resolver) dialTCP(ctx context.Context, a netip.AddrPort, deadline time.Time) (net.Conn, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	stop := context.AfterFunc(r.ctx, cancel)
	defer stop()
	var d net.Dialer
	return d.DialContext(dctx, "tcp", a.String())
}

// deadlines sets the deadlines of one TCP connection so that a
// cancellation can never be undone. Cancellation (ctx or Close) moves the
// deadline into the past; a read loop that arms a fresh per-message
// deadline just after that would put it back into the future and block
// for a whole Timeout (an hour in TestTransferCancel), so every deadline
// goes through set, and set does nothing once kill has run. The mutex
// orders the two: either kill comes last and wins, or set sees killed.
type deadlines struct {
	conn   net.Conn
	mu     sync.Mutex
	killed bool
	stops  []func() bool
}

// watch makes blocked I/O on conn return when ctx or the Resolver is
// done, for good. Call stop when the connection is no longer used.
func (r *Resolver) watch(ctx context.Context, conn net.Conn) *deadlines {
	d := &deadlines{conn: conn}
	d.stops = []func() bool{context.AfterFunc(ctx, d.kill), context.AfterFunc(r.ctx, d.kill)}
	return d
}

// kill ends every blocked and future I/O on the connection.
func (d *deadlines) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.killed = true
	d.conn.SetDeadline(time.Unix(1, 0))
}

// set arms the read and write deadline, unless the connection was killed.
func (d *deadlines) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.killed {
		d.conn.SetDeadline(t)
	}
}

// setRead arms the read deadline, unless the connection was killed.
func (d *deadlines) setRead(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.killed {
		d.conn.SetReadDeadline(t)
	}
}

// stop detaches the cancellation watchers.
func (d *deadlines) stop() {
	for _, s := range d.stops {
		s()
	}
}

// netErr turns an I/O error into the error callers see.
func (r *Resolver) netErr(ctx context.Context, err error, what string, a netip.AddrPort) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case r.isClosed.Load():
		return ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return errTimeout
	}
	return fmt.Errorf("resolver: %s %s: %w", what, a, err)
}

// readTCPMsg reads one length-prefixed message into buf (grown as needed).
func readTCPMsg(conn net.Conn, buf []byte) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, err // io.EOF: closed at a message boundary
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n < headerLen {
		return nil, fmt.Errorf("%w: TCP length prefix %d", ErrMalformed, n)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(conn, buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: connection ended inside a %d-byte message: %w", ErrMalformed, n, io.ErrUnexpectedEOF)
		}
		return nil, err
	}
	return buf, nil
}

// tcpExchange sends one query over a new TCP connection.
func (r *Resolver) tcpExchange(ctx context.Context, s *server, p *prepared, o wireOpts) (*Response, error) {
	start := time.Now()
	deadline := start.Add(r.opts.Timeout)
	conn, err := r.dialTCP(ctx, s.addr, deadline)
	if err != nil {
		return nil, r.tcpErr(ctx, err, s, "dial")
	}
	defer conn.Close()
	r.stats.queries.Add(1)
	r.stats.tcp.Add(1)
	s.queries.Add(1)
	dl := r.watch(ctx, conn)
	defer dl.stop()
	dl.set(deadline)

	id := uint16(rand.Uint32())
	msg := appendQuery(make([]byte, 2, 2+headerLen+len(p.q.wire)+17), id, &p.q, o)
	binary.BigEndian.PutUint16(msg, uint16(len(msg)-2))
	if _, err := conn.Write(msg); err != nil {
		return nil, r.tcpErr(ctx, err, s, "write to")
	}
	buf := make([]byte, 0, 4096)
	// A stray message (wrong ID or question) is skipped; a server that
	// sends nothing else runs into the deadline.
	for {
		b, err := readTCPMsg(conn, buf)
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				r.drop(dropTCP)
			}
			return nil, r.tcpErr(ctx, err, s, "read from")
		}
		buf = b[:0]
		if d := checkHeader(b); d != dropNone {
			r.drop(d)
			continue
		}
		if binary.BigEndian.Uint16(b) != id {
			r.drop(dropID)
			continue
		}
		if d := checkQuestion(b, p.q.wire); d != dropNone {
			r.drop(d)
			continue
		}
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			r.drop(dropMalformed)
			return nil, fmt.Errorf("%w from %s over TCP: %v", ErrMalformed, s.addr, err)
		}
		r.stats.responses.Add(1)
		s.responses.Add(1)
		return &Response{Msg: m, Server: s.addr, RTT: time.Since(start), TCP: true}, nil
	}
}

func (r *Resolver) tcpErr(ctx context.Context, err error, s *server, what string) error {
	e := r.netErr(ctx, err, what, s.addr)
	if e == errTimeout {
		r.stats.timeouts.Add(1)
		s.timeouts.Add(1)
	}
	return e
}

// Envelope carries the records of one transfer message, or the error that
// ended the transfer (always the last envelope).
type Envelope struct {
	RR  []dns.RR
	Err error
}

// Transfer runs AXFR (serial ignored) or IXFR (serial = the SOA serial the
// client claims to have) with server over TCP and streams the records as
// they arrive. The channel is closed when the transfer ends: after the
// closing SOA, or after one envelope whose Err is set (ErrTransferRefused,
// ErrTransferIncomplete, ErrTransferTooLarge, ErrTimeout for a stall,
// ErrMalformed, ctx.Err(), ErrClosed). Stop reading only after cancelling
// ctx, or the transfer's goroutine waits for the reader until Close.
func (r *Resolver) Transfer(ctx context.Context, server netip.AddrPort, zone string, qtype uint16, serial uint32) <-chan Envelope {
	ch := make(chan Envelope, 16)
	fail := func(err error) <-chan Envelope {
		ch <- Envelope{Err: err}
		close(ch)
		return ch
	}
	if qtype != dns.TypeAXFR && qtype != dns.TypeIXFR {
		return fail(fmt.Errorf("%w: transfer type %d is neither AXFR nor IXFR", ErrBadQuery, qtype))
	}
	a, err := checkAddr(server)
	if err != nil {
		return fail(err)
	}
	q, err := newQuestion(zone, qtype, dns.ClassINET)
	if err != nil {
		return fail(err)
	}
	s, err := r.server(a, false)
	if err != nil {
		return fail(err)
	}
	ok := r.goroutine(func() {
		defer close(ch)
		if err := r.transfer(ctx, s, &q, serial, ch); err != nil {
			// Deliver the error if there is room; otherwise wait for the
			// reader unless it has gone (ctx) or we are closing.
			select {
			case ch <- Envelope{Err: err}:
			default:
				select {
				case ch <- Envelope{Err: err}:
				case <-ctx.Done():
				case <-r.ctx.Done():
				}
			}
		}
	})
	if !ok {
		return fail(ErrClosed)
	}
	return ch
}

// soaRR packs the IXFR authority record: zone SOA with only the serial set.
func soaRR(zoneWire []byte, serial uint32) []byte {
	b := append([]byte(nil), zoneWire...)
	b = append(b, 0, byte(dns.TypeSOA), 0, byte(dns.ClassINET), 0, 0, 0, 0, 0, 22)
	b = append(b, 0, 0) // MNAME ".", RNAME "."
	b = binary.BigEndian.AppendUint32(b, serial)
	return append(b, make([]byte, 16)...) // refresh, retry, expire, minimum
}

// serialLE is RFC 1982 a <= b.
func serialLE(a, b uint32) bool { return a == b || int32(b-a) > 0 }

func (r *Resolver) transfer(ctx context.Context, s *server, q *question, serial uint32, ch chan<- Envelope) error {
	if err := r.limit(ctx, s); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, r.opts.TransferTimeout)
	defer cancel()
	conn, err := r.dialTCP(tctx, s.addr, time.Now().Add(r.opts.Timeout))
	if err != nil {
		if e := r.netErr(ctx, err, "transfer: connect to", s.addr); e != errTimeout {
			return e
		}
		return fmt.Errorf("%w: connecting to %s for a transfer", ErrTimeout, s.addr)
	}
	defer conn.Close()
	r.stats.queries.Add(1)
	r.stats.tcp.Add(1)
	s.queries.Add(1)
	dl := r.watch(tctx, conn)
	defer dl.stop()

	o := wireOpts{}
	if q.qtype == dns.TypeIXFR {
		o.authority = soaRR(q.wire[:len(q.wire)-4], serial)
	}
	id := uint16(rand.Uint32())
	msg := appendQuery(make([]byte, 2, 64+2*len(q.wire)), id, q, o)
	binary.BigEndian.PutUint16(msg, uint16(len(msg)-2))
	dl.set(time.Now().Add(r.opts.Timeout))
	if _, err := conn.Write(msg); err != nil {
		return r.xfrErr(ctx, tctx, err, s, 0)
	}

	x := xfrState{id: id, q: q, serial: serial, max: r.opts.MaxTransferRecords, addr: s.addr.String()}
	var buf []byte
	for {
		dl.setRead(time.Now().Add(r.opts.Timeout))
		b, err := readTCPMsg(conn, buf)
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("%w: %s closed the connection after %d records", ErrTransferIncomplete, s.addr, x.total)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: %s closed the connection inside a message after %d records", ErrTransferIncomplete, s.addr, x.total)
			}
			if errors.Is(err, ErrMalformed) {
				r.drop(dropTCP)
			}
			return r.xfrErr(ctx, tctx, err, s, x.total)
		}
		buf = b[:0]
		if x.messages == 0 && checkHeader(b) == dropNone && binary.BigEndian.Uint16(b) == id {
			r.stats.responses.Add(1)
			s.responses.Add(1)
		}
		rrs, done, d, err := x.message(b)
		if d != dropNone {
			r.drop(d)
		}
		if len(rrs) > 0 {
			select {
			case ch <- Envelope{RR: rrs}:
			case <-ctx.Done():
				return ctx.Err()
			case <-r.ctx.Done():
				return ErrClosed
			}
		}
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// xfrState follows one zone transfer message by message: it validates each
// message and finds the end of the transfer. It does no I/O, so the whole
// parser is fuzzed (FuzzTransferMessages).
type xfrState struct {
	id     uint16
	q      *question
	serial uint32 // IXFR: the client's serial
	max    int
	addr   string

	total     int    // records accepted
	messages  int    // messages accepted
	first     uint32 // serial of the opening SOA
	soaFirst  int    // SOAs seen carrying that serial
	increment bool   // IXFR answered incrementally
}

// message validates one message and returns the records to pass on,
// whether the transfer is complete, and on error the drop reason to count
// (if any). At the record cap it returns the records below the cap with
// ErrTransferTooLarge; with any other error, no records.
func (x *xfrState) message(b []byte) ([]dns.RR, bool, dropReason, error) {
	if d := checkHeader(b); d != dropNone {
		return nil, false, d, fmt.Errorf("%w: %s sent a non-response during the transfer", ErrMalformed, x.addr)
	}
	if binary.BigEndian.Uint16(b) != x.id {
		return nil, false, dropID, fmt.Errorf("%w: %s sent a message with a wrong ID during the transfer", ErrMalformed, x.addr)
	}
	// The first message must echo the question; later ones may omit it.
	if x.messages == 0 || binary.BigEndian.Uint16(b[4:]) != 0 {
		if d := checkQuestion(b, x.q.wire); d != dropNone {
			return nil, false, d, fmt.Errorf("%w: %s answered a different question", ErrMalformed, x.addr)
		}
	}
	if rc := rcodeOf(b); rc != dns.RcodeSuccess {
		return nil, false, dropNone, fmt.Errorf("%w: %s answered %s", ErrTransferRefused, x.addr, dns.RcodeToString[rc])
	}
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return nil, false, dropMalformed, fmt.Errorf("%w: message %d from %s: %v", ErrMalformed, x.messages+1, x.addr, err)
	}
	x.messages++
	if x.messages > x.max {
		return nil, false, dropNone, fmt.Errorf("%w: more than %d messages from %s", ErrTransferTooLarge, x.max, x.addr)
	}
	rrs := m.Answer
	for i, rr := range rrs {
		soa, isSOA := rr.(*dns.SOA)
		done := false
		switch {
		case x.total == 0:
			if !isSOA {
				return nil, false, dropNone, fmt.Errorf("%w: transfer from %s does not start with SOA", ErrMalformed, x.addr)
			}
			x.first, x.soaFirst = soa.Serial, 1
			if x.q.qtype == dns.TypeIXFR && serialLE(x.first, x.serial) {
				done = true // client is up to date: the single SOA
			}
		case x.total == 1 && x.q.qtype == dns.TypeIXFR && isSOA && soa.Serial != x.first:
			x.increment = true
		case isSOA && !x.increment:
			done = true // AXFR (or IXFR in AXFR form): the closing SOA
		case isSOA && soa.Serial == x.first:
			// Incremental: the new serial opens the reply, opens the last
			// diff's additions, and closes the reply.
			x.soaFirst++
			done = x.soaFirst == 3
		}
		x.total++
		if x.total > x.max {
			x.total--
			return rrs[:i], false, dropNone, fmt.Errorf("%w: more than %d records from %s", ErrTransferTooLarge, x.max, x.addr)
		}
		if done {
			return rrs[:i+1], true, dropNone, nil
		}
	}
	return rrs, false, dropNone, nil
}

// xfrErr maps a transfer I/O error: ctx and Close first, then the overall
// TransferTimeout, then a per-read stall.
func (r *Resolver) xfrErr(ctx, tctx context.Context, err error, s *server, total int) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case r.isClosed.Load():
		return ErrClosed
	case tctx.Err() != nil:
		return fmt.Errorf("%w: %s still sending after %v (%d records)", ErrTransferTooLarge, s.addr, r.opts.TransferTimeout, total)
	case errors.Is(err, ErrMalformed):
		return fmt.Errorf("%w (%s, after %d records)", err, s.addr, total)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		r.stats.timeouts.Add(1)
		s.timeouts.Add(1)
		return fmt.Errorf("%w: %s stalled for %v after %d records", ErrTimeout, s.addr, r.opts.Timeout, total)
	}
	return fmt.Errorf("%w: %s: %v (after %d records)", ErrTransferIncomplete, s.addr, err, total)
}
