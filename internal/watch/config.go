package watch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/dnsname"
)

// Config is a watch configuration file (JSON; docs/watch.md is its
// reference):
//
//	{"every": "6h",
//	 "domains": [{"domain": "example.com"}, {"domain": "example.net", "every": "1h"}],
//	 "alerts": {"rules": [...], "sinks": [...]}}
type Config struct {
	// Every is the default interval between two scans of a domain.
	// Default 6h; at least MinInterval.
	Every alert.Duration `json:"every,omitempty"`
	// Domains are the watched domains. dnsscout watch needs at least
	// one; serve --watch may start with none and take them from the API
	// (POST /api/v1/domains).
	Domains []DomainConfig `json:"domains"`
	// Alerts routes the changes to sinks (package alert's configuration).
	// Optional: without it the history is kept and nothing is sent.
	Alerts *alert.Config `json:"alerts,omitempty"`
}

// DomainConfig is one watched domain.
type DomainConfig struct {
	// Domain is the name (Unicode names are converted to A-labels).
	Domain string `json:"domain"`
	// Every overrides Config.Every for this domain.
	Every alert.Duration `json:"every,omitempty"`
}

// Domain is a watched domain with its interval.
type Domain struct {
	Name  string
	Every time.Duration
}

// Limits and defaults of a configuration.
const (
	// DefaultEvery is the interval when neither the file nor --every
	// gives one.
	DefaultEvery = 6 * time.Hour
	// MinInterval is the shortest interval a configuration may ask for
	// (tests set shorter ones through Options).
	MinInterval = time.Second
	// MaxDomains bounds the domains of one configuration.
	MaxDomains = 100_000
	// maxConfigBytes bounds a configuration file.
	maxConfigBytes = 16 << 20
)

// ParseConfig reads a JSON watch configuration and validates it. Unknown
// fields are errors (a typo must not silence an alert); syntax errors give
// the line and column.
func ParseConfig(data []byte) (*Config, error) {
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrConfig, len(data), maxConfigBytes)
	}
	// The alerts block is parsed by package alert, so that its errors and
	// its normalisation are the same as everywhere else.
	var raw struct {
		Every   alert.Duration  `json:"every,omitempty"`
		Domains []DomainConfig  `json:"domains"`
		Alerts  json.RawMessage `json:"alerts,omitempty"`
	}
	if err := alert.DecodeStrict(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c := &Config{Every: raw.Every, Domains: raw.Domains}
	if len(raw.Alerts) > 0 && string(raw.Alerts) != "null" {
		a, err := alert.ParseConfig(raw.Alerts)
		if err != nil {
			return nil, fmt.Errorf("%w: alerts: %v", ErrConfig, strings.TrimPrefix(err.Error(), alert.ErrConfig.Error()+": "))
		}
		c.Alerts = a
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks c and normalises its domains in place (A-labels, lower
// case, no final dot).
func (c *Config) Validate() error {
	if c.Every < 0 || c.Every != 0 && time.Duration(c.Every) < MinInterval {
		return fmt.Errorf("%w: every: %v is shorter than %v", ErrConfig, time.Duration(c.Every), MinInterval)
	}
	if len(c.Domains) > MaxDomains {
		return fmt.Errorf("%w: domains: %d, more than %d", ErrConfig, len(c.Domains), MaxDomains)
	}
	seen := make(map[string]int, len(c.Domains))
	for i := range c.Domains {
		d := &c.Domains[i]
		n, err := NormalizeDomain(d.Domain)
		if err != nil {
			return fmt.Errorf("%w: domains[%d]: %v", ErrConfig, i, err)
		}
		if j, dup := seen[n]; dup {
			return fmt.Errorf("%w: domains[%d]: %s is also domains[%d]", ErrConfig, i, n, j)
		}
		seen[n] = i
		d.Domain = n
		if d.Every < 0 || d.Every != 0 && time.Duration(d.Every) < MinInterval {
			return fmt.Errorf("%w: domains[%d] %s: every: %v is shorter than %v", ErrConfig, i, n, time.Duration(d.Every), MinInterval)
		}
	}
	return nil
}

// WatchList returns the domains with their intervals: a domain's own, the
// file's, or def (DefaultEvery when zero), in the file's order.
func (c *Config) WatchList(def time.Duration) []Domain {
	if c.Every > 0 {
		def = time.Duration(c.Every)
	}
	if def <= 0 {
		def = DefaultEvery
	}
	out := make([]Domain, 0, len(c.Domains))
	for _, d := range c.Domains {
		every := def
		if d.Every > 0 {
			every = time.Duration(d.Every)
		}
		out = append(out, Domain{Name: d.Domain, Every: every})
	}
	return out
}

// NormalizeDomain checks a watched domain and returns its identity form.
func NormalizeDomain(s string) (string, error) {
	n, err := dnsname.Normalize(s)
	if err != nil {
		return "", fmt.Errorf("domain %s: %v", quote(s), err)
	}
	if n == "" || strings.Contains(n, "*") {
		return "", fmt.Errorf("domain %s: not a domain name", quote(s))
	}
	return n, nil
}

// DomainsFromArgs builds a watch list from command-line domains, each
// scanned every every.
func DomainsFromArgs(args []string, every time.Duration) ([]Domain, error) {
	if every <= 0 {
		every = DefaultEvery
	}
	var out []Domain
	for _, a := range args {
		n, err := NormalizeDomain(a)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		if !slices.ContainsFunc(out, func(d Domain) bool { return d.Name == n }) {
			out = append(out, Domain{Name: n, Every: every})
		}
	}
	return out, nil
}

// quote quotes at most 80 bytes of s for an error message.
func quote(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q...", s[:80])
	}
	return fmt.Sprintf("%q", s)
}
