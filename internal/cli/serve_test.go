package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

func serveUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// keysNormalise replaces what changes between runs (tokens, ids, dates)
// in a transcript.
var keysNormalise = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`dss_[a-z2-7]{10}_[a-z2-7]{26}`), "dss_<ID>_<SECRET>"},
	{regexp.MustCompile(`"hash": "[0-9a-f]{64}"`), `"hash": "<HASH>"`},
}

// normaliseKeys replaces tokens, hashes, the given key ids and today's
// date (creation and revocation times) with placeholders.
func normaliseKeys(s string, ids []string) string {
	for _, n := range keysNormalise {
		s = n.re.ReplaceAllString(s, n.with)
	}
	for i, id := range ids {
		s = strings.ReplaceAll(s, id, "<ID"+strconv.Itoa(i+1)+">")
	}
	today := time.Now().UTC().Format("2006-01-02")
	s = regexp.MustCompile(today+`(T[0-9:.]+Z)?`).ReplaceAllString(s, "<TODAY>")
	return s
}

// TestKeysAndServeTranscripts runs the keys commands on a store and
// serve's refusals, and compares the transcripts with
// testdata/serve/*.golden (go test ./internal/cli -run KeysAndServe -update
// rewrites them).
func TestKeysAndServeTranscripts(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmds [][]string
	}{
		{"keys", [][]string{
			{"keys", "list", "--db", "$DB"},
			{"keys", "add", "--db", "$DB", "--name", "alice", "--daily-quota", "1000", "--burst", "10/1m", "--max-results", "5000"},
			{"keys", "add", "--db", "$DB", "--name", "sensor-1", "--perms", "ingest", "--max-concurrent", "4", "--expires", "2030-01-01"},
			{"keys", "list", "--db", "$DB"},
			{"keys", "revoke", "--db", "$DB", "$FIRST"},
			{"keys", "list", "--db", "$DB", "--format", "json"},
		}},
		{"keys-errors", [][]string{
			{"keys", "add", "--db", "$DB", "--perms", "root"},
			{"keys", "add", "--db", "$DB", "--burst", "10"},
			{"keys", "add", "--db", "$DB", "--burst", "10/1500ms"},
			{"keys", "add", "--db", "$DB", "--daily-quota", "-1"},
			{"keys", "add", "--db", "$DB", "--expires", "someday"},
			{"keys", "add", "--db", "$DB", "--expires", "2020-01-01"},
			{"keys", "revoke", "--db", "$DB", "abcdefghij"},
			{"keys", "list", "--db", "$DB", "--format", "xml"},
		}},
		{"serve-errors", [][]string{
			{"serve", "--db", "$DB", "--listen", "0.0.0.0:0"},
			{"serve", "--db", "$DB", "--listen", "[::]:0"},
			{"serve", "--db", "$DB", "--listen", "example.com:80"},
			{"serve", "--db", "$DB", "--listen", "127.0.0.1"},
			{"serve", "--db", "$DB", "--tls-cert", "cert.pem"},
			{"serve", "--db", "$DB", "--log-format", "xml"},
			{"serve", "--db", "$DB", "--resolver", "resolver.example.com"},
			{"serve", "--db", "$DB", "--default-limit", "20", "--max-results", "10"},
			{"serve", "--db", "$DB", "--max-ingest-bytes", "lots"},
			{"serve", "--db", "$DB", "--answer-cache", "-1MiB"},
			{"serve", "--db", "$DB", "--max-in-flight-per-key", "0"},
			{"serve", "--db", "$DB", "--min-body-rate", "fast"},
			{"serve", "--db", "$DB", "--write-timeout", "0s"},
			{"serve", "--db", "$DB", "--expensive-share", "0"},
			{"serve", "--db", "$DB", "--expensive-share", "1.5"},
			{"serve", "--db", "$DB", "--max-strikes", "0"},
			{"serve", "--db", "$DB", "--strike-penalty", "0s"},
			{"serve", "--db", "$DB", "--strike-penalty", "2h"},
			{"serve", "--db", "$DB", "extra-argument"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "pdns")
			var transcript strings.Builder
			var ids []string
			for _, cmd := range tc.cmds {
				args := make([]string, len(cmd))
				for i, a := range cmd {
					a = strings.ReplaceAll(a, "$DB", db)
					if len(ids) > 0 {
						a = strings.ReplaceAll(a, "$FIRST", ids[0])
					}
					args[i] = a
				}
				stdout, stderr, code := queryRun(t, args, "")
				if m := regexp.MustCompile(`key ([a-z2-7]{10}) created`).FindStringSubmatch(stderr); m != nil {
					ids = append(ids, m[1])
				}
				transcript.WriteString("$ dnsscout " + strings.Join(cmd, " ") + "\n")
				out := normaliseKeys(stdout, ids)
				if stderr != "" {
					out += "--- stderr\n" + normaliseKeys(strings.ReplaceAll(stderr, db, "$DB"), ids)
				}
				transcript.WriteString(out + "--- exit " + strconv.Itoa(code) + "\n")
			}
			got := transcript.String()
			golden := filepath.Join("testdata", "serve", tc.name+".golden")
			if serveUpdate() {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cli -run KeysAndServe -update)", err)
			}
			if got != string(want) {
				t.Fatalf("transcript differs from %s (go test ./internal/cli -run KeysAndServe -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

// serveLogBuffer is a buffer safe for a writer and a reader goroutine.
type serveLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *serveLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *serveLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveBase waits until a serve started on port 0 says where it serves,
// and returns its base URL; done receives serve's exit code.
func serveBase(t *testing.T, stderr *serveLogBuffer, done <-chan int) string {
	t.Helper()
	re := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeRunning starts serve on a loopback port, queries it, adds a key
// through the admin socket while it runs (which turns authentication on),
// and stops it with its context, as SIGTERM does.
func TestServeRunning(t *testing.T) {
	db := querySeedStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr serveLogBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--log-format", "json", "--stats-interval", "0"},
			strings.NewReader(""), io.Discard, &stderr)
	}()
	base := serveBase(t, &stderr, done)
	get := func(path, key string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := get("/dnsdb/v2/lookup/rrset/name/www.example.com/A", "")
	if code != 200 || !strings.Contains(body, `"rdata":["192.0.2.1"]`) || !strings.HasSuffix(body, `{"cond":"succeeded"}`+"\n") {
		t.Fatalf("lookup on a keyless loopback server: %d %s", code, body)
	}
	// keys add reaches the running server through its admin socket.
	stdout, errOut, kcode := queryRun(t, []string{"keys", "add", "--db", db, "--name", "live"}, "")
	if kcode != 0 {
		t.Fatalf("keys add while serving: %d %s", kcode, errOut)
	}
	tok := strings.TrimSpace(stdout)
	if code, _ := get("/dnsdb/v2/ping", ""); code != 403 {
		t.Fatalf("after the first key, a request without one: %d", code)
	}
	if code, _ := get("/dnsdb/v2/ping", tok); code != 200 {
		t.Fatalf("the new key: %d", code)
	}
	out, _, _ := queryRun(t, []string{"keys", "list", "--db", db}, "")
	if !strings.Contains(out, "live") {
		t.Fatalf("keys list while serving: %q", out)
	}
	// A remote sensor: ingest --to sends a capture to the running server
	// with a key that may ingest; its records become queryable there.
	stdout, errOut, kcode = queryRun(t, []string{"keys", "add", "--db", db, "--name", "sensor", "--perms", "ingest"}, "")
	if kcode != 0 {
		t.Fatalf("keys add ingest: %d %s", kcode, errOut)
	}
	sensorKey := strings.TrimSpace(stdout)
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the sensor's spool
	_, errOut, icode := queryRun(t, []string{"ingest", "--to", base, "--key", sensorKey, "--sensor-id", "remote1", "--progress", "never", "-q",
		"../ingest/pcap/testdata/dnscap__dns.pcap"}, "")
	if icode != 0 {
		t.Fatalf("ingest --to: %d %s", icode, errOut)
	}
	if code, body := get("/dnsdb/v2/lookup/rrset/name/*.google.com?limit=5", tok); code != 200 || !strings.Contains(body, `"obj"`) {
		t.Fatalf("records sent by the remote sensor not served: %d %s", code, body)
	}
	if code, _ := get("/dnsdb/v2/lookup/rrset/name/*.google.com", sensorKey); code != 401 && code != 403 {
		t.Fatalf("an ingest-only key may query: %d", code)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	// The logs are JSON lines.
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "dnsscout: serving on") {
			continue
		}
		if !strings.HasPrefix(line, `{"time":`) {
			t.Fatalf("log line is not JSON: %q", line)
		}
	}
	if _, err := os.Stat(db + ".admin.sock"); !os.IsNotExist(err) {
		t.Fatalf("admin socket left behind: %v", err)
	}
}

// TestServeTLS serves HTTPS with --tls-cert/--tls-key and refuses plain
// HTTP on that port.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeTestCert(t, certFile, keyFile)
	db := querySeedStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr serveLogBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile,
			"--admin-socket", "none", "--stats-interval", "0"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	re := regexp.MustCompile(`serving on (https://127\.0\.0\.1:(\d+))`)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; m = re.FindStringSubmatch(stderr.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}}
	res, err := client.Get(m[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil {
		t.Fatalf("/healthz over TLS: %d", res.StatusCode)
	}
	if res, err := http.Get("http://127.0.0.1:" + m[2] + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Fatal("plain HTTP answered on the TLS port")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d: %s", code, stderr.String())
	}
}

// writeTestCert writes a self-signed certificate for 127.0.0.1 and
// returns a pool that trusts it.
func writeTestCert(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dnsscout test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
