package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/store"
)

// Exact re-ingest: a regular file whose size the store's ledger (or this
// run) has seen is hashed (SHA-256 of its bytes as they are on disk)
// before it is read, and skipped with a notice unless Options.Force when
// its digest is known too. A file of a size never seen is new: it is
// hashed as it is read, at no extra pass. The digest is recorded after the
// flush that wrote the file's data, so that a file whose ingest failed or
// was stopped is read again next time (docs/ingest.md).

// ledgerFile returns the path of a file source (without its format
// prefix) and, when it is a regular, non-empty file, its size; anything
// else (standard input, a FIFO, a device, a missing file: openSource says
// what is wrong) is not hashed.
func ledgerFile(src string) (name string, size int64, regular bool) {
	name, fi, regular := regularSource(src)
	if !regular || fi.Size() == 0 {
		return name, 0, false
	}
	return name, fi.Size(), true
}

// regularSource returns the file a source names and its information,
// regular when it is a regular file (not standard input, a FIFO, a
// directory or missing).
func regularSource(src string) (name string, fi os.FileInfo, regular bool) {
	_, name = cutPrefix(src)
	if name == "-" {
		return name, nil, false
	}
	fi, err := os.Stat(name)
	return name, fi, err == nil && fi.Mode().IsRegular()
}

// ChecksLedgerFirst reports whether Run, given sources, asks its sink's
// ledger about its first file before it reads anything else: the first
// source that is not a listener or a live capture (those run beside the
// files) is a non-empty regular file, and force is off. A sink that
// opens its store on demand then opens it at once.
func ChecksLedgerFirst(sources []string, force bool) bool {
	if force {
		return false
	}
	for _, s := range sources {
		if IsLive(s) {
			continue
		}
		_, _, regular := ledgerFile(s)
		return regular
	}
	return false
}

// Finite reports whether every source is a regular file, so that an
// ingest of them ends by itself: no listener, live capture, pipe, FIFO or
// standard input (those run until stopped, or as long as a writer does).
func Finite(sources []string) bool {
	for _, s := range sources {
		if _, _, regular := regularSource(s); IsLive(s) || !regular {
			return false
		}
	}
	return len(sources) > 0
}

// IsLive reports whether a source is read live, beside the files and
// until stopped: a dnstap listener or a live capture.
func IsLive(s string) bool { return isListener(s) || strings.HasPrefix(s, "live:") }

// isListener reports whether a source is a dnstap listener.
func isListener(s string) bool {
	return strings.HasPrefix(s, "dnstap:unix:") || strings.HasPrefix(s, "dnstap:tcp:")
}

// digestFile returns the SHA-256 and size of a file, read whole.
func digestFile(ctx context.Context, name string) (sum [32]byte, size int64, err error) {
	f, err := os.Open(name)
	if err != nil {
		return sum, 0, fmt.Errorf("%w: %w", ErrSource, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, &ctxReader{ctx: ctx, r: f}, make([]byte, 1<<20))
	if err != nil {
		return sum, 0, fmt.Errorf("%s: %w", name, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, n, nil
}

// seenBefore tells whether the regular file name of size bytes was
// ingested before, by this run or one the ledger remembers; if so it is
// skipped here, with a notice. hashed reports that sum is the file's
// digest (computed because its size was seen).
func (in *Ingester) seenBefore(ctx context.Context, name string, size int64) (skip bool, sum [32]byte, hashed bool, err error) {
	in.mu.Lock()
	sizeSeen := in.ingestedSizes[size]
	in.mu.Unlock()
	if !sizeSeen && in.ledger != nil {
		if sizeSeen, err = in.ledger.IngestedSize(ctx, size); err != nil {
			return false, sum, false, fmt.Errorf("%w: %w", ErrSink, err)
		}
	}
	if !sizeSeen {
		return false, sum, false, nil
	}
	if sum, _, err = digestFile(ctx, name); err != nil {
		return false, sum, false, err
	}
	where, seen, err := in.digestSeen(ctx, sum)
	if err != nil || !seen {
		return false, sum, err == nil, err
	}
	in.mu.Lock()
	in.stats.AlreadyIngested++
	in.mu.Unlock()
	in.notice(fmt.Sprintf("%s: skipped, ingested before %s (--force reads it again)", name, where))
	return true, sum, true, nil
}

// digestSeen reports whether a file with digest sum was ingested before,
// and says where.
func (in *Ingester) digestSeen(ctx context.Context, sum [32]byte) (string, bool, error) {
	in.mu.Lock()
	name, ok := in.ingested[sum]
	in.mu.Unlock()
	if ok {
		return fmt.Sprintf("as %s earlier in this run", name), true, nil
	}
	if in.ledger == nil {
		return "", false, nil
	}
	f, err := in.ledger.IngestedFile(ctx, sum)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("%w: %w", ErrSink, err)
	}
	by := ""
	if f.SensorID != "" {
		by = " by sensor " + f.SensorID
	}
	return fmt.Sprintf("as %s on %s%s", f.Name, f.At.Format(time.RFC3339), by), true, nil
}

// ingestedFile notes a file whose data has all been handed over: it is
// recorded at the next flush.
func (in *Ingester) ingestedFile(sum [32]byte, name string, size int64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.ingested[sum] = name
	in.ingestedSizes[size] = true
	in.pendingFiles = append(in.pendingFiles, store.IngestedFile{SHA256: sum, Name: name, Size: size, SensorID: in.opt.SensorID, At: in.opt.Now().UTC().Truncate(time.Second)})
}

// recordFiles records files in the ledger, once their data is written.
func (in *Ingester) recordFiles(ctx context.Context, files []store.IngestedFile) error {
	if in.ledger == nil || len(files) == 0 {
		return nil
	}
	if err := in.ledger.RecordIngested(context.WithoutCancel(ctx), files); err != nil {
		return fmt.Errorf("%w: recording the files ingested: %w", ErrSink, err)
	}
	return nil
}

// notice passes on a file skipped as ingested before.
func (in *Ingester) notice(msg string) {
	if in.opt.Notice != nil {
		in.opt.Notice(msg)
		return
	}
	in.log.Warn(msg)
}
