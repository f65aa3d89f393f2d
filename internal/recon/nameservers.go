package recon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// Nameserver sources.
const (
	nsFromParent = "parent"
	nsFromChild  = "child"
	nsFromSOA    = "soa"
)

// nameservers finds every nameserver of a zone (parent-side NS, child-side
// NS, SOA MNAME), resolves each name to all its addresses, and asks every
// address what it serves and reveals, zone transfers included. It keeps no
// state: what it finds goes to the ledger.
type nameservers struct{}

func (nameservers) name() string { return "nameservers" }

func (nameservers) zone(ctx context.Context, s *scope, z *Zone, _ string) {
	s.stage("nameservers " + z.Name)
	probeNameservers(ctx, s, z)
}

// probeNameservers probes the nameservers of zone z. It may run again for
// the same zone (a zone reached through its delegation first learns its
// own NS set later): names already probed only gain sources.
func probeNameservers(ctx context.Context, s *scope, z *Zone) {
	facts := s.ledger.zone(z)
	child := facts.ChildNS
	mname := ""
	if facts.SOA != "" {
		mname = dnsname.FromWire(strings.Fields(facts.SOA)[0])
	}

	parent, glue := parentNS(ctx, s, z.Name)
	s.ledger.editZone(z, func(z *Zone) { z.ParentNS = parent })

	sources := map[string][]string{}
	for _, n := range parent {
		sources[n] = appendUnique(sources[n], nsFromParent)
	}
	for _, n := range child {
		sources[n] = appendUnique(sources[n], nsFromChild)
	}
	if mname != "" && mname != "." {
		sources[mname] = appendUnique(sources[mname], nsFromSOA)
	}
	names := make([]string, 0, len(sources))
	for n, src := range sources {
		if !s.ledger.probedNameserver(z.Name, n, src) {
			names = append(names, n)
		}
	}
	sort.Strings(names)

	nss := make([]Nameserver, len(names))
	parallel(ctx, len(names), len(names), func(i int) {
		ns := &nss[i]
		*ns = Nameserver{Name: names[i], Zone: z.Name, Sources: sources[names[i]], Addresses: []string{}, Servers: []Server{}}
		addrs, errText := s.addresses(ctx, ns.Name)
		ns.Resolves = len(addrs) > 0
		ns.Error = errText
		// The parent's glue counts too: a server the delegation sends
		// resolvers to is checked even when its name does not resolve.
		for _, g := range glue[ns.Name] {
			if !slices.Contains(addrs, g) {
				addrs = append(addrs, g)
			}
		}
		for _, a := range addrs {
			ns.Addresses = append(ns.Addresses, a.String())
		}
		ns.Servers = make([]Server, len(addrs))
		parallel(ctx, len(addrs), len(addrs), func(j int) {
			ns.Servers[j] = probeServer(ctx, s, z, addrs[j])
		})
		ns.Servers = slices.DeleteFunc(ns.Servers, func(s Server) bool { return s.Address == "" })
	})
	s.ledger.addNameservers(z.Name, s.opts.NameserverPort, nss)
}

// parentNS returns the NS names the parent zone delegates zone to
// (sorted) and the glue addresses it gives for them, as the parent's own
// servers answer (see delegationOf). The root has no parent.
func parentNS(ctx context.Context, s *scope, zone string) ([]string, map[string][]netip.Addr) {
	if zone == "." {
		return nil, nil
	}
	d, err := s.delegationOf(ctx, zone)
	if err != nil || d.zone != zone {
		return nil, nil
	}
	return d.ns, d.glue
}

// addresses resolves a host name to all its IPv4 and IPv6 addresses. The
// second result explains an empty answer ("nxdomain", "no address",
// "timeout", ...).
func (s *scope) addresses(ctx context.Context, host string) ([]netip.Addr, string) {
	var (
		mu    sync.Mutex
		addrs []netip.Addr
		why   []string
	)
	types := []uint16{dns.TypeA, dns.TypeAAAA}
	parallel(ctx, 2, 2, func(i int) {
		m, err := s.query(ctx, host, types[i])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			why = append(why, errText(err))
			return
		}
		v := judge(host, types[i], m)
		if len(v.addrs) == 0 {
			why = append(why, strings.ToLower(v.state(m)))
		}
		addrs = append(addrs, v.addrs...)
	})
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	addrs = compactAddrs(addrs)
	if len(addrs) > 0 {
		return addrs, ""
	}
	if len(why) == 0 {
		return nil, "no address"
	}
	sort.Strings(why)
	return nil, why[0]
}

func compactAddrs(a []netip.Addr) []netip.Addr {
	out := a[:0]
	for i, x := range a {
		if i == 0 || x != a[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// chaosNames are the CHAOS-class TXT names servers answer with their
// identity.
var chaosNames = []string{"version.bind", "version.server", "hostname.bind", "id.server"}

// probeServer asks one nameserver address about zone z: authority and serial,
// the NS set it serves, recursion, CHAOS identity, NSID, and zone
// transfers.
func probeServer(ctx context.Context, s *scope, z *Zone, addr netip.Addr) Server {
	ap := netip.AddrPortFrom(addr, s.opts.NameserverPort)
	sv := Server{Address: addr.String(), AXFR: TransferSkipped, IXFR: TransferSkipped}

	soa, err := s.direct(ctx, ap, resolver.Query{Name: z.Name, Type: dns.TypeSOA, NSID: true})
	if err != nil {
		sv.Error = errText(err)
		return sv
	}
	sv.Responding = true
	sv.NSID = resolver.NSID(soa.Msg)
	if soa.Msg.Rcode == dns.RcodeSuccess && soa.Msg.Authoritative {
		for _, x := range soa.Msg.Answer {
			if v, ok := x.(*dns.SOA); ok && rr.Owner(x) == z.Name {
				sv.Authoritative = true
				sv.Serial = v.Serial
			}
		}
	}
	if !sv.Authoritative {
		sv.Error = "not authoritative: " + strings.ToLower(dns.RcodeToString[soa.Msg.Rcode])
		if soa.Msg.Rcode == dns.RcodeSuccess && !soa.Msg.Authoritative {
			sv.Error = "not authoritative: answer without AA"
		}
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Go(func() {
		resp, err := s.direct(ctx, ap, resolver.Query{Name: z.Name, Type: dns.TypeNS})
		if err != nil || !resp.Msg.Authoritative {
			return
		}
		var ns []string
		for _, x := range resp.Msg.Answer {
			if v, ok := x.(*dns.NS); ok && rr.Owner(x) == z.Name {
				ns = append(ns, dnsname.FromWire(v.Ns))
			}
		}
		sort.Strings(ns)
		mu.Lock()
		sv.NS = ns
		mu.Unlock()
	})
	wg.Go(func() {
		rec := recursion(ctx, s, ap)
		mu.Lock()
		sv.Recursion = rec
		mu.Unlock()
	})
	for i, name := range chaosNames {
		wg.Go(func() {
			txt := chaos(ctx, s, ap, name)
			mu.Lock()
			defer mu.Unlock()
			switch i {
			case 0:
				sv.Version = txt
			case 1:
				sv.VersionServer = txt
			case 2:
				sv.Hostname = txt
			case 3:
				sv.ID = txt
			}
		})
	}
	if !s.opts.NoAXFR {
		wg.Go(func() {
			outcome, n := transfer(ctx, s, z, ap, dns.TypeAXFR, 0)
			mu.Lock()
			sv.AXFR, sv.AXFRRecords = outcome, n
			mu.Unlock()
		})
		wg.Go(func() {
			serial := sv.Serial
			if serial > 0 {
				serial--
			}
			outcome, n := transfer(ctx, s, z, ap, dns.TypeIXFR, serial)
			mu.Lock()
			sv.IXFR, sv.IXFRRecords = outcome, n
			mu.Unlock()
		})
	}
	wg.Wait()
	return sv
}

// recursion reports whether the server at ap resolves a name outside its
// zones for us: it answers ". NS" with recursion available, not
// authoritatively, with data.
func recursion(ctx context.Context, s *scope, ap netip.AddrPort) bool {
	resp, err := s.direct(ctx, ap, resolver.Query{Name: ".", Type: dns.TypeNS, RD: true})
	if err != nil {
		return false
	}
	m := resp.Msg
	return m.RecursionAvailable && !m.Authoritative && m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0
}

// chaos asks a CHAOS-class TXT identity name and returns the text.
func chaos(ctx context.Context, s *scope, ap netip.AddrPort, name string) string {
	resp, err := s.direct(ctx, ap, resolver.Query{Name: name, Type: dns.TypeTXT, Class: dns.ClassCHAOS})
	if err != nil || resp.Msg.Rcode != dns.RcodeSuccess {
		return ""
	}
	var parts []string
	for _, x := range resp.Msg.Answer {
		if t, ok := x.(*dns.TXT); ok {
			parts = append(parts, strings.Join(t.Txt, ""))
		}
	}
	return strings.Join(parts, " ")
}

// transfer tries AXFR or IXFR of zone z from ap and keeps what it gets,
// within the per-transfer caps (Options.TransferMaxRecords,
// Options.TransferTimeout). It returns the outcome and the number of
// records received: a transfer cut short by a cap, by the end of the run
// or by the server is "partial" and its records are kept.
func transfer(ctx context.Context, s *scope, z *Zone, ap netip.AddrPort, qtype uint16, serial uint32) (string, int) {
	source, stage := SourceAXFR, "axfr"
	if qtype == dns.TypeIXFR {
		source, stage = SourceIXFR, "ixfr"
	}
	s.plan(1)
	defer s.done(1)
	tctx, cancel := context.WithTimeout(ctx, s.opts.TransferTimeout)
	defer cancel()
	n := 0
	var firstErr error
	capped := ""
	for env := range s.ex.Transfer(tctx, ap, z.Name, qtype, serial) {
		if env.Err != nil {
			if firstErr == nil {
				firstErr = env.Err
			}
			continue
		}
		if capped != "" {
			continue // draining what was sent before the cancellation
		}
		for _, x := range env.RR {
			if n >= s.opts.TransferMaxRecords {
				capped = fmt.Sprintf("stopped at the cap of %d records (--axfr-max-records)", s.opts.TransferMaxRecords)
				cancel()
				break
			}
			n++
			s.ledger.addName(rr.Owner(x), source)
			s.ledger.addRecord(x, source)
		}
	}
	switch {
	case capped == "" && ctx.Err() != nil:
		capped = "the run was stopped"
	case capped == "" && tctx.Err() != nil:
		capped = fmt.Sprintf("still sending after %v (--axfr-timeout)", s.opts.TransferTimeout)
	case capped == "" && errors.Is(firstErr, resolver.ErrTransferTooLarge) && n >= s.opts.TransferMaxRecords:
		// The resolver enforces the same cap, a message earlier.
		capped = fmt.Sprintf("stopped at the cap of %d records (--axfr-max-records)", s.opts.TransferMaxRecords)
	case capped == "" && errors.Is(firstErr, resolver.ErrTransferTooLarge):
		capped = errText(firstErr)
	}
	switch {
	case capped != "" && n > 0:
		s.ledger.gap(Gap{Stage: stage, Zone: z.Name, Server: ap.Addr().String(), Reason: fmt.Sprintf("%d records kept; %s", n, capped)})
		keepTransferred(s, z, qtype)
		return TransferPartial, n
	case firstErr == nil && n > 0:
		keepTransferred(s, z, qtype)
		return TransferAllowed, n
	case isRefusal(firstErr):
		return TransferRefused, n
	case n > 0:
		// Part of the zone arrived before the transfer broke: data leaked.
		s.ledger.gap(Gap{Stage: stage, Zone: z.Name, Server: ap.Addr().String(), Reason: fmt.Sprintf("%d records kept; the transfer broke off: %s", n, errText(firstErr))})
		keepTransferred(s, z, qtype)
		return TransferPartial, n
	default:
		if firstErr != nil {
			s.log.Debug("transfer failed", "zone", z.Name, "server", ap, "type", dns.TypeToString[qtype], "err", firstErr)
		}
		return TransferFailed, 0
	}
}

// keepTransferred notes that a transfer gave us zone z's content: its
// names are not asked for their types again (a partial transfer too: the
// names it brought came with their records, and a hostile server that
// streams invented names must not turn into millions of queries).
func keepTransferred(s *scope, z *Zone, qtype uint16) {
	if qtype != dns.TypeAXFR {
		return
	}
	s.ledger.markTransferred(z.Name)
}

// isRefusal reports whether a transfer error is the server saying no
// (REFUSED, NOTAUTH, NOTIMP, ...) rather than a network failure.
func isRefusal(err error) bool {
	return errors.Is(err, resolver.ErrTransferRefused)
}

// errText turns a query error into a short lower-case reason.
func errText(err error) string {
	switch {
	case errors.Is(err, resolver.ErrTimeout):
		return "timeout"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	}
	return err.Error()
}
