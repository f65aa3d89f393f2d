package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Stored forms. Both store backends keep history in these forms, so that
// one fuzzed decoder guards them:
//
//   - a snapshot is a format byte (1) followed by one zstd frame of the
//     normalized snapshot's JSON, compressed with a window of at most
//     zstdWindow bytes;
//   - a scan, finding state or event is its JSON.

const (
	snapshotFormat = 1
	// zstdWindow is the largest window the encoder uses and the decoder
	// accepts: it bounds the decoder's memory whatever a frame claims.
	zstdWindow = 2 << 20
)

var (
	encOnce sync.Once
	enc     *zstd.Encoder
)

func encoder() *zstd.Encoder {
	encOnce.Do(func() {
		var err error
		enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true))
		if err != nil {
			panic("history: zstd encoder: " + err.Error()) // constant options: a programming error
		}
	})
	return enc
}

// MarshalSnapshot returns the stored form of s (normalized first, on a
// copy). It fails with ErrTooLarge over MaxSnapshotBytes of JSON.
func MarshalSnapshot(s *Snapshot) ([]byte, error) {
	c := cloneSnapshot(s)
	c.Normalize()
	js, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("history: encode snapshot: %w", err)
	}
	if len(js) > MaxSnapshotBytes {
		return nil, fmt.Errorf("%w: snapshot of %s is %d bytes (limit %d)", ErrTooLarge, clip(c.Domain), len(js), MaxSnapshotBytes)
	}
	out := make([]byte, 1, 1+len(js)/4)
	out[0] = snapshotFormat
	return encoder().EncodeAll(js, out), nil
}

// UnmarshalSnapshot decodes the stored form of a snapshot, producing at most
// limit bytes of JSON (0 or more than MaxSnapshotBytes: MaxSnapshotBytes),
// so that memory stays proportional to limit whatever the input claims.
// Errors wrap ErrCorrupt or ErrTooLarge.
func UnmarshalSnapshot(b []byte, limit int) (*Snapshot, error) {
	if limit <= 0 || limit > MaxSnapshotBytes {
		limit = MaxSnapshotBytes
	}
	if len(b) < 2 || b[0] != snapshotFormat {
		return nil, fmt.Errorf("%w: not a stored snapshot", ErrCorrupt)
	}
	var h zstd.Header
	if err := h.Decode(b[1:]); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	if h.HasFCS && h.FrameContentSize > uint64(limit) {
		return nil, fmt.Errorf("%w: snapshot of %d bytes (limit %d)", ErrTooLarge, h.FrameContentSize, limit)
	}
	// Memory: the window (at most zstdWindow) and the output, which the
	// LimitReader stops one byte past limit.
	d, err := zstd.NewReader(bytes.NewReader(b[1:]), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdWindow))
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	defer d.Close()
	js, err := io.ReadAll(io.LimitReader(d, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	if len(js) > limit {
		return nil, fmt.Errorf("%w: snapshot over %d bytes", ErrTooLarge, limit)
	}
	var s Snapshot
	if err := json.Unmarshal(js, &s); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	if err := ValidDomain(s.Domain); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	s.Normalize()
	return &s, nil
}

// validator is a record type with a Validate method.
type validator[T any] interface {
	*T
	Validate() error
}

// MarshalRecord returns the stored form of a scan, finding state or event
// after validating it. Errors wrap ErrInvalid or ErrTooLarge.
func MarshalRecord[T any, P validator[T]](r P) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(b) > MaxRecordBytes {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(b), MaxRecordBytes)
	}
	return b, nil
}

// UnmarshalRecord decodes and validates the stored form of a scan, finding
// state or event. Errors wrap ErrCorrupt.
func UnmarshalRecord[T any, P validator[T]](b []byte) (T, error) {
	var r T
	if len(b) > MaxRecordBytes {
		return r, fmt.Errorf("%w: record of %d bytes", ErrCorrupt, len(b))
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := P(&r).Validate(); err != nil {
		return r, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return r, nil
}
