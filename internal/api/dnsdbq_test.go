package api

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

// These tests run Debian's dnsdbq (2.6.4), unchanged, against the server
// on a loopback port, in its DNSDB API v2 mode and in its CIRCL mode, and
// check that it prints exactly what the store's own Lookup returns.

// dnsdbqPath returns dnsdbq, skipping when it is absent unless
// DNSSCOUT_REAL_SERVERS=require.
func dnsdbqPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dnsdbq")
	if err == nil {
		return p
	}
	if os.Getenv("DNSSCOUT_REAL_SERVERS") == "require" {
		t.Fatal("dnsdbq not found: apt-get install dnsdbq")
	}
	t.Skip("dnsdbq not installed (Debian package dnsdbq); DNSSCOUT_REAL_SERVERS=require makes this a failure")
	return ""
}

// dnsdbq runs the client with a clean environment: no proxy variables
// (curl would honour them), a HOME without configuration, and the given
// variables.
func runDnsdbq(t *testing.T, vars []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	exe := dnsdbqPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	home := t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TZ=UTC"}, vars...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("dnsdbq %v timed out", args)
	}
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// dnsdbqEnv starts a keyed server with a few more tuples than the
// fixture and returns it with dnsdbq's DNSDB-mode variables.
func dnsdbqEnv(t *testing.T) (*env, []string, string) {
	t.Helper()
	dnsdbqPath(t)
	e := newEnv(t, nil)
	var more []pdns.Tuple
	for i := range 40 {
		more = append(more, pdns.Tuple{RRName: "h" + strconv.Itoa(i) + ".bulk.example.org", RRType: 1,
			RData: "198.51.100." + strconv.Itoa(i), Bailiwick: "example.org", TimeFirst: storetest.T0 + int64(i)*100,
			TimeLast: storetest.T0 + int64(i)*100 + 50, Count: uint64(i + 1), SensorIDs: []string{"s1"}})
	}
	if err := e.db.Upsert(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	tok := e.addKey(keys.Spec{Name: "dnsdbq", Perms: []keys.Permission{keys.PermQuery}, Limits: keys.Limits{DailyQuota: 500}})
	conf := filepath.Join(t.TempDir(), "dnsdbq.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return e, []string{"DNSDB_SERVER=" + e.url, "DNSDB_API_KEY=" + tok, "DNSDBQ_CONFIG_FILE=" + conf}, tok
}

// dnsdbqObjects parses dnsdbq -j output into blocks of objects, split at
// batch mode's "--" lines; "++" lines are skipped.
func dnsdbqObjects(t *testing.T, out string) [][]map[string]any {
	t.Helper()
	blocks := [][]map[string]any{nil}
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "++"):
		case strings.HasPrefix(line, "--"):
			blocks = append(blocks, nil)
		default:
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("dnsdbq printed a line that is not JSON: %q", line)
			}
			blocks[len(blocks)-1] = append(blocks[len(blocks)-1], m)
		}
	}
	return blocks
}

// checkObjects compares dnsdbq's objects with tuples: same records, same
// counts and times; in order unless sorted.
func checkObjects(t *testing.T, objs []map[string]any, want []pdns.Tuple, sorted bool) {
	t.Helper()
	byKey := map[tupleKey]pdns.Tuple{}
	for _, w := range want {
		byKey[tupleKey{w.RRName, pdns.TypeString(w.RRType), w.RData}] = w
	}
	var got []tupleKey
	for _, o := range objs {
		k := objKey(t, o)
		got = append(got, k)
		w, ok := byKey[k]
		if !ok {
			continue
		}
		num := func(f string) int64 { v, _ := o[f].(float64); return int64(v) }
		if uint64(num("count")) != w.Count || num("time_first") != w.TimeFirst || num("time_last") != w.TimeLast ||
			num("zone_time_first") != w.ZoneTimeFirst || num("zone_time_last") != w.ZoneTimeLast {
			t.Errorf("record %v: dnsdbq shows %v, the store holds %+v", k, o, w)
		}
	}
	exp := tupleKeys(want)
	if sorted {
		got, exp = sortedKeys(got), sortedKeys(exp)
	}
	if !slices.Equal(got, exp) {
		t.Fatalf("dnsdbq printed\n  %v\nthe store holds\n  %v", got, exp)
	}
}

func ipq(t *testing.T, s string, tf store.TypeFilter) store.Query {
	lo, hi, err := store.ParseIPQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return store.Query{Kind: store.KindRDataIP, IPLow: lo, IPHigh: hi, Type: tf}
}

func TestDnsdbqDNSDB(t *testing.T) {
	e, vars, _ := dnsdbqEnv(t)
	T := int64(storetest.T0)
	one := func(t uint16) store.TypeFilter { return store.OneType(t) }
	for _, tc := range []struct {
		name   string
		args   []string
		qs     []store.Query // the records are these queries' results, united
		sorted bool
	}{
		{"rrset", []string{"-r", "www.example.com"}, []store.Query{{Kind: store.KindRRSet, Name: "www.example.com"}}, false},
		{"rrset type", []string{"-r", "www.example.com/A"}, []store.Query{{Kind: store.KindRRSet, Name: "www.example.com", Type: one(1)}}, false},
		{"rrset -t fan-out", []string{"-r", "*.example.com", "-t", "A,AAAA"},
			[]store.Query{{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, Type: one(1)},
				{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, Type: one(28)}}, true},
		{"left wildcard", []string{"-r", "*.example.com"}, []store.Query{{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft}}, false},
		{"right wildcard", []string{"-r", "www.example.*"}, []store.Query{{Kind: store.KindRRSet, Name: "www.example", Wildcard: store.WildRight}}, false},
		{"any-dnssec", []string{"-r", "example.com", "-t", "ANY-DNSSEC"}, []store.Query{{Kind: store.KindRRSet, Name: "example.com", Type: store.TypeANYDNSSEC}}, false},
		{"bailiwick", []string{"-r", "www.example.com", "-b", "example.net"}, []store.Query{{Kind: store.KindRRSet, Name: "www.example.com", Bailiwick: "example.net"}}, false},
		{"rdata name", []string{"-n", "www.example.com"}, []store.Query{{Kind: store.KindRDataName, Name: "www.example.com"}}, false},
		{"rdata wildcard", []string{"-n", "*.example.net"}, []store.Query{{Kind: store.KindRDataName, Name: "example.net", Wildcard: store.WildLeft}}, false},
		{"ip", []string{"-i", "192.0.2.1"}, []store.Query{ipq(t, "192.0.2.1", 0)}, false},
		{"ip cidr", []string{"-i", "192.0.2.0/24"}, []store.Query{ipq(t, "192.0.2.0/24", 0)}, false},
		{"ip cidr v6", []string{"-i", "2001:db8::/32"}, []store.Query{ipq(t, "2001:db8::/32", 0)}, false},
		{"ip range", []string{"-i", "198.51.100.3-198.51.100.17"}, []store.Query{ipq(t, "198.51.100.3-198.51.100.17", 0)}, false},
		{"fence -A", []string{"-r", "*.bulk.example.org", "-A", strconv.FormatInt(T+2000, 10)},
			[]store.Query{{Kind: store.KindRRSet, Name: "bulk.example.org", Wildcard: store.WildLeft, LastAfter: T + 2000}}, false},
		{"fence -B", []string{"-r", "*.bulk.example.org", "-B", strconv.FormatInt(T+1000, 10)},
			[]store.Query{{Kind: store.KindRRSet, Name: "bulk.example.org", Wildcard: store.WildLeft, FirstBefore: T + 1000}}, false},
		{"fence -A -B -c", []string{"-r", "*.bulk.example.org", "-c", "-A", strconv.FormatInt(T+500, 10), "-B", strconv.FormatInt(T+1500, 10)},
			[]store.Query{{Kind: store.KindRRSet, Name: "bulk.example.org", Wildcard: store.WildLeft, FirstAfter: T + 500, LastBefore: T + 1500}}, false},
		{"fence date", []string{"-r", "*.example.com", "-A", "2023-11-14 22:20:00"},
			[]store.Query{{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft, LastAfter: time.Date(2023, 11, 14, 22, 20, 0, 0, time.UTC).Unix()}}, false},
		{"limit", []string{"-r", "*.bulk.example.org", "-l", "7"}, []store.Query{{Kind: store.KindRRSet, Name: "bulk.example.org", Wildcard: store.WildLeft, Limit: 7}}, false},
		{"offset", []string{"-r", "*.bulk.example.org", "-l", "5", "-O", "30"}, []store.Query{{Kind: store.KindRRSet, Name: "bulk.example.org", Wildcard: store.WildLeft, Limit: 5, Offset: 30}}, false},
		{"raw rdata", []string{"-N", "c0000201/A"}, []store.Query{{Kind: store.KindRDataRaw, RData: "192.0.2.1", Type: one(1)}}, false},
		{"raw rrset", []string{"-R", "076578616d706c6503636f6d00/NS"}, []store.Query{{Kind: store.KindRRSet, Name: "example.com", Type: one(2)}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runDnsdbq(t, vars, "", append(tc.args, "-j")...)
			if code != 0 {
				t.Fatalf("dnsdbq exit %d: %s", code, errOut)
			}
			var want []pdns.Tuple
			for _, q := range tc.qs {
				want = append(want, e.lookup(q)...)
			}
			if len(want) == 0 && tc.name != "bailiwick" {
				t.Fatalf("the store holds nothing for %v: a useless case", tc.qs)
			}
			blocks := dnsdbqObjects(t, out)
			checkObjects(t, blocks[0], want, tc.sorted)
		})
	}
}

func TestDnsdbqSummarizeRateBatch(t *testing.T) {
	e, vars, _ := dnsdbqEnv(t)
	out, errOut, code := runDnsdbq(t, vars, "", "-V", "summarize", "-r", "*.bulk.example.org", "-j")
	if code != 0 {
		t.Fatalf("summarize: %d %s", code, errOut)
	}
	want, err := store.Summarize(context.Background(), e.db, store.Query{Kind: store.KindRRSet, Name: "bulk.example.org", Wildcard: store.WildLeft, Limit: 10000}, 0)
	if err != nil {
		t.Fatal(err)
	}
	objs := dnsdbqObjects(t, out)[0]
	if len(objs) != 1 || uint64(objs[0]["count"].(float64)) != want.Count || int64(objs[0]["num_results"].(float64)) != want.NumResults ||
		int64(objs[0]["time_first"].(float64)) != want.TimeFirst || int64(objs[0]["time_last"].(float64)) != want.TimeLast {
		t.Fatalf("summarize: dnsdbq %v, store %+v", objs, want)
	}
	out, _, _ = runDnsdbq(t, vars, "", "-V", "summarize", "-r", "*.bulk.example.org", "-M", "10", "-j")
	if objs := dnsdbqObjects(t, out)[0]; len(objs) != 1 || objs[0]["count"].(float64) < 10 || objs[0]["count"].(float64) >= float64(want.Count) {
		t.Fatalf("summarize -M 10: %v", objs)
	}

	// Batch mode: each answer is followed by "--".
	batch := "rrset/name/www.example.com/A\nrdata/ip/198.51.100.0,28\n$OPTIONS -l 3\nrrset/name/*.bulk.example.org\n"
	out, errOut, code = runDnsdbq(t, vars, batch, "-f", "-j")
	if code != 0 {
		t.Fatalf("batch: %d %s", code, errOut)
	}
	blocks := dnsdbqObjects(t, out)
	if len(blocks) != 4 || len(blocks[3]) != 0 {
		t.Fatalf("batch: %d blocks:\n%s", len(blocks), out)
	}
	checkObjects(t, blocks[0], e.lookup(store.Query{Kind: store.KindRRSet, Name: "www.example.com", Type: store.OneType(1)}), false)
	checkObjects(t, blocks[1], e.lookup(ipq(t, "198.51.100.0/28", 0)), false)
	checkObjects(t, blocks[2], e.lookup(store.Query{Kind: store.KindRRSet, Name: "bulk.example.org", Wildcard: store.WildLeft, Limit: 3}), false)

	// -I: the key's quota, after the queries above (1 + 1 + 3 + the
	// fan-out requests of other tests do not share this server).
	out, errOut, code = runDnsdbq(t, vars, "", "-I", "-j")
	if code != 0 {
		t.Fatalf("-I: %d %s", code, errOut)
	}
	var rl struct {
		Rate map[string]any `json:"rate"`
	}
	if err := json.Unmarshal([]byte(out), &rl); err != nil {
		t.Fatalf("-I output %q: %v", out, err)
	}
	if rl.Rate["limit"] != float64(500) || rl.Rate["remaining"] != float64(500-5) {
		t.Fatalf("-I: %v (want limit 500, remaining 495)", rl.Rate)
	}
	out, _, code = runDnsdbq(t, vars, "", "-I")
	if code != 0 || !strings.Contains(out, "remaining: 495") {
		t.Fatalf("-I text: %d %q", code, out)
	}
}

func TestDnsdbqRefusals(t *testing.T) {
	e, vars, _ := dnsdbqEnv(t)
	bad := slices.Clone(vars)
	bad[1] = "DNSDB_API_KEY=dss_aaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	out, errOut, code := runDnsdbq(t, bad, "", "-r", "www.example.com", "-j")
	// dnsdbq exits 0 on HTTP errors; it prints the status on stderr.
	if out != "" || !strings.Contains(errOut, "libcurl 403") {
		t.Fatalf("wrong key: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	small := e.addKey(keys.Spec{Limits: keys.Limits{DailyQuota: 1}})
	vars[1] = "DNSDB_API_KEY=" + small
	if _, errOut, code := runDnsdbq(t, vars, "", "-r", "www.example.com", "-j"); code != 0 {
		t.Fatalf("first query: %d %s", code, errOut)
	}
	out, errOut, code = runDnsdbq(t, vars, "", "-r", "www.example.com", "-j")
	if out != "" || !strings.Contains(errOut, "libcurl 429") {
		t.Fatalf("past the quota: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestDnsdbqCIRCL(t *testing.T) {
	e, _, tok := dnsdbqEnv(t)
	id, secret, _ := keys.ParseToken(tok)
	conf := filepath.Join(t.TempDir(), "circl.conf")
	write := func(auth string) {
		c := "DNSDBQ_SYSTEM=circl\nCIRCL_SERVER=" + e.url + "/pdns/query\nCIRCL_AUTH=" + auth + "\n"
		if err := os.WriteFile(conf, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(id + ":" + secret)
	vars := []string{"DNSDBQ_CONFIG_FILE=" + conf}
	union := func(value string) []pdns.Tuple {
		q, err := store.ParseQuery(value, false)
		if err != nil {
			t.Fatal(err)
		}
		out := e.lookup(q)
		if q.Kind == store.KindRRSet {
			v := q
			if err := v.Validate(); err != nil {
				t.Fatal(err)
			}
			r := q
			r.Kind = store.KindRDataName
			for _, x := range e.lookup(r) {
				if !v.Match(&x) {
					out = append(out, x)
				}
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		args  []string
		value string
	}{
		{"rrset name", []string{"-r", "www.example.com"}, "www.example.com"},
		{"rdata name", []string{"-n", "mail.example.com"}, "mail.example.com"},
		{"wildcard", []string{"-r", "*.example.com"}, "*.example.com"},
		{"ip", []string{"-i", "192.0.2.1"}, "192.0.2.1"},
		{"cidr", []string{"-i", "198.51.100.0/27"}, "198.51.100.0/27"},
		{"cidr v6", []string{"-i", "2001:db8::/32"}, "2001:db8::/32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runDnsdbq(t, vars, "", append([]string{"-u", "circl", "-j"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("dnsdbq -u circl exit %d: %s", code, errOut)
			}
			want := union(tc.value)
			if len(want) == 0 {
				t.Fatal("the store holds nothing: a useless case")
			}
			checkObjects(t, dnsdbqObjects(t, out)[0], want, false)
		})
	}
	if out, errOut, code := runDnsdbq(t, vars, "", "-u", "circl", "-j", "-r", "nothing.example.com"); code != 0 || out != "" {
		t.Fatalf("no results: exit %d %q %s", code, out, errOut)
	}
	write(id + ":" + strings.Repeat("z", 26))
	if out, errOut, code := runDnsdbq(t, vars, "", "-u", "circl", "-j", "-r", "www.example.com"); out != "" || !strings.Contains(errOut, "libcurl 401") {
		t.Fatalf("wrong password: exit %d %q %s", code, out, errOut)
	}
}
