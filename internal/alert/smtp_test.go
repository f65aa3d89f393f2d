package alert

import (
	"context"
	"crypto/tls"
	"errors"
	"net/mail"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/alert/alerttest"
)

// smtpSinkFor builds an SMTP sink to the test MTA.
func smtpSinkFor(t *testing.T, m *alerttest.MTA, edit func(c *SMTPConfig)) Sink {
	t.Helper()
	c := &SMTPConfig{Address: m.Addr.String(), Username: m.User, Password: m.Password,
		From: "dnsscout <dnsscout@example.net>", To: []string{"ops@example.net", "sec@example.net"},
		TLS: TLSConfig{CAFile: m.CAFile, ServerName: m.ServerName}}
	if edit != nil {
		edit(c)
	}
	sc := &SinkConfig{Name: "mail", SMTP: c}
	s, err := newSink(sc, &Env{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sendCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestSMTPRealDelivery: through a Dispatcher to a real Exim, with
// STARTTLS and AUTH PLAIN, implicit TLS and AUTH LOGIN: every alert
// arrives once per recipient with the right subject and body.
func TestSMTPRealDelivery(t *testing.T) {
	cases := []struct {
		name string
		edit func(m *alerttest.MTA, c *SMTPConfig)
		log  string
	}{
		{"starttls plain", nil, "A=plain:alice"},
		{"tls login", func(m *alerttest.MTA, c *SMTPConfig) {
			c.Address, c.Security, c.Auth = m.TLSAddr.String(), SecurityTLS, "login"
		}, "A=login:alice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := alerttest.StartMTA(t)
			edit := func(c *SMTPConfig) {
				if tc.edit != nil {
					tc.edit(m, c)
				}
			}
			o := fastOptions(t.TempDir(), Target{Name: "mail", Type: "smtp", Sink: smtpSinkFor(t, m, edit)})
			o.DigestThreshold = 3
			d := mustOpen(t, o)
			defer closeD(t, d)
			single := axfrAlert()
			single.ID += "-" + strings.ReplaceAll(tc.name, " ", "-")
			if err := d.Enqueue(context.Background(), single); err != nil {
				t.Fatal(err)
			}
			flush(t, d)
			if err := d.Enqueue(context.Background(), digestAlerts()...); err != nil {
				t.Fatal(err)
			}
			flush(t, d)
			if st := sinkStats(t, d, "mail"); st.Messages != 2 || st.Digests != 1 || st.FailedAttempts != 0 {
				t.Errorf("stats %+v", st)
			}
			msgs := m.Settle(t, 30*time.Second)
			if len(msgs) != 4 {
				t.Fatalf("%d messages in the maildir, want 4 (2 recipients x 2)", len(msgs))
			}
			perRcpt := map[string][]string{}
			for _, ml := range msgs {
				perRcpt[ml.EnvelopeTo] = append(perRcpt[ml.EnvelopeTo], ml.Subject)
				switch {
				case strings.Contains(ml.Subject, "10 alerts"):
					if ml.Subject != "[dnsscout] 10 alerts: example.com (6), example.net (3), example.org (1)" ||
						!strings.Contains(ml.Body, "10 alerts for 3 domains (highest: high)") || !strings.Contains(ml.Body, "    name-added               5") {
						t.Errorf("digest mail:\n%s", ml.Raw)
					}
				default:
					if ml.Subject != "[dnsscout] example.com: high finding-opened: Zone transfer allowed" ||
						!strings.Contains(ml.Body, "Zone transfer allowed on ns1.example.com (192.0.2.1): anyone can list the zone\n") ||
						!strings.Contains(ml.Body, "Alert ID:  "+single.ID) || ml.Header.Get("Message-Id") != "<"+single.ID+"@example.net>" {
						t.Errorf("single mail:\n%s", ml.Raw)
					}
				}
			}
			if len(perRcpt["ops@example.net"]) != 2 || len(perRcpt["sec@example.net"]) != 2 {
				t.Errorf("per recipient: %v", perRcpt)
			}
			if log := m.MainLog(); !strings.Contains(log, tc.log) || !strings.Contains(log, "esmtpsa X=TLS") {
				t.Errorf("Exim did not log authenticated TLS submissions (%s):\n%s", tc.log, log)
			}
		})
	}
}

// TestSMTPNoCredentialsInClear: credentials never cross a connection
// without TLS: not when the server offers no STARTTLS (but offers AUTH),
// not when its certificate is not trusted. Exim sees no AUTH command and
// delivers nothing.
func TestSMTPNoCredentialsInClear(t *testing.T) {
	m := alerttest.StartMTA(t)
	cases := []struct {
		name string
		edit func(c *SMTPConfig)
		want error
	}{
		{"no starttls offered", func(c *SMTPConfig) { c.Address = m.PlainAddr.String() }, ErrNoStartTLS},
		{"untrusted certificate", func(c *SMTPConfig) { c.TLS.CAFile = "" }, nil},
		{"wrong name", func(c *SMTPConfig) { c.TLS.ServerName = "other.test" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := smtpSinkFor(t, m, tc.edit)
			err := s.Send(sendCtx(t), newSingle(axfrAlert()))
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || errors.Is(err, ErrRejected) {
				t.Errorf("Send: %v, want a temporary error (%v)", err, tc.want)
			}
		})
	}
	// The sink itself refuses, even when the configuration was not
	// validated: security none with a username.
	s := &smtpSink{addr: m.PlainAddr.String(), security: SecurityNone, user: m.User, pass: m.Password, hello: "localhost",
		from: mustAddr(t, "a@example.net"), to: []*mail.Address{mustAddr(t, "ops@example.net")}, prefix: "[x]", tls: mustTLS(t, m), now: time.Now}
	if err := s.Send(sendCtx(t), newSingle(axfrAlert())); !errors.Is(err, ErrPlaintextAuth) {
		t.Errorf("security none with a username: %v, want ErrPlaintextAuth", err)
	}
	if n := m.AuthCommands(); n != 0 {
		t.Errorf("Exim received %d AUTH commands:\n%s", n, m.MainLog())
	}
	if msgs := m.Settle(t, 30*time.Second); len(msgs) != 0 {
		t.Errorf("%d messages delivered", len(msgs))
	}
	// Without credentials, plaintext is allowed when asked for.
	inClear := smtpSinkFor(t, m, func(c *SMTPConfig) {
		c.Address, c.Security, c.Username, c.Password = m.PlainAddr.String(), SecurityNone, "", ""
	})
	if err := inClear.Send(sendCtx(t), newSingle(axfrAlert())); err != nil {
		t.Errorf("plaintext without credentials: %v", err)
	}
	if msgs := m.Settle(t, 30*time.Second); len(msgs) != 2 {
		t.Errorf("%d messages delivered, want 2", len(msgs))
	}
}

// TestSMTPRecipientsAndErrors: a recipient refused for good is skipped,
// all refused is a rejection, a temporary refusal and a wrong password
// are retried.
func TestSMTPRecipientsAndErrors(t *testing.T) {
	m := alerttest.StartMTA(t)
	refused, temp := m.RefusedLocalPart+"@example.net", m.TempFailLocalPart+"@example.net"
	cases := []struct {
		name     string
		edit     func(c *SMTPConfig)
		partial  bool
		rejected bool
		fail     bool
	}{
		{"one refused", func(c *SMTPConfig) { c.To = []string{"ops@example.net", refused} }, true, false, false},
		{"all refused", func(c *SMTPConfig) { c.To = []string{refused} }, false, true, true},
		{"temporary", func(c *SMTPConfig) { c.To = []string{"ops@example.net", temp} }, false, false, true},
		{"wrong password", func(c *SMTPConfig) { c.Password = "nope" }, false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := smtpSinkFor(t, m, tc.edit).Send(sendCtx(t), newSingle(axfrAlert()))
			var pe *partialError
			if errors.As(err, &pe) != tc.partial || errors.Is(err, ErrRejected) != tc.rejected || (err != nil && pe == nil) != tc.fail {
				t.Errorf("Send: %v", err)
			}
		})
	}
	msgs := m.Settle(t, 30*time.Second)
	if len(msgs) != 1 || msgs[0].EnvelopeTo != "ops@example.net" {
		t.Errorf("delivered %d messages (want 1, to ops@example.net only)", len(msgs))
	}
}

// TestSMTPAuthNeedsTLS: the AUTH mechanisms refuse to start without TLS,
// with no exception for localhost.
func TestSMTPAuthNeedsTLS(t *testing.T) {
	for _, a := range []smtp.Auth{&plainAuth{"u", "p"}, &loginAuth{"u", "p"}} {
		for _, name := range []string{"localhost", "127.0.0.1", "mail.example.net"} {
			if _, _, err := a.Start(&smtp.ServerInfo{Name: name, TLS: false, Auth: []string{"PLAIN", "LOGIN"}}); !errors.Is(err, ErrPlaintextAuth) {
				t.Errorf("%T to %s without TLS: %v", a, name, err)
			}
		}
	}
	l := &loginAuth{"alice", "pw"}
	for challenge, want := range map[string]string{"Username:": "alice", "Password:": "pw"} {
		if got, err := l.Next([]byte(challenge), true); err != nil || string(got) != want {
			t.Errorf("LOGIN %s: %q, %v", challenge, got, err)
		}
	}
	if _, err := l.Next([]byte("Token:"), true); err == nil {
		t.Error("LOGIN answered an unknown challenge")
	}
}

func mustAddr(t *testing.T, s string) *mail.Address {
	t.Helper()
	a, err := mail.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustTLS(t *testing.T, m *alerttest.MTA) *tls.Config {
	t.Helper()
	c, err := tlsConfig(&TLSConfig{CAFile: m.CAFile, ServerName: m.ServerName}, m.ServerName)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
