package storetest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// RunPruneAcrossMonths checks retention on data spread over months (the
// fixture of Run lies within one month): a tuple seen long before the
// cut-off and again after it survives whole — its first time and count
// included — while tuples last seen before the cut-off go, whether their
// sightings lie in one month or several, before the cut-off's month or in
// it. It skips backends without Prune.
func RunPruneAcrossMonths(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	p, ok := b.(store.Pruner)
	if !ok {
		t.Skip("backend has no Prune")
	}
	ctx := context.Background()
	day := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Unix() }
	a := func(name, ip string, first, last int64, count uint64) pdns.Tuple {
		return pdns.Tuple{RRName: name, RRType: dns.TypeA, RData: ip, TimeFirst: first, TimeLast: last, Count: count}
	}
	batches := [][]pdns.Tuple{
		{a("kept.example.com", "192.0.2.1", day(2023, 1, 5), day(2023, 1, 9), 3), a("gone.example.com", "192.0.2.2", day(2023, 1, 5), day(2023, 1, 6), 1)},
		{a("gone.example.com", "192.0.2.2", day(2023, 2, 1), day(2023, 2, 2), 1), a("cutmonth-gone.example.com", "192.0.2.3", day(2023, 3, 2), day(2023, 3, 3), 1)},
		{a("kept.example.com", "192.0.2.1", day(2023, 6, 1), day(2023, 6, 2), 4), a("cutmonth-kept.example.com", "192.0.2.4", day(2023, 1, 2), day(2023, 3, 20), 2)},
		{a("late.example.com", "192.0.2.5", day(2023, 3, 20), day(2023, 3, 21), 1), a("cutmonth-kept.example.com", "192.0.2.4", day(2022, 12, 2), day(2022, 12, 3), 5)},
	}
	for _, bt := range batches {
		if err := b.Upsert(ctx, bt); err != nil {
			t.Fatal(err)
		}
	}
	res, err := p.Prune(ctx, time.Unix(day(2023, 3, 10), 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Tuples != 2 {
		t.Errorf("Prune deleted %d tuples, want 2 (gone, cutmonth-gone)", res.Tuples)
	}
	want := map[string]pdns.Tuple{
		"kept.example.com":          a("kept.example.com", "192.0.2.1", day(2023, 1, 5), day(2023, 6, 2), 7),
		"cutmonth-kept.example.com": a("cutmonth-kept.example.com", "192.0.2.4", day(2022, 12, 2), day(2023, 3, 20), 7),
		"late.example.com":          a("late.example.com", "192.0.2.5", day(2023, 3, 20), day(2023, 3, 21), 1),
	}
	got := all(t, b, store.Query{Kind: store.KindRDataIP, IPLow: netip.MustParseAddr("192.0.2.0"), IPHigh: netip.MustParseAddr("192.0.2.255")})
	if len(got) != len(want) {
		t.Errorf("after prune: %q, want the 3 tuples seen since the cut-off", keys(got))
	}
	for i := range got {
		w, ok := want[got[i].RRName]
		if !ok {
			t.Errorf("after prune: %s should be gone", keyString(&got[i]))
			continue
		}
		if d := diff(&got[i], &w); d != "" {
			t.Errorf("after prune: %s: %s", got[i].RRName, d)
		}
	}
	// Pruning again at the same cut-off deletes nothing.
	if res, err := p.Prune(ctx, time.Unix(day(2023, 3, 10), 0)); err != nil || res.Tuples != 0 {
		t.Errorf("second Prune: %+v, %v; want nothing deleted", res, err)
	}
	if n := len(all(t, b, store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft})); n != len(want) {
		t.Errorf("after the second prune: %d tuples, want %d", n, len(want))
	}
}
