package watch

import (
	"os"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/store"
)

// TestDocs keeps docs/watch.md honest: its example is testdata/full.json,
// and it names every metric the watch registers.
func TestDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/watch.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, rest, ok := strings.Cut(doc, "## Configuration")
	_, rest, ok2 := strings.Cut(rest, "```json\n")
	if !ok || !ok2 {
		t.Fatal("docs/watch.md: no configuration example")
	}
	example, _, _ := strings.Cut(rest, "```")
	full, err := os.ReadFile("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	if example != string(full) {
		t.Error("the example in docs/watch.md differs from testdata/full.json")
	}
	w, err := New(Options{History: nopHistory{}, Runner: &Inventory{}, Domains: []Domain{{"example.com", DefaultEvery}}})
	if err != nil {
		t.Fatal(err)
	}
	names := w.met.names()
	if len(names) < 13 {
		t.Fatalf("only %d metrics: %q", len(names), names)
	}
	for _, name := range names {
		if !strings.Contains(doc, "`"+name) {
			t.Errorf("docs/watch.md does not name the metric %s", name)
		}
	}
}

// nopHistory is a history that is never read (New does not read it).
type nopHistory struct{ store.History }
