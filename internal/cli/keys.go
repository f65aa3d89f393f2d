package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/api"
	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

func init() { subcommands = append(subcommands, newKeysCmd) }

type keysFlags struct {
	db          string
	adminSocket string
}

func newKeysCmd(e *env) *cobra.Command {
	var f keysFlags
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the API keys of the passive DNS server",
		Long: `keys creates, lists and revokes the API keys that "dnsscout serve" accepts.
Keys live in the store (beside the data), with their permissions (query,
ingest) and limits: a daily query quota, a burst limit, result and offset
caps, and a cap on concurrent requests. Only a hash of each key's secret is
kept: the key is shown once, when it is created.

Once a store holds a key, serve requires one on every API request. When serve
is running, keys talks to it through its admin socket; otherwise it opens the
store directly.`,
		Example: `  dnsscout keys add --name analyst --daily-quota 1000 --burst 10/1m
  dnsscout keys add --name sensor-fra1 --perms ingest
  dnsscout keys list
  dnsscout keys revoke abcdefghij`,
	}
	pf := cmd.PersistentFlags()
	addDBFlag(pf, &f.db)
	pf.StringVar(&f.adminSocket, "admin-socket", "", "admin socket of a running serve (default: DIR.admin.sock beside the store directory)")
	cmd.AddCommand(newKeysAddCmd(e, &f), newKeysListCmd(e, &f), newKeysRevokeCmd(e, &f))
	return cmd
}

// keyAdmin is what the keys commands need, locally or through a server.
type keyAdmin interface {
	Add(ctx context.Context, spec keys.Spec) (api.AddedKey, error)
	List(ctx context.Context) ([]keys.Info, error)
	Revoke(ctx context.Context, id string) (keys.Info, error)
}

// localAdmin manages the keys of a store this process opened.
type localAdmin struct{ m *keys.Manager }

func (l localAdmin) Add(ctx context.Context, spec keys.Spec) (api.AddedKey, error) {
	tok, k, err := l.m.Add(ctx, spec)
	if err != nil {
		return api.AddedKey{}, err
	}
	info, _ := l.m.Get(k.ID)
	return api.AddedKey{Token: tok, Key: info}, nil
}

func (l localAdmin) List(context.Context) ([]keys.Info, error) { return l.m.List(), nil }

func (l localAdmin) Revoke(ctx context.Context, id string) (keys.Info, error) {
	if err := l.m.Revoke(ctx, id); err != nil {
		return keys.Info{}, err
	}
	return l.m.Get(id)
}

// openKeyAdmin opens the store, or reaches the running server that holds
// it through its admin socket.
func openKeyAdmin(ctx context.Context, e *env, f *keysFlags, readOnly bool) (keyAdmin, func(), error) {
	dsn, err := storeDSN(e, "keys: ", f.db)
	if err != nil {
		return nil, nil, err
	}
	db, err := openStore(ctx, e, "keys: ", dsn, store.Options{ReadOnly: readOnly})
	if errors.Is(err, pebble.ErrNoStore) {
		return nil, nil, fmt.Errorf("keys: no store at %s (keys add creates one)", dsn)
	}
	if errors.Is(err, pebble.ErrLocked) {
		sock := adminSocketPath(f.adminSocket, dsn)
		if sock == "" {
			return nil, nil, fmt.Errorf("keys: the store is in use and there is no admin socket: %w", err)
		}
		if _, serr := os.Stat(sock); serr != nil {
			return nil, nil, fmt.Errorf("keys: the store is in use by another process and its admin socket %s is missing (stop it, or start serve with --admin-socket)", sock)
		}
		return api.NewAdminClient(sock), func() {}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("keys: %w", err)
	}
	ms, ok := db.(store.MetaStore)
	if !ok {
		db.Close()
		return nil, nil, fmt.Errorf("keys: this store backend cannot keep keys")
	}
	m, err := keys.Open(ctx, ms, keys.Options{})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return localAdmin{m}, func() {
		if !readOnly {
			m.Flush(ctx)
		}
		db.Close()
	}, nil
}

type keysAddFlags struct {
	name          string
	perms         string
	dailyQuota    int64
	burst         string
	maxResults    int
	maxOffset     int
	maxConcurrent int
	expires       string
	format        string
}

func newKeysAddCmd(e *env, kf *keysFlags) *cobra.Command {
	var f keysAddFlags
	cmd := &cobra.Command{
		Use:   "add [flags]",
		Short: "Create an API key and print it (shown only once)",
		Example: `  dnsscout keys add --name analyst --daily-quota 1000 --burst 10/1m --max-results 50000
  dnsscout keys add --name sensor-fra1 --perms ingest
  dnsscout keys add --name watch-admin --perms query,admin
  dnsscout keys add --name trial --expires 2025-12-31 --max-concurrent 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKeysAdd(cmd.Context(), e, kf, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "a label for the key (who or what uses it)")
	fl.StringVar(&f.perms, "perms", "query", "permissions, comma-separated: query (lookups, UI), ingest (remote sensors), admin (add and remove watched domains)")
	fl.Int64Var(&f.dailyQuota, "daily-quota", 0, "queries per UTC day (0 = unlimited)")
	fl.StringVar(&f.burst, "burst", "", "burst limit `N/WINDOW`, e.g. 10/1m: at most N queries per window (default: none)")
	fl.IntVar(&f.maxResults, "max-results", 0, "most results per query (0 = the server's --max-results)")
	fl.IntVar(&f.maxOffset, "max-offset", 0, "largest offset per query (0 = the server's --max-offset)")
	fl.IntVar(&f.maxConcurrent, "max-concurrent", 0, "requests in flight at once (0 = unlimited)")
	fl.StringVar(&f.expires, "expires", "", "when the key stops working: RFC 3339, a date, or relative like +30d (default: never)")
	fl.StringVar(&f.format, "format", "text", "output: text or json")
	return cmd
}

// parseBurst reads N/WINDOW (10/1m, 100/1h, 5/30s).
func parseBurst(s string) (int, time.Duration, error) {
	n, w, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, errors.New("want N/WINDOW, e.g. 10/1m")
	}
	size, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || size <= 0 {
		return 0, 0, fmt.Errorf("bad burst size %q", n)
	}
	win, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil || win < time.Second || win%time.Second != 0 {
		return 0, 0, fmt.Errorf("bad burst window %q (whole seconds, e.g. 30s, 1m, 1h)", w)
	}
	return size, win, nil
}

// parseExpiry reads an absolute time or "+DURATION" (units s m h d w).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if rel, ok := strings.CutPrefix(strings.TrimSpace(s), "+"); ok {
		t, err := store.ParseTime("-"+rel, now)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(now.Sub(time.Unix(t, 0))), nil
	}
	t, err := store.ParseTime(s, now)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(t, 0).UTC(), nil
}

func runKeysAdd(ctx context.Context, e *env, kf *keysFlags, f *keysAddFlags) error {
	perms, err := keys.ParsePermissions(f.perms)
	if err != nil {
		return usageError("keys add: --perms: %v", trimPkg(err))
	}
	spec := keys.Spec{Name: f.name, Perms: perms, Limits: keys.Limits{
		DailyQuota: f.dailyQuota, MaxResults: f.maxResults, MaxOffset: f.maxOffset, MaxConcurrent: f.maxConcurrent}}
	if f.burst != "" {
		var win time.Duration
		if spec.BurstSize, win, err = parseBurst(f.burst); err != nil {
			return usageError("keys add: --burst: %v", err)
		}
		spec.BurstWindow = keys.Seconds(win)
	}
	if f.expires != "" {
		now := time.Now()
		if spec.Expires, err = parseExpiry(f.expires, now); err != nil {
			return usageError("keys add: --expires: %s", storeMsg(err))
		}
		if !spec.Expires.After(now) {
			return usageError("keys add: --expires %s is in the past (%s): the key could never be used", f.expires, spec.Expires.UTC().Format(time.RFC3339))
		}
	}
	if f.format != "text" && f.format != "json" {
		return usageError("keys add: --format must be text or json")
	}
	adm, closeFn, err := openKeyAdmin(ctx, e, kf, false)
	if err != nil {
		return err
	}
	defer closeFn()
	added, err := adm.Add(ctx, spec)
	if err != nil {
		if errors.Is(err, keys.ErrBadSpec) {
			return usageError("keys add: %v", trimPkg(err))
		}
		return err
	}
	if f.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(added)
	}
	fmt.Fprintf(e.stdout, "%s\n", added.Token)
	fmt.Fprintf(e.stderr, "key %s created (%s); the line above is its secret and is not shown again.\n", added.Key.ID, describeKey(&added.Key))
	fmt.Fprintf(e.stderr, "  dnsdbq:  DNSDB_SERVER=http://HOST:PORT DNSDB_API_KEY=%s dnsdbq -r www.example.com\n", added.Token)
	fmt.Fprintf(e.stderr, "  CIRCL:   curl -u %s:SECRET http://HOST:PORT/pdns/query/www.example.com\n", added.Key.ID)
	return nil
}

// describeKey says what a key may do in one line.
func describeKey(k *keys.Info) string {
	var parts []string
	var ps []string
	for _, p := range k.Perms {
		ps = append(ps, string(p))
	}
	parts = append(parts, "perms "+strings.Join(ps, ","))
	if k.DailyQuota > 0 {
		parts = append(parts, fmt.Sprintf("quota %d/day", k.DailyQuota))
	}
	if k.BurstSize > 0 {
		parts = append(parts, fmt.Sprintf("burst %d/%s", k.BurstSize, fmtWindow(k.BurstWindow.Duration())))
	}
	if k.MaxResults > 0 {
		parts = append(parts, fmt.Sprintf("max results %d", k.MaxResults))
	}
	if k.MaxOffset > 0 {
		parts = append(parts, fmt.Sprintf("max offset %d", k.MaxOffset))
	}
	if k.MaxConcurrent > 0 {
		parts = append(parts, fmt.Sprintf("max concurrent %d", k.MaxConcurrent))
	}
	if !k.Expires.IsZero() {
		parts = append(parts, "expires "+k.Expires.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}

// fmtWindow shows a burst window as --burst takes it: 1h, 5m, 30s.
func fmtWindow(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

func newKeysListCmd(e *env, kf *keysFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the API keys with today's usage",
		Example: "  dnsscout keys list\n  dnsscout keys list --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageError("keys list: --format must be table or json")
			}
			adm, closeFn, err := openKeyAdmin(cmd.Context(), e, kf, true)
			if err != nil {
				return err
			}
			defer closeFn()
			list, err := adm.List(cmd.Context())
			if err != nil {
				return err
			}
			return writeKeyList(e.stdout, format, list, time.Now())
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output: table or json")
	return cmd
}

func writeKeyList(w io.Writer, format string, list []keys.Info, now time.Time) error {
	if format == "json" {
		if list == nil {
			list = []keys.Info{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no keys (the server runs without authentication on loopback; add one with dnsscout keys add)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tPERMS\tUSED TODAY\tLIMITS\tCREATED")
	for i := range list {
		k := &list[i]
		status := "active"
		switch {
		case !k.Revoked.IsZero():
			status = "revoked " + k.Revoked.UTC().Format("2006-01-02")
		case !k.Expires.IsZero() && !now.Before(k.Expires):
			status = "expired"
		}
		used := strconv.FormatInt(k.UsedToday, 10)
		if k.DailyQuota > 0 {
			used += "/" + strconv.FormatInt(k.DailyQuota, 10)
		}
		var ps []string
		for _, p := range k.Perms {
			ps = append(ps, string(p))
		}
		limits := describeKey(k)
		if _, rest, ok := strings.Cut(limits, ", "); ok {
			limits = rest
		} else {
			limits = "-"
		}
		name := k.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, name, status, strings.Join(ps, ","), used, limits, k.Created.UTC().Format("2006-01-02"))
	}
	return tw.Flush()
}

func newKeysRevokeCmd(e *env, kf *keysFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "revoke ID...",
		Short:   "Revoke API keys (they are refused from now on)",
		Example: "  dnsscout keys revoke abcdefghij",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			adm, closeFn, err := openKeyAdmin(cmd.Context(), e, kf, false)
			if err != nil {
				return err
			}
			defer closeFn()
			for _, id := range args {
				if _, err := adm.Revoke(cmd.Context(), id); err != nil {
					if errors.Is(err, keys.ErrNotFound) {
						return usageError("keys revoke: no key %q (see dnsscout keys list)", id)
					}
					return err
				}
				fmt.Fprintf(e.stdout, "revoked %s\n", id)
			}
			return nil
		},
	}
}
