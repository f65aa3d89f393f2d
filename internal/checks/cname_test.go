package checks

import (
	"errors"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/recon"
)

func TestDanglingCNAME(t *testing.T) {
	offline := []string{} // needs the network: nothing offline
	runCases(t, "dangling-cname", []checkCase{
		{name: "target resolves"},
		{name: "target exists without an A record (NODATA)", mutate: func(t *testing.T, w *world) {
			w.addRecords(t, "v6.example.com. 300 IN CNAME v6only.example.net.")
			w.ex.exist("v6only.example.net")
		}},
		{name: "SERVFAIL is no evidence", mutate: func(t *testing.T, w *world) {
			w.addRecords(t, "flaky.example.com. 300 IN CNAME broken.example.net.")
			w.ex.rcode[fkey("broken.example.net", dns.TypeA)] = dns.RcodeServerFailure
		}},
		{name: "timeout is no evidence", mutate: func(t *testing.T, w *world) {
			w.addRecords(t, "slow.example.com. 300 IN CNAME slow.example.net.")
			w.ex.fail[fkey("slow.example.net", dns.TypeA)] = errors.New("resolver: timeout")
		}},
		{
			// Recon saw the alias answer NXDOMAIN at its chain's end; the
			// resolver no longer answers for the target. Offline, and when
			// a live lookup settles nothing, that record is the evidence.
			name: "chain end recorded by recon",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "status.example.com. 300 IN CNAME globex.statuspage.example.net.")
				w.res.Names = append(w.res.Names, recon.Name{Name: "status.example.com", Sources: []string{"bruteforce"},
					Chain: &recon.ChainEnd{Target: "globex.statuspage.example.net", Rcode: "NXDOMAIN", Hops: 1}})
				w.ex.rcode[fkey("globex.statuspage.example.net", dns.TypeA)] = dns.RcodeServerFailure
			},
			want:     []string{"medium dangling-cname status.example.com"},
			evidence: []string{"status.example.com CNAME globex.statuspage.example.net: the target does not exist (NXDOMAIN)"},
		},
		{
			name: "chain end recorded as NOERROR is no evidence",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "ok.example.com. 300 IN CNAME up.example.net.")
				w.res.Names = append(w.res.Names, recon.Name{Name: "ok.example.com", Sources: []string{"bruteforce"},
					Chain: &recon.ChainEnd{Target: "up.example.net", Rcode: "NOERROR", Hops: 1}})
				w.ex.rcode[fkey("up.example.net", dns.TypeA)] = dns.RcodeServerFailure
			},
		},
		{
			name: "unknown service",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "old.example.com. 300 IN CNAME gone.example.net.")
				w.ex.nxdomain("gone.example.net")
			},
			want:        []string{"medium dangling-cname old.example.com"},
			wantOffline: offline,
			evidence:    []string{"old.example.com CNAME gone.example.net: the target does not exist (NXDOMAIN)"},
		},
		{
			name: "vulnerable service",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "promo.example.com. 300 IN CNAME promo-2019.azurewebsites.net.")
				w.ex.nxdomain("promo-2019.azurewebsites.net")
				w.ex.exist("azurewebsites.net")
			},
			want:        []string{"high dangling-cname promo.example.com"},
			wantOffline: offline,
			evidence:    []string{"promo-2019.azurewebsites.net matches Microsoft Azure (azurewebsites.net), listed as vulnerable to takeover by can-i-take-over-xyz"},
		},
		{
			name: "not-vulnerable service",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "lb.example.com. 300 IN CNAME old-lb.elb.amazonaws.com.")
				w.ex.nxdomain("old-lb.elb.amazonaws.com")
				w.ex.exist("amazonaws.com")
			},
			want:        []string{"low dangling-cname lb.example.com"},
			wantOffline: offline,
			evidence:    []string{"listed as not vulnerable to takeover"},
		},
		{
			name: "chain ending in a service",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "blog.example.com. 300 IN CNAME blog.example.net.")
				w.ex.add(t, "blog.example.net. 300 IN CNAME example-blog.ghost.io.")
				w.ex.nxdomain("example-blog.ghost.io")
				w.ex.exist("ghost.io")
			},
			want:        []string{"high dangling-cname blog.example.com"},
			wantOffline: offline,
			evidence:    []string{"chain blog.example.net -> example-blog.ghost.io ends at example-blog.ghost.io", "matches Ghost (ghost.io)"},
		},
		{
			name: "unregistered domain (lab world under .test)",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "cdn.example.com. 300 IN CNAME assets.lapsed-cdn.test.")
				w.ex.nxdomain("lapsed-cdn.test")
				w.res.Domain = "lab.test"
			},
			want:        []string{"high dangling-cname cdn.example.com"},
			wantOffline: offline,
			evidence:    []string{"the domain lapsed-cdn.test does not exist (NXDOMAIN): anyone can register it and serve cdn.example.com"},
		},
		{
			name: "unregistrable domain",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t, "cdn.example.com. 300 IN CNAME assets.lapsed-cdn.test.")
				w.ex.nxdomain("lapsed-cdn.test")
			},
			want:        []string{"medium dangling-cname cdn.example.com"},
			wantOffline: offline,
		},
	})
}
