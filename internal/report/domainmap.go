package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// The domain map is a layered drawing, left to right: the domain; its
// bands (nameservers, mail servers, hosts); the hosts of each band; their
// addresses; the networks of those addresses. Inside a band, hosts whose
// addresses lie in the same networks form a group, drawn as one block with
// its own network nodes, so that edges never leave their block and text
// never meets text. A group longer than Options.MapGroupLimit shows its
// first hosts and a toggle; the inline script opens it and moves the blocks
// below. Every coordinate is computed here, in Go, with a monospace font of
// known advance, so that a test can prove the absence of overlaps.

// Geometry of the map, in CSS pixels.
const (
	mapFontSize  = 12.0
	mapCharW     = 7.3 // advance of a narrow monospace glyph at 12px (fonts use 0.6em = 7.2)
	mapLineH     = 22.0
	mapBoxH      = 18.0
	mapPadX      = 6.0
	mapMargin    = 16.0
	mapGroupGap  = 8.0
	mapBandGap   = 14.0
	mapHostGap   = 40.0 // host column to address column
	mapNetGap    = 64.0 // address column to network column
	mapBadgeW    = 22.0
	mapTagChars  = 4
	mapMaxAddrs  = 4 // addresses drawn per host before "+N more"
	mapTrunkOff  = 10.0
	mapBandInset = 24.0
	mapHostInset = 28.0
)

// Bands of the map, top to bottom.
const (
	bandNS   = "ns"
	bandMX   = "mx"
	bandHost = "host"
)

var bandTitles = map[string]string{bandNS: "Nameservers", bandMX: "Mail servers", bandHost: "Hosts"}

type mapLayout struct {
	ID             string
	Width, Height  float64 // all groups closed
	HeightExpanded float64 // all groups open
	Top            float64 // y of the first band
	Domain         mapNode
	Trunk          mapLine // from the domain down to the last band header
	Bands          []*mapBand
	Hosts          int // host entries drawn (open or closed)
	Skipped        int // addresses that could not be parsed
	GroupGap       float64
	BandGap        float64
	Margin         float64
	FontSize       float64
}

type mapBand struct {
	Kind  string
	Title string
	Y     float64 // absolute, all groups closed
	HeadH float64
	Head  mapNode // band-local
	Stub  mapLine // from the domain trunk, band-local
	Trunk mapLine // band-local, Y2 with all groups closed
	// Groups are band-local.
	Groups []*mapGroup
}

type mapGroup struct {
	ID      string
	Y       float64 // band-local, all groups closed
	H, HX   float64 // height closed and open
	LS, LSX float64 // y of the last stub, closed and open
	Rows    []*mapRow
	More    []*mapRow // drawn only when open
	Toggle  *mapNode
	TStub   mapLine
	Hidden  int
	Nets    []mapNode
}

type mapRow struct {
	Y     float64 // group-local top
	H     float64
	Host  mapNode
	Stub  mapLine
	Addrs []mapNode
	Edges []string // SVG path data
}

type mapNode struct {
	X, Y, W, H float64 // box
	Lines      []string
	Title      string
	Class      string
	Net        string // data-net, for highlighting one network everywhere
	Badge      *mapBadge
	Tag        string
	TagDX      float64 // tag position from X
}

// TX is the x of the node's text; TY the baseline of line i.
func (n mapNode) TX() float64         { return n.X + mapPadX }
func (n mapNode) TY(i int) float64    { return n.Y + 13 + float64(i)*mapLineH }
func (n mapNode) TagX() float64       { return n.X + n.TagDX }
func (n mapNode) BadgeX() float64     { return n.X + n.W - mapBadgeW/2 - 2 }
func (n mapNode) BadgeY() float64     { return n.Y + mapBoxH/2 }
func (n mapNode) BadgeTextY() float64 { return n.Y + mapBoxH/2 + 4 }

type mapBadge struct {
	R     float64
	Count string
	Class string
	Href  string
	Title string
}

type mapLine struct{ X1, Y1, X2, Y2 float64 }

// box is an axis-aligned rectangle in absolute map coordinates.
type box struct {
	X, Y, W, H float64
	Label      string
}

func (b box) overlaps(o box) bool {
	const eps = 0.01
	return b.X < o.X+o.W-eps && o.X < b.X+b.W-eps && b.Y < o.Y+o.H-eps && o.Y < b.Y+b.H-eps
}

// hostEntry is one node of the host column before layout.
type hostEntry struct {
	name     string // canonical
	label    string // what the node says
	kind     string // band
	wildcard bool
	addrs    []netip.Addr
	facts    []string
	change   string
	gone     bool
	findings []*findingView
}

type netInfo struct {
	prefix netip.Prefix
	detail string
}

// key identifies the network on the map: the prefix, and the detail line
// when there is one (so that one prefix seen with two origin ASes is two
// networks, as in the Networks section).
func (n netInfo) key() string {
	if n.detail == "" {
		return n.prefix.String()
	}
	return n.prefix.String() + " " + n.detail
}

// textWidth estimates the advance of s in the map font: East Asian wide
// and emoji runes take two cells, combining marks none.
func textWidth(s string) float64 {
	cells := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		case isWide(r):
			cells += 2
		default:
			cells++
		}
	}
	return float64(cells) * mapCharW
}

func isWide(r rune) bool {
	return r >= 0x1100 && r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 ||
		r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xfe4f || r >= 0xff00 && r <= 0xff60 ||
		r >= 0xffe0 && r <= 0xffe6 || r >= 0x1f300 && r <= 0x1faff || r >= 0x20000 && r <= 0x3fffd
}

// cutMiddle shortens s to max runes with an ellipsis in the middle, keeping
// the distinctive start and the domain at the end.
func cutMiddle(s string, limit int) (string, bool) {
	rs := []rune(s)
	if len(rs) <= limit {
		return s, false
	}
	head := (limit - 1) * 3 / 5
	tail := limit - 1 - head
	return string(rs[:head]) + "…" + string(rs[len(rs)-tail:]), true
}

// buildMap lays out the map of one result: the domain node, the host
// nodes measured so that the columns fit the widest, then the bands with
// their groups, then the overall size.
func buildMap(r *scan.Report, v *view, opts Options) *mapLayout {
	m := &mapLayout{ID: v.Anchor + "-map", GroupGap: mapGroupGap, BandGap: mapBandGap, Margin: mapMargin, FontSize: mapFontSize}
	domain := strings.ToLower(strings.TrimSuffix(r.Domain, "."))
	entries, skipped := collectHosts(r, domain, v)
	m.Skipped = skipped
	if skipped > 0 {
		opts.Logger.Debug("map: skipped unparsable addresses", "domain", domain, "count", skipped)
	}
	m.Domain = domainNode(v, opts, attachFindings(entries, domain, v))
	m.Top = m.Domain.Y + m.Domain.H + 10

	mb := newMapBuilder(m, v, opts)
	bands := mb.prepare(entries)
	y := m.Top
	for _, kind := range mapBands {
		if ps := bands[kind]; len(ps) > 0 {
			b, h := mb.band(kind, ps, y)
			m.Bands = append(m.Bands, b)
			y += h + mapBandGap
		}
	}
	mb.finish(y)
	return m
}

// mapBands are the bands of the map, top to bottom.
var mapBands = []string{bandNS, bandMX, bandHost}

// domainNode is the node of the audited domain, with a badge for the
// findings on it.
func domainNode(v *view, opts Options, findings []*findingView) mapNode {
	lines := []string{}
	if v.DomainUnicode != "" {
		lines = append(lines, v.DomainUnicode, "("+v.Domain+")")
	} else {
		lines = append(lines, v.Domain)
	}
	for i := range lines {
		lines[i], _ = cutMiddle(lines[i], opts.MapMaxLabel+20)
	}
	n := textNode(mapMargin, mapMargin, lines, "dom", v.Domain)
	if len(findings) > 0 {
		addBadge(&n, findings)
	}
	return n
}

// preparedHost is a host node measured before layout: its box, its
// addresses' boxes, and the networks they lie in.
type preparedHost struct {
	e     *hostEntry
	node  mapNode
	nets  []netInfo
	key   string // the networks, joined: hosts with one key form a group
	addrs []mapNode
}

// mapBuilder lays out one map: the column positions and widths, found by
// measuring every host first.
type mapBuilder struct {
	m     *mapLayout
	opts  Options
	netOf func(netip.Addr) netInfo
	// Column positions: hosts, addresses (left and right edge), networks.
	hostX, addrX, addrRight, netX float64
	// Widest box of each column.
	hostW, addrW, netW float64
}

func newMapBuilder(m *mapLayout, v *view, opts Options) *mapBuilder {
	hook := opts.Network
	if hook == nil {
		hook = v.intel.network
	}
	return &mapBuilder{
		m: m, opts: opts, hostX: mapMargin + mapBandInset + mapHostInset,
		netOf: func(a netip.Addr) netInfo {
			p, d := hook(a)
			if !p.IsValid() {
				p, d = DefaultNetwork(a)
			}
			return netInfo{prefix: p.Masked(), detail: clean(d)}
		},
	}
}

// prepare measures the host nodes of every band and places the address
// and network columns after the widest.
func (mb *mapBuilder) prepare(entries []*hostEntry) map[string][]*preparedHost {
	byBand := map[string][]*hostEntry{}
	for _, e := range entries {
		byBand[e.kind] = append(byBand[e.kind], e)
	}
	bands := map[string][]*preparedHost{}
	for _, kind := range mapBands {
		for _, e := range byBand[kind] {
			bands[kind] = append(bands[kind], mb.prepareHost(e))
			mb.m.Hosts++
		}
	}
	// Toggle labels live in the host column too.
	mb.hostW = max(mb.hostW, textWidth("▸ 9999999 more hosts")+2*mapPadX, textWidth("▾ show fewer")+2*mapPadX)
	mb.addrX = mb.hostX + mb.hostW + mapHostGap
	mb.addrRight = mb.addrX + max(mb.addrW, textWidth("(no address)")+2*mapPadX)
	mb.netX = mb.addrRight + mapNetGap
	return bands
}

// prepareHost measures one host: its node (label, tooltip, marks, badge),
// its networks and its address nodes.
func (mb *mapBuilder) prepareHost(e *hostEntry) *preparedHost {
	p := &preparedHost{e: e}
	label, _ := cutMiddle(e.label, mb.opts.MapMaxLabel)
	title := []string{e.label}
	if e.label != e.name {
		title = append(title, e.name)
	}
	title = append(title, e.facts...)
	p.node = textNode(mb.hostX, 0, []string{label}, "host "+e.kind, strings.Join(title, "\n"))
	if e.wildcard {
		p.node.Class += " wild"
	}
	if e.gone {
		p.node.Class += " gone"
	}
	if e.change != "" {
		setTag(&p.node, e.change)
	}
	if len(e.findings) > 0 {
		addBadge(&p.node, e.findings)
	}
	mb.hostW = max(mb.hostW, p.node.W)
	seen := map[string]bool{}
	for _, a := range e.addrs {
		ni := mb.netOf(a)
		if !seen[ni.key()] {
			seen[ni.key()] = true
			p.nets = append(p.nets, ni)
		}
	}
	keys := make([]string, len(p.nets))
	for i, n := range p.nets {
		keys[i] = n.key()
	}
	p.key = strings.Join(keys, "\x00")
	for i, a := range e.addrs {
		if i == mapMaxAddrs {
			more := textNode(0, 0, []string{fmt.Sprintf("+%d more", len(e.addrs)-mapMaxAddrs)}, "addr more", strings.Join(addrStrings(e.addrs[mapMaxAddrs:]), "\n"))
			p.addrs = append(p.addrs, more)
			mb.addrW = max(mb.addrW, more.W)
			break
		}
		ni := mb.netOf(a)
		n := textNode(0, 0, []string{a.String()}, "addr", strings.TrimSpace(a.String()+"\n"+ni.prefix.String()+"\n"+ni.detail))
		n.Net = ni.key()
		mb.addrW = max(mb.addrW, n.W)
		p.addrs = append(p.addrs, n)
	}
	return p
}

// band lays out one band at y: its head, its trunk and its groups of
// hosts that share networks. It returns the band and its height.
func (mb *mapBuilder) band(kind string, ps []*preparedHost, y float64) (*mapBand, float64) {
	b := &mapBand{Kind: kind, Title: bandTitles[kind] + " (" + strconv.Itoa(len(ps)) + ")", Y: y, HeadH: mapLineH}
	b.Head = textNode(mapMargin+mapBandInset, 0, []string{b.Title}, "bandhead", b.Title)
	b.Stub = mapLine{X1: mapMargin + mapTrunkOff, Y1: mapLineH / 2, X2: b.Head.X, Y2: mapLineH / 2}
	trunkX := b.Head.X + mapTrunkOff
	b.Trunk = mapLine{X1: trunkX, Y1: b.Head.Y + b.Head.H, X2: trunkX}
	keys, groups := groupByNetworks(ps)
	gy := b.HeadH
	for gi, key := range keys {
		g := mb.group(fmt.Sprintf("%s-%s%d", mb.m.ID, kind, gi), groups[key], gy, trunkX)
		b.Groups = append(b.Groups, g)
		gy += g.H + mapGroupGap
	}
	lastG := b.Groups[len(b.Groups)-1]
	b.Trunk.Y2 = lastG.Y + lastG.LS
	return b, gy
}

// groupByNetworks groups hosts by their set of networks; groups are
// ordered by their first network, hosts without an address last, and the
// hosts of a group by first address, then name.
func groupByNetworks(ps []*preparedHost) ([]string, map[string][]*preparedHost) {
	groups := map[string][]*preparedHost{}
	var keys []string
	for _, p := range ps {
		if _, ok := groups[p.key]; !ok {
			keys = append(keys, p.key)
		}
		groups[p.key] = append(groups[p.key], p)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if (a == "") != (b == "") {
			if a == "" {
				return 1
			}
			return -1
		}
		pa, pb := groups[a][0].nets, groups[b][0].nets
		if len(pa) > 0 && len(pb) > 0 {
			if c := pa[0].prefix.Addr().Compare(pb[0].prefix.Addr()); c != 0 {
				return c
			}
			if c := cmp.Compare(pa[0].prefix.Bits(), pb[0].prefix.Bits()); c != 0 {
				return c
			}
		}
		return cmp.Compare(a, b)
	})
	for _, members := range groups {
		slices.SortStableFunc(members, func(a, b *preparedHost) int {
			if len(a.e.addrs) > 0 && len(b.e.addrs) > 0 {
				if c := a.e.addrs[0].Compare(b.e.addrs[0]); c != 0 {
					return c
				}
			}
			return cmp.Compare(a.e.name, b.e.name)
		})
	}
	return keys, groups
}

// group lays out one group at gy: its network nodes centred on the
// visible hosts, the host rows, and beyond MapGroupLimit a toggle and the
// rows drawn only when open.
func (mb *mapBuilder) group(id string, members []*preparedHost, gy, trunkX float64) *mapGroup {
	g := &mapGroup{ID: id, Y: gy}
	visible := len(members)
	if visible > mb.opts.MapGroupLimit+1 {
		visible = mb.opts.MapGroupLimit
	}
	netsH := mb.netNodes(g, members)
	visH := 0.0
	for _, p := range members[:visible] {
		visH += float64(max(1, len(p.addrs))) * mapLineH
	}
	// Centre the network nodes on the visible hosts.
	netTop := max(0, (visH-netsH)/2)
	netY := map[string]float64{}
	for i := range g.Nets {
		g.Nets[i].Y += netTop + (mapLineH-mapBoxH)/2
		netY[g.Nets[i].Net] = g.Nets[i].Y + mapBoxH/2
	}
	rowY := 0.0
	for _, p := range members[:visible] {
		g.Rows = append(g.Rows, mb.row(p, rowY, trunkX, netY))
		rowY += g.Rows[len(g.Rows)-1].H
	}
	last := g.Rows[len(g.Rows)-1]
	g.LS = last.Y + mapLineH/2
	g.H = max(rowY, netTop+netsH)
	g.HX, g.LSX = g.H, g.LS
	hidden := len(members) - visible
	if hidden == 0 {
		return g
	}
	g.Hidden = hidden
	t := textNode(mb.hostX, rowY+(mapLineH-mapBoxH)/2, []string{fmt.Sprintf("▸ %d more hosts", hidden)}, "toggle", "show the other "+plural(hidden, "host", "hosts")+" of this group")
	t.W = mb.hostW
	g.Toggle = &t
	g.TStub = mapLine{X1: trunkX, Y1: rowY + mapLineH/2, X2: mb.hostX, Y2: rowY + mapLineH/2}
	g.LS = rowY + mapLineH/2
	rowY += mapLineH
	g.H = max(rowY, netTop+netsH)
	for _, p := range members[visible:] {
		g.More = append(g.More, mb.row(p, rowY, trunkX, netY))
		rowY += g.More[len(g.More)-1].H
	}
	g.LSX = g.More[len(g.More)-1].Y + mapLineH/2
	g.HX = max(rowY, netTop+netsH)
	return g
}

// netNodes adds the network nodes of a group (the networks of its first
// host: all its hosts share them) and returns their height.
func (mb *mapBuilder) netNodes(g *mapGroup, members []*preparedHost) float64 {
	var nets []netInfo
	if len(members) > 0 {
		nets = members[0].nets
	}
	netsH := 0.0
	for _, n := range nets {
		lines := []string{n.prefix.String()}
		if n.detail != "" {
			d, _ := cutMiddle(n.detail, mb.opts.MapMaxLabel)
			lines = append(lines, d)
		}
		title := n.prefix.String()
		if n.detail != "" {
			title += "\n" + n.detail
		}
		title += fmt.Sprintf("\n%s in this group", plural(len(members), "host", "hosts"))
		nn := textNode(mb.netX, netsH, lines, "net", title)
		nn.Net = n.key()
		mb.netW = max(mb.netW, nn.W)
		g.Nets = append(g.Nets, nn)
		netsH += float64(len(lines)) * mapLineH
	}
	return netsH
}

// row places one host at top (group-local): its stub from the trunk, its
// address nodes and the edges to them and on to their networks.
func (mb *mapBuilder) row(p *preparedHost, top, trunkX float64, netY map[string]float64) *mapRow {
	lines := max(1, len(p.addrs))
	row := &mapRow{Y: top, H: float64(lines) * mapLineH}
	row.Host = p.node
	row.Host.Y = top + (mapLineH-mapBoxH)/2
	cy := top + mapLineH/2
	row.Stub = mapLine{X1: trunkX, Y1: cy, X2: mb.hostX, Y2: cy}
	hostRight := row.Host.X + row.Host.W
	if len(p.addrs) == 0 {
		na := textNode(mb.addrX, top+(mapLineH-mapBoxH)/2, []string{"(no address)"}, "addr none", "no address known")
		row.Addrs = append(row.Addrs, na)
		return row
	}
	addrX, addrRight, netX := mb.addrX, mb.addrRight, mb.netX
	for i, a := range p.addrs {
		a.X = addrX
		a.Y = top + float64(i)*mapLineH + (mapLineH-mapBoxH)/2
		ay := a.Y + mapBoxH/2
		row.Edges = append(row.Edges, fmt.Sprintf("M%.1f %.1fH%.1fC%.1f %.1f %.1f %.1f %.1f %.1f",
			hostRight, cy, addrX-mapHostGap, addrX-mapHostGap/2, cy, addrX-mapHostGap/2, ay, addrX, ay))
		if a.Net != "" {
			if ny, ok := netY[a.Net]; ok {
				right := a.X + a.W
				row.Edges = append(row.Edges, fmt.Sprintf("M%.1f %.1fH%.1fC%.1f %.1f %.1f %.1f %.1f %.1f",
					right, ay, addrRight, addrRight+mapNetGap/2, ay, netX-mapNetGap/2, ny, netX, ny))
			}
		}
		row.Addrs = append(row.Addrs, a)
	}
	return row
}

// finish sets the heights (closed, with the bands ending at y, and open),
// the domain trunk and the width.
func (mb *mapBuilder) finish(y float64) {
	m := mb.m
	m.Height = y + mapMargin
	if len(m.Bands) == 0 {
		m.Height = m.Top + mapMargin
	}
	// The closed layout above; the open height for reference and tests.
	m.HeightExpanded = m.Top + mapMargin
	for _, b := range m.Bands {
		gy := b.HeadH
		for _, g := range b.Groups {
			gy += g.HX + mapGroupGap
		}
		m.HeightExpanded += gy + mapBandGap
	}
	m.Trunk = mapLine{X1: mapMargin + mapTrunkOff, Y1: m.Domain.Y + m.Domain.H, X2: mapMargin + mapTrunkOff, Y2: m.Domain.Y + m.Domain.H}
	if n := len(m.Bands); n > 0 {
		m.Trunk.Y2 = m.Bands[n-1].Y + m.Bands[n-1].Stub.Y1
	}
	m.Width = max(mb.netX+mb.netW, m.Domain.X+m.Domain.W) + mapMargin
	for _, b := range m.Bands {
		m.Width = max(m.Width, b.Head.X+b.Head.W+mapMargin)
	}
}

// textNode makes a box around lines of text at (x, y).
func textNode(x, y float64, lines []string, class, title string) mapNode {
	w := 0.0
	for _, l := range lines {
		w = max(w, textWidth(l))
	}
	h := mapBoxH + float64(len(lines)-1)*mapLineH
	return mapNode{X: x, Y: y, W: w + 2*mapPadX, H: h, Lines: lines, Title: title, Class: class}
}

// addBadge widens n for a circle that counts findings, coloured by the
// worst one and linking to it.
func addBadge(n *mapNode, fs []*findingView) {
	worst := fs[0]
	var lines []string
	for _, f := range fs {
		if f.Severity > worst.Severity {
			worst = f
		}
	}
	for _, f := range fs {
		lines = append(lines, f.Severity.String()+" "+f.ID+": "+f.Title)
	}
	n.W += mapBadgeW
	n.Badge = &mapBadge{R: 8, Count: strconv.Itoa(len(fs)),
		Class: sevClass(worst.Severity), Href: "#" + worst.Anchor, Title: strings.Join(lines, "\n")}
}

// setTag widens n for a change tag (NEW, CHG, GONE).
func setTag(n *mapNode, kind string) {
	tag := map[string]string{change.New: "NEW", change.Changed: "CHG", change.Gone: "GONE"}[kind]
	if tag == "" {
		return
	}
	n.Tag = tag
	n.TagDX = n.W - mapPadX/2
	n.W += float64(mapTagChars)*mapCharW + mapPadX
	n.Class += " chg-" + kind
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// collectHosts assembles the host column: nameservers, then mail servers,
// then every other name (wildcards and names gone since the baseline too).
// It returns the entries in that order and the number of addresses that
// did not parse.
func collectHosts(r *scan.Report, domain string, v *view) ([]*hostEntry, int) {
	c := &hostCollector{byName: map[string]*hostEntry{}}
	c.nameservers(r.Nameservers)
	c.mailServers(r, domain)
	c.names(r.Names)
	c.wildcards(r.Wildcards)
	changes := map[string]string{}
	for _, n := range v.Names {
		if n.Change != "" {
			changes[n.Name] = n.Change
		}
	}
	for _, e := range c.order {
		if ch, ok := changes[clean(e.name)]; ok {
			e.change = ch
		}
	}
	c.gone(v.GoneNames)
	for _, e := range c.order {
		e.name = clean(e.name)
	}
	return c.order, c.skipped
}

// hostCollector gathers host entries by canonical name, in first-seen
// order.
type hostCollector struct {
	byName  map[string]*hostEntry
	order   []*hostEntry
	skipped int // addresses that did not parse
}

// get returns the entry of name, creating it in band kind.
func (c *hostCollector) get(name, kind string) *hostEntry {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if e, ok := c.byName[name]; ok {
		return e
	}
	e := &hostEntry{name: name, label: clean(dnsname.Display(name)), kind: kind}
	c.byName[name] = e
	c.order = append(c.order, e)
	return e
}

// addAddrs merges addresses into e's, sorted and unique.
func (c *hostCollector) addAddrs(e *hostEntry, in []string) {
	as, bad := sortedAddrs(append(addrStrings(e.addrs), in...))
	c.skipped += bad
	e.addrs = as
}

// nameservers adds the nameservers with their addresses and what each
// server said.
func (c *hostCollector) nameservers(nss []recon.Nameserver) {
	for _, ns := range nss {
		e := c.get(ns.Name, bandNS)
		var in []string
		in = append(in, ns.Addresses...)
		for _, s := range ns.Servers {
			in = append(in, s.Address)
		}
		c.addAddrs(e, in)
		fact := "nameserver of " + clean(ns.Zone)
		if len(ns.Sources) > 0 {
			fact += " (" + clean(strings.Join(ns.Sources, ", ")) + ")"
		}
		e.facts = append(e.facts, fact)
		if !ns.Resolves && ns.Error != "" {
			e.facts = append(e.facts, "does not resolve: "+clean(ns.Error))
		}
		for _, s := range ns.Servers {
			e.facts = append(e.facts, clean(s.Address)+": "+strings.Join(serverFacts(cleanServer(s)), ", "))
		}
	}
}

// mailServers adds the MX targets that are not nameservers, with the
// addresses the names or the records give them.
func (c *hostCollector) mailServers(r *scan.Report, domain string) {
	nameAddrs := map[string][]string{}
	for _, n := range r.Names {
		nameAddrs[strings.ToLower(n.Name)] = n.Addresses
	}
	recAddrs := map[string][]string{}
	for _, rec := range r.Records {
		if t := strings.ToUpper(rec.Type); t == "A" || t == "AAAA" {
			k := strings.ToLower(strings.TrimSuffix(rec.Name, "."))
			recAddrs[k] = append(recAddrs[k], rec.Data)
		}
	}
	for _, rec := range r.Records {
		if !strings.EqualFold(rec.Type, "MX") {
			continue
		}
		f := strings.Fields(rec.Data)
		if len(f) != 2 || f[1] == "." {
			continue
		}
		target := strings.ToLower(strings.TrimSuffix(f[1], "."))
		if _, ok := c.byName[target]; ok && c.byName[target].kind == bandNS {
			continue
		}
		e := c.get(target, bandMX)
		e.facts = append(e.facts, "MX "+clean(f[0])+" of "+clean(strings.ToLower(strings.TrimSuffix(rec.Name, "."))))
		if len(e.facts) > 1 {
			continue
		}
		if as, ok := nameAddrs[target]; ok {
			c.addAddrs(e, as)
		} else {
			c.addAddrs(e, recAddrs[target])
		}
		if !dnsname.IsSubdomain(target, domain) {
			e.facts = append(e.facts, "outside "+clean(domain))
		}
	}
}

// names adds every other name, with how it was found.
func (c *hostCollector) names(names []recon.Name) {
	for _, n := range names {
		name := strings.ToLower(strings.TrimSuffix(n.Name, "."))
		if _, ok := c.byName[name]; ok {
			continue
		}
		e := c.get(name, bandHost)
		c.addAddrs(e, n.Addresses)
		if len(n.Sources) > 0 {
			e.facts = append(e.facts, "found by "+clean(strings.Join(n.Sources, ", ")))
		}
		if len(n.PassiveSources) > 0 {
			fact := "known to passive DNS (" + clean(strings.Join(n.PassiveSources, ", ")) + ")"
			if first, last := fmtDate(n.FirstSeen), fmtDate(n.LastSeen); first != "" || last != "" {
				fact += " " + dashIfEmpty(first) + " to " + dashIfEmpty(last)
			}
			e.facts = append(e.facts, fact)
		}
	}
}

// wildcards marks the address wildcards (adding their names when new).
func (c *hostCollector) wildcards(ws []recon.Wildcard) {
	for _, w := range ws {
		if t := strings.ToUpper(w.Type); t != "A" && t != "AAAA" {
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(w.Name, "."))
		e, exists := c.byName[name]
		if !exists {
			e = c.get(name, bandHost)
		}
		e.wildcard = true
		c.addAddrs(e, w.Data)
		e.facts = append(e.facts, "wildcard "+clean(w.Type))
	}
}

// gone adds the names gone since the baseline.
func (c *hostCollector) gone(names []change.Name) {
	for _, g := range names {
		if _, ok := c.byName[g.Name]; ok {
			continue
		}
		e := c.get(g.Name, bandHost)
		e.gone = true
		e.change = change.Gone
		c.addAddrs(e, g.Addresses)
		e.facts = append(e.facts, "gone since the baseline")
	}
}

// attachFindings puts each finding on the nodes its subject names: a host
// (by name), else the hosts holding an address it names, else the domain
// node when the subject lies inside the domain. It returns the domain's.
func attachFindings(entries []*hostEntry, domain string, v *view) []*findingView {
	byName := map[string]*hostEntry{}
	byAddr := map[netip.Addr][]*hostEntry{}
	for _, e := range entries {
		byName[e.name] = e
		for _, a := range e.addrs {
			byAddr[a] = append(byAddr[a], e)
		}
	}
	var onDomain []*findingView
	for _, g := range v.Groups {
		for _, f := range g.Findings {
			names, addrs := subjectTokens(f.Subject)
			placed := false
			inDomain := false
			for _, n := range names {
				if e, ok := byName[n]; ok && n != domain {
					e.findings = append(e.findings, f)
					placed = true
					break
				}
				if dnsname.IsSubdomain(n, domain) {
					inDomain = true
				}
			}
			if !placed {
				for _, a := range addrs {
					if es := byAddr[a]; len(es) > 0 {
						for _, e := range es {
							e.findings = append(e.findings, f)
						}
						placed = true
						break
					}
				}
			}
			if !placed && inDomain {
				onDomain = append(onDomain, f)
			}
		}
	}
	return onDomain
}

// subjectTokens splits a finding subject such as "ns1.example.com
// (192.0.2.1)", "ns1.example.com/[2001:db8::1]:53" or "*.example.com" into
// canonical names and addresses.
func subjectTokens(s string) (names []string, addrs []netip.Addr) {
	fields := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == '*' || r == ':' || r == '%' || r > 0x7f)
	})
	for _, f := range fields {
		if a, err := netip.ParseAddr(f); err == nil {
			addrs = append(addrs, a.Unmap().WithZone(""))
			continue
		}
		if ap, err := netip.ParseAddrPort(f); err == nil {
			addrs = append(addrs, ap.Addr().Unmap())
			continue
		}
		f = strings.TrimSuffix(f, ".")
		if strings.Contains(f, ".") && !strings.Contains(f, ":") {
			if n, err := dnsname.Normalize(f); err == nil {
				names = append(names, n)
			}
		}
	}
	return names, addrs
}

// boxes returns every node box in absolute coordinates, with all groups
// closed (hidden rows left out) or all open.
func (m *mapLayout) boxes(open bool) []box {
	var out []box
	add := func(n mapNode, dx, dy float64) {
		out = append(out, box{X: n.X + dx, Y: n.Y + dy, W: n.W, H: n.H, Label: strings.Join(n.Lines, " ")})
	}
	add(m.Domain, 0, 0)
	y := m.Top
	for _, b := range m.Bands {
		add(b.Head, 0, y)
		gy := b.HeadH
		for _, g := range b.Groups {
			oy := y + gy
			rows := g.Rows
			if open {
				rows = append(slices.Clone(rows), g.More...)
			}
			for _, r := range rows {
				add(r.Host, 0, oy)
				for _, a := range r.Addrs {
					add(a, 0, oy)
				}
			}
			if g.Toggle != nil {
				add(*g.Toggle, 0, oy)
			}
			for _, n := range g.Nets {
				add(n, 0, oy)
			}
			if open {
				gy += g.HX + mapGroupGap
			} else {
				gy += g.H + mapGroupGap
			}
		}
		y += gy + mapBandGap
	}
	return out
}
