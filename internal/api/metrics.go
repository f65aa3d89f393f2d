package api

import (
	"context"
	"io/fs"
	"log/slog"
	"maps"
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
	inFlight       atomic.Int64 // read by the gauge inFlightGauge (a Gauge's Inc is a compare-and-swap loop)
	inFlightGauge  prometheus.GaugeFunc
	results        *prometheus.CounterVec
	resultsDNSDB   prometheus.Counter
	resultsCIRCL   prometheus.Counter
	authFailures   *prometheus.CounterVec
	limited        *prometheus.CounterVec
	ingestTuples   prometheus.Counter
	ingestRejected prometheus.Counter
	ingestBatches  *prometheus.CounterVec
	storeTuples    prometheus.Gauge
	rejectedVec    *prometheus.CounterVec
	paused         prometheus.Counter
	rejections     map[string]prometheus.Counter
	// children maps a requestKey to its *requestChildren: a map never
	// modified once published, replaced whole (under childrenMu) when a
	// label and code are first seen — a typed map lookup, where sync.Map
	// hashed an interface on every request.
	children   atomic.Pointer[map[requestKey]*requestChildren]
	childrenMu sync.Mutex

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
	m.inFlightGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "http_requests_in_flight", Help: "HTTP requests being answered.",
	}, func() float64 { return float64(m.inFlight.Load()) })
	m.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "api_results_total", Help: "Records (or Flex results) returned, by API.",
	}, []string{"api"})
	m.resultsDNSDB, m.resultsCIRCL = m.results.WithLabelValues("dnsdb"), m.results.WithLabelValues("circl")
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
	m.rejectedVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "api_rejected_total", Help: "Requests refused or cut by admission, deadlines and budgets, by reason.",
	}, []string{"reason"})
	m.paused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "api_expensive_paused_seconds_total", Help: "Time expensive queries paused to leave the processors to cheap ones (see serve --expensive-share).",
	})
	m.rejections = map[string]prometheus.Counter{}
	for _, r := range rejectReasons {
		m.rejections[r] = m.rejectedVec.WithLabelValues(r)
	}
	m.storeTuples = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "store_tuples", Help: "Tuples in the store at the last statistics run (see serve --stats-interval).",
	})
	storeBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "store_bytes", Help: "Bytes the store occupies on disk (-1 when unknown).",
	}, func() float64 { return float64(m.storeSize()) })
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "api_slots_in_use", Help: "Work slots in use (see serve --max-in-flight).",
	}, func() float64 { a, _, _ := s.adm.counts(); return float64(a) })
	held := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "api_requests_held", Help: "Admitted requests, those waiting on their client included (see serve --max-requests).",
	}, func() float64 { _, n, _ := s.adm.counts(); return float64(n) })
	f.MustRegister(m.requests, m.latency, m.inFlightGauge, m.results, m.authFailures, m.limited,
		m.ingestTuples, m.ingestRejected, m.ingestBatches, m.storeTuples, storeBytes, m.rejectedVec, m.paused, active, held)
	if c := s.answers; c != nil {
		f.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "api_answer_cache_hits_total", Help: "DNSDB lookups answered from the answer cache (see serve --answer-cache).",
		}, func() float64 { h, _ := c.stats(); return float64(h) }), prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "api_answer_cache_misses_total", Help: "DNSDB lookups the answer cache could not answer.",
		}, func() float64 { _, m := c.stats(); return float64(m) }))
	}
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

// reqSeq numbers the requests in the log.
var reqSeq atomic.Uint64

// requestKey names one child of the request counters.
type requestKey struct {
	label string
	code  int
}

// requestChildren are the counter and histogram of one label and code,
// looked up once: CounterVec.WithLabelValues hashes and locks on every
// call, which showed in profiles at tens of thousands of requests per
// second.
type requestChildren struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// observe counts and times one request.
func (m *metrics) observe(label string, code int, el time.Duration) {
	k := requestKey{label, code}
	var ch *requestChildren
	if cm := m.children.Load(); cm != nil {
		ch = (*cm)[k]
	}
	if ch == nil {
		ch = m.addChildren(k)
	}
	ch.count.Inc()
	ch.latency.Observe(el.Seconds())
}

// addChildren returns the children of k, publishing a new map with them
// when k is new.
func (m *metrics) addChildren(k requestKey) *requestChildren {
	m.childrenMu.Lock()
	defer m.childrenMu.Unlock()
	old := m.children.Load()
	if old != nil {
		if ch := (*old)[k]; ch != nil {
			return ch
		}
	}
	cm := make(map[requestKey]*requestChildren, 1)
	if old != nil {
		maps.Copy(cm, *old)
	}
	ch := &requestChildren{
		count:   m.requests.WithLabelValues(k.label, strconv.Itoa(k.code)),
		latency: m.latency.WithLabelValues(k.label),
	}
	cm[k] = ch
	m.children.Store(&cm)
	return ch
}

// rejected counts a refusal or cut by admission, a deadline or a budget.
func (m *metrics) rejected(reason string) {
	if c, ok := m.rejections[reason]; ok {
		c.Inc()
	}
}
