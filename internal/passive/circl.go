package passive

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// DefaultCIRCLURL is CIRCL's passive DNS query endpoint.
const DefaultCIRCLURL = "https://www.circl.lu/pdns/query"

// CIRCLOptions configure a CIRCLSource.
type CIRCLOptions struct {
	// URL is the query endpoint; "/<value>" is appended. A URL whose path
	// does not end in "/pdns/query" gets it appended, so a remote dnsscout
	// server can be given by its root URL. Default DefaultCIRCLURL.
	URL string
	// Auth is "user:password" (sent as HTTP Basic) or a token (sent as the
	// raw Authorization header). CIRCL's service needs it.
	Auth string
	// Label is the source's Name. Default "circl:" + URL.
	Label string
	// PageSize is sent as dribble-paginate-count. Default 10,000.
	PageSize int
	// MaxResults stops the source after that many observations. Default
	// 100,000; negative means no cap.
	MaxResults int
	// HTTP tunes timeouts, rate, retries and size limits.
	HTTP HTTPOptions
	// Logger receives debug logs; nil discards.
	Logger *slog.Logger
}

// CIRCLSource queries a CIRCL-compatible passive DNS API:
// GET <url>/<domain> and GET <url>/*.<domain>, COF NDJSON answers, paged
// with the dribble-paginate-cursor / x-dribble-cursor headers. It always
// sends dribble-disable-active-query so that the service does not query
// the target's servers on our behalf.
type CIRCLSource struct {
	base  string
	opts  CIRCLOptions
	http  *client
	log   *slog.Logger
	label string
}

var _ Source = (*CIRCLSource)(nil)

// NewCIRCLSource validates opts and returns the source.
func NewCIRCLSource(opts CIRCLOptions) (*CIRCLSource, error) {
	if opts.URL == "" {
		opts.URL = DefaultCIRCLURL
	}
	base, err := baseURL(opts.URL, "/pdns/query")
	if err != nil {
		return nil, fmt.Errorf("%w: circl: %v", ErrConfig, err)
	}
	if strings.ContainsAny(opts.Auth, "\r\n") {
		return nil, fmt.Errorf("%w: circl: auth contains a line break", ErrConfig)
	}
	if opts.Label == "" {
		opts.Label = "circl:" + base
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
	return &CIRCLSource{base: base, opts: opts, http: c, log: log, label: opts.Label}, nil
}

// Name implements Source.
func (s *CIRCLSource) Name() string { return s.label }

// authHeader renders Auth as an Authorization header value.
func authHeader(auth string) string {
	if user, pass, ok := strings.Cut(auth, ":"); ok && !strings.ContainsAny(auth, " ") {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	return auth
}

// Names implements Source.
func (s *CIRCLSource) Names(ctx context.Context, domain string, fn func(Observation) error) error {
	return namesAndBelow(ctx, domain, s.opts.MaxResults, s.log, s.query, fn)
}

// maxPages bounds the pages of one query, against a server whose cursor
// never ends.
const maxPages = 10000

func (s *CIRCLSource) query(ctx context.Context, value, domain string, max int, fn func(Observation) error) (int, error) {
	u := s.base + "/" + escapePath(value)
	delivered := 0
	cursor := ""
	seen := make(map[string]bool)
	for page := 0; ; page++ {
		if page == maxPages {
			return delivered, fmt.Errorf("%w: %s: %s: more than %d pages", ErrProtocol, s.label, u, maxPages)
		}
		resp, err := s.http.get(ctx, u, func(r *http.Request) {
			r.Header.Set("Accept", "application/x-ndjson, application/json;q=0.9")
			r.Header.Set("dribble-disable-active-query", "1")
			r.Header.Set("dribble-paginate-count", strconv.Itoa(s.opts.PageSize))
			if cursor != "" {
				r.Header.Set("dribble-paginate-cursor", cursor)
			}
			if s.opts.Auth != "" {
				r.Header.Set("Authorization", authHeader(s.opts.Auth))
			}
		})
		if err != nil {
			return delivered, err
		}
		if e := resp.Header.Get("x-dribble-errors"); e != "" {
			s.log.Debug("server reported errors", "x-dribble-errors", cleanMsg(e))
		}
		next := strings.TrimSpace(resp.Header.Get("x-dribble-cursor"))
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
		if next == "" || next == "0" || res.objects == 0 {
			return delivered, nil
		}
		if len(next) > 1024 {
			return delivered, fmt.Errorf("%w: %s: %s: x-dribble-cursor longer than 1024 bytes", ErrProtocol, s.label, u)
		}
		if seen[next] {
			return delivered, fmt.Errorf("%w: %s: %s: x-dribble-cursor %q repeats", ErrProtocol, s.label, u, cleanMsg(next))
		}
		seen[next] = true
		cursor = next
	}
}
