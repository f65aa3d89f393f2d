package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
)

// hugePagesEnv turns off ("off") the advice of transparent huge pages
// for ingest's large arrays (pages.SetHuge), on by default ("on"): for a
// machine whose kernel stalls to compact memory into huge pages, or where
// each 2 MiB of resident memory counts. Only an ingest of files, which
// ends with them, advises huge pages at all (see pages.SetHuge): not one
// that reads a listener, a live capture, a pipe or standard input.
const hugePagesEnv = "DNSSCOUT_HUGEPAGES"

// hugePages reads hugePagesEnv's value: whether ingest advises huge pages.
func hugePages(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "on", "1", "true", "yes":
		return true, nil
	case "off", "0", "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want on or off", hugePagesEnv, v)
}

// cpuProfileEnv names a file that receives a CPU profile of the command
// (runtime/pprof's format): for `go tool pprof`, and for the profile that
// guides the compiler's optimizations of the build (bench/pgo writes
// cmd/dnsscout/default.pgo from such profiles).
const cpuProfileEnv = "DNSSCOUT_CPUPROFILE"

// startCPUProfile starts writing a CPU profile of the process to path;
// stop ends it and closes the file. A process killed before stop leaves
// the file incomplete.
func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close() // left empty: path may name what is not ours to remove (/dev/null)
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
