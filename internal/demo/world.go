// Package demo builds dnsscout's built-in demonstration world: a small,
// realistic DNS hierarchy (a root, TLDs, reverse zones and three target
// domains with real exposure — an open zone transfer, private addresses in
// public records, internal names, a wildcard, an NSEC-signed and an
// NSEC3-signed zone, a dangling CNAME, an open resolver) served in-process
// on loopback, with an iterative resolver in front of it. It owns the zone
// data and the servers' lifetime; it does not run recon itself.
package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsworld"
)

// Domains are the targets of the demo, in the order recon reports them.
var Domains = []string{"example.com", "example.net", "example.org"}

// World is a running demo world.
type World struct {
	// Resolver is the address of the demo's recursive resolver.
	Resolver netip.AddrPort
	// Port is the port every demo nameserver listens on (recon's
	// NameserverPort).
	Port uint16
	// Servers maps each server address to what it serves, for people who
	// want to dig at it.
	Servers map[netip.Addr]string

	servers  []*dns.Server
	recursor *dnsworld.Recursor
	release  []func()
}

// Addresses of the world's servers. The whole world lives in
// 127.53.0.0/24, away from the addresses tests allocate.
var (
	addrRoot     = netip.MustParseAddr("127.53.0.1")
	addrTLD      = netip.MustParseAddr("127.53.0.2")
	addrReverse  = netip.MustParseAddr("127.53.0.3")
	addrNS1Com   = netip.MustParseAddr("127.53.0.10")
	addrNS2Com   = netip.MustParseAddr("127.53.0.11")
	addrDev      = netip.MustParseAddr("127.53.0.12")
	addrLame     = netip.MustParseAddr("127.53.0.13")
	addrNet      = netip.MustParseAddr("127.53.0.20")
	addrOrg      = netip.MustParseAddr("127.53.0.30")
	addrResolver = netip.MustParseAddr("127.53.0.53")
)

// Start builds the zones, signs the DNSSEC ones and serves everything on
// one free port of the world's loopback addresses. Close it when done.
func Start(ctx context.Context) (*World, error) {
	zones, err := buildZones()
	if err != nil {
		return nil, err
	}
	w := &World{Servers: map[netip.Addr]string{}}

	handlers := map[netip.Addr]dns.Handler{}
	serve := func(a netip.Addr, what string, h dns.Handler) {
		handlers[a] = h
		w.Servers[a] = what
	}
	root := dnsworld.NewZoneHandler(zones["."])
	serve(addrRoot, "root (.)", root)
	serve(addrTLD, "com, net, org", dnsworld.NewZoneHandler(zones["com."], zones["net."], zones["org."]))
	serve(addrReverse, "arpa and reverse zones", dnsworld.NewZoneHandler(zones["arpa."], zones["2.0.192.in-addr.arpa."], zones["100.51.198.in-addr.arpa."]))

	ns1 := dnsworld.NewZoneHandler(zones["example.com."])
	ns1.Version = "9.11.3-1ubuntu1.2-Ubuntu"
	ns1.Hostname = "ns1.corp.example.internal"
	serve(addrNS1Com, "example.com (ns1: open zone transfer, version disclosure)", ns1)

	ns2 := dnsworld.NewZoneHandler(zones["example.com. (closed)"])
	ns2.NSID = "fra1-ns2"

	serve(addrDev, "dev.example.com (delegated sub-zone)", dnsworld.NewZoneHandler(zones["dev.example.com."]))
	serve(addrLame, "nothing: a lame delegation of example.com", lameHandler{})
	net := dnsworld.NewZoneHandler(zones["example.net."])
	net.Version = "NSD 4.1.26"
	serve(addrNet, "example.net (NSEC-signed, wildcard)", net)
	serve(addrOrg, "example.org (NSEC3-signed)", dnsworld.NewZoneHandler(zones["example.org."]))

	port, listeners, err := listenAll(append(mapKeys(handlers), addrNS2Com, addrResolver))
	if err != nil {
		return nil, err
	}
	w.Port = port
	w.Resolver = netip.AddrPortFrom(addrResolver, port)
	w.recursor = dnsworld.NewRecursor([]netip.AddrPort{netip.AddrPortFrom(addrRoot, port)}, port)
	serve(addrNS2Com, "example.com (ns2: open resolver)", &dnsworld.OpenResolver{Zones: ns2, Recursor: w.recursor})
	serve(addrResolver, "recursive resolver", w.recursor)

	for a, l := range listeners {
		h := handlers[a]
		udp := &dns.Server{PacketConn: l.udp, Handler: h}
		tcp := &dns.Server{Listener: l.tcp, Handler: h}
		w.servers = append(w.servers, udp, tcp)
		for _, s := range []*dns.Server{udp, tcp} {
			started := make(chan struct{})
			s.NotifyStartedFunc = func() { close(started) }
			go func() { _ = s.ActivateAndServe() }()
			select {
			case <-started:
			case <-time.After(5 * time.Second):
				w.Close()
				return nil, fmt.Errorf("demo: server on %s did not start", a)
			case <-ctx.Done():
				w.Close()
				return nil, ctx.Err()
			}
		}
	}
	return w, nil
}

// Close stops every server of the world.
func (w *World) Close() {
	if w.recursor != nil {
		w.recursor.Close()
	}
	for _, s := range w.servers {
		_ = s.Shutdown()
	}
}

type listener struct {
	udp net.PacketConn
	tcp net.Listener
}

// listenAll finds one port free on every address (UDP and TCP) and opens
// it there.
func listenAll(addrs []netip.Addr) (uint16, map[netip.Addr]listener, error) {
	var lastErr error
	for range 50 {
		port := uint16(20000 + rand.IntN(40000))
		ls := map[netip.Addr]listener{}
		ok := true
		for _, a := range addrs {
			ap := netip.AddrPortFrom(a, port).String()
			u, err := net.ListenPacket("udp", ap)
			if err != nil {
				lastErr, ok = err, false
				break
			}
			t, err := net.Listen("tcp", ap)
			if err != nil {
				u.Close()
				lastErr, ok = err, false
				break
			}
			ls[a] = listener{u, t}
		}
		if ok {
			return port, ls, nil
		}
		for _, l := range ls {
			l.udp.Close()
			l.tcp.Close()
		}
	}
	return 0, nil, fmt.Errorf("demo: no free port on 127.53.0.0/24: %w", lastErr)
}

func mapKeys[V any](m map[netip.Addr]V) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// lameHandler answers every query without authority: a server that the
// parent delegates to but that does not serve the zone.
type lameHandler struct{}

func (lameHandler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeRefused)
	_ = w.WriteMsg(m)
}

var errZone = errors.New("demo: zone data")

// buildZones parses and signs the world's zones, keyed by origin. The
// parents of signed zones get their DS records; "example.com. (closed)"
// is example.com as ns2 serves it, with transfers refused.
func buildZones() (map[string]*dnsworld.Zone, error) {
	texts := zoneTexts()
	parse := func(origin, extra string) (*dnsworld.Zone, error) {
		z, err := dnsworld.ParseZone(origin, texts[origin]+extra)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errZone, origin, err)
		}
		return z, nil
	}
	out := map[string]*dnsworld.Zone{}
	signed := map[string]dnsworld.SignOptions{
		"example.net.": {},
		"example.org.": {NSEC3: true, Salt: "cafe", Iterations: 5},
	}
	ds := map[string]string{} // parent origin -> DS lines
	for origin, opts := range signed {
		z, err := parse(origin, "")
		if err != nil {
			return nil, err
		}
		if z, err = z.Sign(opts); err != nil {
			return nil, fmt.Errorf("%w: signing %s: %v", errZone, origin, err)
		}
		out[origin] = z
		parent := origin[strings.IndexByte(origin, '.')+1:]
		for _, r := range z.DS() {
			ds[parent] += r.String() + "\n"
		}
	}
	for origin := range texts {
		if out[origin] != nil {
			continue
		}
		z, err := parse(origin, ds[origin])
		if err != nil {
			return nil, err
		}
		out[origin] = z
	}
	out["example.com."].AllowTransfer = true
	closed, err := parse("example.com.", "")
	if err != nil {
		return nil, err
	}
	out["example.com. (closed)"] = closed
	return out, nil
}
