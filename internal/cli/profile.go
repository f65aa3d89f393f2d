package cli

import (
	"os"
	"runtime/pprof"
)

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
