package baseline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dnsscout/dnsscout/internal/dnsname"
)

// Errors returned by Load and Parse; each is wrapped with the file name and,
// where known, the line and column.
var (
	ErrEmpty           = errors.New("baseline: file is empty")
	ErrSyntax          = errors.New("baseline: not valid JSON")
	ErrNotResult       = errors.New("baseline: not dnsscout --format json output")
	ErrDuplicateDomain = errors.New("baseline: domain appears twice")
	ErrTooLarge        = errors.New("baseline: file too large")
)

// MaxFileSize bounds what Load reads (1 GiB).
const MaxFileSize = 1 << 30

// File is an earlier run's --format json output: one result or an array of
// results, indexed by domain.
type File struct {
	// Path is where the file was read from ("" for Parse).
	Path string
	// Results are in file order.
	Results  []*Run
	byDomain map[string]*Run
}

// Lookup returns the baseline result for domain (any case, Unicode or
// A-labels, trailing dot or not), or nil when the file does not hold it.
func (f *File) Lookup(domain string) *Run {
	if f == nil {
		return nil
	}
	k, err := dnsname.Normalize(domain)
	if err != nil {
		return nil
	}
	return f.byDomain[k]
}

// Load reads a previous --format json output from path.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("baseline: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, path, MaxFileSize)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

// Parse reads --format json output: a single result object or an array of
// them. Every result needs a valid "domain"; a domain may appear only once.
// Unknown fields (a "changes" section, fields of later versions) are
// ignored.
func Parse(data []byte) (*File, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff") // a BOM is forgiven
	if len(trimmed) == 0 {
		return nil, ErrEmpty
	}
	skipped := len(data) - len(trimmed)
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var results []*Run
	switch trimmed[0] {
	case '{':
		var r Run
		if err := dec.Decode(&r); err != nil {
			return nil, decodeError(data, skipped, err)
		}
		results = []*Run{&r}
	case '[':
		if err := dec.Decode(&results); err != nil {
			return nil, decodeError(data, skipped, err)
		}
		for i, r := range results {
			if r == nil {
				return nil, fmt.Errorf("%w: element %d of the array is null", ErrNotResult, i)
			}
		}
	default:
		return nil, fmt.Errorf("%w: starts with %q, want an object or an array (the output of --format json)", ErrNotResult, firstRune(trimmed))
	}
	if tail := bytes.TrimSpace(trimmed[dec.InputOffset():]); len(tail) > 0 {
		line, col := position(data, skipped+int(dec.InputOffset()))
		return nil, fmt.Errorf("%w: more data after the first JSON value at line %d column %d (is it --format ndjson? a baseline is --format json output)", ErrNotResult, line, col)
	}
	f := &File{Results: results, byDomain: make(map[string]*Run, len(results))}
	for i, r := range results {
		if r.Result == nil || r.Domain == "" {
			return nil, fmt.Errorf("%w: result %d has no \"domain\"", ErrNotResult, i)
		}
		k, err := dnsname.Normalize(r.Domain)
		if err != nil {
			return nil, fmt.Errorf("%w: result %d: domain %q: %v", ErrNotResult, i, r.Domain, err)
		}
		if _, dup := f.byDomain[k]; dup {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateDomain, k)
		}
		f.byDomain[k] = r
	}
	return f, nil
}

// decodeError turns a decoder error into one that names the place.
func decodeError(data []byte, skipped int, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(data, skipped+int(se.Offset))
		return fmt.Errorf("%w: line %d column %d: %v", ErrSyntax, line, col, se)
	case errors.As(err, &te):
		line, col := position(data, skipped+int(te.Offset))
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Errorf("%w: line %d column %d: field %s: want %s, have JSON %s", ErrNotResult, line, col, field, te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%w: the file ends in the middle of a value (truncated?)", ErrSyntax)
	default:
		return fmt.Errorf("%w: %v", ErrNotResult, err)
	}
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

func firstRune(b []byte) string {
	r := []rune(string(b[:min(len(b), 4)]))
	if len(r) == 0 {
		return ""
	}
	return string(r[0])
}
