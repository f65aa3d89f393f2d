package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

func newEngine(t testing.TB, addr netip.AddrPort) *resolver.Resolver {
	t.Helper()
	res, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{addr}, Timeout: time.Second, Retries: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	return res
}

func portfolioOptions() Options {
	return Options{
		Scan:            scan.Options{Recon: recon.Options{Wordlist: portfolioWords, NoPTR: true}},
		ParallelDomains: 4,
		Concurrency:     200,
	}
}

// comparable drops what differs between any two runs of the same domain,
// single or not: times, statistics, resolver counters, TTLs (they count
// down in the resolver's cache), which of AXFR and IXFR delivered a
// record first (both run at once) and the order of NS sets (the
// resolver rotates them).
func comparable(t testing.TB, doc []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("document: %v\n%.300s", err, doc)
	}
	for _, k := range []string{"started", "finished", "stats", "resolvers"} {
		delete(m, k)
	}
	records, _ := m["records"].([]any)
	for _, r := range records {
		rec := r.(map[string]any)
		delete(rec, "ttl")
		if rec["source"] == "ixfr" {
			rec["source"] = "axfr"
		}
	}
	slices.SortFunc(records, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	zones, _ := m["zones"].([]any)
	for _, z := range zones {
		for _, k := range []string{"child_ns", "parent_ns"} {
			if l, ok := z.(map[string]any)[k].([]any); ok {
				slices.SortFunc(l, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
			}
		}
	}
	return m
}

// docDiff names the members of two documents that differ, with both
// values.
func docDiff(got, want map[string]any) string {
	var b strings.Builder
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !reflect.DeepEqual(got[k], want[k]) {
			g, _ := json.Marshal(got[k])
			w, _ := json.Marshal(want[k])
			fmt.Fprintf(&b, "%s:\n  inventory: %.1500s\n  single:    %.1500s\n", k, g, w)
		}
	}
	return b.String()
}

// singleDoc is the document a single-domain run gives for domain: what
// `dnsscout recon --format json DOMAIN` prints.
func singleDoc(t testing.TB, eng scan.Engine, domain string, opts Options) []byte {
	t.Helper()
	opts.fill()
	o := examine(context.Background(), eng, domain, Options{Scan: opts.Scan, Version: opts.Version}, false)
	return o.JSON
}

// TestInventoryMatchesSingleRuns: an inventory of a hoster's portfolio on
// real servers (shared nameservers, open and closed zones, wildcards, lame
// delegations, a domain that does not exist) gives every domain the
// document a single-domain run gives, streams one NDJSON line and one
// file per domain, and asks each shared nameserver's identity once.
func TestInventoryMatchesSingleRuns(t *testing.T) {
	p := startPortfolio(t, 40, 2)
	domains := append(slices.Clone(p.domains), "nowhere.test")
	eng := newEngine(t, p.resolver)
	dir, err := OpenDir(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	var nd bytes.Buffer
	opts := portfolioOptions()
	sum, err := Run(context.Background(), eng, domains, opts, NewNDJSON(&nd), dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Done+sum.Partial != len(domains)-1 || sum.Failed != 1 || sum.Interrupted != 0 {
		t.Fatalf("summary %+v", sum)
	}
	// Two shared addresses, five zone-free questions each: everything
	// beyond the first ten is a hit.
	if sum.SharedHits == 0 {
		t.Errorf("no question answered from the shared cache")
	}
	lines := strings.Split(strings.TrimSpace(nd.String()), "\n")
	if len(lines) != len(domains) {
		t.Fatalf("%d NDJSON lines for %d domains", len(lines), len(domains))
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var d struct{ Domain, Error string }
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("line %.100s: %v", l, err)
		}
		seen[d.Domain] = true
		if (d.Domain == "nowhere.test") != (d.Error != "") {
			t.Errorf("%s: error %q", d.Domain, d.Error)
		}
	}
	if len(seen) != len(domains) {
		t.Fatalf("NDJSON names %d distinct domains, want %d", len(seen), len(domains))
	}
	single := newEngine(t, p.resolver)
	for _, d := range domains {
		t.Run(d, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(dir.Path(), FileName(d)))
			if err != nil {
				t.Fatal(err)
			}
			want := singleDoc(t, single, d, opts)
			if diff := docDiff(comparable(t, got), comparable(t, want)); diff != "" {
				t.Fatalf("inventory result differs from the single-domain run:\n%s", diff)
			}
		})
	}
}

// TestInventoryKillResume: a run killed with SIGKILL in the middle and
// resumed from its journal ends with one file and one NDJSON line per
// domain, each equal to an uninterrupted run's, and the journal lists
// every domain once.
func TestInventoryKillResume(t *testing.T) {
	p := startPortfolio(t, 40, 1)
	work := t.TempDir()
	list := filepath.Join(work, "list.txt")
	os.WriteFile(list, []byte(strings.Join(p.domains, "\n")+"\n"), 0o644)
	journal, out, nd := filepath.Join(work, "journal"), filepath.Join(work, "out"), filepath.Join(work, "out.ndjson")

	cmd := childCommand(t, p.resolver, list, journal, out, nd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill when a few domains are recorded, while others are in flight.
	deadline := time.Now().Add(60 * time.Second)
	for journalLines(journal) < 5 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child recorded nothing in 60 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killedAt := journalLines(journal)
	if killedAt >= len(p.domains) {
		t.Skipf("the child finished (%d domains) before the kill", killedAt)
	}

	j, err := OpenJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	ndjson, err := OpenNDJSONFile(nd, j)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	opts := portfolioOptions()
	opts.Journal = j
	sum, err := Run(context.Background(), newEngine(t, p.resolver), p.domains, opts, ndjson, dir)
	ndjson.Close()
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed < killedAt-1 || sum.Examined()+sum.Failed != len(p.domains) {
		t.Fatalf("killed at %d recorded; summary %+v", killedAt, sum)
	}
	if n := journalLines(journal); n != len(p.domains) {
		t.Fatalf("journal holds %d lines, want %d", n, len(p.domains))
	}
	b, _ := os.ReadFile(nd)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	perDomain := map[string]int{}
	for _, l := range lines {
		var d struct{ Domain string }
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("NDJSON line %.100q: %v", l, err)
		}
		perDomain[d.Domain]++
	}
	single := newEngine(t, p.resolver)
	for _, d := range p.domains {
		if perDomain[d] != 1 {
			t.Errorf("%s has %d NDJSON lines", d, perDomain[d])
		}
		got, err := os.ReadFile(filepath.Join(out, FileName(d)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := docDiff(comparable(t, got), comparable(t, singleDoc(t, single, d, opts))); diff != "" {
			t.Errorf("%s: resumed result differs from a single-domain run:\n%s", d, diff)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".tmp-*")); len(left) > 0 {
		// durable.WriteFile's temporary file of the domain being written
		// at the kill: harmless, named so a listing skips it.
		t.Logf("temporary files left by the kill: %v", left)
	}
}

func journalLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// TestInventoryInterrupt: cancelling a run writes only finished domains;
// resuming from the journal completes the rest with nothing twice.
func TestInventoryInterrupt(t *testing.T) {
	p := startPortfolio(t, 24, 0)
	work := t.TempDir()
	j, err := OpenJournal(filepath.Join(work, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var nd bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	opts := portfolioOptions()
	opts.Journal = j
	opts.ParallelDomains = 2
	stop := &cancelAfter{n: 3, cancel: cancel}
	sum, err := Run(ctx, newEngine(t, p.resolver), p.domains, opts, NewNDJSON(&nd), stop)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, scan.ErrInterrupted) {
		t.Fatalf("err = %v, want interrupted", err)
	}
	if sum.Interrupted == 0 || sum.Examined()+sum.Failed+sum.Interrupted != len(p.domains) {
		t.Fatalf("summary %+v", sum)
	}
	first := sum.Examined() + sum.Failed
	if got := strings.Count(nd.String(), "\n"); got != first {
		t.Fatalf("%d lines written for %d finished domains", got, first)
	}
	sum, err = Run(context.Background(), newEngine(t, p.resolver), p.domains, opts, NewNDJSON(&nd))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed != first || sum.Examined() != len(p.domains) {
		t.Fatalf("resumed %d (want %d), examined %d", sum.Resumed, first, sum.Examined())
	}
	if got := strings.Count(nd.String(), "\n"); got != len(p.domains) {
		t.Fatalf("%d lines after resume, want %d", got, len(p.domains))
	}
}

// cancelAfter is a sink that cancels the run after n domains.
type cancelAfter struct {
	n      int
	cancel func()
}

func (c *cancelAfter) Put(context.Context, *Outcome) error {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return nil
}

// failingSink fails on its first domain.
type failingSink struct{}

func (failingSink) Put(_ context.Context, o *Outcome) error {
	return fmt.Errorf("disk full writing %s", o.Domain)
}

// TestInventorySinkError: a sink that fails stops the run with its error
// and nothing is recorded as done.
func TestInventorySinkError(t *testing.T) {
	p := startPortfolio(t, 6, 0)
	j, err := OpenJournal(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	opts := portfolioOptions()
	opts.Journal = j
	_, err = Run(context.Background(), newEngine(t, p.resolver), p.domains, opts, failingSink{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
	if tot := j.Totals(); tot.Examined()+tot.Failed != 0 {
		t.Fatalf("journal recorded %+v", tot)
	}
}

// fakeRelated says every portfolio domain is delegated to the hoster's
// nameservers, and that garbage is too.
type fakeRelated struct{ domains []string }

func (f fakeRelated) Related(_ context.Context, rrtype uint16, host string, limit int) ([]string, error) {
	if rrtype != dns.TypeNS || !strings.HasSuffix(host, ".hoster.test") {
		return nil, nil
	}
	return append([]string{"not a name!", "*.wild.test"}, f.domains...)[:min(limit+2, len(f.domains)+2)], nil
}

// TestInventoryExpand: --expand related adds, after the list, up to
// ExpandMax domains that share its nameservers, marked discovered; a
// resumed run finds the same ones and examines nothing twice.
func TestInventoryExpand(t *testing.T) {
	p := startPortfolio(t, 8, 0)
	j, err := OpenJournal(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var nd bytes.Buffer
	opts := portfolioOptions()
	opts.Related, opts.ExpandMax, opts.Journal = fakeRelated{p.domains}, 3, j
	sum, err := Run(context.Background(), newEngine(t, p.resolver), p.domains[:3], opts, NewNDJSON(&nd))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Discovered != 3 || sum.Total != 6 || sum.Examined() != 6 {
		t.Fatalf("summary %+v", sum)
	}
	var discovered []string
	for _, l := range strings.Split(strings.TrimSpace(nd.String()), "\n") {
		var d struct {
			Domain     string
			Discovered bool
		}
		json.Unmarshal([]byte(l), &d)
		if d.Discovered {
			discovered = append(discovered, d.Domain)
		}
	}
	slices.Sort(discovered)
	if want := p.domains[3:6]; !slices.Equal(discovered, want) {
		t.Fatalf("discovered %v, want %v", discovered, want)
	}
	sum, err = Run(context.Background(), newEngine(t, p.resolver), p.domains[:3], opts, NewNDJSON(&nd))
	if err != nil || sum.Resumed != 6 || sum.Discovered != 3 {
		t.Fatalf("resumed run: %+v, %v", sum, err)
	}
}
