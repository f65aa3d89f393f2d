package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// IngestedFile is a file whose ingest was committed to the store: what
// exact re-ingest compares (the SHA-256 of its content) and what a notice
// says about it.
type IngestedFile struct {
	// SHA256 is the digest of the file's bytes as read (compressed, if it
	// was).
	SHA256 [32]byte
	// Name is the file as it was given, Size its length in bytes.
	Name string
	Size int64
	// SensorID is the sensor id the ingest ran with.
	SensorID string
	// At is when its ingest was committed (UTC, seconds).
	At time.Time
}

// IngestLedger remembers which files were ingested, by content, so that
// ingesting one again changes no count (docs/ingest.md, "Exact
// re-ingest").
type IngestLedger interface {
	// IngestedSize reports whether a file of exactly size bytes was
	// recorded: a file of a size never seen is new without being hashed
	// first (it is hashed as it is read).
	IngestedSize(ctx context.Context, size int64) (bool, error)
	// IngestedFile returns the record of the file whose content has the
	// digest sum, or an error wrapping ErrNotFound.
	IngestedFile(ctx context.Context, sum [32]byte) (IngestedFile, error)
	// RecordIngested records files, durably before it returns; a digest
	// recorded again keeps its newest record.
	RecordIngested(ctx context.Context, files []IngestedFile) error
}

// LedgerOf returns x's IngestLedger: x itself when it is one, else a
// MetaLedger when x is a MetaStore (both backends are), else false.
func LedgerOf(x any) (IngestLedger, bool) {
	switch l := x.(type) {
	case IngestLedger:
		return l, true
	case MetaStore:
		return MetaLedger{Store: l}, true
	}
	return nil, false
}

// MetaLedger is the IngestLedger of every MetaStore (Pebble, ClickHouse),
// kept in its Meta space "ingested": a key "sha256/HEX" per digest, the
// record as JSON, and a key "size/N" per size.
type MetaLedger struct{ Store MetaStore }

// ledgerSpace is the Meta namespace of the ledger.
const ledgerSpace = "ingested"

type ledgerRecord struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	SensorID string `json:"sensor_id,omitempty"`
	At       int64  `json:"at"`
}

// IngestedFile implements IngestLedger.
func (l MetaLedger) IngestedFile(ctx context.Context, sum [32]byte) (IngestedFile, error) {
	m, err := l.Store.Meta(ledgerSpace)
	if err != nil {
		return IngestedFile{}, err
	}
	v, err := m.Get(ctx, "sha256/"+hex.EncodeToString(sum[:]))
	if err != nil {
		return IngestedFile{}, err
	}
	var r ledgerRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return IngestedFile{}, fmt.Errorf("%w: ingested file %x: %v", ErrCorrupt, sum[:8], err)
	}
	return IngestedFile{SHA256: sum, Name: r.Name, Size: r.Size, SensorID: r.SensorID, At: time.Unix(r.At, 0).UTC()}, nil
}

// IngestedSize implements IngestLedger.
func (l MetaLedger) IngestedSize(ctx context.Context, size int64) (bool, error) {
	m, err := l.Store.Meta(ledgerSpace)
	if err != nil {
		return false, err
	}
	_, err = m.Get(ctx, "size/"+strconv.FormatInt(size, 10))
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// RecordIngested implements IngestLedger.
func (l MetaLedger) RecordIngested(ctx context.Context, files []IngestedFile) error {
	if len(files) == 0 {
		return nil
	}
	m, err := l.Store.Meta(ledgerSpace)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.SHA256 == ([32]byte{}) {
			return errors.New("store: ingested file without a digest")
		}
		v, err := json.Marshal(ledgerRecord{Name: f.Name, Size: f.Size, SensorID: f.SensorID, At: f.At.Unix()})
		if err != nil {
			return err
		}
		// The size last: a size without its digest would only cost a
		// hash, a digest without its size would be missed.
		if err := m.Put(ctx, "sha256/"+hex.EncodeToString(f.SHA256[:]), v); err != nil {
			return err
		}
		if err := m.Put(ctx, "size/"+strconv.FormatInt(f.Size, 10), []byte{1}); err != nil {
			return err
		}
	}
	return nil
}
