package cli

import (
	"context"

	"github.com/dnsscout/dnsscout/internal/store"
	_ "github.com/dnsscout/dnsscout/internal/store/backends" // every backend's DSN scheme
)

// dbHelp is the help of every --db flag that falls back to the default
// store directory.
const dbHelp = "store directory or DSN (default: $XDG_DATA_HOME/dnsscout/pdns or ~/.local/share/dnsscout/pdns)"

// addDBFlag defines --db, the store of a command that falls back to the
// default directory.
func addDBFlag(fl interface {
	StringVar(p *string, name, value, usage string)
}, p *string) {
	fl.StringVar(p, "db", "", dbHelp)
}

// storeDSN is the default-directory rule, in one place: --db as given, or
// the default store directory when it is empty. who prefixes the error
// ("ingest: ", ...).
func storeDSN(e *env, who, dsn string) (string, error) {
	if dsn != "" {
		return dsn, nil
	}
	d, err := store.DefaultDirFrom(e.getenv)
	if err != nil {
		return "", usageError("%s%v; give --db", who, err)
	}
	return d, nil
}

// openStore opens the store at dsn ("" = the default directory): every
// command opens its store here.
func openStore(ctx context.Context, e *env, who, dsn string, opts store.Options) (store.Backend, error) {
	dsn, err := storeDSN(e, who, dsn)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, dsn, opts)
}
