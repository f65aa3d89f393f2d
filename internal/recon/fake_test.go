package recon

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

// zoneExchanger answers every query, recursive or direct, from an
// in-memory authoritative handler: for a single zone that is exactly what
// a resolver in front of it would return. Tests use it for corner cases
// that need no network. hook, when set, may rewrite or replace answers.
type zoneExchanger struct {
	h     dns.Handler
	ans   func(*dns.Msg) *dns.Msg
	zones []*dnstest.Zone
	hook  func(q resolver.Query, m *dns.Msg) *dns.Msg

	mu      sync.Mutex
	queries []resolver.Query
}

func newZoneExchanger(t *testing.T, zones ...*dnstest.Zone) *zoneExchanger {
	t.Helper()
	h := dnstest.NewZoneHandler(zones...)
	return &zoneExchanger{h: h, ans: h.Answer, zones: zones}
}

func (x *zoneExchanger) answer(q resolver.Query) *resolver.Response {
	x.mu.Lock()
	x.queries = append(x.queries, q)
	x.mu.Unlock()
	req := new(dns.Msg)
	req.SetQuestion(dns.Fqdn(q.Name), q.Type)
	if q.Class != 0 {
		req.Question[0].Qclass = q.Class
	}
	req.SetEdns0(1232, q.DO)
	m := x.ans(req)
	if x.hook != nil {
		m = x.hook(q, m)
	}
	// A resolver sets RA and clears AA.
	return &resolver.Response{Msg: m, Server: netip.MustParseAddrPort("127.53.199.1:53")}
}

func (x *zoneExchanger) Exchange(_ context.Context, q resolver.Query) (*resolver.Response, error) {
	return x.answer(q), nil
}

func (x *zoneExchanger) Direct(_ context.Context, _ netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	return x.answer(q), nil
}

func (x *zoneExchanger) Transfer(_ context.Context, _ netip.AddrPort, zone string, _ uint16, _ uint32) <-chan resolver.Envelope {
	ch := make(chan resolver.Envelope, 1)
	defer close(ch)
	for _, z := range x.zones {
		if z.Origin == dns.Fqdn(zone) && z.AllowTransfer {
			recs := z.Records()
			ch <- resolver.Envelope{RR: append(recs, recs[0])}
			return ch
		}
	}
	ch <- resolver.Envelope{Err: resolver.ErrTransferRefused}
	return ch
}

func (x *zoneExchanger) asked(name string, qtype uint16) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, q := range x.queries {
		if dns.CanonicalName(q.Name) == dns.CanonicalName(name) && q.Type == qtype {
			n++
		}
	}
	return n
}

func mustZone(t *testing.T, origin, text string) *dnstest.Zone {
	t.Helper()
	z, err := dnstest.ParseZone(origin, text)
	if err != nil {
		t.Fatalf("ParseZone(%s): %v", origin, err)
	}
	return z
}

func mustSign(t *testing.T, z *dnstest.Zone, opts dnstest.SignOptions) *dnstest.Zone {
	t.Helper()
	s, err := z.Sign(opts)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return s
}

// names returns the set of names in a result.
func names(r *Result) map[string][]string {
	out := map[string][]string{}
	for _, n := range r.Names {
		out[n.Name] = n.Sources
	}
	return out
}

// runFake runs recon over x with the given options and fails the test on
// error.
func runFake(t *testing.T, x Exchanger, domain string, opts Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), x, domain, opts)
	if err != nil {
		t.Fatalf("Run(%s): %v", domain, err)
	}
	return res
}
