package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/store"
)

// testWatched: the watched-domains list (store.WatchedOf) keeps entries
// by domain, replaces one on a second Put, lists in domain order, deletes
// reporting whether the domain was there, refuses names not in identity
// form, and does not mix with the other Meta namespaces.
func testWatched(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	l, err := store.WatchedOf(b)
	if errors.Is(err, store.ErrUnsupported) {
		t.Skip("backend has no Meta")
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	for _, d := range []store.WatchedDomain{
		{Domain: "example.net", Every: time.Hour, Added: at, By: "k1"},
		{Domain: "example.com", Added: at},
		{Domain: "xn--bcher-kva.example", Every: 6 * time.Hour, Added: at},
		{Domain: "example.net", Every: 2 * time.Hour, Added: at.Add(time.Minute), By: "k2"},
	} {
		if err := l.Put(ctx, d); err != nil {
			t.Fatalf("Put %s: %v", d.Domain, err)
		}
	}
	for _, bad := range []string{"Example.ORG", "example.org.", "", "a b.example"} {
		if err := l.Put(ctx, store.WatchedDomain{Domain: bad}); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("Put %q: %v, want ErrBadQuery", bad, err)
		}
	}
	if err := l.Put(ctx, store.WatchedDomain{Domain: "example.org", Every: -time.Second}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("negative interval: %v, want ErrBadQuery", err)
	}
	if ms, ok := b.(store.MetaStore); ok {
		other, _ := ms.Meta("apikeys")
		if err := other.Put(ctx, "example.org", []byte("not a domain entry")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.WatchedDomain{
		{Domain: "example.com", Added: at},
		{Domain: "example.net", Every: 2 * time.Hour, Added: at.Add(time.Minute), By: "k2"},
		{Domain: "xn--bcher-kva.example", Every: 6 * time.Hour, Added: at},
	}
	if !slices.EqualFunc(got, want, func(a, b store.WatchedDomain) bool {
		return a.Domain == b.Domain && a.Every == b.Every && a.Added.Equal(b.Added) && a.By == b.By
	}) {
		t.Errorf("List:\n got %+v\nwant %+v", got, want)
	}
	if d, err := l.Get(ctx, "Example.NET."); err != nil || d.Every != 2*time.Hour {
		t.Errorf("Get example.net: %+v %v", d, err)
	}
	if _, err := l.Get(ctx, "example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get unknown: %v, want ErrNotFound", err)
	}
	if ok, err := l.Delete(ctx, "example.com"); !ok || err != nil {
		t.Errorf("Delete example.com: %v %v", ok, err)
	}
	if ok, err := l.Delete(ctx, "example.com"); ok || err != nil {
		t.Errorf("Delete again: %v %v, want false, nil", ok, err)
	}
	got, err = l.List(ctx)
	if err != nil || len(got) != 2 || got[0].Domain != "example.net" {
		t.Errorf("List after Delete: %+v %v", got, err)
	}
}
