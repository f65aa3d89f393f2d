package inventory

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// askedEngine is an engine that counts the questions reaching it, by
// question (direct ones by server too).
type askedEngine struct {
	scan.Engine
	mu    sync.Mutex
	asked map[string]int
}

func (a *askedEngine) note(server netip.AddrPort, q resolver.Query) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked[fmt.Sprintf("%s %d %d %v %s", dnsname.FromWire(q.Name), q.Type, q.Class, q.RD, server)]++
}

func (a *askedEngine) Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	a.note(netip.AddrPort{}, q)
	return a.Engine.Exchange(ctx, q)
}

func (a *askedEngine) Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	a.note(server, q)
	return a.Engine.Direct(ctx, server, q)
}

// about sums the questions asked about name (any type, any server) and
// returns the most times one of them was asked.
func (a *askedEngine) about(name string) (total, most int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, n := range a.asked {
		if strings.HasPrefix(k, name+" ") {
			total += n
			most = max(most, n)
		}
	}
	return total, most
}

// startSharedParent is a world on real servers where n customers
// cNN.brand.test are delegated from one parent, brand.test, all on the
// hoster's two NSD servers behind Unbound.
func startSharedParent(t *testing.T, n int) netip.AddrPort {
	t.Helper()
	dnstest.RequireRoot(t)
	rootAddr, ns1, ns2 := dnstest.AllocAddr(t), dnstest.AllocAddr(t), dnstest.AllocAddr(t)
	tld := fmt.Sprintf("@ SOA ns1.dnstest-root. hostmaster.test. 1 3600 600 86400 300\n@ NS ns1.dnstest-root.\n"+
		"hoster NS ns1.hoster\nhoster NS ns2.hoster\nns1.hoster A %s\nns2.hoster A %s\nbrand NS ns1.hoster\nbrand NS ns2.hoster\n", ns1, ns2)
	var parent strings.Builder
	parent.WriteString("@ SOA ns1.hoster.test. hostmaster 1 3600 600 86400 300\n@ NS ns1.hoster.test.\n@ NS ns2.hoster.test.\n@ A 192.0.2.1\nwww A 192.0.2.1\n")
	hosted := []dnstest.ZoneConfig{{Name: "hoster.test", Text: fmt.Sprintf(
		"@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\n@ NS ns2\nns1 A %s\nns2 A %s\n", ns1, ns2)}}
	for i := range n {
		fmt.Fprintf(&parent, "c%02d NS ns1.hoster.test.\nc%02d NS ns2.hoster.test.\n", i, i)
		zone := customerZone(i)
		if i == 0 {
			zone += "shop A 192.0.2.7\nwww.shop A 192.0.2.7\n"
		}
		hosted = append(hosted, dnstest.ZoneConfig{Name: fmt.Sprintf("c%02d.brand.test", i), Text: zone})
	}
	hosted = append(hosted, dnstest.ZoneConfig{Name: "brand.test", Text: parent.String()})
	root := fmt.Sprintf("@ SOA ns1.dnstest-root. hostmaster.test. 1 3600 600 86400 300\n@ NS ns1.dnstest-root.\nns1.dnstest-root. A %s\ntest. NS ns1.dnstest-root.\n", rootAddr)
	dnstest.StartNSD(t, dnstest.NSDConfig{Addr: rootAddr, Zones: []dnstest.ZoneConfig{{Name: ".", Text: root}, {Name: "test", Text: tld}}})
	dnstest.StartNSD(t, dnstest.NSDConfig{Addr: ns1, Zones: hosted, Identity: "ns1.hoster.test"})
	dnstest.StartNSD(t, dnstest.NSDConfig{Addr: ns2, Zones: hosted, Identity: "ns2.hoster.test"})
	return dnstest.StartUnbound(t, dnstest.UnboundConfig{RootHints: []netip.Addr{rootAddr}}).Addr
}

// TestSharedParent: an inventory of domains under one parent, one of
// them under another listed domain, asks each question about the shared
// parent (its NS, SOA, DS, its servers' addresses) once, where the same
// run without the cache asks them for every domain; every domain's
// result still equals a single-domain run's.
func TestSharedParent(t *testing.T) {
	const n = 12
	addr := startSharedParent(t, n)
	var domains []string
	for i := range n {
		domains = append(domains, fmt.Sprintf("c%02d.brand.test", i))
	}
	domains = append(domains, "shop.c00.brand.test") // under another listed domain
	opts := portfolioOptions()
	opts.Scan.Recon.NoAXFR = true

	for _, tc := range []struct {
		name     string
		noShared bool
	}{{"shared", false}, {"not shared", true}} {
		t.Run(tc.name, func(t *testing.T) {
			eng := &askedEngine{Engine: newEngine(t, addr), asked: map[string]int{}}
			dir, err := OpenDir(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			o := opts
			o.NoShared = tc.noShared
			sum, err := Run(context.Background(), eng, domains, o, dir)
			if err != nil || sum.Examined() != len(domains) {
				t.Fatalf("summary %+v, %v", sum, err)
			}
			for _, name := range []string{"brand.test", "ns1.hoster.test", "ns2.hoster.test"} {
				total, most := eng.about(name)
				t.Logf("%s: %d questions, one asked at most %d times", name, total, most)
				switch {
				case total == 0:
					t.Errorf("%s: never asked", name)
				case !tc.noShared && most > 1:
					t.Errorf("%s: a question asked %d times (%d in all), want once per run", name, most, total)
				case tc.noShared && name == "brand.test" && total < n:
					t.Errorf("%s: %d questions without the cache, want at least one per domain (%d)", name, total, n)
				}
			}
			if !tc.noShared && sum.OutsideHits < n {
				t.Errorf("%d questions outside the domains answered from the cache, want at least %d", sum.OutsideHits, n)
			}
			if tc.noShared && sum.OutsideHits+sum.SharedHits != 0 {
				t.Errorf("cache off, but %d+%d hits", sum.SharedHits, sum.OutsideHits)
			}
			single := newEngine(t, addr)
			for _, d := range []string{"c00.brand.test", "c05.brand.test", "shop.c00.brand.test"} {
				got, err := os.ReadFile(filepath.Join(dir.Path(), FileName(d)))
				if err != nil {
					t.Fatal(err)
				}
				want := singleDoc(t, single, d, o)
				if diff := docDiff(comparable(t, got), comparable(t, want)); diff != "" {
					t.Fatalf("%s: inventory result differs from the single-domain run:\n%s", d, diff)
				}
			}
		})
	}
}
