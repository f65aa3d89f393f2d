package dnstest

import (
	"context"
	"fmt"
	"testing"
)

// ProcessSpec describes a helper program that is not a DNS server (an MTA
// for the alert tests, say) run the way the real servers are: in its own
// process group, stopped on cleanup, its log shown when the test fails.
type ProcessSpec struct {
	// Name labels the process in errors and logs.
	Name string
	// Bin is the program's path (RequireBinary finds it), Args its
	// arguments; Dir is its working directory and HOME.
	Bin  string
	Args []string
	Dir  string
	// Ready is polled until it returns nil (at most 30 s), or the
	// process exits.
	Ready func(ctx context.Context) error
}

// Process is a running helper program.
type Process struct {
	p   *process
	out *logBuffer
}

// StartProcess starts spec's program, waits until spec.Ready passes and
// registers its stop with t.Cleanup. The error includes the program's
// output when it did not become ready.
func StartProcess(t testing.TB, spec ProcessSpec) (*Process, error) {
	t.Helper()
	out := &logBuffer{max: 1 << 20}
	p, err := startProcess(spec.Bin, spec.Args, spec.Dir, out)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrServerStart, spec.Name, err)
	}
	if err := waitReady(p, readyTimeout, []check{spec.Ready}); err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("%w: %s: %v\n--- %s output (%s) ---\n%s", ErrServerStart, spec.Name, err, spec.Name, spec.Dir, out.String())
	}
	t.Cleanup(func() {
		_ = p.stop()
		if t.Failed() {
			t.Logf("dnstest: %s (%s) output:\n%s", spec.Name, spec.Dir, out.String())
		}
	})
	return &Process{p: p, out: out}, nil
}

// Output returns the last megabyte the process wrote to stdout and stderr.
func (p *Process) Output() string { return p.out.String() }

// Stop stops the process (SIGTERM, then SIGKILL to its group); cleanup
// does it too.
func (p *Process) Stop() { _ = p.p.stop() }
