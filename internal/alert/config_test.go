package alert

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/finding"
)

func readConfig(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseConfigFull(t *testing.T) {
	c, err := ParseConfig(readConfig(t, "full.json"))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, s := range c.Sinks {
		types = append(types, s.Name+"="+s.Type())
	}
	if got := strings.Join(types, " "); got != "hook=webhook chat=slack team=mattermost oncall-mail=smtp siem=syslog log=ndjson stdout=ndjson" {
		t.Errorf("sinks: %s", got)
	}
	if r := c.Rules[0]; r.MinSeverity != finding.High {
		t.Errorf("rule 0: %+v", r)
	}
	env := Env{Stdout: os.Stdout, Getenv: func(k string) string {
		return map[string]string{"DNSSCOUT_WEBHOOK_SECRET": "s", "DNSSCOUT_SLACK_URL": "https://hooks.slack.example/T0/B0/x", "DNSSCOUT_SMTP_PASSWORD": "p"}[k]
	}}
	targets, err := NewTargets(c, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 7 || targets[3].Timeout.String() != "1m0s" || targets[0].Type != "webhook" {
		t.Errorf("targets %+v", targets)
	}
	// A missing environment variable is an error when the sinks are built.
	env.Getenv = func(string) string { return "" }
	if _, err := NewTargets(c, env); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "DNSSCOUT_WEBHOOK_SECRET") {
		t.Errorf("without the environment: %v", err)
	}
	min, err := ParseConfig(readConfig(t, "minimal.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTargets(min, Env{}); err == nil || !strings.Contains(err.Error(), "no writer") {
		t.Errorf("ndjson without a writer: %v", err)
	}
}

// TestParseConfigErrors: each mistake gets an error that names the field.
func TestParseConfigErrors(t *testing.T) {
	const sinkOK = `{"name":"out","ndjson":{}}`
	withSink := func(sink string) string {
		return `{"rules":[{"name":"all","sinks":["s"]}],"sinks":[` + sink + `]}`
	}
	withRule := func(rule string) string {
		return `{"rules":[` + rule + `],"sinks":[` + sinkOK + `]}`
	}
	cases := []struct{ name, in, want string }{
		{"empty", ``, "empty input"},
		{"not an object", `[]`, "line 1, column 2"},
		{"syntax", "{\n  \"rules\": [,]\n}", "line 2, column 13"},
		{"trailing data", withRule(`{"name":"a","sinks":["out"]}`) + `{}`, "data after"},
		{"unknown field", `{"rules":[],"sinks":[],"sink":[]}`, `unknown field "sink"`},
		{"wrong type", `{"rules":{}}`, "rules: want []alert.Rule"},
		{"no sinks", `{"rules":[]}`, "at least one sink"},
		{"no rules", `{"sinks":[` + sinkOK + `]}`, "at least one rule"},
		{"sink name", withSink(`{"name":"S","ndjson":{}}`), `sinks[0] "S": name "S": want`},
		{"sink twice", `{"rules":[{"name":"a","sinks":["out"]}],"sinks":[` + sinkOK + `,` + sinkOK + `]}`, `name "out" is used twice`},
		{"no type", withSink(`{"name":"s"}`), "exactly one of webhook"},
		{"two types", withSink(`{"name":"s","ndjson":{},"slack":{"url":"https://x.example/"}}`), "exactly one of"},
		{"bad timeout", withSink(`{"name":"s","timeout":"soon","ndjson":{}}`), `duration "soon"`},
		{"timeout number", withSink(`{"name":"s","timeout":30,"ndjson":{}}`), `duration string`},
		{"webhook no url", withSink(`{"name":"s","webhook":{"secret":"x"}}`), "webhook.url: required"},
		{"webhook url and env", withSink(`{"name":"s","webhook":{"url":"https://a.example/","url_env":"U","secret":"x"}}`), "set one, not both"},
		{"webhook ftp", withSink(`{"name":"s","webhook":{"url":"ftp://a.example/","secret":"x"}}`), "want http(s)"},
		{"webhook no secret", withSink(`{"name":"s","webhook":{"url":"https://a.example/"}}`), "webhook.secret: required"},
		{"webhook env name", withSink(`{"name":"s","webhook":{"url":"https://a.example/","secret_env":"1X"}}`), "not an environment variable name"},
		{"webhook header", withSink(`{"name":"s","webhook":{"url":"https://a.example/","secret":"x","headers":{"X-Dnsscout-Signature":"x"}}}`), "set by dnsscout"},
		{"webhook header value", withSink(`{"name":"s","webhook":{"url":"https://a.example/","secret":"x","headers":{"A":"x\r\nB: y"}}}`), "control characters"},
		{"slack secret url hidden", withSink(`{"name":"s","slack":{"url":"gopher://hooks.example/T0/SECRET"}}`), `"gopher://hooks.example/..."`},
		{"mattermost icon", withSink(`{"name":"s","mattermost":{"url":"https://m.example/","icon_url":"x"}}`), "icon_url"},
		{"smtp address", withSink(`{"name":"s","smtp":{"address":"mail.example.net","from":"a@example.net","to":["b@example.net"]}}`), "want HOST:PORT"},
		{"smtp security", withSink(`{"name":"s","smtp":{"address":"m:25","security":"ssl","from":"a@example.net","to":["b@example.net"]}}`), `security "ssl"`},
		{"smtp auth in clear", withSink(`{"name":"s","smtp":{"address":"m:25","security":"none","username":"u","password":"p","from":"a@example.net","to":["b@example.net"]}}`), "never sent without TLS"},
		{"smtp no password", withSink(`{"name":"s","smtp":{"address":"m:587","username":"u","from":"a@example.net","to":["b@example.net"]}}`), "password: required"},
		{"smtp password alone", withSink(`{"name":"s","smtp":{"address":"m:587","password":"p","from":"a@example.net","to":["b@example.net"]}}`), "password without username"},
		{"smtp mech", withSink(`{"name":"s","smtp":{"address":"m:587","auth":"cram-md5","from":"a@example.net","to":["b@example.net"]}}`), `auth "cram-md5"`},
		{"smtp from", withSink(`{"name":"s","smtp":{"address":"m:587","from":"nobody","to":["b@example.net"]}}`), "from: \"nobody\": not an email address"},
		{"smtp no to", withSink(`{"name":"s","smtp":{"address":"m:587","from":"a@example.net"}}`), "to: want 1-100"},
		{"smtp to", withSink(`{"name":"s","smtp":{"address":"m:587","from":"a@example.net","to":["b@example.net","c"]}}`), "to[1]"},
		{"smtp hello", withSink(`{"name":"s","smtp":{"address":"m:587","hello":"a b","from":"a@example.net","to":["b@example.net"]}}`), "hello"},
		{"syslog network", withSink(`{"name":"s","syslog":{"network":"tls","address":"h:514"}}`), `network "tls"`},
		{"syslog address", withSink(`{"name":"s","syslog":{"network":"udp","address":"h"}}`), "want HOST:PORT"},
		{"syslog path", withSink(`{"name":"s","syslog":{"network":"unix"}}`), "socket path"},
		{"syslog facility", withSink(`{"name":"s","syslog":{"network":"udp","address":"h:514","facility":"local8"}}`), `facility "local8"`},
		{"syslog app", withSink(`{"name":"s","syslog":{"network":"udp","address":"h:514","app_name":"dns scout"}}`), "app_name"},
		{"syslog framing", withSink(`{"name":"s","syslog":{"network":"tcp","address":"h:514","framing":"lf"}}`), `framing "lf"`},
		{"rule name", withRule(`{"name":"","sinks":["out"]}`), `rules[0]: name ""`},
		{"rule twice", `{"rules":[{"name":"a","sinks":["out"]},{"name":"a","sinks":["out"]}],"sinks":[` + sinkOK + `]}`, `"a" is used twice`},
		{"rule severity", withRule(`{"name":"a","min_severity":"urgent","sinks":["out"]}`), `unknown severity "urgent"`},
		{"rule kind", withRule(`{"name":"a","kinds":["finding-new"],"sinks":["out"]}`), `kinds[0]: unknown kind "finding-new"`},
		{"rule finding id", withRule(`{"name":"a","finding_ids":["AXFR allowed"],"sinks":["out"]}`), "finding_ids[0]"},
		{"rule domain", withRule(`{"name":"a","domains":["exa mple.com"],"sinks":["out"]}`), "domains[0]"},
		{"rule glob", withRule(`{"name":"a","domains":["[a-.example.com"],"sinks":["out"]}`), "domains[0]"},
		{"rule no sinks", withRule(`{"name":"a"}`), "name at least one sink"},
		{"rule unknown sink", withRule(`{"name":"a","sinks":["nope"]}`), `no sink named "nope"`},
		{"huge", `{"rules":[],"sinks":[],"x":"` + strings.Repeat("a", maxConfigBytes) + `"}`, "bytes, more than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.in))
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseConfig: %v\nwant ErrConfig mentioning %q", err, tc.want)
			}
			if err != nil && len(err.Error()) > 400 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
}

// TestConfigRoundTrip: a parsed configuration written back as JSON parses
// to the same thing.
func TestConfigRoundTrip(t *testing.T) {
	c, err := ParseConfig(readConfig(t, "full.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ParseConfig(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	b2, _ := json.Marshal(c2)
	if string(b) != string(b2) {
		t.Errorf("round trip differs:\n%s\n%s", b, b2)
	}
}

// FuzzParseConfig: any input gives a configuration or an ErrConfig, never
// a panic; what parses writes back to JSON that parses the same.
func FuzzParseConfig(f *testing.F) {
	ents, err := os.ReadDir(filepath.Join("testdata", "config"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		f.Add(readConfig(f, e.Name()))
	}
	f.Add([]byte(`{"rules":[{"name":"a","domains":["*.b\u00fccher.example","[!a-c]?.example.*"],"sinks":["s"]}],"sinks":[{"name":"s","syslog":{"network":"unixgram","address":"/dev/log"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error without ErrConfig: %v", err)
			}
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := ParseConfig(b)
		if err != nil {
			t.Fatalf("written back, it does not parse: %v\n%s", err, b)
		}
		if b2, _ := json.Marshal(c2); string(b2) != string(b) {
			t.Fatalf("round trip differs:\n%s\n%s", b, b2)
		}
	})
}
