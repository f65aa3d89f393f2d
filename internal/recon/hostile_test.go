package recon

import (
	"context"
	"crypto/sha1"
	"encoding/base32"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/dnstest"
	"github.com/dnsscout/dnsscout/internal/dnsworld"
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

// hostile wraps the zone's own handler: serve gets every request first and
// returns true when it answered.
type hostile struct {
	base  *dnstest.ZoneHandler
	serve func(w dns.ResponseWriter, req *dns.Msg, base *dnstest.ZoneHandler) bool
}

func (h hostile) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) == 1 && h.serve(w, req, h.base) {
		return
	}
	h.base.ServeDNS(w, req)
}

// hostileWorld serves hostile.test (records added to hostileBase) with
// serve in front of its zone handler, and victim.test normally, behind an
// in-process recursor; it returns the world and the zone's server.
func hostileWorld(t *testing.T, records string, serve func(w dns.ResponseWriter, req *dns.Msg, base *dnstest.ZoneHandler) bool) *dnstest.World {
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
	dnstest.StartServer(t, old.Addr, hostile{base: dnstest.NewZoneHandler(z), serve: serve})
	return w
}

// runHostile runs recon of hostile.test through w with opts (the
// nameserver port filled in), fails on a hang or an error, and checks the
// heap recon took.
func runHostile(t *testing.T, w *dnstest.World, opts Options) *Result {
	t.Helper()
	res := worldResolver(t, w, 300*time.Millisecond)
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

func qname(req *dns.Msg) string { return dnsname.FromWire(req.Question[0].Name) }

func isTransfer(req *dns.Msg) bool {
	t := req.Question[0].Qtype
	return t == dns.TypeAXFR || t == dns.TypeIXFR
}

func soaOf(t *testing.T, base *dnstest.ZoneHandler) dns.RR {
	t.Helper()
	for _, x := range base.Zone("hostile.test").Records() {
		if x.Header().Rrtype == dns.TypeSOA {
			return x
		}
	}
	t.Fatal("no SOA")
	return nil
}

// stream answers a transfer with the SOA and then messages of 100 A
// records, pausing between messages, until the client goes away (or,
// with stop > 0, closes the connection after stop records).
func stream(t *testing.T, w dns.ResponseWriter, req *dns.Msg, base *dnstest.ZoneHandler, pause time.Duration, stop int) {
	first := new(dns.Msg)
	first.SetReply(req)
	first.Answer = []dns.RR{soaOf(t, base)}
	if w.WriteMsg(first) != nil {
		return
	}
	for i := 0; ; i += 100 {
		if stop > 0 && i >= stop {
			_ = w.Close() // before the closing SOA (mid-message: see package resolver's suite)
			return
		}
		m := new(dns.Msg)
		m.SetReply(req)
		m.Question = nil
		for j := range 100 {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: fmt.Sprintf("x%d.hostile.test.", i+j), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A: net.IPv4(192, 0, 2, byte(j))})
		}
		if w.WriteMsg(m) != nil {
			return
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
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
			w := hostileWorld(t, "", func(rw dns.ResponseWriter, req *dns.Msg, base *dnstest.ZoneHandler) bool {
				if !isTransfer(req) || !dnsworld.IsTCP(rw) {
					return false
				}
				stream(t, rw, req, base, tc.pause, tc.stop)
				return true
			})
			opts := tc.opts
			opts.Wordlist, opts.NoPTR, opts.NoSRV, opts.NoWalk = []string{}, true, true, true
			start := time.Now()
			r := runHostile(t, w, opts)
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
	serve := func(rw dns.ResponseWriter, req *dns.Msg, base *dnstest.ZoneHandler) bool {
		q := req.Question[0]
		name := qname(req)
		if !dnsname.IsSubdomain(name, "hostile.test") {
			return false
		}
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		invented := strings.HasPrefix(name, "n") && strings.Trim(dnsname.FirstLabel(name)[1:], "0123456789") == "" && name != "hostile.test"
		next := func(n string) string {
			k, _ := strconv.Atoi(strings.TrimPrefix(dnsname.FirstLabel(n), "n"))
			return fmt.Sprintf("n%d.hostile.test.", k+1)
		}
		nsec := func(owner string) dns.RR {
			return &dns.NSEC{Hdr: dns.RR_Header{Name: dns.Fqdn(owner), Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: 60},
				NextDomain: next(owner), TypeBitMap: []uint16{dns.TypeA, dns.TypeRRSIG, dns.TypeNSEC}}
		}
		switch {
		case q.Qtype == dns.TypeNSEC && (invented || name == "hostile.test"):
			m.Answer = []dns.RR{nsec(name)}
		case invented && q.Qtype == dns.TypeA:
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 9)}}
		case invented:
			m.Ns = []dns.RR{soaOf(t, base), nsec(name)}
		case base.Answer(req).Rcode == dns.RcodeNameError:
			// Any other name: denied by the chain's first link.
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{soaOf(t, base), nsec("hostile.test")}
		default:
			return false
		}
		_ = rw.WriteMsg(m)
		return true
	}
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
			w := hostileWorld(t, "", serve)
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

// chainOf is a sorted NSEC3 chain of n random hashes (base32hex, upper
// case), as a zone of n names would have.
func chainOf(n int) []string {
	rng := rand.New(rand.NewPCG(7, 9))
	enc := base32.HexEncoding.WithPadding(base32.NoPadding)
	out := make([]string, n)
	var b [sha1.Size]byte
	for i := range out {
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		out[i] = enc.EncodeToString(b[:])
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestHostileNSEC3Million: a zone with a million NSEC3 hashes; collection
// stops at its query budget, keeps what it got, and says why.
func TestHostileNSEC3Million(t *testing.T) {
	hashes := chainOf(1_000_000)
	w := hostileWorld(t, "@ IN NSEC3PARAM 1 0 0 -\n", func(rw dns.ResponseWriter, req *dns.Msg, base *dnstest.ZoneHandler) bool {
		q := req.Question[0]
		name := qname(req)
		if name == "hostile.test" || !dnsname.IsSubdomain(name, "hostile.test") || q.Qtype != dns.TypeA || req.IsEdns0() == nil || !req.IsEdns0().Do() {
			return false
		}
		h := strings.ToUpper(dns.HashName(dns.Fqdn(name), dns.SHA1, 0, ""))
		i := sort.SearchStrings(hashes, h)
		owner, next := hashes[(i-1+len(hashes))%len(hashes)], hashes[i%len(hashes)]
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeNameError)
		m.Authoritative = true
		m.Ns = []dns.RR{soaOf(t, base), &dns.NSEC3{Hdr: dns.RR_Header{Name: owner + ".hostile.test.", Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: 60},
			Hash: dns.SHA1, Iterations: 0, SaltLength: 0, Salt: "", HashLength: 20, NextDomain: next, TypeBitMap: []uint16{dns.TypeA}}}
		_ = rw.WriteMsg(m)
		return true
	})
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
	w := hostileWorld(t, chain.String(), func(rw dns.ResponseWriter, req *dns.Msg, base *dnstest.ZoneHandler) bool {
		if isTransfer(req) {
			return false
		}
		m := base.Answer(req)
		if m == nil {
			return false
		}
		if m.Rcode == dns.RcodeNameError && !strings.HasPrefix(qname(req), "_") {
			// A wildcard whose address changes with every query.
			m.Rcode = dns.RcodeSuccess
			m.Ns = nil
			pool := [][3]byte{{198, 51, 100}, {203, 0, 113}}[rand.IntN(2)]
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A: net.IPv4(pool[0], pool[1], pool[2], byte(rand.IntN(254)+1))}}
		}
		m.Answer = append(m.Answer, poison...)
		m.Ns = append(m.Ns, &dns.NS{Hdr: dns.RR_Header{Name: "victim.test.", Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 60}, Ns: "ns.victim.test."})
		m.Extra = append(m.Extra, glue...)
		_ = rw.WriteMsg(m)
		return true
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
