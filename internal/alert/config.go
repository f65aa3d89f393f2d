package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// Config is the alerting part of a watch configuration: which alerts go
// where. It is read from JSON by ParseConfig; docs/alerts.md is its
// reference.
type Config struct {
	Rules []Rule       `json:"rules"`
	Sinks []SinkConfig `json:"sinks"`
}

// SinkConfig declares one sink: a name and exactly one of the typed
// blocks.
type SinkConfig struct {
	// Name is how rules refer to the sink, and its spool directory's
	// name: 1-64 bytes of [a-z0-9_-].
	Name string `json:"name"`
	// Timeout bounds one delivery attempt. Default: Options.SinkTimeout.
	Timeout Duration `json:"timeout,omitempty"`

	Webhook    *WebhookConfig    `json:"webhook,omitempty"`
	Slack      *SlackConfig      `json:"slack,omitempty"`
	Mattermost *MattermostConfig `json:"mattermost,omitempty"`
	SMTP       *SMTPConfig       `json:"smtp,omitempty"`
	Syslog     *SyslogConfig     `json:"syslog,omitempty"`
	NDJSON     *NDJSONConfig     `json:"ndjson,omitempty"`
}

// Type is the name of the sink's typed block ("webhook", "smtp", ...), or
// "" when none or several are set.
func (c *SinkConfig) Type() string {
	var t []string
	if c.Webhook != nil {
		t = append(t, "webhook")
	}
	if c.Slack != nil {
		t = append(t, "slack")
	}
	if c.Mattermost != nil {
		t = append(t, "mattermost")
	}
	if c.SMTP != nil {
		t = append(t, "smtp")
	}
	if c.Syslog != nil {
		t = append(t, "syslog")
	}
	if c.NDJSON != nil {
		t = append(t, "ndjson")
	}
	if len(t) != 1 {
		return ""
	}
	return t[0]
}

// TLSConfig adjusts how a sink checks its server's certificate.
type TLSConfig struct {
	// CAFile is a PEM file of certificates to trust instead of the
	// system's roots.
	CAFile string `json:"ca_file,omitempty"`
	// ServerName is the name the certificate must carry. Default: the
	// host of the URL or address.
	ServerName string `json:"server_name,omitempty"`
	// InsecureSkipVerify accepts any certificate (tests only).
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
}

// WebhookConfig posts each message as JSON, signed with HMAC-SHA256.
type WebhookConfig struct {
	// URL (http or https) receives the POSTs; or URLEnv names the
	// environment variable that holds it.
	URL    string `json:"url,omitempty"`
	URLEnv string `json:"url_env,omitempty"`
	// Secret keys the signature; or SecretEnv names the environment
	// variable that holds it. Required.
	Secret    string `json:"secret,omitempty"`
	SecretEnv string `json:"secret_env,omitempty"`
	// Headers are added to every request (an Authorization token, say).
	Headers map[string]string `json:"headers,omitempty"`
	TLS     TLSConfig         `json:"tls,omitzero"`
}

// SlackConfig posts to a Slack incoming webhook ({"text", "blocks"}).
type SlackConfig struct {
	URL    string    `json:"url,omitempty"`
	URLEnv string    `json:"url_env,omitempty"`
	TLS    TLSConfig `json:"tls,omitzero"`
}

// MattermostConfig posts to a Mattermost incoming webhook ({"text",
// "username"}, Markdown).
type MattermostConfig struct {
	URL    string `json:"url,omitempty"`
	URLEnv string `json:"url_env,omitempty"`
	// Username is the poster's display name. Default "dnsscout".
	Username string `json:"username,omitempty"`
	// Channel overrides the webhook's channel, IconURL its icon.
	Channel string    `json:"channel,omitempty"`
	IconURL string    `json:"icon_url,omitempty"`
	TLS     TLSConfig `json:"tls,omitzero"`
}

// SMTP security modes.
const (
	SecurityStartTLS = "starttls" // plain connection upgraded with STARTTLS, which must succeed
	SecurityTLS      = "tls"      // TLS from the first byte (port 465)
	SecurityNone     = "none"     // plaintext; only without credentials
)

// SMTPConfig sends email through a submission server.
type SMTPConfig struct {
	// Address is the server's host:port (587 for STARTTLS, 465 for TLS).
	Address string `json:"address"`
	// Security is "starttls" (default), "tls" or "none". Credentials are
	// never sent without TLS.
	Security string `json:"security,omitempty"`
	// Username and Password (or PasswordEnv, an environment variable's
	// name) log in with AUTH; empty Username sends mail without AUTH.
	Username    string `json:"username,omitempty"`
	Password    string `json:"password,omitempty"`
	PasswordEnv string `json:"password_env,omitempty"`
	// Auth picks the mechanism: "plain" or "login". Default: PLAIN when
	// the server offers it, else LOGIN.
	Auth string `json:"auth,omitempty"`
	// From is the sender address, To the recipients. Required.
	From string   `json:"from"`
	To   []string `json:"to"`
	// Hello is the name given in EHLO. Default "localhost".
	Hello string `json:"hello,omitempty"`
	// SubjectPrefix starts every subject. Default "[dnsscout]".
	SubjectPrefix string    `json:"subject_prefix,omitempty"`
	TLS           TLSConfig `json:"tls,omitzero"`
}

// SyslogConfig sends RFC 5424 messages to a syslog receiver.
type SyslogConfig struct {
	// Network is "udp", "tcp", "unix" (stream) or "unixgram". Required.
	Network string `json:"network"`
	// Address is host:port, or a socket path for unix and unixgram.
	Address string `json:"address"`
	// Facility is kern, user, mail, daemon, auth, syslog, lpr, news,
	// uucp, cron, authpriv, ftp or local0-local7. Default "daemon".
	Facility string `json:"facility,omitempty"`
	// AppName is the APP-NAME field. Default "dnsscout".
	AppName string `json:"app_name,omitempty"`
	// Hostname is the HOSTNAME field. Default: the machine's name.
	Hostname string `json:"hostname,omitempty"`
	// Framing of stream transports: "octet-counting" (RFC 6587,
	// default) or "newline".
	Framing string `json:"framing,omitempty"`
}

// NDJSONConfig writes one JSON object per alert and line.
type NDJSONConfig struct {
	// Path is a file to append to; "" or "-" is the writer the caller
	// provides (standard output for the CLI).
	Path string `json:"path,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %s: %v", quote(s), err)
	}
	*d = Duration(v)
	return nil
}

// Limits of a configuration.
const (
	maxConfigBytes = 1 << 20
	maxRules       = 256
	maxSinks       = 64
	maxListItems   = 1024
	maxStringBytes = 4096
)

// ParseConfig reads a JSON configuration and validates it. Unknown fields
// are errors (a typo must not silence an alert); syntax errors give the
// line and column.
func ParseConfig(data []byte) (*Config, error) {
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrConfig, len(data), maxConfigBytes)
	}
	var c Config
	if err := DecodeStrict(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// DecodeStrict decodes one JSON object into v the way configurations are
// read: unknown fields are errors, nothing may follow the object, and
// errors give the line and column. Other configuration files that embed
// an alert Config (the watch configuration) read themselves with it.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(jsonError(data, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: data after the configuration object", position(data, dec.InputOffset()))
	}
	return nil
}

// jsonError describes a decoding error with its position.
func jsonError(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the offending byte.
		return fmt.Sprintf("%s: %v", position(data, se.Offset-1), se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the configuration"
		}
		return fmt.Sprintf("%s: %s: want %s, not a JSON %s", position(data, te.Offset), field, te.Type, te.Value)
	case errors.Is(err, io.EOF):
		return "empty input: want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	return truncate(err.Error(), 200)
}

// position is "line L, column C" of a byte offset.
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// Validate checks the configuration and normalises it in place (domain
// patterns to A-labels, names of kinds and finding IDs as written). Every
// error wraps ErrConfig and names the field.
func (c *Config) Validate() error {
	if len(c.Sinks) == 0 {
		return fmt.Errorf("%w: sinks: at least one sink is needed", ErrConfig)
	}
	if len(c.Sinks) > maxSinks || len(c.Rules) > maxRules {
		return fmt.Errorf("%w: at most %d sinks and %d rules", ErrConfig, maxSinks, maxRules)
	}
	names := make([]string, 0, len(c.Sinks))
	for i := range c.Sinks {
		s := &c.Sinks[i]
		if err := s.validate(); err != nil {
			return fmt.Errorf("%w: sinks[%d]%s: %v", ErrConfig, i, nameSuffix(s.Name), err)
		}
		if slices.Contains(names, s.Name) {
			return fmt.Errorf("%w: sinks[%d]: name %q is used twice", ErrConfig, i, s.Name)
		}
		names = append(names, s.Name)
	}
	if len(c.Rules) == 0 {
		return fmt.Errorf("%w: rules: at least one rule is needed (a rule with only \"sinks\" matches every alert)", ErrConfig)
	}
	rnames := make([]string, 0, len(c.Rules))
	for i := range c.Rules {
		r := &c.Rules[i]
		if err := r.validate(names); err != nil {
			return fmt.Errorf("%w: rules[%d]%s: %v", ErrConfig, i, nameSuffix(r.Name), err)
		}
		if slices.Contains(rnames, r.Name) {
			return fmt.Errorf("%w: rules[%d]: name %q is used twice", ErrConfig, i, r.Name)
		}
		rnames = append(rnames, r.Name)
	}
	return nil
}

func nameSuffix(name string) string {
	if name == "" || len(name) > 64 {
		return ""
	}
	return " " + quote(name)
}

// validName reports whether s is 1-64 bytes of [a-z0-9_-] (a sink's name
// is a file name in the spool).
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (r *Rule) validate(sinks []string) error {
	if !validName(r.Name) {
		return fmt.Errorf("name %s: want 1-64 bytes of [a-z0-9_-]", quote(r.Name))
	}
	if r.MinSeverity < finding.Info || r.MinSeverity > finding.Critical {
		return fmt.Errorf("min_severity %d", int(r.MinSeverity))
	}
	if len(r.FindingIDs) > maxListItems || len(r.Kinds) > maxListItems || len(r.Domains) > maxListItems {
		return fmt.Errorf("at most %d entries per list", maxListItems)
	}
	for j, id := range r.FindingIDs {
		if !validName(id) {
			return fmt.Errorf("finding_ids[%d] %s: want a finding id such as \"axfr-allowed\" (docs/checks.md)", j, quote(id))
		}
	}
	for j, k := range r.Kinds {
		if !knownKind(k) {
			return fmt.Errorf("kinds[%d]: unknown kind %s (want one of %s)", j, quote(k), kindNames())
		}
	}
	for j, p := range r.Domains {
		n, err := normalizeDomainPattern(p)
		if err != nil {
			return fmt.Errorf("domains[%d] %s: %v", j, quote(p), err)
		}
		r.Domains[j] = n
	}
	if len(r.Sinks) == 0 {
		return fmt.Errorf("sinks: name at least one sink")
	}
	for j, s := range r.Sinks {
		if !slices.Contains(sinks, s) {
			return fmt.Errorf("sinks[%d]: no sink named %s", j, quote(s))
		}
	}
	return nil
}

func kindNames() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

func (s *SinkConfig) validate() error {
	if !validName(s.Name) {
		return fmt.Errorf("name %s: want 1-64 bytes of [a-z0-9_-]", quote(s.Name))
	}
	if s.Timeout < 0 {
		return fmt.Errorf("timeout: negative")
	}
	switch s.Type() {
	case "webhook":
		return prefixErr("webhook", s.Webhook.validate())
	case "slack":
		return prefixErr("slack", validateURL(s.Slack.URL, s.Slack.URLEnv, &s.Slack.TLS))
	case "mattermost":
		return prefixErr("mattermost", s.Mattermost.validate())
	case "smtp":
		return prefixErr("smtp", s.SMTP.validate())
	case "syslog":
		return prefixErr("syslog", s.Syslog.validate())
	case "ndjson":
		return prefixErr("ndjson", checkString("path", s.NDJSON.Path))
	}
	return fmt.Errorf("want exactly one of webhook, slack, mattermost, smtp, syslog, ndjson")
}

func prefixErr(p string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s.%v", p, err)
}

// checkString refuses over-long values and control characters (a value
// must not add lines to a request or a message header).
func checkString(field, v string) error {
	if len(v) > maxStringBytes {
		return fmt.Errorf("%s: longer than %d bytes", field, maxStringBytes)
	}
	if strings.ContainsFunc(v, isControl) {
		return fmt.Errorf("%s %s: control characters", field, quote(v))
	}
	return nil
}

// validateURL checks an http(s) URL given inline, or the name of the
// environment variable that holds it (checked when the sink is built).
func validateURL(u, env string, t *TLSConfig) error {
	if err := exactlyOne("url", u, "url_env", env); err != nil {
		return err
	}
	if err := checkString("url", u); err != nil {
		return err
	}
	if err := checkEnvName("url_env", env); err != nil {
		return err
	}
	if u != "" {
		if err := checkHTTPURL(u); err != nil {
			return fmt.Errorf("url: %v", err)
		}
	}
	return t.validate()
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%s: not a URL", quote(s))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: want http(s)://HOST/...", quote(redactURL(u)))
	}
	return nil
}

// redactURL hides what may be a secret in a URL (Slack and Mattermost
// put the token in the path).
func redactURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host + "/..."
}

func exactlyOne(a, va, b, vb string) error {
	switch {
	case va == "" && vb == "":
		return fmt.Errorf("%s: required (or %s)", a, b)
	case va != "" && vb != "":
		return fmt.Errorf("%s and %s: set one, not both", a, b)
	}
	return nil
}

func checkEnvName(field, v string) error {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return fmt.Errorf("%s %s: not an environment variable name", field, quote(v))
		}
	}
	return nil
}

func (t *TLSConfig) validate() error {
	if err := checkString("tls.ca_file", t.CAFile); err != nil {
		return err
	}
	return checkString("tls.server_name", t.ServerName)
}

func (w *WebhookConfig) validate() error {
	if err := validateURL(w.URL, w.URLEnv, &w.TLS); err != nil {
		return err
	}
	if err := exactlyOne("secret", w.Secret, "secret_env", w.SecretEnv); err != nil {
		return err
	}
	if err := checkEnvName("secret_env", w.SecretEnv); err != nil {
		return err
	}
	if len(w.Headers) > 32 {
		return fmt.Errorf("headers: at most 32")
	}
	for k, v := range w.Headers {
		if !validHeaderName(k) {
			return fmt.Errorf("headers: %s is not a header name", quote(k))
		}
		if strings.HasPrefix(strings.ToLower(k), "x-dnsscout-") || strings.EqualFold(k, "Content-Type") || strings.EqualFold(k, "Host") || strings.EqualFold(k, "Content-Length") {
			return fmt.Errorf("headers: %s is set by dnsscout", quote(k))
		}
		if err := checkString("headers."+k, v); err != nil {
			return err
		}
	}
	return nil
}

// validHeaderName reports whether s is an HTTP token.
func validHeaderName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (m *MattermostConfig) validate() error {
	if err := validateURL(m.URL, m.URLEnv, &m.TLS); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"username", m.Username}, {"channel", m.Channel}, {"icon_url", m.IconURL}} {
		if err := checkString(f.name, f.v); err != nil {
			return err
		}
	}
	if m.IconURL != "" {
		if err := checkHTTPURL(m.IconURL); err != nil {
			return fmt.Errorf("icon_url: %v", err)
		}
	}
	return nil
}

func (s *SMTPConfig) validate() error {
	host, port, err := net.SplitHostPort(s.Address)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("address %s: want HOST:PORT", quote(s.Address))
	}
	switch s.Security {
	case "", SecurityStartTLS, SecurityTLS, SecurityNone:
	default:
		return fmt.Errorf("security %s: want starttls, tls or none", quote(s.Security))
	}
	if s.Username != "" && s.Security == SecurityNone {
		return fmt.Errorf("security \"none\" with a username: credentials are never sent without TLS (use starttls or tls)")
	}
	if s.Username == "" && (s.Password != "" || s.PasswordEnv != "") {
		return fmt.Errorf("password without username")
	}
	if s.Username != "" {
		if err := exactlyOne("password", s.Password, "password_env", s.PasswordEnv); err != nil {
			return err
		}
	}
	if err := checkEnvName("password_env", s.PasswordEnv); err != nil {
		return err
	}
	switch s.Auth {
	case "", "plain", "login":
	default:
		return fmt.Errorf("auth %s: want plain or login", quote(s.Auth))
	}
	for _, f := range []struct{ name, v string }{{"username", s.Username}, {"password", s.Password}, {"hello", s.Hello}, {"subject_prefix", s.SubjectPrefix}} {
		if err := checkString(f.name, f.v); err != nil {
			return err
		}
	}
	if strings.ContainsAny(s.Hello, " <>") {
		return fmt.Errorf("hello %s: want a host name", quote(s.Hello))
	}
	if _, err := parseAddress(s.From); err != nil {
		return fmt.Errorf("from: %v", err)
	}
	if len(s.To) == 0 || len(s.To) > 100 {
		return fmt.Errorf("to: want 1-100 recipients")
	}
	for i, a := range s.To {
		if _, err := parseAddress(a); err != nil {
			return fmt.Errorf("to[%d]: %v", i, err)
		}
	}
	return s.TLS.validate()
}

// parseAddress reads one email address ("ops@example.net" or
// "Ops <ops@example.net>").
func parseAddress(s string) (*mail.Address, error) {
	if err := checkString("address", s); err != nil {
		return nil, err
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%s: not an email address", quote(s))
	}
	return a, nil
}

func (s *SyslogConfig) validate() error {
	switch s.Network {
	case "udp", "tcp", "unix", "unixgram":
	default:
		return fmt.Errorf("network %s: want udp, tcp, unix or unixgram", quote(s.Network))
	}
	if err := checkString("address", s.Address); err != nil {
		return err
	}
	if s.Network == "udp" || s.Network == "tcp" {
		if h, p, err := net.SplitHostPort(s.Address); err != nil || h == "" || p == "" {
			return fmt.Errorf("address %s: want HOST:PORT", quote(s.Address))
		}
	} else if s.Address == "" {
		return fmt.Errorf("address: want a socket path")
	}
	if _, ok := facilities[s.Facility]; !ok && s.Facility != "" {
		return fmt.Errorf("facility %s: unknown", quote(s.Facility))
	}
	if err := checkSyslogField("app_name", s.AppName, 48); err != nil {
		return err
	}
	if err := checkSyslogField("hostname", s.Hostname, 255); err != nil {
		return err
	}
	switch s.Framing {
	case "", "octet-counting", "newline":
	default:
		return fmt.Errorf("framing %s: want octet-counting or newline", quote(s.Framing))
	}
	return nil
}

// checkSyslogField: RFC 5424 header fields are printable ASCII without
// spaces.
func checkSyslogField(field, v string, n int) error {
	if len(v) > n {
		return fmt.Errorf("%s: longer than %d bytes", field, n)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 33 || v[i] > 126 {
			return fmt.Errorf("%s %s: want printable ASCII without spaces", field, quote(v))
		}
	}
	return nil
}
