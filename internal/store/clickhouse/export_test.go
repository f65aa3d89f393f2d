package clickhouse

import (
	"context"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// CountLocalRows counts the merged rows of one local table on the first
// server of o (tests check how a cluster spread the data).
func CountLocalRows(ctx context.Context, o Options, table string) (uint64, error) {
	conn, err := testConn(ctx, &o)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n uint64
	err = conn.QueryRow(ctx, "SELECT count() FROM (SELECT 1 FROM "+o.Database+"."+table+" GROUP BY rrname_rev, rrtype, rdata)").Scan(&n)
	return n, err
}

// SetRecordFault makes history Record fail with err before inserting into
// table (a Distributed or local read/write name ending in that table
// name) and returns the function that clears it.
func SetRecordFault(table string, err error) func() {
	recordFault = func(t string) error {
		if strings.HasSuffix(t, "."+table) {
			return err
		}
		return nil
	}
	return func() { recordFault = nil }
}

// CountAllRows counts every row of a table on the first server of o,
// visible or not.
func CountAllRows(ctx context.Context, o Options, table string) (uint64, error) {
	conn, err := testConn(ctx, &o)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n uint64
	err = conn.QueryRow(ctx, "SELECT count() FROM "+o.Database+"."+table).Scan(&n)
	return n, err
}

// DowngradeToV1 makes a migrated database look like one of schema version
// 1: no history tables, version note 1.
func DowngradeToV1(ctx context.Context, o Options) error {
	conn, err := testConn(ctx, &o)
	if err != nil {
		return err
	}
	defer conn.Close()
	t := newTables(o.Database, o.Cluster)
	h := t.history()
	for _, x := range h.all() {
		if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+x.rw); err != nil {
			return err
		}
	}
	m := &meta{db: &DB{conn: conn, opts: o, t: t}, ns: schemaNS}
	return m.Put(ctx, "version", []byte("1"))
}

// testConn connects to the first server of o.
func testConn(ctx context.Context, o *Options) (driver.Conn, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	return dial(ctx, o, o.Addrs, "default")
}
