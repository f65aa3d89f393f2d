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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
