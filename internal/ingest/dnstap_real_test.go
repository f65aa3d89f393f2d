package ingest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnstest"
)

const rootZone = `
. 86400 IN SOA ns1.dnstest-root. hostmaster.dnstest-root. 1 7200 3600 1209600 300
. 86400 IN NS ns1.dnstest-root.
ns1.dnstest-root. 86400 IN A %[1]s
example.com. 86400 IN NS ns1.example.com.
ns1.example.com. 86400 IN A %[2]s
`

const exampleZone = `
example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
example.com. 3600 IN NS ns1.example.com.
ns1.example.com. 3600 IN A %[1]s
www.example.com. 300 IN A 192.0.2.80
alias.example.com. 300 IN CNAME www.example.com.
example.com. 300 IN MX 10 mail.example.com.
mail.example.com. 300 IN A 192.0.2.25
example.com. 300 IN TXT "v=spf1 -all"
`

// TestDnstapRealResolvers runs real Unbound and BIND resolvers that send
// dnstap RESOLVER_RESPONSE frames to an ingester listening on a Unix
// socket. The resolvers resolve names of example.com through a root and an
// authoritative server served in process on addresses of their own; the store must
// then hold the referral, the glue and the answers with the bailiwicks the
// resolvers reported (query_zone), and the NXDOMAIN count.
func TestDnstapRealResolvers(t *testing.T) {
	tests := []struct {
		kind             string
		resolverSettings func(sock string) string
	}{
		{
			kind: "unbound",
			resolverSettings: func(sock string) string {
				return fmt.Sprintf("dnstap:\n\tdnstap-enable: yes\n\tdnstap-socket-path: %q\n"+
					"\tdnstap-send-identity: yes\n\tdnstap-log-resolver-response-messages: yes\n", sock)
			},
		},
		{
			kind: "named",
			resolverSettings: func(sock string) string {
				return fmt.Sprintf("\tdnstap { resolver response; client response; };\n\tdnstap-output unix %q;\n", sock)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			dnstest.RequireRoot(t)
			dnstest.RequireBinary(t, tc.kind)
			// AllocAddr also puts the address on lo, where BIND needs it.
			root, auth, res := dnstest.AllocAddr(t), dnstest.AllocAddr(t), dnstest.AllocAddr(t)
			dnstest.StartServer(t, netip.AddrPortFrom(root, 53), dnstest.NewZoneHandler(
				dnstest.MustParseZone(t, ".", fmt.Sprintf(rootZone, root, auth))))
			dnstest.StartServer(t, netip.AddrPortFrom(auth, 53), dnstest.NewZoneHandler(
				dnstest.MustParseZone(t, "example.com.", fmt.Sprintf(exampleZone, auth))))

			// The socket lives in a short directory: sun_path holds 108 bytes.
			dir, err := os.MkdirTemp("", "dt")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			os.Chmod(dir, 0o755)
			sock := filepath.Join(dir, "dnstap.sock")

			m := newMemSink()
			in, err := New(m, Options{SensorID: tc.kind})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			runErr := make(chan error, 1)
			go func() { runErr <- in.Run(ctx, nil, "dnstap:unix:"+sock) }()
			defer func() {
				cancel()
				<-runErr
			}()
			waitFor(t, "the dnstap socket", func() bool { _, err := os.Stat(sock); return err == nil })

			var server *dnstest.Server
			switch tc.kind {
			case "unbound":
				server = dnstest.StartUnbound(t, dnstest.UnboundConfig{Addr: res, RootHints: []netip.Addr{root}, Options: tc.resolverSettings(sock)})
			default:
				server = dnstest.StartBIND(t, dnstest.BINDConfig{Addr: res, Recursion: true, RootHints: []netip.Addr{root}, Options: tc.resolverSettings(sock)})
			}
			c := &dns.Client{Timeout: 5 * time.Second}
			ask := func(name string, qtype uint16, rcode int) {
				q := new(dns.Msg)
				q.SetQuestion(name, qtype)
				r, _, err := c.Exchange(q, netip.AddrPortFrom(res, 53).String())
				if err != nil {
					t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
				}
				if r.Rcode != rcode {
					t.Fatalf("%s %s: rcode %s", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode])
				}
			}
			ask("www.example.com.", dns.TypeA, dns.RcodeSuccess)
			ask("alias.example.com.", dns.TypeA, dns.RcodeSuccess)
			ask("example.com.", dns.TypeMX, dns.RcodeSuccess)
			ask("example.com.", dns.TypeTXT, dns.RcodeSuccess)
			ask("nope.example.com.", dns.TypeA, dns.RcodeNameError)
			waitFor(t, "dnstap frames of every upstream answer", func() bool {
				st := in.Stats()
				return st.NXDomain >= 1 && st.Used >= 4
			})
			server.Stop()
			cancel()
			if err := <-runErr; err != nil {
				t.Fatalf("Run: %v", err)
			}
			runErr <- nil
			if err := in.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			stored := map[string]string{}
			for _, tp := range m.tuples {
				stored[tp.RRName+" "+dns.TypeToString[tp.RRType]+" "+tp.RData] = tp.Bailiwick
			}
			for k, bw := range map[string]string{
				"example.com NS ns1.example.com.":          ".", // from the root's referral, first
				"ns1.example.com A " + auth.String():       ".",
				". NS ns1.dnstest-root.":                   ".",
				"www.example.com A 192.0.2.80":             "example.com",
				"alias.example.com CNAME www.example.com.": "example.com",
				"example.com MX 10 mail.example.com.":      "example.com",
				`example.com TXT "v=spf1 -all"`:            "example.com",
			} {
				got, ok := stored[k]
				if !ok {
					t.Errorf("%q not stored; have %s", k, strings.Join(m.lines(), "; "))
					continue
				}
				if bw != "" && got != bw {
					t.Errorf("%q: bailiwick %q, want %q", k, got, bw)
				}
			}
			if m.nx["nope.example.com"] == nil {
				t.Errorf("no NXDOMAIN count for nope.example.com: %v", m.nx)
			}
			for _, tp := range m.tuples {
				if len(tp.SensorIDs) != 1 || tp.SensorIDs[0] != tc.kind {
					t.Errorf("sensor ids %v", tp.SensorIDs)
				}
			}
		})
	}
}

// waitFor polls cond until it holds, failing after a generous deadline
// (this is readiness, not a speed assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
