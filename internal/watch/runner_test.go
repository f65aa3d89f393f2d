package watch

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/inventory"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// TestInventoryRunner: a period's domains go through one inventory run
// and each is emitted once, as a scan, a failure or an outage; an engine
// whose resolvers fail their probe makes every domain an outage; a
// cancelled period emits every domain with ctx's error.
func TestInventoryRunner(t *testing.T) {
	w := dnstest.NewWorld(t, dnstest.WorldSpec{DefaultImpl: dnstest.InProcess, Resolver: dnstest.ResolverInProcess,
		Zones: []dnstest.WorldZone{
			{Name: "example.com", Records: "www IN A 192.0.2.10\nmail IN A 192.0.2.25\n"},
			{Name: "example.net", Records: "api IN A 198.51.100.7\n"},
		}})
	dead := netip.AddrPortFrom(dnstest.AllocAddr(t), 53) // nothing listens there
	domains := []string{"example.com", "example.net", "nowhere.test"}
	opts := inventory.Options{Scan: scan.Options{Recon: recon.Options{Wordlist: []string{"www", "api", "mail"}, NoPTR: true}},
		ParallelDomains: 2, Concurrency: 20}
	runner := func(server netip.AddrPort, opened *int) *Inventory {
		return &Inventory{Options: opts, Engine: func() (scan.Engine, func(), error) {
			*opened++
			eng, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{server}, Timeout: 300 * time.Millisecond, Retries: 1})
			if err != nil {
				return nil, nil, err
			}
			return eng, func() { eng.Close() }, nil
		}}
	}
	collect := func(ctx context.Context, r Runner) map[string][]Result {
		var mu sync.Mutex
		got := map[string][]Result{}
		r.Run(ctx, domains, func(res Result) {
			mu.Lock()
			got[res.Domain] = append(got[res.Domain], res)
			mu.Unlock()
		})
		return got
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		server netip.AddrPort
		check  func(t *testing.T, d string, r Result)
	}{
		{"scans", context.Background(), w.Resolver, func(t *testing.T, d string, r Result) {
			switch d {
			case "example.com", "example.net":
				if r.Err != nil || r.Outage || !r.Complete {
					t.Errorf("err %v, outage %v, complete %v", r.Err, r.Outage, r.Complete)
				}
				want := map[string]string{"example.com": "www.example.com", "example.net": "api.example.net"}[d]
				if !slices.ContainsFunc(r.Snapshot.Names, func(n string) bool { return n == want || n == want+"." }) {
					t.Errorf("names %v, want %s among them", r.Snapshot.Names, want)
				}
				if r.Started.IsZero() || r.Finished.Before(r.Started) {
					t.Errorf("times %v .. %v", r.Started, r.Finished)
				}
			case "nowhere.test":
				if r.Complete && r.Err == nil && !r.Snapshot.Empty() {
					t.Errorf("a domain that does not exist gave a scan: %+v", r.Snapshot)
				}
			}
		}},
		{"resolvers down: outage", context.Background(), dead, func(t *testing.T, d string, r Result) {
			if !r.Outage || !IsOutage(r.Err) {
				t.Errorf("outage %v, err %v; want an outage", r.Outage, r.Err)
			}
		}},
		{"cancelled", cancelled, w.Resolver, func(t *testing.T, d string, r Result) {
			if r.Err == nil || r.Complete {
				t.Errorf("err %v, complete %v; want ctx's error", r.Err, r.Complete)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opened := 0
			got := collect(tc.ctx, runner(tc.server, &opened))
			if opened != 1 {
				t.Errorf("%d engines opened for one period, want 1", opened)
			}
			for _, d := range domains {
				if len(got[d]) != 1 {
					t.Fatalf("%s emitted %d times, want once", d, len(got[d]))
				}
				t.Run(d, func(t *testing.T) { tc.check(t, d, got[d][0]) })
			}
		})
	}
}
