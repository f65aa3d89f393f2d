package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/dnsscout/dnsscout/internal/pages"
)

// hugePagesEnv turns off ("off") the advice of transparent huge pages for
// the large arrays of ingest and the store's bulk writes (pages.SetHuge),
// on by default ("on"): for a machine whose kernel stalls to compact
// memory into huge pages, or where each 2 MiB of resident memory counts.
const hugePagesEnv = "DNSSCOUT_HUGEPAGES"

// setHugePages applies hugePagesEnv's value.
func setHugePages(v string) error {
	switch strings.ToLower(v) {
	case "", "on", "1", "true", "yes":
		pages.SetHuge(true)
	case "off", "0", "false", "no":
		pages.SetHuge(false)
	default:
		return fmt.Errorf("%s=%q: want on or off", hugePagesEnv, v)
	}
	return nil
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
