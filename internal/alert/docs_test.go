package alert

import (
	"os"
	"strings"
	"testing"
)

// TestDocs keeps docs/alerts.md in step with the package: the kinds table
// says what Kinds says, and the full example is testdata/config/full.json
// and parses.
func TestDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, k := range Kinds {
		if row := "| `" + k.Name + "` | " + k.Description + " |"; !strings.Contains(doc, row) {
			t.Errorf("docs/alerts.md lacks the row %q", row)
		}
	}
	_, rest, ok := strings.Cut(doc, "### Full example\n\n```json\n")
	if !ok {
		t.Fatal("docs/alerts.md: no full example")
	}
	example, _, _ := strings.Cut(rest, "```")
	if want := string(readConfig(t, "full.json")); example != want {
		t.Errorf("the example in docs/alerts.md differs from testdata/config/full.json")
	}
	if _, err := ParseConfig([]byte(example)); err != nil {
		t.Errorf("the example in docs/alerts.md: %v", err)
	}
}
