package checks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

// richWorld is example.com with one of almost every misconfiguration.
func richWorld(t testing.TB) *world {
	t.Helper()
	w := cleanWorld(t)
	ns1, ns2 := &w.res.Nameservers[0], &w.res.Nameservers[1]
	ns1.Servers[0].AXFR, ns1.Servers[0].AXFRRecords = recon.TransferAllowed, 61
	ns1.Servers[0].IXFR = recon.TransferAllowed
	ns1.Servers[0].Version = "9.18.28-1~deb12u2-Debian"
	ns1.Servers[0].Hostname = "dns-prod-07.corp.example.com"
	ns2.Servers[0].Recursion = true
	ns2.Servers[0].Serial = 2026020101
	ns2.Servers[0].NSID = "fra1-b"
	w.res.Zones[0].ParentNS = append(w.res.Zones[0].ParentNS, "ns3.lapsed-dns.test")
	w.res.Zones[0].Denial, w.res.Zones[0].Walked, w.res.Zones[0].WalkComplete = "nsec", 61, true
	w.ex.nxdomain("lapsed-dns.test")
	w.res.Nameservers = append(w.res.Nameservers, recon.Nameserver{
		Name: "ns3.lapsed-dns.test", Zone: "example.com", Sources: []string{"parent"}, Error: "NXDOMAIN",
	})

	// A delegated lab zone on one server that does not answer.
	w.res.Zones = append(w.res.Zones, recon.Zone{Name: "lab.example.com", ParentNS: []string{"ns.lab.example.com"}, Signed: true, Denial: "nsec3",
		NSEC3: &recon.NSEC3Info{Zone: "lab.example.com", Hashes: 9, Cracked: 4, Iterations: 5, Salt: "beef", Complete: true}})
	w.res.Nameservers = append(w.res.Nameservers, recon.Nameserver{Name: "ns.lab.example.com", Zone: "lab.example.com",
		Sources: []string{"parent"}, Addresses: []string{"192.0.2.200"}, Resolves: true,
		Servers: []recon.Server{{Address: "192.0.2.200", Error: "timeout"}}})
	w.ex.exist("lab.example.com")

	w.res.Wildcards = []recon.Wildcard{{Name: "*.example.com", Type: "A", Data: []string{"192.0.2.99"}}}
	w.setRecords(t, "example.com", dns.TypeTXT,
		`example.com. 300 IN TXT "v=spf1 mx include:relay.example.net +all"`,
		`example.com. 300 IN TXT "google-site-verification=Ab12Cd34"`,
		`example.com. 300 IN TXT "MS=ms98765432"`)
	w.ex.add(t, `relay.example.net. 300 IN TXT "v=spf1 ip4:198.51.100.0/24 -all"`)
	w.setRecords(t, "_dmarc.example.com", dns.TypeTXT, `_dmarc.example.com. 300 IN TXT "v=DMARC1; p=none"`)
	w.addRecords(t,
		"vpn.example.com. 300 IN A 10.20.30.40",
		"vpn.example.com. 300 IN AAAA fd00:1::5",
		"intra.example.com. 300 IN CNAME intranet.corp.",
		"office.example.com. 300 IN MX 10 exchange.ad.local.",
		"promo.example.com. 300 IN CNAME promo-2019.azurewebsites.net.",
		"old.example.com. 300 IN CNAME gone.example.net.",
		"_ldap._tcp.dc._msdcs.example.com. 600 IN SRV 0 100 389 dc01.example.com.",
		"_kerberos._tcp.example.com. 600 IN SRV 0 100 88 dc01.example.com.",
	)
	w.ex.nxdomain("promo-2019.azurewebsites.net", "gone.example.net", "intranet.corp", "exchange.ad.local")
	w.ex.exist("azurewebsites.net", "office.example.com")
	w.resignSOA(t, w.ex, testNow.Add(-60*24*time.Hour), testNow.Add(-24*time.Hour))
	return w
}

// TestGoldenRich compares every finding for the rich world, online and
// offline, with testdata/golden/rich.json (-update rewrites it).
func TestGoldenRich(t *testing.T) {
	w := richWorld(t)
	got := map[string][]finding.Finding{
		"online":  run(t, w.res, w.ex),
		"offline": run(t, w.res, nil),
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "golden", "rich.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/checks -run TestGoldenRich -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("findings differ from %s; if the change is intended, run go test ./internal/checks -run TestGoldenRich -update and review the diff\ngot:\n%s", path, b)
	}
}

// TestDeterministic: the order of recon's lists and the concurrency do not
// change the findings.
func TestDeterministic(t *testing.T) {
	w := richWorld(t)
	want, err := json.Marshal(run(t, w.res, w.ex))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		res := *w.res
		res.Records = append([]recon.Record(nil), w.res.Records...)
		res.Nameservers = append([]recon.Nameserver(nil), w.res.Nameservers...)
		res.Zones = append([]recon.Zone(nil), w.res.Zones...)
		rng.Shuffle(len(res.Records), func(a, b int) { res.Records[a], res.Records[b] = res.Records[b], res.Records[a] })
		rng.Shuffle(len(res.Nameservers), func(a, b int) { res.Nameservers[a], res.Nameservers[b] = res.Nameservers[b], res.Nameservers[a] })
		rng.Shuffle(len(res.Zones), func(a, b int) { res.Zones[a], res.Zones[b] = res.Zones[b], res.Zones[a] })
		env := &Env{Result: &res, Exchanger: w.ex, Now: func() time.Time { return testNow }, Concurrency: 1 + i%4}
		fs, err := RunEnv(context.Background(), env, Selection{})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(fs)
		if !bytes.Equal(got, want) {
			t.Fatalf("run %d differs:\n%s\nwant:\n%s", i, got, want)
		}
	}
}

// BenchmarkRunRich measures a full audit of the rich world over the fake
// network (the checks' own cost, no I/O).
//
//	go test ./internal/checks -run '^$' -bench RunRich -benchtime 2s
func BenchmarkRunRich(b *testing.B) {
	w := richWorld(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		env := &Env{Result: w.res, Exchanger: w.ex, Now: func() time.Time { return testNow }}
		fs, err := RunEnv(context.Background(), env, Selection{})
		if err != nil {
			b.Fatal(err)
		}
		n += len(fs)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/audit")
}

// largeWorld is the clean world plus n hosts (one in ten on a private
// address), n/10 CNAMEs to existing targets and n/50 names with MX.
func largeWorld(b testing.TB, n int) *world {
	w := cleanWorld(b)
	for i := range n {
		name := fmt.Sprintf("h%d.example.com", i)
		addr := fmt.Sprintf("192.0.2.%d", i%250+1)
		if i%10 == 0 {
			addr = fmt.Sprintf("10.0.%d.%d", i/250%250, i%250+1)
		}
		w.res.Records = append(w.res.Records, recon.Record{Name: name, Type: "A", TTL: 300, Data: addr, Source: recon.SourceBruteforce})
		w.res.Names = append(w.res.Names, recon.Name{Name: name, Addresses: []string{addr}})
		if i%10 == 1 {
			target := fmt.Sprintf("t%d.example.net", i)
			w.res.Records = append(w.res.Records, recon.Record{Name: "c" + name, Type: "CNAME", TTL: 300, Data: target + ".", Source: recon.SourceAXFR})
			w.ex.exist(target)
		}
		if i%50 == 2 {
			w.res.Records = append(w.res.Records,
				recon.Record{Name: name, Type: "MX", TTL: 300, Data: "10 mail.example.com.", Source: recon.SourceAXFR},
				recon.Record{Name: name, Type: "TXT", TTL: 300, Data: `"v=spf1 mx -all"`, Source: recon.SourceAXFR})
		}
	}
	return w
}

// BenchmarkRunLarge audits a result of 20,000 names (2,000 CNAMEs resolved
// through the fake network, 400 mail names).
//
//	go test ./internal/checks -run '^$' -bench RunLarge -benchtime 3x
func BenchmarkRunLarge(b *testing.B) {
	w := largeWorld(b, 20000)
	b.ReportAllocs()
	for b.Loop() {
		env := &Env{Result: w.res, Exchanger: w.ex, Now: func() time.Time { return testNow }}
		fs, err := RunEnv(context.Background(), env, Selection{})
		if err != nil {
			b.Fatal(err)
		}
		if len(fs) < 2000 {
			b.Fatalf("%d findings, want the 2,000 private-address leaks at least", len(fs))
		}
	}
	b.ReportMetric(float64(len(w.res.Records))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
