package pebble_test

import (
	"context"
	"testing"

	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

func TestHistoryConformance(t *testing.T) {
	dirs := map[store.Backend]string{}
	open := func(t *testing.T) store.Backend {
		t.Helper()
		dir := t.TempDir()
		db, err := pebble.Open(context.Background(), dir, pebble.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		dirs[db] = dir
		t.Cleanup(func() { db.Close() })
		return db
	}
	reopen := func(t *testing.T, b store.Backend) store.Backend {
		t.Helper()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		db, err := pebble.Open(context.Background(), dirs[b], pebble.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dirs[db] = dirs[b]
		t.Cleanup(func() { db.Close() })
		return db
	}
	storetest.RunHistory(t, open, reopen)
}
