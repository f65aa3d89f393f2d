package recon

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"

	"github.com/dnsscout/dnsscout/internal/resolver"
)

// countingExchanger counts the queries of one run, so that several runs
// sharing a resolver each report their own figures, and hands every
// response to Options.Observe.
type countingExchanger struct {
	Exchanger
	// observe, when set, sees every response.
	observe                           func(*resolver.Response)
	queries, responses, timeouts, tcp atomic.Uint64
}

func (c *countingExchanger) count(resp *resolver.Response, err error) {
	c.queries.Add(1)
	switch {
	case err == nil:
		c.responses.Add(1)
		if c.observe != nil {
			c.observe(resp)
		}
		if resp.TCP {
			c.tcp.Add(1)
		}
	case errors.Is(err, resolver.ErrTimeout):
		c.timeouts.Add(1)
	}
}

func (c *countingExchanger) Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error) {
	resp, err := c.Exchanger.Exchange(ctx, q)
	c.count(resp, err)
	return resp, err
}

func (c *countingExchanger) Direct(ctx context.Context, server netip.AddrPort, q resolver.Query) (*resolver.Response, error) {
	resp, err := c.Exchanger.Direct(ctx, server, q)
	c.count(resp, err)
	return resp, err
}

func (c *countingExchanger) stats() Stats {
	return Stats{
		Queries:   c.queries.Load(),
		Responses: c.responses.Load(),
		Timeouts:  c.timeouts.Load(),
		TCP:       c.tcp.Load(),
	}
}
