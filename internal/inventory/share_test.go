package inventory

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// slowZones answers from in-memory zones after a delay and records, per
// domain, the most queries it had in flight at once.
type slowZones struct {
	h     *dnstest.ZoneHandler
	delay time.Duration

	mu       sync.Mutex
	inFlight map[string]int
	most     map[string]int
}

func (s *slowZones) domainOf(name string) string {
	labels := strings.Split(strings.TrimSuffix(strings.ToLower(name), "."), ".")
	if len(labels) < 2 {
		return "."
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

func (s *slowZones) answer(q resolver.Query) (*resolver.Response, error) {
	d := s.domainOf(q.Name)
	s.mu.Lock()
	s.inFlight[d]++
	s.most[d] = max(s.most[d], s.inFlight[d])
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight[d]--
		s.mu.Unlock()
	}()
	time.Sleep(s.delay)
	req := new(dns.Msg)
	req.SetQuestion(dns.Fqdn(q.Name), q.Type)
	if q.Class != 0 {
		req.Question[0].Qclass = q.Class
	}
	return &resolver.Response{Msg: s.h.Answer(req), Server: netip.MustParseAddrPort("127.53.199.1:53")}, nil
}

func (s *slowZones) Exchange(_ context.Context, q resolver.Query) (*resolver.Response, error) {
	return s.answer(q)
}

func (s *slowZones) Direct(_ context.Context, _ netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	return s.answer(q)
}

func (s *slowZones) Transfer(context.Context, netip.AddrPort, string, uint16, uint32) <-chan resolver.Envelope {
	ch := make(chan resolver.Envelope, 1)
	ch <- resolver.Envelope{Err: resolver.ErrTransferRefused}
	close(ch)
	return ch
}

// TestFairShare: with a budget of 12 queries in flight over 4 domains at
// once, no domain ever has more than its share of 3, however many names
// it brute-forces.
func TestFairShare(t *testing.T) {
	var zones []*dnstest.Zone
	var domains []string
	for i := range 6 {
		origin := fmt.Sprintf("d%d.test.", i)
		z, err := dnstest.ParseZone(origin, fmt.Sprintf("@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.%d\nwww IN A 192.0.2.%d\n", i+1, i+1))
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, z)
		domains = append(domains, strings.TrimSuffix(origin, "."))
	}
	eng := &slowZones{h: dnstest.NewZoneHandler(zones...), delay: time.Millisecond, inFlight: map[string]int{}, most: map[string]int{}}
	words := make([]string, 200)
	for i := range words {
		words[i] = fmt.Sprintf("w%d", i)
	}
	opts := Options{
		Scan:            scan.Options{Recon: recon.Options{Wordlist: words, NoPTR: true, NoWalk: true}},
		ParallelDomains: 4,
		Concurrency:     12,
		NoShared:        true,
	}
	sum, err := Run(context.Background(), eng, domains, opts)
	if err != nil || sum.Examined() != len(domains) {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	for _, d := range domains {
		if m := eng.most[d]; m > 3 || m < 2 {
			t.Errorf("%s had up to %d queries in flight, want its share of 3", d, m)
		}
	}
}
