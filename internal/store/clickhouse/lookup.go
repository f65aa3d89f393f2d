package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// never is how a first time of 0 ("never") is stored so that min skips it.
const never = math.MaxUint64

// aggColumns merges the partial aggregates of one tuple key. Aliases do not
// shadow the stored columns (ClickHouse would substitute them in WHERE).
const aggColumns = `rrname_rev, rrtype, rdata,
	minMerge(time_first) AS a_tf, maxMerge(time_last) AS a_tl,
	minMerge(zone_first) AS a_ztf, maxMerge(zone_last) AS a_ztl,
	sumMerge(count) AS a_cnt, argMinMerge(bailiwick) AS a_bail,
	groupUniqArrayArrayMerge(sensors) AS a_sensors`

// Window of the time fences over the merged columns (see store.Query):
// sensor times when the tuple was seen in traffic (its last time is then
// non-zero), else zone times.
const (
	windowFirst = `if(a_tl > 0, if(a_tf = 18446744073709551615, 0, a_tf), if(a_ztf = 18446744073709551615, 0, a_ztf))`
	windowLast  = `if(a_tl > 0, a_tl, a_ztl)`
)

// dnssecList is the SQL list of pdns.DNSSECTypes (program constants, not
// input).
var dnssecList = func() string {
	s := make([]string, len(pdns.DNSSECTypes))
	for i, t := range pdns.DNSSECTypes {
		s[i] = strconv.Itoa(int(t))
	}
	return "(" + strings.Join(s, ", ") + ")"
}()

// typeCond returns the condition of a type filter on column col, or "".
func typeCond(p *params, f store.TypeFilter, col string) string {
	switch f {
	case store.TypeAll:
		return ""
	case store.TypeANY:
		return col + " NOT IN " + dnssecList
	case store.TypeANYDNSSEC:
		return col + " IN " + dnssecList
	}
	t, _ := f.Single()
	return col + " = " + p.u16(t)
}

// keyRange returns the conditions on column col for keys strictly between
// lo and hi (hi "" = unbounded), or equal to eq when exact.
func keyRange(p *params, col, lo, hi string) []string {
	c := []string{col + " > " + p.str(lo)}
	if hi != "" {
		c = append(c, col+" < "+p.str(hi))
	}
	return c
}

// plan is a lookup in SQL: the selective condition on the stored rows
// (PREWHERE: ClickHouse reads the key columns first and the aggregate
// states only of the granules that match; 18.16 does not move primary-key
// conditions there itself), the other conditions on them (WHERE) and those
// on the merged tuples (HAVING).
type plan struct {
	p        *params
	prewhere []string
	where    []string
	having   []string
}

// planLookup translates a validated query. The cursor and paging are added
// by the caller.
func (db *DB) planLookup(q *store.Query) *plan {
	pl := &plan{p: newParams()}
	p := pl.p
	tc := typeCond(p, q.Type, "rrtype")
	// idxSub is a semi-join through the index table. It names the local
	// table: with a cluster the query runs on every shard, and a tuple's
	// index rows live on its shard.
	idxSub := func(conds ...string) string {
		if tc != "" {
			conds = append(conds, tc)
		}
		return "(rrname_rev, rrtype, rdata) IN (SELECT rrname_rev, rrtype, rdata FROM " + db.t.idxLocal +
			" WHERE " + strings.Join(conds, " AND ") + ")"
	}
	switch q.Kind {
	case store.KindRRSet:
		rev := revName(q.Name)
		switch q.Wildcard {
		case store.WildNone:
			pl.prewhere = append(pl.prewhere, "rrname_rev = "+p.str(rev))
		case store.WildLeft:
			lo, hi := below(rev)
			pl.prewhere = append(pl.prewhere, keyRange(p, "rrname_rev", lo, hi)...)
		case store.WildRight:
			lo, hi := below(fwdName(q.Name))
			pl.prewhere = append(pl.prewhere, "rrname_rev IN (SELECT rrname_rev FROM "+db.t.idxLocal+" WHERE "+
				strings.Join(keyRange(p, "k", kName+lo, kName+hi), " AND ")+")")
		}
		if q.Bailiwick != "" {
			pl.having = append(pl.having, "a_bail = "+p.str(q.Bailiwick))
		}
	case store.KindRDataName:
		switch q.Wildcard {
		case store.WildNone:
			pl.prewhere = append(pl.prewhere, idxSub("k = "+p.str(kTarget+revName(q.Name))))
		case store.WildLeft:
			lo, hi := below(revName(q.Name))
			if hi == "" { // every target: the keys after "r" and before "s"
				hi = string([]byte{kTarget[0] + 1})
			} else {
				hi = kTarget + hi
			}
			pl.prewhere = append(pl.prewhere, idxSub(keyRange(p, "k", kTarget+lo, hi)...))
		case store.WildRight:
			lo, hi := below(fwdName(q.Name))
			pl.prewhere = append(pl.prewhere, idxSub(keyRange(p, "k", kTargetFw+lo, kTargetFw+hi)...))
		}
	case store.KindRDataIP:
		pre := kIPv6
		lo, hi := q.IPLow.As16(), q.IPHigh.As16()
		l, h := lo[:], hi[:]
		if q.IPLow.Is4() {
			pre = kIPv4
			l, h = l[12:], h[12:]
		}
		pl.prewhere = append(pl.prewhere, idxSub("k >= "+p.str(pre+string(l)), "k <= "+p.str(pre+string(h))))
	case store.KindRDataRaw:
		pl.prewhere = append(pl.prewhere, idxSub("k = "+p.str(rawKey(q.RData))))
		pl.where = append(pl.where, "rdata = "+p.str(q.RData))
	}
	if tc != "" {
		pl.where = append(pl.where, tc)
	}
	if q.HasFences() {
		pl.having = append(pl.having, windowLast+" > 0")
		if q.FirstBefore != 0 {
			pl.having = append(pl.having, windowFirst+" < "+p.u64(uint64(q.FirstBefore)))
		}
		if q.FirstAfter != 0 {
			pl.having = append(pl.having, windowFirst+" > "+p.u64(uint64(q.FirstAfter)))
		}
		if q.LastBefore != 0 {
			pl.having = append(pl.having, windowLast+" < "+p.u64(uint64(q.LastBefore)))
		}
		if q.LastAfter != 0 {
			pl.having = append(pl.having, windowLast+" > "+p.u64(uint64(q.LastAfter)))
		}
	}
	return pl
}

// after restricts the plan to keys after a cursor.
func (pl *plan) after(k tupleKey) {
	p := pl.p
	pl.where = append(pl.where, "rrname_rev >= "+p.str(k.rev),
		"(rrname_rev, rrtype, rdata) > ("+p.str(k.rev)+", "+p.u16(k.rrtype)+", "+p.str(k.rdata)+")")
}

// sql returns the SELECT of the merged tuples in key order. limit < 0 means
// no limit.
func (pl *plan) sql(table string, offset, limit int) string {
	var b strings.Builder
	b.WriteString("SELECT " + aggColumns + " FROM " + table)
	if len(pl.prewhere) > 0 {
		b.WriteString(" PREWHERE " + strings.Join(pl.prewhere, " AND "))
	}
	if len(pl.where) > 0 {
		b.WriteString(" WHERE " + strings.Join(pl.where, " AND "))
	}
	b.WriteString(" GROUP BY rrname_rev, rrtype, rdata")
	if len(pl.having) > 0 {
		b.WriteString(" HAVING " + strings.Join(pl.having, " AND "))
	}
	b.WriteString(" ORDER BY rrname_rev, rrtype, rdata")
	if limit >= 0 || offset > 0 {
		if limit < 0 {
			limit = math.MaxInt64
		}
		b.WriteString(" LIMIT " + strconv.Itoa(offset) + ", " + strconv.Itoa(limit))
	}
	return b.String()
}

// limitFor turns a query limit into the number of tuples to deliver (-1 =
// all).
func (db *DB) limitFor(n int) int {
	switch {
	case db.maxLimit < 0 && n == 0:
		return -1
	case db.maxLimit < 0:
		return n
	case n == 0 || n > db.maxLimit:
		return db.maxLimit
	}
	return n
}

// Lookup implements store.Backend: one SELECT that merges the partial
// aggregates of the matching keys, filters, orders by key and pages.
func (db *DB) Lookup(ctx context.Context, q store.Query, fn func(*pdns.Tuple) error) (string, error) {
	if err := db.usable(false); err != nil {
		return "", err
	}
	if err := q.Validate(); err != nil {
		return "", err
	}
	pl := db.planLookup(&q)
	if q.Cursor != "" {
		k, err := decodeCursor(q.Cursor)
		if err != nil {
			return "", err
		}
		pl.after(k)
	}
	return db.stream(ctx, pl, q.Offset, db.limitFor(q.Limit), fn)
}

// stream runs a plan and hands the tuples to fn; it returns the cursor
// after the last one when more are left.
func (db *DB) stream(ctx context.Context, pl *plan, offset, limit int, fn func(*pdns.Tuple) error) (string, error) {
	fetch := limit
	if limit >= 0 {
		fetch = limit + 1 // one more tells whether a cursor is needed
	}
	rows, err := db.conn.Query(pl.p.ctx(ctx), pl.sql(db.t.obs, offset, fetch))
	if err != nil {
		return "", fmt.Errorf("clickhouse: lookup: %w", err)
	}
	defer rows.Close()
	n := 0
	var last tupleKey
	for rows.Next() {
		if limit >= 0 && n == limit {
			return encodeCursor(last), rows.Close()
		}
		var (
			r                tupleKey
			tf, tl, ztf, ztl uint64
			cnt              uint64
			bail             string
			sensors          []string
		)
		if err := rows.Scan(&r.rev, &r.rrtype, &r.rdata, &tf, &tl, &ztf, &ztl, &cnt, &bail, &sensors); err != nil {
			return "", fmt.Errorf("clickhouse: lookup: %w", err)
		}
		t := makeTuple(&r, tf, tl, ztf, ztl, cnt, bail, sensors)
		n++
		last = r
		if err := fn(&t); err != nil {
			return "", err
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("clickhouse: lookup: %w", err)
	}
	return "", nil
}

func makeTuple(r *tupleKey, tf, tl, ztf, ztl, cnt uint64, bail string, sensors []string) pdns.Tuple {
	if tf == never {
		tf = 0
	}
	if ztf == never {
		ztf = 0
	}
	if len(sensors) == 0 {
		sensors = nil
	} else {
		slices.Sort(sensors)
	}
	return pdns.Tuple{RRName: nameFromRev(r.rev), RRType: r.rrtype, RData: r.rdata, Bailiwick: bail,
		TimeFirst: int64(tf), TimeLast: int64(tl), ZoneTimeFirst: int64(ztf), ZoneTimeLast: int64(ztl),
		Count: cnt, SensorIDs: sensors}
}

var errStop = errors.New("clickhouse: stop")

// Summarize implements store.Summarizer: without maxCount one aggregate
// query over the matching tuples; with it, the tuples stream in key order
// until the count is reached.
func (db *DB) Summarize(ctx context.Context, q store.Query, maxCount uint64) (store.Summary, error) {
	var sum store.Summary
	if err := db.usable(false); err != nil {
		return sum, err
	}
	q.Cursor, q.Offset = "", 0
	if err := q.Validate(); err != nil {
		return sum, err
	}
	pl := db.planLookup(&q)
	limit := -1
	if q.Limit > 0 {
		limit = db.limitFor(q.Limit)
	}
	if maxCount > 0 {
		_, err := db.stream(ctx, pl, 0, limit, func(t *pdns.Tuple) error {
			sum.Add(t)
			if sum.Count >= maxCount {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return store.Summary{}, err
		}
		return sum, nil
	}
	sql := `SELECT count(), sum(a_cnt),
		minIf(a_tf, a_tf != 18446744073709551615), max(a_tl),
		minIf(a_ztf, a_ztf != 18446744073709551615), max(a_ztl)
		FROM (` + pl.sql(db.t.obs, 0, limit) + `)`
	var n, cnt, tf, tl, ztf, ztl uint64
	if err := db.conn.QueryRow(pl.p.ctx(ctx), sql).Scan(&n, &cnt, &tf, &tl, &ztf, &ztl); err != nil {
		return sum, fmt.Errorf("clickhouse: summarize: %w", err)
	}
	return store.Summary{Count: cnt, NumResults: int64(n), TimeFirst: int64(tf), TimeLast: int64(tl),
		ZoneTimeFirst: int64(ztf), ZoneTimeLast: int64(ztl)}, nil
}

// exportPage is the number of tuples Export asks for at a time.
const exportPage = 100_000

// Export implements store.Exporter: every tuple in key order, a page at a
// time so that no query has to merge the whole store at once.
func (db *DB) Export(ctx context.Context, fn func(*pdns.Tuple) error) error {
	if err := db.usable(false); err != nil {
		return err
	}
	cursor := ""
	for {
		pl := &plan{p: newParams()}
		if cursor != "" {
			k, err := decodeCursor(cursor)
			if err != nil {
				return err
			}
			pl.after(k)
		}
		var err error
		if cursor, err = db.stream(ctx, pl, 0, exportPage, fn); err != nil {
			return err
		}
		if cursor == "" {
			return nil
		}
	}
}

// LookupNXDomain implements store.NXDomainReader.
func (db *DB) LookupNXDomain(ctx context.Context, q store.Query, fn func(*store.NXCount) error) (string, error) {
	if err := db.usable(false); err != nil {
		return "", err
	}
	if err := q.Validate(); err != nil {
		return "", err
	}
	if q.Kind != store.KindRRSet {
		return "", fmt.Errorf("%w: NXDOMAIN lookups are by name", store.ErrBadQuery)
	}
	p := newParams()
	var where, having []string
	switch q.Wildcard {
	case store.WildNone:
		where = append(where, "name_rev = "+p.str(revName(q.Name)))
	case store.WildLeft:
		lo, hi := below(revName(q.Name))
		where = append(where, keyRange(p, "name_rev", lo, hi)...)
	case store.WildRight:
		lo, hi := below(fwdName(q.Name))
		where = append(where, keyRange(p, "name_fwd", lo, hi)...)
	}
	if q.Cursor != "" {
		k, err := decodeCursor(q.Cursor)
		if err != nil {
			return "", err
		}
		where = append(where, "name_rev > "+p.str(k.rev))
	}
	first := "if(a_tf = 18446744073709551615, 0, a_tf)"
	if q.HasFences() {
		having = append(having, "a_tl > 0")
		for _, f := range []struct {
			v  int64
			op string
			e  string
		}{{q.FirstBefore, " < ", first}, {q.FirstAfter, " > ", first}, {q.LastBefore, " < ", "a_tl"}, {q.LastAfter, " > ", "a_tl"}} {
			if f.v != 0 {
				having = append(having, f.e+f.op+p.u64(uint64(f.v)))
			}
		}
	}
	sql := "SELECT name_rev, sumMerge(count) AS a_cnt, minMerge(time_first) AS a_tf, maxMerge(time_last) AS a_tl FROM " + db.t.nx
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " GROUP BY name_rev"
	if len(having) > 0 {
		sql += " HAVING " + strings.Join(having, " AND ")
	}
	sql += " ORDER BY name_rev"
	limit := db.limitFor(q.Limit)
	if limit >= 0 || q.Offset > 0 {
		l := int64(math.MaxInt64)
		if limit >= 0 {
			l = int64(limit) + 1
		}
		sql += " LIMIT " + strconv.Itoa(q.Offset) + ", " + strconv.FormatInt(l, 10)
	}
	rows, err := db.conn.Query(p.ctx(ctx), sql)
	if err != nil {
		return "", fmt.Errorf("clickhouse: nxdomain lookup: %w", err)
	}
	defer rows.Close()
	n := 0
	last := ""
	for rows.Next() {
		if limit >= 0 && n == limit {
			return encodeCursor(tupleKey{rev: last}), rows.Close()
		}
		var rev string
		var cnt, tf, tl uint64
		if err := rows.Scan(&rev, &cnt, &tf, &tl); err != nil {
			return "", fmt.Errorf("clickhouse: nxdomain lookup: %w", err)
		}
		if tf == never {
			tf = 0
		}
		c := store.NXCount{Name: nameFromRev(rev), Count: cnt, TimeFirst: int64(tf), TimeLast: int64(tl)}
		n++
		last = rev
		if err := fn(&c); err != nil {
			return "", err
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("clickhouse: nxdomain lookup: %w", err)
	}
	return "", nil
}
