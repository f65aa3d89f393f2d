package recon

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
)

// BenchmarkTransferMillion: recon of a zone whose server hands out a
// million-record AXFR (and IXFR), through the real resolver: how long it
// takes and how much memory recon needs for it. Run alone, so that the
// process's peak RSS is this benchmark's:
//
//	go test ./internal/recon -run '^$' -bench TransferMillion -benchtime 1x
//
// DNSSCOUT_BENCH_RECORDS=200000 sets another zone size.
//
// Metrics: peak-heap-MiB (heap in use above the start, sampled), rss-MiB
// (the process's VmHWM, test server included), records/s.
func BenchmarkTransferMillion(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("DNSSCOUT_BENCH_RECORDS"); s != "" {
		n, _ = strconv.Atoi(s) // a smaller zone for profiling
	}
	w := hostileWorld(b, "", misbehaving(func(rw dns.ResponseWriter, req *dns.Msg, base *dnstest.ZoneHandler) bool {
		if !isTransfer(req) {
			return false
		}
		soa := soaOf(b, base)
		first := new(dns.Msg)
		first.SetReply(req)
		first.Answer = []dns.RR{soa}
		if rw.WriteMsg(first) != nil {
			return true
		}
		for i := 0; i < n; i += 200 {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Question = nil
			for j := i; j < min(i+200, n); j++ {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: fmt.Sprintf("host-%d.hostile.test.", j), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
					A: net.IPv4(10, byte(j>>16), byte(j>>8), byte(j))})
			}
			if rw.WriteMsg(m) != nil {
				return true
			}
		}
		last := new(dns.Msg)
		last.SetReply(req)
		last.Question = nil
		last.Answer = []dns.RR{soa}
		_ = rw.WriteMsg(last)
		return true
	}))
	res := worldResolver(b, w, 2*time.Second)
	opts := Options{Wordlist: []string{}, NoPTR: true, NoSRV: true, NoWalk: true, NameserverPort: w.Port, TransferMaxRecords: 2 * n, TransferTimeout: time.Hour}
	b.ReportAllocs()
	var records int
	start := time.Now()
	peak := dnstest.HeapPeak(func() {
		for b.Loop() {
			r, err := Run(context.Background(), res, "hostile.test", opts)
			if err != nil {
				b.Fatal(err)
			}
			records = len(r.Records)
			if s := serverOf(r, "hostile.test"); s == nil || s.AXFR != TransferAllowed || s.AXFRRecords != n+2 {
				b.Fatalf("transfer %+v", s)
			}
		}
	})
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(records)/time.Since(start).Seconds()*float64(b.N), "records/s")
	if hwm := vmHWM(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "rss-MiB")
	}
}

// vmHWM returns the process's peak resident set size, 0 when unknown.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkBruteforce: the brute-force hot path (query, existence rule,
// wildcard check, ledger) over the in-process zone exchanger, which
// answers at once: what recon itself costs per name tried. The built-in
// word list (about 2,000 words) against a zone holding one word in 40.
//
//	go test ./internal/recon -run '^$' -bench Bruteforce -benchmem
//
// Metrics: names/s (words tried per second).
func BenchmarkBruteforce(b *testing.B) {
	words := DefaultWordlist()
	var zone strings.Builder
	zone.WriteString("@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ 3600 IN NS ns1\nns1 3600 IN A 127.53.199.1\n")
	for i, w := range words {
		if i%40 == 0 && !strings.Contains(w, ".") && w != "ns1" {
			fmt.Fprintf(&zone, "%s 300 IN A 192.0.2.%d\n", w, i%250+1)
		}
	}
	z, err := dnstest.ParseZone("example.com.", zone.String())
	if err != nil {
		b.Fatal(err)
	}
	h := dnstest.NewZoneHandler(z)
	x := &zoneExchanger{h: h, ans: h.Answer, zones: []*dnstest.Zone{z}}
	opts := Options{Wordlist: words, NoAXFR: true, NoWalk: true, NoPTR: true, NoSRV: true, MaxRecursive: -1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), x, "example.com", opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(words))*float64(b.N)/b.Elapsed().Seconds(), "names/s")
}
