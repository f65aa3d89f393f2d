package recon

import (
	"sort"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnsname"
)

// result sorts what the ledger holds into the Result, in its stable JSON
// order, stamped with the time the run finished and its query counts.
func (l *ledger) result(finished time.Time, st Stats) *Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := l.res
	res.Finished = finished
	l.sortNames()
	sort.SliceStable(res.Records, func(i, j int) bool {
		a, b := res.Records[i], res.Records[j]
		if a.Name != b.Name {
			return nameLess(a.Name, b.Name)
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Data < b.Data
	})
	res.References = res.References[:0]
	for ref := range l.refs {
		res.References = append(res.References, ref)
	}
	sort.Slice(res.References, func(i, j int) bool {
		a, b := res.References[i], res.References[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.Via < b.Via
	})
	res.Zones = res.Zones[:0]
	for _, z := range l.zones {
		res.Zones = append(res.Zones, *z)
	}
	sort.Slice(res.Zones, func(i, j int) bool { return nameLess(res.Zones[i].Name, res.Zones[j].Name) })
	for _, z := range res.Zones {
		if z.Name == l.apex || (res.NSEC3.Hashes == 0 && z.NSEC3 != nil && dnsname.IsSubdomain(l.apex, z.Name)) {
			if z.NSEC3 != nil {
				res.NSEC3 = *z.NSEC3
			}
		}
	}
	l.sortServers()
	st.DurationMS = res.Finished.Sub(res.Started).Milliseconds()
	res.Stats = st
	// Empty lists are [] in JSON, never null.
	if res.Records == nil {
		res.Records = []Record{}
	}
	if res.Wildcards == nil {
		res.Wildcards = []Wildcard{}
	}
	if res.Nameservers == nil {
		res.Nameservers = []Nameserver{}
	}
	if res.Addresses == nil {
		res.Addresses = []AddressInfo{}
	}
	return res
}

// sortNames turns the names known into the result's, with the addresses
// at the end of their CNAME chains. Callers hold mu.
func (l *ledger) sortNames() {
	res := l.res
	res.Names = make([]Name, 0, len(l.names))
	direct, cnames := l.addressIndex()
	for name, st := range l.names {
		n := Name{Name: name, Sources: st.sources, Chain: st.chain}
		if st.seen != nil {
			n.PassiveSources, n.FirstSeen, n.LastSeen = st.seen.sources, st.seen.first, st.seen.last
		}
		// Addresses at the end of the CNAME chains the records kept
		// describe.
		for cur, hops := cnames[name], 0; cur != "" && hops < maxChain; cur, hops = cnames[cur], hops+1 {
			for _, a := range direct[cur] {
				st.addAddr(a)
			}
		}
		n.Addresses = st.addrs
		if n.Addresses == nil {
			n.Addresses = []string{}
		}
		sortAddrStrings(n.Addresses)
		sort.Strings(n.Sources)
		res.Names = append(res.Names, n)
	}
	sort.Slice(res.Names, func(i, j int) bool { return nameLess(res.Names[i].Name, res.Names[j].Name) })
}

// sortServers orders the nameservers and wildcards. Callers hold mu.
func (l *ledger) sortServers() {
	res := l.res
	for i := range res.Nameservers {
		ns := &res.Nameservers[i]
		sort.Strings(ns.Sources)
		sortAddrStrings(ns.Addresses)
		sort.Slice(ns.Servers, func(a, b int) bool { return addrLess(ns.Servers[a].Address, ns.Servers[b].Address) })
	}
	sort.Slice(res.Nameservers, func(i, j int) bool {
		a, b := res.Nameservers[i], res.Nameservers[j]
		if a.Zone != b.Zone {
			return nameLess(a.Zone, b.Zone)
		}
		return a.Name < b.Name
	})
	sort.Slice(res.Wildcards, func(i, j int) bool {
		a, b := res.Wildcards[i], res.Wildcards[j]
		if a.Name != b.Name {
			return nameLess(a.Name, b.Name)
		}
		return a.Type < b.Type
	})
}

// addressIndex gives every known name the addresses of its own A and AAAA
// records kept (transfers and walks bring records whose owners were not
// known yet when they arrived), and returns each alias's CNAME target and
// the addresses of the names CNAMEs point at, from the records kept.
// Callers hold mu. It allocates per alias, not per record: a transferred
// zone holds millions of addresses.
func (l *ledger) addressIndex() (targets map[string][]string, cnames map[string]string) {
	cnames = map[string]string{}
	for _, rec := range l.res.Records {
		if rec.Type == "CNAME" {
			cnames[rec.Name] = dnsname.FromWire(rec.Data)
		}
	}
	targets = make(map[string][]string, len(cnames))
	for _, t := range cnames {
		targets[t] = nil
	}
	for _, rec := range l.res.Records {
		if rec.Type != "A" && rec.Type != "AAAA" {
			continue
		}
		if st := l.names[rec.Name]; st != nil {
			st.addAddr(rec.Data)
		}
		if list, ok := targets[rec.Name]; ok {
			targets[rec.Name] = append(list, rec.Data)
		}
	}
	return targets, cnames
}
