package clickhouse

import (
	"context"
)

// CountLocalRows counts the merged rows of one local table on the first
// server of o (tests check how a cluster spread the data).
func CountLocalRows(ctx context.Context, o Options, table string) (uint64, error) {
	if err := o.fill(); err != nil {
		return 0, err
	}
	conn, err := dial(ctx, &o, o.Addrs, "default")
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n uint64
	err = conn.QueryRow(ctx, "SELECT count() FROM (SELECT 1 FROM "+o.Database+"."+table+" GROUP BY rrname_rev, rrtype, rdata)").Scan(&n)
	return n, err
}
