package passive

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnsname"
)

// DefaultCrtShURL is crt.sh's search endpoint.
const DefaultCrtShURL = "https://crt.sh/"

// CrtShOptions configure a CrtShSource.
type CrtShOptions struct {
	// URL is the search endpoint; "?q=%25.<domain>&output=json" is
	// appended. Default DefaultCrtShURL.
	URL string
	// Label is the source's Name. Default "crtsh".
	Label string
	// ExcludeExpired asks crt.sh to leave out expired certificates
	// (&exclude=expired). Default false: expired certificates name hosts
	// that may be forgotten, which is what recon looks for.
	ExcludeExpired bool
	// MaxEntries stops reading after that many certificate entries.
	// Default 1,000,000; negative means no cap.
	MaxEntries int
	// HTTP tunes timeouts, rate, retries and size limits. Its Timeout
	// defaults to 180s here.
	HTTP HTTPOptions
	// Logger receives debug logs; nil discards.
	Logger *slog.Logger
	// Now returns the current time (to clip not_after); default time.Now.
	Now func() time.Time
}

// CrtShSource finds names in certificate transparency logs through
// crt.sh's JSON interface: every DNS name of every logged certificate
// whose identities end in .domain. Names are taken from name_value and
// common_name, lower-cased, IDNA-normalized, with a leading "*." stripped
// (*.a.example.com -> a.example.com); e-mail addresses, IP addresses and
// names outside the domain are dropped. One observation per name, without
// a record: FirstSeen is the earliest not_before, LastSeen the latest
// not_after (clipped to now), Count the number of certificates, Detail the
// newest certificate's crt.sh id and issuer.
type CrtShSource struct {
	base  string
	opts  CrtShOptions
	http  *client
	log   *slog.Logger
	label string
}

var _ Source = (*CrtShSource)(nil)

// NewCrtShSource validates opts and returns the source.
func NewCrtShSource(opts CrtShOptions) (*CrtShSource, error) {
	if opts.URL == "" {
		opts.URL = DefaultCrtShURL
	}
	u, err := url.Parse(strings.TrimSpace(opts.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("%w: crtsh: URL %q: want http(s)://host/path without a query", ErrConfig, opts.URL)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	if opts.Label == "" {
		opts.Label = "crtsh"
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = 1_000_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "passive", "source", opts.Label)
	c, err := newClient(opts.Label, opts.HTTP, 180*time.Second, log)
	if err != nil {
		return nil, err
	}
	return &CrtShSource{base: u.String(), opts: opts, http: c, log: log, label: opts.Label}, nil
}

// Name implements Source.
func (s *CrtShSource) Name() string { return s.label }

// Names implements Source.
func (s *CrtShSource) Names(ctx context.Context, domain string, fn func(Observation) error) error {
	d, err := CheckDomain(domain)
	if err != nil {
		return err
	}
	u := s.base + "?q=" + url.QueryEscape("%."+d) + "&output=json"
	if s.opts.ExcludeExpired {
		u += "&exclude=expired"
	}
	resp, err := s.http.get(ctx, u, func(r *http.Request) { r.Header.Set("Accept", "application/json") })
	if err != nil {
		return err
	}
	defer resp.Close()
	names, rerr := readCrtSh(ctx, resp.Body, d, s.opts.MaxEntries, s.log)
	switch {
	case errors.Is(rerr, errLimit):
		s.log.Debug("entry cap reached", "max", s.opts.MaxEntries)
		rerr = nil
	case errors.Is(rerr, ErrProtocol) || errors.Is(rerr, ErrTruncated):
		rerr = fmt.Errorf("%s: %s: %w", s.label, u, rerr)
	case rerr != nil:
		rerr = readErr(s.label, rerr)
	}
	// Names read before an error are still good.
	now := s.opts.Now().UTC()
	for _, n := range names {
		if n.LastSeen.After(now) {
			n.LastSeen = now
		}
		n.Source = s.label
		if err := fn(n); err != nil {
			return err
		}
	}
	return rerr
}

// crtEntry is one element of crt.sh's JSON array. Unknown fields are
// ignored.
type crtEntry struct {
	ID             json.Number `json:"id"`
	IssuerName     string      `json:"issuer_name"`
	CommonName     string      `json:"common_name"`
	NameValue      string      `json:"name_value"`
	NotBefore      *string     `json:"not_before"`
	NotAfter       *string     `json:"not_after"`
	EntryTimestamp *string     `json:"entry_timestamp"`
}

// certName aggregates the certificates naming one name.
type certName struct {
	Observation
	newest   time.Time // entry time (or not_before) of the newest certificate
	newestID int64
}

// readCrtSh streams crt.sh's JSON array and aggregates names in scope of
// domain, sorted canonically. max > 0 stops after that many entries with
// errLimit (the names read so far are returned). Malformed entries and
// dropped names are counted skips; a body that is not a JSON array is
// ErrProtocol.
func readCrtSh(ctx context.Context, r io.Reader, domain string, max int, log *slog.Logger) ([]Observation, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := peekNonSpace(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			// crt.sh answers an empty body now and then instead of [].
			return nil, nil
		}
		return nil, err
	}
	if first != '[' {
		return nil, fmt.Errorf("%w: crt.sh answer is not a JSON array (starts with %q; the service may be overloaded)", ErrProtocol, first)
	}
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		return nil, jsonErr(err)
	}
	agg := make(map[string]*certName)
	entries := 0
	var limitErr error
	for dec.More() {
		if max > 0 && entries >= max {
			limitErr = errLimit
			break
		}
		entries++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return flatten(agg), jsonErr(err)
		}
		var e crtEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			skip(ctx, log, "certificate entry that is not an object of the documented fields", "err", err)
			continue
		}
		addCert(ctx, agg, &e, domain, log)
	}
	if limitErr == nil {
		if _, err := dec.Token(); err != nil {
			return flatten(agg), jsonErr(err)
		}
	}
	return flatten(agg), limitErr
}

func jsonErr(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%w: crt.sh JSON: %v", ErrProtocol, err)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%w: crt.sh JSON array ends early", ErrTruncated)
	}
	return err
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case 0xEF: // UTF-8 byte order mark
			if b, err := br.Peek(2); err == nil && b[0] == 0xBB && b[1] == 0xBF {
				_, _ = br.Discard(2)
				continue
			}
		}
		return c, br.UnreadByte()
	}
}

// addCert folds one certificate entry's names into agg.
func addCert(ctx context.Context, agg map[string]*certName, e *crtEntry, domain string, log *slog.Logger) {
	notBefore, okB := parseCrtTime(e.NotBefore)
	notAfter, okA := parseCrtTime(e.NotAfter)
	entry, okE := parseCrtTime(e.EntryTimestamp)
	if !okB || !okA || !okE {
		skip(ctx, log, "certificate entry with a bad time", "id", e.ID.String())
		return
	}
	if !notBefore.IsZero() && !notAfter.IsZero() && notAfter.Before(notBefore) {
		notBefore, notAfter = notAfter, notBefore
	}
	newest := entry
	if newest.IsZero() {
		newest = notBefore
	}
	id, _ := strconv.ParseInt(e.ID.String(), 10, 64)
	seen := make(map[string]bool)
	for _, raw := range append(strings.Split(e.NameValue, "\n"), e.CommonName) {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		name, ok := certDNSName(raw)
		if !ok {
			skip(ctx, log, "not a DNS name", "value", raw)
			continue
		}
		if !inScope(name, domain) {
			skip(ctx, log, "out of scope", "name", name)
			continue
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		n := agg[name]
		if n == nil {
			n = &certName{Observation: Observation{Name: name}}
			agg[name] = n
		}
		n.Count++
		n.FirstSeen, n.LastSeen = widen(n.FirstSeen, n.LastSeen, notBefore, notAfter)
		if n.Detail == "" || newest.After(n.newest) || newest.Equal(n.newest) && id > n.newestID {
			n.newest, n.newestID = newest, id
			n.Detail = certDetail(id, e.IssuerName)
		}
	}
}

func certDetail(id int64, issuer string) string {
	issuer = cleanMsg(issuer)
	if len(issuer) > 120 {
		issuer = issuer[:120]
	}
	s := "crt.sh id " + strconv.FormatInt(id, 10)
	if issuer != "" {
		s += " (" + issuer + ")"
	}
	return s
}

// certDNSName turns one certificate identity into a canonical DNS name:
// leading "*." labels stripped, IDNA, lower case. E-mail addresses, IP
// addresses, URIs and anything else that is not a host name fail.
func certDNSName(s string) (string, bool) {
	if strings.ContainsAny(s, "@:/ \t") || len(s) > 1024 {
		return "", false
	}
	for strings.HasPrefix(s, "*.") {
		s = s[2:]
	}
	n, err := dnsname.Normalize(s)
	if err != nil || strings.Contains(n, "*") || !strings.Contains(n, ".") {
		return "", false
	}
	if allDigitsAndDots(n) {
		return "", false
	}
	return n, true
}

func allDigitsAndDots(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// parseCrtTime reads crt.sh's times: ISO 8601 without a zone (UTC), with
// or without fractional seconds. nil or "" is the zero time.
func parseCrtTime(s *string) (time.Time, bool) {
	if s == nil || *s == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, *s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func flatten(agg map[string]*certName) []Observation {
	out := make([]Observation, 0, len(agg))
	for _, n := range agg {
		out = append(out, n.Observation)
	}
	slices.SortFunc(out, func(a, b Observation) int { return dnsname.Compare(a.Name, b.Name) })
	return out
}
