package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

func init() { subcommands = append(subcommands, newPDNSCmd) }

func newPDNSCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pdns",
		Short: "Maintain the passive DNS store: prune, stats, export, migrate",
		Long: `pdns groups the maintenance commands of the passive DNS store: retention
(prune), a description of what it holds (stats), and a full export as COF
NDJSON for backup and migration (dnsscout ingest reads it back).`,
		Example: `  dnsscout pdns stats
  dnsscout pdns prune --before -365d
  dnsscout pdns export -o backup.ndjson`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("pdns: give a subcommand: prune, stats, export or migrate")
		},
	}
	cmd.AddCommand(newPruneCmd(e), newStatsCmd(e), newExportCmd(e))
	for _, sub := range pdnsSubcommands {
		cmd.AddCommand(sub(e))
	}
	return cmd
}

// pdnsSubcommands are pdns subcommands that live in other files (migrate).
var pdnsSubcommands []func(*env) *cobra.Command

func newPruneCmd(e *env) *cobra.Command {
	var db, before string
	var compact bool
	cmd := &cobra.Command{
		Use:   "prune --before TIME",
		Short: "Delete records and NXDOMAIN counters last seen before TIME",
		Long: `prune deletes every record whose last sighting (in traffic or in a zone file)
is before TIME, with its index entries, and the NXDOMAIN counters last seen
before it. It prunes the scan history of watched domains at the same
cut-off: scans started and events dated before TIME, and finding states
last updated before it. TIME is RFC 3339, a date, Unix seconds, or relative
to now (-90d).
Freed space returns as the store compacts; --compact forces that now (it
rewrites the whole store, which takes a while on a large one).`,
		Example: `  dnsscout pdns prune --before -365d
  dnsscout pdns prune --before 2024-01-01 --compact`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if before == "" {
				return usageError("pdns prune: --before is required")
			}
			cut, err := store.ParseTime(before, time.Now())
			if err != nil {
				return usageError("pdns prune: --before: %s", storeMsg(err))
			}
			return runPrune(cmd.Context(), e, db, cut, compact)
		},
	}
	addDBFlag(cmd.Flags(), &db)
	cmd.Flags().StringVar(&before, "before", "", "delete what was last seen before this time")
	cmd.Flags().BoolVar(&compact, "compact", false, "compact the store afterwards to free the space at once")
	return cmd
}

func runPrune(ctx context.Context, e *env, dsn string, cut int64, compact bool) error {
	db, err := openStore(ctx, e, "", dsn, store.Options{MaxLimit: -1})
	if err != nil {
		return fmt.Errorf("pdns prune: %w", err)
	}
	defer db.Close()
	p, ok := db.(store.Pruner)
	if !ok {
		return fmt.Errorf("pdns prune: %w", store.ErrUnsupported)
	}
	res, err := p.Prune(ctx, time.Unix(cut, 0))
	if err != nil {
		return fmt.Errorf("pdns prune: %w", err)
	}
	fmt.Fprintf(e.stdout, "pruned %d records and %d NXDOMAIN names last seen before %s\n", res.Tuples, res.NXDomainNames, fmtTime(cut))
	if h, err := store.HistoryOf(db); err == nil {
		hr, err := h.PruneHistory(ctx, time.Unix(cut, 0))
		if err != nil {
			return fmt.Errorf("pdns prune: history: %w", err)
		}
		if hr != (store.HistoryPruneResult{}) {
			fmt.Fprintf(e.stdout, "pruned %d scans, %d events and %d finding states of the scan history before %s\n",
				hr.Scans, hr.Events, hr.FindingStates, fmtTime(cut))
		}
	}
	if compact {
		c, ok := db.(store.Compacter)
		if !ok {
			return fmt.Errorf("pdns prune: --compact: %w", store.ErrUnsupported)
		}
		if err := c.Compact(ctx); err != nil {
			return fmt.Errorf("pdns prune: %w", err)
		}
	}
	return db.Close()
}

func newStatsCmd(e *env) *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Describe the store: records, names, types, time range, size",
		Long: `stats reads the whole store and prints how many records and names it holds,
the sum of their counts, the time range of the sightings, the NXDOMAIN names,
the space on disk (with bytes per record) and the records per rrtype. On a
large store it takes a while (it scans every record).`,
		Example: `  dnsscout pdns stats
  dnsscout pdns stats --format json --db /var/lib/dnsscout/pdns`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageError("pdns stats: --format must be table or json, not %q", format)
			}
			return runStats(cmd.Context(), e, db, format)
		},
	}
	addDBFlag(cmd.Flags(), &db)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func runStats(ctx context.Context, e *env, dsn, format string) error {
	db, err := openStore(ctx, e, "", dsn, store.Options{ReadOnly: true, MaxLimit: -1})
	if err != nil {
		return fmt.Errorf("pdns stats: %w", err)
	}
	defer db.Close()
	sr, ok := db.(store.StatsReporter)
	if !ok {
		return fmt.Errorf("pdns stats: %w", store.ErrUnsupported)
	}
	st, err := sr.Stats(ctx)
	if err != nil {
		return fmt.Errorf("pdns stats: %w", err)
	}
	types := make([]uint16, 0, len(st.ByType))
	for t := range st.ByType {
		types = append(types, t)
	}
	slices.SortFunc(types, func(a, b uint16) int {
		if st.ByType[a] != st.ByType[b] {
			return int(st.ByType[b] - st.ByType[a])
		}
		return int(a) - int(b)
	})
	if format == "json" {
		type typeCount struct {
			RRType string `json:"rrtype"`
			Count  int64  `json:"records"`
		}
		out := struct {
			Backend       string      `json:"backend"`
			Location      string      `json:"location"`
			Records       int64       `json:"records"`
			Names         int64       `json:"names"`
			Count         uint64      `json:"count"`
			TimeFirst     int64       `json:"time_first"`
			TimeLast      int64       `json:"time_last"`
			NXDomainNames int64       `json:"nxdomain_names"`
			BytesOnDisk   int64       `json:"bytes_on_disk"`
			ByType        []typeCount `json:"by_type"`
		}{st.Backend, st.Location, st.Tuples, st.Names, st.Count, st.TimeFirst, st.TimeLast, st.NXDomainNames, st.BytesOnDisk, []typeCount{}}
		for _, t := range types {
			out.ByType = append(out.ByType, typeCount{pdns.TypeString(t), st.ByType[t]})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "store\t%s %s\n", st.Backend, st.Location)
	fmt.Fprintf(tw, "records\t%d\n", st.Tuples)
	fmt.Fprintf(tw, "names\t%d\n", st.Names)
	fmt.Fprintf(tw, "sightings\t%d\n", st.Count)
	fmt.Fprintf(tw, "first seen\t%s\n", fmtTime(st.TimeFirst))
	fmt.Fprintf(tw, "last seen\t%s\n", fmtTime(st.TimeLast))
	fmt.Fprintf(tw, "NXDOMAIN names\t%d\n", st.NXDomainNames)
	perTuple := ""
	if st.Tuples > 0 {
		perTuple = fmt.Sprintf(" (%.1f bytes per record)", float64(st.BytesOnDisk)/float64(st.Tuples))
	}
	fmt.Fprintf(tw, "on disk\t%s%s\n", fmtBytes(st.BytesOnDisk), perTuple)
	for i, t := range types {
		label := ""
		if i == 0 {
			label = "by type"
		}
		fmt.Fprintf(tw, "%s\t%-10s %d\n", label, pdns.TypeString(t), st.ByType[t])
	}
	return tw.Flush()
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func newExportCmd(e *env) *cobra.Command {
	var db, output string
	cmd := &cobra.Command{
		Use:   "export [-o FILE]",
		Short: "Write every record as COF NDJSON (backup, migration)",
		Long: `export writes every record of the store as one COF NDJSON line (the format
dnsscout ingest and other passive DNS tools read), with all it knows: count,
time_first/time_last (0 when never seen in traffic), zone times, bailiwick and
sensor ids. It writes to stdout, or to FILE with -o (a summary goes to stderr).`,
		Example: `  dnsscout pdns export -o backup.ndjson
  dnsscout pdns export | gzip > backup.ndjson.gz
  dnsscout pdns export --db old-store | dnsscout ingest --db new-store -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExport(cmd.Context(), e, db, output)
		},
	}
	addDBFlag(cmd.Flags(), &db)
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

func runExport(ctx context.Context, e *env, dsn, output string) (err error) {
	db, err := openStore(ctx, e, "", dsn, store.Options{ReadOnly: true, MaxLimit: -1})
	if err != nil {
		return fmt.Errorf("pdns export: %w", err)
	}
	defer db.Close()
	var w io.Writer = e.stdout
	if output != "" && output != "-" {
		fh, err := os.Create(output)
		if err != nil {
			return fmt.Errorf("pdns export: %w", err)
		}
		defer func() {
			if cerr := fh.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("pdns export: %w", cerr)
			}
		}()
		w = fh
	}
	enc := pdns.NewEncoder(w, pdns.FormatCOF)
	n := 0
	if err := store.Export(ctx, db, func(t *pdns.Tuple) error {
		n++
		return enc.Encode(t)
	}); err != nil {
		enc.Flush()
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("pdns export: interrupted after %d records", n)
		}
		return fmt.Errorf("pdns export: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("pdns export: %w", err)
	}
	if output != "" && output != "-" {
		fmt.Fprintf(e.stderr, "exported %d records to %s\n", n, output)
	}
	return nil
}
