package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse/chtest"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

var dbSeq atomic.Int64

// opener returns a storetest open function: every call creates and
// migrates a fresh database on the given servers (a cluster when cluster
// is set).
func opener(addrs []string, cluster string) func(t *testing.T) store.Backend {
	return func(t *testing.T) store.Backend { return openFresh(t, addrs, cluster) }
}

func openFresh(t testing.TB, addrs []string, cluster string) *clickhouse.DB {
	{
		t.Helper()
		ctx := context.Background()
		o := clickhouse.Options{Addrs: addrs, Database: fmt.Sprintf("t%d", dbSeq.Add(1)), Cluster: cluster}
		if _, err := clickhouse.Migrate(ctx, o); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		db, err := clickhouse.Open(ctx, o)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

func TestConformance(t *testing.T) {
	s := chtest.StartServer(t)
	storetest.Run(t, opener([]string{s.Addr}, ""))
}

// TestConformanceCluster runs the suite on two servers as two shards,
// through Distributed tables, entering through the second server.
func TestConformanceCluster(t *testing.T) {
	ss := chtest.StartCluster(t, "pdns_test", 2)
	storetest.Run(t, opener([]string{ss[1].Addr}, "pdns_test"))
	t.Run("Sharded", func(t *testing.T) {
		b := opener([]string{ss[0].Addr}, "pdns_test")(t).(*clickhouse.DB)
		fx := storetest.Fixture()
		if err := b.Upsert(context.Background(), fx); err != nil {
			t.Fatal(err)
		}
		// Both shards hold some of the data.
		var total uint64
		for i, s := range ss {
			n := localRows(t, s.Addr, dbName(t, b))
			if n == 0 {
				t.Errorf("shard %d holds no rows", i+1)
			}
			total += n
		}
		if want := uint64(len(storetest.Merged(fx))); total != want {
			t.Errorf("the shards hold %d tuples, want %d", total, want)
		}
	})
}

func dbName(t *testing.T, b *clickhouse.DB) string {
	t.Helper()
	loc := b.Location()
	_, db, _ := strings.Cut(loc, "/")
	db, _, _ = strings.Cut(db, " ")
	return db
}

// localRows counts the tuple rows stored on one server.
func localRows(t *testing.T, addr, db string) uint64 {
	t.Helper()
	n, err := clickhouse.CountLocalRows(context.Background(), clickhouse.Options{Addrs: []string{addr}, Database: db}, "obs_local")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenWithoutSchema(t *testing.T) {
	s := chtest.StartServer(t)
	ctx := context.Background()
	_, err := clickhouse.Open(ctx, clickhouse.Options{Addrs: []string{s.Addr}, Database: "never_migrated"})
	if !errors.Is(err, clickhouse.ErrNoSchema) {
		t.Fatalf("Open before migrate: %v, want ErrNoSchema", err)
	}
	o := clickhouse.Options{Addrs: []string{s.Addr}, Database: "twice"}
	for i := range 2 {
		res, err := clickhouse.Migrate(ctx, o)
		if err != nil {
			t.Fatalf("Migrate %d: %v", i+1, err)
		}
		if res.Version != clickhouse.SchemaVersion || res.Servers != 1 || res.Statements == 0 {
			t.Errorf("Migrate %d: %+v", i+1, res)
		}
	}
	// Through the DSN registry, as the CLI opens it.
	b, err := store.Open(ctx, "clickhouse://"+s.Addr+"/twice", store.Options{})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	defer b.Close()
	if err := b.Upsert(ctx, storetest.Fixture()); err != nil {
		t.Fatal(err)
	}
	ro, err := store.Open(ctx, "clickhouse://"+s.Addr+"/twice", store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Upsert(ctx, storetest.Fixture()); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("read-only Upsert: %v, want ErrReadOnly", err)
	}
	if _, err := clickhouse.Migrate(ctx, clickhouse.Options{Addrs: []string{s.Addr}, Database: "x", Cluster: "no_such_cluster"}); !errors.Is(err, clickhouse.ErrNoCluster) {
		t.Errorf("Migrate with an unknown cluster: %v, want ErrNoCluster", err)
	}
}

// TestHostileInput: strings crafted to break out of SQL either fail
// validation (store.ErrBadQuery) or match nothing, never reach ClickHouse's
// parser as text; names with quotes and backslashes that are valid are
// stored and found again byte for byte.
func TestHostileInput(t *testing.T) {
	s := chtest.StartServer(t)
	b := opener([]string{s.Addr}, "")(t)
	ctx := context.Background()
	odd := []pdns.Tuple{
		{RRName: `o'brien.example.com`, RRType: dns.TypeA, RData: "192.0.2.7", Count: 1, TimeFirst: storetest.T0, TimeLast: storetest.T0},
		{RRName: `back\\slash.example.com`, RRType: dns.TypeTXT, RData: `"it's \"quoted\" \\ -- /* */ ; DROP TABLE obs"`, Count: 2, TimeFirst: storetest.T0, TimeLast: storetest.T0, Bailiwick: `o'brien.example.com`},
		{RRName: "nul.example.com", RRType: dns.TypeTXT, RData: `"a\000b"`, Count: 1, TimeFirst: storetest.T0, TimeLast: storetest.T0},
	}
	if err := b.Upsert(ctx, odd); err != nil {
		t.Fatal(err)
	}
	hostile := []string{
		`' OR 1=1 --`, `x' OR '1'='1`, `\'; DROP TABLE obs; --`, `example.com' UNION SELECT 1 --`, `/* comment */ example.com`,
		"a\x00b.example.com", `\`, `\\`, `'`, `"`, "`", `example.com;`, `*.example.com' --`, `www.example.*'`, `.\'`,
		`example.com) OR (1=1`, `\x27.example.com`, `' AND sleep(3) --`, `%' --`, "é' --", `)))))`,
	}
	for _, h := range hostile {
		for _, rdata := range []bool{false, true} {
			q, err := store.ParseQuery(h, rdata)
			if err != nil {
				if !errors.Is(err, store.ErrBadQuery) {
					t.Errorf("ParseQuery(%q): %v, want ErrBadQuery", h, err)
				}
				continue
			}
			q.Bailiwick = ""
			var got []string
			_, err = b.Lookup(ctx, q, func(x *pdns.Tuple) error { got = append(got, x.RRName); return nil })
			if err != nil && !errors.Is(err, store.ErrBadQuery) {
				t.Errorf("Lookup(%q, rdata %v): %v, want no error or ErrBadQuery", h, rdata, err)
			}
			if len(got) != 0 {
				t.Errorf("Lookup(%q, rdata %v) found %q", h, rdata, got)
			}
		}
		// Raw rdata, bailiwick and Meta take any bytes.
		for _, q := range []store.Query{
			{Kind: store.KindRDataRaw, RData: h, Type: store.TypeAll},
			{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, Bailiwick: h},
		} {
			n := 0
			_, err := b.Lookup(ctx, q, func(*pdns.Tuple) error { n++; return nil })
			if err != nil && !errors.Is(err, store.ErrBadQuery) {
				t.Errorf("Lookup(%+v): %v", q, err)
			}
			if n != 0 {
				t.Errorf("Lookup(%+v) found %d tuples", q, n)
			}
		}
		m, err := b.(store.MetaStore).Meta(h)
		if err != nil {
			continue
		}
		if _, err := m.Get(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Meta(%q).Get: %v, want ErrNotFound", h, err)
		}
		if err := m.Put(ctx, h, []byte(h)); err != nil {
			t.Errorf("Meta(%q).Put: %v", h, err)
		}
		if v, err := m.Get(ctx, h); err != nil || string(v) != h {
			t.Errorf("Meta(%q).Get after Put: %q, %v", h, v, err)
		}
	}
	// The odd but valid data comes back exactly.
	for _, tc := range []struct {
		q    store.Query
		want string
	}{
		{store.Query{Kind: store.KindRRSet, Name: `o'brien.example.com`}, `o'brien.example.com`},
		{store.Query{Kind: store.KindRRSet, Name: `back\\slash.example.com`, Bailiwick: `o'brien.example.com`}, `back\\slash.example.com`},
		{store.Query{Kind: store.KindRDataRaw, RData: odd[1].RData}, `back\\slash.example.com`},
		{store.Query{Kind: store.KindRDataRaw, RData: odd[2].RData}, "nul.example.com"},
	} {
		var got []pdns.Tuple
		if _, err := b.Lookup(ctx, tc.q, func(x *pdns.Tuple) error { got = append(got, *x); return nil }); err != nil {
			t.Fatalf("Lookup(%+v): %v", tc.q, err)
		}
		if len(got) != 1 || got[0].RRName != tc.want {
			t.Errorf("Lookup(%+v) = %+v, want %s", tc.q, got, tc.want)
		}
	}
}

func TestPruneAcrossMonths(t *testing.T) {
	s := chtest.StartServer(t)
	storetest.RunPruneAcrossMonths(t, opener([]string{s.Addr}, ""))
}

func TestPruneAcrossMonthsCluster(t *testing.T) {
	ss := chtest.StartCluster(t, "pdns_test", 2)
	storetest.RunPruneAcrossMonths(t, opener([]string{ss[0].Addr}, "pdns_test"))
}
