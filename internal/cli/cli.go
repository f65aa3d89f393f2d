// Package cli is dnsscout's command line: it parses flags, builds the
// engines (resolver, recon, store, server) from them, and writes results to
// the given streams. It is a library so that transcripts can test it; only
// cmd/dnsscout calls os.Exit.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, documented in the README.
const (
	ExitOK       = 0 // success
	ExitError    = 1 // the command failed (bad input, unreachable resolver, I/O error)
	ExitUsage    = 2 // unknown command or flag, bad flag value
	ExitFindings = 3 // recon --fail-on: a finding reached the given severity
	ExitPartial  = 4 // ingest: some files failed (reported), the others were ingested
	ExitSkipped  = 5 // ingest --skip-bad: bad lines were skipped, all else was ingested
	// ExitInterrupted: SIGINT/SIGTERM stopped the command; recon wrote
	// the results found until then, marked partial (128 + SIGINT).
	ExitInterrupted = 130
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// env is what every command sees of the outside world.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// getenv reads the environment; tests replace it.
	getenv func(string) string
	// resolvConf is the system resolver configuration read when no
	// resolver is given; tests point it elsewhere.
	resolvConf string
	// hugePages: ingest advises transparent huge pages (hugePagesEnv).
	hugePages bool
}

// exitError carries a specific exit code up to Run. quiet: the command
// has reported the error already.
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks an error as a usage mistake (exit code 2).
func usageError(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// subcommands lists the constructors of every subcommand in help order.
// Each file of this package that adds a command appends to it in init.
var subcommands []func(*env) *cobra.Command

// Run executes dnsscout with args (without the program name) and returns the
// process exit code. Errors are printed to stderr as one line.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, resolvConf: resolvConfPath}, args)
}

// runEnv is Run with the environment given, for tests.
func runEnv(ctx context.Context, e *env, args []string) (code int) {
	stdin, stdout, stderr := e.stdin, e.stdout, e.stderr
	huge, err := hugePages(e.getenv(hugePagesEnv))
	if err != nil {
		fmt.Fprintf(stderr, "dnsscout: %v\n", err)
		return ExitUsage
	}
	e.hugePages = huge
	if path := e.getenv(cpuProfileEnv); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			fmt.Fprintf(stderr, "dnsscout: %s: %v\n", cpuProfileEnv, err)
			return ExitError
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(stderr, "dnsscout: %s: %v\n", cpuProfileEnv, err)
				if code == ExitOK {
					code = ExitError
				}
			}
		}()
	}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err = root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	isExit := errors.As(err, &ee)
	if !isExit || !ee.quiet {
		fmt.Fprintf(stderr, "dnsscout: %v\n", err)
	}
	if isExit {
		return ee.code
	}
	if isFlagError(err) {
		return ExitUsage
	}
	return ExitError
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "dnsscout",
		Short: "Map and audit what DNS gives away about a domain; collect and serve passive DNS",
		Long: `dnsscout maps a domain the way an adversary does (MITRE ATT&CK T1596.001):
every name, record and nameserver its DNS reveals, the misconfigurations that
leak the internal network, and what passive DNS has seen of it.`,
		Example: `  dnsscout demo
  dnsscout recon -r 127.0.0.1 example.com
  dnsscout recon --format json -o example.json example.com`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: err}
	})
	for _, sub := range subcommands {
		root.AddCommand(sub(e))
	}
	return root
}

// isFlagError recognises cobra's errors for unknown commands and arguments,
// which it does not type.
func isFlagError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
