package passive

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func sourceNames(srcs []Source) []string {
	var out []string
	for _, s := range srcs {
		out = append(out, s.Name())
	}
	return out
}

func TestNewSources(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.json")
	if err := os.WriteFile(full, readTestdata(t, "config/full.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := openStore(t, nil)
	tests := []struct {
		name    string
		opts    Options
		env     map[string]string
		db      bool
		want    []string
		wantErr error
	}{
		{name: "defaults: crt.sh only", env: map[string]string{"HOME": dir}, want: []string{"crtsh"}},
		{name: "store when given", db: true, want: []string{"store", "crtsh"}},
		{name: "env keys enable DNSDB and CIRCL", env: map[string]string{EnvDNSDBKey2: "k", EnvCIRCLAut2: "u:p"},
			want: []string{"dnsdb:https://api.dnsdb.info/dnsdb/v2", "circl:https://www.circl.lu/pdns/query", "crtsh"}},
		{name: "flag URL beats env URL", opts: Options{DNSDBURL: "http://127.0.0.1:8081"}, env: map[string]string{EnvDNSDBURL: "http://127.0.0.1:9/"},
			want: []string{"dnsdb:http://127.0.0.1:8081/dnsdb/v2", "crtsh"}},
		{name: "config file", opts: Options{ConfigFile: full}, env: map[string]string{"TEST_DNSDB_KEY": "k"},
			want: []string{"dnsdb:https://api.dnsdb.info/dnsdb/v2", "circl:https://www.circl.lu/pdns/query", "corp", "crtsh"}},
		{name: "config file from the environment", env: map[string]string{EnvConfig: full, "TEST_DNSDB_KEY": "k"},
			want: []string{"dnsdb:https://api.dnsdb.info/dnsdb/v2", "circl:https://www.circl.lu/pdns/query", "corp", "crtsh"}},
		{name: "config file DNSDB without key", opts: Options{ConfigFile: full}, wantErr: ErrAuth},
		{name: "only some", opts: Options{ConfigFile: full, Sources: []string{"corp", "crtsh"}}, want: []string{"corp", "crtsh"}},
		{name: "exclude", opts: Options{ConfigFile: full, Exclude: []string{"dnsdb", "crtsh"}}, want: []string{"circl:https://www.circl.lu/pdns/query"}},
		{name: "explicit DNSDB without key", opts: Options{Sources: []string{"dnsdb"}}, wantErr: ErrAuth},
		{name: "explicit store without db", opts: Options{Sources: []string{"store"}}, wantErr: ErrConfig},
		{name: "unknown source", opts: Options{Sources: []string{"shodan"}}, wantErr: ErrConfig},
		{name: "missing explicit config", opts: Options{ConfigFile: filepath.Join(dir, "nope.json")}, wantErr: ErrConfig},
		{name: "disabled", opts: Options{Disabled: true}, db: true},
		{name: "disabled and only", opts: Options{Disabled: true, Only: true}, wantErr: ErrConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Getenv = env(tc.env)
			var b = db
			if !tc.db {
				b = nil
			}
			srcs, err := NewSources(tc.opts, b)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if got := sourceNames(srcs); !slices.Equal(got, tc.want) {
				t.Errorf("sources %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewSourcesSettings(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.json")
	if err := os.WriteFile(full, readTestdata(t, "config/full.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	srcs, err := NewSources(Options{ConfigFile: full, CIRCLAuth: "flag:pw", Getenv: env(map[string]string{"TEST_DNSDB_KEY": "filekey"})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dnsdb, circl, corp, crt := srcs[0].(*DNSDBSource), srcs[1].(*CIRCLSource), srcs[2].(*DNSDBSource), srcs[3].(*CrtShSource)
	if dnsdb.opts.Key != "filekey" || dnsdb.http.opts.Rate != 2 || dnsdb.http.opts.Timeout != 30*time.Second {
		t.Errorf("dnsdb: key %q rate %v timeout %v; want filekey, 2, 30s", dnsdb.opts.Key, dnsdb.http.opts.Rate, dnsdb.http.opts.Timeout)
	}
	if circl.opts.Auth != "flag:pw" || circl.opts.PageSize != 500 {
		t.Errorf("circl: auth %q page %d; want the flag's auth and 500", circl.opts.Auth, circl.opts.PageSize)
	}
	if corp.opts.MaxResults != 10 || corp.base != "http://127.0.0.1:1/dnsdb/v2" {
		t.Errorf("corp: max %d base %q", corp.opts.MaxResults, corp.base)
	}
	if !crt.opts.ExcludeExpired || crt.http.opts.Timeout != 180*time.Second {
		t.Errorf("crtsh: exclude expired %v timeout %v", crt.opts.ExcludeExpired, crt.http.opts.Timeout)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"empty", `{}`, true},
		{"full", string(readTestdata(t, "config/full.json")), true},
		{"timeout in seconds", `{"sources":[{"type":"crtsh","timeout":90}]}`, true},
		{"misspelt field", `{"sources":[{"type":"dnsdb","api_key":"k"}]}`, false},
		{"unknown type", `{"sources":[{"type":"shodan"}]}`, false},
		{"label taken", `{"sources":[{"type":"dnsdb","label":"crtsh"}]}`, false},
		{"duplicate label", `{"sources":[{"type":"dnsdb","label":"a"},{"type":"circl","label":"a"}]}`, false},
		{"key and key_env", `{"sources":[{"type":"dnsdb","key":"k","key_env":"K"}]}`, false},
		{"bad duration", `{"sources":[{"type":"crtsh","timeout":"soon"}]}`, false},
		{"trailing data", `{} {}`, false},
		{"not json", `sources = []`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Errorf("ParseConfig(%s): err %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("err %v does not wrap ErrConfig", err)
			}
		})
	}
}

func TestDefaultConfigPath(t *testing.T) {
	if got := DefaultConfigPath(env(map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"})); got != "/x/dnsscout/passive.json" {
		t.Errorf("got %q", got)
	}
	if got := DefaultConfigPath(env(map[string]string{"XDG_CONFIG_HOME": "rel", "HOME": "/h"})); got != "/h/.config/dnsscout/passive.json" {
		t.Errorf("got %q", got)
	}
	if got := DefaultConfigPath(env(nil)); got != "" {
		t.Errorf("got %q", got)
	}
}
