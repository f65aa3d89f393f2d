package dnstest

import (
	"github.com/dnsscout/dnsscout/internal/dnsworld"

	"context"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// addMessageSeeds adds the hex-encoded wire messages of
// testdata/messages/<prefix>*.hex to the corpus.
func addMessageSeeds(f *testing.F, prefix string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "messages", prefix+"*.hex"))
	if len(files) == 0 {
		f.Fatalf("no seeds for %s", prefix)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		f.Add(raw)
	}
}

// captureWriter is a dns.ResponseWriter that keeps what is written.
type captureWriter struct {
	tcp  bool
	msgs []*dns.Msg
}

func (w *captureWriter) LocalAddr() net.Addr {
	if w.tcp {
		return &net.TCPAddr{IP: net.IPv4(127, 53, 0, 1), Port: 53}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 53, 0, 1), Port: 53}
}

func (w *captureWriter) RemoteAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
}

func (w *captureWriter) WriteMsg(m *dns.Msg) error {
	if _, err := m.Pack(); err != nil {
		return err
	}
	w.msgs = append(w.msgs, m)
	return nil
}

func (w *captureWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *captureWriter) Close() error                { return nil }
func (w *captureWriter) TsigStatus() error           { return nil }
func (w *captureWriter) TsigTimersOnly(bool)         {}
func (w *captureWriter) Hijack()                     {}

// FuzzZoneHandler sends arbitrary wire messages to the zone server (plain
// and NSEC3-signed, over UDP and TCP): every response must pack and fit.
func FuzzZoneHandler(f *testing.F) {
	addMessageSeeds(f, "query-")
	base, err := ParseZone("example.com", readTestZone(f, "example.com.zone"))
	if err != nil {
		f.Fatal(err)
	}
	base.AllowTransfer = true
	signed, err := base.Sign(SignOptions{NSEC3: true, OptOut: true})
	if err != nil {
		f.Fatal(err)
	}
	signed.AllowTransfer = true
	handlers := []*ZoneHandler{NewZoneHandler(base), NewZoneHandler(signed)}
	for _, h := range handlers {
		h.Version, h.NSID = "fuzz", "fuzz"
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(raw); err != nil {
			return
		}
		for _, h := range handlers {
			for _, tcp := range []bool{false, true} {
				w := &captureWriter{tcp: tcp}
				h.ServeDNS(w, req)
				for _, m := range w.msgs {
					b, err := m.Pack()
					if err != nil {
						t.Fatalf("response does not pack: %v", err)
					}
					if !tcp && len(b) > dnsworld.UDPSize(req, dnsworld.DefaultMaxUDPSize) {
						t.Fatalf("UDP response of %d bytes for a %d-byte limit", len(b), dnsworld.UDPSize(req, dnsworld.DefaultMaxUDPSize))
					}
				}
				if req.Response && len(w.msgs) > 0 {
					t.Fatalf("answered a response")
				}
			}
		}
	})
}

// FuzzRecursorResponse makes a server answer every query with one
// arbitrary message (ID and question fixed up, or not) and lets the
// recursor resolve through it: it must end with an answer or an error,
// within its budget, without panicking.
func FuzzRecursorResponse(f *testing.F) {
	addMessageSeeds(f, "response-")
	var mu sync.Mutex
	var current *dns.Msg
	var fixQuestion bool
	srv, stop, err := fuzzServer(func(w dns.ResponseWriter, r *dns.Msg) {
		mu.Lock()
		m := current.Copy()
		fix := fixQuestion
		mu.Unlock()
		m.Id = r.Id
		if fix {
			m.Question = r.Question
		}
		_ = w.WriteMsg(m)
	})
	if err != nil {
		f.Fatal(err)
	}
	defer stop()
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := new(dns.Msg)
		if err := m.Unpack(raw); err != nil || len(m.Question) > 1 {
			return
		}
		if _, err := m.Pack(); err != nil {
			return
		}
		mu.Lock()
		current, fixQuestion = m, len(raw)%4 != 0
		mu.Unlock()
		rec := NewRecursor([]netip.AddrPort{srv}, srv.Port())
		rec.Timeout = 100 * time.Millisecond
		rec.MaxQueries = 40
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, qt := range []uint16{dns.TypeA, dns.TypeDS} {
			res, err := rec.Resolve(ctx, "www.example.com", qt)
			if err == nil {
				if _, err := res.Pack(); err != nil {
					t.Fatalf("result does not pack: %v", err)
				}
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("resolution did not end within 10s")
		}
		if n := rec.Upstream(); n > 2*40+4 {
			t.Fatalf("%d upstream queries for a budget of 40 per question", n)
		}
	})
}

// fuzzServer starts an in-process server outside any test (fuzz workers
// share it across inputs).
func fuzzServer(h dns.HandlerFunc) (netip.AddrPort, func(), error) {
	stop, addr, err := serveOn(netip.MustParseAddrPort("127.0.0.1:0"), h)
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	return addr, func() { _ = stop() }, nil
}
