package passive

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/dnsscout/dnsscout/internal/store"
)

// A sourceKind is one kind of passive source: its name, where its URL and
// credential come from (flag, then environment, then the config file), what
// it needs to run, and how to open it.
type sourceKind struct {
	name string
	// inFile: config file entries may have this type.
	inFile bool
	// flagURL and flagSecret read the kind's flags from Options; nil when
	// it has none.
	flagURL, flagSecret func(Options) string
	// envURL and envSecret are its environment variables, dnsscout's own
	// name first.
	envURL, envSecret []string
	// secret points at the config field that holds its credential (Key or
	// Auth) and returns the variable the entry names for it (key_env,
	// auth_env); nil when it needs none.
	secret func(*SourceConfig) (*string, string)
	// defaultURL is the public service, which needs the credential; any
	// other URL (a dnsscout server) may go without.
	defaultURL string
	// needsDB: it reads the local store.
	needsDB bool
	// missing is the error when the source is asked for (by name, or by a
	// config file entry) but cannot run.
	missing error
	// last: it is opened after the labelled sources of the config file
	// (crt.sh is the slowest).
	last bool
	open func(sc SourceConfig, b *builder) (Source, error)
}

// sourceKinds are the kinds of passive source, in the order a run uses
// them (labelled sources of the config file come before the last ones).
var sourceKinds = []sourceKind{
	{
		name: KindStore, needsDB: true,
		missing: fmt.Errorf("%w: the store source needs a store (--db)", ErrConfig),
		open: func(_ SourceConfig, b *builder) (Source, error) {
			return NewStoreSource(b.db, StoreOptions{MaxResults: b.opts.MaxResults, Logger: b.log})
		},
	},
	{
		name: KindDNSDB, inFile: true,
		flagURL: func(o Options) string { return o.DNSDBURL }, envURL: []string{EnvDNSDBURL, EnvDNSDBURL2},
		flagSecret: func(o Options) string { return o.DNSDBKey }, envSecret: []string{EnvDNSDBKey, EnvDNSDBKey2},
		secret:     func(sc *SourceConfig) (*string, string) { return &sc.Key, sc.KeyEnv },
		defaultURL: DefaultDNSDBURL,
		missing: fmt.Errorf("%w: DNSDB needs an API key (--dnsdb-key, %s or \"key\" in the config file)",
			ErrAuth, EnvDNSDBKey),
		open: newDNSDB,
	},
	{
		name: KindCIRCL, inFile: true,
		flagURL: func(o Options) string { return o.CIRCLURL }, envURL: []string{EnvCIRCLURL, EnvCIRCLURL2},
		flagSecret: func(o Options) string { return o.CIRCLAuth }, envSecret: []string{EnvCIRCLAuth, EnvCIRCLAut2},
		secret:     func(sc *SourceConfig) (*string, string) { return &sc.Auth, sc.AuthEnv },
		defaultURL: DefaultCIRCLURL,
		missing: fmt.Errorf("%w: CIRCL passive DNS needs credentials (--circl-auth, %s or \"auth\" in the config file)",
			ErrAuth, EnvCIRCLAuth),
		open: newCIRCL,
	},
	{
		name: KindCrtSh, inFile: true, last: true,
		flagURL: func(o Options) string { return o.CrtShURL },
		open:    newCrtSh,
	},
}

// kindNamed returns the kind called name, or nil.
func kindNamed(name string) *sourceKind {
	for i := range sourceKinds {
		if sourceKinds[i].name == name {
			return &sourceKinds[i]
		}
	}
	return nil
}

// fileKinds lists the types a config file entry may have: "a, b or c".
func fileKinds() string {
	var names []string
	for _, k := range sourceKinds {
		if k.inFile {
			names = append(names, k.name)
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// NewSources builds the sources of a run: every kind of sourceKinds that
// can run (the store when db is not nil, DNSDB and CIRCL when they have
// credentials or an explicit URL, crt.sh), with every labelled source of
// the config file before crt.sh, minus the disabled and excluded ones.
// Credentials and URLs of the built-in sources come from opts, else the
// environment, else the config file.
func NewSources(opts Options, db store.Backend) ([]Source, error) {
	if opts.Disabled && opts.Only {
		return nil, fmt.Errorf("%w: --passive-only and --no-passive exclude each other", ErrConfig)
	}
	if opts.Disabled {
		return nil, nil
	}
	b, err := newBuilder(opts, db)
	if err != nil {
		return nil, err
	}
	return b.build()
}

// builder holds what NewSources reads once.
type builder struct {
	opts   Options
	db     store.Backend
	cfg    *Config
	getenv func(string) string
	log    *slog.Logger
}

// newBuilder fills the defaults of opts, reads the config file and checks
// the names opts selects and excludes sources by.
func newBuilder(opts Options, db store.Backend) (*builder, error) {
	b := &builder{opts: opts, db: db, getenv: opts.Getenv, log: opts.Logger}
	if b.getenv == nil {
		b.getenv = os.Getenv
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if b.cfg, err = loadOptConfig(opts, b.getenv, b.log); err != nil {
		return nil, err
	}
	for _, n := range append(slices.Clone(opts.Sources), opts.Exclude...) {
		if !b.known(n) {
			var kinds []string
			for _, k := range sourceKinds {
				kinds = append(kinds, k.name)
			}
			return nil, fmt.Errorf("%w: unknown passive source %q (kinds: %s; or a label from the config file)",
				ErrConfig, n, strings.Join(kinds, ", "))
		}
	}
	return b, nil
}

// build opens the sources in order: the kinds, with the labelled sources
// of the config file before the last ones.
func (b *builder) build() ([]Source, error) {
	var out []Source
	var err error
	for _, last := range []bool{false, true} {
		for i := range sourceKinds {
			if k := &sourceKinds[i]; k.last == last {
				if out, err = b.builtin(out, k); err != nil {
					return nil, err
				}
			}
		}
		if !last {
			if out, err = b.labelled(out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// known reports whether n names a kind or a label of the config file.
func (b *builder) known(n string) bool {
	return kindNamed(n) != nil ||
		slices.ContainsFunc(b.cfg.Sources, func(s SourceConfig) bool { return s.Label != "" && s.Label == n })
}

// wanted says whether the options select a source of kind (or label), and
// whether they name it explicitly.
func (b *builder) wanted(kind, label string) (want, explicit bool) {
	if slices.ContainsFunc(b.opts.Exclude, func(x string) bool { return x == kind || x == label }) {
		return false, false
	}
	if len(b.opts.Sources) == 0 {
		return true, false
	}
	explicit = slices.ContainsFunc(b.opts.Sources, func(x string) bool { return x == kind || x == label })
	return explicit, explicit
}

// builtin appends the built-in source of kind k when it is wanted and can
// run; it is an error when it is asked for (by name, or by an entry of the
// config file) and cannot.
func (b *builder) builtin(out []Source, k *sourceKind) ([]Source, error) {
	sc, inFile := b.primary(k.name)
	want, explicit := b.wanted(k.name, k.name)
	if !want || sc.Disabled {
		return out, nil
	}
	if !b.usable(k, &sc) {
		if explicit || inFile {
			return nil, k.missing
		}
		return out, nil
	}
	s, err := k.open(sc, b)
	if err != nil {
		return nil, err
	}
	return append(out, s), nil
}

// primary returns the config file entry of kind without a label, with the
// kind's flags and environment variables applied over it.
func (b *builder) primary(kind string) (SourceConfig, bool) {
	sc, inFile := SourceConfig{Type: kind}, false
	if i := slices.IndexFunc(b.cfg.Sources, func(s SourceConfig) bool { return s.Type == kind && s.Label == "" }); i >= 0 {
		sc, inFile = b.cfg.Sources[i], true
	}
	k := kindNamed(kind)
	if k.flagURL != nil {
		sc.URL = b.setting(k.flagURL(b.opts), k.envURL, sc.URL)
	}
	if k.secret != nil {
		p, name := k.secret(&sc)
		*p = b.setting(k.flagSecret(b.opts), k.envSecret, *p, envOf(b.getenv, name))
	}
	return sc, inFile
}

// usable reports whether a source of kind k configured as sc can run.
func (b *builder) usable(k *sourceKind, sc *SourceConfig) bool {
	switch {
	case k.needsDB:
		return b.db != nil
	case k.secret != nil:
		p, _ := k.secret(sc)
		return *p != "" || sc.URL != "" && sc.URL != k.defaultURL
	}
	return true
}

// labelled appends the labelled sources of the config file that are wanted
// and not disabled, in file order.
func (b *builder) labelled(out []Source) ([]Source, error) {
	for _, sc := range b.cfg.Sources {
		if sc.Label == "" || sc.Disabled {
			continue
		}
		if want, _ := b.wanted(sc.Type, sc.Label); !want {
			continue
		}
		sc.Key = first(sc.Key, envOf(b.getenv, sc.KeyEnv))
		sc.Auth = first(sc.Auth, envOf(b.getenv, sc.AuthEnv))
		k := kindNamed(sc.Type)
		if k == nil || !k.inFile {
			return nil, fmt.Errorf("%w: source type %q", ErrConfig, sc.Type)
		}
		s, err := k.open(sc, b)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// setting returns the first value set of: the flag, the environment
// variables in turn, the config file's values in turn.
func (b *builder) setting(flag string, env []string, file ...string) string {
	if flag != "" {
		return flag
	}
	for _, n := range env {
		if v := b.getenv(n); v != "" {
			return v
		}
	}
	return first(file...)
}

// first returns the first non-empty value.
func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
