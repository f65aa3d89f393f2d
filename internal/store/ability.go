package store

import (
	"context"
	"errors"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// Summary aggregates the tuples of a query without listing them (DNSDB
// summarize).
type Summary struct {
	// Count is the sum of the tuples' counts.
	Count uint64
	// NumResults is the number of tuples aggregated.
	NumResults int64
	// TimeFirst/TimeLast span the sensor sightings, ZoneTimeFirst/
	// ZoneTimeLast the zone-file sightings; zero when there were none.
	TimeFirst, TimeLast         int64
	ZoneTimeFirst, ZoneTimeLast int64
}

// Add folds one tuple into s.
func (s *Summary) Add(t *pdns.Tuple) {
	s.Count += t.Count
	s.NumResults++
	s.TimeFirst = minNonZero(s.TimeFirst, t.TimeFirst)
	s.TimeLast = max(s.TimeLast, t.TimeLast)
	s.ZoneTimeFirst = minNonZero(s.ZoneTimeFirst, t.ZoneTimeFirst)
	s.ZoneTimeLast = max(s.ZoneTimeLast, t.ZoneTimeLast)
}

func minNonZero(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

var errStop = errors.New("store: stop")

// Summarize answers a summarize query with the backend's Summarizer, or by
// iterating Lookup when it has none. See Summarizer for the semantics.
func Summarize(ctx context.Context, b Backend, q Query, maxCount uint64) (Summary, error) {
	if s, ok := b.(Summarizer); ok {
		return s.Summarize(ctx, q, maxCount)
	}
	var sum Summary
	q.Cursor, q.Offset = "", 0
	_, err := b.Lookup(ctx, q, func(t *pdns.Tuple) error {
		sum.Add(t)
		if maxCount > 0 && sum.Count >= maxCount {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return Summary{}, err
	}
	return sum, nil
}

// Export streams every tuple of b to fn with the backend's Exporter, or by
// paging through Lookup (the root name, then every name below it, all
// types) when it has none.
func Export(ctx context.Context, b Backend, fn func(*pdns.Tuple) error) error {
	if e, ok := b.(Exporter); ok {
		return e.Export(ctx, fn)
	}
	for _, w := range []Wildcard{WildNone, WildLeft} {
		q := Query{Kind: KindRRSet, Name: ".", Wildcard: w, Type: TypeAll}
		for {
			cur, err := b.Lookup(ctx, q, fn)
			if err != nil {
				return err
			}
			if cur == "" {
				break
			}
			q.Cursor = cur
		}
	}
	return nil
}
