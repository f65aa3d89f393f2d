package chtest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnstest"
)

// require skips t when clickhouse-server is missing, or fails it when
// DNSSCOUT_REAL_SERVERS=require (as CI sets it), naming the Debian package.
func require(t testing.TB) {
	t.Helper()
	if _, err := Binary(); err == nil {
		return
	}
	msg := "chtest: clickhouse-server not found (install Debian packages clickhouse-server clickhouse-client, e.g. with scripts/install-test-deps.sh)"
	if os.Getenv(dnstest.EnvRealServers) == "require" {
		t.Fatalf("%s; failing because %s=require", msg, dnstest.EnvRealServers)
	}
	t.Skipf("%s; skipping (set %s=require to fail instead)", msg, dnstest.EnvRealServers)
}

// StartServer starts one server for t on an address of 127.53.0.0/16 that
// no other test holds, and stops it on cleanup.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return StartCluster(t, "", 1)[0]
}

// StartCluster starts n servers for t, each on its own 127.53.x.y address,
// all configured with a cluster called name whose shards are the n servers
// (no cluster when name is ""). They start in parallel and stop on cleanup.
//
// The servers' ports differ too (native 9101, 9102, ...): ClickHouse takes
// a shard for itself when the shard's port is its own and the address is
// on a local interface, which every 127.53.x.y address is.
func StartCluster(t testing.TB, name string, n int) []*Server {
	t.Helper()
	require(t)
	hosts := make([]string, n)
	shards := make([]string, n)
	for i := range n {
		hosts[i] = dnstest.AllocAddr(t).String()
		shards[i] = net.JoinHostPort(hosts[i], strconv.Itoa(9101+i))
	}
	var clusters map[string][]string
	if name != "" {
		clusters = map[string][]string{name: shards}
	}
	servers := make([]*Server, n)
	errs := make([]error, n)
	done := make(chan int, n)
	base := t.TempDir()
	for i := range n {
		go func() {
			defer func() { done <- i }()
			servers[i], errs[i] = Start(context.Background(), Config{
				Dir:      filepath.Join(base, "ch"+strconv.Itoa(i)),
				Host:     hosts[i],
				Clusters: clusters,
				TCPPort:  9101 + i, HTTPPort: 8201 + i, InterserverPort: 9301 + i,
			})
		}()
	}
	for range n {
		<-done
	}
	for _, s := range servers {
		if s != nil {
			t.Cleanup(func() { s.Stop() })
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("chtest: %v", err)
	}
	return servers
}
