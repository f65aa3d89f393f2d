// Package imports reads passive DNS data other tools wrote, so that it can
// migrate into dnsscout: gamelinux/passivedns logs (the "||" text format
// and its -j JSON lines), COF NDJSON (plain, or DNSDB SAF-wrapped) and DNS
// zone files. It turns each line or record into a pdns.Tuple (or an
// NXDOMAIN count) for a Sink and counts what it skips; it never keeps the
// client and server addresses these formats carry. It does not aggregate
// (package ingest does).
package imports

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// Errors of package imports.
var (
	// ErrFormat: the input is not in the format asked for.
	ErrFormat = errors.New("imports: unrecognised format")
	// ErrLine: one line or record cannot be used (wrapped with the reason).
	ErrLine = errors.New("imports: bad line")
)

// Format is a kind of import.
type Format int

// Formats Detect tells apart.
const (
	Unknown Format = iota
	PassiveDNS
	PassiveDNSJSON
	COF
	Zone
)

func (f Format) String() string {
	switch f {
	case PassiveDNS:
		return "passivedns"
	case PassiveDNSJSON:
		return "passivedns-json"
	case COF:
		return "cof"
	case Zone:
		return "zone"
	}
	return "unknown"
}

// Detect guesses the format from the first line of a text input. Anything
// that is neither JSON nor a passivedns line is taken for a zone file, whose
// parser then reports what is wrong with it.
func Detect(head []byte) Format {
	line := head
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	switch {
	case len(line) == 0:
		return Zone
	case line[0] == '{':
		if bytes.Contains(line, []byte(`"query"`)) && bytes.Contains(line, []byte(`"answer"`)) {
			return PassiveDNSJSON
		}
		return COF
	case isPassiveDNSText(line):
		return PassiveDNS
	}
	return Zone
}

func isPassiveDNSText(line []byte) bool {
	i := bytes.Index(line, []byte("||"))
	if i <= 0 {
		return false
	}
	for _, c := range line[:i] {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// Sink receives what an import reads.
type Sink interface {
	// Tuple takes one observation; t is only valid during the call.
	Tuple(t *pdns.Tuple) error
	// NXDomain takes count NXDOMAIN answers for name (canonical form),
	// the last at Unix time ts.
	NXDomain(name string, ts int64, count uint64) error
}

// Reason is why a line or record was skipped.
type Reason int

// Reasons counted in Stats.
const (
	BadSyntax Reason = iota // not the expected fields or JSON
	BadName                 // empty or invalid owner name
	BadType                 // unknown type mnemonic or number
	NotIN                   // class other than IN
	BadNumber               // time, TTL or count not a number
	BadRecord               // zone record the zone parser rejected
	Meta                    // OPT/TSIG/TKEY in a zone file
	BadCOF                  // COF object the COF decoder rejected
	numReasons
)

var reasonNames = [numReasons]string{
	BadSyntax: "import: bad syntax",
	BadName:   "import: bad owner name",
	BadType:   "import: unknown rrtype",
	NotIN:     "import: class not IN",
	BadNumber: "import: bad time, TTL or count",
	BadRecord: "import: zone record rejected",
	Meta:      "import: meta record (OPT, TSIG, TKEY)",
	BadCOF:    "import: bad COF object",
}

func (r Reason) String() string {
	if r >= 0 && r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("import reason %d", int(r))
}

// lineError carries a Reason.
type lineError struct {
	reason Reason
	msg    string
}

func (e *lineError) Error() string { return fmt.Sprintf("%s: %s", e.reason, e.msg) }
func (e *lineError) Unwrap() error { return ErrLine }

func lineErr(r Reason, format string, a ...any) error {
	return &lineError{reason: r, msg: fmt.Sprintf(format, a...)}
}

// ReasonOf returns the Reason of an error from a line parser, or BadSyntax.
func ReasonOf(err error) Reason {
	var le *lineError
	if errors.As(err, &le) {
		return le.reason
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

func (s *Stats) skip(err error) { atomic.AddUint64(&s.Skipped[ReasonOf(err)], 1) }

// maxLine bounds one line of a log.
const maxLine = 1 << 20

// readLines calls fn for every non-empty line of r; a line error is
// counted and skipped, any other error stops.
func readLines(ctx context.Context, r io.Reader, st *Stats, fn func(line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for n := 0; sc.Scan(); n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		atomic.AddUint64(&st.Lines, 1)
		if err := fn(line); err != nil {
			if errors.Is(err, ErrLine) {
				st.skip(err)
				continue
			}
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("imports: line too long or unreadable: %w", err)
	}
	return nil
}

// ReadCOF imports COF NDJSON or DNSDB SAF. rdata is brought to the
// canonical form when it parses as its type, so that imported tuples fold
// with those the sensor makes.
func ReadCOF(ctx context.Context, r io.Reader, st *Stats, sink Sink) error {
	var buf []pdns.Tuple
	var saf, ended bool
	err := readLines(ctx, r, st, func(line []byte) error {
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
		for i := range buf {
			t := &buf[i]
			t.RData, _ = pdns.CanonicalRData(t.RRType, t.RData)
			atomic.AddUint64(&st.Tuples, 1)
			if err := sink.Tuple(t); err != nil {
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
