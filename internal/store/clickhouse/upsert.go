package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// obsInColumns is the column list of every insert into obs_in, in the
// order Upsert appends them (explicit, as ClickHouse 18.16 requires for a
// stable mapping).
const obsInColumns = "(rrname_rev, rrtype, rdata, pmonth, tf, tl, ztf, ztl, cnt, bail, bseq, sensors, idx)"

// Upsert merges tuples (see store.Backend). The batch is checked and
// folded by key first, then sent as one columnar INSERT into the Null
// table obs_in, whose materialized views write the aggregate states and
// the index rows. ClickHouse inserts a block atomically per table: a batch
// that fails validation writes nothing, but a server failure between the
// two views can leave index rows without their tuple (harmless: lookups
// join the index to the tuples) or, rarely, a tuple without index rows
// until it is seen again.
func (db *DB) Upsert(ctx context.Context, tuples []pdns.Tuple) error {
	if err := db.usable(true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(tuples) == 0 {
		return nil
	}
	rows, err := foldTuples(tuples)
	if err != nil {
		return err
	}
	n := len(rows)
	var (
		revs    = make([]string, n)
		types   = make([]uint16, n)
		rdatas  = make([]string, n)
		months  = make([]uint32, n)
		tfs     = make([]uint64, n)
		tls     = make([]uint64, n)
		ztfs    = make([]uint64, n)
		ztls    = make([]uint64, n)
		cnts    = make([]uint64, n)
		bails   = make([]string, n)
		seqs    = make([]uint64, n)
		sensors = make([][]string, n)
		idxs    = make([][]string, n)
	)
	seq0 := db.seq.next(n)
	named := make(map[string]struct{}, n)
	for i := range rows {
		t := &rows[i]
		revs[i] = revName(t.RRName)
		types[i], rdatas[i] = t.RRType, t.RData
		months[i] = partitionOf(max(t.TimeLast, t.ZoneTimeLast))
		tfs[i], tls[i] = uint64(t.TimeFirst), uint64(t.TimeLast)
		ztfs[i], ztls[i] = uint64(t.ZoneTimeFirst), uint64(t.ZoneTimeLast)
		cnts[i], bails[i], seqs[i] = t.Count, t.Bailiwick, seq0+uint64(i)
		sensors[i] = t.SensorIDs
		if sensors[i] == nil {
			sensors[i] = []string{}
		}
		var keys []string
		if _, ok := named[t.RRName]; !ok {
			named[t.RRName] = struct{}{}
			keys = append(keys, kName+fwdName(t.RRName))
		}
		idxs[i] = tupleIndexKeys(keys, t.RRType, t.RData)
	}
	ctx = db.syncInsert(ctx)
	b, err := db.conn.PrepareBatch(ctx, "INSERT INTO "+db.t.obsIn+" "+obsInColumns)
	if err != nil {
		return fmt.Errorf("clickhouse: upsert: %w", err)
	}
	defer b.Abort()
	for i, col := range []any{revs, types, rdatas, months, tfs, tls, ztfs, ztls, cnts, bails, seqs, sensors, idxs} {
		if err := b.Column(i).Append(col); err != nil {
			return fmt.Errorf("clickhouse: upsert: column %d: %w", i, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("clickhouse: upsert: %w", err)
	}
	return nil
}

// foldTuples checks every tuple and merges those with equal keys, keeping
// the order of first appearance (which decides "first bailiwick wins").
func foldTuples(tuples []pdns.Tuple) ([]pdns.Tuple, error) {
	out := make([]pdns.Tuple, 0, len(tuples))
	at := make(map[pdns.Key]int, len(tuples))
	for i := range tuples {
		t := tuples[i]
		if err := store.CheckTuple(&t); err != nil {
			return nil, fmt.Errorf("%w: tuple %d (%q %s): %v", store.ErrBadTuple, i, tuples[i].RRName, pdns.TypeString(tuples[i].RRType), err)
		}
		t.RRName, t.Bailiwick = pdns.ASCIILower(t.RRName), pdns.ASCIILower(t.Bailiwick)
		// A sighting with no last time was last seen when first seen.
		t.TimeLast = max(t.TimeLast, t.TimeFirst)
		t.ZoneTimeLast = max(t.ZoneTimeLast, t.ZoneTimeFirst)
		if len(t.SensorIDs) > 0 {
			t.SensorIDs = slices.Clone(t.SensorIDs)
			slices.Sort(t.SensorIDs)
			t.SensorIDs = slices.Compact(t.SensorIDs)
		}
		if j, ok := at[t.Key()]; ok {
			out[j].Merge(&t)
			continue
		}
		at[t.Key()] = len(out)
		out = append(out, t)
	}
	return out, nil
}

// partitionOf returns the partition of a row last seen at unix: its month
// in UTC as YYYYMM.
func partitionOf(unix int64) uint32 {
	t := time.Unix(unix, 0).UTC()
	return uint32(t.Year()*100 + int(t.Month()))
}

// AddNXDomain merges NXDOMAIN counters (store.NXDomainWriter).
func (db *DB) AddNXDomain(ctx context.Context, counts []store.NXCount) error {
	if err := db.usable(true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(counts) == 0 {
		return nil
	}
	n := len(counts)
	var (
		revs   = make([]string, n)
		fwds   = make([]string, n)
		months = make([]uint32, n)
		cnts   = make([]uint64, n)
		tfs    = make([]uint64, n)
		tls    = make([]uint64, n)
	)
	for i, c := range counts {
		if err := store.CheckName(c.Name); err != nil {
			return fmt.Errorf("%w: nxdomain %d: %v", store.ErrBadTuple, i, err)
		}
		if c.TimeFirst < 0 || c.TimeLast < 0 || c.TimeFirst > store.MaxTime || c.TimeLast > store.MaxTime {
			return fmt.Errorf("%w: nxdomain %d: time out of range", store.ErrBadTuple, i)
		}
		last := max(c.TimeLast, c.TimeFirst)
		revs[i], fwds[i] = revName(pdns.ASCIILower(c.Name)), fwdName(pdns.ASCIILower(c.Name))
		months[i] = partitionOf(last)
		cnts[i], tfs[i], tls[i] = c.Count, uint64(c.TimeFirst), uint64(last)
	}
	b, err := db.conn.PrepareBatch(db.syncInsert(ctx), "INSERT INTO "+db.t.nxIn+" (name_rev, name_fwd, pmonth, cnt, tf, tl)")
	if err != nil {
		return fmt.Errorf("clickhouse: nxdomain: %w", err)
	}
	defer b.Abort()
	for i, col := range []any{revs, fwds, months, cnts, tfs, tls} {
		if err := b.Column(i).Append(col); err != nil {
			return fmt.Errorf("clickhouse: nxdomain: column %d: %w", i, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("clickhouse: nxdomain: %w", err)
	}
	return nil
}
