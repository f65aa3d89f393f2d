package inventory

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/resolver"
)

// countingEngine answers every direct question after a short wait and
// counts them; fail makes the first n fail.
type countingEngine struct {
	direct atomic.Int64
	fail   atomic.Int64
}

func (e *countingEngine) Exchange(context.Context, resolver.Query) (*resolver.Response, error) {
	return nil, errors.New("not used")
}

func (e *countingEngine) Direct(_ context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	e.direct.Add(1)
	time.Sleep(5 * time.Millisecond)
	if e.fail.Add(-1) >= 0 {
		return nil, errors.New("timeout")
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(q.Name), q.Type)
	m.Response = true
	return &resolver.Response{Msg: m, Server: server}, nil
}

func (e *countingEngine) Transfer(context.Context, netip.AddrPort, string, uint16, uint32) <-chan resolver.Envelope {
	return nil
}

func TestSharedEngine(t *testing.T) {
	ns := netip.MustParseAddrPort("192.0.2.53:53")
	chaos := resolver.Query{Name: "version.bind", Type: dns.TypeTXT, Class: dns.ClassCHAOS}
	recursion := resolver.Query{Name: ".", Type: dns.TypeNS, RD: true}
	zone := resolver.Query{Name: "example.com", Type: dns.TypeSOA}
	tests := []struct {
		name  string
		q     resolver.Query
		fail  int64
		calls int64 // questions that reach the engine for 20 askers
	}{
		{"identity asked once", chaos, 0, 1},
		{"recursion asked once", recursion, 0, 1},
		{"zone questions pass through", zone, 0, 20},
		{"errors are not kept", chaos, 1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := &countingEngine{}
			eng.fail.Store(tc.fail)
			sh := newShared(eng, 10)
			var wg sync.WaitGroup
			var errs atomic.Int64
			for range 20 {
				wg.Go(func() {
					resp, err := sh.Direct(context.Background(), ns, tc.q)
					if err != nil {
						errs.Add(1)
						return
					}
					resp.Msg.Id = 1 // each asker owns its copy
				})
			}
			wg.Wait()
			if got := eng.direct.Load(); got != tc.calls {
				t.Errorf("engine asked %d times, want %d", got, tc.calls)
			}
			if errs.Load() > tc.fail {
				t.Errorf("%d askers got an error, want at most %d", errs.Load(), tc.fail)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		eng := &countingEngine{}
		sh := newShared(eng, 2)
		for i := range 5 {
			ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 53)
			sh.Direct(context.Background(), ap, chaos)
			sh.Direct(context.Background(), ap, chaos)
		}
		if len(sh.calls) != 2 || eng.direct.Load() != 2+2*3 {
			t.Fatalf("kept %d answers, asked %d times", len(sh.calls), eng.direct.Load())
		}
	})
}
