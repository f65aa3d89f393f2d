package clickhouse

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

func TestNameForms(t *testing.T) {
	for _, tc := range []struct{ name, rev, fwd string }{
		{".", "", ""},
		{"com", "com.", "com."},
		{"www.example.com", "com.example.www.", "www.example.com."},
		{`a\.b.example.com`, `com.example.a\.b.`, `a\.b.example.com.`},
		{`x\\.example.com`, `com.example.x\\.`, `x\\.example.com.`},
		{"_sip._tcp.example.com", "com.example._tcp._sip.", "_sip._tcp.example.com."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := revName(tc.name); got != tc.rev {
				t.Errorf("revName = %q, want %q", got, tc.rev)
			}
			if got := fwdName(tc.name); got != tc.fwd {
				t.Errorf("fwdName = %q, want %q", got, tc.fwd)
			}
			if got := nameFromRev(tc.rev); got != tc.name {
				t.Errorf("nameFromRev(%q) = %q, want %q", tc.rev, got, tc.name)
			}
		})
	}
}

// TestBelow: the key range of a zone holds exactly the names below it.
func TestBelow(t *testing.T) {
	names := []string{"example.com", "www.example.com", "a.b.example.com", `a\.b.example.com`, "example.com-x.com",
		"xexample.com", "example.comx", "com", "example.net", `example\.com`, "a.example\\.com"}
	for _, zone := range []string{".", "com", "example.com", "b.example.com"} {
		lo, hi := below(revName(zone))
		for _, n := range names {
			r := revName(n)
			in := r > lo && (hi == "" || r < hi)
			if want := store.MatchName(n, zone, store.WildLeft); in != want {
				t.Errorf("zone %s, name %s: in range %v, below %v", zone, n, in, want)
			}
		}
		flo, fhi := below(fwdName(zone))
		if zone == "." {
			continue
		}
		for _, n := range names {
			f := fwdName(n)
			in := f > flo && f < fhi
			if want := store.MatchName(n, zone, store.WildRight); in != want {
				t.Errorf("right %s.*, name %s: in range %v, match %v", zone, n, in, want)
			}
		}
	}
}

func TestCursor(t *testing.T) {
	for _, k := range []tupleKey{{}, {rev: "com.example.", rrtype: 1, rdata: "192.0.2.1"}, {rev: "", rrtype: 65535, rdata: "\x00\xff"}} {
		got, err := decodeCursor(encodeCursor(k))
		if err != nil || got != k {
			t.Errorf("round trip of %+v: %+v, %v", k, got, err)
		}
	}
	for _, bad := range []string{"", "!", "Yw", "eA", "YwA", "Y_8B", strings.Repeat("A", 10)} {
		if _, err := decodeCursor(bad); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("decodeCursor(%q): %v, want ErrBadCursor", bad, err)
		}
	}
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn     string
		want    Options
		wantErr bool
	}{
		{dsn: "127.0.0.1:9000/pdns", want: Options{Addrs: []string{"127.0.0.1:9000"}, Database: "pdns"}},
		{dsn: "127.0.0.1", want: Options{Addrs: []string{"127.0.0.1:9000"}, Database: "pdns"}},
		{dsn: "[::1]:9440/x", want: Options{Addrs: []string{"[::1]:9440"}, Database: "x"}},
		{dsn: "u:p%40ss@127.0.0.1:9000,127.0.0.2:9000/db_1?cluster=pdns_2&dial_timeout=2s",
			want: Options{Addrs: []string{"127.0.0.1:9000", "127.0.0.2:9000"}, Database: "db_1", Cluster: "pdns_2", Username: "u", Password: "p@ss"}},
		{dsn: "", wantErr: true},
		{dsn: "/pdns", wantErr: true},
		{dsn: "127.0.0.1:99999/pdns", wantErr: true},
		{dsn: "127.0.0.1:9000/pd-ns", wantErr: true},
		{dsn: "127.0.0.1:9000/pdns;DROP", wantErr: true},
		{dsn: "127.0.0.1:9000/pdns?cluster=a'b", wantErr: true},
		{dsn: "127.0.0.1:9000/pdns?colour=red", wantErr: true},
		{dsn: "127.0.0.1:9000/pdns?dial_timeout=soon", wantErr: true},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			got, err := ParseDSN(tc.dsn)
			if tc.wantErr {
				if !errors.Is(err, ErrBadDSN) {
					t.Fatalf("ParseDSN: %+v, %v; want ErrBadDSN", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Addrs, ",") != strings.Join(tc.want.Addrs, ",") || got.Database != tc.want.Database ||
				got.Cluster != tc.want.Cluster || tc.want.Username != "" && (got.Username != tc.want.Username || got.Password != tc.want.Password) {
				t.Errorf("ParseDSN = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFoldTuples(t *testing.T) {
	in := []pdns.Tuple{
		{RRName: "WWW.Example.com", RRType: 1, RData: "192.0.2.1", Count: 1, TimeFirst: 20, SensorIDs: []string{"s2", "s1", "s2"}},
		{RRName: "other.example.com", RRType: 1, RData: "192.0.2.2", Count: 1, TimeFirst: 5, TimeLast: 6},
		{RRName: "www.example.com", RRType: 1, RData: "192.0.2.1", Count: 2, TimeFirst: 10, TimeLast: 15, Bailiwick: "Example.COM", SensorIDs: []string{"s0"}},
	}
	got, err := foldTuples(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []pdns.Tuple{
		{RRName: "www.example.com", RRType: 1, RData: "192.0.2.1", Count: 3, TimeFirst: 10, TimeLast: 20, Bailiwick: "example.com", SensorIDs: []string{"s0", "s1", "s2"}},
		{RRName: "other.example.com", RRType: 1, RData: "192.0.2.2", Count: 1, TimeFirst: 5, TimeLast: 6},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("foldTuples:\n got %+v\nwant %+v", got, want)
	}
	if in[0].SensorIDs[0] != "s2" {
		t.Error("foldTuples changed its input")
	}
	for _, bad := range []pdns.Tuple{
		{RRName: "a..b", RRType: 1, RData: "x"},
		{RRName: "a.b", RRType: 1, RData: ""},
		{RRName: "a.b", RRType: 1, RData: "x", TimeFirst: 5, TimeLast: 4},
		{RRName: "a.b", RRType: 1, RData: "x", TimeLast: 1 << 33},
		{RRName: "a.b", RRType: 1, RData: "x", SensorIDs: []string{strings.Repeat("s", 256)}},
	} {
		if _, err := foldTuples([]pdns.Tuple{bad}); !errors.Is(err, store.ErrBadTuple) {
			t.Errorf("foldTuples(%+v): %v, want ErrBadTuple", bad, err)
		}
	}
}

func TestPartitionOf(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		want uint32
	}{{0, 197001}, {1700000000, 202311}, {1704067199, 202312}, {1704067200, 202401}} {
		if got := partitionOf(tc.unix); got != tc.want {
			t.Errorf("partitionOf(%d) = %d, want %d", tc.unix, got, tc.want)
		}
	}
}
