package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

// The golden transcripts share the package's -update flag; it is declared
// here unless another test file of the package already did (package-level
// flag variables are initialised before init functions run).
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

func queryUpdateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// seedStore creates a store holding the conformance fixture and a few
// NXDOMAIN counters, and returns its directory.
func querySeedStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pdns")
	ctx := context.Background()
	db, err := pebble.Open(ctx, dir, pebble.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Upsert(ctx, storetest.Fixture()); err != nil {
		t.Fatal(err)
	}
	if err := db.AddNXDomain(ctx, []store.NXCount{
		{Name: "nx.example.com", Count: 3, TimeFirst: storetest.T0, TimeLast: storetest.T0 + 10},
		{Name: "old-nx.example.com", Count: 1, TimeFirst: storetest.T0 - 5000, TimeLast: storetest.T0 - 5000},
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run executes one dnsscout command line and returns its transcript.
func queryRun(t *testing.T, args []string, stdin string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

var (
	queryOnDiskRe = regexp.MustCompile(`(?m)^(on disk\s+).*$`)
	queryBytesRe  = regexp.MustCompile(`"bytes_on_disk": \d+`)
)

func TestQueryTranscripts(t *testing.T) {
	tests := []struct {
		name string
		// cmds run in order against one fresh store; $DB is its directory,
		// $OUT a file path in a temporary directory.
		cmds [][]string
	}{
		{"exact", [][]string{{"query", "--db", "$DB", "www.example.com"}}},
		{"exact-table", [][]string{{"query", "--db", "$DB", "--format", "table", "-t", "A", "www.example.com"}}},
		{"left-wildcard", [][]string{{"query", "--db", "$DB", "-t", "A", "*.example.com"}}},
		{"right-wildcard", [][]string{{"query", "--db", "$DB", "--format", "table", "www.example.*"}}},
		{"rdata", [][]string{{"query", "--db", "$DB", "--rdata", "www.example.com"}}},
		{"rdata-wildcard", [][]string{{"query", "--db", "$DB", "--rdata", "--format", "table", ".example.net"}}},
		{"ip-prefix", [][]string{{"query", "--db", "$DB", "--format", "table", "192.0.2.0/25"}}},
		{"ip-range-v6", [][]string{{"query", "--db", "$DB", "2001:db8::-2001:db8::ffff:ffff"}}},
		{"raw", [][]string{{"query", "--db", "$DB", "--raw", `"v=spf1 -all"`}}},
		{"dnssec", [][]string{{"query", "--db", "$DB", "--format", "table", "-t", "ANY-DNSSEC", "example.com"}}},
		{"bailiwick", [][]string{{"query", "--db", "$DB", "--bailiwick", "example.net", "www.example.com"}}},
		{"saf", [][]string{{"query", "--db", "$DB", "--format", "saf", "-t", "NS", "example.com"}}},
		{"saf-limited", [][]string{{"query", "--db", "$DB", "--format", "saf", "--limit", "2", "*.example.com"}}},
		{"saf-empty", [][]string{{"query", "--db", "$DB", "--format", "saf", "nothing.example.com"}}},
		{"json", [][]string{{"query", "--db", "$DB", "--format", "json", "--limit", "2", "-t", "A", "*.example.com"}}},
		{"json-empty", [][]string{{"query", "--db", "$DB", "--format", "json", "nothing.example.com"}}},
		{"empty", [][]string{
			{"query", "--db", "$DB", "nothing.example.com"},
			{"query", "--db", "$DB", "--format", "table", "nothing.example.com"}}},
		{"fences", [][]string{
			{"query", "--db", "$DB", "--format", "table", "--last-after", "2023-11-14T22:16:40Z", "*.example.com"},
			{"query", "--db", "$DB", "--format", "table", "--first-before", "1700000005", "-t", "A", "*.example.com"},
			{"query", "--db", "$DB", "--format", "table", "--last-after=-7300d", "--last-before", "2023-11-14T22:10:00Z", "*.example.com"},
			{"query", "--db", "$DB", "--format", "table", "--last-after", "-7d", "*.example.com"}}},
		{"offset", [][]string{{"query", "--db", "$DB", "--offset", "1", "--limit", "1", "-t", "A", "www.example.com"}}},
		{"summarize", [][]string{
			{"query", "--db", "$DB", "--summarize", "*.example.com"},
			{"query", "--db", "$DB", "--summarize", "--format", "table", "-t", "ALL", "example.com"},
			{"query", "--db", "$DB", "--summarize", "--format", "saf", "old.example.com"}}},
		{"errors", [][]string{
			{"query", "--db", "$DB"},
			{"query", "--db", "$DB", "--format", "xml", "example.com"},
			{"query", "--db", "$DB", "--rdata", "--raw", "example.com"},
			{"query", "--db", "$DB", "-t", "BOGUS", "example.com"},
			{"query", "--db", "$DB", "192.0.2.9-192.0.2.1"},
			{"query", "--db", "$DB", "192.0.2.0/24", "-t", "MX"},
			{"query", "--db", "$DB", "--cursor", "garbage!", "example.com"},
			{"query", "--db", "$DB", "--last-after", "yesterday", "example.com"},
			{"query", "--db", "$DB", "--rdata", "--bailiwick", "com", "example.com"},
			{"query", "--db", "$DB", "a..example.com"},
			{"query", "--db", "$DB/missing", "example.com"}}},
		{"stats", [][]string{{"pdns", "stats", "--db", "$DB"}}},
		{"stats-json", [][]string{{"pdns", "stats", "--db", "$DB", "--format", "json"}}},
		{"export", [][]string{{"pdns", "export", "--db", "$DB"}}},
		{"export-file", [][]string{{"pdns", "export", "--db", "$DB", "-o", "$OUT"}}},
		{"prune", [][]string{
			{"pdns", "prune", "--db", "$DB", "--before", "1700000300"},
			{"query", "--db", "$DB", "--format", "table", "-t", "ALL", "*"},
			{"pdns", "prune", "--db", "$DB", "--before", "2023-11-15", "--compact"},
			{"pdns", "stats", "--db", "$DB"}}},
		{"pdns-errors", [][]string{
			{"pdns"},
			{"pdns", "prune", "--db", "$DB"},
			{"pdns", "prune", "--db", "$DB", "--before", "soon"},
			{"pdns", "stats", "--db", "$DB", "--format", "xml"}}},
		{"help", [][]string{{"query", "--help"}, {"pdns", "prune", "--help"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := querySeedStore(t)
			out := filepath.Join(t.TempDir(), "out.ndjson")
			var tr strings.Builder
			for _, c := range tc.cmds {
				args := make([]string, len(c))
				for i, a := range c {
					args[i] = strings.NewReplacer("$DB", dir, "$OUT", out).Replace(a)
				}
				stdout, stderr, code := queryRun(t, args, "")
				tr.WriteString("$ dnsscout " + strings.Join(c, " ") + "\n")
				tr.WriteString(stdout)
				if stderr != "" {
					tr.WriteString("--- stderr\n" + stderr)
				}
				tr.WriteString("--- exit " + strconv.Itoa(code) + "\n")
				if strings.Contains(strings.Join(c, " "), "$OUT") && code == 0 {
					b, err := os.ReadFile(out)
					if err != nil {
						t.Fatal(err)
					}
					tr.WriteString("--- $OUT\n")
					tr.Write(b)
				}
			}
			got := strings.ReplaceAll(tr.String(), dir, "$DB")
			got = strings.ReplaceAll(got, out, "$OUT")
			got = queryOnDiskRe.ReplaceAllString(got, "${1}(varies)")
			got = queryBytesRe.ReplaceAllString(got, `"bytes_on_disk": 0`)
			golden := filepath.Join("testdata", "query", tc.name+".golden")
			if queryUpdateGolden() {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cli -run TestQueryTranscripts -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("transcript differs from %s (rerun with -update if the change is intended):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestQueryPaging follows the printed cursor page by page and checks that
// the pages add up to the unlimited answer.
func TestQueryPaging(t *testing.T) {
	dir := querySeedStore(t)
	full, _, code := queryRun(t, []string{"query", "--db", dir, "-t", "ALL", "*"}, "")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	cursorRe := regexp.MustCompile(`--cursor (\S+)`)
	var pages strings.Builder
	args := []string{"query", "--db", dir, "-t", "ALL", "--limit", "4", "*"}
	for n := 0; ; n++ {
		stdout, stderr, code := queryRun(t, args, "")
		if code != 0 {
			t.Fatalf("page %d: exit %d: %s", n, code, stderr)
		}
		if strings.Count(stdout, "\n") > 4 {
			t.Fatalf("page %d has more than 4 lines", n)
		}
		pages.WriteString(stdout)
		m := cursorRe.FindStringSubmatch(stderr)
		if m == nil {
			break
		}
		if n > 20 {
			t.Fatal("too many pages")
		}
		args = []string{"query", "--db", dir, "-t", "ALL", "--limit", "4", "--cursor", m[1], "*"}
	}
	if pages.String() != full {
		t.Errorf("pages:\n%s\nwant:\n%s", pages.String(), full)
	}
	if strings.Count(full, "\n") < 10 {
		t.Errorf("the fixture gave only %d records", strings.Count(full, "\n"))
	}
}

// TestExportRoundTrip reads the export back with the COF decoder and
// compares it with the fixture.
func TestExportRoundTrip(t *testing.T) {
	dir := querySeedStore(t)
	stdout, stderr, code := queryRun(t, []string{"pdns", "export", "--db", dir}, "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := storetest.Merged(storetest.Fixture())
	dec := pdns.NewDecoder(strings.NewReader(stdout))
	var got []pdns.Tuple
	for {
		var err error
		got, err = dec.Decode(got)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("exported %d tuples, want %d", len(got), len(want))
	}
	for _, g := range got {
		w, ok := want[g.Key()]
		if !ok {
			t.Errorf("unexpected %v", g.Key())
			continue
		}
		if len(w.SensorIDs) == 0 {
			w.SensorIDs = nil
		}
		if len(g.SensorIDs) == 0 {
			g.SensorIDs = nil
		}
		if g.Count != w.Count || g.TimeFirst != w.TimeFirst || g.TimeLast != w.TimeLast || g.ZoneTimeFirst != w.ZoneTimeFirst ||
			g.ZoneTimeLast != w.ZoneTimeLast || g.Bailiwick != w.Bailiwick || !slices.Equal(g.SensorIDs, w.SensorIDs) {
			t.Errorf("%v: exported %+v, want %+v", g.Key(), g, w)
		}
	}
}

// TestQueryDefaultDir finds the store in $XDG_DATA_HOME without --db.
func TestQueryDefaultDir(t *testing.T) {
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	dir, err := store.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(data, "dnsscout", "pdns"); dir != want {
		t.Fatalf("DefaultDir = %s, want %s", dir, want)
	}
	seeded := querySeedStore(t)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(seeded, dir); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := queryRun(t, []string{"query", "-t", "A", "mail.example.com"}, "")
	if code != 0 || !strings.Contains(stdout, `"rdata":["192.0.2.25"]`) {
		t.Errorf("query without --db: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
