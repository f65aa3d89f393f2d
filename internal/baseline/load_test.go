package baseline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	f, err := Load("testdata/prev.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Results) != 1 || f.Path != "testdata/prev.json" {
		t.Fatalf("Load: %d results, path %q", len(f.Results), f.Path)
	}
	for _, q := range []string{"example.com", "EXAMPLE.com.", " example.com"} {
		if f.Lookup(q) == nil {
			t.Errorf("Lookup(%q) found nothing", q)
		}
	}
	if f.Lookup("example.net") != nil || f.Lookup("") != nil {
		t.Error("Lookup found a domain the file does not hold")
	}
	a, err := Load("testdata/array.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Results) != 2 || a.Lookup("example.net") == nil || a.Lookup("example.com") == nil {
		t.Fatalf("array: %d results", len(a.Results))
	}
	var nilFile *File
	if nilFile.Lookup("example.com") != nil {
		t.Error("nil file found something")
	}
}

func TestLoadUnicodeDomain(t *testing.T) {
	f, err := Parse([]byte(`{"domain":"xn--bcher-kva.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Lookup("bücher.example") == nil {
		t.Error("Unicode lookup of an A-label domain failed")
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    error
		message string // part of the error text a person needs
	}{
		{"empty", "", ErrEmpty, "empty"},
		{"blank", " \n\t", ErrEmpty, "empty"},
		{"not json", "hello", ErrNotResult, `starts with "h"`},
		{"syntax", "{\n  \"domain\": \"example.com\",\n  \"names\": [,]\n}", ErrSyntax, "line 3 column"},
		{"truncated", `{"domain":"example.com","names":[`, ErrSyntax, "truncated"},
		{"wrong type", "{\n\"domain\": 7}", ErrNotResult, "line 2"},
		{"wrong nested type", `{"domain":"example.com","findings":[{"severity":"dire"}]}`, ErrNotResult, "unknown severity"},
		{"no domain", `{"names":[]}`, ErrNotResult, `no "domain"`},
		{"bad domain", `{"domain":"exa mple.com"}`, ErrNotResult, "exa mple.com"},
		{"duplicate", `[{"domain":"example.com"},{"domain":"EXAMPLE.COM"}]`, ErrDuplicateDomain, "example.com"},
		{"null element", `[{"domain":"example.com"},null]`, ErrNotResult, "element 1"},
		{"string element", `["example.com"]`, ErrNotResult, "line 1"},
		{"ndjson", "{\"domain\":\"example.com\"}\n{\"domain\":\"example.net\"}\n", ErrNotResult, "ndjson"},
		{"trailing garbage", `{"domain":"example.com"} x`, ErrNotResult, "more data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse: %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
			if !strings.HasPrefix(err.Error(), "baseline: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	for _, name := range []string{"truncated.json", "ndjson.json"} {
		_, err := Load(filepath.Join("testdata", name))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Load(%s): %v, want an error naming the file", name, err)
		}
	}
	bom := filepath.Join(t.TempDir(), "bom.json")
	if err := os.WriteFile(bom, []byte("\ufeff{\"domain\":\"example.com\"}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bom); err != nil {
		t.Errorf("a byte-order mark is not forgiven: %v", err)
	}
}

// FuzzParse feeds arbitrary bytes to the baseline parser: it must return a
// File or an error wrapped in one of the package's sentinels, never panic.
//
//	go test ./internal/baseline -run '^$' -fuzz FuzzParse -fuzztime 20s
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.json")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"domain":"example.com"},{"domain":"example.net"}]`))
	f.Add([]byte(`{"domain":"example.com","findings":[{"id":"x","severity":"high","subject":"s"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrNotResult) && !errors.Is(err, ErrDuplicateDomain) {
				t.Fatalf("error outside the package's sentinels: %v", err)
			}
			return
		}
		for _, r := range file.Results {
			if file.Lookup(r.Domain) != r {
				t.Fatalf("Lookup(%q) does not return its result", r.Domain)
			}
			// Comparing a loaded result with itself finds nothing.
			if d := Compare(r, r); !d.Empty() {
				t.Fatalf("a result differs from itself: %+v", d.Summary)
			}
		}
	})
}
