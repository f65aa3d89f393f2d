package watch

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
)

// metrics are the watch's Prometheus metrics. Domain labels are only
// given to the first Options.MaxDomainLabels domains of the watch list,
// so that the number of series stays bounded.
type metrics struct {
	w         *Watcher
	labelled  map[string]bool
	duration  *prometheus.HistogramVec
	lastScan  *prometheus.GaugeVec
	domOpen   *prometheus.GaugeVec
	open      *prometheus.GaugeVec
	failures  prometheus.Counter
	failing   *prometheus.GaugeVec
	scans     *prometheus.CounterVec
	alertsCol prometheus.Collector

	mu      sync.Mutex
	perOpen map[string]history.SeverityCounts
}

func newMetrics(w *Watcher) *metrics {
	m := &metrics{w: w, labelled: make(map[string]bool), perOpen: make(map[string]history.SeverityCounts)}
	for i, d := range w.o.Domains {
		if i >= w.o.MaxDomainLabels {
			break
		}
		m.labelled[d.Name] = true
	}
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "dnsscout_watch_scan_duration_seconds", Help: "Duration of the watch's scans, by outcome (complete, partial, outage).",
		Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
	}, []string{"outcome"})
	m.scans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dnsscout_watch_scans_total", Help: "Scans recorded by the watch, by outcome (complete, partial, outage).",
	}, []string{"outcome"})
	m.lastScan = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dnsscout_watch_last_scan_timestamp_seconds", Help: "Start of the newest recorded scan of a domain (Unix time).",
	}, []string{"domain"})
	m.domOpen = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dnsscout_watch_domain_open_findings", Help: "Open findings of a domain, by severity.",
	}, []string{"domain", "severity"})
	m.open = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dnsscout_watch_open_findings", Help: "Open findings of every watched domain, by severity.",
	}, []string{"severity"})
	m.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dnsscout_watch_scan_failures_total", Help: "Scans that failed (and were retried).",
	})
	m.failing = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dnsscout_watch_domain_failures", Help: "Consecutive failed scans of a domain (0 when its last scan succeeded).",
	}, []string{"domain"})
	for s := finding.Info; s <= finding.Critical; s++ {
		m.open.WithLabelValues(s.String()).Set(0)
	}
	if w.o.AlertStats != nil {
		m.alertsCol = &alertCollector{stats: w.o.AlertStats}
	}
	return m
}

func (m *metrics) register(r prometheus.Registerer) error {
	cs := []prometheus.Collector{m.duration, m.scans, m.lastScan, m.domOpen, m.open, m.failures, m.failing}
	if m.alertsCol != nil {
		cs = append(cs, m.alertsCol)
	}
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// names are the names of the metrics (for the docs test).
func (m *metrics) names() []string {
	var descs []*prometheus.Desc
	for _, c := range []prometheus.Collector{m.duration, m.scans, m.lastScan, m.domOpen, m.open, m.failures, m.failing} {
		ch := make(chan *prometheus.Desc, 1)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			descs = append(descs, d)
		}
	}
	for _, d := range alertDescs {
		descs = append(descs, d.desc)
	}
	var out []string
	for _, d := range descs {
		if _, rest, ok := strings.Cut(d.String(), `fqName: "`); ok {
			name, _, _ := strings.Cut(rest, `"`)
			out = append(out, name)
		}
	}
	return out
}

// scanned sets a domain's gauges after its scan (or at load).
func (m *metrics) scanned(domain string, last history.Scan, open history.SeverityCounts) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.perOpen[domain] = open
	for s := finding.Info; s <= finding.Critical; s++ {
		n := 0
		for _, c := range m.perOpen {
			n += c.Of(s)
		}
		m.open.WithLabelValues(s.String()).Set(float64(n))
	}
	if !m.labelled[domain] {
		return
	}
	for s := finding.Info; s <= finding.Critical; s++ {
		m.domOpen.WithLabelValues(domain, s.String()).Set(float64(open.Of(s)))
	}
	if !last.Started.IsZero() {
		m.lastScan.WithLabelValues(domain).Set(float64(last.Started.UnixNano()) / 1e9)
	}
	m.failing.WithLabelValues(domain).Set(0)
}

// observe counts a recorded scan.
func (m *metrics) observe(s *history.Scan) {
	outcome := "complete"
	switch {
	case s.Outage:
		outcome = "outage"
	case !s.Complete:
		outcome = "partial"
	}
	m.scans.WithLabelValues(outcome).Inc()
	m.duration.WithLabelValues(outcome).Observe(s.Duration().Seconds())
}

// failed counts a failed scan.
func (m *metrics) failed(domain string, n int) {
	m.failures.Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.labelled[domain] {
		m.failing.WithLabelValues(domain).Set(float64(n))
	}
}

// added gives a domain added while the watch runs its own series, while
// fewer than Options.MaxDomainLabels domains have them.
func (m *metrics) added(domain string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.labelled) < m.w.o.MaxDomainLabels {
		m.labelled[domain] = true
	}
}

// removed forgets a domain that is no longer watched: its series and its
// part of the totals.
func (m *metrics) removed(domain string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.perOpen, domain)
	for s := finding.Info; s <= finding.Critical; s++ {
		n := 0
		for _, c := range m.perOpen {
			n += c.Of(s)
		}
		m.open.WithLabelValues(s.String()).Set(float64(n))
	}
	if m.labelled[domain] {
		delete(m.labelled, domain)
		m.lastScan.DeleteLabelValues(domain)
		m.failing.DeleteLabelValues(domain)
		for s := finding.Info; s <= finding.Critical; s++ {
			m.domOpen.DeleteLabelValues(domain, s.String())
		}
	}
}

// alertCollector exports the dispatcher's counters per sink.
type alertCollector struct {
	stats func() alert.Stats
}

var alertDescs = []struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*alert.SinkStats) float64
}{
	{prometheus.NewDesc("dnsscout_alert_delivered_total", "Alerts delivered to a sink (alone or in a digest).", []string{"sink", "type"}, nil),
		prometheus.CounterValue, func(s *alert.SinkStats) float64 { return float64(s.Delivered) }},
	{prometheus.NewDesc("dnsscout_alert_messages_total", "Messages sent to a sink.", []string{"sink", "type"}, nil),
		prometheus.CounterValue, func(s *alert.SinkStats) float64 { return float64(s.Messages) }},
	{prometheus.NewDesc("dnsscout_alert_failed_attempts_total", "Deliveries to a sink that failed (retried or given up).", []string{"sink", "type"}, nil),
		prometheus.CounterValue, func(s *alert.SinkStats) float64 { return float64(s.FailedAttempts) }},
	{prometheus.NewDesc("dnsscout_alert_given_up_total", "Alerts a sink never got: expired, rejected by the receiver, or dropped for a full spool.", []string{"sink", "type"}, nil),
		prometheus.CounterValue, func(s *alert.SinkStats) float64 { return float64(s.Expired + s.Rejected + s.Dropped) }},
	{prometheus.NewDesc("dnsscout_alert_duplicates_total", "Alerts not sent again because the sink already had them.", []string{"sink", "type"}, nil),
		prometheus.CounterValue, func(s *alert.SinkStats) float64 { return float64(s.Duplicates) }},
	{prometheus.NewDesc("dnsscout_alert_pending", "Alerts waiting for a sink.", []string{"sink", "type"}, nil),
		prometheus.GaugeValue, func(s *alert.SinkStats) float64 { return float64(s.Pending) }},
}

// Describe implements prometheus.Collector.
func (c *alertCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range alertDescs {
		ch <- d.desc
	}
}

// Collect implements prometheus.Collector.
func (c *alertCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for i := range st.Sinks {
		s := &st.Sinks[i]
		for _, d := range alertDescs {
			ch <- prometheus.MustNewConstMetric(d.desc, d.kind, d.value(s), s.Name, s.Type)
		}
	}
}
