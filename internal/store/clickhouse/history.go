package clickhouse

// Scan history (store.History) in five tables, sharded by domain with a
// cluster so that a domain's rows live on one shard:
//
//	hist_scans      (domain, started, id)             one row per scan: the commit mark
//	hist_snapshots  (scan_id)                         what a scan saw (history's stored form)
//	hist_baselines  (domain, started, scan_id)        a domain's baseline after a scan
//	hist_states     (domain, fkey, updated, scan_id)  a finding's state as a scan left it
//	hist_events     (domain, time, scan_id, seq)      the timeline
//
// ClickHouse has no transaction across tables, so Record inserts the scan
// row last and every read keeps only rows whose scan row exists (scan_id IN
// the local hist_scans): a Record that fails part-way leaves rows nobody
// sees, which PruneHistory removes in time. For the same reason states are
// not collapsed by version: a ReplacingMergeTree(version) keyed by finding
// alone would let a failed Record's newer row replace the committed one
// when parts merge. Each scan that changes a finding adds a row, and reads
// take the newest committed one (argMax by updated, scan id). Every table
// is a ReplacingMergeTree over its whole identity, so a retried Record
// collapses into its first copy; reads deduplicate until parts merge.
// Point reads aggregate (argMax, any ... GROUP BY) instead of taking
// "LIMIT 1" of unordered rows: with a cluster, ClickHouse 18.16 stops
// reading the other shards once it has the row, and a shard that is still
// receiving the query's external table (params) then fails a later query on
// that connection with "Unexpected packet Data received from client" (code
// 101; about 2 queries in 1,000 in TestHistoryCluster/PointReads before).
// Times are Unix nanoseconds (Int64); rows are partitioned by the month of
// their time, so PruneHistory drops whole months and rewrites only the
// cut-off's month. Values are history's stored forms (JSON, compressed
// snapshots), decoded by its fuzzed decoders.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
)

var (
	_ store.HistoryStore = (*DB)(nil)
	_ store.History      = (*hist)(nil)
)

// histTable is one history table: its read/write name (Distributed with a
// cluster), its name on each server, its columns, its time column.
type histTable struct {
	rw, local, columns, timeCol, order string
}

// histTables names the history tables of a schema.
type histTables struct {
	scans, snapshots, baselines, states, events histTable
}

func (t *tables) history() histTables {
	mk := func(name, columns, timeCol, order string) histTable {
		h := histTable{rw: t.db + "." + name, local: t.db + "." + name, columns: columns, timeCol: timeCol, order: order}
		if t.cluster != "" {
			h.local += "_local"
		}
		return h
	}
	return histTables{
		scans:     mk("hist_scans", "domain, started, id, pmonth, data", "started", "domain, started, id"),
		snapshots: mk("hist_snapshots", "scan_id, domain, started, pmonth, blob", "started", "scan_id"),
		baselines: mk("hist_baselines", "domain, started, scan_id, same, pmonth, blob", "started", "domain, started, scan_id"),
		states:    mk("hist_states", "domain, fkey, updated, scan_id, open, severity, pmonth, data", "updated", "domain, fkey, updated, scan_id"),
		events:    mk("hist_events", "domain, time, scan_id, seq, kind, pmonth, data", "time", "domain, time, scan_id, seq"),
	}
}

// historyLocals lists the history tables on each server (for Compact).
func (t *tables) historyLocals() []string {
	h := t.history()
	var out []string
	for _, x := range h.all() {
		out = append(out, x.local)
	}
	return out
}

func (h *histTables) all() []histTable {
	return []histTable{h.scans, h.snapshots, h.baselines, h.states, h.events}
}

// historyDDL returns the statements that create the history tables on one
// server (with a cluster, the local tables and the Distributed ones). Like
// localDDL it uses only what ClickHouse 18.16 accepts.
func (t *tables) historyDDL() []string {
	h := t.history()
	types := map[string]string{
		"domain": "String", "started": "Int64", "id": "String", "pmonth": "UInt32", "data": "String", "scan_id": "String",
		"blob": "String", "same": "UInt8", "fkey": "String", "updated": "Int64", "open": "UInt8", "severity": "UInt8",
		"time": "Int64", "seq": "UInt32", "kind": "String",
	}
	var out []string
	for _, x := range h.all() {
		var cols []string
		for _, c := range strings.Split(x.columns, ", ") {
			cols = append(cols, c+" "+types[c])
		}
		out = append(out, "CREATE TABLE IF NOT EXISTS "+x.local+" ("+strings.Join(cols, ", ")+
			") ENGINE = ReplacingMergeTree PARTITION BY pmonth ORDER BY ("+x.order+")")
	}
	if t.cluster != "" {
		for _, x := range h.all() {
			out = append(out, "CREATE TABLE IF NOT EXISTS "+x.rw+" AS "+x.local+
				" ENGINE = Distributed("+t.cluster+", "+t.db+", "+strings.TrimPrefix(x.local, t.db+".")+", sipHash64(domain))")
		}
	}
	return out
}

// History returns the scan history area (store.HistoryStore).
func (db *DB) History() (store.History, error) {
	if err := db.usable(false); err != nil {
		return nil, err
	}
	return &hist{db: db, t: db.t.history()}, nil
}

type hist struct {
	db *DB
	t  histTables
}

// recordFault, when set (tests), runs before each insert of Record and
// stops it with its error, as a crash between inserts would.
var recordFault func(table string) error

func nanos(t time.Time) int64 { return t.UnixNano() }

func monthOf(t time.Time) uint32 { return partitionOf(t.Unix()) }

// Record implements store.History: snapshots, baselines, states and events
// first, the scan row (the commit mark) last.
func (h *hist) Record(ctx context.Context, step *history.Step) error {
	if err := h.db.usable(true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	enc, err := store.EncodeStep(step)
	if err != nil {
		return err
	}
	sc := &step.Scan
	started, month := nanos(sc.Started), monthOf(sc.Started)
	var inserts []insert
	if enc.Snapshot != nil {
		inserts = append(inserts, insert{h.t.snapshots, [][]any{{sc.ID, sc.Domain, started, month, string(enc.Snapshot)}}})
	}
	if enc.Baseline != nil || enc.SameBaseline {
		flag := uint8(0)
		if enc.SameBaseline {
			flag = 1
		}
		inserts = append(inserts, insert{h.t.baselines, [][]any{{sc.Domain, started, sc.ID, flag, month, string(enc.Baseline)}}})
	}
	if len(enc.States) > 0 {
		ins := insert{t: h.t.states}
		for i := range enc.States {
			s := &enc.States[i]
			open := uint8(0)
			if s.State == history.StateOpen {
				open = 1
			}
			ins.rows = append(ins.rows, []any{s.Domain, s.Key, nanos(s.Updated()), sc.ID, open, uint8(s.Finding.Severity), monthOf(s.Updated()), string(enc.StateJSON[i])})
		}
		inserts = append(inserts, ins)
	}
	if len(step.Events) > 0 {
		ins := insert{t: h.t.events}
		for i := range step.Events {
			e := &step.Events[i]
			ins.rows = append(ins.rows, []any{e.Domain, nanos(e.Time), e.ScanID, uint32(e.Seq), e.Kind, monthOf(e.Time), string(enc.EventJSON[i])})
		}
		inserts = append(inserts, ins)
	}
	inserts = append(inserts, insert{h.t.scans, [][]any{{sc.Domain, started, sc.ID, month, string(enc.Scan)}}})
	for _, ins := range inserts {
		if recordFault != nil {
			if err := recordFault(ins.t.rw); err != nil {
				return err
			}
		}
		if err := h.db.insertRows(ctx, ins.t, ins.rows); err != nil {
			return fmt.Errorf("clickhouse: history: %w", err)
		}
	}
	return nil
}

type insert struct {
	t    histTable
	rows [][]any
}

// insertRows sends rows in one INSERT (values travel as native columns,
// never as SQL text).
func (db *DB) insertRows(ctx context.Context, t histTable, rows [][]any) error {
	b, err := db.conn.PrepareBatch(db.syncInsert(ctx), "INSERT INTO "+t.rw+" ("+t.columns+")")
	if err != nil {
		return err
	}
	defer b.Abort()
	for _, r := range rows {
		if err := b.Append(r...); err != nil {
			return err
		}
	}
	return b.Send()
}

// committed is the condition that keeps rows of recorded scans; conds
// restrict the scans looked at (on the scans table's columns).
func (h *hist) committed(conds ...string) string {
	s := "scan_id IN (SELECT id FROM " + h.t.scans.local
	if len(conds) > 0 {
		s += " WHERE " + strings.Join(conds, " AND ")
	}
	return s + ")"
}

// queryStrings runs sql and returns the first column of every row.
func (h *hist) queryStrings(ctx context.Context, p *params, sql string) ([]string, error) {
	rows, err := h.db.conn.Query(p.ctx(ctx), sql)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: history: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("clickhouse: history: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: history: %w", err)
	}
	return out, nil
}

func decodeRecords[T any, P interface {
	*T
	Validate() error
}](vals []string) ([]T, error) {
	out := make([]T, 0, len(vals))
	for _, v := range vals {
		r, err := history.UnmarshalRecord[T, P]([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", store.ErrCorrupt, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Last implements store.History.
func (h *hist) Last(ctx context.Context, domain string) (history.Scan, *history.Snapshot, []history.FindingState, error) {
	var last history.Scan
	if err := h.db.usable(false); err != nil {
		return last, nil, nil, err
	}
	domain, err := store.HistoryDomain(domain)
	if err != nil {
		return last, nil, nil, err
	}
	p := newParams()
	sql := "SELECT argMax(data, (started, id)) FROM " + h.t.scans.rw + " WHERE domain = " + p.str(domain) + " GROUP BY domain"
	vals, err := h.queryStrings(ctx, p, sql)
	if err != nil {
		return last, nil, nil, err
	}
	scans, err := decodeRecords[history.Scan](vals)
	if err != nil || len(scans) == 0 {
		return last, nil, nil, err
	}
	last = scans[0]
	base, err := h.baseline(ctx, domain)
	if err != nil {
		return last, nil, nil, err
	}
	p = newParams()
	d := p.str(domain)
	sql = "SELECT argMax(data, (updated, scan_id)) FROM " + h.t.states.rw + " WHERE domain = " + d +
		" AND " + h.committed("domain = "+d) + " GROUP BY fkey ORDER BY fkey"
	if vals, err = h.queryStrings(ctx, p, sql); err != nil {
		return last, nil, nil, err
	}
	states, err := decodeRecords[history.FindingState](vals)
	if len(states) == 0 {
		states = nil
	}
	return last, base, states, err
}

func (h *hist) baseline(ctx context.Context, domain string) (*history.Snapshot, error) {
	p := newParams()
	d := p.str(domain)
	sql := "SELECT argMax(scan_id, (started, scan_id)), argMax(same, (started, scan_id)), argMax(blob, (started, scan_id)) FROM " +
		h.t.baselines.rw + " WHERE domain = " + d + " AND " + h.committed("domain = "+d) + " GROUP BY domain"
	rows, err := h.db.conn.Query(p.ctx(ctx), sql)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: history: %w", err)
	}
	defer rows.Close()
	var (
		id, blob string
		same     uint8
		found    bool
	)
	for rows.Next() {
		if err := rows.Scan(&id, &same, &blob); err != nil {
			return nil, fmt.Errorf("clickhouse: history: %w", err)
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: history: %w", err)
	}
	if !found {
		return nil, nil
	}
	if same == 1 {
		b, err := h.snapshotBlob(ctx, id)
		if err != nil {
			return nil, err
		}
		if b == nil {
			return nil, fmt.Errorf("%w: the baseline of %s names a missing snapshot", store.ErrCorrupt, domain)
		}
		blob = string(b)
	}
	return store.DecodeSnapshot([]byte(blob))
}

func (h *hist) snapshotBlob(ctx context.Context, scanID string) ([]byte, error) {
	p := newParams()
	vals, err := h.queryStrings(ctx, p, "SELECT any(blob) FROM "+h.t.snapshots.rw+" WHERE scan_id = "+p.str(scanID)+" GROUP BY scan_id")
	if err != nil || len(vals) == 0 {
		return nil, err
	}
	return []byte(vals[0]), nil
}

// fenceConds returns the conditions of [since, until) on a time column.
func fenceConds(p *params, col string, since, until time.Time) []string {
	var c []string
	if !since.IsZero() {
		c = append(c, col+" >= "+p.add("Int64", nanos(since)))
	}
	if !until.IsZero() {
		c = append(c, col+" < "+p.add("Int64", nanos(until)))
	}
	return c
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Scans implements store.History.
func (h *hist) Scans(ctx context.Context, q store.ScanQuery) ([]history.Scan, string, error) {
	if err := h.db.usable(false); err != nil {
		return nil, "", err
	}
	if err := q.Validate(); err != nil {
		return nil, "", err
	}
	p := newParams()
	var conds []string
	if q.Domain != "" {
		conds = append(conds, "domain = "+p.str(q.Domain))
	}
	conds = append(conds, fenceConds(p, "started", q.Since, q.Until)...)
	if q.Cursor != "" {
		c, err := store.DecodeHistoryCursor(store.CursorScans, q.Cursor)
		if err != nil {
			return nil, "", err
		}
		conds = append(conds, "(started, id) < ("+p.add("Int64", c.Time)+", "+p.str(c.ID)+")")
	}
	sql := "SELECT data FROM " + h.t.scans.rw + where(conds) +
		" ORDER BY started DESC, id DESC LIMIT 1 BY started, id LIMIT " + strconv.Itoa(q.Limit+1)
	vals, err := h.queryStrings(ctx, p, sql)
	if err != nil {
		return nil, "", err
	}
	out, err := decodeRecords[history.Scan](vals)
	if err != nil || len(out) <= q.Limit {
		return out, "", err
	}
	out = out[:q.Limit]
	return out, store.ScanCursor(&out[len(out)-1]), nil
}

// Snapshot implements store.History.
func (h *hist) Snapshot(ctx context.Context, scanID string) (history.Scan, *history.Snapshot, error) {
	var sc history.Scan
	if err := h.db.usable(false); err != nil {
		return sc, nil, err
	}
	if !history.ValidScanID(scanID) {
		return sc, nil, fmt.Errorf("%w: scan %q", store.ErrNotFound, scanID)
	}
	p := newParams()
	vals, err := h.queryStrings(ctx, p, "SELECT any(data) FROM "+h.t.scans.rw+" WHERE id = "+p.str(scanID)+" GROUP BY id")
	if err != nil {
		return sc, nil, err
	}
	scans, err := decodeRecords[history.Scan](vals)
	if err != nil {
		return sc, nil, err
	}
	if len(scans) == 0 {
		return sc, nil, fmt.Errorf("%w: scan %q", store.ErrNotFound, scanID)
	}
	b, err := h.snapshotBlob(ctx, scanID)
	if err != nil || b == nil {
		return scans[0], nil, err
	}
	s, err := store.DecodeSnapshot(b)
	return scans[0], s, err
}

// latest selects, per finding, the columns of its newest committed row.
const latest = "domain, fkey, argMax(data, (updated, scan_id)) AS a_d, argMax(open, (updated, scan_id)) AS a_o, " +
	"argMax(severity, (updated, scan_id)) AS a_s"

// Findings implements store.History.
func (h *hist) Findings(ctx context.Context, q store.FindingQuery) ([]history.FindingState, string, error) {
	if err := h.db.usable(false); err != nil {
		return nil, "", err
	}
	if err := q.Validate(); err != nil {
		return nil, "", err
	}
	p := newParams()
	var conds, scanConds, having []string
	if q.Domain != "" {
		d := p.str(q.Domain)
		conds = append(conds, "domain = "+d)
		scanConds = append(scanConds, "domain = "+d)
	}
	conds = append(conds, h.committed(scanConds...))
	if q.Cursor != "" {
		c, err := store.DecodeHistoryCursor(store.CursorFindings, q.Cursor)
		if err != nil {
			return nil, "", err
		}
		conds = append(conds, "(domain, fkey) > ("+p.str(c.Domain)+", "+p.str(c.ID)+")")
	}
	switch q.State {
	case history.StateOpen:
		having = append(having, "a_o = 1")
	case history.StateResolved:
		having = append(having, "a_o = 0")
	}
	if q.MinSeverity > finding.Info {
		having = append(having, "a_s >= "+p.add("UInt8", uint8(q.MinSeverity)))
	}
	sql := "SELECT a_d FROM (SELECT " + latest + " FROM " + h.t.states.rw + where(conds) + " GROUP BY domain, fkey"
	if len(having) > 0 {
		sql += " HAVING " + strings.Join(having, " AND ")
	}
	sql += ") ORDER BY domain, fkey LIMIT " + strconv.Itoa(q.Limit+1)
	vals, err := h.queryStrings(ctx, p, sql)
	if err != nil {
		return nil, "", err
	}
	out, err := decodeRecords[history.FindingState](vals)
	if err != nil || len(out) <= q.Limit {
		return out, "", err
	}
	out = out[:q.Limit]
	return out, store.FindingCursor(&out[len(out)-1]), nil
}

// Events implements store.History.
func (h *hist) Events(ctx context.Context, q store.EventQuery) ([]history.Event, string, error) {
	if err := h.db.usable(false); err != nil {
		return nil, "", err
	}
	if err := q.Validate(); err != nil {
		return nil, "", err
	}
	p := newParams()
	var conds, scanConds []string
	if q.Domain != "" {
		d := p.str(q.Domain)
		conds = append(conds, "domain = "+d)
		scanConds = append(scanConds, "domain = "+d)
	}
	conds = append(conds, fenceConds(p, "time", q.Since, q.Until)...)
	// Events happen at their scan's start: the same fence narrows the
	// scans of the committed check.
	scanConds = append(scanConds, fenceConds(p, "started", q.Since, q.Until)...)
	conds = append(conds, h.committed(scanConds...))
	if len(q.Kinds) > 0 {
		conds = append(conds, "has("+p.add("Array(String)", q.Kinds)+", kind)")
	}
	dir, op := "", ">"
	if q.Newest {
		dir, op = " DESC", "<"
	}
	if q.Cursor != "" {
		c, err := store.DecodeHistoryCursor(store.CursorEvents, q.Cursor)
		if err != nil {
			return nil, "", err
		}
		conds = append(conds, "(time, scan_id, seq) "+op+" ("+p.add("Int64", c.Time)+", "+p.str(c.ID)+", "+p.add("UInt32", uint32(c.Seq))+")")
	}
	sql := "SELECT data FROM " + h.t.events.rw + where(conds) + " ORDER BY time" + dir + ", scan_id" + dir + ", seq" + dir +
		" LIMIT 1 BY time, scan_id, seq LIMIT " + strconv.Itoa(q.Limit+1)
	vals, err := h.queryStrings(ctx, p, sql)
	if err != nil {
		return nil, "", err
	}
	out, err := decodeRecords[history.Event](vals)
	if err != nil || len(out) <= q.Limit {
		return out, "", err
	}
	out = out[:q.Limit]
	return out, store.EventCursor(&out[len(out)-1]), nil
}

// Domains implements store.History: the newest scan of every domain, and
// its open findings counted from the newest committed state rows.
func (h *hist) Domains(ctx context.Context) ([]store.DomainSummary, error) {
	if err := h.db.usable(false); err != nil {
		return nil, err
	}
	vals, err := h.queryStrings(ctx, newParams(), "SELECT argMax(data, (started, id)) FROM "+h.t.scans.rw+" GROUP BY domain ORDER BY domain")
	if err != nil {
		return nil, err
	}
	scans, err := decodeRecords[history.Scan](vals)
	if err != nil {
		return nil, err
	}
	out := make([]store.DomainSummary, len(scans))
	at := make(map[string]int, len(scans))
	for i, s := range scans {
		out[i] = store.DomainSummary{Domain: s.Domain, LastScan: s}
		at[s.Domain] = i
	}
	sql := "SELECT domain, a_s, count() FROM (SELECT " + latest + " FROM " + h.t.states.rw + " WHERE " + h.committed() +
		" GROUP BY domain, fkey) WHERE a_o = 1 GROUP BY domain, a_s"
	rows, err := h.db.conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		var sev uint8
		var n uint64
		if err := rows.Scan(&d, &sev, &n); err != nil {
			return nil, fmt.Errorf("clickhouse: history: %w", err)
		}
		if i, ok := at[d]; ok {
			for range n {
				out[i].Open.Add(finding.Severity(sev))
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: history: %w", err)
	}
	return out, nil
}

// PruneHistory implements store.History on every server: it counts what
// goes, drops the months before the cut-off's and rewrites the cut-off's
// month without the rows before the cut-off (as Prune does for tuples).
// Rows of failed Records go too. A Record writing into the cut-off's month
// while it is rewritten may be lost; watchers write the current month.
func (h *hist) PruneHistory(ctx context.Context, before time.Time) (store.HistoryPruneResult, error) {
	var res store.HistoryPruneResult
	if err := h.db.usable(true); err != nil {
		return res, err
	}
	if !before.After(time.Unix(0, 0)) {
		return res, nil
	}
	if before.After(time.Unix(0, 1<<63-1)) {
		before = time.Unix(0, 1<<63-1)
	}
	cut, m := nanos(before), monthOf(before)
	conns, err := h.db.shardConns(ctx)
	if err != nil {
		return res, err
	}
	for _, c := range conns {
		r, err := h.pruneServer(ctx, c, cut, m)
		if err != nil {
			return res, fmt.Errorf("clickhouse: prune history: %w", err)
		}
		res.Scans += r.Scans
		res.Events += r.Events
		res.FindingStates += r.FindingStates
	}
	return res, nil
}

func (h *hist) pruneServer(ctx context.Context, c driver.Conn, cut int64, m uint32) (store.HistoryPruneResult, error) {
	var res store.HistoryPruneResult
	committed := "scan_id IN (SELECT id FROM " + h.t.scans.local + ")"
	counts := []struct {
		n   *int64
		sql func(p *params) string
	}{
		{&res.Scans, func(p *params) string {
			return "SELECT uniqExact(id) FROM " + h.t.scans.local + " WHERE started < " + p.add("Int64", cut)
		}},
		{&res.Events, func(p *params) string {
			return "SELECT uniqExact(scan_id, seq) FROM " + h.t.events.local + " WHERE time < " + p.add("Int64", cut) + " AND " + committed
		}},
		{&res.FindingStates, func(p *params) string {
			return "SELECT count() FROM (SELECT max(updated) AS a_u FROM " + h.t.states.local + " WHERE " + committed +
				" GROUP BY domain, fkey HAVING a_u < " + p.add("Int64", cut) + ")"
		}},
	}
	for _, x := range counts {
		p := newParams()
		sql := x.sql(p)
		var n uint64
		if err := c.QueryRow(p.ctx(ctx), sql).Scan(&n); err != nil {
			return res, err
		}
		*x.n = int64(n)
	}
	for _, t := range h.t.all() {
		if err := pruneByTime(ctx, c, t, cut, m); err != nil {
			return res, err
		}
	}
	return res, nil
}

// pruneByTime deletes the rows of one local table whose time is before cut
// (m is cut's month).
func pruneByTime(ctx context.Context, c driver.Conn, t histTable, cut int64, m uint32) error {
	parts, err := partitions(ctx, c, t.local)
	if err != nil {
		return err
	}
	hasM := false
	for _, x := range parts {
		if x < m {
			if err := c.Exec(ctx, "ALTER TABLE "+t.local+" DROP PARTITION "+strconv.FormatUint(uint64(x), 10)); err != nil {
				return err
			}
		}
		hasM = hasM || x == m
	}
	if !hasM {
		return nil
	}
	p := newParams()
	var old uint64
	sql := "SELECT count() FROM " + t.local + " WHERE pmonth = " + p.u64(uint64(m)) + " AND " + t.timeCol + " < " + p.add("Int64", cut)
	if err := c.QueryRow(p.ctx(ctx), sql).Scan(&old); err != nil {
		return err
	}
	if old == 0 {
		return nil
	}
	tmp := t.local + "_prune"
	if err := c.Exec(ctx, "DROP TABLE IF EXISTS "+tmp); err != nil {
		return err
	}
	if err := c.Exec(ctx, "CREATE TABLE "+tmp+" AS "+t.local); err != nil {
		return err
	}
	defer c.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+tmp)
	p = newParams()
	sql = "INSERT INTO " + tmp + " (" + t.columns + ") SELECT " + t.columns + " FROM " + t.local +
		" WHERE pmonth = " + p.u64(uint64(m)) + " AND " + t.timeCol + " >= " + p.add("Int64", cut)
	if err := c.Exec(p.ctx(ctx), sql); err != nil {
		return err
	}
	return c.Exec(ctx, "ALTER TABLE "+t.local+" REPLACE PARTITION "+strconv.FormatUint(uint64(m), 10)+" FROM "+tmp)
}
