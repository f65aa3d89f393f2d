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

// nameservers finds every nameserver of zone z (parent-side NS, child-side
// NS, SOA MNAME), resolves each name to all its addresses, and asks every
// address what it serves and reveals. It may run again for the same zone
// (a zone reached through its delegation first learns its own NS set
// later): names already probed only gain sources.
func (r *run) nameservers(ctx context.Context, z *Zone) {
	r.mu.Lock()
	child := append([]string(nil), z.ChildNS...)
	mname := ""
	if z.SOA != "" {
		mname = dnsname.FromWire(strings.Fields(z.SOA)[0])
	}
	r.mu.Unlock()

	parent, glue := r.parentNS(ctx, z.Name)
	r.mu.Lock()
	z.ParentNS = parent
	r.mu.Unlock()

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
	r.mu.Lock()
	for n, src := range sources {
		if i, done := r.nsIndex[[2]string{z.Name, n}]; done {
			ns := &r.res.Nameservers[i]
			for _, x := range src {
				ns.Sources = appendUnique(ns.Sources, x)
			}
			continue
		}
		names = append(names, n)
	}
	r.mu.Unlock()
	sort.Strings(names)

	nss := make([]Nameserver, len(names))
	parallel(ctx, len(names), len(names), func(i int) {
		ns := &nss[i]
		*ns = Nameserver{Name: names[i], Zone: z.Name, Sources: sources[names[i]], Addresses: []string{}, Servers: []Server{}}
		addrs, errText := r.addresses(ctx, ns.Name)
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
			ns.Servers[j] = r.server(ctx, z, addrs[j])
		})
		ns.Servers = slices.DeleteFunc(ns.Servers, func(s Server) bool { return s.Address == "" })
	})

	r.mu.Lock()
	for i := range nss {
		if nss[i].Name == "" {
			continue // never started: the run was interrupted
		}
		key := [2]string{z.Name, nss[i].Name}
		if _, dup := r.nsIndex[key]; dup {
			continue
		}
		r.nsIndex[key] = len(r.res.Nameservers)
		r.res.Nameservers = append(r.res.Nameservers, nss[i])
		for _, s := range nss[i].Servers {
			if s.Authoritative {
				ap := netip.AddrPortFrom(netip.MustParseAddr(s.Address), r.opts.NameserverPort)
				if !slices.Contains(r.auth[z.Name], ap) {
					r.auth[z.Name] = append(r.auth[z.Name], ap)
				}
			}
		}
	}
	r.mu.Unlock()
	for i := range nss {
		if nss[i].Name == "" {
			continue
		}
		ns := nss[i]
		r.emit(Event{Nameserver: &ns})
	}
}

// parentNS returns the NS names the parent zone delegates zone to
// (sorted) and the glue addresses it gives for them, as the parent's own
// servers answer (see delegationOf). The root has no parent.
func (r *run) parentNS(ctx context.Context, zone string) ([]string, map[string][]netip.Addr) {
	if zone == "." {
		return nil, nil
	}
	d, err := r.delegationOf(ctx, zone)
	if err != nil || d.zone != zone {
		return nil, nil
	}
	return d.ns, d.glue
}

// addresses resolves a host name to all its IPv4 and IPv6 addresses. The
// second result explains an empty answer ("nxdomain", "no address",
// "timeout", ...).
func (r *run) addresses(ctx context.Context, host string) ([]netip.Addr, string) {
	var (
		mu    sync.Mutex
		addrs []netip.Addr
		why   []string
	)
	types := []uint16{dns.TypeA, dns.TypeAAAA}
	parallel(ctx, 2, 2, func(i int) {
		m, err := r.query(ctx, host, types[i])
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

// server asks one nameserver address about zone z: authority and serial,
// the NS set it serves, recursion, CHAOS identity, NSID, and zone
// transfers.
func (r *run) server(ctx context.Context, z *Zone, addr netip.Addr) Server {
	ap := netip.AddrPortFrom(addr, r.opts.NameserverPort)
	s := Server{Address: addr.String(), AXFR: TransferSkipped, IXFR: TransferSkipped}

	soa, err := r.direct(ctx, ap, resolver.Query{Name: z.Name, Type: dns.TypeSOA, NSID: true})
	if err != nil {
		s.Error = errText(err)
		return s
	}
	s.Responding = true
	s.NSID = resolver.NSID(soa.Msg)
	if soa.Msg.Rcode == dns.RcodeSuccess && soa.Msg.Authoritative {
		for _, x := range soa.Msg.Answer {
			if v, ok := x.(*dns.SOA); ok && rr.Owner(x) == z.Name {
				s.Authoritative = true
				s.Serial = v.Serial
			}
		}
	}
	if !s.Authoritative {
		s.Error = "not authoritative: " + strings.ToLower(dns.RcodeToString[soa.Msg.Rcode])
		if soa.Msg.Rcode == dns.RcodeSuccess && !soa.Msg.Authoritative {
			s.Error = "not authoritative: answer without AA"
		}
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Go(func() {
		resp, err := r.direct(ctx, ap, resolver.Query{Name: z.Name, Type: dns.TypeNS})
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
		s.NS = ns
		mu.Unlock()
	})
	wg.Go(func() {
		rec := r.recursion(ctx, ap)
		mu.Lock()
		s.Recursion = rec
		mu.Unlock()
	})
	for i, name := range chaosNames {
		wg.Go(func() {
			txt := r.chaos(ctx, ap, name)
			mu.Lock()
			defer mu.Unlock()
			switch i {
			case 0:
				s.Version = txt
			case 1:
				s.VersionServer = txt
			case 2:
				s.Hostname = txt
			case 3:
				s.ID = txt
			}
		})
	}
	if !r.opts.NoAXFR {
		wg.Go(func() {
			outcome, n := r.transfer(ctx, z, ap, dns.TypeAXFR, 0)
			mu.Lock()
			s.AXFR, s.AXFRRecords = outcome, n
			mu.Unlock()
		})
		wg.Go(func() {
			serial := s.Serial
			if serial > 0 {
				serial--
			}
			outcome, n := r.transfer(ctx, z, ap, dns.TypeIXFR, serial)
			mu.Lock()
			s.IXFR, s.IXFRRecords = outcome, n
			mu.Unlock()
		})
	}
	wg.Wait()
	return s
}

// recursion reports whether the server at ap resolves a name outside its
// zones for us: it answers ". NS" with recursion available, not
// authoritatively, with data.
func (r *run) recursion(ctx context.Context, ap netip.AddrPort) bool {
	resp, err := r.direct(ctx, ap, resolver.Query{Name: ".", Type: dns.TypeNS, RD: true})
	if err != nil {
		return false
	}
	m := resp.Msg
	return m.RecursionAvailable && !m.Authoritative && m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0
}

// chaos asks a CHAOS-class TXT identity name and returns the text.
func (r *run) chaos(ctx context.Context, ap netip.AddrPort, name string) string {
	resp, err := r.direct(ctx, ap, resolver.Query{Name: name, Type: dns.TypeTXT, Class: dns.ClassCHAOS})
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
func (r *run) transfer(ctx context.Context, z *Zone, ap netip.AddrPort, qtype uint16, serial uint32) (string, int) {
	source, stage := SourceAXFR, "axfr"
	if qtype == dns.TypeIXFR {
		source, stage = SourceIXFR, "ixfr"
	}
	r.plan(1)
	defer r.done(1)
	tctx, cancel := context.WithTimeout(ctx, r.opts.TransferTimeout)
	defer cancel()
	n := 0
	var firstErr error
	capped := ""
	for env := range r.ex.Transfer(tctx, ap, z.Name, qtype, serial) {
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
			if n >= r.opts.TransferMaxRecords {
				capped = fmt.Sprintf("stopped at the cap of %d records (--axfr-max-records)", r.opts.TransferMaxRecords)
				cancel()
				break
			}
			n++
			r.addName(rr.Owner(x), source)
			r.addRecord(x, source)
		}
	}
	switch {
	case capped == "" && ctx.Err() != nil:
		capped = "the run was stopped"
	case capped == "" && tctx.Err() != nil:
		capped = fmt.Sprintf("still sending after %v (--axfr-timeout)", r.opts.TransferTimeout)
	case capped == "" && errors.Is(firstErr, resolver.ErrTransferTooLarge) && n >= r.opts.TransferMaxRecords:
		// The resolver enforces the same cap, a message earlier.
		capped = fmt.Sprintf("stopped at the cap of %d records (--axfr-max-records)", r.opts.TransferMaxRecords)
	case capped == "" && errors.Is(firstErr, resolver.ErrTransferTooLarge):
		capped = errText(firstErr)
	}
	switch {
	case capped != "" && n > 0:
		r.gap(Gap{Stage: stage, Zone: z.Name, Server: ap.Addr().String(), Reason: fmt.Sprintf("%d records kept; %s", n, capped)})
		r.keepTransferred(z, qtype)
		return TransferPartial, n
	case firstErr == nil && n > 0:
		r.keepTransferred(z, qtype)
		return TransferAllowed, n
	case isRefusal(firstErr):
		return TransferRefused, n
	case n > 0:
		// Part of the zone arrived before the transfer broke: data leaked.
		r.gap(Gap{Stage: stage, Zone: z.Name, Server: ap.Addr().String(), Reason: fmt.Sprintf("%d records kept; the transfer broke off: %s", n, errText(firstErr))})
		r.keepTransferred(z, qtype)
		return TransferPartial, n
	default:
		if firstErr != nil {
			r.log.Debug("transfer failed", "zone", z.Name, "server", ap, "type", dns.TypeToString[qtype], "err", firstErr)
		}
		return TransferFailed, 0
	}
}

// keepTransferred notes that a transfer gave us zone z's content: its
// names are not asked for their types again (a partial transfer too: the
// names it brought came with their records, and a hostile server that
// streams invented names must not turn into millions of queries).
func (r *run) keepTransferred(z *Zone, qtype uint16) {
	if qtype != dns.TypeAXFR {
		return
	}
	r.mu.Lock()
	r.transferred[z.Name] = true
	r.mu.Unlock()
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
