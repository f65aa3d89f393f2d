package dnstap

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	dt "github.com/dnstap/golang-dnstap"
	framestream "github.com/farsightsec/golang-framestream"
	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"
)

type seen struct {
	mu    sync.Mutex
	msgs  []*dns.Msg
	zones []string
	ts    []int64
}

func (s *seen) handler(t testing.TB) Handler {
	return func(ts int64, msg, zone []byte) error {
		m := new(dns.Msg)
		if err := m.Unpack(msg); err != nil {
			t.Errorf("handler got an undecodable message: %v", err)
		}
		z := ""
		if len(zone) > 0 {
			z, _, _ = dns.UnpackDomainName(zone, 0)
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.zones = append(s.zones, z)
		s.ts = append(s.ts, ts)
		s.mu.Unlock()
		return nil
	}
}

func TestReadFiles(t *testing.T) {
	tests := []struct {
		file    string
		types   []string
		want    int
		qname   string
		skipped uint64
	}{
		{"dsc__test.dnstap", []string{"tool-response"}, 1, "google.com.", 1},
		{"dsc__test.dnstap", nil, 0, "", 2},
		{"go-dnscollector__dnstap.fstrm", []string{"client-response"}, 1, "www.google.com.", 1},
		{"go-dnscollector__dnstap.fstrm", []string{"client-response", "resolver-response"}, 1, "www.google.com.", 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			head := make([]byte, 12)
			if _, err := f.ReadAt(head, 0); err != nil || !IsFrameStream(head) {
				t.Fatalf("IsFrameStream(%x) = false (%v)", head, err)
			}
			var o Options
			for _, n := range tc.types {
				typ, err := ParseType(n)
				if err != nil {
					t.Fatal(err)
				}
				o.Types = append(o.Types, typ)
			}
			var st Stats
			var s seen
			if err := Read(context.Background(), f, o, &st, s.handler(t)); err != nil {
				t.Fatal(err)
			}
			if len(s.msgs) != tc.want {
				t.Fatalf("%d messages, want %d (stats %+v)", len(s.msgs), tc.want, st.Snapshot())
			}
			if tc.want > 0 && s.msgs[0].Question[0].Name != tc.qname {
				t.Errorf("question %q, want %q", s.msgs[0].Question[0].Name, tc.qname)
			}
			if got := st.Snapshot(); got.Skipped != tc.skipped || got.Frames != 2 {
				t.Errorf("stats %+v, want 2 frames, %d skipped", got, tc.skipped)
			}
		})
	}
}

func TestReadNotDnstap(t *testing.T) {
	var st Stats
	err := Read(context.Background(), bytes.NewReader([]byte("not frame streams at all")), Options{}, &st, func(int64, []byte, []byte) error { return nil })
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("Read = %v, want ErrFormat", err)
	}
	if IsFrameStream([]byte("short")) {
		t.Error("IsFrameStream on 5 bytes")
	}
}

// TestFrameQueryZone decodes BIND's own test message: a resolver response
// from a server BIND queried for the zone org.
func TestFrameQueryZone(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "bind9__correct_response_nanosec.dnstap"))
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	var s seen
	d := &decoder{types: []Type{dt.Message_RESOLVER_RESPONSE}, h: s.handler(t), st: &st}
	if err := d.frame(b); err != nil {
		t.Fatal(err)
	}
	if len(s.msgs) != 1 || s.zones[0] != "org." || s.msgs[0].Question[0].Name != "isc.org." {
		t.Fatalf("got %d messages, zone %v; stats %+v", len(s.msgs), s.zones, st.Snapshot())
	}
	if s.ts[0] == 0 {
		t.Error("no time")
	}
	// A garbage frame is counted, not fatal.
	if err := d.frame([]byte{0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	if st.Snapshot().Malformed != 1 {
		t.Errorf("malformed %d, want 1", st.Snapshot().Malformed)
	}
}

func TestParseType(t *testing.T) {
	if _, err := ParseType("resolver-query"); !errors.Is(err, ErrType) {
		t.Errorf("ParseType(resolver-query) = %v", err)
	}
	for _, n := range TypeNames() {
		if _, err := ParseType(n); err != nil {
			t.Errorf("ParseType(%q) = %v", n, err)
		}
	}
}

// frame makes a dnstap frame carrying a response for name.
func frame(t testing.TB, typ Type, name string, zone string) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.Response = true
	rr, _ := dns.NewRR(name + " 60 IN A 192.0.2.1")
	m.Answer = append(m.Answer, rr)
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	sec, nsec := uint64(1700000000), uint32(5)
	mt, mtype := dt.Dnstap_MESSAGE, typ
	msg := &dt.Message{Type: &mtype, ResponseMessage: wire, ResponseTimeSec: &sec, ResponseTimeNsec: &nsec}
	if zone != "" {
		zw := make([]byte, 256)
		n, _ := dns.PackDomainName(zone, zw, 0, nil, false)
		msg.QueryZone = zw[:n]
	}
	b, err := proto.Marshal(&dt.Dnstap{Type: &mt, Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestListen(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr := "unix:" + filepath.Join(t.TempDir(), "dnstap.sock")
			if network == "tcp" {
				addr = "tcp:127.53.220.1:0"
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var st Stats
			var s seen
			ready := make(chan net.Addr, 1)
			done := make(chan error, 1)
			go func() { done <- Listen(ctx, addr, Options{}, &st, s.handler(t), func(a net.Addr) { ready <- a }) }()
			var la net.Addr
			select {
			case la = <-ready:
			case err := <-done:
				t.Fatalf("Listen: %v", err)
			}
			// Two senders, as a resolver with two threads would be.
			var wg sync.WaitGroup
			for c := range 2 {
				wg.Go(func() {
					conn, err := net.Dial(la.Network(), la.String())
					if err != nil {
						t.Error(err)
						return
					}
					defer conn.Close()
					w, err := framestream.NewWriter(conn, &framestream.WriterOptions{
						ContentTypes: [][]byte{dt.FSContentType}, Bidirectional: true, Timeout: 5 * time.Second})
					if err != nil {
						t.Error(err)
						return
					}
					for i := range 50 {
						typ := dt.Message_RESOLVER_RESPONSE
						if i%10 == 0 {
							typ = dt.Message_CLIENT_RESPONSE // not selected
						}
						if _, err := w.WriteFrame(frame(t, typ, "www.example.com.", "example.com.")); err != nil {
							t.Error(err)
							return
						}
					}
					if err := w.Close(); err != nil { // STOP, waits for FINISH
						t.Errorf("sender %d close: %v", c, err)
					}
				})
			}
			wg.Wait()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Listen = %v", err)
			}
			got := st.Snapshot()
			if len(s.msgs) != 90 || got.Frames != 100 || got.Skipped != 10 || got.Connections != 2 {
				t.Fatalf("%d messages, stats %+v", len(s.msgs), got)
			}
			if s.zones[0] != "example.com." || s.ts[0] != 1700000000e9+5 {
				t.Errorf("zone %q ts %d", s.zones[0], s.ts[0])
			}
		})
	}
}

func TestListenBadAddress(t *testing.T) {
	for _, a := range []string{"udp:127.53.220.1:53", "unix:", "nothing"} {
		var st Stats
		if err := Listen(context.Background(), a, Options{}, &st, nil, nil); !errors.Is(err, ErrAddress) {
			t.Errorf("Listen(%q) = %v, want ErrAddress", a, err)
		}
	}
}

// FuzzFrame decodes arbitrary Dnstap protobuf frames: nothing may panic, and
// a message passed on must be the frame's response message.
//
//	go test ./internal/ingest/dnstap -run '^$' -fuzz FuzzFrame -fuzztime 20s
func FuzzFrame(f *testing.F) {
	for _, name := range []string{"bind9__correct_response_nanosec.dnstap", "bind9__correct_query_nanosec.dnstap"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, name := range []string{"dsc__test.dnstap", "go-dnscollector__dnstap.fstrm"} {
		fh, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		r, err := framestream.NewReader(fh, &framestream.ReaderOptions{ContentTypes: [][]byte{dt.FSContentType}})
		if err != nil {
			f.Fatal(err)
		}
		buf := make([]byte, 1<<16)
		for {
			n, err := r.ReadFrame(buf)
			if err != nil {
				break
			}
			f.Add(bytes.Clone(buf[:n]))
		}
		fh.Close()
	}
	f.Add(frame(f, dt.Message_RESOLVER_RESPONSE, "www.example.com.", "example.com."))
	all := []Type{dt.Message_AUTH_RESPONSE, dt.Message_RESOLVER_RESPONSE, dt.Message_CLIENT_RESPONSE,
		dt.Message_FORWARDER_RESPONSE, dt.Message_STUB_RESPONSE, dt.Message_TOOL_RESPONSE}
	f.Fuzz(func(t *testing.T, b []byte) {
		var st Stats
		d := &decoder{types: all, st: &st, h: func(_ int64, msg, _ []byte) error {
			if len(msg) == 0 || !bytes.Contains(b, msg) {
				t.Fatalf("message not taken from the frame")
			}
			return nil
		}}
		if err := d.frame(b); err != nil {
			t.Fatal(err)
		}
		s := st.Snapshot()
		if s.Frames != 1 || s.Messages+s.Skipped+s.Malformed != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}
