// Command dnsscout maps what DNS gives away about a domain: recon, audit and
// passive DNS in one binary. All behaviour lives in internal/cli; main only
// wires signals, standard streams and the exit code.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/dnsscout/dnsscout/internal/cli"
)

func main() {
	// The first SIGINT/SIGTERM cancels ctx (recon then writes what it has,
	// marked partial); a second one exits at once.
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cancel()
		<-sig
		os.Exit(cli.ExitInterrupted)
	}()
	os.Exit(cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
