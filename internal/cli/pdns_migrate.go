package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse"
)

// The pdns command group is built in pdns.go; migrate joins it by wrapping
// the group's constructor (this file's init runs after pdns.go's, as Go
// runs the init functions of a package's files in file-name order).
func init() { pdnsSubcommands = append(pdnsSubcommands, newMigrateCmd) }

func newMigrateCmd(e *env) *cobra.Command {
	var dsn, cluster string
	cmd := &cobra.Command{
		Use:   "migrate --db clickhouse://HOST:PORT/DB [--cluster NAME]",
		Short: "Create or upgrade the schema of a ClickHouse store",
		Long: `migrate creates the database, tables and materialized views of a ClickHouse
passive DNS store, or brings an older schema up to date; running it again
changes nothing. With --cluster (or ?cluster=NAME in the DSN) it creates the
local tables on every shard of that cluster (as listed in the server's
remote_servers configuration) and Distributed tables over them; no ZooKeeper
is needed. Afterwards every command takes the same DSN in --db, with the
cluster as ?cluster=NAME. The embedded Pebble store needs no migration.`,
		Example: `  dnsscout pdns migrate --db clickhouse://127.0.0.1:9000/pdns
  dnsscout pdns migrate --db clickhouse://192.0.2.10:9000/pdns --cluster pdns
  dnsscout ingest --db 'clickhouse://192.0.2.10:9000/pdns?cluster=pdns' capture.pcap`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrate(cmd.Context(), e, dsn, cluster)
		},
	}
	cmd.Flags().StringVar(&dsn, "db", "", "store DSN: clickhouse://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT...]/DB[?cluster=NAME]")
	cmd.Flags().StringVar(&dsn, "store", "", "same as --db")
	cmd.Flags().StringVar(&cluster, "cluster", "", "cluster name (remote_servers) to create Distributed tables over")
	return cmd
}

func runMigrate(ctx context.Context, e *env, dsn, cluster string) error {
	scheme, loc, ok := strings.Cut(dsn, "://")
	if dsn == "" || !ok || strings.ToLower(scheme) == "pebble" {
		if cluster != "" {
			return usageError("pdns migrate: --cluster needs a clickhouse:// DSN in --db")
		}
		fmt.Fprintln(e.stdout, "the embedded Pebble store creates its layout when opened: nothing to migrate")
		return nil
	}
	if strings.ToLower(scheme) != "clickhouse" {
		return usageError("pdns migrate: %v", fmt.Errorf("%w %q", store.ErrUnknownScheme, scheme))
	}
	opts, err := clickhouse.ParseDSN(loc)
	if err != nil {
		return usageError("pdns migrate: %v", err)
	}
	if cluster != "" {
		if opts.Cluster != "" && opts.Cluster != cluster {
			return usageError("pdns migrate: --cluster %s contradicts cluster=%s in the DSN", cluster, opts.Cluster)
		}
		opts.Cluster = cluster
	}
	res, err := clickhouse.Migrate(ctx, opts)
	if err != nil {
		return fmt.Errorf("pdns migrate: %w", err)
	}
	where := fmt.Sprintf("%d server", res.Servers)
	if res.Servers != 1 {
		where += "s"
	}
	if opts.Cluster != "" {
		where += " of cluster " + opts.Cluster
	}
	fmt.Fprintf(e.stdout, "schema version %d ready in database %s on %s\n", res.Version, opts.Database, where)
	return nil
}
