//go:build linux

package live_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/bpf"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/ingest"
	"github.com/dnsscout/dnsscout/internal/ingest/live"
	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
	"github.com/dnsscout/dnsscout/internal/pdns"
)

func v4udp(sport, dport uint16, fragOff uint16) []byte {
	b := make([]byte, 28)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], 28)
	binary.BigEndian.PutUint16(b[6:], fragOff)
	b[9] = 17
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	return b
}

func v6(nh byte, sport uint16) []byte {
	b := make([]byte, 48)
	b[0] = 0x60
	b[6] = nh
	binary.BigEndian.PutUint16(b[40:], sport)
	return b
}

// TestFilter runs the kernel filter in x/net/bpf's VM (the loopback
// variant uses a Linux extension the VM lacks and is covered by the capture
// test).
func TestFilter(t *testing.T) {
	vmOf := func(anyPort bool) *bpf.VM {
		prog, err := live.Filter([]uint16{53, 5353}, anyPort, false)
		if err != nil {
			t.Fatal(err)
		}
		insns, ok := bpf.Disassemble(prog)
		if !ok {
			t.Fatal("filter does not disassemble")
		}
		vm, err := bpf.NewVM(insns)
		if err != nil {
			t.Fatal(err)
		}
		return vm
	}
	vm, vmAny := vmOf(false), vmOf(true)
	proto := func(b []byte, p byte) []byte { b[9] = p; return b }
	tests := []struct {
		name   string
		pkt    []byte
		accept bool
		any    bool // accepted with anyPort
	}{
		{"v4 UDP from 53", v4udp(53, 40000, 0), true, true},
		{"v4 UDP from 5353", v4udp(5353, 5353, 0), true, true},
		{"v4 UDP to 53 (query)", v4udp(40000, 53, 0), false, true},
		{"v4 UDP NTP", v4udp(123, 123, 0), false, true},
		{"v4 later fragment", v4udp(1, 2, 185), true, true},
		{"v4 first fragment from 53", v4udp(53, 2, 0x2000), true, true},
		{"v4 ICMP", proto(v4udp(53, 1, 0), 1), false, false},
		{"v4 TCP from 53", proto(v4udp(53, 1, 0), 6), true, true},
		{"v4 TCP from 8053", proto(v4udp(8053, 1, 0), 6), false, false},
		{"v6 UDP from 53", v6(17, 53), true, true},
		{"v6 UDP from 80", v6(17, 80), false, true},
		{"v6 fragment header", v6(44, 0), true, true},
		{"v6 hop-by-hop", v6(0, 0), true, true},
		{"v6 ICMPv6", v6(58, 53), false, false},
		{"ARP-ish garbage", []byte{0x00, 0x01, 0x08, 0x00}, false, false},
		{"v4 VXLAN", v4udp(50000, 4789, 0), true, true},
		{"v4 VXLAN-GPE", v4udp(50000, 4790, 0), true, true},
		{"v4 GENEVE", v4udp(50000, 6081, 0), true, true},
		{"v4 GTP-U", v4udp(2152, 2152, 0), true, true},
		{"v4 from Teredo", v4udp(3544, 50000, 0), true, true},
		{"v4 GRE", proto(v4udp(0, 0, 0), 47), true, true},
		{"v4 UDP 8053 to 8053", v4udp(8053, 40000, 0), false, true},
		{"v6 UDP to GENEVE", func() []byte { b := v6(17, 50000); binary.BigEndian.PutUint16(b[42:], 6081); return b }(), true, true},
		{"v6 GRE", v6(47, 0), true, true},
		{"v6 UDP 8053", v6(17, 8053), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []struct {
				vm   *bpf.VM
				want bool
			}{{vm, tc.accept}, {vmAny, tc.any}} {
				n, err := c.vm.Run(tc.pkt)
				if err != nil {
					t.Fatal(err)
				}
				if (n > 0) != c.want {
					t.Errorf("filter (any port %v) returned %d, want accept=%v", c.vm == vmAny, n, c.want)
				}
			}
		})
	}
	if _, err := live.Filter(make([]uint16, 300), false, false); err == nil {
		t.Error("300 ports: no error for jumps out of range")
	}
}

// livePort is the DNS port of the capture tests: the loopback interface
// carries the DNS tests of every package running at the same time, on port
// 53, which a capture from port 53 would take in.
const livePort = 10053

// server answers A queries for NAME.example.com with 192.0.2.N on
// livePort.
func server(t *testing.T, addr netip.Addr) {
	dnstest.StartServer(t, netip.AddrPortFrom(addr, livePort), dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 192.0.2.7")
		m.Answer = append(m.Answer, rr)
		w.WriteMsg(m)
	}))
}

func needCapture(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("DNSSCOUT_REAL_SERVERS") == "require" {
			t.Fatal("internal/ingest/live: live capture needs root (CAP_NET_RAW)")
		}
		t.Skip("live capture needs root (CAP_NET_RAW)")
	}
}

func query(t *testing.T, srv netip.Addr, name string, tcp bool) {
	t.Helper()
	c := &dns.Client{Timeout: 5 * time.Second}
	if tcp {
		c.Net = "tcp"
	}
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	if _, _, err := c.Exchange(q, netip.AddrPortFrom(srv, livePort).String()); err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
}

// TestCaptureLoopback captures DNS responses on lo (from livePort only),
// UDP and TCP: each response exactly once, although loopback shows every
// packet twice to a packet socket.
func TestCaptureLoopback(t *testing.T) {
	needCapture(t)
	srv := dnstest.AllocAddr(t)
	server(t, srv)
	var mu sync.Mutex
	ids := map[string]int{}
	d := pcap.NewDecoder(pcap.Options{Ports: []uint16{livePort}}, func(pm *pcap.Message) error {
		var m dns.Msg
		if m.Unpack(pm.Data) == nil && len(m.Question) == 1 && len(m.Answer) == 1 {
			mu.Lock()
			ids[m.Question[0].Name]++
			mu.Unlock()
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := live.Capture(ctx, live.Options{Interface: "lo", Ports: []uint16{livePort}}, d, func() { close(ready) })
		done <- err
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Capture: %v", err)
	}
	const n = 20
	for i := range n {
		query(t, srv, fmt.Sprintf("u%d.example.com.", i), false)
	}
	query(t, srv, "t0.example.com.", true)
	query(t, srv, "t1.example.com.", true)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		got := len(ids)
		mu.Unlock()
		if got >= n+2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Capture = %v after cancel", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != n+2 {
		t.Fatalf("saw %d of %d responses: %v", len(ids), n+2, ids)
	}
	for name, c := range ids {
		if c != 1 {
			t.Errorf("%s seen %d times", name, c)
		}
	}
}

// TestLiveIngestStopsClean runs an ingester on lo and cancels it, as SIGINT
// does: everything captured must be in the sink afterwards.
func TestLiveIngestStopsClean(t *testing.T) {
	needCapture(t)
	srv := dnstest.AllocAddr(t)
	server(t, srv)
	sink := &countSink{}
	in, err := ingest.New(sink, ingest.Options{SensorID: "live", Ports: []uint16{livePort}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, nil, "live:lo") }()
	// Wait for the capture to run: it counts packets as soon as it does.
	// The probes are one-byte datagrams from livePort, not DNS responses.
	probe, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(dnstest.AllocAddr(t), livePort)))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	deadline := time.Now().Add(30 * time.Second)
	for in.Stats().Packets == 0 {
		probe.WriteToUDPAddrPort([]byte{0}, netip.AddrPortFrom(srv, 9))
		if time.Now().After(deadline) {
			t.Fatal("capture never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 10 {
		query(t, srv, fmt.Sprintf("n%d.example.com.", i), i%2 == 0)
	}
	for in.Stats().Used < 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		name := fmt.Sprintf("n%d.example.com", i)
		if sink.count(name) != 1 {
			t.Errorf("%s: count %d, want 1 (sink %v, stats %+v)", name, sink.count(name), sink.n, in.Stats())
		}
	}
}

type countSink struct {
	mu sync.Mutex
	n  map[string]uint64
}

func (s *countSink) Upsert(_ context.Context, ts []pdns.Tuple) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]uint64{}
	}
	for _, t := range ts {
		s.n[t.RRName] += t.Count
	}
	return nil
}

func (s *countSink) count(name string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[name]
}
