package passive

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultDNSDBURL is the DNSDB API server (dnsdbq's default).
const DefaultDNSDBURL = "https://api.dnsdb.info"

// DNSDBOptions configure a DNSDBSource.
type DNSDBOptions struct {
	// URL is the server root; "/dnsdb/v2/..." is appended (a trailing
	// "/dnsdb/v2" is accepted and cut). Default DefaultDNSDBURL. A remote
	// dnsscout server is given by its root URL.
	URL string
	// Key is sent as X-API-Key. Required for DNSDB itself; a dnsscout
	// server may run without keys.
	Key string
	// Label is the source's Name. Default "dnsdb:" + URL.
	Label string
	// PageSize is the limit asked per request. Default 10,000 (DNSDB's
	// default limit).
	PageSize int
	// MaxResults stops the source after that many observations. Default
	// 100,000; negative means no cap.
	MaxResults int
	// HTTP tunes timeouts, rate, retries and size limits.
	HTTP HTTPOptions
	// Logger receives debug logs; nil discards.
	Logger *slog.Logger
}

// DNSDBSource queries a DNSDB API v2 server: rrset lookups of the domain
// itself and of *.domain (every name below it), paged with limit and
// offset, SAF-framed answers.
type DNSDBSource struct {
	base  string
	opts  DNSDBOptions
	http  *client
	log   *slog.Logger
	label string
}

var _ Source = (*DNSDBSource)(nil)

// NewDNSDBSource validates opts and returns the source.
func NewDNSDBSource(opts DNSDBOptions) (*DNSDBSource, error) {
	if opts.URL == "" {
		opts.URL = DefaultDNSDBURL
	}
	base, err := baseURL(opts.URL, "/dnsdb/v2")
	if err != nil {
		return nil, fmt.Errorf("%w: dnsdb: %v", ErrConfig, err)
	}
	if opts.Label == "" {
		opts.Label = "dnsdb:" + base
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 10000
	}
	if opts.MaxResults == 0 {
		opts.MaxResults = 100000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "passive", "source", opts.Label)
	c, err := newClient(opts.Label, opts.HTTP, DefaultTimeout, log)
	if err != nil {
		return nil, err
	}
	return &DNSDBSource{base: base, opts: opts, http: c, log: log, label: opts.Label}, nil
}

// Name implements Source.
func (s *DNSDBSource) Name() string { return s.label }

// Names implements Source.
func (s *DNSDBSource) Names(ctx context.Context, domain string, fn func(Observation) error) error {
	return namesAndBelow(ctx, domain, s.opts.MaxResults, s.log, s.lookup, fn)
}

// lookup pages through one rrset/name lookup.
func (s *DNSDBSource) lookup(ctx context.Context, value, domain string, max int, fn func(Observation) error) (int, error) {
	delivered, offset := 0, 0
	for {
		u := s.base + "/lookup/rrset/name/" + escapePath(value) +
			"?limit=" + strconv.Itoa(s.opts.PageSize) + "&swclient=dnsscout&version=1"
		if offset > 0 {
			u += "&offset=" + strconv.Itoa(offset)
		}
		resp, err := s.http.get(ctx, u, func(r *http.Request) {
			r.Header.Set("Accept", "application/x-ndjson")
			if s.opts.Key != "" {
				r.Header.Set("X-API-Key", s.opts.Key)
			}
		}, http.StatusRequestedRangeNotSatisfiable)
		if err != nil {
			return delivered, err
		}
		if resp.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			// Past the server's offset_max: nothing more can be paged.
			_ = resp.Close()
			s.log.Debug("offset beyond the server's maximum", "offset", offset)
			return delivered, nil
		}
		limit := 0
		if max > 0 {
			limit = max - delivered
		}
		res, err := readStream(ctx, resp.Body, domain, s.label, limit, s.log, fn)
		_ = resp.Close()
		delivered += res.delivered
		if err != nil {
			return delivered, err
		}
		if !res.saf {
			return delivered, fmt.Errorf("%w: %s: %s: answer is not SAF-framed (wrong URL?)", ErrProtocol, s.label, u)
		}
		// "limited" means the server cut the answer (at our limit or at its
		// own results_max): page on from where it stopped. Anything else
		// ends the lookup.
		if res.cond != "limited" || res.objects == 0 {
			return delivered, nil
		}
		offset += res.objects
	}
}

// baseURL checks a configured URL and returns it without a trailing slash,
// with suffix appended unless the path already ends with it.
func baseURL(raw, suffix string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("URL %q: want http:// or https:// and a host", raw)
	}
	if u.User != nil {
		return "", fmt.Errorf("URL %q: put credentials in the key or auth setting, not the URL", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("URL %q: no query or fragment expected", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if !strings.HasSuffix(u.Path, suffix) {
		u.Path += suffix
	}
	return u.String(), nil
}
