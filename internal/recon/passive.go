package recon

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/ipintel"
	"github.com/dnsscout/dnsscout/internal/passive"
)

// passiveSources asks the passive sources (Options.Passive) for the names
// under the target before any zone is enumerated, and after the last
// round compares what they know with what DNS says now (historic names).
// It keeps what the sources said, by name.
type passiveSources struct {
	known map[string]passive.NameInfo
}

func (t *passiveSources) name() string { return "passive" }

// start queues the names the sources know as candidates (source passive).
// In passive-only mode it keeps what the sources say as it is: names and
// records, unverified.
func (t *passiveSources) start(ctx context.Context, s *scope) {
	if len(s.opts.Passive) == 0 {
		return
	}
	s.stage("passive")
	agg := &passive.Aggregate{}
	var mu sync.Mutex
	statuses, err := passive.Collect(ctx, s.opts.Passive, s.apex, func(o passive.Observation) error {
		mu.Lock()
		agg.Add(o)
		mu.Unlock()
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("passive sources incomplete", "err", err)
	}
	infos := agg.Names()
	t.known = map[string]passive.NameInfo{}
	sts := make([]PassiveStatus, 0, len(statuses))
	for _, st := range statuses {
		sts = append(sts, PassiveStatus{
			Source: st.Source, Observations: st.Observations, Names: st.Names, Error: st.Error, DurationMS: st.DurationMS,
		})
	}
	s.ledger.addPassiveStatuses(sts)
	for _, n := range infos {
		t.known[n.Name] = n
	}

	for _, n := range infos {
		if strings.HasPrefix(n.Name, "*") || !s.inScope(n.Name) {
			continue
		}
		if s.opts.PassiveOnly {
			s.ledger.addName(n.Name, SourcePassive)
			for _, rec := range n.Records {
				addPassiveRecord(s, n.Name, rec)
			}
			continue
		}
		s.ledger.candidate(n.Name, SourcePassive)
	}
}

// addPassiveRecord keeps a record passive data holds (passive-only mode,
// where nothing is verified).
func addPassiveRecord(s *scope, owner string, rec passive.Record) {
	x, err := dns.NewRR(dns.Fqdn(owner) + " 0 IN " + rec.Type + " " + rec.Data)
	if err != nil || x == nil {
		s.log.Debug("passive record skipped", "name", owner, "type", rec.Type, "err", err)
		return
	}
	s.ledger.addRecord(x, SourcePassive)
}

// finish compares what passive data knows with what DNS says now: names
// that no longer resolve, and names whose former CNAME target no longer
// exists (out-of-scope targets included: they are the dangerous ones).
func (t *passiveSources) finish(ctx context.Context, s *scope) {
	if len(t.known) == 0 || s.opts.PassiveOnly {
		return
	}
	infos := make([]passive.NameInfo, 0, len(t.known))
	for _, n := range t.known {
		if s.inScope(n.Name) && !strings.HasPrefix(n.Name, "*") {
			infos = append(infos, n)
		}
	}
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
	parallel(ctx, len(ask), s.opts.Concurrency, func(i int) {
		if _, known := s.ledger.liveness(ask[i]); known {
			return
		}
		m, err := s.query(ctx, ask[i], dns.TypeA)
		if err != nil {
			return
		}
		s.noteLiveness(ctx, ask[i], m)
	})
	stale := passive.FindStale(infos, func(name string) passive.Liveness {
		l, _ := s.ledger.liveness(name)
		return l
	})

	hs := make([]HistoricName, 0, len(stale))
	for _, st := range stale {
		h := HistoricName{Name: st.Name, Kind: st.Kind, Target: st.Target, LastSeen: st.LastSeen, Sources: st.Sources}
		for _, rec := range st.Records {
			h.Records = append(h.Records, rec.Type+" "+rec.Data)
		}
		hs = append(hs, h)
	}
	// Live names passive data knew carry when it saw them.
	s.ledger.addHistoric(hs, t.known)
}

// noteLiveness records what a query for name A said about name's
// existence today. A name only a wildcard answers counts as gone.
func (s *scope) noteLiveness(ctx context.Context, name string, m *dns.Msg) {
	var l passive.Liveness
	v := judge(name, dns.TypeA, m)
	switch {
	case !v.known:
		return
	case !v.exists:
		l = passive.LiveNXDomain
	case s.inScope(name) && s.wildcardEcho(ctx, name, dns.TypeA, m):
		l = passive.LiveNXDomain
	case v.nodata:
		l = passive.LiveNoData
	default:
		// An alias exists even when its target does not (NXDOMAIN with
		// the CNAME in the answer).
		l = passive.LiveExists
	}
	s.ledger.setLiveness(name, l)
}

// annotate lists every address of the result, with network, AS and
// country when an annotator is configured.
func annotate(ctx context.Context, s *scope) {
	s.stage("addresses")
	addrs := s.ledger.addresses()
	out := make([]AddressInfo, len(addrs))
	parallel(ctx, len(addrs), 16, func(i int) {
		out[i] = AddressInfo{Address: addrs[i].String()}
		if s.opts.Annotator == nil {
			return
		}
		info, err := s.opts.Annotator.Lookup(ctx, addrs[i])
		if err != nil {
			s.log.Debug("address intelligence failed", "address", addrs[i], "err", err)
			return
		}
		out[i].fill(info)
	})
	s.ledger.setAddresses(out)
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
