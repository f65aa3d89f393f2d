package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dnsscout/dnsscout/internal/store"
)

// obsColumns lists obs in full, for the INSERT ... SELECT of Prune.
const obsColumns = "rrname_rev, rrtype, rdata, pmonth, time_first, time_last, zone_first, zone_last, count, bailiwick, sensors"

// nxColumns lists nx in full.
const nxColumns = "name_rev, name_fwd, pmonth, count, time_first, time_last"

// Prune implements store.Pruner with partitions. Rows live in the
// partition (month, UTC) of their own last sighting, so every row of a
// tuple last seen before the cut-off lies in a partition no later than the
// cut-off's month M. On every server, Prune:
//
//  1. counts the tuples and NXDOMAIN names it will delete;
//  2. copies the old rows (partitions before M) of tuples that survive
//     (seen again since) into partition M, so that their first time and
//     count stay exact;
//  3. drops every partition before M of the tuple, index and NXDOMAIN
//     tables — the cheap part, whatever their size;
//  4. rewrites partition M without the tuples that die, when it holds any
//     (REPLACE PARTITION from a scratch table).
//
// Index rows of deleted tuples in partition M and later are left behind;
// lookups join the index to the tuples, so they find nothing. Upserts of
// old data (imports) running concurrently with a Prune may be lost; live
// sensors write the current month and are not affected.
func (db *DB) Prune(ctx context.Context, before time.Time) (store.PruneResult, error) {
	var res store.PruneResult
	if err := db.usable(true); err != nil {
		return res, err
	}
	cut := before.Unix()
	if cut <= 0 {
		return res, nil
	}
	conns, err := db.shardConns(ctx)
	if err != nil {
		return res, err
	}
	for _, c := range conns {
		r, err := db.pruneServer(ctx, c, cut)
		if err != nil {
			return res, fmt.Errorf("clickhouse: prune: %w", err)
		}
		res.Tuples += r.Tuples
		res.NXDomainNames += r.NXDomainNames
	}
	return res, nil
}

// pruneTable describes one aggregated table for pruneServer.
type pruneTable struct {
	table, columns, key, last string
}

func (db *DB) pruneServer(ctx context.Context, c driver.Conn, cut int64) (store.PruneResult, error) {
	var res store.PruneResult
	m := partitionOf(cut)
	obs := pruneTable{db.t.obsLocal, obsColumns, "rrname_rev, rrtype, rdata", "greatest(maxMerge(time_last), maxMerge(zone_last))"}
	nx := pruneTable{db.t.nxLocal, nxColumns, "name_rev", "maxMerge(time_last)"}
	for i, pt := range []pruneTable{obs, nx} {
		n, err := db.pruneAggregated(ctx, c, pt, cut, m)
		if err != nil {
			return res, err
		}
		if i == 0 {
			res.Tuples = n
		} else {
			res.NXDomainNames = n
		}
	}
	old, err := partitions(ctx, c, db.t.idxLocal)
	if err != nil {
		return res, err
	}
	for _, p := range old {
		if p < m {
			if err := c.Exec(ctx, "ALTER TABLE "+db.t.idxLocal+" DROP PARTITION "+strconv.FormatUint(uint64(p), 10)); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// pruneAggregated prunes one aggregated table on one server and returns
// the number of keys deleted.
func (db *DB) pruneAggregated(ctx context.Context, c driver.Conn, pt pruneTable, cut int64, m uint32) (int64, error) {
	// Keys that survive: seen at or after the cut-off. Their rows are all
	// in partitions >= m.
	survivors := func(p *params) string {
		return "(" + pt.key + ") IN (SELECT " + pt.key + " FROM " + pt.table + " WHERE pmonth >= " + p.u64(uint64(m)) +
			" GROUP BY " + pt.key + " HAVING " + pt.last + " >= " + p.u64(uint64(cut)) + ")"
	}
	p := newParams()
	var doomed uint64
	sql := "SELECT count() FROM (SELECT " + pt.last + " AS a_l FROM " + pt.table +
		" GROUP BY " + pt.key + " HAVING a_l < " + p.u64(uint64(cut)) + ")"
	if err := c.QueryRow(p.ctx(ctx), sql).Scan(&doomed); err != nil {
		return 0, err
	}
	if doomed == 0 {
		return 0, nil
	}
	parts, err := partitions(ctx, c, pt.table)
	if err != nil {
		return 0, err
	}
	var old []uint32
	hasM := false
	for _, x := range parts {
		if x < m {
			old = append(old, x)
		}
		hasM = hasM || x == m
	}
	if len(old) > 0 {
		p := newParams()
		// INSERT ... SELECT maps columns by position. The alias must not
		// be "pmonth": ClickHouse would substitute it in the WHERE clause.
		cols := strings.Replace(pt.columns, "pmonth", "toUInt32("+p.u64(uint64(m))+") AS moved_pmonth", 1)
		sql = "INSERT INTO " + pt.table + " (" + pt.columns + ") SELECT " + cols + " FROM " + pt.table +
			" WHERE pmonth < " + p.u64(uint64(m)) + " AND " + survivors(p)
		if err := c.Exec(p.ctx(ctx), sql); err != nil {
			return 0, err
		}
		for _, x := range old {
			if err := c.Exec(ctx, "ALTER TABLE "+pt.table+" DROP PARTITION "+strconv.FormatUint(uint64(x), 10)); err != nil {
				return 0, err
			}
		}
		hasM = true // the survivors may have been copied there
	}
	if !hasM {
		return int64(doomed), nil
	}
	// Does partition m hold keys that die?
	p = newParams()
	var inM uint64
	sql = "SELECT count() FROM (SELECT " + pt.last + " AS a_l FROM " + pt.table +
		" WHERE pmonth >= " + p.u64(uint64(m)) + " GROUP BY " + pt.key + " HAVING a_l < " + p.u64(uint64(cut)) + ")"
	if err := c.QueryRow(p.ctx(ctx), sql).Scan(&inM); err != nil {
		return 0, err
	}
	if inM == 0 {
		return int64(doomed), nil
	}
	tmp := pt.table + "_prune"
	if err := c.Exec(ctx, "DROP TABLE IF EXISTS "+tmp); err != nil {
		return 0, err
	}
	if err := c.Exec(ctx, "CREATE TABLE "+tmp+" AS "+pt.table); err != nil {
		return 0, err
	}
	defer c.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+tmp)
	p = newParams()
	sql = "INSERT INTO " + tmp + " (" + pt.columns + ") SELECT " + pt.columns + " FROM " + pt.table +
		" WHERE pmonth = " + p.u64(uint64(m)) + " AND " + survivors(p)
	if err := c.Exec(p.ctx(ctx), sql); err != nil {
		return 0, err
	}
	if err := c.Exec(ctx, "ALTER TABLE "+pt.table+" REPLACE PARTITION "+strconv.FormatUint(uint64(m), 10)+" FROM "+tmp); err != nil {
		return 0, err
	}
	return int64(doomed), nil
}

// partitions lists the partitions of a local table on one server.
func partitions(ctx context.Context, c driver.Conn, table string) ([]uint32, error) {
	db, name, _ := strings.Cut(table, ".")
	p := newParams()
	sql := "SELECT DISTINCT partition FROM system.parts WHERE active AND database = " + p.str(db) + " AND table = " + p.str(name)
	rows, err := c.Query(p.ctx(ctx), sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: partition %q of %s", store.ErrCorrupt, s, table)
		}
		out = append(out, uint32(n))
	}
	return out, rows.Err()
}

// Stats implements store.StatsReporter. It merges every tuple, so it reads
// the whole store.
func (db *DB) Stats(ctx context.Context) (store.Stats, error) {
	st := store.Stats{Backend: "clickhouse", Location: db.Location(), ByType: map[uint16]int64{}}
	if err := db.usable(false); err != nil {
		return st, err
	}
	rows, err := db.conn.Query(ctx, `SELECT rrtype, count(), sum(a_cnt),
		minIf(a_tf, a_tf != 18446744073709551615), max(a_tl),
		minIf(a_ztf, a_ztf != 18446744073709551615), max(a_ztl)
		FROM (SELECT `+aggColumns+` FROM `+db.t.obs+` GROUP BY rrname_rev, rrtype, rdata) GROUP BY rrtype`)
	if err != nil {
		return st, fmt.Errorf("clickhouse: stats: %w", err)
	}
	defer rows.Close()
	minNZ := func(a, b int64) int64 {
		if a == 0 || b != 0 && b < a {
			return b
		}
		return a
	}
	for rows.Next() {
		var t uint16
		var n, cnt, tf, tl, ztf, ztl uint64
		if err := rows.Scan(&t, &n, &cnt, &tf, &tl, &ztf, &ztl); err != nil {
			return st, fmt.Errorf("clickhouse: stats: %w", err)
		}
		st.ByType[t] = int64(n)
		st.Tuples += int64(n)
		st.Count += cnt
		st.TimeFirst = minNZ(minNZ(st.TimeFirst, int64(tf)), int64(ztf))
		st.TimeLast = max(st.TimeLast, int64(tl), int64(ztl))
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("clickhouse: stats: %w", err)
	}
	var names, nx uint64
	if err := db.conn.QueryRow(ctx, "SELECT uniqExact(rrname_rev) FROM "+db.t.obs).Scan(&names); err != nil {
		return st, fmt.Errorf("clickhouse: stats: %w", err)
	}
	if err := db.conn.QueryRow(ctx, "SELECT uniqExact(name_rev) FROM "+db.t.nx).Scan(&nx); err != nil {
		return st, fmt.Errorf("clickhouse: stats: %w", err)
	}
	st.Names, st.NXDomainNames = int64(names), int64(nx)
	conns, err := db.shardConns(ctx)
	if err != nil {
		return st, err
	}
	for _, c := range conns {
		p := newParams()
		var b uint64
		sql := "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = " + p.str(db.opts.Database)
		if err := c.QueryRow(p.ctx(ctx), sql).Scan(&b); err != nil {
			return st, fmt.Errorf("clickhouse: stats: %w", err)
		}
		st.BytesOnDisk += int64(b)
	}
	return st, nil
}

// Meta implements store.MetaStore on a ReplacingMergeTree of (namespace,
// key) versions: the newest version wins, deletes are tombstones.
func (db *DB) Meta(namespace string) (store.Meta, error) {
	if namespace == "" || strings.IndexByte(namespace, 0) >= 0 {
		return nil, fmt.Errorf("clickhouse: bad meta namespace %q", namespace)
	}
	if err := db.usable(false); err != nil {
		return nil, err
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
	p := newParams()
	sql := "SELECT argMax(value, ver), argMax(deleted, ver) FROM " + m.db.t.meta +
		" WHERE ns = " + p.str(m.ns) + " AND key = " + p.str(key) + " GROUP BY ns, key"
	rows, err := m.db.conn.Query(p.ctx(ctx), sql)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: meta: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		var del uint8
		if err := rows.Scan(&v, &del); err != nil {
			return nil, fmt.Errorf("clickhouse: meta: %w", err)
		}
		if del == 0 {
			return []byte(v), nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: meta: %w", err)
	}
	return nil, fmt.Errorf("%w: %q", store.ErrNotFound, key)
}

func (m *meta) write(ctx context.Context, key string, value []byte, deleted uint8) error {
	if err := m.db.usable(true); err != nil {
		return err
	}
	b, err := m.db.conn.PrepareBatch(m.db.syncInsert(ctx), "INSERT INTO "+m.db.t.meta+" (ns, key, value, ver, deleted)")
	if err != nil {
		return fmt.Errorf("clickhouse: meta: %w", err)
	}
	defer b.Abort()
	if err := b.Append(m.ns, key, string(value), m.db.seq.next(1), deleted); err != nil {
		return fmt.Errorf("clickhouse: meta: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("clickhouse: meta: %w", err)
	}
	return nil
}

func (m *meta) Put(ctx context.Context, key string, value []byte) error {
	return m.write(ctx, key, value, 0)
}

func (m *meta) Delete(ctx context.Context, key string) error {
	return m.write(ctx, key, nil, 1)
}

func (m *meta) List(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	if err := m.db.usable(false); err != nil {
		return err
	}
	p := newParams()
	sql := "SELECT key, argMax(value, ver) AS a_v, argMax(deleted, ver) AS a_d FROM " + m.db.t.meta +
		" WHERE ns = " + p.str(m.ns) + " AND startsWith(key, " + p.str(prefix) + ") GROUP BY ns, key HAVING a_d = 0 ORDER BY key"
	rows, err := m.db.conn.Query(p.ctx(ctx), sql)
	if err != nil {
		return fmt.Errorf("clickhouse: meta: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		var del uint8
		if err := rows.Scan(&k, &v, &del); err != nil {
			return fmt.Errorf("clickhouse: meta: %w", err)
		}
		if err := fn(k, []byte(v)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("clickhouse: meta: %w", err)
	}
	return nil
}

// Compact implements store.Compacter: OPTIMIZE ... FINAL merges every
// partition of every table into one part on every server, which is what
// background merges converge to. Lookups read one granule per part at
// least, so a freshly loaded store answers faster afterwards.
func (db *DB) Compact(ctx context.Context) error {
	if err := db.usable(true); err != nil {
		return err
	}
	conns, err := db.shardConns(ctx)
	if err != nil {
		return err
	}
	for _, c := range conns {
		for _, t := range append([]string{db.t.obsLocal, db.t.idxLocal, db.t.nxLocal, db.t.metaLocal}, db.t.historyLocals()...) {
			if err := c.Exec(ctx, "OPTIMIZE TABLE "+t+" FINAL"); err != nil {
				return fmt.Errorf("clickhouse: compact %s: %w", t, err)
			}
		}
	}
	return nil
}
