package recon

import (
	"context"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/ipintel"
	"github.com/dnsscout/dnsscout/internal/passive"
)

// collectPassive asks every passive source for the names under the target
// and queues them as candidates (source passive). In passive-only mode it
// keeps what the sources say as it is: names and records, unverified.
func (r *run) collectPassive(ctx context.Context) {
	if len(r.opts.Passive) == 0 {
		return
	}
	r.stage("passive")
	agg := &passive.Aggregate{}
	var mu sync.Mutex
	statuses, err := passive.Collect(ctx, r.opts.Passive, r.apex, func(o passive.Observation) error {
		mu.Lock()
		agg.Add(o)
		mu.Unlock()
		return nil
	})
	if err != nil && ctx.Err() == nil {
		r.log.Warn("passive sources incomplete", "err", err)
	}
	infos := agg.Names()
	r.mu.Lock()
	r.passive = map[string]passive.NameInfo{}
	for _, st := range statuses {
		r.res.PassiveSources = append(r.res.PassiveSources, PassiveStatus{
			Source: st.Source, Observations: st.Observations, Names: st.Names, Error: st.Error, DurationMS: st.DurationMS,
		})
	}
	for _, n := range infos {
		r.passive[n.Name] = n
	}
	r.mu.Unlock()

	for _, n := range infos {
		if strings.HasPrefix(n.Name, "*") || !r.inScope(n.Name) {
			continue
		}
		if r.opts.PassiveOnly {
			r.addName(n.Name, SourcePassive)
			for _, rec := range n.Records {
				r.addPassiveRecord(n.Name, rec)
			}
			continue
		}
		r.candidate(n.Name, SourcePassive)
	}
}

// addPassiveRecord keeps a record passive data holds (passive-only mode,
// where nothing is verified).
func (r *run) addPassiveRecord(owner string, rec passive.Record) {
	x, err := dns.NewRR(dns.Fqdn(owner) + " 0 IN " + rec.Type + " " + rec.Data)
	if err != nil || x == nil {
		r.log.Debug("passive record skipped", "name", owner, "type", rec.Type, "err", err)
		return
	}
	r.addRecord(x, SourcePassive)
}

// historic compares what passive data knows with what DNS says now: names
// that no longer resolve, and names whose former CNAME target no longer
// exists (out-of-scope targets included: they are the dangerous ones).
func (r *run) historic(ctx context.Context) {
	r.mu.Lock()
	if len(r.passive) == 0 || r.opts.PassiveOnly {
		r.mu.Unlock()
		return
	}
	infos := make([]passive.NameInfo, 0, len(r.passive))
	for _, n := range r.passive {
		if r.inScope(n.Name) && !strings.HasPrefix(n.Name, "*") {
			infos = append(infos, n)
		}
	}
	r.mu.Unlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })

	// Ask every name and former CNAME target whose state is not known yet.
	var ask []string
	for _, n := range infos {
		ask = append(ask, n.Name)
		for _, rec := range n.Records {
			if rec.Type == "CNAME" {
				ask = append(ask, dnsname.FromWire(strings.TrimSpace(rec.Data)))
			}
		}
	}
	slices.Sort(ask)
	ask = slices.Compact(ask)
	parallel(ctx, len(ask), r.opts.Concurrency, func(i int) {
		if _, known := r.liveness(ask[i]); known {
			return
		}
		m, err := r.query(ctx, ask[i], dns.TypeA)
		if err != nil {
			return
		}
		r.noteLiveness(ctx, ask[i], m)
	})
	stale := passive.FindStale(infos, func(name string) passive.Liveness {
		l, _ := r.liveness(name)
		return l
	})

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range stale {
		h := HistoricName{Name: s.Name, Kind: s.Kind, Target: s.Target, LastSeen: s.LastSeen, Sources: s.Sources}
		for _, rec := range s.Records {
			h.Records = append(h.Records, rec.Type+" "+rec.Data)
		}
		r.res.Historic = append(r.res.Historic, h)
	}
	// Live names passive data knew carry when it saw them.
	for name, st := range r.names {
		if p, ok := r.passive[name]; ok {
			st.seen = &passiveSeen{sources: p.Sources}
			if !p.FirstSeen.IsZero() {
				st.seen.first = p.FirstSeen.UTC()
				st.seen.last = p.LastSeen.UTC()
			}
		}
	}
}

// noteLiveness records what a query for name A said about name's
// existence today. A name only a wildcard answers counts as gone.
func (r *run) noteLiveness(ctx context.Context, name string, m *dns.Msg) {
	var l passive.Liveness
	v := judge(name, dns.TypeA, m)
	switch {
	case !v.known:
		return
	case !v.exists:
		l = passive.LiveNXDomain
	case r.inScope(name) && r.wildcardEcho(ctx, name, dns.TypeA, m):
		l = passive.LiveNXDomain
	case v.nodata:
		l = passive.LiveNoData
	default:
		// An alias exists even when its target does not (NXDOMAIN with
		// the CNAME in the answer).
		l = passive.LiveExists
	}
	r.mu.Lock()
	if r.live == nil {
		r.live = map[string]passive.Liveness{}
	}
	r.live[name] = l
	r.mu.Unlock()
}

func (r *run) liveness(name string) (passive.Liveness, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.live[name]
	return l, ok
}

// annotate lists every address of the result, with network, AS and
// country when an annotator is configured.
func (r *run) annotate(ctx context.Context) {
	r.stage("addresses")
	r.mu.Lock()
	set := map[netip.Addr]bool{}
	for _, st := range r.names {
		for _, a := range st.addrs {
			if ip, err := netip.ParseAddr(a); err == nil {
				set[ip] = true
			}
		}
	}
	for _, rec := range r.res.Records {
		if rec.Type == "A" || rec.Type == "AAAA" {
			if ip, err := netip.ParseAddr(rec.Data); err == nil {
				set[ip] = true
			}
		}
	}
	for _, ns := range r.res.Nameservers {
		for _, a := range ns.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				set[ip] = true
			}
		}
	}
	r.mu.Unlock()
	addrs := make([]netip.Addr, 0, len(set))
	for a := range set {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	out := make([]AddressInfo, len(addrs))
	parallel(ctx, len(addrs), 16, func(i int) {
		out[i] = AddressInfo{Address: addrs[i].String()}
		if r.opts.Annotator == nil {
			return
		}
		info, err := r.opts.Annotator.Lookup(ctx, addrs[i])
		if err != nil {
			r.log.Debug("address intelligence failed", "address", addrs[i], "err", err)
			return
		}
		out[i].fill(info)
	})
	r.mu.Lock()
	r.res.Addresses = out
	r.mu.Unlock()
}

// fill copies what ipintel knows about the address.
func (a *AddressInfo) fill(info ipintel.Info) {
	if info.Prefix.IsValid() {
		a.Prefix = info.Prefix.String()
	}
	a.ASN = info.ASN
	a.ASName = info.ASName
	a.Country = info.Country
	a.IntelSources = info.Sources
}
