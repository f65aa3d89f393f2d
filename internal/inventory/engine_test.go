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

// countingEngine answers every question after a short wait, with rcode,
// and counts them; fail makes the first n fail.
type countingEngine struct {
	direct, exchange atomic.Int64
	fail             atomic.Int64
	rcode            int
}

func (e *countingEngine) Exchange(_ context.Context, q resolver.Query) (*resolver.Response, error) {
	e.exchange.Add(1)
	return e.answer(netip.AddrPort{}, q)
}

func (e *countingEngine) Direct(_ context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	e.direct.Add(1)
	return e.answer(server, q)
}

func (e *countingEngine) answer(server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	time.Sleep(5 * time.Millisecond)
	if e.fail.Add(-1) >= 0 {
		return nil, errors.New("timeout")
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(q.Name), q.Type)
	m.Response = true
	m.Rcode = e.rcode
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
	t.Run("outside the domain", func(t *testing.T) {
		tests := []struct {
			name   string
			q      resolver.Query
			direct bool
			rcode  int
			calls  int64 // questions that reach the engine for 20 askers
		}{
			{"parent asked once", resolver.Query{Name: "example.com", Type: dns.TypeNS}, false, dns.RcodeSuccess, 1},
			{"parent asked once, any case", resolver.Query{Name: "Example.COM.", Type: dns.TypeDS}, false, dns.RcodeSuccess, 1},
			{"parent server asked once", resolver.Query{Name: "example.com", Type: dns.TypeSOA}, true, dns.RcodeSuccess, 1},
			{"nameserver host asked once", resolver.Query{Name: "ns1.example.net", Type: dns.TypeA}, false, dns.RcodeNameError, 1},
			{"SERVFAIL is not kept", resolver.Query{Name: "example.com", Type: dns.TypeNS}, false, dns.RcodeServerFailure, 20},
			{"the domain passes through", resolver.Query{Name: "shop.example.com", Type: dns.TypeA}, false, dns.RcodeSuccess, 20},
			{"its names pass through", resolver.Query{Name: "www.shop.example.com", Type: dns.TypeA}, true, dns.RcodeSuccess, 20},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				eng := &countingEngine{rcode: tc.rcode}
				sh := newShared(eng, 10)
				var wg sync.WaitGroup
				for range 20 {
					wg.Go(func() {
						v := sh.forDomain("shop.example.com")
						var resp *resolver.Response
						var err error
						if tc.direct {
							resp, err = v.Direct(context.Background(), ns, tc.q)
						} else {
							resp, err = v.Exchange(context.Background(), tc.q)
						}
						if err != nil || resp.Msg.Rcode != tc.rcode {
							t.Errorf("%v, %v", resp, err)
							return
						}
						resp.Msg.Id = 1 // each asker owns its copy
					})
				}
				wg.Wait()
				if got := eng.direct.Load() + eng.exchange.Load(); got != tc.calls {
					t.Errorf("engine asked %d times, want %d", got, tc.calls)
				}
				if _, outside := sh.Hits(); outside != 20-tc.calls {
					t.Errorf("%d hits, want %d", outside, 20-tc.calls)
				}
			})
		}
	})
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
