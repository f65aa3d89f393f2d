package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap/pcaptest"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse/chtest"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// storeBackends opens an empty store of each backend: Pebble always,
// ClickHouse when the real server is there (DNSSCOUT_REAL_SERVERS).
var storeBackends = []struct {
	name string
	open func(t *testing.T) store.Backend
}{
	{"pebble", func(t *testing.T) store.Backend {
		db, err := pebble.Open(context.Background(), t.TempDir(), pebble.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
	{"clickhouse", func(t *testing.T) store.Backend {
		s := chtest.StartServer(t)
		o := clickhouse.Options{Addrs: []string{s.Addr}, Database: "reingest"}
		if _, err := clickhouse.Migrate(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		db, err := clickhouse.Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
}

// storeState lists every tuple of db with its count and sensors, and the
// NXDOMAIN counters, sorted.
func storeState(t *testing.T, db store.Backend) []string {
	t.Helper()
	var out []string
	err := store.Export(context.Background(), db, func(tp *pdns.Tuple) error {
		out = append(out, fmt.Sprintf("%s %s %s count=%d t=%d-%d sensors=%s", tp.RRName, pdns.TypeString(tp.RRType), tp.RData,
			tp.Count, tp.TimeFirst, tp.TimeLast, strings.Join(tp.SensorIDs, ",")))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := db.(store.NXDomainReader); ok {
		q := store.Query{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildLeft, Type: store.TypeAll}
		for {
			cur, err := r.LookupNXDomain(context.Background(), q, func(c *store.NXCount) error {
				out = append(out, fmt.Sprintf("NX %s count=%d", c.Name, c.Count))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if cur == "" {
				break
			}
			q.Cursor = cur
		}
	}
	slices.Sort(out)
	return out
}

// ingestInto runs a new ingester on db over sources and returns its
// statistics and the notices it gave.
func ingestInto(t *testing.T, db store.Backend, o Options, stdin []byte, sources ...string) (Stats, []string, error) {
	t.Helper()
	var notices []string
	o.Notice = func(msg string) { notices = append(notices, msg) }
	o.Report = func(error) {}
	in, err := New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	runErr := in.Run(context.Background(), bytes.NewReader(stdin), sources...)
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return in.Stats(), notices, runErr
}

// TestReingestChangesNoCount ingests captures (plain and gzip), a Zeek
// log and an eve.json into each backend, then everything again: no count
// changes, each file is skipped with a notice (also under another name,
// and twice in one run), --force reads a file again, standard input is
// never skipped, and a file whose import failed is read again.
func TestReingestChangesNoCount(t *testing.T) {
	files := []string{
		filepath.Join("pcap", "testdata", "dnscap__dns.pcap"),
		filepath.Join("pcap", "testdata", "derived__dnso1tcp.pcap.gz"),
		filepath.Join("pcap", "testdata", "zeek__wikipedia.pcap"),
		filepath.Join("imports", "testdata", "zeek-dns.log"),
		filepath.Join("imports", "testdata", "eve-v2.json"),
	}
	for _, be := range storeBackends {
		t.Run(be.name, func(t *testing.T) {
			db := be.open(t)
			o := Options{SensorID: "edge1", Now: func() time.Time { return time.Unix(1767323045, 0) }}
			st, notices, err := ingestInto(t, db, o, nil, files...)
			if err != nil || len(notices) > 0 || st.AlreadyIngested != 0 {
				t.Fatalf("first ingest: %v, notices %q, %d skipped", err, notices, st.AlreadyIngested)
			}
			first := storeState(t, db)
			if len(first) < 50 {
				t.Fatalf("only %d tuples and counters stored", len(first))
			}

			copied := filepath.Join(t.TempDir(), "renamed.pcap")
			raw, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(copied, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			again := append(slices.Clone(files), copied, files[1])
			st, notices, err = ingestInto(t, db, o, nil, again...)
			if err != nil {
				t.Fatal(err)
			}
			if st.AlreadyIngested != uint64(len(again)) || len(notices) != len(again) {
				t.Errorf("again: %d files skipped, notices %q; want all %d", st.AlreadyIngested, notices, len(again))
			}
			if len(notices) > 0 && !strings.Contains(notices[0], "dnscap__dns.pcap: skipped, ingested before as pcap/testdata/dnscap__dns.pcap on 2026-01-02T03:04:05Z by sensor edge1") {
				t.Errorf("notice %q", notices[0])
			}
			if got := storeState(t, db); !slices.Equal(got, first) {
				t.Errorf("re-ingest changed the store:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(first, "\n"))
			}

			// The same size, another content (the last byte of the
			// capture's last packet changed): read, not skipped.
			same := filepath.Join(t.TempDir(), "same-size.pcap")
			changed := slices.Clone(raw)
			changed[len(changed)-1] ^= 0xff
			if err := os.WriteFile(same, changed, 0o644); err != nil {
				t.Fatal(err)
			}
			st, notices, err = ingestInto(t, db, o, nil, same)
			if err != nil || st.AlreadyIngested != 0 || len(notices) > 0 || st.Packets == 0 {
				t.Errorf("same size, other content: %v, %d skipped, %d packets, notices %q", err, st.AlreadyIngested, st.Packets, notices)
			}
			if st, _, _ = ingestInto(t, db, o, nil, same); st.AlreadyIngested != 1 {
				t.Errorf("same size, other content, again: %d skipped, want 1", st.AlreadyIngested)
			}
			first = storeState(t, db)

			// Twice in one run, in a store that has not seen it.
			db2 := be.open(t)
			st, notices, _ = ingestInto(t, db2, o, nil, files[0], files[0])
			if st.AlreadyIngested != 1 || len(notices) != 1 || !strings.Contains(notices[0], "earlier in this run") {
				t.Errorf("twice in one run: %d skipped, notices %q", st.AlreadyIngested, notices)
			}

			// --force, and standard input, count again.
			o.Force = true
			if _, notices, err = ingestInto(t, db, o, nil, files[0]); err != nil || len(notices) > 0 {
				t.Fatalf("--force: %v, notices %q", err, notices)
			}
			o.Force = false
			if _, notices, err = ingestInto(t, db, o, raw, "-"); err != nil || len(notices) > 0 {
				t.Fatalf("stdin: %v, notices %q", err, notices)
			}
			counts := func(state []string) map[string]string {
				m := map[string]string{}
				for _, l := range state {
					k, v, _ := strings.Cut(l, " count=")
					m[k] = v
				}
				return m
			}
			c1, c3 := counts(first), counts(storeState(t, db))
			doubled := 0
			for k, v := range c1 {
				if c3[k] != v {
					doubled++
				}
			}
			if doubled == 0 {
				t.Error("--force and standard input changed no count")
			}

			// A failed import is not recorded: it fails again, it is not
			// skipped.
			bad := filepath.Join(t.TempDir(), "bad.log")
			if err := os.WriteFile(bad, []byte("#separator \\x09\n#fields\tts\tquery\n1.5\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				st, notices, err = ingestInto(t, db, o, nil, "zeek:"+bad)
				if !errors.Is(err, ErrNotImported) || st.AlreadyIngested != 0 || len(notices) > 0 {
					t.Fatalf("bad file: %v, %d skipped, notices %q", err, st.AlreadyIngested, notices)
				}
			}
		})
	}
}

// TestOverlappingSensors: two sensors capture overlapping traffic (the
// same responses, each in its own capture): each response counts once per
// sensor — count 2 with both sensor ids for what both saw, 1 with one id
// for the rest — in the aggregate and in each backend, and re-ingesting
// either capture changes nothing.
func TestOverlappingSensors(t *testing.T) {
	xs := captureExchanges(t, "ov")[:5] // IPv4: CNAME+A, referral, MX, TXT, NXDOMAIN
	write := func(name string, xs []captureExchange, at []int64) string {
		var pkts []pcaptest.Packet
		for i, x := range xs {
			pkts = append(pkts, pcaptest.Packet{Time: time.Unix(at[i], 0), Data: pcaptest.EthernetIP(pcaptest.UDP(x.flow, x.msg))})
		}
		var b bytes.Buffer
		if err := pcaptest.WritePcap(&b, pcaptest.LinkEthernet, 65535, pkts); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Sensor a sees responses 0-3, sensor b 2-4 (at the same times).
	a := write("a.pcap", xs[:4], []int64{t0, t0 + 1, t0 + 2, t0 + 3})
	b := write("b.pcap", xs[2:], []int64{t0 + 2, t0 + 3, t0 + 4})
	want := map[string]string{
		"www.ov.example.com CNAME web.ov.example.com.": "count=1 sensors=a",
		"web.ov.example.com A 192.0.2.10":              "count=1 sensors=a",
		"ov.example.org MX 10 mail.ov.example.org.":    "count=2 sensors=a,b",
		`txt.ov.example.com TXT "v=spf1 -all" "two"`:   "count=2 sensors=a,b",
		"NX nope.ov.example.com":                       "count=1",
	}
	check := func(t *testing.T, state []string) {
		t.Helper()
		seen := 0
		for _, l := range state {
			for k, v := range want {
				if strings.HasPrefix(l, k+" ") {
					seen++
					if got := l[len(k)+1:]; !strings.HasPrefix(got, strings.Fields(v)[0]) || !strings.HasSuffix(got, strings.TrimPrefix(v, strings.Fields(v)[0])) {
						t.Errorf("%s: %s, want %s", k, got, v)
					}
				}
			}
		}
		if seen != len(want) {
			t.Errorf("%d of the %d expected tuples stored:\n%s", seen, len(want), strings.Join(state, "\n"))
		}
	}
	for _, be := range storeBackends {
		t.Run(be.name, func(t *testing.T) {
			db := be.open(t)
			for _, run := range []struct{ sensor, file string }{{"a", a}, {"b", b}} {
				if _, _, err := ingestInto(t, db, Options{SensorID: run.sensor}, nil, run.file); err != nil {
					t.Fatal(err)
				}
			}
			state := storeState(t, db)
			check(t, state)
			for _, run := range []struct{ sensor, file string }{{"a", a}, {"b", b}, {"c", a}} {
				if st, _, err := ingestInto(t, db, Options{SensorID: run.sensor}, nil, run.file); err != nil || st.AlreadyIngested != 1 {
					t.Fatalf("re-ingest of %s as %s: %v, %d skipped", run.file, run.sensor, err, st.AlreadyIngested)
				}
			}
			if got := storeState(t, db); !slices.Equal(got, state) {
				t.Errorf("re-ingest changed the store:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(state, "\n"))
			}
		})
	}
}

// TestWholeHandOffPebble ingests into a Pebble store with a small memory
// budget (so that aggregates are handed off whole while the next fills,
// and the store reads them in place, UpsertTuples), periodic flushes
// (tuples copied out) and imported tuples with zone times, sensors and
// bailiwicks, and checks that the store holds what an in-memory sink
// fed the same way holds. The store's reads start late (slowReader), so
// that under -race they may overlap the folding into the next aggregate.
func TestWholeHandOffPebble(t *testing.T) {
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir(), pebble.Options{NoSync: true, BulkTuples: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := newMemSink()
	feed := func(sink Sink) Stats {
		in, err := New(sink, Options{SensorID: "s", Memory: 1 << 20, BatchSize: 700})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 24_000 {
			if i%3 == 0 {
				tp := pdns.Tuple{RRName: fmt.Sprintf("z%d.example.org", i%5000), RRType: 1, RData: fmt.Sprintf("198.51.100.%d", i%250+1),
					Bailiwick: "example.org", ZoneTimeFirst: t0 - int64(i), ZoneTimeLast: t0, Count: 1, SensorIDs: []string{"zone", fmt.Sprintf("x%d", i%3)}}
				if err := in.Tuple(ctx, &tp); err != nil {
					t.Fatal(err)
				}
			}
			msg := msgSpec{q: fmt.Sprintf("h%d.example.com A", i%9000), aa: true,
				ans: []string{fmt.Sprintf("h%d.example.com. 60 IN A 192.0.2.%d", i%9000, i%250+1)}}.pack(t)
			if err := in.Message(ctx, time.Unix(t0+int64(i%7), 0), msg, ""); err != nil {
				t.Fatal(err)
			}
			if i%3000 == 2999 {
				if err := in.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := in.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return in.Stats()
	}
	st := feed(slowReader{db})
	feed(m)
	if st.Flushes < 10 {
		t.Errorf("%d flushes, want budget and periodic ones", st.Flushes)
	}
	n := 0
	q := store.Query{Kind: store.KindRRSet, Name: ".", Wildcard: store.WildLeft}
	for {
		cursor, err := db.Lookup(ctx, q, func(got *pdns.Tuple) error {
			n++
			return sameTuple(t, m, got)
		})
		if err != nil {
			t.Fatal(err)
		}
		if cursor == "" {
			break
		}
		q.Cursor = cursor
	}
	if n != len(m.tuples) {
		t.Errorf("the store holds %d tuples, the in-memory sink %d", n, len(m.tuples))
	}
}

// slowReader is a store that starts to read a batch of tuples 50 ms
// after it gets it: meanwhile an ingest folds into its next aggregate
// (a batch of sightings reaches the aggregator every 1,024 messages).
type slowReader struct{ *pebble.DB }

func (s slowReader) UpsertTuples(ctx context.Context, tuples store.Tuples) error {
	time.Sleep(50 * time.Millisecond)
	return s.DB.UpsertTuples(ctx, tuples)
}

// sameTuple fails the test when the in-memory sink holds got otherwise.
func sameTuple(t *testing.T, m *memSink, got *pdns.Tuple) error {
	t.Helper()
	want := m.tuples[got.Key()]
	if want == nil {
		return fmt.Errorf("the store holds %s %d %s, the in-memory sink not", got.RRName, got.RRType, got.RData)
	}
	if got.Count != want.Count || got.TimeFirst != want.TimeFirst || got.TimeLast != want.TimeLast ||
		got.ZoneTimeFirst != want.ZoneTimeFirst || got.ZoneTimeLast != want.ZoneTimeLast ||
		got.Bailiwick != want.Bailiwick || !slices.Equal(got.SensorIDs, want.SensorIDs) {
		return fmt.Errorf("%s %d %s: store %+v, in-memory sink %+v", got.RRName, got.RRType, got.RData, *got, *want)
	}
	return nil
}
