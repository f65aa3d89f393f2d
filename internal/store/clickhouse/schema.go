package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/dnsscout/dnsscout/internal/store"
)

// SchemaVersion is the version of the schema Migrate creates and Open
// accepts. It is kept in the meta table under a namespace no user can name.
// Version 2 added the scan history tables (history.go).
const SchemaVersion = 2

// schemaNS is the meta namespace of the schema notes (a NUL byte keeps it
// apart from every namespace Meta accepts).
const schemaNS = "\x00schema"

// tables holds the fully qualified names the SQL uses. Without a cluster
// the read and write names are the local tables; with one, reads and
// writes go through Distributed tables and the per-server statements use
// the local names.
type tables struct {
	db, cluster string
	// Read/write names (Distributed with a cluster).
	obs, obsIn, nx, nxIn, meta string
	// Names on each server.
	obsLocal, idxLocal, nxLocal, metaLocal, obsInLocal, nxInLocal string
}

func newTables(db, cluster string) tables {
	t := tables{db: db, cluster: cluster}
	q := func(n string) string { return db + "." + n }
	suffix := ""
	if cluster != "" {
		suffix = "_local"
	}
	t.obsLocal, t.idxLocal, t.nxLocal, t.metaLocal = q("obs"+suffix), q("idx"+suffix), q("nx"+suffix), q("meta"+suffix)
	t.obsInLocal, t.nxInLocal = q("obs_in"+suffix), q("nx_in"+suffix)
	t.obs, t.obsIn, t.nx, t.nxIn, t.meta = t.obsLocal, t.obsInLocal, t.nxLocal, t.nxInLocal, t.metaLocal
	if cluster != "" {
		t.obs, t.obsIn, t.nx, t.nxIn, t.meta = q("obs"), q("obs_in"), q("nx"), q("nx_in"), q("meta")
	}
	return t
}

// localDDL returns the statements that create one server's tables. Every
// statement is idempotent (IF NOT EXISTS). The SQL uses only what
// ClickHouse 18.16 accepts: AggregateFunction columns filled by a
// materialized view from a Null table (no SimpleAggregateFunction, no
// input() function), explicit column lists, no codecs or TTL.
func (t *tables) localDDL() []string {
	return []string{
		"CREATE DATABASE IF NOT EXISTS " + t.db,
		// Upsert writes plain rows here; the views below turn them into
		// aggregate states and index rows. Nothing is stored in it.
		"CREATE TABLE IF NOT EXISTS " + t.obsInLocal + ` (
			rrname_rev String, rrtype UInt16, rdata String, pmonth UInt32,
			tf UInt64, tl UInt64, ztf UInt64, ztl UInt64, cnt UInt64,
			bail String, bseq UInt64, sensors Array(String), idx Array(String)
		) ENGINE = Null`,
		// One row per (name, type, rdata) and partition once merged: the
		// partition is the month of the row's last sighting, so whole old
		// months drop at once. Times of 0 mean never: the view stores a
		// first time of 0 as the largest UInt64 so that min ignores it.
		"CREATE TABLE IF NOT EXISTS " + t.obsLocal + ` (
			rrname_rev String, rrtype UInt16, rdata String, pmonth UInt32,
			time_first AggregateFunction(min, UInt64),
			time_last AggregateFunction(max, UInt64),
			zone_first AggregateFunction(min, UInt64),
			zone_last AggregateFunction(max, UInt64),
			count AggregateFunction(sum, UInt64),
			bailiwick AggregateFunction(argMin, String, UInt64),
			sensors AggregateFunction(groupUniqArrayArray, Array(String))
		) ENGINE = AggregatingMergeTree PARTITION BY pmonth ORDER BY (rrname_rev, rrtype, rdata)
		SETTINGS index_granularity = 256`,
		"CREATE MATERIALIZED VIEW IF NOT EXISTS " + t.obsLocal + "_mv TO " + t.obsLocal + ` AS
		SELECT rrname_rev, rrtype, rdata, pmonth,
			minState(if(tf = 0, 18446744073709551615, tf)) AS time_first,
			maxState(tl) AS time_last,
			minState(if(ztf = 0, 18446744073709551615, ztf)) AS zone_first,
			maxState(ztl) AS zone_last,
			sumState(cnt) AS count,
			argMinState(bail, if(bail = '', 18446744073709551615, bseq)) AS bailiwick,
			groupUniqArrayArrayState(sensors) AS sensors
		FROM ` + t.obsInLocal + ` GROUP BY rrname_rev, rrtype, rdata, pmonth`,
		// The second ordering: rdata names, addresses, raw rdata and
		// forward owner names, each pointing at the tuple key.
		"CREATE TABLE IF NOT EXISTS " + t.idxLocal + ` (
			k String, rrname_rev String, rrtype UInt16, rdata String, pmonth UInt32
		) ENGINE = ReplacingMergeTree PARTITION BY pmonth ORDER BY (k, rrname_rev, rrtype, rdata)
		SETTINGS index_granularity = 256`,
		"CREATE MATERIALIZED VIEW IF NOT EXISTS " + t.idxLocal + "_mv TO " + t.idxLocal + ` AS
		SELECT k, rrname_rev,
			if(substring(k, 1, 1) = 'f', toUInt16(0), rrtype) AS rrtype,
			if(substring(k, 1, 1) = 'f', '', rdata) AS rdata,
			pmonth
		FROM ` + t.obsInLocal + ` ARRAY JOIN idx AS k`,
		"CREATE TABLE IF NOT EXISTS " + t.nxInLocal + ` (
			name_rev String, name_fwd String, pmonth UInt32, cnt UInt64, tf UInt64, tl UInt64
		) ENGINE = Null`,
		"CREATE TABLE IF NOT EXISTS " + t.nxLocal + ` (
			name_rev String, name_fwd String, pmonth UInt32,
			count AggregateFunction(sum, UInt64),
			time_first AggregateFunction(min, UInt64),
			time_last AggregateFunction(max, UInt64)
		) ENGINE = AggregatingMergeTree PARTITION BY pmonth ORDER BY name_rev
		SETTINGS index_granularity = 256`,
		"CREATE MATERIALIZED VIEW IF NOT EXISTS " + t.nxLocal + "_mv TO " + t.nxLocal + ` AS
		SELECT name_rev, any(name_fwd) AS name_fwd, pmonth, sumState(cnt) AS count,
			minState(if(tf = 0, 18446744073709551615, tf)) AS time_first, maxState(tl) AS time_last
		FROM ` + t.nxInLocal + ` GROUP BY name_rev, pmonth`,
		"CREATE TABLE IF NOT EXISTS " + t.metaLocal + ` (
			ns String, key String, value String, ver UInt64, deleted UInt8
		) ENGINE = ReplacingMergeTree(ver) ORDER BY (ns, key)`,
	}
}

// distributedDDL returns the Distributed tables of a cluster, created on
// every server so that any of them can be the entry point. Rows are
// sharded by owner name, so that all rows of a tuple, its index rows and
// all rows of an NXDOMAIN name live on one shard: each shard aggregates
// and prunes on its own, and index lookups join shard-locally.
func (t *tables) distributedDDL() []string {
	if t.cluster == "" {
		return nil
	}
	d := func(name, local, key string) string {
		return "CREATE TABLE IF NOT EXISTS " + name + " AS " + local +
			" ENGINE = Distributed(" + t.cluster + ", " + t.db + ", " + strings.TrimPrefix(local, t.db+".") + ", " + key + ")"
	}
	return []string{
		d(t.obsIn, t.obsInLocal, "sipHash64(rrname_rev)"),
		d(t.obs, t.obsLocal, "sipHash64(rrname_rev)"),
		d(t.nxIn, t.nxInLocal, "sipHash64(name_rev)"),
		d(t.nx, t.nxLocal, "sipHash64(name_rev)"),
		d(t.meta, t.metaLocal, "sipHash64(ns)"),
	}
}

// MigrateResult says what Migrate did.
type MigrateResult struct {
	// Servers is the number of servers the schema was created on.
	Servers int
	// Statements is the number of DDL statements run (all idempotent).
	Statements int
	// Version is the schema version now in the database.
	Version int
}

// Migrate creates the schema that opts names (database, tables,
// materialized views, and with a cluster the Distributed tables on every
// shard) or brings an older one up to SchemaVersion. It is idempotent.
// With a cluster it connects to every shard listed in system.clusters and
// runs the DDL there itself, so no ZooKeeper (ON CLUSTER) is needed.
func Migrate(ctx context.Context, opts Options) (MigrateResult, error) {
	var res MigrateResult
	if err := opts.fill(); err != nil {
		return res, err
	}
	if opts.ReadOnly {
		return res, fmt.Errorf("clickhouse: migrate: read-only")
	}
	conn, err := dial(ctx, &opts, opts.Addrs, "default")
	if err != nil {
		return res, err
	}
	defer conn.Close()
	t := newTables(opts.Database, opts.Cluster)
	conns := []driver.Conn{conn}
	if opts.Cluster != "" {
		if conns, err = dialShards(ctx, conn, &opts); err != nil {
			return res, err
		}
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
	}
	if v, err := schemaVersion(ctx, conn, &t); err == nil && v > SchemaVersion {
		return res, fmt.Errorf("%w: the database has version %d, this dnsscout knows %d", ErrSchemaVersion, v, SchemaVersion)
	}
	for _, c := range conns {
		for _, stmt := range append(append(t.localDDL(), t.distributedDDL()...), t.historyDDL()...) {
			if err := c.Exec(ctx, stmt); err != nil {
				return res, fmt.Errorf("clickhouse: migrate: %w\n%s", err, stmt)
			}
			res.Statements++
		}
		res.Servers++
	}
	db := &DB{conn: conn, opts: opts, t: t}
	m := &meta{db: db, ns: schemaNS}
	if err := m.Put(ctx, "version", []byte(strconv.Itoa(SchemaVersion))); err != nil {
		return res, fmt.Errorf("clickhouse: migrate: %w", err)
	}
	res.Version = SchemaVersion
	return res, nil
}

// ClickHouse exception codes the backend recognises.
const (
	codeUnknownTable    = 60
	codeUnknownDatabase = 81
)

// schemaVersion reads the version note; ErrNoSchema when there is none.
func schemaVersion(ctx context.Context, conn driver.Conn, t *tables) (int, error) {
	db := &DB{conn: conn, t: *t}
	m := &meta{db: db, ns: schemaNS}
	v, err := m.Get(ctx, "version")
	if err != nil {
		var ex *proto.Exception
		if errors.As(err, &ex) && (ex.Code == codeUnknownTable || ex.Code == codeUnknownDatabase) || errors.Is(err, store.ErrNotFound) {
			return 0, ErrNoSchema
		}
		return 0, err
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrSchemaVersion, v)
	}
	return n, nil
}

func (db *DB) checkSchema(ctx context.Context) error {
	v, err := schemaVersion(ctx, db.conn, &db.t)
	if err != nil {
		if errors.Is(err, ErrNoSchema) {
			return fmt.Errorf("%w %s", ErrNoSchema, db.Location())
		}
		return err
	}
	if v < SchemaVersion {
		return fmt.Errorf("%w: the database has version %d, this dnsscout needs %d", ErrNoSchema, v, SchemaVersion)
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: the database has version %d, this dnsscout knows %d", ErrSchemaVersion, v, SchemaVersion)
	}
	return nil
}

// syncInsert makes inserts into Distributed tables return only once every
// shard has the rows (so an Upsert is visible when it returns).
func (db *DB) syncInsert(ctx context.Context) context.Context {
	if db.t.cluster == "" {
		return ctx
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
}
