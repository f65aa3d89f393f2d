package passive

// Configuration: which sources a run uses and their credentials, from
// flags (Options), the environment and a JSON config file, in that order of
// precedence. See docs/passive.md for the file format.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Source kinds, as the config file's "type" and Options.Sources name them.
const (
	KindStore = "store"
	KindCrtSh = "crtsh"
	KindCIRCL = "circl"
	KindDNSDB = "dnsdb"
)

// Environment variables read by NewSources (the second of each pair is
// dnsdbq's name, accepted for compatibility).
const (
	EnvConfig    = "DNSSCOUT_PASSIVE_CONFIG"
	EnvDNSDBKey  = "DNSSCOUT_DNSDB_KEY"
	EnvDNSDBKey2 = "DNSDB_API_KEY"
	EnvDNSDBURL  = "DNSSCOUT_DNSDB_URL"
	EnvDNSDBURL2 = "DNSDB_SERVER"
	EnvCIRCLAuth = "DNSSCOUT_CIRCL_AUTH"
	EnvCIRCLAut2 = "CIRCL_AUTH"
	EnvCIRCLURL  = "DNSSCOUT_CIRCL_URL"
	EnvCIRCLURL2 = "CIRCL_SERVER"
)

// Options select and configure the passive sources of a run. The CLI
// fills it from flags; the zero value uses the environment and the default
// config file.
type Options struct {
	// Disabled is --no-passive: NewSources returns no source. Default false.
	Disabled bool
	// Only is --passive-only. It does not change the sources; the caller
	// (recon) must then send no packet to the target's nameservers.
	// Combining it with Disabled is an error. Default false.
	Only bool
	// ConfigFile is the JSON config file. Default: $DNSSCOUT_PASSIVE_CONFIG,
	// else DefaultConfigPath when that file exists. A file named here or in
	// the environment must exist.
	ConfigFile string
	// Sources keeps only the sources named here, by kind ("store",
	// "crtsh", "circl", "dnsdb") or by label. Naming a source that cannot
	// run (a key-less DNSDB) is an error. Default: every usable source.
	Sources []string
	// Exclude drops the sources named here (kind or label). Default none.
	Exclude []string
	// DNSDBKey and DNSDBURL configure the DNSDB source (flags); they win
	// over the environment and the config file. Default "".
	DNSDBKey, DNSDBURL string
	// CIRCLAuth ("user:password" or a token) and CIRCLURL configure the
	// CIRCL source likewise. Default "".
	CIRCLAuth, CIRCLURL string
	// CrtShURL replaces crt.sh's URL (a mirror, or a test server).
	// Default DefaultCrtShURL.
	CrtShURL string
	// Rate is the per-source request rate (requests/s) for sources whose
	// config entry does not set one. Default 1.
	Rate float64
	// Timeout is the per-request timeout for sources whose config entry
	// does not set one. Default: 60s, crt.sh 180s.
	Timeout time.Duration
	// MaxResults caps the observations of each source whose entry does
	// not set max_results. Default: 100,000 (store 1,000,000; crt.sh caps
	// certificate entries at 1,000,000 instead).
	MaxResults int
	// HTTPClient, when set, sends every remote request (proxies, tests).
	// Default: one client per source.
	HTTPClient *http.Client
	// Logger receives debug logs and warnings (a config file readable by
	// others that holds credentials); nil discards.
	Logger *slog.Logger
	// Getenv reads the environment. Default os.Getenv.
	Getenv func(string) string
}

// Config is the config file: a list of sources.
//
//	{"sources": [
//	  {"type": "dnsdb", "key_env": "MY_DNSDB_KEY"},
//	  {"type": "circl", "auth": "user:password", "rate": 0.5},
//	  {"type": "dnsdb", "label": "corp", "url": "https://pdns.corp.example"},
//	  {"type": "crtsh", "exclude_expired": true}
//	]}
//
// An entry without a label configures the built-in source of its type
// (flags and environment still win); an entry with a label adds a further
// source, such as a remote dnsscout server.
type Config struct {
	Sources []SourceConfig `json:"sources"`
}

// SourceConfig is one entry of the config file.
type SourceConfig struct {
	// Type is "crtsh", "circl" or "dnsdb". Required.
	Type string `json:"type"`
	// Label names an additional source (Observation.Source); empty for
	// the built-in source of the type.
	Label string `json:"label,omitempty"`
	// URL of the service; default the public service of the type.
	URL string `json:"url,omitempty"`
	// Key (dnsdb) or Auth (circl, "user:password" or a token); KeyEnv and
	// AuthEnv name an environment variable to read it from instead.
	Key     string `json:"key,omitempty"`
	KeyEnv  string `json:"key_env,omitempty"`
	Auth    string `json:"auth,omitempty"`
	AuthEnv string `json:"auth_env,omitempty"`
	// Disabled turns the source off.
	Disabled bool `json:"disabled,omitempty"`
	// Rate in requests/s (negative: unlimited), Burst, Timeout ("90s"),
	// PageSize, MaxResults: see HTTPOptions and the source options.
	Rate       float64  `json:"rate,omitempty"`
	Burst      int      `json:"burst,omitempty"`
	Timeout    Duration `json:"timeout,omitzero"`
	PageSize   int      `json:"page_size,omitempty"`
	MaxResults int      `json:"max_results,omitempty"`
	// ExcludeExpired (crtsh) leaves expired certificates out.
	ExcludeExpired bool `json:"exclude_expired,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("90s").
type Duration time.Duration

// UnmarshalJSON reads "90s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err2 := json.Unmarshal(b, &secs); err2 != nil {
			return fmt.Errorf("duration: want \"90s\" or seconds, got %s", b)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// DefaultConfigPath returns $XDG_CONFIG_HOME/dnsscout/passive.json, or
// ~/.config/dnsscout/passive.json; "" when neither variable is set.
func DefaultConfigPath(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "dnsscout", "passive.json")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "dnsscout", "passive.json")
	}
	return ""
}

// LoadConfig reads and checks a config file. Unknown fields are errors
// (a misspelt "api_key" must not silently run without a key).
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes and checks config file content.
func ParseConfig(b []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrConfig)
	}
	labels := map[string]bool{}
	for i, s := range c.Sources {
		if k := kindNamed(s.Type); k == nil || !k.inFile {
			return nil, fmt.Errorf("%w: source %d: type %q (want %s)", ErrConfig, i+1, s.Type, fileKinds())
		}
		if s.Label != "" {
			if kindNamed(s.Label) != nil || labels[s.Label] {
				return nil, fmt.Errorf("%w: source %d: label %q is taken", ErrConfig, i+1, s.Label)
			}
			labels[s.Label] = true
		}
		if s.Key != "" && s.KeyEnv != "" || s.Auth != "" && s.AuthEnv != "" {
			return nil, fmt.Errorf("%w: source %d: give a credential or the variable to read it from, not both", ErrConfig, i+1)
		}
		if s.Timeout < 0 || s.Burst < 0 || s.PageSize < 0 {
			return nil, fmt.Errorf("%w: source %d: negative timeout, burst or page size", ErrConfig, i+1)
		}
	}
	return &c, nil
}

func (c *Config) hasSecrets() bool {
	for _, s := range c.Sources {
		if s.Key != "" || s.Auth != "" {
			return true
		}
	}
	return false
}

func envOf(getenv func(string) string, name string) string {
	if name == "" {
		return ""
	}
	return getenv(name)
}

// loadOptConfig reads the config file that opts or the environment name,
// or the default one if it exists.
func loadOptConfig(opts Options, getenv func(string) string, log *slog.Logger) (*Config, error) {
	path := opts.ConfigFile
	if path == "" {
		path = getenv(EnvConfig)
	}
	mustExist := path != ""
	if path == "" {
		path = DefaultConfigPath(getenv)
	}
	if path == "" {
		return &Config{}, nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && !mustExist {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: config file: %v", ErrConfig, err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 && cfg.hasSecrets() {
		log.Warn("passive config file holds credentials and is readable by others; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
	}
	return cfg, nil
}

func httpOpts(sc SourceConfig, opts Options) HTTPOptions {
	h := HTTPOptions{Client: opts.HTTPClient, Rate: opts.Rate, Timeout: opts.Timeout, Burst: sc.Burst}
	if sc.Rate != 0 {
		h.Rate = sc.Rate
	}
	if sc.Timeout > 0 {
		h.Timeout = time.Duration(sc.Timeout)
	}
	return h
}

func maxResults(sc SourceConfig, opts Options) int {
	if sc.MaxResults != 0 {
		return sc.MaxResults
	}
	return opts.MaxResults
}

func newDNSDB(sc SourceConfig, b *builder) (Source, error) {
	return NewDNSDBSource(DNSDBOptions{
		URL: sc.URL, Key: sc.Key, Label: sc.Label, PageSize: sc.PageSize,
		MaxResults: maxResults(sc, b.opts), HTTP: httpOpts(sc, b.opts), Logger: b.log,
	})
}

func newCIRCL(sc SourceConfig, b *builder) (Source, error) {
	return NewCIRCLSource(CIRCLOptions{
		URL: sc.URL, Auth: sc.Auth, Label: sc.Label, PageSize: sc.PageSize,
		MaxResults: maxResults(sc, b.opts), HTTP: httpOpts(sc, b.opts), Logger: b.log,
	})
}

func newCrtSh(sc SourceConfig, b *builder) (Source, error) {
	return NewCrtShSource(CrtShOptions{
		URL: sc.URL, Label: sc.Label, ExcludeExpired: sc.ExcludeExpired,
		MaxEntries: sc.MaxResults, HTTP: httpOpts(sc, b.opts), Logger: b.log,
	})
}
