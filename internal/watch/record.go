package watch

import (
	"context"
	"time"

	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/inventory"
	"github.com/dnsscout/dnsscout/internal/scan"
	"github.com/dnsscout/dnsscout/internal/store"
)

// HistorySink is an inventory sink recording each domain's scan in a
// store's scan history, the one a watch keeps (see RecordScan): an
// inventory run with --db appears in /api/v1/scans, /api/v1/findings and
// the Watch page.
type HistorySink struct{ h store.History }

// NewHistorySink returns a sink recording into h.
func NewHistorySink(h store.History) *HistorySink { return &HistorySink{h} }

// Put records o's scan.
func (s *HistorySink) Put(ctx context.Context, o *inventory.Outcome) error {
	_, err := RecordScan(ctx, s.h, o.Domain, o.Report, o.Err)
	return err
}

// RecordScan moves domain's history one step with one scan of it (rep
// and err as scan.Run returned them), as a watch does
// (ResultOf, history.Advance, store.History.Record): findings open,
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
	r := ResultOf(domain, rep, err, started, finished)
	if r.Err != nil && !r.Outage {
		return nil, nil
	}
	return recordResult(ctx, h, domain, r)
}
