package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/ingest/live"
	pcapdec "github.com/dnsscout/dnsscout/internal/ingest/pcap"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
	"github.com/dnsscout/dnsscout/internal/store"
)

// passiveWorld is a zone and a passive store that knows more than the zone
// holds today.
func passiveWorld(t *testing.T) (w *dnstest.World, db, d string) {
	t.Helper()
	// A domain of its own, so that the capture tests never see another
	// test's traffic about example.com.
	d = fmt.Sprintf("dnsscout-%08x.net", rand.Uint32())
	w = dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.InProcess,
		Resolver:    dnstest.ResolverInProcess,
		Zones: []dnstest.WorldZone{{Name: d, Records: `
www IN A 192.0.2.10
zz-never-guessed-4711 IN A 192.0.2.11
alias IN A 192.0.2.12
`}},
	})
	db = filepath.Join(t.TempDir(), "pdns")
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
		tuple("www."+d, dns.TypeA, "192.0.2.10"),
		tuple("zz-never-guessed-4711."+d, dns.TypeA, "192.0.2.11"),
		tuple("old-gone."+d, dns.TypeA, "192.0.2.99"),
		tuple("alias."+d, dns.TypeCNAME, "vanished.example.net."),
	})
	if err == nil {
		err = st.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return w, db, d
}

func TestReconPassiveStore(t *testing.T) {
	w, db, d := passiveWorld(t)
	code, out, errOut := run(t, nil, "recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
		"--db", db, "-w", "none", "--no-ptr", "--no-srv", "--format", "json", "--progress", "never", d)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res scan.Report
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// Names that exist only in the passive store appear, with their
	// source.
	byName := map[string]recon.Name{}
	for _, n := range res.Names {
		byName[n.Name] = n
	}
	for _, name := range []string{"zz-never-guessed-4711." + d, "www." + d, "alias." + d} {
		n, ok := byName[name]
		if !ok {
			t.Errorf("%s missing from names", name)
			continue
		}
		if !slices.Contains(n.Sources, recon.SourcePassive) || !slices.Contains(n.PassiveSources, "store") || n.LastSeen.IsZero() {
			t.Errorf("%s: sources %v, passive %v, last seen %v", name, n.Sources, n.PassiveSources, n.LastSeen)
		}
	}
	if _, ok := byName["old-gone."+d]; ok {
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
	if want := []string{"cname-target-gone alias." + d, "gone old-gone." + d}; !slices.Equal(hist, want) {
		t.Errorf("historic %v, want %v", hist, want)
	}
	if want := []string{"alias." + d, "old-gone." + d}; !slices.Equal(findings, want) {
		t.Errorf("historic-dangling findings for %v, want %v", findings, want)
	}
}

// TestReconPassiveOnly checks that --passive-only sends nothing to the
// target's nameservers: the servers' own packet counters stay still.
func TestReconPassiveOnly(t *testing.T) {
	w, db, d := passiveWorld(t)
	servers := w.Servers(d)
	if len(servers) == 0 {
		t.Fatalf("no servers for %s", d)
	}
	before := make([]int64, len(servers))
	for i, s := range servers {
		before[i] = s.Queries()
	}
	capture := captureTargetAnswers(t, d, w.Port)
	code, out, errOut := run(t, nil, "recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
		"--db", db, "--passive-only", "--format", "json", "--progress", "never", d)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for i, s := range servers {
		if d := s.Queries() - before[i]; d != 0 {
			t.Errorf("--passive-only sent %d queries to %s", d, s.Addr)
		}
	}
	if n, ok := capture(); ok && n != 0 {
		t.Errorf("the capture on lo saw %d DNS answers about %s during --passive-only", n, d)
	}
	var res scan.Report
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range res.Names {
		found = found || n.Name == "zz-never-guessed-4711."+d && slices.Contains(n.Sources, recon.SourcePassive)
	}
	if !found {
		t.Errorf("passive names missing: %+v", res.Names)
	}
	// The same run without --passive-only does reach them (the counter
	// can fail).
	code, _, errOut = run(t, nil, "recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
		"--db", db, "-w", "none", "--format", "json", "--progress", "never", d)
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

// TestCaptureSeesNormalRun is the capture's positive control: during a
// normal run it does see answers about the target.
func TestCaptureSeesNormalRun(t *testing.T) {
	w, db, d := passiveWorld(t)
	capture := captureTargetAnswers(t, d, w.Port)
	code, _, errOut := run(t, nil, "recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
		"--db", db, "-w", "none", "--no-ptr", "--no-srv", "--format", "json", "--progress", "never", d)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	n, ok := capture()
	if !ok {
		t.Skip("live capture needs root")
	}
	if n == 0 {
		t.Fatalf("the capture saw no answer about %s during a normal run", d)
	}
}

// captureTargetAnswers captures DNS answers on the loopback interface
// (AF_PACKET, as `dnsscout ingest --interface` does) from port 53 and the
// world's port, and counts those whose question is at or below domain. The
// returned function stops the capture and returns the count; ok is false
// when capturing is not possible (not root).
func captureTargetAnswers(t *testing.T, domain string, port uint16) (stop func() (int, bool)) {
	t.Helper()
	if os.Geteuid() != 0 {
		return func() (int, bool) { return 0, false }
	}
	var (
		mu sync.Mutex
		n  int
	)
	dec := pcapdec.NewDecoder(pcapdec.Options{Ports: []uint16{53, port}}, func(pm *pcapdec.Message) error {
		m := new(dns.Msg)
		if m.Unpack(pm.Data) == nil && len(m.Question) == 1 && dnsname.IsSubdomain(dnsname.FromWire(m.Question[0].Name), domain) {
			mu.Lock()
			n++
			mu.Unlock()
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := live.Capture(ctx, live.Options{Interface: "lo", Ports: []uint16{53, port}}, dec, func() { close(ready) })
		done <- err
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("capture: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("capture did not start")
	}
	return func() (int, bool) {
		time.Sleep(100 * time.Millisecond) // let the ring hand over the last block
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("capture: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		return n, true
	}
}

// TestReconRemembers checks that recon --db stores the answers it saw as
// passive DNS observations of sensor "recon".
func TestReconRemembers(t *testing.T) {
	w, db, d := passiveWorld(t)
	code, _, errOut := run(t, nil, "recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
		"--db", db, "-w", "none", "--no-ptr", "--no-srv", "--format", "json", "--progress", "never", d)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := store.ParseQuery("alias."+d, false)
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
		t.Errorf("recon's answer for alias.%s not stored: %v", d, got)
	}
}
