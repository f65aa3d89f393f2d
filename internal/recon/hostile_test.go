package recon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
)

// The hostile-server suite of recon: hostile.test is served by an
// in-process server that misbehaves on purpose, behind an in-process root
// and recursor. Every case runs under a context deadline far above what
// recon needs (a hang guard, not a speed test) and, where the server can
// inflate memory, a bound on the heap recon takes. Small caps are set
// through Options so that each case stays fast; TestDefaultLimits checks
// that the defaults are sane.

const (
	recHangGuard = 90 * time.Second
	heapBound    = 256 << 20
)

// hostileBase is the zone the hostile server starts from.
const hostileBase = `
www IN A 192.0.2.10
@ IN DNSKEY 257 3 13 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
`

// hostileWorld serves hostile.test (records added to hostileBase) with
// the handler mk builds from its zone, and victim.test normally, behind an
// in-process recursor.
func hostileWorld(t testing.TB, records string, mk func(zone *dnstest.ZoneHandler) dns.Handler) *dnstest.World {
	t.Helper()
	w := dnstest.NewWorld(t, dnstest.WorldSpec{
		DefaultImpl: dnstest.InProcess,
		Resolver:    dnstest.ResolverInProcess,
		Zones: []dnstest.WorldZone{
			{Name: "hostile.test", Records: hostileBase + records},
			{Name: "victim.test", Records: "www IN A 192.0.2.80\n"},
		},
	})
	old := w.Servers("hostile.test")[0]
	old.Stop()
	z, err := dnstest.ParseZone("hostile.test.", w.Text["hostile.test."])
	if err != nil {
		t.Fatal(err)
	}
	dnstest.StartServer(t, old.Addr, mk(dnstest.NewZoneHandler(z)))
	return w
}

// misbehaving is the handler of hostile.test with ms in front of its zone.
func misbehaving(ms ...dnstest.Misbehaviour) func(*dnstest.ZoneHandler) dns.Handler {
	return func(z *dnstest.ZoneHandler) dns.Handler { return dnstest.Hostile(z, ms...) }
}

// runHostile runs recon of hostile.test through w with opts (the
// nameserver port filled in), fails on a hang or an error, and checks the
// heap recon took. Queries time out after 300 ms, so that silent servers
// cost little.
func runHostile(t *testing.T, w *dnstest.World, opts Options) *Result {
	t.Helper()
	return runHostileTimeout(t, w, opts, 300*time.Millisecond)
}

// runHostileTimeout is runHostile with the resolver's timeout, which is
// also the longest wait for the next message of a zone transfer.
func runHostileTimeout(t *testing.T, w *dnstest.World, opts Options, timeout time.Duration) *Result {
	t.Helper()
	res := worldResolver(t, w, timeout)
	ctx, cancel := context.WithTimeout(context.Background(), recHangGuard)
	defer cancel()
	opts.NameserverPort = w.Port
	var (
		r   *Result
		err error
	)
	peak := dnstest.HeapPeak(func() { r, err = Run(ctx, res, "hostile.test", opts) })
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("hang guard hit: recon still running after %v", recHangGuard)
	}
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if peak > heapBound {
		t.Errorf("recon took %d MiB of heap, want under %d", peak>>20, heapBound>>20)
	}
	return r
}

func isTransfer(req *dns.Msg) bool {
	t := req.Question[0].Qtype
	return t == dns.TypeAXFR || t == dns.TypeIXFR
}

func soaOf(t testing.TB, zone *dnstest.ZoneHandler) dns.RR {
	t.Helper()
	for _, x := range zone.Zone("hostile.test").Records() {
		if x.Header().Rrtype == dns.TypeSOA {
			return x
		}
	}
	t.Fatal("no SOA")
	return nil
}

func serverOf(r *Result, zone string) *Server {
	for i := range r.Nameservers {
		if r.Nameservers[i].Zone == zone && len(r.Nameservers[i].Servers) > 0 {
			return &r.Nameservers[i].Servers[0]
		}
	}
	return nil
}

func hasGap(r *Result, stage, reason string) bool {
	return slices.ContainsFunc(r.Gaps, func(g Gap) bool { return g.Stage == stage && strings.Contains(g.Reason, reason) })
}

func TestHostileEndlessTransfer(t *testing.T) {
	tests := []struct {
		name    string
		pause   time.Duration
		stop    int
		opts    Options
		records int    // AXFR records kept
		reason  string // in the axfr gap
	}{
		{name: "record cap", opts: Options{TransferMaxRecords: 20_000, TransferTimeout: time.Minute}, records: 20_000, reason: "cap of 20000 records"},
		{name: "time cap", pause: 5 * time.Millisecond, opts: Options{TransferMaxRecords: 10_000_000, TransferTimeout: time.Second}, reason: "still sending after 1s"},
		{name: "closed mid-transfer", stop: 500, opts: Options{}, records: 501, reason: "broke off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := hostileWorld(t, "", misbehaving(dnstest.EndlessTransfer("hostile.test", tc.pause, tc.stop)))
			opts := tc.opts
			opts.Wordlist, opts.NoPTR, opts.NoSRV, opts.NoWalk = []string{}, true, true, true
			start := time.Now()
			// A loaded machine (go test -race ./... on two cores) can stall
			// the streaming server for longer than runHostile's 300 ms, which
			// recon rightly takes for a transfer that broke off: give the
			// next message the time a real resolver would.
			r := runHostileTimeout(t, w, opts, 5*time.Second)
			s := serverOf(r, "hostile.test")
			if s == nil || s.AXFR != TransferPartial || s.IXFR != TransferPartial {
				t.Fatalf("server %+v: want both transfers partial", s)
			}
			if tc.records > 0 && s.AXFRRecords != tc.records {
				t.Errorf("AXFR kept %d records, want %d", s.AXFRRecords, tc.records)
			}
			if !hasGap(r, "axfr", tc.reason) {
				t.Errorf("gaps %+v lack the axfr reason %q", r.Gaps, tc.reason)
			}
			// What arrived is kept: names and records.
			got := names(r)
			if _, ok := got["x1.hostile.test"]; !ok || len(got) < s.AXFRRecords {
				t.Errorf("%d names kept of %d records transferred", len(got), s.AXFRRecords)
			}
			t.Logf("%d records in %v", s.AXFRRecords, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestHostileNSECWalk: a server whose NSEC chain invents a new name at
// every step never closes; the walk stops at its budget and says so.
func TestHostileNSECWalk(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		reason string
	}{
		{"step budget", Options{WalkMax: 300, WalkTimeout: time.Minute}, "step budget of 300"},
		{"time budget", Options{WalkMax: 10_000_000, WalkTimeout: time.Second}, "time budget of 1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := hostileWorld(t, "", misbehaving(dnstest.InventingNSEC("hostile.test")))
			opts := tc.opts
			opts.Wordlist, opts.NoPTR, opts.NoSRV, opts.NoAXFR = []string{}, true, true, true
			r := runHostile(t, w, opts)
			var z *Zone
			for i := range r.Zones {
				if r.Zones[i].Name == "hostile.test" {
					z = &r.Zones[i]
				}
			}
			if z == nil || z.Denial != "nsec" || z.WalkComplete || !strings.Contains(z.WalkStopped, tc.reason) {
				t.Fatalf("zone %+v: want an unfinished NSEC walk stopped by %q", z, tc.reason)
			}
			if z.Walked < 10 || tc.opts.WalkMax == 300 && z.Walked > 300 {
				t.Errorf("walked %d names", z.Walked)
			}
			if !hasGap(r, "nsec", tc.reason) {
				t.Errorf("gaps %+v lack the walk", r.Gaps)
			}
		})
	}
}

// TestHostileNSEC3Million: a zone with a million NSEC3 hashes; collection
// stops at its query budget, keeps what it got, and says why.
func TestHostileNSEC3Million(t *testing.T) {
	hashes := dnstest.NSEC3Hashes(1_000_000, 7)
	w := hostileWorld(t, "@ IN NSEC3PARAM 1 0 0 -\n", misbehaving(dnstest.NSEC3Chain("hostile.test", hashes)))
	r := runHostile(t, w, Options{Wordlist: []string{}, NoPTR: true, NoSRV: true, NoAXFR: true, NSEC3MaxQueries: 3000, WalkTimeout: time.Minute})
	n3 := r.NSEC3
	if n3.Complete || !strings.Contains(n3.Stopped, "query budget of 3000") {
		t.Fatalf("NSEC3 %+v: want an open chain stopped by its budget", n3)
	}
	if n3.Hashes < 1000 || n3.Hashes > 3100 {
		t.Errorf("%d hashes collected with 3000 queries", n3.Hashes)
	}
	if !hasGap(r, "nsec3", "query budget") {
		t.Errorf("gaps %+v lack the collection", r.Gaps)
	}
}

// TestHostileAnswers: wildcards that answer a new address every time,
// CNAME loops and 200-hop chains, and answers padded with records about
// other names (out of bailiwick or off the chain), which are never
// accepted.
func TestHostileAnswers(t *testing.T) {
	var chain strings.Builder
	for i := range 200 {
		fmt.Fprintf(&chain, "chain%d IN CNAME chain%d\n", i, i+1)
	}
	chain.WriteString("chain200 IN A 192.0.2.20\nloop1 IN CNAME loop2\nloop2 IN CNAME loop1\n")
	poison := []dns.RR{
		&dns.A{Hdr: dns.RR_Header{Name: "admin.hostile.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(6, 6, 6, 6)},
		&dns.A{Hdr: dns.RR_Header{Name: "www.victim.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(6, 6, 6, 6)},
	}
	glue := []dns.RR{
		&dns.A{Hdr: dns.RR_Header{Name: "ns.victim.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(6, 6, 6, 6)},
		&dns.A{Hdr: dns.RR_Header{Name: "www.hostile.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(6, 6, 6, 6)},
	}
	authority := []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: "victim.test.", Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 60}, Ns: "ns.victim.test."}}
	w := hostileWorld(t, chain.String(), func(z *dnstest.ZoneHandler) dns.Handler {
		return dnstest.Padded(dnstest.Hostile(z, dnstest.RandomWildcard()), poison, authority, glue)
	})
	words := []string{"www", "loop1", "chain0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"}
	r := runHostile(t, w, Options{Wordlist: words, NoPTR: true, NoSRV: true, NoAXFR: true, NoWalk: true})
	got := map[string]*Name{}
	for i := range r.Names {
		got[r.Names[i].Name] = &r.Names[i]
	}
	for _, n := range []string{"www.hostile.test", "loop1.hostile.test", "chain0.hostile.test"} {
		if got[n] == nil {
			t.Errorf("%s not found", n)
		}
	}
	for i := 1; i <= 9; i++ {
		if n := fmt.Sprintf("a%d.hostile.test", i); got[n] != nil {
			t.Errorf("echo of the random-address wildcard reported: %s %+v", n, got[n])
		}
	}
	if !slices.ContainsFunc(r.Wildcards, func(w Wildcard) bool { return w.Name == "*.hostile.test" && w.Type == "A" }) {
		t.Errorf("wildcard not recorded: %+v", r.Wildcards)
	}
	if l := got["loop1.hostile.test"]; l != nil && (l.Chain == nil || !l.Chain.Loop) {
		t.Errorf("loop1 chain %+v, want a loop", l.Chain)
	}
	if c := got["chain0.hostile.test"]; c != nil && c.Chain == nil {
		t.Error("chain0: no chain end recorded")
	}
	// Nothing from the padding: no poisoned address, no name it invented.
	if got["admin.hostile.test"] != nil {
		t.Error("admin.hostile.test, only ever seen off the chain of other answers, was accepted")
	}
	for _, rec := range r.Records {
		if strings.Contains(rec.Data, "6.6.6.6") {
			t.Errorf("poisoned record accepted: %+v", rec)
		}
	}
	for _, n := range r.Names {
		if slices.Contains(n.Addresses, "6.6.6.6") {
			t.Errorf("poisoned address on %s", n.Name)
		}
	}
	for _, ns := range r.Nameservers {
		if slices.Contains(ns.Addresses, "6.6.6.6") {
			t.Errorf("poisoned glue on nameserver %s", ns.Name)
		}
	}
}

// TestDefaultLimits: the defaults bound a hostile server: a transfer ends
// within a few minutes however fast the server streams (a million records
// at most), a walk within a minute.
func TestDefaultLimits(t *testing.T) {
	var o Options
	o.fill()
	if o.TransferMaxRecords <= 0 || o.TransferMaxRecords > 1_000_000 || o.TransferTimeout <= 0 || o.TransferTimeout > time.Minute {
		t.Errorf("transfer caps %d records, %v", o.TransferMaxRecords, o.TransferTimeout)
	}
	if o.WalkMax <= 0 || o.WalkMax > 1_000_000 || o.NSEC3MaxQueries <= 0 || o.NSEC3MaxQueries > 1_000_000 || o.WalkTimeout <= 0 || o.WalkTimeout > time.Minute {
		t.Errorf("walk budgets %d steps, %d queries, %v", o.WalkMax, o.NSEC3MaxQueries, o.WalkTimeout)
	}
	if o.MaxTime != 0 {
		t.Errorf("MaxTime default %v, want none", o.MaxTime)
	}
}

// TestMaxTime: --max-time ends a run that its own budgets would let go on
// (here a walk of an endless chain given an hour); the result holds what
// was found, marked partial, and Run returns no error.
func TestMaxTime(t *testing.T) {
	w := hostileWorld(t, "", misbehaving(dnstest.InventingNSEC("hostile.test")))
	start := time.Now()
	r := runHostile(t, w, Options{Wordlist: []string{}, NoPTR: true, NoSRV: true, NoAXFR: true,
		WalkMax: 100_000_000, WalkTimeout: time.Hour, MaxTime: 2 * time.Second})
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("run took %v with --max-time 2s", took)
	}
	if !r.Partial() || !hasGap(r, "max-time", "during stage dnssec hostile.test") {
		t.Fatalf("complete %v, gaps %+v: want a partial result stopped by max-time during the walk", r.Complete, r.Gaps)
	}
	if len(r.Names) < 10 {
		t.Errorf("%d names kept from the walk", len(r.Names))
	}
}
