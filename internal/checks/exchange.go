package checks

import (
	"context"
	"net/netip"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

// Exchanger is what the network checks need of the resolver: recursive
// queries through the resolver pool and direct queries to one server.
// *resolver.Resolver implements it.
type Exchanger interface {
	Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error)
	Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error)
}

// lookupKey identifies one recursive question; dnssec sets DO and CD.
type lookupKey struct {
	name   string
	qtype  uint16
	dnssec bool
}

type lookupCall struct {
	done chan struct{}
	msg  *dns.Msg
	err  error
}

// lookupCache shares the answers of recursive questions between checks of
// one run (dangling-cname and dangling-ns often ask the same registrable
// domain) and collapses concurrent identical questions into one query.
type lookupCache struct {
	mu    sync.Mutex
	calls map[lookupKey]*lookupCall
}

// lookup asks the resolver pool name/qtype (RD=1). It returns
// errOffline when env has no Exchanger.
func (e *Env) lookup(ctx context.Context, name string, qtype uint16, dnssec bool) (*dns.Msg, error) {
	if e.Exchanger == nil {
		return nil, errOffline
	}
	key := lookupKey{dnsname.FromWire(name), qtype, dnssec}
	e.cache.mu.Lock()
	if e.cache.calls == nil {
		e.cache.calls = make(map[lookupKey]*lookupCall)
	}
	c, ok := e.cache.calls[key]
	if !ok {
		c = &lookupCall{done: make(chan struct{})}
		e.cache.calls[key] = c
	}
	e.cache.mu.Unlock()
	if !ok {
		resp, err := e.Exchanger.Exchange(ctx, resolver.Query{
			Name: dnsname.FQDN(key.name), Type: qtype, DO: dnssec, CD: dnssec,
		})
		c.msg, c.err = responseMsg(resp, err)
		if ctx.Err() != nil {
			// A cancelled question is no answer: let a later caller ask.
			e.cache.mu.Lock()
			delete(e.cache.calls, key)
			e.cache.mu.Unlock()
		}
		close(c.done)
	}
	select {
	case <-c.done:
		return c.msg, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// direct asks one server name/qtype without recursion.
func (e *Env) direct(ctx context.Context, server netip.AddrPort, name string, qtype uint16, dnssec bool) (*dns.Msg, error) {
	if e.Exchanger == nil {
		return nil, errOffline
	}
	resp, err := e.Exchanger.Direct(ctx, server, resolver.Query{
		Name: dnsname.FQDN(name), Type: qtype, DO: dnssec, CD: dnssec,
	})
	return responseMsg(resp, err)
}

func responseMsg(resp *resolver.Response, err error) (*dns.Msg, error) {
	if err != nil {
		return nil, err
	}
	if resp == nil || resp.Msg == nil {
		return nil, errNoMessage
	}
	return resp.Msg, nil
}

// nameState is what a recursive lookup says about a name's existence.
type nameState int

const (
	stateUnknown  nameState = iota // no usable answer (timeout, SERVFAIL, offline)
	stateExists                    // NOERROR (with or without data)
	stateNXDomain                  // NXDOMAIN
)

// exists asks for name/qtype and classifies the answer.
func (e *Env) exists(ctx context.Context, name string, qtype uint16) (nameState, *dns.Msg) {
	m, err := e.lookup(ctx, name, qtype, false)
	if err != nil {
		if err != errOffline {
			e.Logger.Debug("lookup failed", "name", name, "type", dns.TypeToString[qtype], "err", err)
		}
		return stateUnknown, nil
	}
	switch m.Rcode {
	case dns.RcodeSuccess:
		return stateExists, m
	case dns.RcodeNameError:
		return stateNXDomain, m
	}
	e.Logger.Debug("lookup inconclusive", "name", name, "type", dns.TypeToString[qtype], "rcode", dns.RcodeToString[m.Rcode])
	return stateUnknown, m
}

// serverAddr turns a recon address string into an address and port (the
// port given, else port).
func serverAddr(s string, port uint16) (netip.AddrPort, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), port), true
}
