package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dnsscout/dnsscout/internal/store"
)

// Exact re-ingest: a regular file is hashed (SHA-256 of its bytes as they
// are on disk) before it is read; when the store's ledger, or this run,
// has its digest already, it is skipped with a notice unless
// Options.Force. The digest is recorded after the flush that wrote the
// file's data, so that a file whose ingest failed or was stopped is read
// again next time. Hashing reads the file once more: on bench/ingest's
// 76 MB capture it costs a fraction of decoding (docs/ingest.md).

// digestFile returns the SHA-256 and size of a regular file, or ok false
// for anything else (standard input, a FIFO, a device), which is not
// hashed.
func digestFile(ctx context.Context, name string) (sum [32]byte, size int64, ok bool, err error) {
	if name == "-" {
		return sum, 0, false, nil
	}
	fi, err := os.Stat(name)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return sum, 0, false, nil // openSource reports what is wrong
	}
	f, err := os.Open(name)
	if err != nil {
		return sum, 0, false, nil
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, &ctxReader{ctx: ctx, r: f}, make([]byte, 1<<20))
	if err != nil {
		return sum, 0, false, fmt.Errorf("%s: %w", name, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, n, true, nil
}

// seenBefore reports whether a file with digest sum was ingested before,
// by this run or one the ledger remembers, and says where.
func (in *Ingester) seenBefore(ctx context.Context, sum [32]byte) (string, bool, error) {
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
