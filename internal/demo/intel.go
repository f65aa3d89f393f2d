package demo

import (
	"context"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/ipintel"
	"github.com/dnsscout/dnsscout/internal/passive"
)

// asTable maps the world's address ranges to the autonomous systems RFC
// 5398 sets aside for documentation, in iptoasn's TSV layout.
const asTable = "192.0.2.0\t192.0.2.255\t64500\tUS\tEXAMPLE-HOSTING\n" +
	"198.51.100.0\t198.51.100.255\t64501\tDE\tEXAMPLE-CLOUD\n" +
	"203.0.113.0\t203.0.113.255\t64502\tNL\tEXAMPLE-CDN\n" +
	"10.0.0.0\t10.255.255.255\t0\tNone\tNot routed\n"

// Annotator returns address intelligence for the demo world: the
// documentation ranges as three autonomous systems.
func Annotator() (*ipintel.Annotator, error) {
	t := &ipintel.Table{}
	if _, err := t.Load(strings.NewReader(asTable)); err != nil {
		return nil, err
	}
	return ipintel.NewAnnotator([]ipintel.Source{t}, 0, nil)
}

// PassiveSource returns what the demo's passive DNS "saw" in the past:
// names that still exist, a host that was removed, and an alias whose
// target at a hosting service is gone — the stuff of historic-dangling.
func PassiveSource() passive.Source { return staticSource{} }

type staticSource struct{}

func (staticSource) Name() string { return "demo-pdns" }

func (staticSource) Names(ctx context.Context, domain string, fn func(passive.Observation) error) error {
	first := time.Date(2024, 2, 12, 8, 0, 0, 0, time.UTC)
	last := time.Date(2025, 9, 30, 17, 0, 0, 0, time.UTC)
	seen := []struct{ name, typ, data string }{
		{"www.example.com", "A", "192.0.2.10"},
		{"old-portal.example.com", "A", "192.0.2.44"},
		{"promo.example.com", "CNAME", "example-promo-2024.azurewebsites.net."},
		{"mail.example.com", "A", "192.0.2.25"},
		{"ftp.example.net", "A", "203.0.113.21"},
		{"api.example.net", "A", "203.0.113.6"},
		{"zq-build-17.example.org", "A", "198.51.100.17"},
	}
	for _, s := range seen {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.name != domain && !strings.HasSuffix(s.name, "."+domain) {
			continue
		}
		o := passive.Observation{Name: s.name, Type: s.typ, Data: s.data, FirstSeen: first, LastSeen: last, Count: 42, Source: "demo-pdns"}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}
