package ingest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// msg builds a response: q is "name TYPE", flags a subset of "aa", the
// sections are zone-file lines.
type msgSpec struct {
	q                string
	rcode            int
	aa, query        bool
	ans, auth, extra []string
	opcode           int
	extraRRs         []dns.RR // records NewRR cannot parse (TSIG)
}

func (s msgSpec) pack(t testing.TB) []byte {
	t.Helper()
	m := new(dns.Msg)
	f := strings.Fields(s.q)
	if len(f) == 2 {
		m.SetQuestion(dns.Fqdn(f[0]), dns.StringToType[f[1]])
	}
	m.Response = !s.query
	m.Authoritative = s.aa
	m.Rcode = s.rcode
	m.Opcode = s.opcode
	rrs := func(lines []string) []dns.RR {
		var out []dns.RR
		for _, l := range lines {
			r, err := dns.NewRR(l)
			if err != nil {
				t.Fatalf("bad test record %q: %v", l, err)
			}
			out = append(out, r)
		}
		return out
	}
	m.Answer, m.Ns, m.Extra = rrs(s.ans), rrs(s.auth), append(rrs(s.extra), s.extraRRs...)
	m.Compress = true
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ingestMsgs feeds packed messages at successive seconds from t0 and
// returns the sink after Close.
func ingestMsgs(t *testing.T, o Options, msgs ...[]byte) (*memSink, Stats) {
	t.Helper()
	m := newMemSink()
	if o.SensorID == "" {
		o.SensorID = "s1"
	}
	in, err := New(m, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range msgs {
		if err := in.Message(context.Background(), time.Unix(t0+int64(i), 0), b, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m, in.Stats()
}

const t0 = 1700000000

// stored renders the sink's tuples as "name TYPE rdata @bailiwick".
func stored(m *memSink) []string {
	var out []string
	for _, tp := range m.tuples {
		out = append(out, fmt.Sprintf("%s %s %s @%s", tp.RRName, pdns.TypeString(tp.RRType), tp.RData, tp.Bailiwick))
	}
	slices.Sort(out)
	return out
}

func TestBailiwickRule(t *testing.T) {
	tests := []struct {
		name   string
		msg    msgSpec
		zone   string // transport-reported zone (dnstap query_zone)
		want   []string
		wantNX []string
	}{
		{
			name: "authoritative answer with in-zone glue",
			msg: msgSpec{q: "www.example.com A", aa: true,
				ans:   []string{"www.example.com. 300 IN A 192.0.2.1"},
				auth:  []string{"example.com. 300 IN NS ns1.example.com.", "example.com. 300 IN NS ns.example.net."},
				extra: []string{"ns1.example.com. 300 IN A 192.0.2.53", "ns.example.net. 300 IN A 198.51.100.53"}},
			want: []string{
				"example.com NS ns.example.net. @example.com",
				"example.com NS ns1.example.com. @example.com",
				"ns1.example.com A 192.0.2.53 @example.com",
				"www.example.com A 192.0.2.1 @example.com",
			},
		},
		{
			name: "referral: the parent's zone is the bailiwick",
			msg: msgSpec{q: "www.example.com A",
				auth:  []string{"example.com. 172800 IN NS ns1.example.com.", "example.com. 172800 IN NS ns.example.net."},
				extra: []string{"ns1.example.com. 172800 IN A 192.0.2.53", "ns.example.net. 172800 IN A 198.51.100.53"}},
			want: []string{
				"example.com NS ns.example.net. @com",
				"example.com NS ns1.example.com. @com",
				"ns1.example.com A 192.0.2.53 @com",
			},
		},
		{
			name: "poisoned additional record is dropped",
			msg: msgSpec{q: "www.example.com A", aa: true,
				ans:   []string{"www.example.com. 300 IN A 192.0.2.1"},
				auth:  []string{"example.com. 300 IN NS ns1.example.com."},
				extra: []string{"www.example.net. 300 IN A 203.0.113.66"}},
			want: []string{
				"example.com NS ns1.example.com. @example.com",
				"www.example.com A 192.0.2.1 @example.com",
			},
		},
		{
			name: "nodata: the SOA is kept",
			msg: msgSpec{q: "www.example.com AAAA", aa: true,
				auth: []string{"example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300"}},
			want: []string{"example.com SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300 @example.com"},
		},
		{
			name: "SOA of another zone gives no bailiwick",
			msg: msgSpec{q: "www.example.com A", aa: true,
				ans:   []string{"www.example.com. 300 IN A 192.0.2.1"},
				auth:  []string{"example.net. 300 IN SOA ns1.example.net. h.example.net. 1 2 3 4 5"},
				extra: []string{"ns1.example.com. 300 IN A 192.0.2.53"}},
			want: []string{"www.example.com A 192.0.2.1 @"},
		},
		{
			name: "CNAME chain: the target's zone counts",
			msg: msgSpec{q: "www.example.com A", aa: true,
				ans:   []string{"www.example.com. 300 IN CNAME edge.example.net.", "edge.example.net. 60 IN A 198.51.100.7"},
				auth:  []string{"example.net. 300 IN NS ns1.example.net."},
				extra: []string{"ns1.example.net. 300 IN A 198.51.100.53", "ns1.example.com. 300 IN A 192.0.2.53"}},
			want: []string{
				"edge.example.net A 198.51.100.7 @example.net",
				"example.net NS ns1.example.net. @example.net",
				"ns1.example.net A 198.51.100.53 @example.net",
				"www.example.com CNAME edge.example.net. @",
			},
		},
		{
			name: "no authority section: answers without bailiwick",
			msg:  msgSpec{q: "www.example.com A", aa: true, ans: []string{"www.example.com. 300 IN A 192.0.2.1"}, extra: []string{"x.example.com. 1 IN A 192.0.2.2"}},
			want: []string{"www.example.com A 192.0.2.1 @"},
		},
		{
			name: "upward referral to the root keeps nothing",
			msg: msgSpec{q: "www.example.com A",
				auth:  []string{". 518400 IN NS a.root-servers.net."},
				extra: []string{"a.root-servers.net. 518400 IN A 198.41.0.4"}},
		},
		{
			name: "transport zone overrides the heuristic",
			msg: msgSpec{q: "www.example.com A",
				auth:  []string{"example.com. 172800 IN NS ns1.example.com."},
				extra: []string{"ns1.example.com. 172800 IN A 192.0.2.53"}},
			zone: "example.com",
			want: []string{
				"example.com NS ns1.example.com. @example.com",
				"ns1.example.com A 192.0.2.53 @example.com",
			},
		},
		{
			name: "transport zone rejects what is outside it",
			msg: msgSpec{q: "www.example.com A", aa: true,
				ans:   []string{"www.example.com. 300 IN A 192.0.2.1"},
				auth:  []string{"com. 300 IN NS evil.example.org."},
				extra: []string{"www.example.org. 300 IN A 192.0.2.66"}},
			zone: "example.com",
			want: []string{"www.example.com A 192.0.2.1 @example.com"},
		},
		{
			name:   "NXDOMAIN counts the name and keeps no record",
			msg:    msgSpec{q: "nx.example.com A", rcode: dns.RcodeNameError, aa: true, auth: []string{"example.com. 300 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5"}},
			wantNX: []string{"nx.example.com"},
		},
		{
			name: "NXDOMAIN after a CNAME counts the target",
			msg: msgSpec{q: "www.example.com A", rcode: dns.RcodeNameError, aa: true,
				ans: []string{"www.example.com. 300 IN CNAME gone.example.com."}},
			wantNX: []string{"gone.example.com"},
		},
		{
			name: "SERVFAIL keeps nothing",
			msg:  msgSpec{q: "www.example.com A", rcode: dns.RcodeServerFailure, ans: []string{"www.example.com. 300 IN A 192.0.2.1"}},
		},
		{
			name: "a query keeps nothing",
			msg:  msgSpec{q: "www.example.com A", query: true, ans: []string{"www.example.com. 300 IN A 192.0.2.1"}},
		},
		{
			name: "NOTIFY response keeps nothing",
			msg:  msgSpec{q: "example.com SOA", opcode: dns.OpcodeNotify, aa: true, ans: []string{"example.com. 300 IN SOA a.example.com. b.example.com. 1 2 3 4 5"}},
		},
		{
			name: "class CH and meta records are never kept",
			msg: msgSpec{q: "www.example.com A", aa: true,
				ans: []string{"www.example.com. 300 IN A 192.0.2.1", "version.bind. 0 CH TXT \"9.18\""},
				extraRRs: []dns.RR{&dns.TSIG{Hdr: dns.RR_Header{Name: "key.example.com.", Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
					Algorithm: dns.HmacSHA256, TimeSigned: t0, Fudge: 300, MAC: "00", MACSize: 1}}},
			want: []string{"www.example.com A 192.0.2.1 @"},
		},
		{
			name: "names are lower-cased, in rdata too",
			msg: msgSpec{q: "WWW.Example.COM A", aa: true,
				ans:  []string{"WWW.Example.COM. 300 IN CNAME Web.EXAMPLE.com.", "Web.EXAMPLE.com. 300 IN TXT \"Mixed Case\""},
				auth: []string{"EXAMPLE.com. 300 IN NS NS1.example.COM."}},
			want: []string{
				"example.com NS ns1.example.com. @example.com",
				"web.example.com TXT \"Mixed Case\" @example.com",
				"www.example.com CNAME web.example.com. @example.com",
			},
		},
		{
			name: "RRSIG is stored like any type",
			msg: msgSpec{q: "example.com A", aa: true,
				ans: []string{"example.com. 300 IN A 192.0.2.1", "example.com. 300 IN RRSIG A 13 2 300 20240101000000 20231201000000 12345 example.com. dGVzdA=="}},
			want: []string{
				"example.com A 192.0.2.1 @",
				"example.com RRSIG A 13 2 300 20240101000000 20231201000000 12345 example.com. dGVzdA== @",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemSink()
			in, err := New(m, Options{SensorID: "s1"})
			if err != nil {
				t.Fatal(err)
			}
			if err := in.Message(context.Background(), time.Unix(t0, 0), tc.msg.pack(t), tc.zone); err != nil {
				t.Fatal(err)
			}
			if err := in.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := stored(m); !slices.Equal(got, tc.want) {
				t.Errorf("stored:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			var nx []string
			for n, c := range m.nx {
				nx = append(nx, n)
				if c.Count != 1 || c.TimeFirst != t0 || c.TimeLast != t0 {
					t.Errorf("NX %s = %+v", n, *c)
				}
			}
			slices.Sort(nx)
			if !slices.Equal(nx, tc.wantNX) {
				t.Errorf("NXDOMAIN names %v, want %v", nx, tc.wantNX)
			}
		})
	}
}

func TestCountsAndTimes(t *testing.T) {
	a := msgSpec{q: "www.example.com A", aa: true,
		ans:   []string{"www.example.com. 300 IN A 192.0.2.1"},
		auth:  []string{"example.com. 300 IN NS ns1.example.com."},
		extra: []string{"ns1.example.com. 300 IN A 192.0.2.53", "www.example.com. 300 IN A 192.0.2.1"}}.pack(t)
	b := msgSpec{q: "mail.example.com A", aa: true,
		ans:  []string{"mail.example.com. 300 IN A 192.0.2.2"},
		auth: []string{"example.com. 300 IN NS ns1.example.com."}}.pack(t)
	seq := [][]byte{a, b, a, a, b, a} // at t0 .. t0+5
	for _, o := range []Options{
		{},                                // one flush at the end
		{BatchSize: 1},                    // one tuple per Upsert
		{Memory: 1 << 20, BatchSize: 2},   // small batches
		{Memory: 1 << 20, BatchSize: 1e6}, // one Upsert
	} {
		t.Run(fmt.Sprintf("batch=%d", o.BatchSize), func(t *testing.T) {
			m, st := ingestMsgs(t, o, seq...)
			check := func(name string, typ uint16, rdata string, count uint64, first, last int64) {
				t.Helper()
				tp := m.get(name, typ, rdata)
				if tp == nil {
					t.Fatalf("%s %s %s not stored; have %v", name, pdns.TypeString(typ), rdata, stored(m))
				}
				if tp.Count != count || tp.TimeFirst != first || tp.TimeLast != last {
					t.Errorf("%s %s: count %d first %d last %d, want %d %d %d", name, pdns.TypeString(typ), tp.Count, tp.TimeFirst, tp.TimeLast, count, first, last)
				}
				if !slices.Equal(tp.SensorIDs, []string{"s1"}) {
					t.Errorf("%s: sensors %v", name, tp.SensorIDs)
				}
			}
			// www A appears twice in message a: counted once per message.
			check("www.example.com", dns.TypeA, "192.0.2.1", 4, t0, t0+5)
			check("mail.example.com", dns.TypeA, "192.0.2.2", 2, t0+1, t0+4)
			check("example.com", dns.TypeNS, "ns1.example.com.", 6, t0, t0+5)
			check("ns1.example.com", dns.TypeA, "192.0.2.53", 4, t0, t0+5)
			if len(m.tuples) != 4 {
				t.Errorf("%d tuples stored, want 4: %v", len(m.tuples), stored(m))
			}
			if st.Responses != 6 || st.Used != 6 || st.Records != 16 {
				t.Errorf("stats: responses %d used %d records %d; want 6 6 16", st.Responses, st.Used, st.Records)
			}
		})
	}
}

func TestMalformedMessages(t *testing.T) {
	good := msgSpec{q: "www.example.com A", aa: true, ans: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t)
	loop := slices.Clone(good[:12])
	loop[5] = 1 // one question whose name points at itself
	loop = append(loop, 0xc0, 12, 0, 1, 0, 1)
	badRData := slices.Clone(good)
	badRData[len(badRData)-5] = 3 // A rdata length 3, but 4 bytes follow
	tests := []struct {
		name   string
		msg    []byte
		reason string
	}{
		{"short", good[:11], wireErrNames[errShort]},
		{"truncated record", good[:len(good)-2], wireErrNames[errRecord]},
		{"truncated question", good[:20], wireErrNames[errName]},
		{"pointer loop", loop, wireErrNames[errName]},
		{"A rdata of 3 bytes", badRData, wireErrNames[errRData]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, st := ingestMsgs(t, Options{}, tc.msg)
			if len(m.tuples) != 0 {
				t.Errorf("stored %v from a malformed message", stored(m))
			}
			if st.Malformed[tc.reason] != 1 {
				t.Errorf("malformed = %v, want one %q", st.Malformed, tc.reason)
			}
		})
	}
}

// failSink fails every Upsert.
type failSink struct{ err error }

func (f failSink) Upsert(context.Context, []pdns.Tuple) error { return f.err }

func TestSinkErrorStops(t *testing.T) {
	boom := errors.New("disk full")
	in, err := New(failSink{boom}, Options{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(context.Background())
	msg := msgSpec{q: "www.example.com A", aa: true, ans: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t)
	var got error
	for i := 0; i < 10 && got == nil; i++ {
		got = in.Message(context.Background(), time.Unix(t0, 0), msg, "")
		if got == nil {
			got = in.Flush(context.Background())
		}
	}
	if !errors.Is(got, ErrSink) || !errors.Is(got, boom) {
		t.Fatalf("error = %v, want ErrSink wrapping %v", got, boom)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"memory too small", Options{Memory: 1000}},
		{"negative batch", Options{BatchSize: -1}},
		{"port zero", Options{Ports: []uint16{53, 0}}},
		{"port 853 (DNS over TLS)", Options{Ports: []uint16{53, 853}}},
		{"negative any-port queries", Options{AnyPortQueries: -1}},
		{"negative decapsulation depth", Options{DecapDepth: -1}},
		{"unknown dnstap type", Options{DnstapTypes: []string{"resolver-query"}}},
		{"negative flush interval", Options{FlushInterval: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(newMemSink(), tc.o); !errors.Is(err, ErrOptions) {
				t.Errorf("New = %v, want ErrOptions", err)
			}
		})
	}
	if _, err := New(nil, Options{}); !errors.Is(err, ErrOptions) {
		t.Errorf("New(nil sink) = %v, want ErrOptions", err)
	}
}

// TestMemoryBudget feeds more distinct tuples than the budget holds: the
// aggregate flushes instead of growing, and counts stay exact.
func TestMemoryBudget(t *testing.T) {
	m := newMemSink()
	const budget = 1 << 20
	in, err := New(m, Options{SensorID: "s", Memory: budget, BatchSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	for round := range 2 {
		for i := range n {
			msg := msgSpec{q: fmt.Sprintf("h%d.example.com A", i), aa: true,
				ans: []string{fmt.Sprintf("h%d.example.com. 60 IN A 192.0.2.%d", i, i%250+1)}}.pack(t)
			if err := in.Message(context.Background(), time.Unix(t0+int64(round), 0), msg, ""); err != nil {
				t.Fatal(err)
			}
			in.mu.Lock()
			in.syncLocked()
			held := in.agg.bytes + in.nx.bytes
			in.mu.Unlock()
			if held > budget {
				t.Fatalf("aggregate holds %d bytes, budget %d", held, budget)
			}
		}
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := in.Stats()
	if st.Flushes < 5 {
		t.Errorf("%d flushes for %d tuples in 1 MiB", st.Flushes, n)
	}
	if len(m.tuples) != n {
		t.Fatalf("%d tuples stored, want %d", len(m.tuples), n)
	}
	for _, tp := range m.tuples {
		if tp.Count != 2 || tp.TimeFirst != t0 || tp.TimeLast != t0+1 {
			t.Fatalf("%s: count %d first %d last %d", tp.RRName, tp.Count, tp.TimeFirst, tp.TimeLast)
		}
	}
}

func TestFlushMidway(t *testing.T) {
	m := newMemSink()
	in, err := New(m, Options{SensorID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	msg := msgSpec{q: "www.example.com A", aa: true, ans: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t)
	for i := range 3 {
		if err := in.Message(context.Background(), time.Unix(t0+int64(i), 0), msg, ""); err != nil {
			t.Fatal(err)
		}
		if err := in.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Flush(context.Background()); err != nil { // nothing new: no write
		t.Fatal(err)
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tp := m.get("www.example.com", dns.TypeA, "192.0.2.1")
	if tp == nil || tp.Count != 3 || tp.TimeFirst != t0 || tp.TimeLast != t0+2 {
		t.Fatalf("tuple %+v", tp)
	}
	if m.upserts != 3 {
		t.Errorf("%d upserts, want 3 (one per flush with new sightings)", m.upserts)
	}
}

// pickySink refuses one name the way the store refuses a bad tuple.
type pickySink struct {
	*memSink
	bad string
}

func (p pickySink) Upsert(ctx context.Context, ts []pdns.Tuple) error {
	for _, t := range ts {
		if t.RRName == p.bad {
			return fmt.Errorf("%w: %s", store.ErrBadTuple, t.RRName)
		}
	}
	return p.memSink.Upsert(ctx, ts)
}

// pickyTuplesSink is pickySink with store.TuplesUpserter, counting its
// calls.
type pickyTuplesSink struct {
	pickySink
	native *atomic.Int64
}

func (p pickyTuplesSink) UpsertTuples(ctx context.Context, ts store.Tuples) error {
	p.native.Add(1)
	return p.Upsert(ctx, store.AppendTuples(nil, ts))
}

// TestBadTupleSkipped: a tuple the store refuses is skipped, the rest of
// its batch written, whether the sink reads the flush's tuples where
// they are (store.TuplesUpserter) or as a slice, and from a flush that
// copies them out (periodic) as from one that hands the aggregate off
// whole (Close).
func TestBadTupleSkipped(t *testing.T) {
	t.Run("slice", func(t *testing.T) { testBadTupleSkipped(t, false, false) })
	t.Run("tuples", func(t *testing.T) { testBadTupleSkipped(t, true, false) })
	t.Run("periodic", func(t *testing.T) { testBadTupleSkipped(t, true, true) })
}

func testBadTupleSkipped(t *testing.T, native, periodic bool) {
	m := newMemSink()
	var sink Sink = pickySink{m, "bad.example.com"}
	var calls atomic.Int64
	if native {
		sink = pickyTuplesSink{pickySink{m, "bad.example.com"}, &calls}
	}
	in, err := New(sink, Options{SensorID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.example.com", "bad.example.com", "b.example.com"} {
		msg := msgSpec{q: name + " A", aa: true, ans: []string{name + ". 300 IN A 192.0.2.1"}}.pack(t)
		if err := in.Message(context.Background(), time.Unix(t0, 0), msg, ""); err != nil {
			t.Fatal(err)
		}
	}
	if periodic {
		if err := in.Flush(context.Background()); err != nil {
			t.Fatalf("Flush = %v; one bad tuple must not fail the batch", err)
		}
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v; one bad tuple must not fail the batch", err)
	}
	if got := m.lines(); len(got) != 2 {
		t.Errorf("stored %v, want a and b", got)
	}
	if st := in.Stats(); st.Malformed["tuples the store refused"] != 1 || st.Tuples != 2 {
		t.Errorf("stats: refused %d, written %d", st.Malformed["tuples the store refused"], st.Tuples)
	}
	if native && calls.Load() != 1 {
		t.Errorf("%d calls of UpsertTuples, want 1 (then one Upsert per tuple)", calls.Load())
	}
}

func TestUseAfterClose(t *testing.T) {
	in, err := New(newMemSink(), Options{SensorID: "s", Memory: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	msg := msgSpec{q: "www.example.com A", aa: true, ans: []string{"www.example.com. 300 IN A 192.0.2.1"}}.pack(t)
	if err := in.Message(context.Background(), time.Unix(t0, 0), msg, ""); err != nil {
		t.Fatalf("Message after Close = %v (nothing due yet)", err)
	}
	if err := in.Flush(context.Background()); !errors.Is(err, ErrSink) {
		t.Fatalf("Flush after Close = %v, want ErrSink", err)
	}
}

// TestPipelineInline feeds the same messages and imported tuples to an
// ingester that folds on its aggregator goroutine and to one that folds in
// place (as with one CPU): stores and statistics must be the same.
func TestPipelineInline(t *testing.T) {
	msgs := seedMessages(t)
	imported := []pdns.Tuple{
		{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Count: 3, TimeFirst: t0, TimeLast: t0 + 9, SensorIDs: []string{"cof"}},
		{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Count: 2, TimeFirst: t0 - 5, TimeLast: t0, Bailiwick: "example.com"},
		{RRName: "example.net", RRType: dns.TypeNS, RData: "ns1.example.net.", Count: 1, ZoneTimeFirst: t0, ZoneTimeLast: t0},
	}
	run := func(inline bool, o Options) (*memSink, Stats) {
		if inline {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		}
		m := newMemSink()
		o.SensorID = "s1"
		in, err := New(m, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := in.batches == nil; got != inline {
			t.Fatalf("folding in place: %v, want %v", got, inline)
		}
		ctx := context.Background()
		for i, b := range msgs {
			if err := in.Message(ctx, time.Unix(t0+int64(i%7), 0), b, ""); err != nil {
				t.Fatal(err)
			}
			if i%50 == 0 {
				if err := in.Tuple(ctx, &imported[i/50%len(imported)]); err != nil {
					t.Fatal(err)
				}
			}
			if i == len(msgs)/2 {
				if err := in.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := in.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return m, in.Stats()
	}
	for _, o := range []Options{{}, {Memory: 1 << 20, BatchSize: 7}} {
		t.Run(fmt.Sprintf("memory=%d", o.Memory), func(t *testing.T) {
			pm, ps := run(false, o)
			im, is := run(true, o)
			if len(pm.tuples) < 100 {
				t.Fatalf("only %d tuples from %d messages", len(pm.tuples), len(msgs))
			}
			if len(pm.tuples) != len(im.tuples) {
				t.Fatalf("%d tuples pipelined, %d in place", len(pm.tuples), len(im.tuples))
			}
			for k, p := range pm.tuples {
				i := im.tuples[k]
				if i == nil {
					t.Fatalf("%v only pipelined", k)
				}
				if p.Count != i.Count || p.TimeFirst != i.TimeFirst || p.TimeLast != i.TimeLast || p.Bailiwick != i.Bailiwick ||
					p.ZoneTimeFirst != i.ZoneTimeFirst || !slices.Equal(p.SensorIDs, i.SensorIDs) {
					t.Fatalf("%v: pipelined %+v, in place %+v", k, *p, *i)
				}
			}
			if ps.Records != is.Records || ps.Folded != is.Folded || ps.MalformedTotal() != is.MalformedTotal() || ps.Flushes != is.Flushes {
				t.Errorf("stats pipelined %+v\nin place %+v", ps, is)
			}
		})
	}
}

// TestNXDomainWithTuples checks that NXDOMAIN counters reach the store
// whether a flush has tuples too or not, in one write or many, in one
// flush or several: they are a writer job of their own.
func TestNXDomainWithTuples(t *testing.T) {
	a := msgSpec{q: "www.example.com A", aa: true,
		ans:  []string{"www.example.com. 300 IN A 192.0.2.1"},
		auth: []string{"example.com. 300 IN NS ns1.example.com."}}.pack(t)
	nx := func(name string) []byte {
		return msgSpec{q: name + " A", aa: true, rcode: dns.RcodeNameError,
			auth: []string{"example.com. 300 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5"}}.pack(t)
	}
	x, y := nx("x.example.com"), nx("y.example.com")
	for _, tc := range []struct {
		name   string
		o      Options
		seq    [][]byte
		tuples int
	}{
		{"one flush", Options{}, [][]byte{a, x, y, x, a}, 2},
		{"one tuple per write", Options{BatchSize: 1}, [][]byte{a, x, y, x, a}, 2},
		{"writes of two tuples", Options{BatchSize: 2}, [][]byte{a, x, y, x, a}, 2},
		{"no tuples", Options{}, [][]byte{x, y, x}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, st := ingestMsgs(t, tc.o, tc.seq...)
			for name, want := range map[string]uint64{"x.example.com": 2, "y.example.com": 1} {
				c := m.nx[name]
				if c == nil || c.Count != want {
					t.Errorf("NXDOMAIN %s: %+v, want count %d", name, c, want)
				}
			}
			if len(m.nx) != 2 {
				t.Errorf("%d NXDOMAIN names stored, want 2", len(m.nx))
			}
			if len(m.tuples) != tc.tuples {
				t.Errorf("%d tuples stored, want %d: %v", len(m.tuples), tc.tuples, stored(m))
			}
			if tc.tuples > 0 {
				if tp := m.get("www.example.com", dns.TypeA, "192.0.2.1"); tp == nil || tp.Count != 2 {
					t.Errorf("www A: %+v, want count 2", tp)
				}
			}
			if st.NXNames == 0 || st.NXNotStored != 0 {
				t.Errorf("stats: %d NXDOMAIN names written, %d not stored", st.NXNames, st.NXNotStored)
			}
		})
	}
	t.Run("flushes midway", func(t *testing.T) {
		m := newMemSink()
		in, err := New(m, Options{SensorID: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i, b := range [][]byte{a, x, nil, y, x, nil, a, nil} {
			if b == nil {
				if err := in.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := in.Message(ctx, time.Unix(t0+int64(i), 0), b, ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := in.Close(ctx); err != nil {
			t.Fatal(err)
		}
		st := in.Stats()
		if st.Flushes != 3 {
			t.Errorf("%d flushes, want 3", st.Flushes)
		}
		if c := m.nx["x.example.com"]; c == nil || c.Count != 2 || c.TimeFirst != t0+1 || c.TimeLast != t0+4 {
			t.Errorf("NXDOMAIN x.example.com: %+v, want count 2 from %d to %d", c, t0+1, t0+4)
		}
		if c := m.nx["y.example.com"]; c == nil || c.Count != 1 {
			t.Errorf("NXDOMAIN y.example.com: %+v, want count 1", c)
		}
		if tp := m.get("www.example.com", dns.TypeA, "192.0.2.1"); tp == nil || tp.Count != 2 || tp.TimeLast != t0+6 {
			t.Errorf("www A: %+v, want count 2, last %d", tp, t0+6)
		}
		if st.NXNames != 3 { // x, then y and x again
			t.Errorf("stats: %d NXDOMAIN names written, want 3", st.NXNames)
		}
	})
}

// TestExtendedRcodeFromAdditional checks that only an OPT record in the
// additional section gives the extended rcode: a response whose OPT there
// says BADVERS is another rcode and keeps nothing; an OPT with the same
// TTL in the answer section (malformed, RFC 6891 6.1.1) is not kept and
// does not drop the response's records.
func TestExtendedRcodeFromAdditional(t *testing.T) {
	response := func(optIn string) []byte {
		m := new(dns.Msg)
		m.SetQuestion("www.example.com.", dns.TypeA)
		m.Response, m.Authoritative = true, true
		a, err := dns.NewRR("www.example.com. 300 IN A 192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		m.Answer = []dns.RR{a}
		opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}}
		if optIn == "answer" {
			opt.SetExtendedRcode(dns.RcodeBadVers) // Pack leaves an OPT there alone
			m.Answer = append(m.Answer, opt)
		} else {
			m.Rcode = dns.RcodeBadVers // Pack puts its upper bits in the OPT
			m.Extra = []dns.RR{opt}
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		optIn      string
		want       []string
		otherRcode uint64
	}{
		{"additional", nil, 1},
		{"answer", []string{"www.example.com A 192.0.2.1 @"}, 0},
	} {
		t.Run("OPT in the "+tc.optIn+" section", func(t *testing.T) {
			m, st := ingestMsgs(t, Options{}, response(tc.optIn))
			if got := stored(m); !slices.Equal(got, tc.want) || st.OtherRcode != tc.otherRcode {
				t.Errorf("stored %q with %d other rcodes, want %q and %d", got, st.OtherRcode, tc.want, tc.otherRcode)
			}
		})
	}
}
