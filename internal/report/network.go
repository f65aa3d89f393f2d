package report

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// Networks: the reports group hosts by network and origin AS, as
// DNSDumpster does. The facts come from recon.Result.Addresses (filled by
// address intelligence); an address that no database covered falls back
// to its DefaultNetwork (/24, /48) with no AS. The domain map draws the
// same groups.

// addrFacts is what the reports know about one address, its strings
// already made safe to show.
type addrFacts struct {
	// Prefix is the network the database gave, masked; invalid when none
	// did (or what it gave does not contain the address).
	Prefix  netip.Prefix
	ASN     uint32
	ASName  string
	Country string
	Sources []string
}

// detail is the map's second line for a network: "AS64500 NAME, CC".
func (f addrFacts) detail() string {
	var s string
	if f.ASN != 0 {
		s = "AS" + strconv.FormatUint(uint64(f.ASN), 10)
		if f.ASName != "" {
			s += " " + f.ASName
		}
	}
	if f.Country != "" {
		if s != "" {
			s += ", "
		}
		s += f.Country
	}
	return s
}

// addrIntel indexes Result.Addresses by address.
type addrIntel struct {
	facts map[netip.Addr]addrFacts
	// skipped counts entries whose address did not parse; badPrefix those
	// whose prefix did not parse or did not contain the address.
	skipped, badPrefix int
}

func newAddrIntel(infos []recon.AddressInfo) *addrIntel {
	ai := &addrIntel{facts: make(map[netip.Addr]addrFacts, len(infos))}
	for _, in := range infos {
		a, err := netip.ParseAddr(strings.TrimSpace(in.Address))
		if err != nil {
			ai.skipped++
			continue
		}
		a = a.Unmap().WithZone("")
		if _, dup := ai.facts[a]; dup {
			continue
		}
		f := addrFacts{ASN: in.ASN, ASName: clean(in.ASName), Country: clean(in.Country), Sources: cleanAll(in.IntelSources)}
		if in.Prefix != "" {
			p, err := netip.ParsePrefix(strings.TrimSpace(in.Prefix))
			if err == nil && p.Addr().Is4In6() && a.Is4() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			if err == nil && p.Contains(a) {
				f.Prefix = p.Masked()
			} else {
				ai.badPrefix++
			}
		}
		ai.facts[a] = f
	}
	return ai
}

// lookup returns the facts of a, and whether any database covered it.
func (ai *addrIntel) lookup(a netip.Addr) (addrFacts, bool) {
	f, ok := ai.facts[a.Unmap().WithZone("")]
	return f, ok && (f.Prefix.IsValid() || f.ASN != 0 || f.Country != "")
}

// group is the network a belongs under: the database's prefix with its AS
// and country, or DefaultNetwork with nothing else.
func (ai *addrIntel) group(a netip.Addr) netGroup {
	if f, ok := ai.facts[a.Unmap().WithZone("")]; ok && f.Prefix.IsValid() {
		return netGroup{Prefix: f.Prefix, ASN: f.ASN, ASName: f.ASName, Country: f.Country}
	}
	p, _ := DefaultNetwork(a)
	return netGroup{Prefix: p.Masked(), Fallback: true}
}

// network is the Options.Network hook built from the index.
func (ai *addrIntel) network(a netip.Addr) (netip.Prefix, string) {
	g := ai.group(a)
	return g.Prefix, g.detail()
}

// NetworkFromAddresses returns the Options.Network hook that a report uses
// by default for a result whose Addresses are infos: the prefix address
// intelligence recorded for an address, with "AS64500 NAME, CC" as the
// detail line, or DefaultNetwork and no detail when no database covered
// the address. Strings are returned as given (not escaped).
func NetworkFromAddresses(infos []recon.AddressInfo) func(netip.Addr) (netip.Prefix, string) {
	return newAddrIntel(infos).network
}

// netGroup is the identity of one row of the Networks section: a prefix
// and the AS facts of its addresses.
type netGroup struct {
	Prefix  netip.Prefix
	ASN     uint32
	ASName  string
	Country string
	// Fallback is set when no database gave a prefix: Prefix is then the
	// DefaultNetwork of the address.
	Fallback bool
}

func (g netGroup) detail() string {
	return addrFacts{ASN: g.ASN, ASName: g.ASName, Country: g.Country}.detail()
}

// key identifies the group on the map (data-net) and in the view.
func (g netGroup) key() string {
	if d := g.detail(); d != "" {
		return g.Prefix.String() + " " + d
	}
	return g.Prefix.String()
}

// addrView is one address of a name with what is known about it.
type addrView struct {
	Addr string
	// AS is "AS64500" when a database knows the origin AS, else "".
	AS string
	// Note says the network and AS in full, for tooltips.
	Note string
}

// Text is the address as the names tables show it: "192.0.2.10 (AS64500)".
func (a addrView) Text() string {
	if a.AS == "" {
		return a.Addr
	}
	return a.Addr + " (" + a.AS + ")"
}

func (ai *addrIntel) addrView(s string) addrView {
	av := addrView{Addr: clean(s)}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return av
	}
	g := ai.group(a)
	f, known := ai.lookup(a)
	if known && f.ASN != 0 {
		av.AS = "AS" + strconv.FormatUint(uint64(f.ASN), 10)
	}
	av.Note = g.Prefix.String()
	if g.Fallback {
		av.Note += " (no address data)"
	}
	if d := f.detail(); known && d != "" {
		av.Note += ", " + d
	}
	return av
}

// networkView is one row of the Networks section.
type networkView struct {
	Prefix   string
	AS       string // "AS64500", or "" when unknown
	ASName   string
	Country  string
	Fallback bool
	// Sources are the address databases that answered for its addresses.
	Sources []string
	Names   []string
	Addrs   []string
}

// networkListLimit is how many names and addresses of a network the md
// and html formats show before folding or counting the rest.
const networkListLimit = 8

// NamesShown and AddrsShown are the first networkListLimit names and
// addresses; NamesMore and AddrsMore the rest.

func (n networkView) NamesShown() []string { return n.Names[:min(len(n.Names), networkListLimit)] }
func (n networkView) NamesMore() []string  { return n.Names[min(len(n.Names), networkListLimit):] }
func (n networkView) AddrsShown() []string { return n.Addrs[:min(len(n.Addrs), networkListLimit)] }
func (n networkView) AddrsMore() []string  { return n.Addrs[min(len(n.Addrs), networkListLimit):] }

// listText joins the first limit items and says how many more there are.
func listText(items []string, sep string, limit int) string {
	if len(items) <= limit {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:limit], sep) + sep + "+" + strconv.Itoa(len(items)-limit) + " more"
}

// eachHostAddr calls fn for every host name of a result with its
// addresses: names, nameservers (and the addresses they were asked at),
// A/AAAA wildcards; then for the addresses of Result.Addresses with the
// name "" (an address no host holds then still has its network).
func eachHostAddr(r *scan.Report, fn func(name string, addrs []string)) {
	for _, n := range r.Names {
		fn(n.Name, n.Addresses)
	}
	for _, ns := range r.Nameservers {
		fn(ns.Name, ns.Addresses)
		for _, s := range ns.Servers {
			fn(ns.Name, []string{s.Address})
		}
	}
	for _, w := range r.Wildcards {
		if t := strings.ToUpper(w.Type); t == "A" || t == "AAAA" {
			fn(w.Name, w.Data)
		}
	}
	for _, a := range r.Addresses {
		fn("", []string{a.Address})
	}
}

// buildNetworks groups every address of r by network and AS, largest
// group (most names, then most addresses) first. It returns the number of
// address strings that did not parse.
func buildNetworks(r *scan.Report, ai *addrIntel) ([]networkView, int) {
	type acc struct {
		g       netGroup
		names   map[string]bool
		addrs   map[netip.Addr]bool
		sources map[string]bool
	}
	groups := map[netGroup]*acc{}
	byAddr := map[netip.Addr]*acc{} // most addresses recur: group each once
	skipped := 0
	eachHostAddr(r, func(name string, addrs []string) {
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		for _, s := range addrs {
			a, err := netip.ParseAddr(strings.TrimSpace(s))
			if err != nil {
				skipped++
				continue
			}
			a = a.Unmap().WithZone("")
			x := byAddr[a]
			if x == nil {
				g := ai.group(a)
				k := g
				k.Fallback = false // a database prefix equal to the fallback is the same row
				x = groups[k]
				if x == nil {
					x = &acc{g: g, names: map[string]bool{}, addrs: map[netip.Addr]bool{}, sources: map[string]bool{}}
					groups[k] = x
				}
				x.g.Fallback = x.g.Fallback && g.Fallback
				x.addrs[a] = true
				if f, ok := ai.lookup(a); ok {
					for _, src := range f.Sources {
						x.sources[src] = true
					}
				}
				byAddr[a] = x
			}
			if name != "" {
				x.names[name] = true
			}
		}
	})
	out := make([]networkView, 0, len(groups))
	for _, x := range groups {
		nv := networkView{Prefix: x.g.Prefix.String(), ASName: x.g.ASName, Country: x.g.Country, Fallback: x.g.Fallback}
		if x.g.ASN != 0 {
			nv.AS = "AS" + strconv.FormatUint(uint64(x.g.ASN), 10)
		}
		for n := range x.names {
			nv.Names = append(nv.Names, clean(n))
		}
		slices.Sort(nv.Names)
		as := make([]netip.Addr, 0, len(x.addrs))
		for a := range x.addrs {
			as = append(as, a)
		}
		slices.SortFunc(as, netip.Addr.Compare)
		nv.Addrs = addrStrings(as)
		for s := range x.sources {
			nv.Sources = append(nv.Sources, s)
		}
		slices.Sort(nv.Sources)
		out = append(out, nv)
	}
	slices.SortFunc(out, func(a, b networkView) int {
		if c := cmp.Compare(len(b.Names), len(a.Names)); c != 0 {
			return c
		}
		if c := cmp.Compare(len(b.Addrs), len(a.Addrs)); c != 0 {
			return c
		}
		pa, _ := netip.ParsePrefix(a.Prefix)
		pb, _ := netip.ParsePrefix(b.Prefix)
		if c := pa.Addr().Compare(pb.Addr()); c != 0 {
			return c
		}
		if c := cmp.Compare(pa.Bits(), pb.Bits()); c != 0 {
			return c
		}
		return cmp.Compare(a.AS+" "+a.ASName+" "+a.Country, b.AS+" "+b.ASName+" "+b.Country)
	})
	return out, skipped
}

// ASText is the AS cell of a network row: "AS64500 NAME".
func (n networkView) ASText() string {
	if n.AS == "" {
		return n.ASName
	}
	if n.ASName == "" {
		return n.AS
	}
	return n.AS + " " + n.ASName
}

// DataText says where the grouping came from.
func (n networkView) DataText() string {
	if n.Fallback {
		if strings.Contains(n.Prefix, ":") {
			return "no address data (grouped by /48)"
		}
		return "no address data (grouped by /24)"
	}
	return strings.Join(n.Sources, ", ")
}

// summarise lists, without repeats and in order of the addresses, the
// networks, AS numbers, AS names and countries of addrs (for spreadsheet
// columns). Unparsable addresses are left out.
func (ai *addrIntel) summarise(addrs []string) (nets, asns, asNames, countries []string) {
	add := func(list []string, s string) []string {
		if s == "" || slices.Contains(list, s) {
			return list
		}
		return append(list, s)
	}
	for _, s := range addrs {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		nets = add(nets, ai.group(a).Prefix.String())
		f, ok := ai.lookup(a)
		if !ok {
			continue
		}
		if f.ASN != 0 {
			asns = add(asns, "AS"+strconv.FormatUint(uint64(f.ASN), 10))
		}
		asNames = add(asNames, f.ASName)
		countries = add(countries, f.Country)
	}
	return nets, asns, asNames, countries
}
