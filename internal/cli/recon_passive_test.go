package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/store"
)

// passiveWorld is a zone and a passive store that knows more than the zone
// holds today.
func passiveWorld(t *testing.T) (*dnstest.World, string) {
	t.Helper()
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.InProcess,
		Resolver:    dnstest.ResolverInProcess,
		Zones: []dnstest.WorldZone{{Name: "example.com", Records: `
www IN A 192.0.2.10
zz-never-guessed-4711 IN A 192.0.2.11
alias IN A 192.0.2.12
`}},
	})
	db := filepath.Join(t.TempDir(), "pdns")
	ctx := context.Background()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).Unix()
	tuple := func(name string, typ uint16, data string) pdns.Tuple {
		return pdns.Tuple{RRName: name, RRType: typ, RData: data, TimeFirst: seen - 86400, TimeLast: seen, Count: 3, SensorIDs: []string{"sensor1"}}
	}
	err = st.Upsert(ctx, []pdns.Tuple{
		tuple("www.example.com", dns.TypeA, "192.0.2.10"),
		tuple("zz-never-guessed-4711.example.com", dns.TypeA, "192.0.2.11"),
		tuple("old-gone.example.com", dns.TypeA, "192.0.2.99"),
		tuple("alias.example.com", dns.TypeCNAME, "vanished.example.net."),
	})
	if err == nil {
		err = st.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return w, db
}

func TestReconPassiveStore(t *testing.T) {
	w, db := passiveWorld(t)
	code, out, errOut := run(t, nil, "recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
		"--db", db, "-w", "none", "--no-ptr", "--no-srv", "--format", "json", "--progress", "never", "example.com")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res recon.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// Names that exist only in the passive store appear, with their
	// source.
	byName := map[string]recon.Name{}
	for _, n := range res.Names {
		byName[n.Name] = n
	}
	for _, name := range []string{"zz-never-guessed-4711.example.com", "www.example.com", "alias.example.com"} {
		n, ok := byName[name]
		if !ok {
			t.Errorf("%s missing from names", name)
			continue
		}
		if !slices.Contains(n.Sources, recon.SourcePassive) || !slices.Contains(n.PassiveSources, "store") || n.LastSeen.IsZero() {
			t.Errorf("%s: sources %v, passive %v, last seen %v", name, n.Sources, n.PassiveSources, n.LastSeen)
		}
	}
	if _, ok := byName["old-gone.example.com"]; ok {
		t.Error("a name that no longer resolves is listed among the live names")
	}
	// historic-dangling fires exactly for what no longer resolves.
	var hist, findings []string
	for _, h := range res.Historic {
		hist = append(hist, h.Kind+" "+h.Name)
	}
	for _, f := range res.Findings {
		if f.ID == "historic-dangling" {
			findings = append(findings, f.Subject)
		}
	}
	slices.Sort(hist)
	slices.Sort(findings)
	if want := []string{"cname-target-gone alias.example.com", "gone old-gone.example.com"}; !slices.Equal(hist, want) {
		t.Errorf("historic %v, want %v", hist, want)
	}
	if want := []string{"alias.example.com", "old-gone.example.com"}; !slices.Equal(findings, want) {
		t.Errorf("historic-dangling findings for %v, want %v", findings, want)
	}
}

// TestReconPassiveOnly checks that --passive-only sends nothing to the
// target's nameservers: the servers' own packet counters stay still.
func TestReconPassiveOnly(t *testing.T) {
	w, db := passiveWorld(t)
	servers := w.Servers("example.com")
	if len(servers) == 0 {
		t.Fatal("no servers for example.com")
	}
	before := make([]int64, len(servers))
	for i, s := range servers {
		before[i] = s.Queries()
	}
	code, out, errOut := run(t, nil, "recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
		"--db", db, "--passive-only", "--format", "json", "--progress", "never", "example.com")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for i, s := range servers {
		if d := s.Queries() - before[i]; d != 0 {
			t.Errorf("--passive-only sent %d queries to %s", d, s.Addr)
		}
	}
	var res recon.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range res.Names {
		found = found || n.Name == "zz-never-guessed-4711.example.com" && slices.Contains(n.Sources, recon.SourcePassive)
	}
	if !found {
		t.Errorf("passive names missing: %+v", res.Names)
	}
	// The same run without --passive-only does reach them (the counter
	// can fail).
	code, _, errOut = run(t, nil, "recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
		"--db", db, "-w", "none", "--format", "json", "--progress", "never", "example.com")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var after int64
	for i, s := range servers {
		after += s.Queries() - before[i]
	}
	if after == 0 {
		t.Error("a normal run sent no query to the target's servers: the counter proves nothing")
	}
}

// TestReconRemembers checks that recon --db stores the answers it saw as
// passive DNS observations of sensor "recon".
func TestReconRemembers(t *testing.T) {
	w, db := passiveWorld(t)
	code, _, errOut := run(t, nil, "recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
		"--db", db, "-w", "none", "--no-ptr", "--no-srv", "--format", "json", "--progress", "never", "example.com")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := store.ParseQuery("alias.example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if _, err := st.Lookup(ctx, q, func(tp *pdns.Tuple) error {
		if slices.Contains(tp.SensorIDs, "recon") {
			got = append(got, pdns.TypeString(tp.RRType)+" "+tp.RData)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "A 192.0.2.12") {
		t.Errorf("recon's answer for alias.example.com not stored: %v", got)
	}
}
