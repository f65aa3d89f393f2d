package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

type smtpSink struct {
	addr     string
	security string
	user     string
	pass     string
	mech     string
	from     *mail.Address
	to       []*mail.Address
	hello    string
	prefix   string
	tls      *tls.Config
	now      func() time.Time
	// digestBytes bounds the alert text of a digest email (Env.EmailDigestBytes).
	digestBytes int
}

func newSMTP(c *SMTPConfig, env *Env) (*smtpSink, error) {
	host, _, _ := net.SplitHostPort(c.Address)
	tc, err := tlsConfig(&c.TLS, host)
	if err != nil {
		return nil, fmt.Errorf("smtp.%v", err)
	}
	pass, err := fromEnv(env, "smtp.password_env", c.Password, c.PasswordEnv)
	if err != nil && c.Username != "" {
		return nil, err
	}
	s := &smtpSink{addr: c.Address, security: c.Security, user: c.Username, pass: pass, mech: c.Auth,
		hello: c.Hello, prefix: c.SubjectPrefix, tls: tc, now: env.Now, digestBytes: env.EmailDigestBytes}
	if s.security == "" {
		s.security = SecurityStartTLS
	}
	if s.hello == "" {
		s.hello = "localhost"
	}
	if s.prefix == "" {
		s.prefix = "[dnsscout]"
	}
	if s.from, err = parseAddress(c.From); err != nil {
		return nil, err
	}
	for _, t := range c.To {
		a, err := parseAddress(t)
		if err != nil {
			return nil, err
		}
		s.to = append(s.to, a)
	}
	return s, nil
}

// partialError reports a message that was delivered, but not to everyone:
// the Dispatcher counts it as delivered and logs the error.
type partialError struct{ err error }

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

func (s *smtpSink) Send(ctx context.Context, m *Message) error {
	msg := s.render(m)
	conn, stop, err := dial(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	defer stop()
	if s.security == SecurityTLS {
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtp: TLS with %s: %w", s.addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.tls.ServerName)
	if err != nil {
		return fmt.Errorf("smtp: %s: greeting: %w", s.addr, err)
	}
	defer c.Close()
	if err := s.open(c); err != nil {
		return err
	}
	return s.transfer(c, msg)
}

// open says hello, starts TLS and logs in as configured.
func (s *smtpSink) open(c *smtp.Client) error {
	if err := c.Hello(s.hello); err != nil {
		return fmt.Errorf("smtp: %s: EHLO: %w", s.addr, err)
	}
	if s.security == SecurityStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%w (%s)", ErrNoStartTLS, s.addr)
		}
		if err := c.StartTLS(s.tls); err != nil {
			return fmt.Errorf("smtp: %s: STARTTLS: %w", s.addr, err)
		}
	}
	if s.user == "" {
		return nil
	}
	if _, ok := c.TLSConnectionState(); !ok {
		return ErrPlaintextAuth
	}
	a, err := s.auth(c)
	if err != nil {
		return err
	}
	if err := c.Auth(a); err != nil {
		return fmt.Errorf("smtp: %s: AUTH: %w", s.addr, err)
	}
	return nil
}

// auth picks the configured mechanism, or PLAIN when offered, else LOGIN.
func (s *smtpSink) auth(c *smtp.Client) (smtp.Auth, error) {
	ok, params := c.Extension("AUTH")
	if !ok {
		return nil, fmt.Errorf("smtp: %s does not offer AUTH", s.addr)
	}
	offered := strings.Fields(strings.ToUpper(params))
	mech := s.mech
	if mech == "" {
		mech = "login"
		if slices.Contains(offered, "PLAIN") {
			mech = "plain"
		}
	}
	if !slices.Contains(offered, strings.ToUpper(mech)) {
		return nil, fmt.Errorf("smtp: %s does not offer AUTH %s (it offers %s)", s.addr, strings.ToUpper(mech), quote(params))
	}
	if mech == "plain" {
		return &plainAuth{s.user, s.pass}, nil
	}
	return &loginAuth{s.user, s.pass}, nil
}

// transfer sends the envelope and the message. A recipient refused for
// good (5xx) is skipped; if every one is, the message is rejected.
func (s *smtpSink) transfer(c *smtp.Client, msg []byte) error {
	if err := c.Mail(s.from.Address); err != nil {
		return smtpErr(s.addr, "MAIL FROM", err)
	}
	var refused []string
	for _, r := range s.to {
		if err := c.Rcpt(r.Address); err != nil {
			if !permanentSMTP(err) {
				_ = c.Reset()
				return smtpErr(s.addr, "RCPT TO", err)
			}
			refused = append(refused, fmt.Sprintf("%s: %v", r.Address, err))
		}
	}
	if len(refused) == len(s.to) {
		_ = c.Reset()
		return fmt.Errorf("%w: smtp: %s refused every recipient: %s", ErrRejected, s.addr, strings.Join(refused, "; "))
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(s.addr, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr(s.addr, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(s.addr, "end of DATA", err)
	}
	_ = c.Quit()
	if len(refused) > 0 {
		return &partialError{fmt.Errorf("smtp: %s refused some recipients: %s", s.addr, strings.Join(refused, "; "))}
	}
	return nil
}

func permanentSMTP(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500
}

func smtpErr(addr, step string, err error) error {
	if permanentSMTP(err) {
		return fmt.Errorf("%w: smtp: %s: %s: %v", ErrRejected, addr, step, err)
	}
	return fmt.Errorf("smtp: %s: %s: %w", addr, step, err)
}

// plainAuth is AUTH PLAIN (RFC 4616) that never runs without TLS. Unlike
// net/smtp's PlainAuth it makes no exception for localhost.
type plainAuth struct{ user, pass string }

func (a *plainAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS {
		return "", nil, ErrPlaintextAuth
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("smtp: unexpected AUTH PLAIN challenge")
	}
	return nil, nil
}

// loginAuth is AUTH LOGIN (draft-murchison-sasl-login), TLS only.
type loginAuth struct{ user, pass string }

func (a *loginAuth) Start(si *smtp.ServerInfo) (string, []byte, error) {
	if !si.TLS {
		return "", nil, ErrPlaintextAuth
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(challenge))) {
	case "username:", "username", "user name":
		return []byte(a.user), nil
	case "password:", "password":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("smtp: unexpected AUTH LOGIN challenge %s", quote(string(challenge)))
}

// subjectMax bounds a subject before encoding.
const subjectMax = 200

// render builds the RFC 5322 message: UTF-8 text in quoted-printable.
func (s *smtpSink) render(m *Message) []byte {
	var b bytes.Buffer
	to := make([]string, len(s.to))
	for i, a := range s.to {
		to[i] = a.String()
	}
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	subject := truncate(oneLine(s.prefix+" "+m.subject()), subjectMax)
	hdr := [][2]string{
		{"From", s.from.String()},
		{"To", strings.Join(to, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", s.now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + m.ID + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
		{"Auto-Submitted", "auto-generated"},
		{HeaderDelivery, m.ID},
	}
	for _, h := range hdr {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(emailText(m, s.digestBytes)))
	qp.Close()
	return b.Bytes()
}

// emailText is the plain-text body of a message; a digest's alerts take
// at most digestBytes (DefaultEmailDigestBytes when 0).
func emailText(m *Message, digestBytes int) string {
	if m.Digest != nil {
		return emailDigest(m, digestBytes)
	}
	a := &m.Alerts[0]
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", a.headline())
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-10s %s\n", k+":", oneLine(v))
		}
	}
	row("Domain", a.Domain)
	row("Kind", a.Kind)
	row("Severity", a.Severity.String())
	row("Subject", a.Subject)
	row("Time", timeText(a.Time))
	row("Finding", a.findingID())
	if a.Text != "" {
		fmt.Fprintf(&b, "\n%s\n", a.Line())
	}
	if f := a.Finding; f != nil {
		if len(f.Evidence) > 0 {
			b.WriteString("\nEvidence:\n")
			for _, e := range f.Evidence {
				fmt.Fprintf(&b, "  - %s\n", oneLine(e))
			}
		}
		if f.Remediation != "" {
			b.WriteString("\nRemediation:\n")
			for l := range strings.SplitSeq(f.Remediation, "\n") {
				fmt.Fprintf(&b, "  %s\n", oneLine(l))
			}
		}
	}
	b.WriteString("\n")
	row("Timeline", a.Link)
	row("Alert ID", a.ID)
	return b.String()
}

// emailDigest is a digest's body: the counts by domain and kind, then
// every alert of the digest (its line, its timeline link), as long as
// they fit in limit bytes; past it, how many were left out and where they
// are.
func emailDigest(m *Message, limit int) string {
	if limit <= 0 {
		limit = DefaultEmailDigestBytes
	}
	d := m.Digest
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nfrom %s to %s\n\nBy domain and kind:\n", d.summary(), timeText(d.First), timeText(d.Last))
	last := ""
	for _, g := range d.Groups {
		if g.Domain != last {
			fmt.Fprintf(&b, "  %s\n", g.Domain)
			last = g.Domain
		}
		fmt.Fprintf(&b, "    %-20s %5d  (highest: %s)\n", g.Kind, g.Count, g.MaxSeverity)
	}
	fmt.Fprintf(&b, "\nThe %d alerts:\n", len(m.Alerts))
	var item strings.Builder
	used, shown := 0, 0
	for i := range m.Alerts {
		a := &m.Alerts[i]
		item.Reset()
		fmt.Fprintf(&item, "  - %s\n", truncate("["+a.Severity.String()+"] "+a.Line(), digestLineMax))
		if a.Link != "" {
			fmt.Fprintf(&item, "    %s\n", truncate(oneLine(a.Link), digestLineMax))
		}
		if used+item.Len() > limit {
			break
		}
		used += item.Len()
		b.WriteString(item.String())
		shown++
	}
	if more := len(m.Alerts) - shown; more > 0 {
		first := &m.Alerts[shown]
		fmt.Fprintf(&b, "  ... and %d more, not shown (over the %d-byte limit of a digest email).\n", more, limit)
		fmt.Fprintf(&b, "The rest are in the history: the domains' timelines in the web UI, or\nGET /api/v1/events?domain=%s&since=%s for the first of them.\n",
			first.Domain, first.Time.UTC().Format(time.RFC3339))
	}
	return b.String()
}
