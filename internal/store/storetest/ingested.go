package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/store"
)

// testIngestLedger: files recorded are found by digest with their record,
// others are not found, a digest recorded again keeps the newest record,
// and the ledger does not show through the Meta spaces of others.
func testIngestLedger(t *testing.T, open func(t *testing.T) store.Backend) {
	b := open(t)
	l, ok := store.LedgerOf(b)
	if !ok {
		t.Skip("backend has no IngestLedger")
	}
	ctx := context.Background()
	a := store.IngestedFile{SHA256: sha256.Sum256([]byte("capture a")), Name: "a.pcap", Size: 9, SensorID: "edge1", At: time.Unix(1767323045, 0).UTC()}
	c := store.IngestedFile{SHA256: sha256.Sum256([]byte("capture c")), Name: "/var/log/c.pcap.gz", Size: 1 << 40, At: time.Unix(1767323046, 0).UTC()}
	if _, err := l.IngestedFile(ctx, a.SHA256); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("IngestedFile before any record: %v, want ErrNotFound", err)
	}
	if seen, err := l.IngestedSize(ctx, a.Size); err != nil || seen {
		t.Fatalf("IngestedSize before any record: %v, %v", seen, err)
	}
	if err := l.RecordIngested(ctx, nil); err != nil {
		t.Fatalf("RecordIngested(nil): %v", err)
	}
	if err := l.RecordIngested(ctx, []store.IngestedFile{a, c}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []store.IngestedFile{a, c} {
		got, err := l.IngestedFile(ctx, want.SHA256)
		if err != nil || got != want {
			t.Errorf("IngestedFile(%s) = %+v, %v; want %+v", want.Name, got, err, want)
		}
	}
	for size, want := range map[int64]bool{9: true, 1 << 40: true, 10: false, 0: false} {
		if seen, err := l.IngestedSize(ctx, size); err != nil || seen != want {
			t.Errorf("IngestedSize(%d) = %v, %v; want %v", size, seen, err, want)
		}
	}
	other := sha256.Sum256([]byte("capture b"))
	if _, err := l.IngestedFile(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("IngestedFile(never recorded) = %v, want ErrNotFound", err)
	}
	again := a
	again.Name, again.At = "copy-of-a.pcap", time.Unix(1767323999, 0).UTC()
	if err := l.RecordIngested(ctx, []store.IngestedFile{again}); err != nil {
		t.Fatal(err)
	}
	if got, err := l.IngestedFile(ctx, a.SHA256); err != nil || got != again {
		t.Errorf("after recording again: %+v, %v; want %+v", got, err, again)
	}
	if err := l.RecordIngested(ctx, []store.IngestedFile{{Name: "no digest"}}); err == nil {
		t.Error("RecordIngested without a digest succeeded")
	}
	if ms, ok := b.(store.MetaStore); ok {
		m, err := ms.Meta("apikeys")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := m.List(ctx, "", func(string, []byte) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("the ledger shows in another Meta space: %d keys, %v", n, err)
		}
	}
}
