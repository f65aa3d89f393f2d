package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/finding"
)

func TestJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.journal")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	high := Entry{Domain: "example.com", Status: StatusDone, Out: 100}
	high.Findings[finding.High] = 2
	for _, e := range []Entry{high, {Domain: "example.net", Status: StatusFailed, Error: "no such domain", Out: 100}, {Domain: "example.org", Status: StatusPartial, Out: 250}} {
		if err := j.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	// A crash while a line was written leaves it torn.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"domain":"torn.example","sta`)
	f.Close()

	j, err = OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for d, want := range map[string]bool{"example.com": true, "example.net": true, "example.org": true, "torn.example": false} {
		if j.Done(d) != want {
			t.Errorf("Done(%s) = %v", d, !want)
		}
	}
	tot := j.Totals()
	if tot.Done != 1 || tot.Failed != 1 || tot.Partial != 1 || tot.AtLeast(finding.High) != 2 || tot.AtLeast(finding.Critical) != 0 {
		t.Errorf("totals = %+v", tot)
	}
	if j.OutputSize() != 250 {
		t.Errorf("output size = %d", j.OutputSize())
	}
	// The torn line was cut: the next entry starts a line of its own.
	if err := j.Record(Entry{Domain: "example.info", Status: StatusDone}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "torn") || strings.Count(string(b), "\n") != 4 {
		t.Fatalf("journal after resume:\n%s", b)
	}
}

func TestJournalNotAJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(path, []byte("example.com\nexample.net\n"), 0o644)
	_, err := OpenJournal(path)
	if !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v", err)
	}
	// The file is left as it was.
	if b, _ := os.ReadFile(path); string(b) != "example.com\nexample.net\n" {
		t.Fatalf("file changed: %q", b)
	}
}
