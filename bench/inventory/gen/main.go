// Command gen writes the inputs of bench/inventory: a portfolio of N
// domains dNNNNN.inv.test, all served by the same two nameservers (a
// hoster), each holding some of the built-in brute-force words (every
// tenth a wildcard, every fifth open to zone transfers), the zones of the
// root and of the inv.test parent, the domain list, the built-in word list
// and the domain x word names for tools that take names.
//
//	go run ./bench/inventory/gen -dir /tmp/bench -n 100 -root 127.53.251.2 -ns 127.53.251.3
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/dnsscout/dnsscout/internal/recon"
)

func main() {
	dir := flag.String("dir", ".", "output directory")
	n := flag.Int("n", 100, "domains")
	exist := flag.Int("exist", 40, "word-list names that exist in each domain")
	root := flag.String("root", "127.53.251.2", "address of the root and inv.test server")
	ns := flag.String("ns", "127.53.251.3", "address of the hoster's nameserver (ns1 and ns2.hoster.inv.test)")
	flag.Parse()
	if err := run(*dir, *n, *exist, *root, *ns); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string, n, exist int, root, ns string) error {
	words := recon.DefaultWordlist()
	rng := rand.New(rand.NewPCG(7, 11))
	soa := "@ 3600 IN SOA ns1.hoster.inv.test. hostmaster.inv.test. 1 3600 600 86400 300\n"
	if err := os.WriteFile(filepath.Join(dir, "root.zone"), fmt.Appendf(nil,
		". 86400 IN SOA ns.root. hostmaster.root. 1 7200 3600 1209600 86400\n. 86400 IN NS ns.root.\nns.root. 86400 IN A %s\ninv.test. 86400 IN NS ns.root.\n", root), 0o644); err != nil {
		return err
	}
	parent, err := create(dir, "inv.test.zone")
	if err != nil {
		return err
	}
	fmt.Fprintf(parent.w, "$ORIGIN inv.test.\n%s@ IN NS ns.root.\nhoster IN NS ns1.hoster\nns1.hoster IN A %s\nns2.hoster IN A %s\n", soa, ns, ns)
	var domains, names, zones []string
	for i := range n {
		d := fmt.Sprintf("d%05d.inv.test", i)
		domains = append(domains, d)
		zones = append(zones, d)
		fmt.Fprintf(parent.w, "d%05d IN NS ns1.hoster.inv.test.\nd%05d IN NS ns2.hoster.inv.test.\n", i, i)
		z, err := create(dir, d+".zone")
		if err != nil {
			return err
		}
		fmt.Fprintf(z.w, "$ORIGIN %s.\n%s@ IN NS ns1.hoster.inv.test.\n@ IN NS ns2.hoster.inv.test.\n@ IN A 192.0.2.%d\n@ IN MX 10 mail\n@ IN TXT \"v=spf1 mx -all\"\n", d, soa, i%250+1)
		for _, j := range rng.Perm(len(words))[:exist] {
			fmt.Fprintf(z.w, "%s IN A 198.51.100.%d\n", words[j], j%250+1)
		}
		if i%10 == 0 {
			fmt.Fprintf(z.w, "* IN A 203.0.113.99\n")
		}
		if err := z.close(); err != nil {
			return err
		}
		for _, w := range words {
			names = append(names, w+"."+d)
		}
	}
	zones = append(zones, "hoster.inv.test")
	h, err := create(dir, "hoster.inv.test.zone")
	if err != nil {
		return err
	}
	fmt.Fprintf(h.w, "$ORIGIN hoster.inv.test.\n%s@ IN NS ns1\n@ IN NS ns2\nns1 IN A %s\nns2 IN A %s\n", soa, ns, ns)
	if err := h.close(); err != nil {
		return err
	}
	if err := parent.close(); err != nil {
		return err
	}
	// The hoster's NSD configuration: every customer zone, every fifth
	// open to zone transfers.
	conf, err := create(dir, "zones.conf")
	if err != nil {
		return err
	}
	for i, z := range zones {
		fmt.Fprintf(conf.w, "zone:\n  name: %q\n  zonefile: %q\n", z, z+".zone")
		if i%5 == 0 && z != "hoster.inv.test" {
			fmt.Fprintf(conf.w, "  provide-xfr: 0.0.0.0/0 NOKEY\n")
		}
	}
	if err := conf.close(); err != nil {
		return err
	}
	for file, lines := range map[string][]string{"domains.txt": domains, "words.txt": words, "names.txt": names} {
		if err := writeLines(filepath.Join(dir, file), lines); err != nil {
			return err
		}
	}
	return nil
}

type file struct {
	f *os.File
	w *bufio.Writer
}

func create(dir, name string) (*file, error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	return &file{f, bufio.NewWriter(f)}, nil
}

func (f *file) close() error {
	if err := f.w.Flush(); err != nil {
		f.f.Close()
		return err
	}
	return f.f.Close()
}

func writeLines(path string, lines []string) error {
	f, err := create(filepath.Dir(path), filepath.Base(path))
	if err != nil {
		return err
	}
	for _, l := range lines {
		f.w.WriteString(l)
		f.w.WriteByte('\n')
	}
	return f.close()
}
