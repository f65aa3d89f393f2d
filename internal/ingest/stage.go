package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dnsscout/dnsscout/internal/ingest/imports"
	"github.com/dnsscout/dnsscout/internal/pdns"
)

// stage holds what an import reads (tuples and NXDOMAIN counts) until the
// whole file is known good, so that a file with a bad line is committed
// not at all: in memory up to max bytes, then in an unlinked temporary
// file, so that --memory holds whatever the file's size. Records are
// encoded compactly; replay feeds them on in order.
//
// Staging costs a copy of the import's tuples (on bench-sized imports
// less than the parsing); the alternative, one store transaction per
// file, would hold the whole file in Pebble's memory (or need a ClickHouse
// equivalent) and break the --memory bound.
type stage struct {
	dir  string
	max  int
	mem  []byte
	file *os.File
	w    *bufio.Writer
	n    int // records staged
	err  error
}

func newStage(dir string, max int) *stage { return &stage{dir: dir, max: max} }

// Record kinds in the encoding.
const (
	stagedTuple = 1
	stagedNX    = 2
)

// Tuple stages an imported tuple (imports.Sink).
func (s *stage) Tuple(t *pdns.Tuple) error {
	b := s.buf()
	b = append(b, stagedTuple)
	b = appendString(b, t.RRName)
	b = binary.AppendUvarint(b, uint64(t.RRType))
	b = appendString(b, t.RData)
	b = appendString(b, t.Bailiwick)
	for _, x := range []int64{t.TimeFirst, t.TimeLast, t.ZoneTimeFirst, t.ZoneTimeLast} {
		b = binary.AppendVarint(b, x)
	}
	b = binary.AppendUvarint(b, t.Count)
	b = binary.AppendUvarint(b, uint64(len(t.SensorIDs)))
	for _, id := range t.SensorIDs {
		b = appendString(b, id)
	}
	return s.put(b)
}

// NXDomain stages an NXDOMAIN count (imports.Sink).
func (s *stage) NXDomain(name string, ts int64, count uint64) error {
	b := s.buf()
	b = append(b, stagedNX)
	b = appendString(b, name)
	b = binary.AppendVarint(b, ts)
	b = binary.AppendUvarint(b, count)
	return s.put(b)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// buf returns where the next record is encoded: the memory buffer, or a
// scratch buffer once records go to the file.
func (s *stage) buf() []byte {
	if s.file == nil {
		return s.mem
	}
	return s.mem[:0]
}

// put keeps a record encoded by buf.
func (s *stage) put(b []byte) error {
	s.n++
	if s.file == nil {
		s.mem = b
		if len(s.mem) <= s.max {
			return nil
		}
		return s.spill()
	}
	s.mem = b[:0]
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("ingest: staging an import: %w", err)
	}
	return nil
}

// spill moves the records in memory to a temporary file, removed at once
// (it lives as long as it is open).
func (s *stage) spill() error {
	f, err := os.CreateTemp(s.dir, "dnsscout-import-*")
	if err != nil {
		return fmt.Errorf("ingest: staging an import: %w", err)
	}
	os.Remove(f.Name())
	s.file = f
	s.w = bufio.NewWriterSize(f, 256<<10)
	if _, err := s.w.Write(s.mem); err != nil {
		return fmt.Errorf("ingest: staging an import: %w", err)
	}
	s.mem = make([]byte, 0, 4<<10)
	return nil
}

// replay feeds every staged record to in, in order, and reports how many
// it fed (all of them unless it failed or ctx was cancelled).
func (s *stage) replay(ctx context.Context, sink imports.Sink) (int, error) {
	var r *bufio.Reader
	if s.file == nil {
		r = bufio.NewReader(bytes.NewReader(s.mem))
	} else {
		if err := s.w.Flush(); err != nil {
			return 0, fmt.Errorf("ingest: staging an import: %w", err)
		}
		if _, err := s.file.Seek(0, io.SeekStart); err != nil {
			return 0, fmt.Errorf("ingest: staging an import: %w", err)
		}
		r = bufio.NewReaderSize(s.file, 256<<10)
	}
	var (
		t       pdns.Tuple
		sensors []string
		str     []byte
	)
	readString := func() (string, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		if n > 1<<20 {
			return "", errors.New("corrupt staging record")
		}
		if uint64(cap(str)) < n {
			str = make([]byte, n)
		}
		str = str[:n]
		if _, err := io.ReadFull(r, str); err != nil {
			return "", err
		}
		return string(str), nil
	}
	for i := 0; i < s.n; i++ {
		if i&1023 == 0 && ctx.Err() != nil {
			return i, ctx.Err()
		}
		kind, err := r.ReadByte()
		if err != nil {
			return i, fmt.Errorf("ingest: reading back a staged import: %w", err)
		}
		switch kind {
		case stagedTuple:
			err = s.readTuple(r, &t, &sensors, readString)
			if err == nil {
				err = sink.Tuple(&t)
			}
		case stagedNX:
			var name string
			var ts int64
			var count uint64
			if name, err = readString(); err == nil {
				if ts, err = binary.ReadVarint(r); err == nil {
					if count, err = binary.ReadUvarint(r); err == nil {
						err = sink.NXDomain(name, ts, count)
					}
				}
			}
		default:
			err = errors.New("corrupt staging record")
		}
		if err != nil {
			if errors.Is(err, ErrSink) {
				return i, err
			}
			return i, fmt.Errorf("ingest: reading back a staged import: %w", err)
		}
	}
	return s.n, nil
}

func (s *stage) readTuple(r *bufio.Reader, t *pdns.Tuple, sensors *[]string, readString func() (string, error)) error {
	var err error
	if t.RRName, err = readString(); err != nil {
		return err
	}
	typ, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	t.RRType = uint16(typ)
	if t.RData, err = readString(); err != nil {
		return err
	}
	if t.Bailiwick, err = readString(); err != nil {
		return err
	}
	for _, x := range []*int64{&t.TimeFirst, &t.TimeLast, &t.ZoneTimeFirst, &t.ZoneTimeLast} {
		if *x, err = binary.ReadVarint(r); err != nil {
			return err
		}
	}
	if t.Count, err = binary.ReadUvarint(r); err != nil {
		return err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	*sensors = (*sensors)[:0]
	for range n {
		id, err := readString()
		if err != nil {
			return err
		}
		*sensors = append(*sensors, id)
	}
	t.SensorIDs = *sensors
	return nil
}

// close releases the memory and the temporary file.
func (s *stage) close() {
	s.mem = nil
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}
