package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse/chtest"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

// historyOpeners returns the open and reopen functions of the history
// suite: each open migrates a fresh database; reopen closes a store and
// opens its database again.
func historyOpeners(addrs []string, cluster string) (func(t *testing.T) store.Backend, storetest.Reopen) {
	var mu sync.Mutex
	opts := map[store.Backend]clickhouse.Options{}
	openOpts := func(t *testing.T, o clickhouse.Options) store.Backend {
		t.Helper()
		db, err := clickhouse.Open(context.Background(), o)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		mu.Lock()
		opts[db] = o
		mu.Unlock()
		return db
	}
	open := func(t *testing.T) store.Backend {
		t.Helper()
		o := clickhouse.Options{Addrs: addrs, Database: fmt.Sprintf("h%d", dbSeq.Add(1)), Cluster: cluster}
		if _, err := clickhouse.Migrate(context.Background(), o); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return openOpts(t, o)
	}
	reopen := func(t *testing.T, b store.Backend) store.Backend {
		t.Helper()
		mu.Lock()
		o := opts[b]
		mu.Unlock()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		return openOpts(t, o)
	}
	return open, reopen
}

// openHistory opens the store o names (closed on cleanup) and returns its
// history.
func openHistory(t *testing.T, o clickhouse.Options) store.History {
	t.Helper()
	db, err := clickhouse.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h, err := db.History()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHistory runs the history suite and the ClickHouse cases on one
// server.
func TestHistory(t *testing.T) {
	s := chtest.StartServer(t)
	addrs := []string{s.Addr}
	t.Run("Conformance", func(t *testing.T) {
		open, reopen := historyOpeners(addrs, "")
		storetest.RunHistory(t, open, reopen)
	})
	t.Run("PartialRecord", func(t *testing.T) { testHistoryPartialRecord(t, addrs) })
	t.Run("MigrateFromV1", func(t *testing.T) { testHistoryMigrateFromV1(t, addrs) })
	t.Run("HostileInput", func(t *testing.T) { testHistoryHostileInput(t, addrs) })
}

// TestHistoryCluster runs the history suite on two shards, entering
// through the second server.
func TestHistoryCluster(t *testing.T) {
	ss := chtest.StartCluster(t, "pdns_test", 2)
	open, reopen := historyOpeners([]string{ss[1].Addr}, "pdns_test")
	storetest.RunHistory(t, open, reopen)
	t.Run("PointReads", func(t *testing.T) { testHistoryPointReads(t, open) })
}

// testHistoryPointReads: point reads (Snapshot, Last) of domains spread
// over the shards, many times; each must succeed (see the comment on
// point reads in history.go).
func testHistoryPointReads(t *testing.T, open func(t *testing.T) store.Backend) {
	h, err := store.HistoryOf(open(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	const domains = 20
	var ids []string
	for i := range domains {
		d := fmt.Sprintf("d%d.example.com", i)
		at := t0.Add(time.Duration(i) * time.Minute)
		st := history.Advance(nil, nil, history.Snapshot{Domain: d, Names: []string{"www." + d}},
			history.Scan{ID: history.NewScanID(at), Domain: d, Started: at, Complete: true})
		if err := h.Record(ctx, &st); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.Scan.ID)
	}
	fails := 0
	for i := range 1000 {
		var err error
		if i%2 == 0 {
			_, _, err = h.Snapshot(ctx, ids[i%domains])
		} else {
			_, _, _, err = h.Last(ctx, fmt.Sprintf("d%d.example.com", i%domains))
		}
		if err != nil {
			if fails++; fails <= 3 {
				t.Errorf("read %d: %.200v", i, err)
			}
		}
	}
	if fails > 3 {
		t.Errorf("%d of 1000 point reads failed", fails)
	}
}

// testHistoryPartialRecord: a Record stopped between its inserts (a crash,
// a lost connection) leaves rows that no read shows; the next Record of the
// domain goes on from the last complete one, a retry of the failed one
// completes it, and PruneHistory removes the orphans.
func testHistoryPartialRecord(t *testing.T, addrs []string) {
	ctx := context.Background()
	o := clickhouse.Options{Addrs: addrs, Database: fmt.Sprintf("partial%d", dbSeq.Add(1))}
	if _, err := clickhouse.Migrate(ctx, o); err != nil {
		t.Fatal(err)
	}
	h := openHistory(t, o)
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	scan := func(at time.Duration) history.Scan {
		return history.Scan{ID: history.NewScanID(t0.Add(at)), Domain: "example.com", Started: t0.Add(at), Complete: true}
	}
	snap := func(names ...string) history.Snapshot {
		return history.Snapshot{Domain: "example.com", Names: names,
			Findings: []finding.Finding{{ID: "axfr-allowed", Subject: "example.com", Severity: finding.High}}}
	}
	first := history.Advance(nil, nil, snap("www.example.com"), scan(0))
	if err := h.Record(ctx, &first); err != nil {
		t.Fatal(err)
	}
	second := history.Advance(first.Baseline, first.States, snap("www.example.com", "new.example.com"), scan(time.Hour))
	second.States[0].Finding.Evidence = []string{"changed"}
	crash := errors.New("connection lost")
	for _, table := range []string{"hist_baselines", "hist_states", "hist_events", "hist_scans"} {
		clear := clickhouse.SetRecordFault(table, crash)
		err := h.Record(ctx, &second)
		clear()
		if !errors.Is(err, crash) {
			t.Fatalf("Record with a fault before %s: %v", table, err)
		}
		last, base, states, err := h.Last(ctx, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		if last.ID != first.Scan.ID || len(base.Names) != 1 || len(states) != 1 || len(states[0].Finding.Evidence) != 0 {
			t.Errorf("fault before %s: Last shows the failed Record: %s %v %+v", table, last.ID, base.Names, states)
		}
		evs, _, err := h.Events(ctx, store.EventQuery{})
		if err != nil || len(evs) != len(first.Events) {
			t.Errorf("fault before %s: %d events (%v), want %d", table, len(evs), err, len(first.Events))
		}
		if _, _, err := h.Snapshot(ctx, second.Scan.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("fault before %s: the failed scan's snapshot is visible: %v", table, err)
		}
		fs, _, err := h.Findings(ctx, store.FindingQuery{})
		if err != nil || len(fs) != 1 || len(fs[0].Finding.Evidence) != 0 {
			t.Errorf("fault before %s: findings %+v, %v", table, fs, err)
		}
	}
	orphans, err := clickhouse.CountAllRows(ctx, o, "hist_events")
	if err != nil || orphans <= uint64(len(first.Events)) {
		t.Fatalf("the faults left no orphan rows to test with: %d, %v", orphans, err)
	}
	// The retry completes the scan.
	if err := h.Record(ctx, &second); err != nil {
		t.Fatal(err)
	}
	last, base, states, err := h.Last(ctx, "example.com")
	if err != nil || last.ID != second.Scan.ID || len(base.Names) != 2 || states[0].Finding.Evidence[0] != "changed" {
		t.Errorf("after the retry: %s %v %+v %v", last.ID, base, states, err)
	}
	evs, _, err := h.Events(ctx, store.EventQuery{})
	if err != nil || len(evs) != len(first.Events)+len(second.Events) {
		t.Errorf("after the retry: %d events, want %d (%v)", len(evs), len(first.Events)+len(second.Events), err)
	}
	// Orphans of a scan that never completes go with the next prune.
	third := history.Advance(second.Baseline, second.States, snap("www.example.com"), scan(2*time.Hour))
	clear := clickhouse.SetRecordFault("hist_scans", crash)
	h.Record(ctx, &third)
	clear()
	if _, err := h.PruneHistory(ctx, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"hist_scans", "hist_snapshots", "hist_baselines", "hist_states", "hist_events"} {
		if n, err := clickhouse.CountAllRows(ctx, o, table); err != nil || n != 0 {
			t.Errorf("after pruning everything, %s holds %d rows (%v)", table, n, err)
		}
	}
}

// testHistoryMigrateFromV1: a database of schema 1 (before history) is
// refused until migrate adds the history tables.
func testHistoryMigrateFromV1(t *testing.T, addrs []string) {
	ctx := context.Background()
	o := clickhouse.Options{Addrs: addrs, Database: fmt.Sprintf("old%d", dbSeq.Add(1))}
	if _, err := clickhouse.Migrate(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := clickhouse.DowngradeToV1(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := clickhouse.Open(ctx, o); !errors.Is(err, clickhouse.ErrNoSchema) {
		t.Fatalf("Open of a version 1 database: %v, want ErrNoSchema", err)
	}
	res, err := clickhouse.Migrate(ctx, o)
	if err != nil || res.Version != 2 {
		t.Fatalf("Migrate: %+v, %v", res, err)
	}
	h := openHistory(t, o)
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	st := history.Advance(nil, nil, history.Snapshot{Domain: "example.com", Names: []string{"www.example.com"}},
		history.Scan{ID: history.NewScanID(t0), Domain: "example.com", Started: t0, Complete: true})
	if err := h.Record(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if doms, err := h.Domains(ctx); err != nil || len(doms) != 1 {
		t.Errorf("Domains after migrating: %+v, %v", doms, err)
	}
}

// testHistoryHostileInput: names, subjects and evidence with quotes,
// backslashes and SQL come back exactly and select exactly.
func testHistoryHostileInput(t *testing.T, addrs []string) {
	open, _ := historyOpeners(addrs, "")
	b := open(t)
	h, err := store.HistoryOf(b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, d := range []string{`o'brien.example.com`, `back\\slash.example.com`, `x');drop--.example.com`} {
		f := finding.Finding{ID: "wildcard", Subject: d + `' OR 1=1 --`, Severity: finding.Medium, Evidence: []string{"'\x01\\", "\")"}}
		st := history.Advance(nil, nil, history.Snapshot{Domain: d, Names: []string{"www." + d}, Findings: []finding.Finding{f}},
			history.Scan{ID: history.NewScanID(t0.Add(time.Duration(i) * time.Hour)), Domain: d, Started: t0.Add(time.Duration(i) * time.Hour), Complete: true})
		if err := h.Record(ctx, &st); err != nil {
			t.Fatalf("Record %q: %v", d, err)
		}
		_, base, states, err := h.Last(ctx, d)
		if err != nil || base == nil || base.Names[0] != "www."+d || len(states) != 1 || states[0].Finding.Subject != f.Subject ||
			states[0].Finding.Evidence[0] != f.Evidence[0] {
			t.Errorf("Last(%q): %+v %+v %v", d, base, states, err)
		}
		fs, _, err := h.Findings(ctx, store.FindingQuery{Domain: d})
		if err != nil || len(fs) != 1 {
			t.Errorf("Findings(%q): %d, %v", d, len(fs), err)
		}
		evs, _, err := h.Events(ctx, store.EventQuery{Domain: d, Kinds: []string{history.KindFindingOpened}})
		if err != nil || len(evs) != 1 || evs[0].Subject != f.Subject {
			t.Errorf("Events(%q): %+v, %v", d, evs, err)
		}
	}
	if doms, err := h.Domains(ctx); err != nil || len(doms) != 3 {
		t.Errorf("Domains: %+v, %v", doms, err)
	}
}
