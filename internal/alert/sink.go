package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sink delivers messages to one destination. Send returns nil only once
// the destination has taken the message; an error wrapping ErrRejected
// means that retrying cannot help. A Dispatcher calls each sink from one
// goroutine at a time.
type Sink interface {
	Send(ctx context.Context, m *Message) error
}

// Target is a named sink as the Dispatcher runs it.
type Target struct {
	// Name is the sink's name in rules, stats and the spool.
	Name string
	// Type is for stats and logs ("webhook", "smtp", ...).
	Type string
	Sink Sink
	// Timeout bounds one attempt; zero means Options.SinkTimeout.
	Timeout time.Duration
}

// Env is what building sinks from a Config takes from the outside world.
type Env struct {
	// Getenv reads the *_env fields. Default os.Getenv.
	Getenv func(string) string
	// Stdout receives ndjson sinks without a path. Required by them.
	Stdout io.Writer
	// Now stamps webhook signatures and email dates. Default time.Now.
	Now func() time.Time
	// Hostname is syslog's HOSTNAME default. Default os.Hostname().
	Hostname string
	// EmailDigestBytes bounds the alert lines of one digest email; the
	// alerts past it are counted, with where to find them. Default
	// DefaultEmailDigestBytes.
	EmailDigestBytes int
}

// DefaultEmailDigestBytes is the default bound on the alert lines of a
// digest email: with 200 alerts in a digest (the Dispatcher's DigestMax)
// of some 300 bytes each, every alert fits.
const DefaultEmailDigestBytes = 256 << 10

func (e *Env) fill() {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Hostname == "" {
		e.Hostname, _ = os.Hostname()
	}
	if e.EmailDigestBytes <= 0 {
		e.EmailDigestBytes = DefaultEmailDigestBytes
	}
}

// NewTargets builds the sinks of a validated configuration.
func NewTargets(c *Config, env Env) ([]Target, error) {
	env.fill()
	out := make([]Target, 0, len(c.Sinks))
	for i := range c.Sinks {
		sc := &c.Sinks[i]
		s, err := newSink(sc, &env)
		if err != nil {
			return nil, fmt.Errorf("%w: sinks[%d] %q: %v", ErrConfig, i, sc.Name, err)
		}
		out = append(out, Target{Name: sc.Name, Type: sc.Type(), Sink: s, Timeout: time.Duration(sc.Timeout)})
	}
	return out, nil
}

func newSink(c *SinkConfig, env *Env) (Sink, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	switch {
	case c.Webhook != nil:
		return newWebhook(c.Webhook, env)
	case c.Slack != nil:
		p, err := newPoster(c.Slack.URL, c.Slack.URLEnv, &c.Slack.TLS, env)
		if err != nil {
			return nil, fmt.Errorf("slack.%v", err)
		}
		return &slackSink{p: p}, nil
	case c.Mattermost != nil:
		p, err := newPoster(c.Mattermost.URL, c.Mattermost.URLEnv, &c.Mattermost.TLS, env)
		if err != nil {
			return nil, fmt.Errorf("mattermost.%v", err)
		}
		return &mattermostSink{p: p, cfg: *c.Mattermost}, nil
	case c.SMTP != nil:
		return newSMTP(c.SMTP, env)
	case c.Syslog != nil:
		return newSyslog(c.Syslog, env)
	case c.NDJSON != nil:
		return newNDJSON(c.NDJSON, env)
	}
	return nil, fmt.Errorf("no sink type")
}

// fromEnv returns v, or the value of the environment variable name.
func fromEnv(env *Env, field, v, name string) (string, error) {
	if name == "" {
		return v, nil
	}
	v = env.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s: environment variable %s is empty or unset", field, name)
	}
	return v, nil
}

// tlsConfig builds a client TLS configuration for host.
func tlsConfig(t *TLSConfig, host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.ServerName != "" {
		cfg.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate", quote(t.CAFile))
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// poster POSTs JSON bodies to one URL.
type poster struct {
	url    string
	safe   string // the URL without its path, for errors
	client *http.Client
}

func newPoster(u, env string, t *TLSConfig, e *Env) (*poster, error) {
	u, err := fromEnv(e, "url_env", u, env)
	if err != nil {
		return nil, err
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("url from %s: want http(s)://HOST/...", env)
	}
	tc, err := tlsConfig(t, pu.Hostname())
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	client := &http.Client{
		Transport: tr,
		// A redirect is an error: a POST must not wander off.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &poster{url: u, safe: redactURL(pu), client: client}, nil
}

// retryAfterError carries the receiver's Retry-After.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// post sends body; see classify for what the status codes mean.
func (p *poster) post(ctx context.Context, body []byte, hdr http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dnsscout-alert")
	res, err := p.client.Do(req)
	if err != nil {
		// The error text holds the URL (and a Slack token); keep the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %w", p.safe, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return classify(p.safe, res, b)
}

// classify turns an HTTP answer into nil (2xx), ErrRejected (400, 413,
// 422: the receiver will never take this body) or a temporary error,
// carrying Retry-After for 429 and 503.
func classify(where string, res *http.Response, body []byte) error {
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return nil
	}
	msg := strings.TrimSpace(string(body))
	err := fmt.Errorf("POST %s: %s: %s", where, res.Status, quote(msg))
	switch res.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return fmt.Errorf("%w: %v", ErrRejected, err)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if n, perr := strconv.Atoi(strings.TrimSpace(res.Header.Get("Retry-After"))); perr == nil && n > 0 {
			return &retryAfterError{err: err, after: time.Duration(n) * time.Second}
		}
	}
	return err
}

// dial opens a connection for one attempt of the SMTP and syslog sinks:
// ctx's deadline is the connection's, and ctx's end interrupts whatever
// read or write is in progress. Call stop, then close the connection.
func dial(ctx context.Context, network, addr string) (conn net.Conn, stop func() bool, err error) {
	d := net.Dialer{KeepAlive: -1}
	conn, err = d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return conn, stop, nil
}
