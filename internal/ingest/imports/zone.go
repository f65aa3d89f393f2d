package imports

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// ZoneOptions configures ReadZone.
type ZoneOptions struct {
	Options
	// Origin is the origin for relative names when the file has no
	// $ORIGIN. Default: guessed from FileName (GuessOrigin), else the root.
	Origin string
	// FileName is used for the origin guess.
	FileName string
	// Time is the Unix time recorded as zone_time_first and
	// zone_time_last. Required.
	Time int64
}

// ReadZone imports a master file: every record becomes a tuple seen once
// in a zone file at o.Time, with the zone's SOA owner (or the origin) as
// bailiwick. $INCLUDE is refused. Zone-file syntax cannot resynchronise:
// the first record the parser rejects, a line longer than o.MaxLine, a
// record in parentheses longer than that, or a NUL byte ends the import
// with an error wrapping ErrStopped and the *LineError (which o.Bad has
// seen), after the records before it have been given to the sink. A
// record the parser accepts but the store's rule refuses is skipped.
func ReadZone(ctx context.Context, r io.Reader, o ZoneOptions, st *Stats, sink Sink) error {
	o.fill()
	if o.Time <= 0 {
		return fmt.Errorf("%w: zone import without a time", ErrFormat)
	}
	origin := o.Origin
	if origin == "" {
		origin = GuessOrigin(o.FileName)
	}
	origin = dns.Fqdn(origin)
	if _, ok := dns.IsDomainName(origin); !ok {
		return fmt.Errorf("%w: bad zone origin %s", ErrFormat, quote(origin))
	}
	zr := &zoneReader{ctx: ctx, r: bufio.NewReaderSize(r, 64<<10), max: o.MaxLine, line: 1}
	zp := dns.NewZoneParser(zr, origin, "")
	zp.SetIncludeAllowed(false)
	bailiwick := ""
	for {
		rr, ok := zp.Next()
		if !ok {
			break
		}
		atomic.AddUint64(&st.Lines, 1)
		h := rr.Header()
		if h.Class != dns.ClassINET {
			st.skip(&o.Options, zr.line, lineErr(NotIN, "class %d", h.Class))
			continue
		}
		switch h.Rrtype {
		case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY:
			st.skip(&o.Options, zr.line, lineErr(Meta, "type %d", h.Rrtype))
			continue
		}
		if h.Rrtype == dns.TypeSOA && bailiwick == "" {
			bailiwick = pdns.CanonicalName(h.Name)
		}
		t := pdns.Tuple{
			RRName:        pdns.CanonicalName(h.Name),
			RRType:        h.Rrtype,
			RData:         pdns.RData(rr),
			Bailiwick:     bailiwick,
			ZoneTimeFirst: o.Time,
			ZoneTimeLast:  o.Time,
			Count:         1,
		}
		if t.Bailiwick == "" {
			t.Bailiwick = pdns.CanonicalName(origin)
		}
		if t.RData == "" {
			t.RData = `\# 0`
		}
		if err := check(&t); err != nil {
			st.skip(&o.Options, zr.line, err)
			continue
		}
		atomic.AddUint64(&st.Tuples, 1)
		if err := sink.Tuple(&t); err != nil {
			return err
		}
	}
	var le *LineError
	switch {
	case zr.err != nil && !errors.As(zr.err, &le):
		return zr.err // cancelled, or the input failed
	case zr.err != nil:
	case zp.Err() != nil:
		le = zoneError(zp.Err(), zr.line)
	default:
		return nil
	}
	atomic.AddUint64(&st.Lines, 1)
	st.skip(&o.Options, 0, le)
	return fmt.Errorf("%w: %w", ErrStopped, le)
}

// ErrStopped: an import ended at a bad line it cannot read past (zone-file
// syntax cannot resynchronise); the rest of the input was not read.
var ErrStopped = errors.New("imports: stopped at a bad record, the rest was not read")

// zoneError turns a miekg/dns parse error, which quotes its whole token,
// into a LineError that quotes at most 80 bytes of it.
func zoneError(err error, line int) *LineError {
	msg := err.Error()
	if i := strings.LastIndex(msg, " at line: "); i >= 0 {
		pos := msg[i+len(" at line: "):]
		if l, _, ok := strings.Cut(pos, ":"); ok {
			if n, err := strconv.Atoi(l); err == nil {
				line = n
			}
		}
		msg = msg[:i]
	}
	msg = strings.TrimPrefix(msg, "dns: ")
	// The token is the last quoted string: find where it starts.
	for j := strings.Index(msg, `: "`); j >= 0; {
		if tok, err := strconv.Unquote(msg[j+2:]); err == nil {
			msg = msg[:j] + ": " + quote(tok)
			break
		}
		k := strings.Index(msg[j+1:], `: "`)
		if k < 0 {
			break
		}
		j += 1 + k
	}
	le := lineErr(BadRecord, "%s", msg)
	le.Line = line
	return le
}

// zoneReader feeds the zone parser, whose tokens grow without bound: it
// ends the input at a NUL byte (binary data), at a line longer than max,
// and at a record in parentheses longer than max, and checks ctx at every
// read, so that the parser can hold at most about max bytes of tokens
// and cancelling stops it within one read.
type zoneReader struct {
	ctx context.Context
	r   io.Reader
	max int
	err error // sticky: what ended the input

	line, lineLen, parenLen, depth int
	quoted, comment, escape        bool
}

func (z *zoneReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if err := z.ctx.Err(); err != nil {
		z.err = err
		return 0, err
	}
	n, err := z.r.Read(p)
	for i, c := range p[:n] {
		if r, msg := z.scan(c); msg != "" {
			le := lineErr(r, "%s", msg)
			le.Line = z.line
			z.err = le
			return i, le
		}
	}
	return n, err
}

// scan follows one byte of master-file syntax; it returns what is wrong
// when the input must end there.
func (z *zoneReader) scan(c byte) (Reason, string) {
	if c == 0 {
		return BadSyntax, "NUL byte: binary data, not a zone file"
	}
	if c == '\n' {
		z.line++
		z.lineLen, z.comment, z.escape = 0, false, false
		return 0, ""
	}
	if z.lineLen++; z.lineLen > z.max {
		return TooLong, fmt.Sprintf("line longer than %d bytes", z.max)
	}
	if z.depth > 0 {
		if z.parenLen++; z.parenLen > z.max {
			return TooLong, fmt.Sprintf("record in parentheses longer than %d bytes", z.max)
		}
	}
	switch {
	case z.comment:
	case z.escape:
		z.escape = false
	case c == '\\':
		z.escape = true
	case c == '"':
		z.quoted = !z.quoted
	case z.quoted:
	case c == ';':
		z.comment = true
	case c == '(':
		if z.depth++; z.depth == 1 {
			z.parenLen = 0
		}
	case c == ')' && z.depth > 0:
		z.depth--
	}
	return 0, ""
}

// GuessOrigin derives a zone origin from a file name: "example.com.zone",
// "example.com.db", "db.example.com", "example.com" give "example.com.";
// "root.zone" and names without a dot give the root.
func GuessOrigin(fileName string) string {
	base := filepath.Base(fileName)
	for _, suf := range []string{".gz", ".signed", ".zone", ".db", ".txt"} {
		base = strings.TrimSuffix(base, suf)
	}
	base = strings.TrimPrefix(base, "db.")
	if base == "root" || !strings.Contains(base, ".") {
		return "."
	}
	if _, ok := dns.IsDomainName(base); !ok {
		return "."
	}
	return dns.Fqdn(strings.ToLower(base))
}
