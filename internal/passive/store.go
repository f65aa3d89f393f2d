package passive

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// StoreOptions configure a StoreSource.
type StoreOptions struct {
	// Label is the source's Name. Default "store".
	Label string
	// PageSize is the number of tuples asked per Lookup. Default 10,000.
	PageSize int
	// MaxResults stops the source after that many observations. Default
	// 1,000,000; negative means no cap.
	MaxResults int
	// Logger receives debug logs; nil discards.
	Logger *slog.Logger
}

// StoreSource reads dnsscout's own passive DNS store: every tuple whose
// owner is the domain (exact lookup) or below it (left-hand wildcard
// *.domain), all rrtypes including the DNSSEC ones.
type StoreSource struct {
	db   store.Backend
	opts StoreOptions
	log  *slog.Logger
}

var _ Source = (*StoreSource)(nil)

// NewStoreSource returns a source over db; it does not close db.
func NewStoreSource(db store.Backend, opts StoreOptions) (*StoreSource, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: store source without a store", ErrConfig)
	}
	if opts.Label == "" {
		opts.Label = "store"
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 10000
	}
	if opts.MaxResults == 0 {
		opts.MaxResults = 1_000_000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &StoreSource{db: db, opts: opts, log: log.With("component", "passive", "source", opts.Label)}, nil
}

// Name returns the label ("store" by default).
func (s *StoreSource) Name() string { return s.opts.Label }

// Names implements Source.
func (s *StoreSource) Names(ctx context.Context, domain string, fn func(Observation) error) error {
	d, err := CheckDomain(domain)
	if err != nil {
		return err
	}
	delivered := 0
	for _, w := range []store.Wildcard{store.WildNone, store.WildLeft} {
		q := store.Query{Kind: store.KindRRSet, Name: d, Wildcard: w, Type: store.TypeAll, Limit: s.opts.PageSize}
		for {
			cur, err := s.db.Lookup(ctx, q, func(t *pdns.Tuple) error {
				if s.opts.MaxResults > 0 && delivered >= s.opts.MaxResults {
					return errLimit
				}
				if !inScope(t.RRName, d) || t.RData == "" {
					skip(ctx, s.log, "out of scope or empty", "name", t.RRName)
					return nil
				}
				delivered++
				return fn(fromTuple(t, s.opts.Label))
			})
			if err == errLimit {
				s.log.Debug("result cap reached", "max", s.opts.MaxResults)
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: lookup %s: %w", s.opts.Label, d, err)
			}
			if cur == "" {
				break
			}
			q.Cursor = cur
		}
	}
	return nil
}

// errLimit stops a lookup at MaxResults; it never leaves the package.
var errLimit = fmt.Errorf("passive: result cap reached")

// fromTuple converts a stored or fetched tuple. Times are the sighting
// window store.Window gives: traffic times, else zone-file times.
func fromTuple(t *pdns.Tuple, source string) Observation {
	first, last := store.Window(t)
	o := Observation{
		Name:   t.RRName,
		Type:   pdns.TypeString(t.RRType),
		Data:   t.RData,
		Count:  t.Count,
		Source: source,
	}
	if first > 0 {
		o.FirstSeen = time.Unix(first, 0).UTC()
	}
	if last > 0 {
		o.LastSeen = time.Unix(last, 0).UTC()
	}
	return o
}
