package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// runIn is run with stdin.
func runIn(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{getenv: func(string) string { return "" }, resolvConf: filepath.Join(t.TempDir(), "missing-resolv.conf"),
		stdin: stdin, stdout: &out, stderr: &errb}
	code := runEnv(context.Background(), e, args)
	return code, out.String(), errb.String()
}

// inventoryWorld serves a.test, b.test and c.test (c.test with a
// wildcard) behind an in-process recursor and returns the common flags.
func inventoryWorld(t *testing.T) []string {
	t.Helper()
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.InProcess,
		Resolver:    dnstest.ResolverInProcess,
		Zones: []dnstest.WorldZone{
			{Name: "a.test", Records: "www IN A 192.0.2.10\n@ IN MX 10 mail\nmail IN A 192.0.2.11\n"},
			{Name: "b.test", Records: "mail IN A 192.0.2.20\n"},
			{Name: "c.test", Records: "* IN A 192.0.2.30\n"},
		},
	})
	return []string{"recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)), "--progress", "never",
		"--timeout", "500ms", "--retries", "1", "--no-ptr", "-w", writeWords(t, "www", "mail", "vpn")}
}

func writeWords(t *testing.T, words ...string) string {
	p := filepath.Join(t.TempDir(), "words.txt")
	os.WriteFile(p, []byte(strings.Join(words, "\n")+"\n"), 0o644)
	return p
}

// ndjsonDomains returns the domain of each NDJSON line, with "!" after
// the domains that carry an error.
func ndjsonDomains(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var d struct{ Domain, Error string }
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("NDJSON line %.100q: %v", l, err)
		}
		if d.Error != "" {
			d.Domain += "!"
		}
		got = append(got, d.Domain)
	}
	return got
}

func TestReconInventory(t *testing.T) {
	common := inventoryWorld(t)
	rng := rand.New(rand.NewPCG(3, 4))
	garbage := make([]byte, 10<<20)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	tests := []struct {
		name    string
		stdin   string
		args    []string
		code    int
		domains []string // sorted NDJSON domains
		stderr  []string
	}{
		{
			name:    "list on stdin with comments, URLs, duplicates, bad lines",
			stdin:   "# portfolio\na.test\nhttps://B.test/login\nnot a domain\na.test\n*.c.test\n",
			args:    []string{"-l", "-"},
			domains: []string{"a.test", "b.test", "c.test"},
			stderr:  []string{`line 4: "not a domain": more than one field`, "line 5", "a.test already listed on line 2", "3 domains from 6 lines, 1 invalid (skipped), 1 duplicate (skipped)", "3 domains: 3 examined"},
		},
		{
			name:    "arguments and a list",
			stdin:   "b.test\n",
			args:    []string{"-l", "-", "a.test"},
			domains: []string{"a.test", "b.test"},
		},
		{
			name:    "a domain that does not exist is a line with its error",
			stdin:   "a.test\nnowhere.test\n",
			args:    []string{"-l", "-"},
			code:    ExitError,
			domains: []string{"a.test", "nowhere.test!"},
			stderr:  []string{"1 of 2 domains failed"},
		},
		{
			name:   "empty list",
			stdin:  "",
			args:   []string{"-l", "-"},
			code:   ExitUsage,
			stderr: []string{"list standard input holds no valid domain (0 domains from 0 lines)"},
		},
		{
			name:   "10 MB of garbage",
			stdin:  string(garbage),
			args:   []string{"-l", "-"},
			code:   ExitUsage,
			stderr: []string{"holds no valid domain", "more lines skipped or noted"},
		},
		{
			name:   "list over the cap",
			stdin:  "a.test\nb.test\nc.test\n",
			args:   []string{"-l", "-", "--list-max-domains", "2"},
			code:   ExitUsage,
			stderr: []string{"more than 2 (line 3)", "--list-max-domains"},
		},
		{
			name:   "missing list file",
			args:   []string{"-l", "/nonexistent/list.txt"},
			code:   ExitError,
			stderr: []string{"list: open /nonexistent/list.txt"},
		},
		{
			name:    "fail-on over the inventory",
			stdin:   "a.test\nc.test\n",
			args:    []string{"-l", "-", "--fail-on", "info"},
			code:    ExitFindings,
			domains: []string{"a.test", "c.test"},
		},
		{
			name:   "formats that are not an inventory's",
			stdin:  "a.test\n",
			args:   []string{"-l", "-", "--format", "md"},
			code:   ExitUsage,
			stderr: []string{"--format ndjson", "html, xlsx, csv"},
		},
		{
			name:   "bad shard",
			stdin:  "a.test\n",
			args:   []string{"-l", "-", "--shard", "3/2"},
			code:   ExitUsage,
			stderr: []string{"--shard"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runIn(t, strings.NewReader(tc.stdin), append(slicesClone(common), tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%.2000s", code, tc.code, errOut)
			}
			got := ndjsonDomains(t, out)
			sortStrings(got)
			if strings.Join(got, " ") != strings.Join(tc.domains, " ") {
				t.Errorf("NDJSON domains %v, want %v", got, tc.domains)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%.2000s", s, errOut)
				}
			}
			if len(errOut) > 4096 {
				t.Errorf("stderr holds %d bytes: bad input must give a short message", len(errOut))
			}
		})
	}
}

// TestReconInventoryPipeClosedEarly: a list whose writer dies mid-line is
// examined as far as it goes, and the cut is said.
func TestReconInventoryPipeClosedEarly(t *testing.T) {
	common := inventoryWorld(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go func() {
		pw.WriteString("a.test\nb.test\nc.te")
		pw.Close()
	}()
	code, out, errOut := runIn(t, pr, append(common, "-l", "-")...)
	if code != ExitError { // "c.te" does not exist
		t.Fatalf("exit %d; stderr %s", code, errOut)
	}
	if !strings.Contains(errOut, "line 3") || !strings.Contains(errOut, "cut short") {
		t.Errorf("stderr does not say the list was cut:\n%s", errOut)
	}
	if got := ndjsonDomains(t, out); len(got) != 3 {
		t.Errorf("NDJSON domains %v", got)
	}
}

// TestReconInventoryOutputDir: one file per domain, a journal that
// refuses a fresh run into the same directory, and --resume DIR that
// examines nothing twice.
func TestReconInventoryOutputDir(t *testing.T) {
	common := inventoryWorld(t)
	dir := filepath.Join(t.TempDir(), "out")
	list := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(list, []byte("a.test\nb.test\nc.test\n"), 0o644)
	code, out, errOut := runIn(t, nil, append(slicesClone(common), "-l", list, "--output-dir", dir)...)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q; stderr %s", code, out, errOut)
	}
	for _, d := range []string{"a.test", "b.test", "c.test"} {
		b, err := os.ReadFile(filepath.Join(dir, d+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Domain string }
		if err := json.Unmarshal(b, &doc); err != nil || doc.Domain != d {
			t.Fatalf("%s.json: %v %q", d, err, doc.Domain)
		}
	}
	code, _, errOut = runIn(t, nil, append(slicesClone(common), "-l", list, "--output-dir", dir)...)
	if code != ExitUsage || !strings.Contains(errOut, "--resume "+dir) {
		t.Fatalf("second run into the same directory: exit %d; stderr %s", code, errOut)
	}
	code, out, errOut = runIn(t, nil, append(slicesClone(common), "-l", list, "--resume", dir, "-o", "-")...)
	if code != 0 || !strings.Contains(errOut, "3 from the earlier run") || out != "" {
		t.Fatalf("resume: exit %d, stdout %q; stderr %s", code, out, errOut)
	}
}

// TestReconInventoryReport: --format html|csv|xlsx ends the inventory
// with one report built from the per-domain files.
func TestReconInventoryReport(t *testing.T) {
	common := inventoryWorld(t)
	list := "a.test\nc.test\nnowhere.test\n"
	out := filepath.Join(t.TempDir(), "inventory.html")
	code, stdout, errOut := runIn(t, strings.NewReader(list), append(slicesClone(common), "-l", "-", "--format", "html", "-o", out)...)
	if code != ExitError || stdout != "" {
		t.Fatalf("exit %d (want 1: nowhere.test), stdout %q; stderr %s", code, stdout, errOut)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DNS exposure inventory: 3 domains", `id="overview"`, `<section class="domain" id="d0"`, "not examined: recon: domain does not exist"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	code, stdout, errOut = runIn(t, strings.NewReader(list), append(slicesClone(common), "-l", "-", "--format", "csv")...)
	if code != ExitError || !strings.HasPrefix(stdout, "domain,severity,id,title") || !strings.Contains(stdout, "nowhere.test,,,not examined") {
		t.Fatalf("csv: exit %d; stdout:\n%s\nstderr %s", code, stdout, errOut)
	}
}

// TestReconInventoryExpand: --expand related adds the domains that the
// passive DNS store says share the list's nameserver (b.test) or mail
// exchanger (c.test), marked discovered.
func TestReconInventoryExpand(t *testing.T) {
	common := inventoryWorld(t)
	db := filepath.Join(t.TempDir(), "pdns")
	zone := filepath.Join(t.TempDir(), "seen.zone")
	os.WriteFile(zone, []byte("b.test. 3600 IN NS ns1.a.test.\nc.test. 3600 IN MX 10 mail.a.test.\nelse.example. 3600 IN NS ns.elsewhere.example.\n"), 0o644)
	if code, _, errOut := runIn(t, nil, "ingest", "--db", db, zone); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	code, out, errOut := runIn(t, strings.NewReader("a.test\n"), append(slicesClone(common), "-l", "-", "--expand", "related", "--db", db)...)
	if code != 0 {
		t.Fatalf("exit %d; stderr %s", code, errOut)
	}
	var discovered []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d struct {
			Domain     string
			Discovered bool
		}
		json.Unmarshal([]byte(l), &d)
		if d.Discovered {
			discovered = append(discovered, d.Domain)
		}
	}
	sortStrings(discovered)
	if strings.Join(discovered, " ") != "b.test c.test" || !strings.Contains(errOut, "(2 discovered)") {
		t.Fatalf("discovered %v; stderr %s", discovered, errOut)
	}
	code, _, errOut = runIn(t, strings.NewReader("a.test\n"), append(slicesClone(common), "-l", "-", "--expand", "related")...)
	if code != ExitUsage || !strings.Contains(errOut, "give --db") {
		t.Fatalf("without a store: exit %d, %s", code, errOut)
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

// TestReconRecordsHistory: recon --db records each domain examined as a
// scan in the store's scan history, single-domain or inventory; a second
// run is a second scan; --passive-only records none.
func TestReconRecordsHistory(t *testing.T) {
	common := inventoryWorld(t)
	db := filepath.Join(t.TempDir(), "pdns")
	runs := [][]string{
		append(slicesClone(common), "--db", db, "a.test"),
		append(slicesClone(common), "--db", db, "-l", "-", "-o", filepath.Join(t.TempDir(), "out.ndjson")),
		append(slicesClone(common), "--db", db, "--passive-only", "a.test"),
	}
	for i, args := range runs {
		if code, _, errOut := runIn(t, strings.NewReader("a.test\nb.test\n"), args...); code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, errOut)
		}
	}
	st, err := pebble.Open(context.Background(), db, pebble.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := store.HistoryOf(st)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]int{"a.test": 2, "b.test": 1, "c.test": 0} {
		scans, _, err := h.Scans(context.Background(), store.ScanQuery{Domain: d})
		if err != nil || len(scans) != want {
			t.Errorf("%s: %d scans (%v), want %d: %+v", d, len(scans), err, want, scans)
		}
	}
}
