package inventory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// Expansion limits.
const (
	// DefaultExpandMax bounds the domains --expand related adds.
	DefaultExpandMax = 100
	// maxHosts bounds the nameserver and mail exchanger names a run keeps
	// for expansion.
	maxHosts = 10_000
)

// Related finds, in passive DNS, the owners of records of type rrtype (NS
// or MX) whose data is host: the domains delegated to a nameserver, or
// whose mail a server takes — a reverse NS/MX lookup. The CLI implements it
// over the store.
type Related interface {
	Related(ctx context.Context, rrtype uint16, host string, limit int) ([]string, error)
}

// Host prefixes in journal entries and hostSet keys.
const (
	hostNS = "ns:"
	hostMX = "mx:"
)

// hostsOf lists the nameservers and apex mail exchangers of a report, as
// "ns:NAME" and "mx:NAME".
func hostsOf(rep *scan.Report) []string {
	var out []string
	for _, ns := range rep.Nameservers {
		if ns.Zone == rep.Domain && ns.Name != "" {
			out = append(out, hostNS+ns.Name)
		}
	}
	for _, r := range rep.Records {
		if r.Type != "MX" || r.Name != rep.Domain {
			continue
		}
		if f := strings.Fields(r.Data); len(f) == 2 && f[1] != "." {
			out = append(out, hostMX+dnsname.FromWire(f[1]))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// hostSet is the bounded set of hosts a run found.
type hostSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func newHostSet() *hostSet { return &hostSet{m: map[string]bool{}} }

func (h *hostSet) addAll(hosts []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, x := range hosts {
		if len(h.m) >= maxHosts {
			return
		}
		h.m[x] = true
	}
}

func (h *hostSet) sorted() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.m))
	for x := range h.m {
		out = append(out, x)
	}
	slices.Sort(out)
	return out
}

// related asks opts.Related about every host the inventory found, in
// name order, and returns up to ExpandMax domains it does not list. The
// answer depends only on the hosts and the store, so a resumed run finds
// the same domains.
func (r *runner) related(ctx context.Context, listed []string) ([]string, error) {
	seen := make(map[string]bool, len(listed))
	for _, d := range listed {
		seen[d] = true
	}
	var out []string
	for _, h := range r.hosts.sorted() {
		rrtype, host := uint16(dns.TypeNS), strings.TrimPrefix(h, hostNS)
		if strings.HasPrefix(h, hostMX) {
			rrtype, host = dns.TypeMX, strings.TrimPrefix(h, hostMX)
		}
		// Listed domains come back too: ask for enough to get past them.
		names, err := r.opts.Related.Related(ctx, rrtype, host, r.opts.ExpandMax+len(listed))
		if err != nil {
			return out, fmt.Errorf("inventory: expand: %s %s: %w", dns.TypeToString[rrtype], host, err)
		}
		for _, n := range names {
			d, err := dnsname.Normalize(n)
			if err != nil || seen[d] || strings.Contains(d, "*") {
				continue
			}
			seen[d] = true
			out = append(out, d)
			if len(out) >= r.opts.ExpandMax {
				return out, nil
			}
		}
	}
	return out, nil
}
