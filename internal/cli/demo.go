package cli

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/demo"
	"github.com/dnsscout/dnsscout/internal/passive"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

func newDemoCmd(e *env) *cobra.Command {
	f := &reconFlags{}
	var keep bool
	var htmlReport string
	cmd := &cobra.Command{
		Use:   "demo [flags]",
		Short: "Run recon against a built-in, offline DNS world",
		Long: `demo starts a small, realistic DNS world in this process, on loopback
addresses of 127.53.0.0/24 (a root, TLDs, reverse zones, and example.com,
example.net and example.org with real exposure: an open zone transfer,
private addresses, internal names, a wildcard, NSEC and NSEC3 signing, a
dangling CNAME, a lame delegation and an open resolver), then runs recon
against it exactly as against the internet. Nothing leaves the machine.`,
		Example: `  dnsscout demo
  dnsscout demo --format json -o demo.json
  dnsscout demo --keep        # leave the world running to explore it with dig`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), e, f, keep, htmlReport)
		},
	}
	addReconFlags(cmd, f)
	// The demo brings its own passive data and address database.
	for _, name := range []string{"db", "passive", "passive-only", "no-passive", "passive-source", "passive-exclude",
		"passive-config", "passive-rate", "dnsdb-key", "dnsdb-url", "circl-auth", "circl-url", "crtsh-url", "mmdb", "iptoasn", "cymru"} {
		_ = cmd.Flags().MarkHidden(name)
	}
	// The in-process world answers from one Go process: a few dozen
	// queries in flight keep it fast without timeouts.
	_ = cmd.Flags().Set("concurrency", "64")
	cmd.Flags().Lookup("concurrency").DefValue = "64"
	for _, hide := range []string{"resolver", "rate", "server-rate", "retries"} {
		_ = cmd.Flags().MarkHidden(hide)
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo world running after recon until interrupted")
	cmd.Flags().StringVar(&htmlReport, "report", "dnsscout-demo.html", "also write the HTML report (findings, domain map) to `FILE`; \"\" to skip")
	return cmd
}

func runDemo(ctx context.Context, e *env, f *reconFlags, keep bool, htmlReport string) error {
	format, err := pickFormat(e, f)
	if err != nil {
		return err
	}
	opts, err := scanOptions(f)
	if err != nil {
		return err
	}
	failOn, err := failOnOption(f)
	if err != nil {
		return err
	}
	out, closeOut, err := openOutput(e, f.output)
	if err != nil {
		return err
	}
	defer closeOut()

	world, err := demo.Start(ctx)
	if err != nil {
		return err
	}
	defer world.Close()
	opts.Recon.NameserverPort = world.Port
	logger := newLogger(e.stderr, f.verbose)
	res, err := resolver.New(resolver.Options{
		Servers:            []netip.AddrPort{world.Resolver},
		Concurrency:        f.concurrency,
		Timeout:            f.timeout,
		MaxTransferRecords: opts.Recon.TransferMaxRecords,
		TransferTimeout:    opts.Recon.TransferTimeout,
		Logger:             logger,
	})
	if err != nil {
		return err
	}
	defer res.Close()
	fmt.Fprintf(e.stderr, "demo world up: resolver %s, nameservers on port %d of 127.53.0.0/24\n", world.Resolver, world.Port)
	// The demo's passive DNS and address database, built in.
	opts.Recon.Passive = []passive.Source{demo.PassiveSource()}
	if opts.Recon.Annotator, err = demo.Annotator(); err != nil {
		return err
	}
	var html *os.File
	if htmlReport != "" {
		if html, err = os.Create(htmlReport); err != nil {
			return fmt.Errorf("cannot write the HTML report: %w", err)
		}
		defer html.Close()
	}
	ro := reconOutput{format: format, w: out, progress: f.progress, logger: logger, failOn: failOn, html: html}
	if err := reconWith(ctx, e, res, demo.Domains, opts, ro); err != nil {
		return err
	}
	if html != nil {
		fmt.Fprintf(e.stderr, "HTML report with findings and domain map: %s\n", htmlReport)
	}
	if keep {
		describeWorld(e.stderr, world)
		<-ctx.Done()
	}
	return nil
}

func describeWorld(w io.Writer, world *demo.World) {
	fmt.Fprintf(w, "\nThe demo world keeps running until interrupted (Ctrl-C). Try:\n  dig -p %d @%s www.example.com\n\n", world.Port, world.Resolver.Addr())
	addrs := make([]netip.Addr, 0, len(world.Servers))
	for a := range world.Servers {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	for _, a := range addrs {
		fmt.Fprintf(w, "  %-14s %s\n", a, world.Servers[a])
	}
}
