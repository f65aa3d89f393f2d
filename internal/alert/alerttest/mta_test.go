package alerttest

import (
	"crypto/tls"
	"crypto/x509"
	"net/smtp"
	"os"
	"strings"
	"testing"
	"time"
)

// TestStartMTA sends one message the way any client would (net/smtp,
// STARTTLS, AUTH PLAIN) and reads it back from the maildir.
func TestStartMTA(t *testing.T) {
	m := StartMTA(t)
	pem, err := os.ReadFile(m.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := smtp.Dial(m.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{ServerName: m.ServerName, RootCAs: pool}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", m.User, m.Password, m.Addr.Addr().String())); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("sender@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("ops@example.net"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(m.RefusedLocalPart + "@example.net"); err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Errorf("RCPT %s: %v, want 550", m.RefusedLocalPart, err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: =?utf-8?q?h=C3=A9llo?=\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	msgs := m.Settle(t, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if got := msgs[0]; got.Subject != "héllo" || got.Body != "café\n" || got.EnvelopeTo != "ops@example.net" {
		t.Errorf("got subject %q body %q to %q", got.Subject, got.Body, got.EnvelopeTo)
	}
	if n := m.AuthCommands(); n != 1 {
		t.Errorf("%d AUTH commands logged, want 1", n)
	}
}
