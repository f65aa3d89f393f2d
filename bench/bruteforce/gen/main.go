// Command gen writes the inputs of bench/bruteforce: a word list of N
// candidate labels, a zone in which a fraction of them exist, and the list
// of names that exist (the truth the tools are scored against).
//
//	go run ./bench/bruteforce/gen -dir /tmp/bench -zone bench.example -n 87000 -exist 3000 -dangling 100
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	dir := flag.String("dir", ".", "output directory")
	zone := flag.String("zone", "bench.example", "zone name")
	n := flag.Int("n", 87000, "candidate labels")
	exist := flag.Int("exist", 3000, "labels that exist in the zone")
	corpus := flag.String("corpus", "", "optional word lists to start from, comma-separated")
	ns := flag.String("ns", "127.53.250.2", "nameserver address for the zone's NS glue")
	dangling := flag.Int("dangling", 0, "existing labels that are CNAMEs to a name that does not exist (answered NXDOMAIN with the CNAME)")
	flag.Parse()
	if err := run(*dir, *zone, *n, *exist, *dangling, *corpus, *ns); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir, zone string, n, exist, dangling int, corpus, ns string) error {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var words []string
	add := func(w string) {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" || seen[w] || strings.ContainsAny(w, " .*/") || len(w) > 63 {
			return
		}
		seen[w] = true
		words = append(words, w)
	}
	for _, f := range strings.Split(corpus, ",") {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(data), "\n") {
			add(l)
		}
	}
	prefixes := []string{"web", "mail", "api", "dev", "test", "vpn", "db", "app", "srv", "host", "node", "edge", "cdn", "prod", "stage"}
	for i := 0; len(words) < n; i++ {
		add(fmt.Sprintf("%s%d", prefixes[i%len(prefixes)], i/len(prefixes)))
	}
	words = words[:n]
	rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })

	existing := append([]string(nil), words[:exist]...)
	rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })

	if err := writeLines(filepath.Join(dir, "words.txt"), words); err != nil {
		return err
	}
	var fqdns []string
	for _, w := range words {
		fqdns = append(fqdns, w+"."+zone)
	}
	if err := writeLines(filepath.Join(dir, "names.txt"), fqdns); err != nil {
		return err
	}
	var truth []string
	for _, w := range existing {
		truth = append(truth, w+"."+zone)
	}
	if err := writeLines(filepath.Join(dir, "truth.txt"), truth); err != nil {
		return err
	}

	f, err := os.Create(filepath.Join(dir, zone+".zone"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "$ORIGIN %s.\n$TTL 86400\n", zone)
	fmt.Fprintf(w, "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 86400\n@ IN NS ns1\nns1 IN A %s\n", ns)
	for i, l := range existing {
		switch {
		case i%10 == 2 && dangling > 0:
			// An alias whose target is gone: it exists, its answer is
			// NXDOMAIN (RFC 6604).
			dangling--
			fmt.Fprintf(w, "%s IN CNAME gone-%d\n", l, i)
			continue
		}
		switch i % 10 {
		case 0:
			fmt.Fprintf(w, "%s IN AAAA 2001:db8::%x\n", l, i)
		case 1:
			fmt.Fprintf(w, "%s IN CNAME %s\n", l, existing[0])
		default:
			fmt.Fprintf(w, "%s IN A 198.51.%d.%d\n", l, (i/250)%256, i%250+1)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func writeLines(path string, lines []string) error {
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}
