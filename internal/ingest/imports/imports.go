// Package imports reads passive DNS data other tools wrote, so that it can
// migrate into dnsscout: gamelinux/passivedns logs (the "||" text format
// and its -j JSON lines), COF NDJSON (plain, or DNSDB SAF-wrapped), Zeek
// dns.log (TSV and JSON), Suricata eve.json DNS events and DNS zone files.
// It recognises each format by its first bytes (IsPassiveDNS, IsCOF,
// IsZeek, IsEVE, IsZone), turns each line or record into a pdns.Tuple (or an
// NXDOMAIN count) for a Sink, checks every tuple against the rule the store
// applies (store.CheckTuple), and counts and reports what it skips, naming
// the line. Every line and record is bounded (Options.MaxLine) and every
// read can be cancelled. It never keeps the client and server addresses
// these formats carry. It does not aggregate, stage or decompress (package
// ingest does).
package imports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Errors of package imports.
var (
	// ErrFormat: the input is not in the format asked for.
	ErrFormat = errors.New("imports: unrecognised format")
	// ErrLine: one line or record cannot be used (a *LineError).
	ErrLine = errors.New("imports: bad line")
)

// Sink receives what an import reads.
type Sink interface {
	// Tuple takes one observation; t is only valid during the call.
	Tuple(t *pdns.Tuple) error
	// NXDomain takes count NXDOMAIN answers for name (canonical form),
	// the last at Unix time ts.
	NXDomain(name string, ts int64, count uint64) error
}

// Options bound what the readers hold and say what they report. The zero
// value is usable.
type Options struct {
	// MaxLine bounds one line, and one zone-file record written over
	// several lines in parentheses. A longer log line is skipped (TooLong);
	// a longer zone line ends a zone import, which cannot resynchronise.
	// Default: DefaultMaxLine.
	MaxLine int
	// Bad, when set, is called with every line skipped because it is bad
	// (Reason.Bad). Lines skipped by policy (class not IN, meta records,
	// answers passivedns shortened) are only counted.
	Bad func(*LineError)
}

// DefaultMaxLine is Options.MaxLine's default: far above any real line (a
// record's rdata is at most 64 KiB, 256 KiB in presentation form), far
// below what would cost memory.
const DefaultMaxLine = 1 << 20

func (o *Options) fill() {
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxLine
	}
}

// Reason is why a line or record was skipped.
type Reason int

// Reasons counted in Stats.
const (
	BadSyntax    Reason = iota // not the expected fields or JSON
	BadName                    // empty or invalid owner name
	BadType                    // unknown type mnemonic or number
	NotIN                      // class other than IN (policy)
	BadNumber                  // time, TTL or count not a number
	BadRecord                  // zone record the zone parser rejected
	Meta                       // OPT/TSIG/TKEY (policy)
	BadCOF                     // COF object the COF decoder rejected
	BadRData                   // rdata that does not match its type
	TooLong                    // line longer than Options.MaxLine
	Shortened                  // answer passivedns cut to a name (policy)
	Undetermined               // answers a log does not tie to owners and types (policy)
	NoAnswer                   // no NOERROR or NXDOMAIN response (policy)
	LocalName                  // mDNS, LLMNR or NetBIOS line (policy)
	OtherEvent                 // not a DNS answer: another log or event, an opcode (policy)
	numReasons
)

var reasonNames = [numReasons]string{
	BadSyntax:    "import: bad syntax",
	BadName:      "import: bad owner name",
	BadType:      "import: unknown rrtype",
	NotIN:        "import: class not IN",
	BadNumber:    "import: bad time, TTL or count",
	BadRecord:    "import: zone record rejected",
	Meta:         "import: meta record (OPT, TSIG, TKEY)",
	BadCOF:       "import: bad COF object",
	BadRData:     "import: rdata does not match its type",
	TooLong:      "import: line too long",
	Shortened:    "import: answer passivedns shortened to a name (MX, SRV, SOA, ...)",
	Undetermined: "import: answers the log does not tie to an owner and type",
	NoAnswer:     "import: no NOERROR or NXDOMAIN response",
	LocalName:    "import: mDNS, LLMNR or NetBIOS (local names)",
	OtherEvent:   "import: not a DNS answer (other log or event, opcode)",
}

func (r Reason) String() string {
	if r >= 0 && r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("import reason %d", int(r))
}

// Bad reports whether a line skipped for r is bad input, as opposed to a
// valid line the policy does not keep (NotIN, Meta, Shortened,
// Undetermined, NoAnswer, LocalName, OtherEvent). An import with bad lines
// is not committed unless the caller chose to skip them.
func (r Reason) Bad() bool {
	switch r {
	case NotIN, Meta, Shortened, Undetermined, NoAnswer, LocalName, OtherEvent:
		return false
	}
	return true
}

// LineError is one line or record that could not be used.
type LineError struct {
	// Line is the 1-based line number (of a zone record: where the parser
	// was), 0 when unknown.
	Line   int
	Reason Reason
	// Msg says what is wrong, quoting at most about 80 bytes of input.
	Msg string
}

func (e *LineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

func (e *LineError) Unwrap() error { return ErrLine }

// maxMsg caps a LineError message, whatever a lower layer put in it.
const maxMsg = 240

func lineErr(r Reason, format string, a ...any) *LineError {
	msg := fmt.Sprintf(format, a...)
	if len(msg) > maxMsg {
		msg = msg[:maxMsg] + "..."
	}
	return &LineError{Reason: r, Msg: msg}
}

// quote quotes at most 80 bytes of input for a message.
func quote(s string) string { return pdns.Excerpt(s) }

// ReasonOf returns the Reason of an error from a line parser, or BadSyntax.
func ReasonOf(err error) Reason {
	var le *LineError
	if errors.As(err, &le) {
		return le.Reason
	}
	return BadSyntax
}

// Stats counts lines and skips; fields are updated atomically, read them
// with Snapshot.
type Stats struct {
	Lines   uint64 // lines or zone records read
	Tuples  uint64 // tuples given to the sink
	NX      uint64 // NXDOMAIN lines given to the sink
	Skipped [numReasons]uint64
}

// Snapshot copies s.
func (s *Stats) Snapshot() Stats {
	var c Stats
	c.Lines = atomic.LoadUint64(&s.Lines)
	c.Tuples = atomic.LoadUint64(&s.Tuples)
	c.NX = atomic.LoadUint64(&s.NX)
	for i := range c.Skipped {
		c.Skipped[i] = atomic.LoadUint64(&s.Skipped[i])
	}
	return c
}

// Bad sums the lines skipped as bad (Reason.Bad).
func (s *Stats) Bad() uint64 {
	var n uint64
	for r := range numReasons {
		if r.Bad() {
			n += atomic.LoadUint64(&s.Skipped[r])
		}
	}
	return n
}

// skip counts a skipped line and reports it when it is bad. line, when
// not 0, is stamped on the error.
func (s *Stats) skip(o *Options, line int, err error) {
	var le *LineError
	if !errors.As(err, &le) {
		le = &LineError{Reason: BadSyntax, Msg: err.Error()}
	}
	if line > 0 && le.Line == 0 {
		le.Line = line
	}
	atomic.AddUint64(&s.Skipped[le.Reason], 1)
	if le.Reason.Bad() && o.Bad != nil {
		o.Bad(le)
	}
}

// check applies the store's rule to a tuple read from input.
func check(t *pdns.Tuple) error {
	err := store.CheckTuple(t)
	if err == nil {
		return nil
	}
	r := BadNumber // times out of range
	switch {
	case errors.Is(err, pdns.ErrRData):
		r = BadRData
	case store.CheckName(t.RRName) != nil, t.Bailiwick != "" && store.CheckName(t.Bailiwick) != nil:
		r = BadName
	}
	return lineErr(r, "%s", strings.TrimPrefix(err.Error(), "pdns: "))
}

// readLines calls fn for every non-empty line of r; a line error is
// counted, reported and skipped, any other error stops. Lines longer than
// o.MaxLine are skipped as TooLong without being held. Lines are trimmed
// of white space.
func readLines(ctx context.Context, r io.Reader, o Options, st *Stats, fn func(line []byte) error) error {
	return readLinesWith(ctx, r, o, st, trimSpace, fn)
}

// readLinesWith is readLines with its own trimming (Zeek's TSV may end in
// an empty field: only the end of line is cut).
func readLinesWith(ctx context.Context, r io.Reader, o Options, st *Stats, trim func([]byte) []byte, fn func(line []byte) error) error {
	o.fill()
	lr := newLineReader(r, o.MaxLine)
	for {
		line, long, err := lr.next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if long {
			atomic.AddUint64(&st.Lines, 1)
			st.skip(&o, lr.line, lineErr(TooLong, "longer than %d bytes (starts %s...)", o.MaxLine, quote(string(line))))
			continue
		}
		line = trim(line)
		if len(line) == 0 {
			continue
		}
		atomic.AddUint64(&st.Lines, 1)
		if err := fn(line); err != nil {
			if errors.Is(err, ErrLine) {
				st.skip(&o, lr.line, err)
				continue
			}
			return err
		}
	}
}

// ReadCOF imports COF NDJSON or DNSDB SAF. rdata is brought to the
// canonical form when it parses as its type, so that imported tuples fold
// with those the sensor makes.
func ReadCOF(ctx context.Context, r io.Reader, o Options, st *Stats, sink Sink) error {
	var buf []pdns.Tuple
	var saf, ended bool
	err := readLines(ctx, r, o, st, func(line []byte) error {
		var cond string
		var err error
		buf, cond, err = pdns.ParseCOF(line, buf[:0])
		switch cond {
		case "begin":
			saf = true
		case "succeeded", "limited", "failed":
			ended = true
		}
		if err != nil {
			if errors.Is(err, pdns.ErrSAFFailed) {
				return err
			}
			return lineErr(BadCOF, "%v", err)
		}
		// Check the whole line first: one object is one line, kept or
		// skipped whole.
		for i := range buf {
			t := &buf[i]
			t.RData, _ = pdns.CanonicalRData(t.RRType, t.RData)
			if err := check(t); err != nil {
				return err
			}
		}
		for i := range buf {
			atomic.AddUint64(&st.Tuples, 1)
			if err := sink.Tuple(&buf[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && saf && !ended {
		return pdns.ErrSAFTruncated
	}
	return err
}
