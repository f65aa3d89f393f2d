package watch

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
)

// TestManagedDomains: domains added to the store's watched list are
// scanned from the next tick with their interval, a configured domain
// keeps its own whatever the list says, a changed interval applies, and a
// removed domain is no longer scanned while its history stays.
func TestManagedDomains(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	b, err := store.Open(ctx, "pebble://"+t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h, err := store.HistoryOf(b)
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.WatchedOf(b)
	if err != nil {
		t.Fatal(err)
	}
	wd := newWorld(c)
	base := func(d string) Result {
		return snap([]string{d, "www." + d}, []history.Record{rec("www."+d, "A", "192.0.2.10")}, nil)
	}
	for _, d := range []string{"example.com", "example.net", "example.org"} {
		wd.set(d, base(d))
	}
	w, err := New(Options{History: h, Runner: wd, Domains: []Domain{{"example.com", time.Hour}}, Managed: list,
		ManagedEvery: 2 * time.Hour, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	status := func() map[string]DomainStatus {
		out := map[string]DomainStatus{}
		for _, s := range w.Status() {
			out[s.Domain] = s
		}
		return out
	}
	put := func(d string, every time.Duration) {
		t.Helper()
		if err := list.Put(ctx, store.WatchedDomain{Domain: d, Every: every, Added: c.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		do      func()
		advance time.Duration
		calls   map[string]int
		every   map[string]time.Duration
	}{
		{"configured only", func() {}, 0,
			map[string]int{"example.com": 1}, map[string]time.Duration{"example.com": time.Hour}},
		{"added through the API: scanned at the next tick", func() { put("example.net", 0); put("example.org", 30*time.Minute) }, 0,
			map[string]int{"example.com": 1, "example.net": 1, "example.org": 1},
			map[string]time.Duration{"example.com": time.Hour, "example.net": 2 * time.Hour, "example.org": 30 * time.Minute}},
		{"a configured domain keeps its interval", func() { put("example.com", 10*time.Minute) }, 30 * time.Minute,
			map[string]int{"example.com": 1, "example.net": 1, "example.org": 2},
			map[string]time.Duration{"example.com": time.Hour, "example.net": 2 * time.Hour, "example.org": 30 * time.Minute}},
		{"an interval changed", func() { put("example.net", 40*time.Minute) }, 10 * time.Minute,
			map[string]int{"example.com": 1, "example.net": 2, "example.org": 2},
			map[string]time.Duration{"example.com": time.Hour, "example.net": 40 * time.Minute, "example.org": 30 * time.Minute}},
		{"removed: no longer scanned", func() {
			if ok, err := list.Delete(ctx, "example.org"); !ok || err != nil {
				t.Fatalf("Delete: %v %v", ok, err)
			}
		}, 2 * time.Hour,
			map[string]int{"example.com": 2, "example.net": 3, "example.org": 2},
			map[string]time.Duration{"example.com": time.Hour, "example.net": 40 * time.Minute}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			c.Advance(st.advance)
			w.RunDue(ctx)
			for d, n := range st.calls {
				if got := wd.callsOf(d); got != n {
					t.Errorf("%s scanned %d times, want %d", d, got, n)
				}
			}
			s := status()
			if len(s) != len(st.every) {
				t.Errorf("watching %d domains, want %d: %v", len(s), len(st.every), w.Domains())
			}
			for d, every := range st.every {
				want := SourceAPI
				if d == "example.com" {
					want = SourceConfig
				}
				if s[d].Every != every || s[d].Source != want {
					t.Errorf("%s: every %v from %q, want %v from %q", d, s[d].Every, s[d].Source, every, want)
				}
			}
		})
	}
	scans, _, err := h.Scans(ctx, store.ScanQuery{Domain: "example.org"})
	if err != nil || len(scans) != 2 {
		t.Errorf("history of the removed domain: %d scans, %v; want its 2 kept", len(scans), err)
	}
	if got := w.Domains(); !slices.Equal(got, []string{"example.com", "example.net"}) {
		t.Errorf("Domains %v", got)
	}
}

// TestWake: Wake ends the wait between two ticks, so a domain added
// through the API is scanned at once, not at the next due time.
func TestWake(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := store.Open(ctx, "pebble://"+t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h, _ := store.HistoryOf(b)
	list, _ := store.WatchedOf(b)
	c := newClock()
	wd := newWorld(c)
	wd.set("example.net", snap([]string{"example.net"}, nil, nil))
	w, err := New(Options{History: h, Runner: wd, Managed: list, Reload: time.Hour, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	if err := list.Put(ctx, store.WatchedDomain{Domain: "example.net"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for wd.callsOf("example.net") == 0 {
		w.Wake()
		select {
		case <-deadline:
			t.Fatal("the added domain was not scanned after Wake")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
