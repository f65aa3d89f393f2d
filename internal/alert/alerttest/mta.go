// Package alerttest starts what the alert tests deliver to that is not a
// few lines of Go: a real MTA (Exim, Debian package exim4-daemon-light)
// on its own loopback address, with STARTTLS, implicit TLS, AUTH PLAIN and
// LOGIN for one test user, delivering every message into a maildir the
// test reads.
//
// It does not contain the webhook or syslog receivers (the alert tests
// write those with net/http/httptest and net) nor any alert logic.
package alerttest

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnstest"
)

// MTA is a running Exim.
type MTA struct {
	// Addr takes SMTP with STARTTLS and AUTH (offered before TLS too, so
	// that a client that would send credentials in the clear can).
	Addr netip.AddrPort
	// TLSAddr takes SMTP over TLS from the first byte (SMTPS).
	TLSAddr netip.AddrPort
	// PlainAddr never offers STARTTLS but offers AUTH, and relays
	// without it.
	PlainAddr netip.AddrPort
	// User and Password are the one account AUTH accepts.
	User, Password string
	// ServerName is the name in the certificate; CAFile holds the
	// self-signed certificate in PEM.
	ServerName string
	CAFile     string
	// RefusedLocalPart is refused at RCPT with 550, TempFailLocalPart
	// with 451.
	RefusedLocalPart, TempFailLocalPart string

	dir  string
	proc *dnstest.Process
}

// StartMTA starts Exim for t and stops it on cleanup. It needs root (Exim
// writes its log files, which Settle reads, only when root starts it with
// -C) and skips the test without root or without exim4, unless
// DNSSCOUT_REAL_SERVERS=require, which makes both failures. Exim receives
// and delivers as "nobody" and never looks anything up in the DNS.
func StartMTA(t testing.TB) *MTA {
	t.Helper()
	bin := dnstest.RequireBinary(t, "exim4")
	if os.Geteuid() != 0 {
		msg := "alerttest: Exim needs root to start with a test configuration and log to files"
		if os.Getenv(dnstest.EnvRealServers) == "require" {
			t.Fatalf("%s; failing because %s=require", msg, dnstest.EnvRealServers)
		}
		t.Skipf("%s; skipping (set %s=require to fail instead)", msg, dnstest.EnvRealServers)
	}
	m, err := startMTA(t, bin)
	if err != nil {
		t.Fatalf("alerttest.StartMTA: %v", err)
	}
	return m
}

func startMTA(t testing.TB, bin string) (*MTA, error) {
	addr := dnstest.AllocAddr(t)
	m := &MTA{User: "alice", Password: "s3cret-" + strconv.Itoa(os.Getpid()), ServerName: "mta.test",
		RefusedLocalPart: "refused", TempFailLocalPart: "tempfail"}
	dir, err := os.MkdirTemp("", "dnsscout-exim-")
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m.dir = dir
	run, err := user.Lookup("nobody")
	if err != nil {
		return nil, err
	}
	group, err := user.LookupGroupId(run.Gid)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"spool", "log", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if err := writeCert(dir, m.ServerName, addr); err != nil {
		return nil, err
	}
	m.CAFile = filepath.Join(dir, "cert.pem")
	ports, err := freePorts(addr, 3)
	if err != nil {
		return nil, err
	}
	m.Addr = netip.AddrPortFrom(addr, ports[0])
	m.TLSAddr = netip.AddrPortFrom(addr, ports[1])
	m.PlainAddr = netip.AddrPortFrom(addr, ports[2])
	if err := os.WriteFile(filepath.Join(dir, "exim.conf"), []byte(m.config(run.Username, group.Name)), 0o644); err != nil {
		return nil, err
	}
	// Exim's processes that receive and deliver run as nobody; the
	// configuration must stay root's.
	uid, _ := strconv.Atoi(run.Uid)
	gid, _ := strconv.Atoi(run.Gid)
	err = filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil || p == dir || filepath.Base(p) == "exim.conf" {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	m.proc, err = dnstest.StartProcess(t, dnstest.ProcessSpec{
		Name:  "exim4",
		Bin:   bin,
		Args:  []string{"-C", filepath.Join(dir, "exim.conf"), "-bdf"},
		Dir:   dir,
		Ready: m.ready,
	})
	if err != nil {
		return nil, fmt.Errorf("%v\n--- mainlog ---\n%s\n--- paniclog ---\n%s", err, m.MainLog(), readFile(filepath.Join(dir, "log", "paniclog")))
	}
	return m, nil
}

// freePorts returns n distinct free TCP ports on addr (which the test owns
// alone, so they stay free).
func freePorts(addr netip.Addr, n int) ([]uint16, error) {
	var ports []uint16
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports = append(ports, uint16(l.Addr().(*net.TCPAddr).Port))
	}
	return ports, nil
}

// writeCert writes a fresh self-signed ECDSA certificate for name and
// addr to dir/cert.pem and dir/key.pem.
func writeCert(dir, name string, addr netip.Addr) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		IPAddresses:           []net.IP{addr.AsSlice()},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}

// config is Exim's configuration. Nothing in it looks up a name: the
// host name is set, client host lookups and ident are off, and the one
// router delivers every address to the maildir.
func (m *MTA) config(runUser, runGroup string) string {
	d := m.dir
	return fmt.Sprintf(`# dnsscout alert tests: generated by internal/alert/alerttest
primary_hostname = %[1]s
qualify_domain = %[1]s
exim_user = %[2]s
exim_group = %[3]s
never_users =
keep_environment =
deliver_drop_privilege = true
spool_directory = %[4]s/spool
log_file_path = %[4]s/log/%%slog
log_selector = +smtp_connection +received_recipients
daemon_smtp_ports = %[5]d : %[6]d : %[7]d
local_interfaces = <; %[8]s.%[5]d ; %[8]s.%[6]d ; %[8]s.%[7]d
tls_on_connect_ports = %[6]d
tls_certificate = %[4]s/cert.pem
tls_privatekey = %[4]s/key.pem
tls_advertise_hosts = ${if eq{$received_port}{%[7]d}{}{*}}
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s
acl_smtp_auth = acl_auth
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data

begin acl
acl_auth:
  accept logwrite = AUTH command on port $received_port tls=${if def:tls_in_cipher{yes}{no}}
acl_rcpt:
  deny    local_parts = %[11]s
          message = 550 no such user
  defer   local_parts = %[12]s
          message = 451 try again later
  accept  authenticated = *
  accept  condition = ${if eq{$received_port}{%[7]d}}
  deny    message = authentication required
acl_data:
  accept

begin routers
maildir:
  driver = accept
  transport = maildir

begin transports
maildir:
  driver = appendfile
  directory = %[4]s/mail/Maildir
  maildir_format
  create_directory
  envelope_to_add
  return_path_add
  user = %[2]s

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_condition = ${if and {{eq{$auth2}{%[9]s}}{eq{$auth3}{%[10]s}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and {{eq{$auth1}{%[9]s}}{eq{$auth2}{%[10]s}}}}
  server_set_id = $auth1
`, m.ServerName, runUser, runGroup, d, m.Addr.Port(), m.TLSAddr.Port(), m.PlainAddr.Port(), m.Addr.Addr(),
		m.User, m.Password, m.RefusedLocalPart, m.TempFailLocalPart)
}

// ready is true when every port greets.
func (m *MTA) ready(ctx context.Context) error {
	for _, ap := range []netip.AddrPort{m.Addr, m.PlainAddr, m.TLSAddr} {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", ap.String())
		if err != nil {
			return err
		}
		if dl, ok := ctx.Deadline(); ok {
			c.SetDeadline(dl)
		}
		if ap == m.TLSAddr {
			c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil {
			return fmt.Errorf("%s: %v", ap, err)
		}
		if !strings.HasPrefix(line, "220") {
			return fmt.Errorf("%s greets %q", ap, line)
		}
	}
	return nil
}

// MainLog returns Exim's main log.
func (m *MTA) MainLog() string { return readFile(filepath.Join(m.dir, "log", "mainlog")) }

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// AuthCommands counts the AUTH commands Exim received (on any port).
func (m *MTA) AuthCommands() int { return strings.Count(m.MainLog(), "AUTH command on port") }

// Mail is one delivered message, as the maildir holds it.
type Mail struct {
	// EnvelopeTo is the recipient it was delivered to.
	EnvelopeTo string
	Header     mail.Header
	// Subject is decoded (RFC 2047), Body decoded (quoted-printable).
	Subject string
	Body    string
	// Raw is the file as delivered.
	Raw string
}

// Messages returns every message delivered so far, oldest first.
func (m *MTA) Messages() ([]Mail, error) {
	var files []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(m.dir, "mail", "Maildir", sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			files = append(files, filepath.Join(m.dir, "mail", "Maildir", sub, e.Name()))
		}
	}
	// Exim's maildir names are "SECONDS.MMICROSECONDSPPID.HOST".
	slices.SortFunc(files, func(a, b string) int {
		return cmp.Or(slices.Compare(deliveryTime(a), deliveryTime(b)), strings.Compare(a, b))
	})
	var out []Mail
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ml, err := parseMail(string(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		out = append(out, ml)
	}
	return out, nil
}

// deliveryTime reads seconds and microseconds from a maildir file name.
func deliveryTime(path string) []int64 {
	sec, rest, _ := strings.Cut(filepath.Base(path), ".M")
	usec, _, _ := strings.Cut(rest, "P")
	s, _ := strconv.ParseInt(sec, 10, 64)
	u, _ := strconv.ParseInt(usec, 10, 64)
	return []int64{s, u}
}

func parseMail(raw string) (Mail, error) {
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return Mail{}, err
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Mail{}, err
	}
	return Mail{EnvelopeTo: msg.Header.Get("Envelope-To"), Header: msg.Header, Subject: subj,
		Body: strings.ReplaceAll(string(b), "\r\n", "\n"), Raw: raw}, nil
}

// Log lines of a message received and of a message whose deliveries are
// all done: "DATE TIME ID <= SENDER ..." and "DATE TIME ID Completed".
var (
	receivedRE  = regexp.MustCompile(`(?m)^\S+ \S+ (\S+) <= `)
	completedRE = regexp.MustCompile(`(?m)^\S+ \S+ (\S+) Completed$`)
)

// Settle waits (at most timeout) until Exim has finished delivering every
// message it received, and returns the maildir's messages: after it, a
// count of messages is final for what was sent so far.
func (m *MTA) Settle(t testing.TB, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		log := m.MainLog()
		finished := map[string]bool{}
		for _, c := range completedRE.FindAllStringSubmatch(log, -1) {
			finished[c[1]] = true
		}
		waiting := 0
		for _, r := range receivedRE.FindAllStringSubmatch(log, -1) {
			if !finished[r[1]] {
				waiting++
			}
		}
		if waiting == 0 {
			msgs, err := m.Messages()
			if err != nil {
				t.Fatalf("alerttest: reading the maildir: %v", err)
			}
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerttest: %d messages still not delivered after %v\n--- mainlog ---\n%s", waiting, timeout, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
