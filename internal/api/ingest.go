package api

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Remote sensors: POST /api/v1/ingest with COF NDJSON (plain or SAF
// framed, optionally gzip: Content-Encoding: gzip or gzip bytes), by a key
// with the ingest permission. Tuples are merged into the store like local
// ingest does (first = min, last = max, count = sum). Lines that do not
// parse, or that the store refuses, are skipped and counted in the answer.
//
// Delivery is at least once: a sender that did not see the answer sends
// the batch again. The Idempotency-Key header makes the retry harmless:
// the server remembers the keys of applied batches for IdempotencyTTL and
// answers a repeat without applying it again. Only a server crash between
// applying a batch and recording its key can double that batch's counts
// (times are idempotent anyway).

// IdempotencyTTL is how long batch keys are remembered.
const IdempotencyTTL = 7 * 24 * time.Hour

const (
	nsIngestBatches = "ingest-batches"
	upsertChunk     = 5000
	maxErrorsShown  = 10
)

// IngestResult is the answer of POST /api/v1/ingest.
type IngestResult struct {
	// Accepted is the number of tuples merged into the store.
	Accepted int `json:"accepted"`
	// Rejected is the number of lines or tuples skipped.
	Rejected int `json:"rejected"`
	// Errors describes the first rejected lines.
	Errors []string `json:"errors,omitempty"`
	// Duplicate is true when the Idempotency-Key was seen before and
	// nothing was applied.
	Duplicate bool `json:"duplicate,omitempty"`
}

type ingestState struct {
	s    *Server
	meta store.Meta // nil when the store has no Meta ability

	mu   sync.Mutex
	seen map[string]time.Time // batch keys applied by this process
	// inProgress holds keys being applied, so that a concurrent retry
	// waits instead of applying the batch twice.
	inProgress map[string]chan struct{}
}

func newIngestState(s *Server) *ingestState {
	st := &ingestState{s: s, seen: map[string]time.Time{}, inProgress: map[string]chan struct{}{}}
	if ms, ok := s.st.(store.MetaStore); ok {
		if m, err := ms.Meta(nsIngestBatches); err == nil {
			st.meta = m
		}
	}
	return st
}

// run prunes old batch keys now and then.
func (st *ingestState) run(ctx context.Context) {
	if st.meta == nil {
		return
	}
	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			st.prune(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (st *ingestState) prune(ctx context.Context) {
	cut := st.s.now().Add(-IdempotencyTTL)
	var old []string
	_ = st.meta.List(ctx, "", func(k string, v []byte) error {
		if n, err := strconv.ParseInt(string(v), 10, 64); err != nil || time.Unix(n, 0).Before(cut) {
			old = append(old, k)
		}
		return nil
	})
	for _, k := range old {
		_ = st.meta.Delete(ctx, k)
	}
	st.mu.Lock()
	for k, t := range st.seen {
		if t.Before(cut) {
			delete(st.seen, k)
		}
	}
	st.mu.Unlock()
}

// claim reserves a batch key: done reports a batch already applied; else
// finish must be called with whether the batch was applied. While it
// waits for another request with the same key, wait (when set) is called
// before and the function it returns after: the waiting request gives
// up its work slot meanwhile. Holding it, requests that retried a batch
// could take every slot of their tenant while the request applying the
// batch waited for one to write its answer, and none went on
// (TestIngestConcurrentRetries hung).
func (st *ingestState) claim(ctx context.Context, key string, wait func() (resume func())) (done bool, finish func(applied bool), err error) {
	for {
		st.mu.Lock()
		if _, ok := st.seen[key]; ok {
			st.mu.Unlock()
			return true, nil, nil
		}
		busyCh, busy := st.inProgress[key]
		if !busy {
			ch := make(chan struct{})
			st.inProgress[key] = ch
			st.mu.Unlock()
			break
		}
		st.mu.Unlock()
		resume := func() {}
		if wait != nil {
			resume = wait()
		}
		select {
		case <-busyCh:
		case <-ctx.Done():
			err = ctx.Err()
		}
		resume()
		if err != nil {
			return false, nil, err
		}
	}
	release := func(applied bool) {
		st.mu.Lock()
		if applied {
			st.seen[key] = st.s.now()
		}
		ch := st.inProgress[key]
		delete(st.inProgress, key)
		st.mu.Unlock()
		close(ch)
	}
	if st.meta != nil {
		if _, err := st.meta.Get(ctx, key); err == nil {
			st.mu.Lock()
			st.seen[key] = st.s.now()
			st.mu.Unlock()
			release(false)
			return true, nil, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			release(false)
			return false, nil, err
		}
	}
	return false, func(applied bool) {
		if applied && st.meta != nil {
			v := strconv.FormatInt(st.s.now().Unix(), 10)
			if err := st.meta.Put(context.WithoutCancel(ctx), key, []byte(v)); err != nil {
				st.s.log.Warn("could not record an ingest batch key; a retry of it would be applied again", "key", key, "err", err)
			}
		}
		release(applied)
	}, nil
}

// validIdempotencyKey: 1 to 128 characters of A-Z a-z 0-9 . _ -.
func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ingestRequest is what the ingest routes' Parse reads from the headers.
type ingestRequest struct {
	// idem is the Idempotency-Key, "" when none.
	idem string
}

// parseIngestHeaders is the ingest routes' Parse: the media type, the
// encoding and the Idempotency-Key.
func parseIngestHeaders(_ *Server, r *http.Request) (any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return nil, sentinelf(ErrMediaType, "Content-Type %q", ct)
		case mt == "application/x-ndjson", mt == "application/ndjson", mt == "application/jsonl", mt == "application/json",
			mt == "application/gzip", mt == "application/octet-stream", mt == "text/plain":
		default:
			return nil, sentinelf(ErrMediaType, "Content-Type %q: send COF NDJSON (application/x-ndjson)", ct)
		}
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc != "" && enc != "identity" && enc != "gzip" && enc != "x-gzip" {
		return nil, sentinelf(ErrMediaType, "Content-Encoding %q: use gzip or none", enc)
	}
	idem := r.Header.Get("Idempotency-Key")
	if idem != "" && !validIdempotencyKey(idem) {
		return nil, badRequest("Idempotency-Key: 1 to 128 characters of A-Z a-z 0-9 . _ -")
	}
	return &ingestRequest{idem: idem}, nil
}

// serveIngest takes tuples from remote sensors: POST /api/v1/ingest.
func (s *Server) serveIngest(c *call) { s.serveIngestBody(c, s.ingestBody) }

// serveIngestNX takes NXDOMAIN counters (store.ParseNXLine lines) from
// remote sensors: POST /api/v1/ingest/nxdomain, with the same key,
// encodings and Idempotency-Key as /api/v1/ingest.
func (s *Server) serveIngestNX(c *call) { s.serveIngestBody(c, s.ingestNXBody) }

// serveIngestBody admits a remote sensor's request and applies its body
// with apply, once per Idempotency-Key.
func (s *Server) serveIngestBody(c *call, apply func(*http.Request, http.ResponseWriter, *keys.Key) (IngestResult, error)) {
	w, r, k := &c.w, c.r, c.key
	idem := c.parsed.(*ingestRequest).idem
	// A body is expected to cost about a second per 10 MB (1 MB when it
	// does not say).
	size := r.ContentLength
	if size < 0 {
		size = 1 << 20
	}
	cost := min(time.Duration(size/10)*time.Microsecond, maxCost)
	if !c.admit(classIngest, page{cost: cost}) {
		return
	}
	finish := func(bool) {}
	if idem != "" {
		done, fin, err := s.ingest.claim(r.Context(), idem, func() func() {
			c.ioStart(time.Now().UnixNano(), true)
			return func() { c.ioEnd(false) }
		})
		if err != nil {
			c.fail(err)
			return
		}
		if done {
			s.met.ingestBatches.WithLabelValues("duplicate").Inc()
			writeJSON(w, http.StatusOK, IngestResult{Duplicate: true})
			return
		}
		finish = fin
	}
	applied := false
	defer func() { finish(applied) }()
	res, err := apply(r, w, k)
	if err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, errBadLines) {
			s.adm.strike(c)
		}
		s.met.ingestBatches.WithLabelValues("failed").Inc()
		c.fail(err)
		return
	}
	applied = true
	s.met.ingestBatches.WithLabelValues("ok").Inc()
	writeJSON(w, http.StatusOK, res)
}

// ingestBody decodes the body and merges its tuples into the store. A
// body of which nothing could be used fails with ErrBadRequest.
func (s *Server) ingestBody(r *http.Request, w http.ResponseWriter, k *keys.Key) (IngestResult, error) {
	var res IngestResult
	ctx := r.Context()
	lim, closeBody, err := s.openIngestBody(r, w)
	if err != nil {
		return res, err
	}
	defer closeBody()
	dec := pdns.NewDecoder(lim)
	sensor := "remote"
	if k != nil {
		sensor = k.Name
		if sensor == "" {
			sensor = "key-" + k.ID
		}
	}
	var batch []pdns.Tuple
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		acc, rej, msgs, err := s.upsertTolerant(ctx, batch)
		res.Accepted += acc
		res.Rejected += rej
		for _, m := range msgs {
			if len(res.Errors) < maxErrorsShown {
				res.Errors = append(res.Errors, m)
			}
		}
		batch = batch[:0]
		if err != nil {
			return err
		}
		return s.checkBadLines(&res)
	}
	for {
		n := len(batch)
		var err error
		batch, err = dec.Decode(batch)
		kept := n
		for i := n; i < len(batch); i++ {
			t := &batch[i]
			if c, ok := pdns.CanonicalRData(t.RRType, t.RData); ok {
				t.RData = c
			}
			if len(t.SensorIDs) == 0 {
				t.SensorIDs = []string{sensor}
			}
			// The rule every source follows (store.CheckTuple), applied
			// here so that a bad tuple costs neither the batch nor a
			// one-by-one retry.
			if err := store.CheckTuple(t); err != nil {
				res.Rejected++
				if len(res.Errors) < maxErrorsShown {
					res.Errors = append(res.Errors, fmt.Sprintf("line %d: %s", dec.Line(), publicMessage(err)))
				}
				continue
			}
			batch[kept] = *t
			kept++
		}
		batch = batch[:kept]
		if err == io.EOF {
			break
		}
		if err != nil {
			if err := s.bodyError(lim, err); err != nil {
				return res, err
			}
			if errors.Is(err, pdns.ErrSAFTruncated) || errors.Is(err, pdns.ErrSAFFailed) {
				break // keep what came before the end of a cut SAF stream
			}
			if isLineError(err) {
				if err := s.skipLine(&res, err, publicMessage); err != nil {
					return res, err
				}
				continue
			}
			return res, badRequest("reading the body: %v", err)
		}
		if len(batch) >= upsertChunk {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	s.met.ingestTuples.Add(float64(res.Accepted))
	s.met.ingestRejected.Add(float64(res.Rejected))
	switch {
	case res.Accepted == 0 && res.Rejected > 0:
		return res, badRequest("no usable COF line (%d rejected; first: %s)", res.Rejected, strings.Join(res.Errors[:min(1, len(res.Errors))], ""))
	case res.Accepted == 0:
		return res, badRequest("empty body: send COF NDJSON, one tuple per line")
	}
	return res, nil
}

// skipLine counts a line skipped as malformed; past MaxIngestBadLines it
// refuses the body.
func (s *Server) skipLine(res *IngestResult, err error, render func(error) string) error {
	res.Rejected++
	if len(res.Errors) < maxErrorsShown { // rendered only when shown
		res.Errors = append(res.Errors, render(err))
	}
	return s.checkBadLines(res)
}

// errBadLines is the refusal of a body with too many bad lines.
var errBadLines = fmt.Errorf("%w", ErrBadRequest)

// checkBadLines refuses a body with more than MaxIngestBadLines lines
// skipped: malformed bodies stop early instead of costing the server a
// decode of each of their lines. What was merged before stays merged.
func (s *Server) checkBadLines(res *IngestResult) error {
	if res.Rejected <= s.opt.MaxIngestBadLines {
		return nil
	}
	s.met.rejected(reasonBadLines)
	s.met.ingestRejected.Add(float64(res.Rejected))
	s.met.ingestTuples.Add(float64(res.Accepted))
	return sentinelf(errBadLines, "more than %d bad lines, body refused (%d tuples merged before; first error: %s)",
		s.opt.MaxIngestBadLines, res.Accepted, strings.Join(res.Errors[:min(1, len(res.Errors))], ""))
}

// ratioFloor is the inflated size from which MaxIngestRatio is checked:
// small bodies may compress very well.
const ratioFloor = 1 << 20

// openIngestBody returns the request body, gunzipped when it is gzip
// (by its magic bytes), capped at MaxIngestBytes before and after
// decompression and at MaxIngestRatio (gzip bombs stop early).
func (s *Server) openIngestBody(r *http.Request, w http.ResponseWriter) (*ingestReader, func(), error) {
	ir := &ingestReader{max: s.opt.MaxIngestBytes, s: s}
	ir.raw.r = http.MaxBytesReader(w, r.Body, s.opt.MaxIngestBytes)
	br := bufio.NewReaderSize(&ir.raw, 16<<10)
	ir.r = br
	closeBody := func() {}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		ir.packed = &countingReader{r: br}
		zr, err := gzip.NewReader(ir.packed)
		if err != nil {
			if err := s.bodyError(ir, err); err != nil {
				return nil, nil, err
			}
			return nil, nil, badRequest("gzip: %v", err)
		}
		ir.r, ir.ratio, closeBody = zr, int64(s.opt.MaxIngestRatio), func() { zr.Close() }
	} else if err := s.bodyError(ir, ir.raw.err); err != nil {
		return nil, nil, err
	} else if enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc == "gzip" || enc == "x-gzip" {
		return nil, nil, badRequest("Content-Encoding gzip but the body is not gzip")
	}
	return ir, closeBody, nil
}

// bodyError turns the failure of a read of an ingest body into the
// refusal it stands for (too large, inflating too much, too slow); nil
// means err is something else.
func (s *Server) bodyError(ir *ingestReader, err error) error {
	if ir.err != nil {
		return ir.err
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(ir.raw.err, ErrSlowClient):
		return ir.raw.err
	case errors.As(ir.raw.err, &mbe), errors.As(err, &mbe):
		s.met.rejected(reasonTooLarge)
		return sentinelf(ErrTooLarge, "body larger than %d bytes", s.opt.MaxIngestBytes)
	}
	return nil
}

// ingestNXBody decodes NXDOMAIN counter lines and merges them into the
// store. Malformed lines are skipped and counted; a body of which nothing
// could be used fails with ErrBadRequest.
func (s *Server) ingestNXBody(r *http.Request, w http.ResponseWriter, _ *keys.Key) (IngestResult, error) {
	var res IngestResult
	nw, ok := s.st.(store.NXDomainWriter)
	if !ok {
		return res, sentinelf(ErrDisabled, "this store does not keep NXDOMAIN counters")
	}
	lim, closeBody, err := s.openIngestBody(r, w)
	if err != nil {
		return res, err
	}
	defer closeBody()
	sc := bufio.NewScanner(lim)
	sc.Buffer(make([]byte, 0, 4<<10), 64<<10)
	var batch []store.NXCount
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := nw.AddNXDomain(context.WithoutCancel(r.Context()), batch); err != nil {
			return fmt.Errorf("api: store: %w", err)
		}
		res.Accepted += len(batch)
		batch = batch[:0]
		return nil
	}
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		c, err := store.ParseNXLine(line)
		if err != nil {
			if err := s.skipLine(&res, err, error.Error); err != nil {
				return res, err
			}
			continue
		}
		if batch = append(batch, c); len(batch) >= upsertChunk {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if err := s.bodyError(lim, err); err != nil {
			return res, err
		}
		return res, badRequest("reading the body: %v", err)
	}
	if err := flush(); err != nil {
		return res, err
	}
	s.met.ingestRejected.Add(float64(res.Rejected))
	switch {
	case res.Accepted == 0 && res.Rejected > 0:
		return res, badRequest("no usable NXDOMAIN counter line (%d rejected; first: %s)", res.Rejected, res.Errors[0])
	case res.Accepted == 0:
		return res, badRequest("empty body: send NXDOMAIN counters, one per line")
	}
	return res, nil
}

// isLineError reports a decode error confined to one line.
func isLineError(err error) bool {
	return errors.Is(err, pdns.ErrCOFSyntax) || errors.Is(err, pdns.ErrCOFMissing) || errors.Is(err, pdns.ErrCOFValue)
}

// upsertTolerant merges tuples; when the store refuses the batch for one
// bad tuple, it writes them one by one and skips the bad ones.
func (s *Server) upsertTolerant(ctx context.Context, ts []pdns.Tuple) (accepted, rejected int, msgs []string, err error) {
	err = s.st.Upsert(context.WithoutCancel(ctx), ts)
	if err == nil {
		return len(ts), 0, nil, nil
	}
	if !errors.Is(err, store.ErrBadTuple) {
		return 0, 0, nil, fmt.Errorf("api: store: %w", err)
	}
	for i := range ts {
		err := s.st.Upsert(context.WithoutCancel(ctx), ts[i:i+1])
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, store.ErrBadTuple):
			rejected++
			msgs = append(msgs, publicMessage(err))
		default:
			return accepted, rejected, msgs, fmt.Errorf("api: store: %w", err)
		}
	}
	return accepted, rejected, msgs, nil
}

// countingReader counts the bytes read through it and keeps the first
// error.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// ingestReader is an ingest body as it is decoded: it fails once more
// than max bytes were read, or when a gzip body inflates more than ratio
// times (past ratioFloor).
type ingestReader struct {
	s      *Server
	raw    countingReader  // the body as sent
	packed *countingReader // the gzip stream, nil for a plain body
	r      io.Reader
	n      int64
	max    int64
	ratio  int64
	err    error
}

func (l *ingestReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	switch {
	case l.n > l.max:
		l.s.met.rejected(reasonTooLarge)
		l.err = sentinelf(ErrTooLarge, "body larger than %d bytes after decompression", l.max)
	case l.packed != nil && l.ratio > 0 && l.n > ratioFloor && l.n > l.ratio*l.packed.n:
		l.s.met.rejected(reasonRatio)
		l.err = sentinelf(ErrTooLarge, "gzip body inflating more than %d times (%d bytes from %d)", l.ratio, l.n, l.packed.n)
	default:
		return n, err
	}
	return n, l.err
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":"encoding failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}
