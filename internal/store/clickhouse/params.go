package clickhouse

import (
	"context"
	"strconv"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// params carries a query's values out of band. ClickHouse 18.16 has no
// server-side query parameters, and the driver's "?" binding formats
// values into the SQL text; instead every value becomes a column of a
// one-row external table named "params" sent with the query (the native
// protocol's external data, which servers forward to the shards of a
// Distributed query), and the SQL reads it with a scalar subquery such as
// (SELECT p0 FROM params). A scalar subquery is a constant to the planner,
// so primary-key ranges still prune granules.
type params struct {
	cols  []string // "p0 String"
	types []string
	vals  []any
}

func newParams() *params { return &params{} }

func (p *params) add(typ string, v any) string {
	name := "p" + strconv.Itoa(len(p.vals))
	p.cols = append(p.cols, name)
	p.types = append(p.types, typ)
	p.vals = append(p.vals, v)
	return "(SELECT " + name + " FROM params)"
}

// str adds a String value and returns the SQL expression that reads it.
func (p *params) str(s string) string { return p.add("String", s) }

// u64 adds a UInt64 value.
func (p *params) u64(v uint64) string { return p.add("UInt64", v) }

// u16 adds a UInt16 value.
func (p *params) u16(v uint16) string { return p.add("UInt16", v) }

// ctx returns ctx carrying the external table (and settings), ready for a
// query. Without values it only adds the settings. Build the SQL (which
// adds the values) in a statement before this call: Go evaluates
// conn.Query(p.ctx(ctx), "..."+p.str(x)) left to right, so p.ctx would
// run before p.str.
func (p *params) ctx(ctx context.Context, opts ...clickhouse.QueryOption) context.Context {
	if len(p.vals) > 0 {
		cols := make([]func(*ext.Table) error, len(p.cols))
		for i := range p.cols {
			cols[i] = ext.Column(p.cols[i], column.Type(p.types[i]))
		}
		t, err := ext.NewTable("params", cols...)
		if err == nil {
			err = t.Append(p.vals...)
		}
		if err != nil {
			// Only a programming error (an unknown type name) gets here;
			// the query then fails on the missing table, never with
			// values in its text.
			return clickhouse.Context(ctx, opts...)
		}
		opts = append(opts, clickhouse.WithExternalTable(t))
	}
	return clickhouse.Context(ctx, opts...)
}
