package imports

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
)

// lineReader reads lines of at most max bytes. A longer line is not held:
// its first bytes are kept for the message and the rest is read past.
// The context is checked between chunks, so that cancelling stops even
// the reading of an endless line.
type lineReader struct {
	br   *bufio.Reader
	max  int
	buf  []byte
	line int // number of the line last returned
}

// lineChunk is how much of a line is read at a time.
const lineChunk = 64 << 10

// keptOfLong is how much of a long line is kept for its message.
const keptOfLong = 60

func newLineReader(r io.Reader, max int) *lineReader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < lineChunk {
		br = bufio.NewReaderSize(r, lineChunk)
	}
	return &lineReader{br: br, max: max}
}

// next returns the next line without its end of line, valid until the
// following call. long reports a line over the limit; line then holds its
// first bytes only. At the end of the input it returns io.EOF.
func (lr *lineReader) next(ctx context.Context) (line []byte, long bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	lr.line++
	chunk, err := lr.br.ReadSlice('\n')
	if err == nil && len(chunk) <= lr.max+1 {
		return chunk, false, nil // the whole line in the buffer: no copy
	}
	lr.buf = append(lr.buf[:0], chunk...)
	for errors.Is(err, bufio.ErrBufferFull) {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		chunk, err = lr.br.ReadSlice('\n')
		if !long && len(lr.buf)+len(chunk) > lr.max+1 {
			long = true
			lr.buf = lr.buf[:min(len(lr.buf), keptOfLong)]
		}
		if !long {
			lr.buf = append(lr.buf, chunk...)
		}
	}
	switch {
	case err == io.EOF:
		if len(lr.buf) == 0 && !long {
			return nil, false, io.EOF
		}
	case err != nil:
		return nil, false, err
	}
	if len(lr.buf) > lr.max+1 || len(lr.buf) == lr.max+1 && lr.buf[lr.max] != '\n' {
		long = true
		lr.buf = lr.buf[:min(len(lr.buf), keptOfLong)]
	}
	return lr.buf, long, nil
}

func trimSpace(b []byte) []byte { return bytes.TrimSpace(b) }

// trimEOL cuts the end of line ("\n" or "\r\n") only.
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
