package alert

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/durable"
)

// The spool directory:
//
//	DIR/lock                     one Dispatcher per directory (durable.Lock)
//	DIR/queue/SEQ.ndjson         one file per Enqueue: a header line, then
//	                             one queueRecord per alert (written with
//	                             durable.WriteFile)
//	DIR/sinks/NAME.log           per sink, one line per alert it is done
//	                             with: "UNIX STATE ID" (appended, fsynced)
//	DIR/corrupt/                 queue files that could not be read
//
// An alert is pending for a sink while a queue file names the sink for it
// and the sink's log has no line for its ID. A queue file is removed when
// no alert in it is pending for any sink. The logs are the dedupe memory:
// lines older than Options.DedupeAge are dropped when a log is rewritten.
const (
	queueDir   = "queue"
	sinksDir   = "sinks"
	corruptDir = "corrupt"
	queueExt   = ".ndjson"
	logExt     = ".log"
)

// spoolHeader is the first line of every queue file.
const spoolHeader = `{"dnsscout_alert_spool":1}`

// queueRecord is one line of a queue file.
type queueRecord struct {
	Enqueued time.Time `json:"enqueued"`
	Sinks    []string  `json:"sinks"`
	Alert    Alert     `json:"alert"`
}

// States of a sink's log line.
const (
	stateDelivered = 'd'
	stateExpired   = 'x' // given up: Options.MaxAge or MaxAttempts
	stateRejected  = 'r' // the receiver refused it for good
)

// maxRecordBytes bounds one alert in the spool.
const maxRecordBytes = 64 << 10

// queueName is the file name of the seq-th queue file.
func queueName(seq uint64) string { return fmt.Sprintf("%016d%s", seq, queueExt) }

// parseQueueName returns the sequence number of a queue file name.
func parseQueueName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, queueExt)
	if !ok || len(base) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	return n, err == nil
}

// readQueueFile reads every record of a queue file.
func readQueueFile(path string) ([]queueRecord, int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	return parseQueue(data)
}

// parseQueue reads a queue file's contents: the header line, then one
// record per line.
func parseQueue(data []byte) ([]queueRecord, int64, error) {
	head, rest, _ := bytes.Cut(data, []byte("\n"))
	if string(head) != spoolHeader {
		return nil, 0, fmt.Errorf("not an alert spool file (header %s)", quote(string(head)))
	}
	var recs []queueRecord
	for n := 2; len(rest) > 0; n++ {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		var r queueRecord
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, 0, fmt.Errorf("line %d: %v", n, err)
		}
		if err := r.Alert.check(); err != nil {
			return nil, 0, fmt.Errorf("line %d: %v", n, err)
		}
		recs = append(recs, r)
	}
	return recs, int64(len(data)), nil
}

// doneLog is what a sink's log says: the IDs it is done with and when.
type doneLog struct {
	done  map[string]int64 // ID -> Unix time
	lines int              // lines in the file
	// rewrite: the file holds lines that a rewrite would drop (old,
	// malformed or repeated).
	rewrite bool
}

// loadDoneLog reads a sink's log, keeping the lines at or after cutoff
// (Unix seconds). A last line without its newline (a crash mid-append)
// is cut off the file.
func loadDoneLog(path string, cutoff int64) (*doneLog, error) {
	l := &doneLog{done: map[string]int64{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		if err := os.Truncate(path, int64(i+1)); err != nil {
			return nil, err
		}
		data = data[:i+1]
	}
	for line := range bytes.Lines(data) {
		l.lines++
		id, at, ok := parseDoneLine(line)
		if !ok || at < cutoff {
			l.rewrite = true
			continue
		}
		if prev, dup := l.done[id]; dup {
			l.rewrite = true
			at = max(at, prev)
		}
		l.done[id] = at
	}
	return l, nil
}

// parseDoneLine reads "UNIX STATE ID\n".
func parseDoneLine(line []byte) (id string, at int64, ok bool) {
	f := strings.Fields(string(line))
	if len(f) != 3 || len(f[1]) != 1 || !strings.Contains("dxr", f[1]) || !validID(f[2]) {
		return "", 0, false
	}
	at, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return f[2], at, true
}

func appendDoneLine(b []byte, at int64, state byte, id string) []byte {
	b = strconv.AppendInt(b, at, 10)
	b = append(b, ' ', state, ' ')
	b = append(b, id...)
	return append(b, '\n')
}

// writeDoneLog replaces a sink's log with the given entries (oldest first).
func writeDoneLog(dir, name string, done map[string]int64) error {
	type rec struct {
		id string
		at int64
	}
	recs := make([]rec, 0, len(done))
	for id, at := range done {
		recs = append(recs, rec{id, at})
	}
	slices.SortFunc(recs, func(a, b rec) int {
		return cmp.Or(cmp.Compare(a.at, b.at), strings.Compare(a.id, b.id))
	})
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	var line []byte
	for _, r := range recs {
		// The state of old lines no longer matters: only that the sink
		// is done with the ID.
		line = appendDoneLine(line[:0], r.at, stateDelivered, r.id)
		w.Write(line)
	}
	w.Flush()
	return durable.WriteFile(dir, name, b.Bytes())
}

// appendSync appends b to f and syncs it.
func appendSync(f *os.File, b []byte) error {
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Sync()
}

// moveAside moves an unreadable queue file to DIR/corrupt.
func moveAside(dir, name string) error {
	return os.Rename(filepath.Join(dir, queueDir, name), filepath.Join(dir, corruptDir, name))
}
