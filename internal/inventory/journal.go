package inventory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/pdns"
)

// ErrJournal: the resume journal cannot be used (not a journal, or
// unwritable).
var ErrJournal = errors.New("inventory: resume journal")

// Domain statuses in the journal and in Outcome.
const (
	StatusDone    = "done"    // examined to the end
	StatusPartial = "partial" // cut by --max-time: final, written, marked partial
	StatusFailed  = "failed"  // could not be examined (NXDOMAIN at the parent, ...)
)

// Entry is one journal line: a domain whose outputs are all written.
type Entry struct {
	Domain string `json:"domain"`
	Status string `json:"status"`
	// Findings counts the domain's findings by severity (info first).
	Findings [finding.Critical + 1]int `json:"findings"`
	Error    string                    `json:"error,omitempty"`
	// Hosts are the domain's nameservers and mail exchangers ("ns:NAME",
	// "mx:NAME"), what expansion starts from.
	Hosts []string `json:"hosts,omitempty"`
	// Out is the size of the NDJSON output file once this domain's line
	// was written (0 when the output is not a file).
	Out int64 `json:"out,omitempty"`
}

// Journal records, one line per domain and synced before the next, the
// domains of an inventory whose outputs are all written. A run given the
// journal of a crashed (kill -9) or interrupted run skips them; a line
// torn by the crash is cut off. It keeps the set of names done and the
// totals, not the entries.
type Journal struct {
	mu     sync.Mutex
	f      *os.File
	path   string
	done   map[string]bool
	totals Totals
	out    int64
	hosts  *hostSet
}

// Totals sums journal entries: what an inventory's summary and its
// --fail-on gate need.
type Totals struct {
	Done, Partial, Failed int
	// Findings counts findings by severity (info first).
	Findings [finding.Critical + 1]int
}

func (t *Totals) add(e *Entry) {
	switch e.Status {
	case StatusFailed:
		t.Failed++
	case StatusPartial:
		t.Partial++
	default:
		t.Done++
	}
	for i, n := range e.Findings {
		t.Findings[i] += n
	}
}

// Examined is the number of domains with a result (done or partial).
func (t Totals) Examined() int { return t.Done + t.Partial }

// AtLeast counts the findings at or above sev.
func (t Totals) AtLeast(sev finding.Severity) int {
	n := 0
	for s := sev; s <= finding.Critical; s++ {
		n += t.Findings[s]
	}
	return n
}

// OpenJournal opens (or creates) the journal at path and reads what it
// holds. A last line without end of line (the crash hit while it was
// written) is cut off; any other line that is not an entry is an error.
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJournal, err)
	}
	j := &Journal{f: f, path: path, done: map[string]bool{}, hosts: newHostSet()}
	good, err := j.load()
	if err == nil {
		err = f.Truncate(good)
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// load reads the entries and returns the length of the valid prefix.
func (j *Journal) load() (int64, error) {
	br := bufio.NewReader(j.f)
	var good int64
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return good, nil // a torn last line, if any, is dropped
		}
		if err != nil {
			return 0, fmt.Errorf("%w %s: %w", ErrJournal, j.path, err)
		}
		var e Entry
		if jerr := json.Unmarshal(bytes.TrimSpace(line), &e); jerr != nil || e.Domain == "" {
			return 0, fmt.Errorf("%w %s: line %d is not a journal entry (%s)", ErrJournal, j.path, n, quoteBytes(line))
		}
		good += int64(len(line))
		if !j.done[e.Domain] {
			j.done[e.Domain] = true
			j.totals.add(&e)
		}
		j.hosts.addAll(e.Hosts)
		j.out = max(j.out, e.Out)
	}
}

// Hosts are the nameservers and mail exchangers of the domains recorded.
func (j *Journal) Hosts() []string { return j.hosts.sorted() }

// Done reports whether domain is in the journal.
func (j *Journal) Done(domain string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.done[domain]
}

// Totals sums the entries recorded so far.
func (j *Journal) Totals() Totals {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.totals
}

// OutputSize is the size the NDJSON output file had after the last
// domain recorded: a resumed run cuts the file back to it (dropping a line
// that was written but not recorded) and appends.
func (j *Journal) OutputSize() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.out
}

// Record appends e and syncs the journal.
func (j *Journal) Record(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%w %s: %w", ErrJournal, j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("%w %s: %w", ErrJournal, j.path, err)
	}
	if !j.done[e.Domain] {
		j.done[e.Domain] = true
		j.totals.add(&e)
	}
	j.hosts.addAll(e.Hosts)
	j.out = max(j.out, e.Out)
	return nil
}

// Close closes the journal file.
func (j *Journal) Close() error { return j.f.Close() }

func quoteBytes(b []byte) string {
	return pdns.Excerpt(string(bytes.TrimRight(b, "\n")))
}
