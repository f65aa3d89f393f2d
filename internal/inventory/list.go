package inventory

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/pdns"
)

// List limits.
const (
	// DefaultMaxLineBytes is the longest list line read; longer lines
	// are reported and skipped.
	DefaultMaxLineBytes = 4096
	// DefaultMaxDomains is the most domains one list may hold.
	DefaultMaxDomains = 1_000_000
	// DefaultMaxIssues is how many issues a List keeps in detail; the
	// rest are only counted.
	DefaultMaxIssues = 100
)

// ListOptions tunes ReadList. The zero value applies the defaults.
type ListOptions struct {
	// MaxLineBytes is the longest line read, end of line excluded;
	// default DefaultMaxLineBytes. A longer line is an invalid line.
	MaxLineBytes int
	// MaxDomains stops the list with ErrTooManyDomains past this many
	// distinct domains; default DefaultMaxDomains.
	MaxDomains int
	// MaxIssues is how many issues are kept in List.Issues; default
	// DefaultMaxIssues. The counters count them all.
	MaxIssues int
	// Shard, when Count > 0, keeps only the domains of one shard (see
	// Shard). Default: every domain.
	Shard Shard
}

func (o *ListOptions) fill() {
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxDomains <= 0 {
		o.MaxDomains = DefaultMaxDomains
	}
	if o.MaxIssues <= 0 {
		o.MaxIssues = DefaultMaxIssues
	}
}

// Issue is a list line that was skipped or that deserves a note.
type Issue struct {
	Line int    // 1-based line number
	Text string // the line as read, quoted (at most 80 bytes, escaped)
	// Kind is IssueInvalid (skipped), IssueDuplicate (skipped),
	// IssueNested (kept: the domain lies under another listed domain) or
	// IssueTruncated (kept: the last line had no end of line).
	Kind   string
	Reason string
}

// Issue kinds.
const (
	IssueInvalid   = "invalid"
	IssueDuplicate = "duplicate"
	IssueNested    = "nested"
	IssueTruncated = "truncated"
)

func (i Issue) String() string {
	return fmt.Sprintf("line %d: %s: %s", i.Line, i.Text, i.Reason)
}

// List is a parsed domain list.
type List struct {
	// Domains are the distinct valid domains in list order, canonical
	// (lower case A-labels, no trailing dot).
	Domains []string
	// Issues are the first ListOptions.MaxIssues issues in line order.
	Issues []Issue
	// Lines counts the lines read; Invalid, Duplicates and Nested count
	// the issues of each kind; OtherShards the valid domains left to
	// other shards.
	Lines, Invalid, Duplicates, Nested, OtherShards int
	// Truncated is true when the last line had no end of line: a writer
	// that died (a pipe closed early) may have cut it.
	Truncated bool
}

// Errors returned by ReadList and ParseShard.
var (
	ErrNoDomains      = errors.New("inventory: the list holds no valid domain")
	ErrTooManyDomains = errors.New("inventory: the list holds too many domains")
	ErrBadShard       = errors.New("inventory: bad shard")
)

// ReadList reads a domain list from r: one domain per line, with "#"
// comments (whole lines, or after a blank), blank lines, URLs
// (https://www.example.com:8443/x becomes www.example.com), "*." prefixes
// and trailing dots reduced to the domain, Unicode names converted to
// A-labels. Invalid lines (with the reason) and duplicates are skipped and
// noted; a domain under another listed domain is kept and noted. A read
// error returns the error with its line number; ctx ending stops the
// read (also a blocked one, when r has SetReadDeadline). A list with no
// valid domain returns ErrNoDomains, with the List saying why.
func ReadList(ctx context.Context, r io.Reader, opts ListOptions) (*List, error) {
	opts.fill()
	if d, ok := r.(interface{ SetReadDeadline(time.Time) error }); ok {
		stop := context.AfterFunc(ctx, func() { _ = d.SetReadDeadline(time.Now()) })
		defer stop()
	}
	l := &List{}
	seen := map[string]int{} // domain -> line
	br := bufio.NewReaderSize(r, 64*1024)
	var line []byte
	for {
		if err := ctx.Err(); err != nil {
			return l, err
		}
		raw, tooLong, err := readLine(br, line[:0], opts.MaxLineBytes)
		line = raw
		if err == io.EOF && len(raw) == 0 && !tooLong {
			break
		}
		if err != nil && err != io.EOF {
			if ctx.Err() != nil {
				return l, ctx.Err()
			}
			return l, fmt.Errorf("inventory: reading line %d: %w", l.Lines+1, err)
		}
		l.Lines++
		if err == io.EOF {
			l.Truncated = true
		}
		if tooLong {
			l.note(opts, Issue{Line: l.Lines, Text: pdns.Excerpt(string(raw)), Kind: IssueInvalid,
				Reason: fmt.Sprintf("longer than %d bytes", opts.MaxLineBytes)})
		} else if err := l.add(opts, seen, raw); err != nil {
			return l, err
		}
		if err == io.EOF {
			break
		}
	}
	if l.Truncated && len(l.Domains) > 0 && seen[l.Domains[len(l.Domains)-1]] == l.Lines {
		l.note(opts, Issue{Line: l.Lines, Text: pdns.Excerpt(string(line)), Kind: IssueTruncated,
			Reason: "no end of line: the list may have been cut short"})
	}
	l.noteNested(opts, seen)
	if len(l.Domains) == 0 {
		return l, ErrNoDomains
	}
	return l, nil
}

// readLine reads one line without its end of line into buf, keeping at
// most max bytes; tooLong says the line was longer (the rest is
// discarded).
func readLine(br *bufio.Reader, buf []byte, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if room := max + 1 - len(buf); room > 0 {
			buf = append(buf, chunk[:min(len(chunk), room)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		buf = bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
		if len(buf) > max {
			return buf[:max], true, err
		}
		return buf, false, err
	}
}

// add parses one line.
func (l *List) add(opts ListOptions, seen map[string]int, raw []byte) error {
	text := string(raw)
	d, reason := reduce(text)
	switch {
	case d == "" && reason == "":
		return nil // blank or comment
	case reason != "":
		l.note(opts, Issue{Line: l.Lines, Text: pdns.Excerpt(text), Kind: IssueInvalid, Reason: reason})
		return nil
	}
	if first, dup := seen[d]; dup {
		l.note(opts, Issue{Line: l.Lines, Text: pdns.Excerpt(text), Kind: IssueDuplicate,
			Reason: fmt.Sprintf("%s already listed on line %d", d, first)})
		return nil
	}
	seen[d] = l.Lines
	if opts.Shard.Count > 0 && !opts.Shard.Has(d) {
		l.OtherShards++
		return nil
	}
	if len(l.Domains) >= opts.MaxDomains {
		return fmt.Errorf("%w: more than %d (line %d)", ErrTooManyDomains, opts.MaxDomains, l.Lines)
	}
	l.Domains = append(l.Domains, d)
	return nil
}

// noteNested notes the domains that lie under another listed domain
// (whatever their order in the list). They are kept: the user asked for
// them, and their own report is what a single-domain run gives.
func (l *List) noteNested(opts ListOptions, seen map[string]int) {
	var nested []Issue
	for _, d := range l.Domains {
		for p := dnsname.Parent(d); p != "." && p != ""; p = dnsname.Parent(p) {
			if line, ok := seen[p]; ok {
				nested = append(nested, Issue{Line: seen[d], Text: pdns.Excerpt(d), Kind: IssueNested,
					Reason: fmt.Sprintf("under %s (line %d); examined on its own too", p, line)})
				break
			}
		}
	}
	for _, is := range nested {
		l.note(opts, is)
	}
}

func (l *List) note(opts ListOptions, is Issue) {
	switch is.Kind {
	case IssueInvalid:
		l.Invalid++
	case IssueDuplicate:
		l.Duplicates++
	case IssueNested:
		l.Nested++
	}
	if len(l.Issues) < opts.MaxIssues {
		l.Issues = append(l.Issues, is)
	}
}

// Summary is one line about the list for a person: how many domains, and
// what was skipped.
func (l *List) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d domains from %d lines", len(l.Domains), l.Lines)
	for _, c := range []struct {
		n    int
		what string
	}{{l.Invalid, "invalid (skipped)"}, {l.Duplicates, "duplicate (skipped)"}, {l.Nested, "under another listed domain"}, {l.OtherShards, "in other shards"}} {
		if c.n > 0 {
			fmt.Fprintf(&b, ", %d %s", c.n, c.what)
		}
	}
	if l.Truncated {
		b.WriteString(", last line without end of line")
	}
	return b.String()
}

// reduce turns one list line into a canonical domain. It returns "", ""
// for a blank or comment line and a reason for an invalid one.
func reduce(line string) (domain, reason string) {
	s := strings.TrimSpace(line)
	if s == "" || strings.HasPrefix(s, "#") {
		return "", ""
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		rest := strings.TrimSpace(s[i:])
		if !strings.HasPrefix(rest, "#") {
			return "", "more than one field"
		}
		s = s[:i]
	}
	if !isText(s) {
		return "", "not text (control characters or invalid UTF-8)"
	}
	s = hostOf(s)
	if s == "" {
		return "", "no host name in it"
	}
	s = strings.TrimPrefix(s, "*.")
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return "", fmt.Sprintf("an IP address (%s), not a domain", a)
	}
	d, err := dnsname.Normalize(s)
	if err != nil {
		return "", strings.TrimPrefix(err.Error(), "dnsname: ")
	}
	if a, err := netip.ParseAddr(d); err == nil {
		return "", fmt.Sprintf("an IP address (%s), not a domain", a) // "192.0.2.1." once its dot is gone
	}
	switch {
	case strings.Contains(d, "*"):
		return "", "a wildcard is not a domain"
	case !strings.Contains(d, "."):
		return "", "a single label is not a domain"
	}
	return d, ""
}

// hostOf reduces a URL or host[:port][/path] to its host.
func hostOf(s string) string {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		return u.Hostname()
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:] // user@host
	}
	if strings.HasPrefix(s, "[") {
		return s // [v6] or [v6]:port: an address either way
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Count(s, ":") == 1 {
		s = s[:i] // host:port
	}
	return s
}

// isText reports whether s is valid UTF-8 without control characters.
func isText(s string) bool {
	for _, c := range s {
		if c == '\uFFFD' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// Shard is one of Count deterministic parts of a list: the domains whose
// FNV-1a 64-bit hash of the canonical name is Index-1 modulo Count. The
// split depends on nothing but the names, so N workers given the same
// list and shards 1/N..N/N examine every domain exactly once.
type Shard struct {
	Index, Count int // 1-based; Count 0 means the whole list
}

// ParseShard parses "K/N" (1 <= K <= N).
func ParseShard(s string) (Shard, error) {
	var sh Shard
	if s == "" {
		return sh, nil
	}
	k, n, ok := strings.Cut(s, "/")
	if !ok {
		return sh, fmt.Errorf("%w %q: want K/N, e.g. 1/4", ErrBadShard, s)
	}
	var err1, err2 error
	sh.Index, err1 = strconv.Atoi(k)
	sh.Count, err2 = strconv.Atoi(n)
	if err1 != nil || err2 != nil || sh.Count < 1 || sh.Index < 1 || sh.Index > sh.Count {
		return Shard{}, fmt.Errorf("%w %q: want K/N with 1 <= K <= N", ErrBadShard, s)
	}
	return sh, nil
}

// Has reports whether domain belongs to the shard.
func (s Shard) Has(domain string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(domain))
	return h.Sum64()%uint64(s.Count) == uint64(s.Index-1)
}

func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
