package backends_test

import (
	"slices"
	"testing"

	_ "github.com/dnsscout/dnsscout/internal/store/backends"

	"github.com/dnsscout/dnsscout/internal/store"
)

// TestSchemes: importing backends registers every backend dnsscout knows.
func TestSchemes(t *testing.T) {
	got := store.Schemes()
	for _, want := range []string{"pebble", "clickhouse"} {
		if !slices.Contains(got, want) {
			t.Errorf("scheme %s not registered (registered: %v)", want, got)
		}
	}
}
