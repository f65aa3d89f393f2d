package passive

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current output")

// fast are HTTP options for tests: no rate limit, tiny backoff.
var fast = HTTPOptions{Rate: -1, Backoff: time.Millisecond}

// serve starts an HTTP server on 127.0.0.1 (httptest's default) that stops
// on cleanup.
func serve(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// collect runs one source and returns what it delivered, its status and
// its error.
func collect(t *testing.T, src Source, domain string) ([]Observation, Status) {
	t.Helper()
	var obs []Observation
	st, err := Collect(context.Background(), []Source{src}, domain, func(o Observation) error {
		obs = append(obs, o)
		return nil
	})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return obs, st[0]
}

// golden compares got (as indented JSON) with testdata/golden/name.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/passive -update to create it)", err)
	}
	if string(want) != string(b) {
		t.Errorf("%s differs from the output (run go test ./internal/passive -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, b, want)
	}
}

func names(obs []Observation) []string {
	var out []string
	for _, o := range obs {
		out = append(out, o.Name)
	}
	return out
}
