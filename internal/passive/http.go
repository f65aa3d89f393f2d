package passive

// The HTTP plumbing every remote source shares: one client per source with
// a timeout per request, a token-bucket rate limit, bounded retries of
// server errors and transport failures, status codes mapped to the
// package's errors, and a cap on the body size.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// HTTPOptions tune one remote source's HTTP behaviour. The zero value of
// every field selects the default named in its comment.
type HTTPOptions struct {
	// Client sends the requests. Default: a client with its own transport
	// (proxies from the environment, as net/http does), no overall timeout
	// (Timeout below applies per request), and redirects followed only
	// within the same scheme and host (credentials never travel to
	// another host; a redirect elsewhere is an HTTPError with its 3xx).
	Client *http.Client
	// Timeout bounds one request, body included. Default 60s (crt.sh: 180s,
	// its answers are slow and large).
	Timeout time.Duration
	// Rate is the limit in requests per second (retries and pages
	// included). Default 1; negative means unlimited.
	Rate float64
	// Burst is the number of requests allowed at once. Default 1.
	Burst int
	// Retries is the number of further attempts after a 5xx status or a
	// transport failure (never after 4xx). Default 2; negative: none.
	Retries int
	// Backoff is the wait before the first retry, doubled for each further
	// one and jittered by ±50%. Default 2s.
	Backoff time.Duration
	// MaxBody caps the bytes read from one response. Default 256 MiB.
	MaxBody int64
	// UserAgent is sent with every request. Default
	// "dnsscout-passive/1 (+https://github.com/dnsscout/dnsscout)".
	UserAgent string
}

// Defaults of HTTPOptions.
const (
	DefaultTimeout   = 60 * time.Second
	DefaultRate      = 1.0
	DefaultRetries   = 2
	DefaultBackoff   = 2 * time.Second
	DefaultMaxBody   = 256 << 20
	DefaultUserAgent = "dnsscout-passive/1 (+https://github.com/dnsscout/dnsscout)"
)

func (o HTTPOptions) fill(timeout time.Duration) HTTPOptions {
	if o.Client == nil {
		o.Client = &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// net/http drops Authorization on a redirect to another host
			// but not X-API-Key: follow redirects only within the host.
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return errors.New("too many redirects")
				}
				if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
					return http.ErrUseLastResponse
				}
				return nil
			},
		}
	}
	if o.Timeout == 0 {
		o.Timeout = timeout
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Burst <= 0 {
		o.Burst = 1
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff == 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	return o
}

// client is the shared HTTP machinery of one source.
type client struct {
	name    string
	opts    HTTPOptions
	limiter *rate.Limiter // nil: unlimited
	log     *slog.Logger
}

func newClient(name string, o HTTPOptions, defTimeout time.Duration, log *slog.Logger) (*client, error) {
	if o.Timeout < 0 || o.Backoff < 0 {
		return nil, fmt.Errorf("%w: %s: negative timeout or backoff", ErrConfig, name)
	}
	o = o.fill(defTimeout)
	c := &client{name: name, opts: o, log: log}
	if o.Rate > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(o.Rate), o.Burst)
	}
	return c, nil
}

// HTTPError is the error of a response with an unexpected status. It
// unwraps to ErrAuth (401, 403), ErrQuota (429) or ErrHTTP.
type HTTPError struct {
	Source string
	URL    string // without credentials (they travel in headers)
	Status int
	// Msg is the start of the response body, or the service's error text.
	Msg string
	// RetryAfter is the wait the service asked for (429, 503); zero when
	// it did not say.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: HTTP %d", e.Source, e.URL, e.Status)
	switch e.Unwrap() {
	case ErrAuth:
		b.WriteString(" (credentials rejected: check the key or user:password)")
	case ErrQuota:
		b.WriteString(" (quota exhausted or rate limited")
		if e.RetryAfter > 0 {
			fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
		}
		b.WriteString(")")
	}
	if e.Msg != "" {
		fmt.Fprintf(&b, ": %s", e.Msg)
	}
	return b.String()
}

// Unwrap maps the status to the package's sentinel errors.
func (e *HTTPError) Unwrap() error {
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrAuth
	case http.StatusTooManyRequests:
		return ErrQuota
	}
	return ErrHTTP
}

// response is a successful response whose body the caller reads and
// closes. Reading more than MaxBody fails with ErrTruncated.
type response struct {
	*http.Response
	cancel context.CancelFunc
}

func (r *response) Close() error {
	err := r.Body.Close()
	r.cancel()
	return err
}

// get sends a GET to url with the headers set by prep, retrying 5xx and
// transport failures, and returns a 2xx response (or, when accept lists
// it, one of those statuses). Other statuses become *HTTPError.
func (c *client) get(ctx context.Context, url string, prep func(*http.Request), accept ...int) (*response, error) {
	var lastErr error
	for attempt := 0; attempt <= c.opts.Retries; attempt++ {
		if attempt > 0 {
			if err := c.sleep(ctx, attempt); err != nil {
				return nil, err
			}
		}
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
		}
		rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, c.name, err)
		}
		req.Header.Set("User-Agent", c.opts.UserAgent)
		if prep != nil {
			prep(req)
		}
		start := time.Now()
		resp, err := c.opts.Client.Do(req)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", c.name, ctx.Err())
			}
			lastErr = fmt.Errorf("%w: %s: %s: %v", ErrHTTP, c.name, url, err)
			c.log.Debug("request failed", "url", url, "attempt", attempt+1, "err", err)
			continue
		}
		c.log.Debug("response", "url", url, "status", resp.StatusCode, "rtt", time.Since(start))
		resp.Body = &limitedBody{rc: resp.Body, left: c.opts.MaxBody, name: c.name}
		if resp.StatusCode/100 == 2 || containsInt(accept, resp.StatusCode) {
			return &response{Response: resp, cancel: cancel}, nil
		}
		herr := c.statusError(resp, url)
		_ = resp.Body.Close()
		cancel()
		if resp.StatusCode/100 != 5 {
			return nil, herr
		}
		lastErr = herr
	}
	return nil, lastErr
}

func (c *client) statusError(resp *http.Response, url string) *HTTPError {
	e := &HTTPError{Source: c.name, URL: url, Status: resp.StatusCode}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(s); err == nil {
			e.RetryAfter = time.Until(t).Round(time.Second)
		}
	}
	if s := resp.Header.Get("X-RateLimit-Reset"); s != "" && e.RetryAfter == 0 && resp.StatusCode == http.StatusTooManyRequests {
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && n > 0 {
			e.RetryAfter = time.Until(time.Unix(n, 0)).Round(time.Second)
		}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	e.Msg = cleanMsg(string(body))
	return e
}

// cleanMsg turns the start of an error body into one printable line.
func cleanMsg(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func (c *client) sleep(ctx context.Context, attempt int) error {
	d := c.opts.Backoff << (attempt - 1)
	if d > time.Minute || d <= 0 {
		d = time.Minute
	}
	d = time.Duration(float64(d) * (0.5 + rand.Float64()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", c.name, ctx.Err())
	case <-t.C:
		return nil
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// limitedBody fails with ErrTruncated once more than left bytes are read.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	name string
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("%w: %s: response larger than the size limit", ErrTruncated, l.name)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%w: %s: response larger than the size limit", ErrTruncated, l.name)
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// readErr names the source in a body read error; deadline errors say the
// request timed out.
func readErr(name string, err error) error {
	if errors.Is(err, ErrTruncated) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: reading the response timed out: %v", ErrHTTP, name, err)
	}
	return fmt.Errorf("%w: %s: reading the response: %v", ErrHTTP, name, err)
}

// escapePath percent-escapes every byte outside A-Za-z0-9-._~ as dnsdbq
// does, so that "*" travels as %2A.
func escapePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
