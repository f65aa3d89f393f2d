package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestDBFlag: every --db flag that falls back to the default directory
// has the one help text; the others (recon's optional passive store,
// pdns migrate's DSN) say what they are instead.
func TestDBFlag(t *testing.T) {
	root := newRoot(&env{getenv: func(string) string { return "" }})
	var withDefault []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			fl := sub.Flags().Lookup("db")
			if fl == nil {
				fl = sub.PersistentFlags().Lookup("db")
			}
			if fl != nil {
				if fl.Usage == dbHelp {
					withDefault = append(withDefault, sub.CommandPath())
				} else if strings.Contains(fl.Usage, "XDG_DATA_HOME") {
					t.Errorf("%s: --db help %q repeats the default directory: use addDBFlag", sub.CommandPath(), fl.Usage)
				}
			}
			walk(sub)
		}
	}
	walk(root)
	for _, want := range []string{"dnsscout ingest", "dnsscout query", "dnsscout serve", "dnsscout keys", "dnsscout pdns stats", "dnsscout pdns prune", "dnsscout pdns export"} {
		if !containsString(withDefault, want) {
			t.Errorf("%s: --db without the default-directory help (have it: %v)", want, withDefault)
		}
	}
}

// TestStoreDSN is the default-directory rule: --db as given, else
// $XDG_DATA_HOME/dnsscout/pdns, else ~/.local/share/dnsscout/pdns, else a
// usage error naming the command.
func TestStoreDSN(t *testing.T) {
	tests := []struct {
		name, db string
		env      map[string]string
		want     string
		err      string
	}{
		{name: "flag wins", db: "/srv/pdns", env: map[string]string{"XDG_DATA_HOME": "/x"}, want: "/srv/pdns"},
		{name: "dsn kept", db: "clickhouse://127.0.0.1:9000/pdns", want: "clickhouse://127.0.0.1:9000/pdns"},
		{name: "xdg", env: map[string]string{"XDG_DATA_HOME": "/data", "HOME": "/home/u"}, want: "/data/dnsscout/pdns"},
		{name: "home", env: map[string]string{"HOME": "/home/u"}, want: "/home/u/.local/share/dnsscout/pdns"},
		{name: "relative xdg ignored", env: map[string]string{"XDG_DATA_HOME": "data", "HOME": "/home/u"}, want: "/home/u/.local/share/dnsscout/pdns"},
		{name: "none", err: "ingest: store: no default directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{getenv: func(k string) string { return tc.env[k] }}
			got, err := storeDSN(e, "ingest: ", tc.db)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) || !strings.HasSuffix(err.Error(), "; give --db") {
					t.Fatalf("got %q, %v; want error %q...; give --db", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
