package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/api"
)

func init() { subcommands = append(subcommands, newDomainsCmd) }

// domainsFlags are the flags every "dnsscout domains" command shares.
type domainsFlags struct {
	server  string
	key     string
	timeout time.Duration
	every   time.Duration
}

func newDomainsCmd(e *env) *cobra.Command {
	f := &domainsFlags{}
	cmd := &cobra.Command{
		Use:   "domains add|rm|ls --server URL",
		Short: "Manage the domains of a running serve --watch through its API",
		Long: `domains adds domains to the watch of a running "dnsscout serve --watch",
removes them, and lists what the server watches. The server keeps them in
its store and scans a new domain at once; a removed domain is no longer
scanned and keeps its history. Adding and removing need an API key with the
admin permission when the server has keys (dnsscout keys add --perms
query,admin); --key, or $DNSSCOUT_KEY.`,
		Example: `  dnsscout domains add --server http://127.0.0.1:8053 --every 1h example.com bücher.example
  dnsscout domains rm --server http://127.0.0.1:8053 example.com
  dnsscout domains ls --server http://127.0.0.1:8053`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.server, "server", "", "`URL` of the dnsscout server (required)")
	pf.StringVar(&f.key, "key", "", "API key (default $DNSSCOUT_KEY); admin permission to add and remove")
	pf.DurationVar(&f.timeout, "timeout", 30*time.Second, "bound on each request")
	add := &cobra.Command{
		Use: "add [--every DURATION] DOMAIN...", Short: "Watch domains (at most 1000 per call)", Args: cobra.MinimumNArgs(1),
		Example: `  dnsscout domains add --server http://127.0.0.1:8053 example.com example.net`,
		RunE:    func(cmd *cobra.Command, args []string) error { return runDomainsAdd(cmd.Context(), e, f, args) },
	}
	add.Flags().DurationVar(&f.every, "every", 0, "interval between two scans (default: the watch's)")
	rm := &cobra.Command{
		Use: "rm DOMAIN...", Short: "Stop watching domains added through the API (history kept)", Args: cobra.MinimumNArgs(1),
		Example: `  dnsscout domains rm --server http://127.0.0.1:8053 example.net`,
		RunE:    func(cmd *cobra.Command, args []string) error { return runDomainsRm(cmd.Context(), e, f, args) },
	}
	ls := &cobra.Command{
		Use: "ls", Short: "List the domains with history or watched, with source, interval and open findings", Args: cobra.NoArgs,
		Example: `  dnsscout domains ls --server http://127.0.0.1:8053`,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runDomainsLs(cmd.Context(), e, f) },
	}
	cmd.AddCommand(add, rm, ls)
	return cmd
}

// maxDomainsAnswer bounds an answer read from the server.
const maxDomainsAnswer = 64 << 20

// call sends one request to the server and decodes its JSON answer into
// out; an error answer becomes an error quoting the server's message.
func (f *domainsFlags) call(ctx context.Context, e *env, method, path string, body any, out any) error {
	if f.server == "" {
		return usageError("domains: give --server URL")
	}
	u, err := url.Parse(f.server)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return usageError("domains: --server %q: want http(s)://host:port", f.server)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	key := f.key
	if key == "" {
		key = e.getenv("DNSSCOUT_KEY")
	}
	header := http.Header{}
	if key != "" {
		header.Set("X-API-Key", key)
	}
	err = api.CallJSON(ctx, http.DefaultClient, method, strings.TrimRight(f.server, "/")+path, header, body, out, maxDomainsAnswer)
	var ae *api.AnswerError
	switch {
	case errors.As(err, &ae):
		msg := ae.Msg
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return fmt.Errorf("domains: %s %s: %s: %s", method, path, ae.Status, msg)
	case errors.Is(err, api.ErrNotAnswer):
		return fmt.Errorf("domains: %s %s: %w", method, path, err)
	case err != nil:
		return fmt.Errorf("domains: %w", err)
	}
	return nil
}

func runDomainsAdd(ctx context.Context, e *env, f *domainsFlags, args []string) error {
	if len(args) > api.MaxAddDomains {
		return usageError("domains add: %d domains, at most %d per call", len(args), api.MaxAddDomains)
	}
	req := api.DomainsAdd{Domains: args}
	if f.every != 0 {
		req.Every = f.every.String()
	}
	var ans api.DomainsChanged
	if err := f.call(ctx, e, http.MethodPost, "/api/v1/domains", req, &ans); err != nil {
		return err
	}
	printChanges(e, &ans)
	return nil
}

func runDomainsRm(ctx context.Context, e *env, f *domainsFlags, args []string) error {
	var errs []error
	for _, d := range args {
		var ans api.DomainsChanged
		if err := f.call(ctx, e, http.MethodDelete, "/api/v1/domains/"+url.PathEscape(d), nil, &ans); err != nil {
			errs = append(errs, err)
			continue
		}
		printChanges(e, &ans)
	}
	return errors.Join(errs...)
}

func printChanges(e *env, ans *api.DomainsChanged) {
	for _, c := range ans.Domains {
		line := c.Domain + "\t" + c.Status
		if c.Every > 0 {
			line += "\tevery " + c.Every.String()
		}
		fmt.Fprintln(e.stdout, line)
	}
	fmt.Fprintf(e.stderr, "dnsscout: %d domains managed through the API\n", ans.Managed)
}

func runDomainsLs(ctx context.Context, e *env, f *domainsFlags) error {
	var ans api.DomainList
	if err := f.call(ctx, e, http.MethodGet, "/api/v1/domains", nil, &ans); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tSOURCE\tEVERY\tLAST SCAN\tOPEN (C/H/M/L/I)\tNEXT")
	for _, d := range ans.Domains {
		src, every, last, next := "-", "-", "never", "-"
		if d.Watched || d.Source != "" {
			src = d.Source
		}
		if d.Every > 0 {
			every = d.Every.String()
		} else if d.Source != "" {
			every = "default"
		}
		if !d.LastScan.Started.IsZero() {
			last = d.LastScan.Started.UTC().Format(time.RFC3339)
		}
		if !d.Next.IsZero() {
			next = d.Next.UTC().Format(time.RFC3339)
		}
		o := d.Open
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d/%d/%d/%d\t%s\n", d.Domain, src, every, last, o.Critical, o.High, o.Medium, o.Low, o.Info, next)
	}
	return tw.Flush()
}
