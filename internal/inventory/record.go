package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/scan"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/watch"
)

// HistorySink records each domain's scan in a store's scan history, the
// one `dnsscout watch` keeps (see RecordScan): an inventory run with
// --db appears in /api/v1/scans, /api/v1/findings and the Watch page.
type HistorySink struct{ h store.History }

// NewHistorySink returns a sink recording into h.
func NewHistorySink(h store.History) *HistorySink { return &HistorySink{h} }

// Put records o's scan.
func (s *HistorySink) Put(ctx context.Context, o *Outcome) error {
	_, err := RecordScan(ctx, s.h, o.Domain, o.Report, o.Err)
	return err
}

// RecordScan moves domain's history one step with one scan of it (rep
// and err as scan.Run returned them), as a watch does
// (watch.ResultOf, history.Advance, store.History.Record): findings open,
// refresh, resolve; names, records and nameservers are compared with the
// domain's baseline. A scan whose resolution failed is recorded as an
// outage; a domain that could not be scanned otherwise (it does not
// exist, say) is not a scan and is not recorded (nil step). Records of
// one domain must not run concurrently.
func RecordScan(ctx context.Context, h store.History, domain string, rep *scan.Report, err error) (*history.Step, error) {
	started := time.Now()
	finished := started
	if rep != nil && rep.Result != nil && !rep.Started.IsZero() {
		started, finished = rep.Started, rep.Finished
	}
	if finished.Before(started) {
		finished = started
	}
	r := watch.ResultOf(domain, rep, err, started, finished)
	if r.Err != nil && !r.Outage {
		return nil, nil
	}
	_, base, states, lerr := h.Last(ctx, domain)
	if lerr != nil {
		return nil, fmt.Errorf("history of %s: %w", domain, lerr)
	}
	sc := history.Scan{ID: history.NewScanID(started), Domain: domain, Started: started.UTC(), Finished: finished.UTC(),
		Complete: r.Complete && r.Err == nil && !r.Outage, Outage: r.Outage}
	if r.Err != nil {
		sc.Error = clipError(r.Err.Error())
	}
	snap := r.Snapshot
	snap.Domain = domain
	step := history.Advance(base, states, snap, sc)
	if err := h.Record(ctx, &step); err != nil {
		return nil, fmt.Errorf("history of %s: %w", domain, err)
	}
	return &step, nil
}

// clipError bounds the error text a scan keeps.
func clipError(s string) string {
	const most = 1000
	if len(s) <= most {
		return s
	}
	return s[:most] + "…"
}
