package api

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// errStop ends a lookup early from its callback.
var errStop = errors.New("api: stop")

// lookupPage delivers the matches offset .. offset+limit-1 of qs to fn
// and reports whether more matches follow. One query pages in the store
// (Offset, Limit, its cursor); several are run in order as one result
// set, each tuple delivered once (a tuple that an earlier query also
// matches is skipped: CIRCL's name queries unite owner and rdata
// matches, and a CNAME inside a zone matches both). limit must be > 0.
func (s *Server) lookupPage(ctx context.Context, qs []store.Query, offset, limit int, fn func(*pdns.Tuple) error) (more bool, err error) {
	if len(qs) == 1 {
		q := qs[0]
		q.Offset, q.Limit = offset, limit
		cur, err := s.st.Lookup(ctx, q, fn)
		return cur != "", err
	}
	qs = slices.Clone(qs) // qs may be shared (the answer cache's parsed requests)
	for i := range qs {
		if err := qs[i].Validate(); err != nil {
			return false, err
		}
	}
	skip, delivered := offset, 0
	for i := range qs {
		q := qs[i]
		earlier := qs[:i]
		cb := func(t *pdns.Tuple) error {
			for j := range earlier {
				if earlier[j].Match(t) {
					return nil
				}
			}
			if skip > 0 {
				skip--
				return nil
			}
			if delivered == limit {
				more = true
				return errStop
			}
			delivered++
			return fn(t)
		}
		for {
			cur, err := s.st.Lookup(ctx, q, cb)
			if errors.Is(err, errStop) {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			if cur == "" {
				break
			}
			q.Cursor = cur
		}
	}
	return false, nil
}

// safWriter streams a DNSDB SAF answer: {"cond":"begin"}, {"obj":...}
// lines, a terminator. Nothing is sent before the first object or the
// terminator, so that an error before any result still gets a proper
// status code.
type safWriter struct {
	w       http.ResponseWriter
	style   dnsdbStyle
	buf     []byte
	pooled  *[]byte
	started bool
	// flushed is set once part of the answer was sent.
	flushed bool
	n       int
	// keep, when set, is given the whole answer at its end, if none of
	// it was sent before (the answer cache).
	keep func(body []byte)
}

const flushBytes = 32 << 10

// bufPool recycles answer buffers: most answers are a few hundred bytes,
// and growing a fresh buffer for each showed in profiles.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func (sw *safWriter) start() {
	if sw.started {
		return
	}
	sw.started = true
	if sw.buf == nil {
		sw.pooled = bufPool.Get().(*[]byte)
		sw.buf = (*sw.pooled)[:0]
	}
	// The status (200) goes with the first write: an answer written in
	// one piece then carries its Content-Length (end) instead of being
	// chunked.
	h := sw.w.Header()
	setShared(h, hkContentType, hvNDJSON)
	setShared(h, hkNoSniff, hvNoSniff)
	sw.buf = append(sw.buf, `{"cond":"begin"}`+"\n"...)
}

// raw writes one {"obj":...} line around an object already rendered.
func (sw *safWriter) raw(obj []byte) error {
	sw.start()
	sw.n++
	sw.buf = append(sw.buf, `{"obj":`...)
	sw.buf = append(sw.buf, obj...)
	sw.buf = append(sw.buf, "}\n"...)
	return sw.maybeFlush()
}

func (sw *safWriter) tuple(t *pdns.Tuple) error {
	sw.start()
	sw.n++
	sw.buf = append(sw.buf, `{"obj":`...)
	sw.buf = appendDNSDB(sw.buf, t, sw.style)
	sw.buf = append(sw.buf, "}\n"...)
	return sw.maybeFlush()
}

func (sw *safWriter) maybeFlush() error {
	if len(sw.buf) < flushBytes {
		return nil
	}
	_, err := sw.w.Write(sw.buf)
	sw.buf = sw.buf[:0]
	sw.flushed = true
	if err == nil {
		err = http.NewResponseController(sw.w).Flush()
	}
	// A long answer lets the other goroutines run between its chunks:
	// Go preempts a busy goroutine only every 10 ms, which is what a
	// short request would wait behind each long one.
	runtime.Gosched()
	return err
}

// end writes the terminator: "succeeded", "limited" or "failed" with msg.
func (sw *safWriter) end(cond, msg string) {
	sw.start()
	sw.buf = append(sw.buf, `{"cond":"`...)
	sw.buf = append(sw.buf, cond...)
	sw.buf = append(sw.buf, '"')
	if msg != "" {
		sw.buf = append(sw.buf, `,"msg":`...)
		sw.buf = appendJSONString(sw.buf, msg)
	}
	sw.buf = append(sw.buf, "}\n"...)
	if !sw.flushed {
		if sw.keep != nil {
			sw.keep(sw.buf)
		}
		sw.w.Header()[hkContentLength] = []string{strconv.Itoa(len(sw.buf))}
	}
	sw.w.Write(sw.buf)
	if sw.pooled != nil && cap(sw.buf) <= 1<<20 {
		*sw.pooled = sw.buf[:0]
		bufPool.Put(sw.pooled)
	}
	sw.buf, sw.pooled = nil, nil
}
