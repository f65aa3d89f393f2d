package inventory

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"testing"
)

// The kill -9 test runs an inventory in a child process: this test
// binary, asked to run TestInventoryChild with the environment below.
const (
	envChild    = "DNSSCOUT_INVENTORY_CHILD"
	envResolver = "DNSSCOUT_INVENTORY_RESOLVER"
	envList     = "DNSSCOUT_INVENTORY_LIST"
	envJournal  = "DNSSCOUT_INVENTORY_JOURNAL"
	envOut      = "DNSSCOUT_INVENTORY_OUT"
	envNDJSON   = "DNSSCOUT_INVENTORY_NDJSON"
)

func childCommand(t *testing.T, resolverAddr netip.AddrPort, list, journal, out, nd string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestInventoryChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"=1", envResolver+"="+resolverAddr.String(),
		envList+"="+list, envJournal+"="+journal, envOut+"="+out, envNDJSON+"="+nd)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestInventoryChild is the child of TestInventoryKillResume; it does
// nothing in a normal test run.
func TestInventoryChild(t *testing.T) {
	if os.Getenv(envChild) == "" {
		t.Skip("runs only as the child of TestInventoryKillResume")
	}
	ctx := context.Background()
	f, err := os.Open(os.Getenv(envList))
	if err != nil {
		t.Fatal(err)
	}
	list, err := ReadList(ctx, f, ListOptions{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(os.Getenv(envJournal))
	if err != nil {
		t.Fatal(err)
	}
	nd, err := OpenNDJSONFile(os.Getenv(envNDJSON), j)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := OpenDir(os.Getenv(envOut))
	if err != nil {
		t.Fatal(err)
	}
	opts := portfolioOptions()
	opts.Journal = j
	opts.ParallelDomains = 2
	if _, err := Run(ctx, newEngine(t, netip.MustParseAddrPort(os.Getenv(envResolver))), list.Domains, opts, nd, dir); err != nil {
		t.Fatal(err)
	}
}
