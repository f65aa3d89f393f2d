// Package clickhouse is dnsscout's scale-out passive DNS store: a
// store.Backend on ClickHouse (one server, or a cluster of shards through
// Distributed tables), spoken to over the native protocol with
// github.com/ClickHouse/clickhouse-go/v2. It owns the schema (created and
// migrated by Migrate, i.e. `dnsscout pdns migrate`), the SQL of every
// lookup, summary, retention and statistics query, and the encoding of
// names and index keys in that schema. It registers the "clickhouse" DSN
// scheme with package store. It does not parse user queries (package store
// does) and does not start servers (chtest does, for tests and benchmarks).
//
// User input never becomes SQL text: every value a query depends on
// travels as a one-row external table ("params") sent beside the query, and
// the SQL refers to it with scalar subqueries. The SQL itself is built only
// from constants and the validated identifiers of Options (database and
// cluster names). See docs/clickhouse.md for the schema and why it suits
// ClickHouse 18.16 (Debian 12) as well as newer releases.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dnsscout/dnsscout/internal/store"
)

// Errors of package clickhouse (store errors are wrapped with %w as the
// store contract asks).
var (
	// ErrBadDSN: the DSN or Options cannot name a ClickHouse store.
	ErrBadDSN = errors.New("clickhouse: bad DSN")
	// ErrNoSchema: the database has no dnsscout schema, or an older one;
	// run `dnsscout pdns migrate`.
	ErrNoSchema = errors.New("clickhouse: no dnsscout schema in the database (run: dnsscout pdns migrate)")
	// ErrSchemaVersion: the database holds a schema newer than this
	// dnsscout understands.
	ErrSchemaVersion = errors.New("clickhouse: schema version not understood")
	// ErrNoCluster: the server does not know the cluster named in Options.
	ErrNoCluster = errors.New("clickhouse: unknown cluster")
)

// Options configure Open and Migrate. Only Addrs is required.
type Options struct {
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// Addrs are native-protocol "host:port" addresses of the servers to
	// talk to (with a cluster: any of its servers; several give failover).
	Addrs []string
	// Database holds the schema (default "pdns"); letters, digits and
	// underscores only.
	Database string
	// Cluster names a cluster of the servers' remote_servers configuration
	// (default "": one server, no Distributed tables). With a cluster,
	// every shard holds local tables and reads and writes go through
	// Distributed tables sharded by owner name.
	Cluster string
	// Username and Password authenticate (default "default", "").
	Username, Password string
	// ReadOnly refuses writes with store.ErrReadOnly (default false).
	ReadOnly bool
	// MaxLimit caps the results of one Lookup and is used for Limit 0
	// (default store.DefaultMaxLimit; negative = no cap).
	MaxLimit int
	// DialTimeout bounds connecting (default 5 s).
	DialTimeout time.Duration
	// MaxOpenConns bounds the connection pool (default 16).
	MaxOpenConns int
}

// DB is an open ClickHouse store. It is safe for concurrent use.
type DB struct {
	conn     driver.Conn
	opts     Options
	log      *slog.Logger
	t        tables
	maxLimit int
	closed   atomic.Bool
	seq      seqClock

	shardsMu sync.Mutex
	shards   []driver.Conn // one connection per shard (cluster admin)
}

var (
	_ store.Backend        = (*DB)(nil)
	_ store.Summarizer     = (*DB)(nil)
	_ store.Pruner         = (*DB)(nil)
	_ store.StatsReporter  = (*DB)(nil)
	_ store.Exporter       = (*DB)(nil)
	_ store.NXDomainWriter = (*DB)(nil)
	_ store.NXDomainReader = (*DB)(nil)
	_ store.MetaStore      = (*DB)(nil)
	_ store.Compacter      = (*DB)(nil)
)

func init() {
	store.Register(store.Driver{Scheme: "clickhouse", Open: func(ctx context.Context, loc string, o store.Options) (store.Backend, error) {
		opts, err := ParseDSN(loc)
		if err != nil {
			return nil, err
		}
		opts.Logger, opts.ReadOnly, opts.MaxLimit = o.Logger, o.ReadOnly, o.MaxLimit
		return Open(ctx, opts)
	}})
}

// ParseDSN reads the part of a clickhouse:// DSN after the scheme:
//
//	[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT...][/DB][?cluster=NAME&dial_timeout=5s]
//
// The port defaults to 9000 (native protocol) and DB to "pdns".
func ParseDSN(loc string) (Options, error) {
	var o Options
	rest, rawQuery, _ := strings.Cut(loc, "?")
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		user, pass, _ := strings.Cut(rest[:i], ":")
		var err1, err2 error
		o.Username, err1 = url.PathUnescape(user)
		o.Password, err2 = url.PathUnescape(pass)
		if err1 != nil || err2 != nil {
			return o, fmt.Errorf("%w: bad escape in user or password", ErrBadDSN)
		}
		rest = rest[i+1:]
	}
	hosts, db, _ := strings.Cut(rest, "/")
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			host, port = strings.Trim(h, "[]"), "9000"
		}
		if host == "" || strings.ContainsAny(host, "/?#@ ") {
			return o, fmt.Errorf("%w: bad host %q", ErrBadDSN, h)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return o, fmt.Errorf("%w: bad port in %q", ErrBadDSN, h)
		}
		o.Addrs = append(o.Addrs, net.JoinHostPort(host, port))
	}
	if len(o.Addrs) == 0 {
		return o, fmt.Errorf("%w: %q names no server", ErrBadDSN, loc)
	}
	o.Database = strings.TrimSuffix(db, "/")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return o, fmt.Errorf("%w: %v", ErrBadDSN, err)
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "cluster":
			o.Cluster = v
		case "dial_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return o, fmt.Errorf("%w: dial_timeout %q", ErrBadDSN, v)
			}
			o.DialTimeout = d
		default:
			return o, fmt.Errorf("%w: unknown parameter %q (known: cluster, dial_timeout)", ErrBadDSN, k)
		}
	}
	if err := o.fill(); err != nil {
		return o, err
	}
	return o, nil
}

// fill applies defaults and validates.
func (o *Options) fill() error {
	if len(o.Addrs) == 0 {
		return fmt.Errorf("%w: no server address", ErrBadDSN)
	}
	if o.Database == "" {
		o.Database = "pdns"
	}
	if !isIdent(o.Database) {
		return fmt.Errorf("%w: database name %q (letters, digits and _ only)", ErrBadDSN, o.Database)
	}
	if o.Cluster != "" && !isIdent(o.Cluster) {
		return fmt.Errorf("%w: cluster name %q (letters, digits and _ only)", ErrBadDSN, o.Cluster)
	}
	if o.Username == "" {
		o.Username = "default"
	}
	if o.MaxLimit == 0 {
		o.MaxLimit = store.DefaultMaxLimit
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 16
	}
	return nil
}

// isIdent accepts the identifiers the SQL may contain: ASCII letters,
// digits and underscores, not starting with a digit, at most 64 bytes.
func isIdent(s string) bool {
	if s == "" || len(s) > 64 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func dial(ctx context.Context, o *Options, addrs []string, database string) (driver.Conn, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:             addrs,
		Auth:             clickhouse.Auth{Database: database, Username: o.Username, Password: o.Password},
		DialTimeout:      o.DialTimeout,
		MaxOpenConns:     o.MaxOpenConns,
		MaxIdleConns:     min(o.MaxOpenConns, 8),
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse: connect %s: %w", strings.Join(addrs, ","), err)
	}
	return conn, nil
}

// Open connects to the store that opts names. The schema must exist (see
// Migrate); its version is checked.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store/clickhouse")
	conn, err := dial(ctx, &opts, opts.Addrs, "default")
	if err != nil {
		return nil, err
	}
	db := &DB{conn: conn, opts: opts, log: log, t: newTables(opts.Database, opts.Cluster), maxLimit: opts.MaxLimit}
	if err := db.checkSchema(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return db, nil
}

// Close releases the connections.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return store.ErrClosed
	}
	db.shardsMu.Lock()
	for _, c := range db.shards {
		c.Close()
	}
	db.shards = nil
	db.shardsMu.Unlock()
	if err := db.conn.Close(); err != nil {
		return fmt.Errorf("clickhouse: close: %w", err)
	}
	return nil
}

// Location describes where the data lives ("host:port/db", with the
// cluster).
func (db *DB) Location() string {
	s := strings.Join(db.opts.Addrs, ",") + "/" + db.opts.Database
	if db.opts.Cluster != "" {
		s += " (cluster " + db.opts.Cluster + ")"
	}
	return s
}

func (db *DB) usable(write bool) error {
	if db.closed.Load() {
		return store.ErrClosed
	}
	if write && db.opts.ReadOnly {
		return store.ErrReadOnly
	}
	return nil
}

// shardConns returns one connection per shard of the cluster (the main
// connection alone without a cluster), for the statements that must run on
// every server: DDL, partition operations, part sizes.
func (db *DB) shardConns(ctx context.Context) ([]driver.Conn, error) {
	if db.opts.Cluster == "" {
		return []driver.Conn{db.conn}, nil
	}
	db.shardsMu.Lock()
	defer db.shardsMu.Unlock()
	if db.shards != nil {
		return db.shards, nil
	}
	conns, err := dialShards(ctx, db.conn, &db.opts)
	if err != nil {
		return nil, err
	}
	db.shards = conns
	return conns, nil
}

// dialShards asks the server for the first replica of every shard of
// opts.Cluster and connects to each.
func dialShards(ctx context.Context, conn driver.Conn, o *Options) ([]driver.Conn, error) {
	p := newParams()
	sql := "SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = " + p.str(o.Cluster) +
		" AND replica_num = 1 ORDER BY shard_num"
	rows, err := conn.Query(p.ctx(ctx), sql)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: list shards: %w", err)
	}
	defer rows.Close()
	var addrs []string
	for rows.Next() {
		var num uint32
		var host string
		var port uint16
		if err := rows.Scan(&num, &host, &port); err != nil {
			return nil, fmt.Errorf("clickhouse: list shards: %w", err)
		}
		addrs = append(addrs, net.JoinHostPort(host, fmt.Sprint(port)))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: list shards: %w", err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w %q (not in system.clusters of %s)", ErrNoCluster, o.Cluster, strings.Join(o.Addrs, ","))
	}
	var conns []driver.Conn
	for _, a := range addrs {
		c, err := dial(ctx, o, []string{a}, "default")
		if err != nil {
			for _, x := range conns {
				x.Close()
			}
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// seqClock hands out increasing sequence numbers for "first bailiwick
// wins": nanoseconds since the epoch, bumped past the last one handed out,
// so that they order upserts within a process and, as well as the clocks
// agree, across collectors.
type seqClock struct {
	mu   sync.Mutex
	last uint64
}

// next reserves n consecutive numbers and returns the first.
func (c *seqClock) next(n int) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := uint64(time.Now().UnixNano())
	if s <= c.last {
		s = c.last + 1
	}
	c.last = s + uint64(n)
	return s
}
