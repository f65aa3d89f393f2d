package dnstest

import (
	"github.com/dnsscout/dnsscout/internal/dnsworld"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Impl names what serves a zone in a World.
type Impl string

// Implementations a World can use.
const (
	InProcess Impl = "in-process"
	BIND      Impl = "bind"
	NSD       Impl = "nsd"
	Knot      Impl = "knot"
)

// ResolverKind names the recursive resolver in front of a World.
type ResolverKind string

// Resolvers a World can use.
const (
	ResolverUnbound   ResolverKind = "unbound"
	ResolverInProcess ResolverKind = "in-process"
	ResolverNone      ResolverKind = "none"
)

// WorldServer is one name server of a zone; each gets its own address.
type WorldServer struct {
	// Impl serves the zone. Default: WorldSpec.DefaultImpl.
	Impl Impl
	// Name is the server's host name, the target of the zone's NS record.
	// Default "nsN.<zone>" (N = position + 1), "nsN.dnstest-root." for the
	// root. A name outside the zone gets no glue in the parent.
	Name string
	// AllowTransfer allows AXFR and IXFR from anyone (BIND also keeps an
	// IXFR journal). Default false: refused.
	AllowTransfer bool
	// Version answers version.bind: "" the implementation's default (none
	// for in-process servers), "none" hidden.
	Version string
	// Identity answers id.server and hostname.bind and is the NSID: "" the
	// implementation's default (none for in-process servers), "none" hidden.
	Identity string
	// Recursion also makes the server an open resolver starting at the test
	// root (BIND and in-process servers only). Default false.
	Recursion bool
}

// WorldZone is one zone of a World.
type WorldZone struct {
	// Name is the zone origin, e.g. "example.com".
	Name string
	// Records is master-file text, names relative to Name. The World adds
	// a SOA (unless Records has one), the apex NS records, addresses for
	// the name servers that live in this zone, and delegations (NS, glue
	// and, for signed children, DS) for the World's child zones. Records
	// must not hold apex NS records or delegations of World zones.
	Records string
	// Servers serve the zone. Default: one server of WorldSpec.DefaultImpl.
	Servers []WorldServer
	// Sign signs the zone: with a single BIND or Knot server the server
	// signs it, a single NSD server serves it signed by ldns-signzone, and
	// otherwise it is signed once with Zone.Sign and served pre-signed.
	// Default unsigned.
	Sign Signing
	// Insecure leaves the DS of a signed zone out of its parent. Default
	// false.
	Insecure bool
}

// WorldSpec describes a DNS hierarchy. The root and the TLD of every zone
// are generated when not listed.
type WorldSpec struct {
	// Zones lists the zones; every zone is delegated from the closest
	// enclosing zone of the World.
	Zones []WorldZone
	// DefaultImpl serves zones and servers without an Impl, including the
	// generated root and TLD zones. Default InProcess.
	DefaultImpl Impl
	// Resolver fronts the World. Default ResolverUnbound when running as
	// root, ResolverInProcess otherwise.
	Resolver ResolverKind
	// QNAMEMinimisation turns it on in Unbound. Default off.
	QNAMEMinimisation bool
	// Logger receives in-process servers' transfer logs. Default discard.
	Logger *slog.Logger
}

// World is a running DNS hierarchy on loopback.
type World struct {
	// Resolver is the recursive resolver's address (invalid with
	// ResolverNone).
	Resolver netip.AddrPort
	// Root lists the root servers (the resolver's root hints).
	Root []netip.AddrPort
	// Port is the port every server listens on: 53, or a shared high port
	// for in-process worlds without root.
	Port uint16
	// Zones maps each zone origin (lower-case, trailing dot) to its
	// servers in WorldZone.Servers order.
	Zones map[string][]*Server
	// NS maps each name server host name (lower-case, trailing dot) to its
	// address.
	NS map[string]netip.Addr
	// Text maps each zone origin to the zone text the World generated
	// (signed when the World signed it, unsigned when a server signs it).
	Text map[string]string
	// Recursor is the in-process resolver with ResolverInProcess.
	Recursor *Recursor
	// ResolverServer is the server behind Resolver.
	ResolverServer *Server

	closeFn func()
}

// Servers returns the servers of zone ("example.com" or "example.com.").
func (w *World) Servers(zone string) []*Server { return w.Zones[dnsworld.CanonName(zone)] }

// Addr returns the address of the first server of zone.
func (w *World) Addr(zone string) netip.AddrPort {
	s := w.Servers(zone)
	if len(s) == 0 {
		return netip.AddrPort{}
	}
	return s[0].Addr
}

// Close stops a World started with StartWorld. Worlds from NewWorld stop
// on test cleanup.
func (w *World) Close() {
	if w.closeFn != nil {
		w.closeFn()
	}
}

// NewWorld builds and starts the hierarchy of spec and returns once every
// server and the resolver answer; everything stops on cleanup. It skips
// the test (or fails it with DNSSCOUT_REAL_SERVERS=require) when a needed
// binary or root is missing. Independent zones start concurrently; a
// parent waits for children whose DS it must publish.
func NewWorld(t testing.TB, spec WorldSpec) *World {
	t.Helper()
	plan, err := planWorld(spec)
	if err != nil {
		t.Fatalf("dnstest.NewWorld: %v", err)
	}
	if plan.needRoot {
		RequireRoot(t)
	}
	for _, b := range plan.binaries() {
		RequireBinary(t, b)
	}
	w, err := plan.start(context.Background(), t)
	if err != nil {
		t.Fatalf("dnstest.NewWorld: %v", err)
	}
	return w
}

// StartWorld is NewWorld without a test: `dnsscout demo` uses it with
// in-process servers and ResolverInProcess. Call World.Close when done.
func StartWorld(ctx context.Context, spec WorldSpec) (*World, error) {
	plan, err := planWorld(spec)
	if err != nil {
		return nil, err
	}
	if plan.needRoot && !isRoot() {
		return nil, ErrNeedRoot
	}
	for _, b := range plan.binaries() {
		if _, err := lookBinary(b); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrServerStart, b, err)
		}
	}
	l := &closer{logger: spec.Logger}
	w, err := plan.start(ctx, l)
	if err != nil {
		l.close()
		return nil, err
	}
	w.closeFn = l.close
	return w, nil
}

// closer is the life of a World outside tests.
type closer struct {
	mu     sync.Mutex
	fns    []func()
	logger *slog.Logger
}

func (c *closer) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, f)
}

func (c *closer) TempDir() string {
	d, err := os.MkdirTemp("", "dnstest-world-")
	if err != nil {
		d = os.TempDir()
	} else {
		c.Cleanup(func() { _ = os.RemoveAll(d) })
	}
	return d
}

func (c *closer) Logf(format string, args ...any) {
	if c.logger != nil {
		c.logger.Info(fmt.Sprintf(format, args...))
	}
}

func (c *closer) Failed() bool { return false }

func (c *closer) close() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// worldPlan is a validated WorldSpec.
type worldPlan struct {
	spec     WorldSpec
	zones    []*plannedZone // parents before children
	byName   map[string]*plannedZone
	needRoot bool
}

type plannedZone struct {
	WorldZone
	origin   string
	parent   *plannedZone
	children []*plannedZone
	servers  []*plannedServer
	records  []dns.RR // user records, parsed
	// serverSigned: a single BIND, Knot or NSD server signs the zone.
	serverSigned bool

	// Filled while starting.
	addrs   []netip.Addr
	ds      []dns.RR      // written before dsReady is closed
	dsErr   error         // written before dsReady is closed
	dsReady chan struct{} // closed once ds (or dsErr) is known
	dsOnce  sync.Once
	err     error
}

// publishDS records the zone's DS set (or failure) for its parent.
func (z *plannedZone) publishDS(ds []dns.RR, err error) {
	z.dsOnce.Do(func() {
		z.ds, z.dsErr = ds, err
		close(z.dsReady)
	})
}

// needsDS reports whether the parent publishes a DS for z.
func (z *plannedZone) needsDS() bool { return z.Sign.Mode != SignNone && !z.Insecure }

type plannedServer struct {
	WorldServer
	name string
}

// planWorld validates spec, adds the root and TLD zones, and orders zones
// from the root down.
func planWorld(spec WorldSpec) (*worldPlan, error) {
	if spec.DefaultImpl == "" {
		spec.DefaultImpl = InProcess
	}
	p := &worldPlan{spec: spec, byName: map[string]*plannedZone{}}
	for _, wz := range spec.Zones {
		if err := p.addZone(wz); err != nil {
			return nil, err
		}
	}
	if p.byName["."] == nil {
		_ = p.addZone(WorldZone{Name: "."})
	}
	for _, wz := range spec.Zones {
		o := dnsworld.CanonName(wz.Name)
		if o == "." {
			continue
		}
		if tld := dnsworld.AncestorAt(o, 1); p.byName[tld] == nil {
			_ = p.addZone(WorldZone{Name: tld})
		}
	}
	hostNames := map[string]string{} // server name -> its zone
	for _, n := range p.topDown() {
		z := p.byName[n]
		p.zones = append(p.zones, z)
		if n != "." {
			for a := dnsworld.ParentOf(n); ; a = dnsworld.ParentOf(a) {
				if pz := p.byName[a]; pz != nil {
					z.parent = pz
					pz.children = append(pz.children, z)
					break
				}
			}
		}
		if err := p.planServers(z, hostNames); err != nil {
			return nil, err
		}
		z.serverSigned = z.Sign.Mode != SignNone && len(z.servers) == 1 && z.servers[0].Impl != InProcess
		if err := z.parseRecords(); err != nil {
			return nil, err
		}
	}
	for _, z := range p.zones {
		for _, rr := range z.records {
			h := rr.Header()
			if c := p.byName[dnsworld.CanonName(h.Name)]; c != nil && c != z && h.Rrtype == dns.TypeNS {
				return nil, fmt.Errorf("%w: zone %s delegates %s, which is a World zone", ErrWorldSpec, z.origin, c.origin)
			}
		}
	}
	if err := p.planResolver(); err != nil {
		return nil, err
	}
	return p, nil
}

// addZone adds wz to the plan under its canonical origin.
func (p *worldPlan) addZone(wz WorldZone) error {
	o, err := dnsworld.CheckOrigin(wz.Name)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrWorldSpec, err)
	}
	if p.byName[o] != nil {
		return fmt.Errorf("%w: zone %s listed twice", ErrWorldSpec, o)
	}
	p.byName[o] = &plannedZone{WorldZone: wz, origin: o, dsReady: make(chan struct{})}
	return nil
}

// topDown returns the zone names from the root down: fewer labels first,
// then in canonical order.
func (p *worldPlan) topDown() []string {
	names := make([]string, 0, len(p.byName))
	for n := range p.byName {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := dnsworld.LabelCount(a) - dnsworld.LabelCount(b); c != 0 {
			return c
		}
		return dnsworld.CanonicalCompare(a, b)
	})
	return names
}

// planServers checks and names the servers of z (one default server when
// none is listed); hostNames maps each server name taken so far to its zone.
func (p *worldPlan) planServers(z *plannedZone, hostNames map[string]string) error {
	n := z.origin
	if len(z.Servers) == 0 {
		z.Servers = []WorldServer{{}}
	}
	for i, ws := range z.Servers {
		if ws.Impl == "" {
			ws.Impl = p.spec.DefaultImpl
		}
		switch ws.Impl {
		case InProcess, BIND, NSD, Knot:
		default:
			return fmt.Errorf("%w: zone %s: unknown implementation %q", ErrWorldSpec, n, ws.Impl)
		}
		if ws.Impl != InProcess {
			p.needRoot = true
		}
		if ws.Recursion && ws.Impl != BIND && ws.Impl != InProcess {
			return fmt.Errorf("%w: zone %s: recursion needs BIND or in-process", ErrWorldSpec, n)
		}
		name := ws.Name
		if name == "" {
			if n == "." {
				name = rootHintName(i)
			} else {
				name = fmt.Sprintf("ns%d.%s", i+1, n)
			}
		}
		name = dnsworld.CanonName(name)
		if _, ok := dns.IsDomainName(name); !ok || name == "." {
			return fmt.Errorf("%w: zone %s: bad server name %q", ErrWorldSpec, n, ws.Name)
		}
		if other, dup := hostNames[name]; dup {
			return fmt.Errorf("%w: server name %s used by %s and %s", ErrWorldSpec, name, other, n)
		}
		hostNames[name] = n
		z.servers = append(z.servers, &plannedServer{WorldServer: ws, name: name})
	}
	return nil
}

// parseRecords parses the user records of z, which may not hold apex NS
// records (those come from Servers).
func (z *plannedZone) parseRecords() error {
	n := z.origin
	rrs, err := dnsworld.ParseRecords(n, z.Records)
	if err != nil {
		return fmt.Errorf("%w: zone %s: %v", ErrWorldSpec, n, err)
	}
	for _, rr := range rrs {
		h := rr.Header()
		if h.Rrtype == dns.TypeNS && dnsworld.CanonName(h.Name) == n {
			return fmt.Errorf("%w: zone %s: apex NS records are generated from Servers", ErrWorldSpec, n)
		}
	}
	z.records = rrs
	return nil
}

// planResolver settles the World's resolver: Unbound by default when
// running as root, else in-process.
func (p *worldPlan) planResolver() error {
	switch p.spec.Resolver {
	case "":
		if isRoot() {
			p.spec.Resolver = ResolverUnbound
		} else {
			p.spec.Resolver = ResolverInProcess
		}
	case ResolverUnbound, ResolverInProcess, ResolverNone:
	default:
		return fmt.Errorf("%w: unknown resolver %q", ErrWorldSpec, p.spec.Resolver)
	}
	if p.spec.Resolver == ResolverUnbound {
		p.needRoot = true
	}
	return nil
}

// binaries lists the programs the plan runs.
func (p *worldPlan) binaries() []string {
	set := map[string]bool{}
	for _, z := range p.zones {
		for _, s := range z.servers {
			switch s.Impl {
			case BIND:
				set["named"] = true
			case NSD:
				set["nsd"] = true
				if z.serverSigned {
					set["ldns-signzone"], set["ldns-keygen"] = true, true
				}
			case Knot:
				set["knotd"] = true
			}
		}
	}
	if p.spec.Resolver == ResolverUnbound {
		set["unbound"] = true
	}
	out := make([]string, 0, len(set))
	for b := range set {
		out = append(out, b)
	}
	slices.Sort(out)
	return out
}

// start allocates addresses, generates the zones and starts everything.
func (p *worldPlan) start(ctx context.Context, l life) (*World, error) {
	w := &World{Zones: map[string][]*Server{}, NS: map[string]netip.Addr{}, Text: map[string]string{}}
	root := isRoot()
	var all []netip.Addr
	for _, z := range p.zones {
		for _, s := range z.servers {
			a, err := allocAddr(l)
			if err != nil {
				return nil, err
			}
			z.addrs = append(z.addrs, a)
			w.NS[s.name] = a
			all = append(all, a)
		}
	}
	var resolverAddr netip.Addr
	if p.spec.Resolver != ResolverNone {
		a, err := allocAddr(l)
		if err != nil {
			return nil, err
		}
		resolverAddr = a
		all = append(all, a)
	}
	w.Port = 53
	if !root {
		port, err := commonPort(all)
		if err != nil {
			return nil, err
		}
		w.Port = port
	}
	for _, a := range p.byName["."].addrs {
		w.Root = append(w.Root, netip.AddrPortFrom(a, w.Port))
	}

	var mu sync.Mutex
	var wg sync.WaitGroup
	// The resolver does not need the root to be up to start.
	var resolverErr error
	if p.spec.Resolver != ResolverNone {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s *Server
			var rec *Recursor
			var err error
			switch p.spec.Resolver {
			case ResolverUnbound:
				var hints []netip.Addr
				for _, r := range w.Root {
					hints = append(hints, r.Addr())
				}
				s, err = startUnbound(l, UnboundConfig{Addr: resolverAddr, RootHints: hints, QNAMEMinimisation: p.spec.QNAMEMinimisation})
			case ResolverInProcess:
				rec = NewRecursor(w.Root, w.Port)
				rec.Logger = p.spec.Logger
				l.Cleanup(rec.Close)
				s, err = startInProcess(l, netip.AddrPortFrom(resolverAddr, w.Port), rec)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				resolverErr = err
				return
			}
			w.Resolver, w.ResolverServer, w.Recursor = s.Addr, s, rec
		}()
	}
	for _, z := range p.zones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers, text, err := p.startZone(ctx, l, w, z)
			z.publishDS(nil, errChildFailed) // no-op when already published
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				z.err = err
				return
			}
			w.Zones[z.origin] = servers
			w.Text[z.origin] = text
		}()
	}
	wg.Wait()
	var errs []error
	for _, z := range p.zones {
		if z.err != nil && !errors.Is(z.err, errChildFailed) {
			errs = append(errs, z.err)
		}
	}
	if resolverErr != nil {
		errs = append(errs, resolverErr)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return w, nil
}

var errChildFailed = errors.New("dnstest: a child zone failed")

// startZone waits for the children whose DS it needs, builds the zone and
// starts its servers.
func (p *worldPlan) startZone(ctx context.Context, l life, w *World, z *plannedZone) ([]*Server, string, error) {
	for _, c := range z.children {
		if !c.needsDS() {
			continue
		}
		select {
		case <-c.dsReady:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
		if c.dsErr != nil {
			return nil, "", errChildFailed
		}
	}
	zone, err := p.buildZone(w, z)
	if err != nil {
		return nil, "", err
	}
	text := zone.Text()
	if z.Sign.Mode != SignNone && !z.serverSigned {
		signed, err := zone.Sign(z.Sign.options())
		if err != nil {
			return nil, "", fmt.Errorf("zone %s: %w", z.origin, err)
		}
		zone, text = signed, signed.Text()
		z.publishDS(signed.DS(), nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	servers := make([]*Server, len(z.servers))
	errs := make([]error, len(z.servers))
	var wg sync.WaitGroup
	for i, s := range z.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = p.startServer(l, w, z, s, z.addrs[i], zone, text)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, "", fmt.Errorf("zone %s: %w", z.origin, err)
	}
	if z.serverSigned && z.needsDS() {
		ds, err := fetchDS(servers[0].Addr, z.origin)
		if err != nil {
			return nil, "", fmt.Errorf("zone %s: %w", z.origin, err)
		}
		z.publishDS(ds, nil)
	}
	return servers, text, nil
}

// fetchDS queries a server for the zone's DNSKEYs and returns DS records
// for the SEP keys.
func fetchDS(addr netip.AddrPort, zone string) ([]dns.RR, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := exchange(ctx, addr, newQuery(zone, dns.TypeDNSKEY, dns.ClassINET, false), false)
	if err != nil {
		return nil, fmt.Errorf("fetching DNSKEY: %v", err)
	}
	var ds []dns.RR
	for _, rr := range r.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok && k.Flags&dns.SEP != 0 {
			if d := k.ToDS(dns.SHA256); d != nil {
				ds = append(ds, d)
			}
		}
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("no SEP DNSKEY served for %s", zone)
	}
	return ds, nil
}

// buildZone assembles the zone: user records, SOA, apex NS, server
// addresses that live here, and delegations of child zones.
func (p *worldPlan) buildZone(w *World, z *plannedZone) (*Zone, error) {
	rrs := slices.Clone(z.records)
	hasSOA := false
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeSOA {
			hasSOA = true
		}
	}
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 3600}
	}
	if !hasSOA {
		mbox := "hostmaster." + dnsworld.Dotless(z.origin)
		if z.origin == "." {
			mbox = "hostmaster.dnstest-root."
		}
		rrs = append(rrs, &dns.SOA{Hdr: hdr(z.origin, dns.TypeSOA), Ns: z.servers[0].name, Mbox: mbox,
			Serial: 2026010101, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 60})
	}
	for _, s := range z.servers {
		rrs = append(rrs, &dns.NS{Hdr: hdr(z.origin, dns.TypeNS), Ns: s.name})
	}
	// Addresses of every World name server whose home is this zone.
	for name, a := range w.NS {
		if p.homeOf(name) != z {
			continue
		}
		for _, rr := range z.records {
			if dnsworld.CanonName(rr.Header().Name) == name && (rr.Header().Rrtype == dns.TypeA || rr.Header().Rrtype == dns.TypeAAAA) {
				return nil, fmt.Errorf("%w: zone %s: records for %s, a generated name server", ErrWorldSpec, z.origin, name)
			}
		}
		rrs = append(rrs, &dns.A{Hdr: hdr(name, dns.TypeA), A: net.IP(a.AsSlice())})
	}
	for _, c := range z.children {
		for i, s := range c.servers {
			rrs = append(rrs, &dns.NS{Hdr: hdr(c.origin, dns.TypeNS), Ns: s.name})
			if dnsworld.IsSub(c.origin, s.name) {
				rrs = append(rrs, &dns.A{Hdr: hdr(s.name, dns.TypeA), A: net.IP(c.addrs[i].AsSlice())})
			}
		}
		if c.needsDS() {
			// startZone waited for c.dsReady.
			for _, d := range c.ds {
				d := dns.Copy(d)
				d.Header().Ttl = 3600
				rrs = append(rrs, d)
			}
		}
	}
	return NewZone(z.origin, rrs)
}

// homeOf returns the World zone that is authoritative for name.
func (p *worldPlan) homeOf(name string) *plannedZone {
	for n := name; ; n = dnsworld.ParentOf(n) {
		if z := p.byName[n]; z != nil {
			return z
		}
		if n == "." {
			return nil
		}
	}
}

// startServer starts one server of zone z.
func (p *worldPlan) startServer(l life, w *World, z *plannedZone, s *plannedServer, addr netip.Addr, zone *Zone, text string) (*Server, error) {
	zc := ZoneConfig{Name: z.origin, Text: text, AllowTransfer: s.AllowTransfer}
	if z.serverSigned {
		zc.Sign = z.Sign
	}
	switch s.Impl {
	case BIND:
		zc.IXFR = s.AllowTransfer
		var hints []netip.Addr
		if s.Recursion {
			for _, r := range w.Root {
				hints = append(hints, r.Addr())
			}
		}
		return startBIND(l, BINDConfig{Addr: addr, Zones: []ZoneConfig{zc}, Recursion: s.Recursion, RootHints: hints,
			Version: s.Version, Hostname: s.Identity, ServerID: s.Identity})
	case NSD:
		return startNSD(l, NSDConfig{Addr: addr, Zones: []ZoneConfig{zc}, Version: s.Version, Identity: s.Identity, NSID: noneEmpty(s.Identity)})
	case Knot:
		return startKnot(l, KnotConfig{Addr: addr, Zones: []ZoneConfig{zc}, Version: s.Version, Identity: s.Identity, NSID: s.Identity})
	}
	zz := *zone
	zz.AllowTransfer = s.AllowTransfer
	h := NewZoneHandler(&zz)
	h.Version, h.Hostname, h.ServerID, h.NSID = noneEmpty(s.Version), noneEmpty(s.Identity), noneEmpty(s.Identity), noneEmpty(s.Identity)
	h.Logger = p.spec.Logger
	var handler dns.Handler = h
	if s.Recursion {
		rec := NewRecursor(w.Root, w.Port)
		l.Cleanup(rec.Close)
		handler = &dnsworld.OpenResolver{Zones: h, Recursor: rec}
	}
	srv, err := startInProcess(l, netip.AddrPortFrom(addr, w.Port), handler)
	if err != nil {
		return nil, err
	}
	srv.Zones = []string{z.origin}
	return srv, nil
}

func noneEmpty(s string) string {
	if s == "none" {
		return ""
	}
	return s
}

// commonPort finds a port outside the ephemeral range that is free for UDP
// and TCP on every address.
func commonPort(addrs []netip.Addr) (uint16, error) {
	for range 200 {
		port := uint16(20000 + rand.IntN(12000))
		ok := true
		for _, a := range addrs {
			pc, ln, err := listenBoth(netip.AddrPortFrom(a, port))
			if err != nil {
				ok = false
				break
			}
			_ = pc.Close()
			_ = ln.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, fmt.Errorf("%w: no common free port", ErrServerStart)
}
