// Package dnstap receives dnstap (https://dnstap.info): it listens on Unix
// and TCP Frame Streams sockets with the bidirectional handshake resolvers
// use, reads Frame Streams files, decodes the Dnstap protobuf and hands
// the DNS response messages of the selected types to a Handler with their
// time and the zone the resolver says it asked. It never passes on the
// query or response addresses. It knows nothing of DNS beyond that.
package dnstap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dt "github.com/dnstap/golang-dnstap"
	framestream "github.com/farsightsec/golang-framestream"
	"google.golang.org/protobuf/proto"
)

// Errors of package dnstap.
var (
	// ErrFormat: the input is not a Frame Streams file of dnstap content.
	ErrFormat = errors.New("dnstap: not a dnstap Frame Streams file")
	// ErrType: an unknown message type name.
	ErrType = errors.New("dnstap: unknown message type")
	// ErrAddress: a listener address that cannot be used.
	ErrAddress = errors.New("dnstap: bad listen address")
)

// Type is a dnstap Message.Type.
type Type = dt.Message_Type

// typeNames maps the names accepted by ParseType to dnstap types. Only
// response types carry answers.
var typeNames = map[string]Type{
	"auth-response":      dt.Message_AUTH_RESPONSE,
	"resolver-response":  dt.Message_RESOLVER_RESPONSE,
	"client-response":    dt.Message_CLIENT_RESPONSE,
	"forwarder-response": dt.Message_FORWARDER_RESPONSE,
	"stub-response":      dt.Message_STUB_RESPONSE,
	"tool-response":      dt.Message_TOOL_RESPONSE,
}

// ParseType returns the type named name (e.g. "resolver-response").
func ParseType(name string) (Type, error) {
	t, ok := typeNames[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return 0, fmt.Errorf("%w %q (known: %s)", ErrType, name, strings.Join(TypeNames(), ", "))
	}
	return t, nil
}

// TypeNames lists the accepted type names, sorted.
func TypeNames() []string {
	var n []string
	for k := range typeNames {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// Handler receives one selected DNS response: its time in Unix
// nanoseconds, the wire message, and the query zone in wire form as the
// resolver reported it (nil when absent). Both slices are only valid during
// the call. An error stops the reader that called it.
type Handler func(ts int64, msg, zone []byte) error

// Options configures readers and listeners. The zero value is usable.
type Options struct {
	// Types are the message types passed to the Handler. Default:
	// RESOLVER_RESPONSE.
	Types []Type
	// MaxFrame is the largest frame accepted; larger ones are skipped and
	// counted. Default: 256 KiB (a DNS message is at most 64 KiB).
	MaxFrame int
	// HandshakeTimeout bounds the Frame Streams handshake of a connection.
	// Default: 10 s.
	HandshakeTimeout time.Duration
	// Logger receives connection events. Nil discards.
	Logger *slog.Logger
}

func (o *Options) fill() {
	if len(o.Types) == 0 {
		o.Types = []Type{dt.Message_RESOLVER_RESPONSE}
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = 256 << 10
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats counts frames. Its fields are updated atomically; read them with
// Snapshot.
type Stats struct {
	Frames      uint64 // data frames read
	Skipped     uint64 // frames of a type not selected, or without a response
	Malformed   uint64 // frames that are not a Dnstap protobuf
	TooLarge    uint64 // frames over MaxFrame
	Messages    uint64 // messages passed to the Handler
	Connections uint64 // connections accepted by a listener
}

// Snapshot returns a consistent-enough copy of s for reporting.
func (s *Stats) Snapshot() Stats {
	return Stats{
		Frames:      atomic.LoadUint64(&s.Frames),
		Skipped:     atomic.LoadUint64(&s.Skipped),
		Malformed:   atomic.LoadUint64(&s.Malformed),
		TooLarge:    atomic.LoadUint64(&s.TooLarge),
		Messages:    atomic.LoadUint64(&s.Messages),
		Connections: atomic.LoadUint64(&s.Connections),
	}
}

// IsFrameStream reports whether head (at least 12 bytes) starts a
// unidirectional Frame Streams file: an escape, a control frame length and
// the START control type.
func IsFrameStream(head []byte) bool {
	return len(head) >= 12 &&
		binary.BigEndian.Uint32(head[0:4]) == 0 &&
		binary.BigEndian.Uint32(head[4:8]) <= framestream.MAX_CONTROL_FRAME_SIZE &&
		binary.BigEndian.Uint32(head[8:12]) == framestream.CONTROL_START
}

// decoder turns frames into Handler calls.
type decoder struct {
	types []Type
	h     Handler
	st    *Stats
	m     dt.Dnstap
}

// frame decodes one Dnstap protobuf frame and calls h if it is selected.
func (d *decoder) frame(b []byte) error {
	atomic.AddUint64(&d.st.Frames, 1)
	d.m.Reset()
	if err := proto.Unmarshal(b, &d.m); err != nil {
		atomic.AddUint64(&d.st.Malformed, 1)
		return nil
	}
	m := d.m.GetMessage()
	if d.m.GetType() != dt.Dnstap_MESSAGE || m == nil || !slices.Contains(d.types, m.GetType()) || len(m.GetResponseMessage()) == 0 {
		atomic.AddUint64(&d.st.Skipped, 1)
		return nil
	}
	var ts int64
	switch {
	case m.ResponseTimeSec != nil:
		ts = int64(m.GetResponseTimeSec())*1e9 + int64(m.GetResponseTimeNsec())
	case m.QueryTimeSec != nil:
		ts = int64(m.GetQueryTimeSec())*1e9 + int64(m.GetQueryTimeNsec())
	}
	atomic.AddUint64(&d.st.Messages, 1)
	return d.h(ts, m.GetResponseMessage(), m.GetQueryZone())
}

// Read reads a Frame Streams file of dnstap frames until its end (or a STOP
// frame) and calls h for the selected responses.
func Read(ctx context.Context, r io.Reader, o Options, st *Stats, h Handler) error {
	o.fill()
	fr, err := framestream.NewReader(r, &framestream.ReaderOptions{ContentTypes: [][]byte{dt.FSContentType}})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return readFrames(ctx, fr, o, st, h)
}

func readFrames(ctx context.Context, fr *framestream.Reader, o Options, st *Stats, h Handler) error {
	d := &decoder{types: o.Types, h: h, st: st}
	buf := make([]byte, o.MaxFrame)
	for n := 0; ; n++ {
		if n&255 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		l, err := fr.ReadFrame(buf)
		switch {
		case errors.Is(err, framestream.ErrDataFrameTooLarge):
			atomic.AddUint64(&st.TooLarge, 1)
			continue
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("dnstap: frame %d: %w", n+1, err)
		}
		if err := d.frame(buf[:l]); err != nil {
			return err
		}
	}
}

// Listen accepts Frame Streams connections on address until ctx is done,
// then closes the listener and every connection and returns nil. address is
// "unix:PATH" or "tcp:HOST:PORT". A stale socket file at PATH is replaced.
// Each connection is read in its own goroutine; h must be safe for
// concurrent use. ready, if not nil, is called with the listening address
// once connections are accepted.
func Listen(ctx context.Context, address string, o Options, st *Stats, h Handler, ready func(net.Addr)) error {
	o.fill()
	network, addr, ok := strings.Cut(address, ":")
	if !ok || addr == "" || (network != "unix" && network != "tcp") {
		return fmt.Errorf("%w %q: want unix:PATH or tcp:HOST:PORT", ErrAddress, address)
	}
	if network == "unix" {
		if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(addr)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, network, addr)
	if err != nil {
		return fmt.Errorf("dnstap: listen %s: %w", address, err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(true)
	}
	log := o.Logger.With("component", "dnstap", "listen", address)
	log.Info("listening")
	if ready != nil {
		ready(ln.Addr())
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		first error
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			mu.Lock()
			if first == nil && !errors.Is(err, net.ErrClosed) {
				first = fmt.Errorf("dnstap: accept: %w", err)
			}
			mu.Unlock()
			break
		}
		atomic.AddUint64(&st.Connections, 1)
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			clog := log.With("peer", c.RemoteAddr().String())
			fr, err := framestream.NewReader(c, &framestream.ReaderOptions{
				ContentTypes:  [][]byte{dt.FSContentType},
				Bidirectional: true,
				Timeout:       o.HandshakeTimeout,
			})
			if err != nil {
				clog.Warn("handshake failed", "err", err)
				return
			}
			clog.Info("connected")
			if err := readFrames(ctx, fr, o, st, h); err != nil && ctx.Err() == nil {
				clog.Warn("connection ended", "err", err)
				if !isNetErr(err) {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					stop()
					ln.Close()
				}
				return
			}
			clog.Info("disconnected")
		}()
	}
	ln.Close()
	mu.Lock()
	for c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return first
}

// isNetErr reports errors of the connection itself (reset, closed), which
// end one connection but not the listener.
func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
