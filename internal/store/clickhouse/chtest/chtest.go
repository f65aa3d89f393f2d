// Package chtest starts real ClickHouse servers for dnsscout's tests and
// benchmarks: one server, or several on loopback joined in a cluster of
// shards, each from a configuration written into its own directory,
// listening only on the loopback address it is given, stopped and removed
// on cleanup. It does not know dnsscout's schema (package clickhouse
// creates it).
package chtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Errors of package chtest.
var (
	// ErrNoBinary: clickhouse-server is not installed.
	ErrNoBinary = errors.New("chtest: clickhouse-server not found (install the Debian package clickhouse-server)")
	// ErrNotLoopback: a server was asked to listen outside 127.0.0.0/8.
	ErrNotLoopback = errors.New("chtest: servers listen on loopback addresses only")
	// ErrNotReady: the server did not answer in time or exited.
	ErrNotReady = errors.New("chtest: server not ready")
)

// Config describes one server.
type Config struct {
	// Dir holds the configuration, data and logs (required; created).
	Dir string
	// Host is the loopback address to listen on (required, in
	// 127.0.0.0/8).
	Host string
	// TCPPort, HTTPPort and InterserverPort are the native, HTTP and
	// replication ports (defaults 9000, 8123, 9009).
	TCPPort, HTTPPort, InterserverPort int
	// Clusters maps cluster names to the native addresses ("host:port")
	// of their shards, one replica each (default none).
	Clusters map[string][]string
	// ReadyTimeout bounds the wait for the server to answer (default 60 s).
	ReadyTimeout time.Duration
}

// Server is a running clickhouse-server.
type Server struct {
	// Addr is the native-protocol address ("host:port").
	Addr string
	// HTTPAddr is the HTTP interface address.
	HTTPAddr string
	cfg      Config
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// Binary returns the path of clickhouse-server, or ErrNoBinary.
func Binary() (string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(d, "clickhouse-server")
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", ErrNoBinary
}

// Start writes the configuration of one server and runs it until it
// answers on its HTTP ping endpoint (bounded by ReadyTimeout) or fails.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("chtest: Config.Dir is required")
	}
	a, err := netip.ParseAddr(cfg.Host)
	if err != nil || !a.Is4() || !a.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, cfg.Host)
	}
	for _, shards := range cfg.Clusters {
		for _, s := range shards {
			h, _, err := net.SplitHostPort(s)
			if ha, perr := netip.ParseAddr(h); err != nil || perr != nil || !ha.IsLoopback() {
				return nil, fmt.Errorf("%w: shard %q", ErrNotLoopback, s)
			}
		}
	}
	if cfg.TCPPort == 0 {
		cfg.TCPPort = 9000
	}
	if cfg.HTTPPort == 0 {
		cfg.HTTPPort = 8123
	}
	if cfg.InterserverPort == 0 {
		cfg.InterserverPort = 9009
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return nil, fmt.Errorf("chtest: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(configXML(&cfg)), 0o640); err != nil {
		return nil, fmt.Errorf("chtest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersXML), 0o640); err != nil {
		return nil, fmt.Errorf("chtest: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, fmt.Errorf("chtest: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--config-file="+filepath.Join(dir, "config.xml"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, and SIGKILL if the test binary dies without
	// running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("chtest: start %s: %w", bin, err)
	}
	s := &Server{
		Addr:     net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.TCPPort)),
		HTTPAddr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.HTTPPort)),
		cfg:      cfg, cmd: cmd, done: make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls the HTTP ping endpoint until it answers "Ok.", the
// process exits, or the timeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	url := "http://" + s.HTTPAddr + "/ping"
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(body), "Ok.") {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("%w: clickhouse-server on %s exited (%v); log:\n%s", ErrNotReady, s.Addr, s.waitErr, s.LogTail(4000))
		case <-ctx.Done():
			return fmt.Errorf("%w: clickhouse-server on %s did not answer within %v; log:\n%s", ErrNotReady, s.Addr, s.cfg.ReadyTimeout, s.LogTail(4000))
		case <-time.After(delay):
		}
	}
}

// LogTail returns the last n bytes of the server's logs (its stdout and
// its error log).
func (s *Server) LogTail(n int) string {
	var b strings.Builder
	for _, f := range []string{"stdout.log", "server.err.log"} {
		data, err := os.ReadFile(filepath.Join(s.cfg.Dir, f))
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > n {
			data = data[len(data)-n:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f, data)
	}
	return b.String()
}

// Stop terminates the server (SIGTERM, then SIGKILL after two seconds:
// ClickHouse 18.16 often needs ten or more to exit on its own, and the
// servers here hold only scratch data) and waits for it. It is safe to
// call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		pgid := s.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(2 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.done
		}
	})
	return nil
}

// configXML renders the server configuration: only the given loopback
// address, small caches, logs in Dir, and the clusters.
func configXML(c *Config) string {
	var clusters strings.Builder
	for name, shards := range c.Clusters {
		clusters.WriteString("<" + name + ">")
		for _, s := range shards {
			h, p, _ := net.SplitHostPort(s)
			clusters.WriteString("<shard><replica><host>" + h + "</host><port>" + p + "</port></replica></shard>")
		}
		clusters.WriteString("</" + name + ">")
	}
	d := c.Dir
	return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>` + filepath.Join(d, "server.log") + `</log>
    <errorlog>` + filepath.Join(d, "server.err.log") + `</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>` + c.Host + `</listen_host>
  <tcp_port>` + strconv.Itoa(c.TCPPort) + `</tcp_port>
  <http_port>` + strconv.Itoa(c.HTTPPort) + `</http_port>
  <interserver_http_port>` + strconv.Itoa(c.InterserverPort) + `</interserver_http_port>
  <interserver_http_host>` + c.Host + `</interserver_http_host>
  <path>` + filepath.Join(d, "data") + `/</path>
  <tmp_path>` + filepath.Join(d, "tmp") + `/</tmp_path>
  <user_files_path>` + filepath.Join(d, "user_files") + `/</user_files_path>
  <format_schema_path>` + filepath.Join(d, "format_schemas") + `/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>0</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <builtin_dictionaries_reload_interval>0</builtin_dictionaries_reload_interval>
  <remote_servers>` + clusters.String() + `</remote_servers>
</yandex>
`
}

// usersXML allows the default user, without a password, from loopback
// only.
const usersXML = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <log_queries>0</log_queries>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.0/8</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries><errors>0</errors><result_rows>0</result_rows>
        <read_rows>0</read_rows><execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`
