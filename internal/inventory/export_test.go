package inventory

import (
	"testing"

	"github.com/dnsscout/dnsscout/internal/resolver"
)

// Hooks for the external tests of package inventory_test, which may
// import what imports inventory (watch's history sink).

// StartPortfolio starts the test world of n domains (lame of them lame)
// and returns its domains and an engine asking its resolver.
func StartPortfolio(t *testing.T, n, lame int) ([]string, *resolver.Resolver) {
	p := startPortfolio(t, n, lame)
	return p.domains, newEngine(t, p.resolver)
}

// PortfolioOptions are the inventory options the world's tests use.
var PortfolioOptions = portfolioOptions
