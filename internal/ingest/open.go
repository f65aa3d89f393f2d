package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// openedSource is a file source ready to be read: open, decompressed
// within the limits, its format known.
type openedSource struct {
	name   string
	format *Format
	// empty: the file holds nothing (not an error).
	empty bool
	r     *bufio.Reader
	raw   *countingReader // what was read of the file itself
	size  int64           // of a regular file; 0 when unknown
	// compression names the wrapper removed ("gzip", "zstd"), if any.
	compression string
	closers     []func()
}

func (o *openedSource) close() {
	for i := len(o.closers) - 1; i >= 0; i-- {
		o.closers[i]()
	}
	o.closers = nil
}

// openSource opens a file source ("-" is stdin), unwraps gzip or zstd,
// and identifies its format: forced by a prefix ("pcap:FILE"), else the
// first of Formats whose Detect accepts its first bytes. Nothing blocks
// beyond ctx: a FIFO without a writer is opened on a goroutine that
// cancelling abandons, and reads of pipes are cancellable. Errors name the
// file; an unknown format says what the file looks like.
//
// tee, when not nil, is given the file's bytes as they are read.
func (in *Ingester) openSource(ctx context.Context, src string, stdin io.Reader, tee io.Writer) (_ *openedSource, err error) {
	forced, name := cutPrefix(src)
	o := &openedSource{name: name, format: forced}
	defer func() {
		if err != nil {
			o.close()
		}
	}()
	var r io.Reader
	if name == "-" {
		if stdin == nil {
			return nil, fmt.Errorf("%w: no standard input", ErrSource)
		}
		// A pipe: read on a goroutine that cancelling abandons.
		ra := newReadAhead(ctx, stdin, nil, false)
		o.closers = append(o.closers, ra.Close)
		r = ra
	} else {
		f, size, closeFile, err := openFile(ctx, name)
		if err != nil {
			return nil, err
		}
		o.closers = append(o.closers, closeFile)
		o.size, r = size, f
		if tee != nil {
			r = io.TeeReader(r, tee)
		}
		if _, regular := f.(*ctxReader); regular && runtime.GOMAXPROCS(0) > 1 {
			// With more than one processor, a regular file is read
			// (and hashed, with tee) on a goroutine of its own, ahead
			// of the decoding: on bench/ingest the reads and the
			// SHA-256 were a sixth of the decoding goroutine's time.
			// Close waits for it, so the file is closed after
			// (closers run last first).
			ra := newReadAhead(ctx, r, nil, true)
			o.closers = append(o.closers, ra.Close)
			r = ra
		}
	}
	o.raw = &countingReader{r: r}
	o.r = bufio.NewReaderSize(o.raw, 1<<20)
	if err := in.identify(ctx, o); err != nil {
		return nil, err
	}
	return o, nil
}

// identify unwraps the compression of o.r and, unless a prefix forced
// it, tells o's format.
func (in *Ingester) identify(ctx context.Context, o *openedSource) error {
	if err := in.decompress(ctx, o); err != nil {
		return fmt.Errorf("%s: %w", o.name, err)
	}
	if o.format != nil {
		if _, err := o.r.Peek(1); err == io.EOF {
			o.empty = true
		}
		return nil
	}
	head, err := peekHead(o.r)
	switch {
	case len(head) == 0 && err == io.EOF:
		o.empty = true
		return nil
	case err != nil && err != io.EOF:
		return fmt.Errorf("%s: %w", o.name, err)
	}
	if o.format = detect(head); o.format == nil {
		inside := ""
		if o.compression != "" {
			inside = o.compression + "-compressed; "
		}
		return sourceErr(ErrUnknownFormat, nil, "%s: unknown format (%s%s)", o.name, inside, describe(head))
	}
	return nil
}

// peekHead peeks at the first bytes of r for detection: a little first
// (so that a live stream is not held up waiting for DetectBytes), more
// while no format accepts them.
func peekHead(r *bufio.Reader) ([]byte, error) {
	for need := 512; ; need *= 8 {
		need = min(need, DetectBytes)
		head, err := r.Peek(need)
		if err != nil || detect(head) != nil || need == DetectBytes {
			return head, err
		}
	}
}

// openFile opens a named file for reading. A regular file is read
// directly, checking ctx at every read. Anything else (a FIFO, a device)
// may block in open(2) until a writer comes, and in read(2) until it
// writes: it is opened on a goroutine that cancelling abandons, and read
// through a read-ahead that cancelling interrupts by closing the file.
func openFile(ctx context.Context, name string) (r io.Reader, size int64, closeFile func(), err error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	if fi.IsDir() {
		return nil, 0, nil, fmt.Errorf("%w: %s is a directory", ErrSource, name)
	}
	if fi.Mode().IsRegular() {
		f, err := os.Open(name)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("%w: %w", ErrSource, err)
		}
		return &ctxReader{ctx: ctx, r: f}, fi.Size(), func() { f.Close() }, nil
	}
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(name)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, 0, nil, fmt.Errorf("%w: %w", ErrSource, o.err)
		}
		// Go polls FIFOs: closing the file ends a read in progress.
		ra := newReadAhead(ctx, o.f, func() { o.f.Close() }, false)
		return ra, 0, ra.Close, nil
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, 0, nil, ctx.Err()
	}
}

// ctxReader fails its reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Magic bytes of the compressions that are unwrapped.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// zstdMaxWindow bounds the window a zstd stream may ask the decoder to
// keep (zstd -19 uses 8 MiB; --long up to 128 MiB is refused).
const zstdMaxWindow = 16 << 20

// decompress unwraps gzip or zstd, within Options.MaxRatio and
// MaxDecompressed.
func (in *Ingester) decompress(ctx context.Context, o *openedSource) error {
	magic, _ := o.r.Peek(4)
	var dr io.Reader
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(o.r)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		o.closers = append(o.closers, func() { zr.Close() })
		o.compression, dr = "gzip", zr
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(o.r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderMaxMemory(uint64(zstdMaxWindow)*2))
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		o.closers = append(o.closers, zr.Close)
		o.compression, dr = "zstd", &zstdErrors{zr}
	default:
		return nil
	}
	lim := &decompLimit{r: dr, in: o.raw, maxRatio: in.opt.MaxRatio, max: in.opt.MaxDecompressed, kind: o.compression}
	dr = &ctxReader{ctx: ctx, r: lim}
	// Only for regular files: decompressing a few buffers ahead on another
	// goroutine overlaps it with decoding (see readAhead). A pipe is read
	// ahead already.
	if o.size > 0 && runtime.GOMAXPROCS(0) > 1 {
		ra := newReadAhead(ctx, dr, nil, true)
		o.closers = append(o.closers, ra.Close)
		dr = ra
	}
	o.r = bufio.NewReaderSize(dr, 1<<20)
	return nil
}

// zstdErrors says what a too-large window means.
type zstdErrors struct{ r io.Reader }

func (z *zstdErrors) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		err = sourceErr(ErrLimit, err, "zstd window larger than %d MiB (compressed with --long?): decompress the file first", zstdMaxWindow>>20)
	}
	return n, err
}

// decompLimit ends a decompressed stream that grows past max bytes, or to
// more than maxRatio times the compressed bytes read (after a first MiB):
// a decompression bomb stops long before it costs much time.
type decompLimit struct {
	r        io.Reader
	in       *countingReader
	out      int64
	maxRatio float64
	max      int64
	kind     string
}

// ratioSlack is what may always be decompressed, whatever the ratio.
const ratioSlack = 1 << 20

func (d *decompLimit) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.out += int64(n)
	if d.max > 0 && d.out > d.max {
		return n, sourceErr(ErrLimit, nil, "%s content larger than %d bytes (--max-decompressed)", d.kind, d.max)
	}
	if in := d.in.n.Load(); d.maxRatio > 0 && d.out > ratioSlack && float64(d.out) > d.maxRatio*float64(in) {
		return n, sourceErr(ErrLimit, nil, "%s content over %g times its compressed size: a decompression bomb? (--max-ratio)", d.kind, d.maxRatio)
	}
	return n, err
}

// describe says what head looks like, for an unknown format: its first
// bytes in hex and, when they are known, what they are.
func describe(head []byte) string {
	hex := make([]string, 0, 8)
	for _, c := range head[:min(8, len(head))] {
		hex = append(hex, fmt.Sprintf("%02x", c))
	}
	starts := "starts " + strings.Join(hex, " ")
	if len(head) > 8 {
		starts += " ..."
	}
	if what := looksLike(head); what != "" {
		return starts + ": " + what
	}
	if isText(head) {
		line, _, _ := bytes.Cut(head, []byte("\n"))
		line = bytes.TrimSpace(line)
		more := ""
		if len(line) > 60 {
			line, more = line[:60], "..."
		}
		return "text: " + pdns.Excerpt(string(line)) + more
	}
	return starts + ": binary data"
}

// magics are file types people might give ingest by mistake.
var magics = []struct {
	off   int
	magic string
	what  string
}{
	{0, "\x7fELF", "an ELF executable"},
	{0, "MZ", "a Windows executable"},
	{0, "%PDF", "a PDF document"},
	{0, "\x89PNG", "a PNG image"},
	{0, "\xff\xd8\xff", "a JPEG image"},
	{0, "GIF8", "a GIF image"},
	{0, "PK\x03\x04", "a zip archive: unzip it first"},
	{0, "BZh", "bzip2 data: decompress it first"},
	{0, "\xfd7zXZ\x00", "xz data: decompress it first"},
	{0, "7z\xbc\xaf\x27\x1c", "a 7-Zip archive"},
	{0, "\x04\x22\x4d\x18", "LZ4 data: decompress it first"},
	{0, "\x1f\x8b", "gzip data (compressed twice?)"},
	{0, "\x28\xb5\x2f\xfd", "zstd data (compressed twice?)"},
	{0, "SQLite format 3\x00", "an SQLite database"},
	{257, "ustar", "a tar archive"},
	{0, "\xd4\xc3\xb2\xa1", "a pcap file the reader does not take (version or header)"},
	{0, "\xa1\xb2\xc3\xd4", "a pcap file the reader does not take (version or header)"},
	{0, "\x0a\x0d\x0d\x0a", "a pcapng file with a broken section header"},
}

func looksLike(head []byte) string {
	for _, m := range magics {
		if len(head) >= m.off+len(m.magic) && string(head[m.off:m.off+len(m.magic)]) == m.magic {
			return m.what
		}
	}
	if len(head) > 0 && bytes.Count(head, []byte{0}) == len(head) {
		return "zero bytes only"
	}
	return ""
}

// isText: valid UTF-8 (a rune cut at the end is fine) without control
// bytes other than white space.
func isText(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	for i := 0; i < len(head); {
		r, size := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && size == 1 {
			return len(head)-i < utf8.UTFMax && !utf8.FullRune(head[i:])
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
		i += size
	}
	return true
}
