package passive

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	_ "github.com/dnsscout/dnsscout/internal/store/pebble"
)

func openStore(t *testing.T, tuples []pdns.Tuple) store.Backend {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Upsert(context.Background(), tuples); err != nil {
		t.Fatal(err)
	}
	return db
}

var storeTuples = []pdns.Tuple{
	{RRName: "example.com", RRType: 6, RData: "ns1.example.net. hostmaster.example.com. 1 7200 3600 1209600 300", TimeFirst: 1600000000, TimeLast: 1700000000, Count: 4},
	{RRName: "www.example.com", RRType: 1, RData: "192.0.2.10", TimeFirst: 1600000000, TimeLast: 1700000000, Count: 10},
	{RRName: "gone.example.com", RRType: 5, RData: "gone.cdn.example.net.", TimeFirst: 1400000000, TimeLast: 1450000000, Count: 2},
	{RRName: "a.b.example.com", RRType: 28, RData: "2001:db8::5", ZoneTimeFirst: 1300000000, ZoneTimeLast: 1350000000, Count: 1},
	{RRName: "example.com", RRType: 48, RData: "257 3 13 AAAA", TimeFirst: 1600000000, TimeLast: 1600000000, Count: 1},
	{RRName: "notexample.com", RRType: 1, RData: "198.51.100.1", TimeFirst: 1600000000, TimeLast: 1600000000, Count: 1},
	{RRName: "www.example.net", RRType: 1, RData: "198.51.100.2", TimeFirst: 1600000000, TimeLast: 1600000000, Count: 1},
}

func TestStoreSource(t *testing.T) {
	db := openStore(t, storeTuples)
	// A page size of 1 makes every tuple its own page: the cursor path runs.
	s, err := NewStoreSource(db, StoreOptions{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	obs, st := collect(t, s, "example.com")
	if st.Err != nil {
		t.Fatal(st.Err)
	}
	got := obsKeys(obs)
	slices.Sort(got)
	want := []string{
		"a.b.example.com AAAA 2001:db8::5 1300000000..1350000000 #1",
		"example.com DNSKEY 257 3 13 AAAA 1600000000..1600000000 #1",
		"example.com SOA ns1.example.net. hostmaster.example.com. 1 7200 3600 1209600 300 1600000000..1700000000 #4",
		"gone.example.com CNAME gone.cdn.example.net. 1400000000..1450000000 #2",
		"www.example.com A 192.0.2.10 1600000000..1700000000 #10",
	}
	if !slices.Equal(got, want) {
		t.Errorf("observations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if obs[0].Source != "store" || st.Names != 4 {
		t.Errorf("source %q, %d names; want store, 4", obs[0].Source, st.Names)
	}

	capped, _ := NewStoreSource(db, StoreOptions{MaxResults: 2, Label: "pdns"})
	obs, st = collect(t, capped, "example.com")
	if len(obs) != 2 || st.Err != nil || obs[0].Source != "pdns" {
		t.Errorf("capped: %d observations from %q (err %v), want 2 from pdns", len(obs), obs[0].Source, st.Err)
	}
}

// failing is a Source that delivers one observation and fails.
type failing struct{}

func (failing) Name() string { return "failing" }
func (failing) Names(ctx context.Context, domain string, fn func(Observation) error) error {
	if err := fn(Observation{Name: "x." + domain, Source: "failing"}); err != nil {
		return err
	}
	return errors.New("failing: broken")
}

func TestCollectAndAggregate(t *testing.T) {
	db := openStore(t, storeTuples)
	st, _ := NewStoreSource(db, StoreOptions{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(readTestdata(t, "crtsh/example.com.json"))
	})
	ct, _ := NewCrtShSource(CrtShOptions{URL: srv.URL, HTTP: fast, Now: func() time.Time { return fixedNow }})
	var agg Aggregate
	status, err := Collect(context.Background(), []Source{st, ct, failing{}}, "example.com", func(o Observation) error {
		agg.Add(o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(status) != 3 || status[0].Source != "store" || status[1].Source != "crtsh" || status[2].Source != "failing" {
		t.Fatalf("statuses %+v", status)
	}
	if status[0].Err != nil || status[1].Err != nil || status[2].Err == nil || status[2].Observations != 1 {
		t.Errorf("statuses %+v: want the failing source's error only, after its one observation", status)
	}
	www := agg.Get("www.example.com")
	if www == nil || !slices.Equal(www.Sources, []string{"crtsh", "store"}) || len(www.Records) != 1 ||
		www.Records[0].Type != "A" || !slices.Equal(www.Records[0].Sources, []string{"store"}) {
		t.Fatalf("www.example.com: %+v", www)
	}
	// crt.sh saw it 2023-01-13 .. 2023-08-01, the store 2020-09-13 .. 2023-11-14.
	if !www.FirstSeen.Equal(time.Unix(1600000000, 0)) || !www.LastSeen.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("www span %v .. %v", www.FirstSeen, www.LastSeen)
	}
	all := agg.Names()
	var got []string
	for _, n := range all {
		got = append(got, n.Name)
	}
	want := []string{"example.com", "a.b.example.com", "dev.example.com", "gone.example.com", "vpn.example.com", "www.example.com", "x.example.com", "xn--bcher-kva.example.com"}
	if !slices.Equal(got, want) || agg.Len() != len(want) {
		t.Errorf("names %q, want %q", got, want)
	}

	// An error from the callback stops everything and is returned.
	stop := errors.New("stop")
	_, err = Collect(context.Background(), []Source{st, ct}, "example.com", func(Observation) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("Collect err %v, want the callback's", err)
	}
	if _, err := Collect(context.Background(), nil, "*.example.com", nil); !errors.Is(err, ErrBadDomain) {
		t.Errorf("wildcard domain: err %v, want ErrBadDomain", err)
	}
}

func TestFindStale(t *testing.T) {
	var agg Aggregate
	for _, o := range []Observation{
		{Name: "gone.example.com", Type: "CNAME", Data: "gone.cdn.example.net.", Source: "store", LastSeen: time.Unix(1450000000, 0)},
		{Name: "moved.example.com", Type: "CNAME", Data: "old.cdn.example.net.", Source: "dnsdb", LastSeen: time.Unix(1500000000, 0)},
		{Name: "moved.example.com", Type: "CNAME", Data: "new.cdn.example.net.", Source: "dnsdb", LastSeen: time.Unix(1700000000, 0)},
		{Name: "www.example.com", Type: "A", Data: "192.0.2.10", Source: "store"},
		{Name: "cert-only.example.com", Source: "crtsh"},
		{Name: "ent.example.com", Type: "A", Data: "192.0.2.11", Source: "store"},
		{Name: "txt.example.com", Type: "TXT", Data: `"x"`, Source: "store"},
		{Name: "unknown.example.com", Type: "A", Data: "192.0.2.12", Source: "store"},
	} {
		agg.Add(o)
	}
	live := map[string]Liveness{
		"gone.example.com":      LiveNXDomain,
		"gone.cdn.example.net":  LiveNXDomain,
		"moved.example.com":     LiveExists,
		"old.cdn.example.net":   LiveNXDomain,
		"new.cdn.example.net":   LiveExists,
		"www.example.com":       LiveExists,
		"cert-only.example.com": LiveNXDomain,
		"ent.example.com":       LiveNoData,
		"txt.example.com":       LiveNoData,
	}
	got := FindStale(agg.Names(), func(n string) Liveness { return live[n] })
	var keys []string
	for _, s := range got {
		keys = append(keys, s.Name+" "+s.Kind+" "+s.Target+" "+strings.Join(s.Sources, ","))
	}
	want := []string{
		"cert-only.example.com gone  crtsh",
		"ent.example.com gone  store",
		"gone.example.com gone gone.cdn.example.net store",
		"moved.example.com cname-target-gone old.cdn.example.net dnsdb",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("stale\n%s\nwant\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	if got[3].LastSeen.Unix() != 1500000000 {
		t.Errorf("moved: last seen %v, want the old CNAME's", got[3].LastSeen)
	}
}
