package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/store/clickhouse/chtest"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

func migrateRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestMigrateUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"pdns", "migrate", "--help"}, ExitOK, "migrate creates the database"},
		{[]string{"pdns", "--help"}, ExitOK, "migrate"},
		{[]string{"pdns", "migrate", "--db", t.TempDir()}, ExitOK, "nothing to migrate"},
		{[]string{"pdns", "migrate", "--db", "mysql://127.0.0.1/x"}, ExitUsage, "unknown store scheme"},
		{[]string{"pdns", "migrate", "--db", "clickhouse://127.0.0.1:9000/bad-name"}, ExitUsage, "bad DSN"},
		{[]string{"pdns", "migrate", "--db", "clickhouse://127.0.0.1:9000/x?cluster=a", "--cluster", "b"}, ExitUsage, "contradicts"},
		{[]string{"pdns", "migrate", "--db", t.TempDir(), "--cluster", "b"}, ExitUsage, "needs a clickhouse"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errs, code := migrateRun(t, tc.args...)
			if code != tc.code || !strings.Contains(out+errs, tc.out) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errs, tc.code, tc.out)
			}
		})
	}
}

// TestMigrateClickHouse: migrate a real server's database, then use it
// through the ordinary --db flag of ingest, query and pdns stats.
func TestMigrateClickHouse(t *testing.T) {
	s := chtest.StartServer(t)
	dsn := "clickhouse://" + s.Addr + "/cli_test"
	for range 2 {
		out, errs, code := migrateRun(t, "pdns", "migrate", "--db", dsn)
		if code != ExitOK || out != "schema version 2 ready in database cli_test on 1 server\n" {
			t.Fatalf("migrate: exit %d, %q %q", code, out, errs)
		}
	}
	// Load the fixture through ingest (COF NDJSON on stdin).
	var cof bytes.Buffer
	for _, tu := range storetest.Fixture() {
		if tu.TimeFirst == 0 {
			continue
		}
		line, _ := json.Marshal(map[string]any{"rrname": tu.RRName, "rrtype": "A", "rdata": []string{"192.0.2.250"},
			"time_first": tu.TimeFirst, "time_last": tu.TimeLast, "count": tu.Count})
		if strings.Contains(tu.RRName, `\`) {
			continue
		}
		cof.Write(line)
		cof.WriteByte('\n')
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"ingest", "--db", dsn, "-"}, &cof, &out, &errb)
	if code != ExitOK {
		t.Fatalf("ingest: exit %d: %s %s", code, out.String(), errb.String())
	}
	qout, qerr, code := migrateRun(t, "query", "--db", dsn, "--format", "table", "192.0.2.250")
	if code != ExitOK || !strings.Contains(qout, "www.example.com") || !strings.Contains(qout, "host.test") {
		t.Errorf("query: exit %d, %q %q", code, qout, qerr)
	}
	sout, serr, code := migrateRun(t, "pdns", "stats", "--db", dsn)
	if code != ExitOK || !strings.Contains(sout, "clickhouse "+s.Addr+"/cli_test") {
		t.Errorf("stats: exit %d, %q %q", code, sout, serr)
	}
	_, serr, code = migrateRun(t, "query", "--db", "clickhouse://"+s.Addr+"/not_migrated", "example.com")
	if code == ExitOK || !strings.Contains(serr, "pdns migrate") {
		t.Errorf("query on a database without schema: exit %d, %q", code, serr)
	}
}
