package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dnsscout/dnsscout/internal/durable"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// Outcome is one domain's end, handed to every sink once.
type Outcome struct {
	Domain string
	// Status is StatusDone, StatusPartial (--max-time) or StatusFailed.
	Status string
	// Discovered marks a domain added by expansion, not in the list.
	Discovered bool
	// Report is the domain's scan; nil when it failed.
	Report *scan.Report
	// Err says why the domain failed.
	Err error
	// JSON is the domain's document as `recon --format json` prints it for
	// one domain (indented, with a final newline), or, for a failed
	// domain, {"domain": ..., "error": ...}.
	JSON []byte
}

// Sink receives each domain's outcome as it finishes, from one goroutine,
// one call at a time. An error stops the inventory.
type Sink interface {
	Put(ctx context.Context, o *Outcome) error
}

// failedDoc is the document of a domain that could not be examined.
type failedDoc struct {
	Domain     string `json:"domain"`
	Error      string `json:"error"`
	Discovered bool   `json:"discovered,omitempty"`
}

// NDJSON writes each outcome as one compact JSON line.
type NDJSON struct {
	w    io.Writer
	file *os.File // set when the output is a file of ours: synced per line
	off  int64
	buf  bytes.Buffer
}

// NewNDJSON writes lines to w (standard output, a pipe).
func NewNDJSON(w io.Writer) *NDJSON { return &NDJSON{w: w} }

// OpenNDJSONFile opens path for the lines. With a journal that holds
// domains (a resumed run), the file is cut back to the size it had when
// the last of them was recorded and the new lines are appended;
// otherwise it is truncated.
func OpenNDJSONFile(path string, j *Journal) (*NDJSON, error) {
	flags := os.O_RDWR | os.O_CREATE
	var keep int64
	if j != nil {
		keep = j.OutputSize()
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		if st.Size() < keep {
			f.Close()
			return nil, fmt.Errorf("%w: %s is shorter (%d bytes) than the journal recorded (%d): not the output of that run", ErrJournal, path, st.Size(), keep)
		}
		if err := f.Truncate(keep); err != nil {
			f.Close()
			return nil, err
		}
		if _, err := f.Seek(keep, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		return &NDJSON{w: f, file: f, off: keep}, nil
	}
	return &NDJSON{w: f, file: f}, nil // a FIFO or device: written as it is
}

// Put writes o's document as one line.
func (s *NDJSON) Put(_ context.Context, o *Outcome) error {
	s.buf.Reset()
	if err := json.Compact(&s.buf, o.JSON); err != nil {
		return fmt.Errorf("inventory: %s: %w", o.Domain, err)
	}
	s.buf.WriteByte('\n')
	n, err := s.w.Write(s.buf.Bytes())
	s.off += int64(n)
	if err == nil && s.file != nil {
		if serr := s.file.Sync(); serr != nil && !isNotSyncable(serr) {
			err = serr
		}
	}
	if err != nil {
		return fmt.Errorf("inventory: writing %s: %w", o.Domain, err)
	}
	return nil
}

// Offset is the number of bytes the output holds (for the journal).
func (s *NDJSON) Offset() int64 { return s.off }

// Close closes a file opened by OpenNDJSONFile.
func (s *NDJSON) Close() error {
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}

// isNotSyncable: fsync of a pipe or terminal says EINVAL.
func isNotSyncable(err error) bool { return errors.Is(err, syscall.EINVAL) }

// Dir writes each outcome to DIR/DOMAIN.json, atomically (a crash leaves
// the file complete or absent).
type Dir struct{ path string }

// OpenDir creates dir when needed.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	return &Dir{path: path}, nil
}

// FileName is the file of domain in an output directory.
func FileName(domain string) string { return domain + ".json" }

// Put writes o's file.
func (d *Dir) Put(_ context.Context, o *Outcome) error {
	if err := durable.WriteFile(d.path, FileName(o.Domain), o.JSON); err != nil {
		return fmt.Errorf("inventory: writing %s: %w", filepath.Join(d.path, FileName(o.Domain)), err)
	}
	return nil
}

// Path is the directory.
func (d *Dir) Path() string { return d.path }

// offsetter is a sink whose output size the journal records (NDJSON).
type offsetter interface{ Offset() int64 }

// MaxReportBytes bounds one file an output directory is read back from.
const MaxReportBytes = 1 << 30

// DirSource reads an output directory back, one domain at a time, for an
// inventory report (it implements report.InventorySource).
type DirSource struct{ path string }

// ReadDir opens an output directory for reading.
func ReadDir(path string) *DirSource { return &DirSource{path: path} }

// Domains lists the domains with a file, in name order.
func (s *DirSource) Domains() ([]string, error) {
	ents, err := os.ReadDir(s.path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, durable.TempPrefix) {
			out = append(out, strings.TrimSuffix(n, ".json"))
		}
	}
	return out, nil
}

// Load reads domain's report, or why it failed.
func (s *DirSource) Load(domain string) (*scan.Report, string, error) {
	path := filepath.Join(s.path, FileName(domain))
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if st.Size() > MaxReportBytes {
		return nil, "", fmt.Errorf("inventory: %s holds %d bytes, more than %d", path, st.Size(), MaxReportBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var failed failedDoc
	if err := json.Unmarshal(b, &failed); err != nil {
		return nil, "", fmt.Errorf("inventory: %s: %w", path, err)
	}
	if failed.Error != "" {
		return nil, failed.Error, nil
	}
	var rep scan.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, "", fmt.Errorf("inventory: %s: %w", path, err)
	}
	if rep.Result == nil || rep.Domain == "" {
		return nil, "", fmt.Errorf("inventory: %s is not a dnsscout report", path)
	}
	return &rep, "", nil
}
