package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dnsscout/dnsscout/internal/store"
)

// metrics are the server's Prometheus metrics. Endpoint labels come from a
// fixed set, never from the request, so that their number stays bounded.
type metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	inFlight       prometheus.Gauge
	results        *prometheus.CounterVec
	authFailures   *prometheus.CounterVec
	limited        *prometheus.CounterVec
	ingestTuples   prometheus.Counter
	ingestRejected prometheus.Counter
	ingestBatches  *prometheus.CounterVec
	storeTuples    prometheus.Gauge

	sizeMu   sync.Mutex
	sizeAt   time.Time
	size     int64
	sizeFunc func() int64
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{reg: reg}
	f := prometheus.WrapRegistererWithPrefix("dnsscout_", reg)
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "HTTP requests by endpoint and status code.",
	}, []string{"endpoint", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Time to answer HTTP requests, by endpoint.",
		Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"endpoint"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "http_requests_in_flight", Help: "HTTP requests being answered.",
	})
	m.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "api_results_total", Help: "Records (or Flex results) returned, by API.",
	}, []string{"api"})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "api_auth_failures_total", Help: "Requests refused for their credentials, by reason.",
	}, []string{"reason"})
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "api_limited_total", Help: "Requests refused by a key's limits or permissions, by reason.",
	}, []string{"reason"})
	m.ingestTuples = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ingest_tuples_total", Help: "Tuples merged into the store from remote sensors.",
	})
	m.ingestRejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ingest_rejected_total", Help: "Lines or tuples from remote sensors that were skipped.",
	})
	m.ingestBatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ingest_batches_total", Help: "Ingest requests by result (ok, duplicate, failed).",
	}, []string{"result"})
	m.storeTuples = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "store_tuples", Help: "Tuples in the store at the last statistics run (see serve --stats-interval).",
	})
	storeBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "store_bytes", Help: "Bytes the store occupies on disk (-1 when unknown).",
	}, func() float64 { return float64(m.storeSize()) })
	f.MustRegister(m.requests, m.latency, m.inFlight, m.results, m.authFailures, m.limited,
		m.ingestTuples, m.ingestRejected, m.ingestBatches, m.storeTuples, storeBytes)
	for _, r := range []string{"ok", "duplicate", "failed"} {
		m.ingestBatches.WithLabelValues(r)
	}
	m.sizeFunc = func() int64 { return -1 }
	if sr, ok := s.st.(store.SizeReporter); ok {
		m.sizeFunc = func() int64 { return sr.DiskUsage() }
	} else if s.opt.StoreDir != "" {
		dir := s.opt.StoreDir
		m.sizeFunc = func() int64 { return dirBytes(dir) }
	}
	return m
}

// storeSize returns the store's size, computed at most every 15 s.
func (m *metrics) storeSize() int64 {
	m.sizeMu.Lock()
	defer m.sizeMu.Unlock()
	if time.Since(m.sizeAt) > 15*time.Second {
		m.size = m.sizeFunc()
		m.sizeAt = time.Now()
	}
	return m.size
}

func dirBytes(dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return total
}

// runStats refreshes store_tuples every interval (a full scan on Pebble)
// until ctx ends.
func (m *metrics) runStats(ctx context.Context, st store.Backend, interval time.Duration, log *slog.Logger) {
	sr, ok := st.(store.StatsReporter)
	if !ok {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if s, err := sr.Stats(ctx); err == nil {
			m.storeTuples.Set(float64(s.Tuples))
		} else if ctx.Err() == nil {
			log.Warn("store statistics failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusRecorder remembers the status code a handler sent.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type labelKey struct{}

// setLabel refines a request's endpoint label (e.g. dnsdb -> dnsdb_lookup).
// The label must come from a fixed set.
func setLabel(r *http.Request, sub string) {
	if p, ok := r.Context().Value(labelKey{}).(*string); ok {
		switch sub {
		case "lookup", "summarize", "regex", "glob", "ping", "rate_limit":
			*p = *p + "_" + sub
		}
	}
}

var reqSeq atomic.Uint64

// instrument counts, times and logs the requests of one endpoint, and
// sets the security headers every answer carries.
func (s *Server) instrument(endpoint string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		label := endpoint
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), labelKey{}, &label))
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		s.met.inFlight.Inc()
		defer func() {
			s.met.inFlight.Dec()
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "endpoint", label, "path", r.URL.Path, "panic", v)
				if rec.code == 0 {
					rec.Header().Set("Content-Type", "application/json")
					rec.WriteHeader(http.StatusInternalServerError)
					rec.Write([]byte(`{"error":"internal error (logged on the server)","status":500}` + "\n"))
				}
				code = http.StatusInternalServerError
			}
			el := time.Since(start)
			s.met.requests.WithLabelValues(label, strconv.Itoa(code)).Inc()
			s.met.latency.WithLabelValues(label).Observe(el.Seconds())
			lvl := slog.LevelDebug
			if s.opt.LogRequests {
				lvl = slog.LevelInfo
			}
			if code >= 500 {
				lvl = slog.LevelWarn
			}
			if s.log.Enabled(r.Context(), lvl) {
				s.log.Log(r.Context(), lvl, "request", "id", reqSeq.Add(1), "method", r.Method, "path", r.URL.Path,
					"endpoint", label, "status", code, "bytes", rec.bytes, "duration", el, "remote", r.RemoteAddr)
			}
		}()
		h.ServeHTTP(rec, r)
	})
}
