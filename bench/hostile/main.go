// Command hostile runs `dnsscout recon` with its default limits against an
// adversary-controlled nameserver on loopback and prints, per misbehaviour,
// the wall time, the peak RSS of the dnsscout process, its exit code and
// what the JSON result says. The issue it answers: recon of a hostile
// server must end by itself in under 2 minutes, under 512 MiB, with valid
// JSON.
//
//	go build -o /tmp/dnsscout ./cmd/dnsscout
//	go run ./bench/hostile -dnsscout /tmp/dnsscout          # (make bench-hostile)
//	go run ./bench/hostile -dnsscout /tmp/dnsscout -only endless.test -- --axfr-max-records 5000000
//
// Every server is in-process on 127.53.0.0/16 (a root, the test TLD and
// one zone per misbehaviour, behind an in-process recursor); arguments
// after -- go to every recon run.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
)

const dnskey = "@ IN DNSKEY 257 3 13 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"

// scenario is one zone served by a hostile server.
type scenario struct {
	zone    string
	what    string
	records string
	mk      func(z *dnstest.ZoneHandler) dns.Handler
}

func scenarios() []scenario {
	var chain strings.Builder
	for i := range 200 {
		fmt.Fprintf(&chain, "chain%d IN CNAME chain%d\n", i, i+1)
	}
	chain.WriteString("chain200 IN A 192.0.2.20\nloop1 IN CNAME loop2\nloop2 IN CNAME loop1\nwww IN A 192.0.2.10\n")
	a := func(name string) dns.RR {
		return &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{6, 6, 6, 6}}
	}
	return []scenario{
		{"endless.test", "AXFR and IXFR that stream records forever", "",
			func(z *dnstest.ZoneHandler) dns.Handler {
				return dnstest.Hostile(z, dnstest.EndlessTransfer("endless.test", 0, 0))
			}},
		{"nsec.test", "an NSEC chain inventing a new name at every step", dnskey,
			func(z *dnstest.ZoneHandler) dns.Handler {
				return dnstest.Hostile(z, dnstest.InventingNSEC("nsec.test"))
			}},
		{"nsec3.test", "an NSEC3 chain of a million hashes", dnskey + "@ IN NSEC3PARAM 1 0 0 -\n",
			func(z *dnstest.ZoneHandler) dns.Handler {
				return dnstest.Hostile(z, dnstest.NSEC3Chain("nsec3.test", dnstest.NSEC3Hashes(1_000_000, 7)))
			}},
		{"wild.test", "random-address wildcard, CNAME loop and 200-hop chain, poisoned padding", chain.String(),
			func(z *dnstest.ZoneHandler) dns.Handler {
				return dnstest.Padded(dnstest.Hostile(z, dnstest.RandomWildcard()),
					[]dns.RR{a("admin.wild.test."), a("www.victim.test.")}, nil, []dns.RR{a("ns.victim.test."), a("www.wild.test.")})
			}},
	}
}

func main() {
	bin := flag.String("dnsscout", "", "the dnsscout binary to run (required)")
	only := flag.String("only", "", "run only this zone (endless.test, nsec.test, nsec3.test, wild.test)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "hostile: -dnsscout PATH is required")
		os.Exit(2)
	}
	if err := run(*bin, *only, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

func run(bin, only string, extra []string) error {
	all := scenarios()
	spec := dnstest.WorldSpec{DefaultImpl: dnstest.InProcess, Resolver: dnstest.ResolverInProcess,
		Zones: []dnstest.WorldZone{{Name: "victim.test", Records: "www IN A 192.0.2.80\n"}}}
	for _, s := range all {
		spec.Zones = append(spec.Zones, dnstest.WorldZone{Name: s.zone, Records: s.records})
	}
	w, err := dnstest.StartWorld(context.Background(), spec)
	if err != nil {
		return err
	}
	defer w.Close()
	for _, s := range all {
		old := w.Servers(s.zone)[0]
		old.Stop()
		z, err := dnstest.ParseZone(s.zone+".", w.Text[s.zone+"."])
		if err != nil {
			return err
		}
		stop, err := dnstest.ServeOn(old.Addr, s.mk(dnstest.NewZoneHandler(z)))
		if err != nil {
			return err
		}
		defer stop()
	}
	dir, err := os.MkdirTemp("", "dnsscout-bench-hostile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("%-13s %8s %9s %4s %8s %8s  %s\n", "zone", "wall s", "RSS MiB", "exit", "names", "records", "what recon says it could not cover")
	for _, s := range all {
		if only != "" && s.zone != only {
			continue
		}
		out := filepath.Join(dir, s.zone+".json")
		args := append([]string{"recon", "-r", w.Resolver.String(), "--nameserver-port", strconv.Itoa(int(w.Port)),
			"--format", "json", "-o", out, "--progress", "never"}, extra...)
		cmd := exec.Command(bin, append(args, s.zone)...)
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		// The child's own peak RSS: its VmHWM, read while it runs. (The
		// rusage of wait4 would count this process's memory too: the
		// child's address space before exec is ours.)
		var rss int64
		exited, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				if v := vmHWM(cmd.Process.Pid); v > rss {
					rss = v
				}
				select {
				case <-exited:
					return
				case <-t.C:
				}
			}
		}()
		err := cmd.Wait()
		close(exited)
		<-done
		wall := time.Since(start)
		code := cmd.ProcessState.ExitCode()
		if err != nil && code < 0 {
			return err
		}
		rss >>= 20
		names, records, gaps := summarise(out)
		fmt.Printf("%-13s %8.1f %9d %4d %8s %8s  %s\n", s.zone, wall.Seconds(), rss, code, names, records, gaps)
	}
	return nil
}

// vmHWM returns the peak RSS of process pid in bytes, 0 once it is gone.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
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

// summarise reads a result: names and records kept, and its gaps; "bad
// JSON" when it does not parse.
func summarise(path string) (string, string, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "-", "-", "no output: " + err.Error()
	}
	var r struct {
		Names   []json.RawMessage `json:"names"`
		Records []json.RawMessage `json:"records"`
		Gaps    []struct {
			Stage  string `json:"stage"`
			Reason string `json:"reason"`
		} `json:"gaps"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "-", "-", "bad JSON: " + err.Error()
	}
	var gaps []string
	for _, g := range r.Gaps {
		gaps = append(gaps, g.Stage+": "+g.Reason)
	}
	return strconv.Itoa(len(r.Names)), strconv.Itoa(len(r.Records)), strings.Join(gaps, "; ")
}
