package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Export streams every tuple in key order (store.Exporter).
func (db *DB) Export(ctx context.Context, fn func(*pdns.Tuple) error) error {
	if err := db.usable(false); err != nil {
		return err
	}
	l := &lookup{db: db, ctx: ctx, q: store.Query{Type: store.TypeAll}, limit: int(^uint(0) >> 1)}
	l.fn = fn
	it, err := l.newIter([]byte{tRecord}, []byte{tRecord + 1})
	if err != nil {
		return err
	}
	defer it.Close()
	err = l.scanRecords(it, []byte{tRecord}, nil, 0)
	if errors.Is(err, errDone) {
		return nil
	}
	return err
}

// Compact rewrites the whole store into its final compressed form and drops
// deleted data (store.Compacter).
func (db *DB) Compact(ctx context.Context) error {
	if err := db.usable(true); err != nil {
		return err
	}
	if err := db.pdb.Flush(); err != nil {
		return fmt.Errorf("pebble: flush: %w", err)
	}
	// Idle lookup iterators would keep the tables compacted away.
	db.iters.begin()
	defer db.iters.end()
	if err := db.pdb.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		return fmt.Errorf("pebble: compact: %w", err)
	}
	return nil
}

// Stats scans the store (store.StatsReporter); it reads every tuple, so it
// takes time proportional to the store's size.
func (db *DB) Stats(ctx context.Context) (store.Stats, error) {
	if err := db.usable(false); err != nil {
		return store.Stats{}, err
	}
	st := store.Stats{Backend: "pebble", Location: db.dir, ByType: map[uint16]int64{}}
	count := func(lo, hi []byte, fn func(k, v []byte) error) error {
		it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return fmt.Errorf("pebble: %w", err)
		}
		defer it.Close()
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			if n++; n&4095 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var v []byte
			if fn != nil {
				if v, err = it.ValueAndErr(); err != nil {
					return fmt.Errorf("pebble: %w", err)
				}
			}
			if fn != nil {
				if err := fn(it.Key(), v); err != nil {
					return err
				}
			}
		}
		return it.Error()
	}
	var a agg
	err := count([]byte{tRecord}, []byte{tRecord + 1}, func(k, v []byte) error {
		rk, err := parseRecordKey(k)
		if err != nil {
			return corrupt(k, err)
		}
		if err := decodeValue(v, &a); err != nil {
			return corrupt(k, err)
		}
		st.Tuples++
		st.ByType[rk.rrtype]++
		st.Count += a.count
		for _, f := range []int64{a.timeFirst, a.zoneFirst} {
			if f != 0 && (st.TimeFirst == 0 || f < st.TimeFirst) {
				st.TimeFirst = f
			}
		}
		st.TimeLast = max(st.TimeLast, a.timeLast, a.zoneLast)
		return nil
	})
	if err != nil {
		return store.Stats{}, err
	}
	if err := count([]byte{tName}, []byte{tName + 1}, func([]byte, []byte) error { st.Names++; return nil }); err != nil {
		return store.Stats{}, err
	}
	if err := count([]byte{tNX}, []byte{tNX + 1}, func([]byte, []byte) error { st.NXDomainNames++; return nil }); err != nil {
		return store.Stats{}, err
	}
	st.BytesOnDisk = db.DiskUsage()
	return st, nil
}

// pruneChunk is how many deletions one Prune batch holds before Upserts get
// a turn.
const pruneChunk = 10_000

// Prune deletes tuples and NXDOMAIN counters last seen before before
// (store.Pruner), with their index entries. It works in batches; Upserts
// wait only for the batch in progress. Space comes back as compactions run
// (Compact forces it).
func (db *DB) Prune(ctx context.Context, before time.Time) (store.PruneResult, error) {
	var res store.PruneResult
	if err := db.usable(true); err != nil {
		return res, err
	}
	cut := before.Unix()
	next := []byte{tRecord}
	for next != nil {
		var (
			n   int64
			err error
		)
		next, n, err = db.pruneRecords(ctx, next, cut)
		res.Tuples += n
		if err != nil {
			return res, err
		}
	}
	n, err := db.pruneNX(ctx, cut)
	res.NXDomainNames = n
	return res, err
}

// pruneRecords deletes expired tuples from start on, a chunk at a time,
// stopping at a name boundary; it returns where to continue (nil at the
// end).
func (db *DB) pruneRecords(ctx context.Context, start []byte, cut int64) ([]byte, int64, error) {
	db.pruneMu.Lock()
	defer db.pruneMu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: start, UpperBound: []byte{tRecord + 1}})
	if err != nil {
		return nil, 0, fmt.Errorf("pebble: %w", err)
	}
	defer it.Close()
	b := db.pdb.NewBatch()
	defer b.Close()

	var (
		a        agg
		deleted  int64
		inName   bool
		curRev   []byte
		name     string
		kept     bool
		entries  []indexEntry
		buf      []byte
		targets  = map[string]struct{}{}
		next     []byte
		finished = true
	)
	endName := func() {
		if inName && !kept {
			fk := append([]byte{tName}, name...)
			b.Delete(append(fk, 0), nil)
		}
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		rk, err := parseRecordKey(k)
		if err != nil {
			return nil, deleted, corrupt(k, err)
		}
		if !inName || !bytes.Equal(rk.rev, curRev) {
			endName()
			if deleted >= pruneChunk {
				next, finished = bytes.Clone(k), false
				break
			}
			curRev = append(curRev[:0], rk.rev...)
			name, kept, inName = revToName(rk.rev), false, true
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, deleted, fmt.Errorf("pebble: %w", err)
		}
		if err := decodeValue(v, &a); err != nil {
			return nil, deleted, corrupt(k, err)
		}
		if max(a.timeLast, a.zoneLast) >= cut {
			kept = true
			continue
		}
		rdata, err := decodeRData(rk.rrtype, rk.rdata)
		if err != nil {
			return nil, deleted, corrupt(k, err)
		}
		b.Delete(k, nil)
		entries, buf = appendIndexEntries(entries[:0], buf[:0], name, rk.rrtype, rdata)
		for _, e := range entries {
			switch {
			case !e.fwd:
				b.Delete(e.key, nil)
			case e.key[0] == tTargetFwd:
				targets[string(e.key[1:len(e.key)-1])] = struct{}{}
			}
		}
		deleted++
	}
	if finished {
		endName()
	}
	if err := it.Error(); err != nil {
		return nil, deleted, fmt.Errorf("pebble: %w", err)
	}
	if err := db.commit(b); err != nil {
		return nil, deleted, fmt.Errorf("pebble: commit: %w", err)
	}
	// Drop distinct-target entries no rdata-name index entry uses any more.
	b2 := db.pdb.NewBatch()
	defer b2.Close()
	for t := range targets {
		p := append([]byte{tTarget}, appendRev(nil, t)...)
		p = append(p, 0)
		used, err := db.hasPrefix(ctx, p)
		if err != nil {
			return nil, deleted, err
		}
		if !used {
			b2.Delete(append(append([]byte{tTargetFwd}, t...), 0), nil)
		}
	}
	if err := db.commit(b2); err != nil {
		return nil, deleted, fmt.Errorf("pebble: commit: %w", err)
	}
	return next, deleted, nil
}

func (db *DB) hasPrefix(ctx context.Context, p []byte) (bool, error) {
	it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return false, fmt.Errorf("pebble: %w", err)
	}
	defer it.Close()
	ok := it.First()
	return ok, it.Error()
}

func (db *DB) pruneNX(ctx context.Context, cut int64) (int64, error) {
	it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte{tNX}, UpperBound: []byte{tNX + 1}})
	if err != nil {
		return 0, fmt.Errorf("pebble: %w", err)
	}
	defer it.Close()
	b := db.pdb.NewBatch()
	defer b.Close()
	var (
		c store.NXCount
		n int64
	)
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return n, fmt.Errorf("pebble: %w", err)
		}
		if err := decodeNX(v, &c); err != nil {
			return n, corrupt(it.Key(), err)
		}
		if c.TimeLast < cut {
			b.Delete(it.Key(), nil)
			n++
		}
	}
	if err := it.Error(); err != nil {
		return n, fmt.Errorf("pebble: %w", err)
	}
	if err := db.commit(b); err != nil {
		return n, fmt.Errorf("pebble: commit: %w", err)
	}
	return n, nil
}

// LookupNXDomain streams NXDOMAIN counters (store.NXDomainReader). Exact
// names and left-hand wildcards are prefix scans; a right-hand wildcard
// scans every counter.
func (db *DB) LookupNXDomain(ctx context.Context, q store.Query, fn func(*store.NXCount) error) (string, error) {
	if err := db.usable(false); err != nil {
		return "", err
	}
	if q.Kind != store.KindRRSet {
		return "", fmt.Errorf("%w: NXDOMAIN lookups are by name", store.ErrBadQuery)
	}
	if err := q.Validate(); err != nil {
		return "", err
	}
	var lo, hi []byte
	switch q.Wildcard {
	case store.WildNone:
		lo = append(append([]byte{tNX}, appendRev(nil, q.Name)...), 0)
		hi = prefixEnd(lo)
	case store.WildLeft:
		lo, hi = subtreeRange(tNX, q.Name)
	default:
		lo, hi = []byte{tNX}, []byte{tNX + 1}
	}
	l := &lookup{db: db, ctx: ctx, q: q, skip: q.Offset, limit: db.limitFor(q.Limit)}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			return "", err
		}
		if after[0] != tNX {
			return "", fmt.Errorf("%w: not an NXDOMAIN cursor", store.ErrBadCursor)
		}
		l.after = after
	}
	it, err := l.newIter(lo, hi)
	if err != nil {
		return "", err
	}
	defer it.Close()
	var c store.NXCount
	for ok := it.SeekGE(l.seekFrom(lo)); ok; ok = it.Next() {
		if err := l.tick(); err != nil {
			return "", err
		}
		k := it.Key()
		if l.skipped(k) {
			continue
		}
		if len(k) < 2 || k[len(k)-1] != 0 {
			return "", corrupt(k, errKey)
		}
		name := revToName(k[1 : len(k)-1])
		if q.Wildcard == store.WildRight && !store.MatchName(name, q.Name, q.Wildcard) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return "", fmt.Errorf("pebble: %w", err)
		}
		if err := decodeNX(v, &c); err != nil {
			return "", corrupt(k, err)
		}
		c.Name = name
		if !q.MatchTimes(&pdns.Tuple{TimeFirst: c.TimeFirst, TimeLast: c.TimeLast}) {
			continue
		}
		if l.delivered >= l.limit {
			l.more = true
			break
		}
		if l.skip > 0 {
			l.skip--
			continue
		}
		out := c
		if err := fn(&out); err != nil {
			return "", err
		}
		l.delivered++
		l.last = append(l.last[:0], k...)
	}
	if err := it.Error(); err != nil {
		return "", fmt.Errorf("pebble: %w", err)
	}
	if !l.more {
		return "", nil
	}
	return encodeCursor(l.last), nil
}

// Meta returns a namespace of the key-value area (store.MetaStore).
func (db *DB) Meta(namespace string) (store.Meta, error) {
	if namespace == "" || strings.IndexByte(namespace, 0) >= 0 {
		return nil, fmt.Errorf("%w: bad meta namespace %q", store.ErrBadQuery, namespace)
	}
	return &meta{db: db, ns: namespace}, nil
}

type meta struct {
	db *DB
	ns string
}

func (m *meta) Get(ctx context.Context, key string) ([]byte, error) {
	if err := m.db.usable(false); err != nil {
		return nil, err
	}
	v, closer, err := m.db.pdb.Get(metaKey(m.ns, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s/%s", store.ErrNotFound, m.ns, key)
	}
	if err != nil {
		return nil, fmt.Errorf("pebble: %w", err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

func (m *meta) Put(ctx context.Context, key string, value []byte) error {
	if err := m.db.usable(true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.db.iters.beginMeta()
	defer m.db.iters.endMeta()
	if err := m.db.pdb.Set(metaKey(m.ns, key), value, pebble.Sync); err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	return nil
}

func (m *meta) Delete(ctx context.Context, key string) error {
	if err := m.db.usable(true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.db.iters.beginMeta()
	defer m.db.iters.endMeta()
	if err := m.db.pdb.Delete(metaKey(m.ns, key), pebble.Sync); err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	return nil
}

func (m *meta) List(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	if err := m.db.usable(false); err != nil {
		return err
	}
	lo := metaKey(m.ns, prefix)
	it, err := m.db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	defer it.Close()
	base := len(m.ns) + 2
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("pebble: %w", err)
		}
		if err := fn(string(it.Key()[base:]), bytes.Clone(v)); err != nil {
			return err
		}
	}
	return it.Error()
}

// DiskUsage returns the bytes the store occupies on disk (tables,
// write-ahead logs, manifests), from Pebble's metrics without a scan
// (store.SizeReporter).
func (db *DB) DiskUsage() int64 {
	if db.closed.Load() {
		return 0
	}
	return int64(db.pdb.Metrics().DiskSpaceUsage())
}
