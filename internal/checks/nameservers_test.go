package checks

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/recon"
)

// srv returns the i-th server of the j-th nameserver of the world.
func (w *world) srv(j int) *recon.Server { return &w.res.Nameservers[j].Servers[0] }

func TestAXFRAllowed(t *testing.T) {
	runCases(t, "axfr-allowed", []checkCase{
		{name: "refused everywhere"},
		{name: "failed is not allowed", mutate: func(t *testing.T, w *world) { w.srv(0).AXFR = recon.TransferFailed }},
		{name: "skipped is not allowed", mutate: func(t *testing.T, w *world) { w.srv(1).AXFR = recon.TransferSkipped }},
		{
			name: "open on one server",
			mutate: func(t *testing.T, w *world) {
				w.srv(1).AXFR = recon.TransferAllowed
				w.srv(1).AXFRRecords = 42
			},
			want:     []string{"high axfr-allowed ns2.example.net (198.51.100.53)"},
			evidence: []string{"AXFR of zone example.com from 198.51.100.53 returned 42 records"},
		},
		{
			name: "partial transfer is kept and reported",
			mutate: func(t *testing.T, w *world) {
				w.srv(1).AXFR = recon.TransferPartial
				w.srv(1).AXFRRecords = 1000
				w.res.Gaps = append(w.res.Gaps, recon.Gap{Stage: "axfr", Zone: "example.com", Server: "198.51.100.53",
					Reason: "1000 records kept; stopped at the cap of 1000 records (--axfr-max-records)"})
			},
			want:     []string{"high axfr-allowed ns2.example.net (198.51.100.53)"},
			evidence: []string{"AXFR of zone example.com from 198.51.100.53 sent 1000 records before recon stopped reading (1000 records kept; stopped at the cap of 1000 records (--axfr-max-records))"},
		},
		{
			name: "open on both",
			mutate: func(t *testing.T, w *world) {
				w.srv(0).AXFR = recon.TransferAllowed
				w.srv(1).AXFR = recon.TransferAllowed
			},
			want: []string{"high axfr-allowed ns1.example.com (192.0.2.53)", "high axfr-allowed ns2.example.net (198.51.100.53)"},
		},
	})
}

func TestIXFRAllowed(t *testing.T) {
	runCases(t, "ixfr-allowed", []checkCase{
		{name: "refused"},
		{name: "axfr open does not make ixfr open", mutate: func(t *testing.T, w *world) { w.srv(0).AXFR = recon.TransferAllowed }},
		{
			name:   "open",
			mutate: func(t *testing.T, w *world) { w.srv(0).IXFR = recon.TransferAllowed },
			want:   []string{"medium ixfr-allowed ns1.example.com (192.0.2.53)"},
		},
	})
}

func TestOpenResolver(t *testing.T) {
	runCases(t, "open-resolver", []checkCase{
		{name: "no recursion"},
		{
			name:     "recursion",
			mutate:   func(t *testing.T, w *world) { w.srv(1).Recursion = true },
			want:     []string{"high open-resolver ns2.example.net (198.51.100.53)"},
			evidence: []string{"answered a recursive query for a name outside its zones"},
		},
	})
}

func TestVersionDisclosure(t *testing.T) {
	runCases(t, "version-disclosure", []checkCase{
		{name: "nothing disclosed"},
		{name: "refusal text is no disclosure", mutate: func(t *testing.T, w *world) {
			w.srv(0).Version = "none"
			w.srv(1).Version = "go away"
		}},
		{
			name:     "bind version",
			mutate:   func(t *testing.T, w *world) { w.srv(0).Version = "9.18.28-1~deb12u2-Debian" },
			want:     []string{"low version-disclosure ns1.example.com (192.0.2.53)"},
			evidence: []string{`version.bind CH TXT "9.18.28-1~deb12u2-Debian"`},
		},
		{
			name:     "software name without number, version.server",
			mutate:   func(t *testing.T, w *world) { w.srv(1).VersionServer = "Knot DNS" },
			want:     []string{"low version-disclosure ns2.example.net (198.51.100.53)"},
			evidence: []string{`version.server CH TXT "Knot DNS"`},
		},
	})
}

func TestHostnameDisclosure(t *testing.T) {
	runCases(t, "hostname-disclosure", []checkCase{
		{name: "nothing disclosed"},
		{
			name:     "internal host name",
			mutate:   func(t *testing.T, w *world) { w.srv(0).Hostname = "dns-prod-07.corp.example.com" },
			want:     []string{"low hostname-disclosure ns1.example.com (192.0.2.53)"},
			evidence: []string{`hostname.bind CH TXT "dns-prod-07.corp.example.com"`},
		},
		{
			name: "nsid and id.server",
			mutate: func(t *testing.T, w *world) {
				w.srv(1).NSID = "fra1-b"
				w.srv(1).ID = "fra1-b"
			},
			want:     []string{"low hostname-disclosure ns2.example.net (198.51.100.53)"},
			evidence: []string{`NSID "fra1-b"`, `id.server CH TXT "fra1-b"`},
		},
		{
			name:   "only the public name: info",
			mutate: func(t *testing.T, w *world) { w.srv(0).Hostname = "ns1.example.com." },
			want:   []string{"info hostname-disclosure ns1.example.com (192.0.2.53)"},
		},
	})
}

func TestLameDelegation(t *testing.T) {
	runCases(t, "lame-delegation", []checkCase{
		{name: "all authoritative"},
		{
			name: "hidden primary from SOA only is not lame",
			mutate: func(t *testing.T, w *world) {
				w.res.Nameservers = append(w.res.Nameservers, recon.Nameserver{Name: "hidden.example.com", Zone: "example.com",
					Sources: []string{"soa"}, Addresses: []string{"192.0.2.99"}, Resolves: true,
					Servers: []recon.Server{{Address: "192.0.2.99"}}})
			},
		},
		{
			name:     "silent server",
			mutate:   func(t *testing.T, w *world) { *w.srv(1) = recon.Server{Address: "198.51.100.53", Error: "timeout"} },
			want:     []string{"medium lame-delegation ns2.example.net (198.51.100.53)"},
			evidence: []string{"198.51.100.53 gave no answer for zone example.com: timeout"},
		},
		{
			name: "refusing server",
			mutate: func(t *testing.T, w *world) {
				w.srv(0).Authoritative = false
				w.srv(0).Error = "not authoritative: refused"
			},
			want:     []string{"medium lame-delegation ns1.example.com (192.0.2.53)"},
			evidence: []string{"192.0.2.53 does not answer authoritatively for zone example.com: refused"},
		},
		{
			// One silent, one refusing: nobody answers for the zone.
			name: "dead delegation",
			mutate: func(t *testing.T, w *world) {
				*w.srv(1) = recon.Server{Address: "198.51.100.53", Error: "timeout"}
				w.srv(0).Authoritative = false
				w.srv(0).Error = "not authoritative: refused"
			},
			want:     []string{"high lame-delegation ns1.example.com (192.0.2.53)", "high lame-delegation ns2.example.net (198.51.100.53)"},
			evidence: []string{"no delegated nameserver of example.com answers for it: the zone is unreachable"},
		},
	})
}

func TestDanglingNS(t *testing.T) {
	runCases(t, "dangling-ns", []checkCase{
		{name: "all resolve"},
		{
			name: "name does not resolve",
			mutate: func(t *testing.T, w *world) {
				ns := &w.res.Nameservers[1]
				ns.Resolves, ns.Addresses, ns.Servers, ns.Error = false, nil, nil, "NXDOMAIN"
				w.ex.nxdomain("ns2.example.net")
			},
			want:     []string{"high dangling-ns ns2.example.net"},
			evidence: []string{"nameserver of example.com ns2.example.net does not resolve: NXDOMAIN"},
		},
		{
			name: "resolution timed out: no evidence",
			mutate: func(t *testing.T, w *world) {
				ns := &w.res.Nameservers[1]
				ns.Resolves, ns.Addresses, ns.Servers, ns.Error = false, nil, nil, "timeout"
			},
		},
		{
			name: "no address record (NODATA), glue still given",
			mutate: func(t *testing.T, w *world) {
				ns := &w.res.Nameservers[1]
				ns.Resolves, ns.Error = false, "no address"
			},
			want:     []string{"high dangling-ns ns2.example.net"},
			evidence: []string{"does not resolve: no address"},
		},
		{
			name: "registrable domain unregistered",
			mutate: func(t *testing.T, w *world) {
				ns := &w.res.Nameservers[1]
				ns.Name, ns.Resolves, ns.Addresses, ns.Servers, ns.Error = "ns2.expired-dns.test", false, nil, nil, "NXDOMAIN"
				w.res.Zones[0].ParentNS[1] = "ns2.expired-dns.test"
				w.res.Zones[0].ChildNS[0] = "ns2.expired-dns.test"
				w.ex.nxdomain("expired-dns.test")
				// A lab world under .test: there .test domains are registrable.
				w.res.Domain = "lab.test"
			},
			want:        []string{"critical dangling-ns ns2.expired-dns.test"},
			wantOffline: []string{"high dangling-ns ns2.expired-dns.test"},
			evidence:    []string{"the domain expired-dns.test of nameserver ns2.expired-dns.test does not exist (NXDOMAIN): whoever registers it controls example.com"},
		},
		{
			name: "parent-only name whose domain is gone",
			mutate: func(t *testing.T, w *world) {
				w.res.Zones[0].ParentNS = append(w.res.Zones[0].ParentNS, "ns3.lapsed.test")
				w.ex.nxdomain("lapsed.test")
				w.res.Domain = "lab.test"
			},
			want:        []string{"critical dangling-ns ns3.lapsed.test"},
			wantOffline: []string{},
		},
		{
			name: "unregistrable TLD is not asked",
			mutate: func(t *testing.T, w *world) {
				// From example.com, a .test domain can never be registered.
				w.res.Zones[0].ParentNS = append(w.res.Zones[0].ParentNS, "ns3.lapsed.test")
				w.ex.nxdomain("lapsed.test")
			},
		},
		{
			name: "resolver failure is no evidence",
			mutate: func(t *testing.T, w *world) {
				w.res.Zones[0].ParentNS = append(w.res.Zones[0].ParentNS, "ns3.flaky.test")
				w.ex.rcode[fkey("flaky.test", dns.TypeSOA)] = dns.RcodeServerFailure
			},
		},
	})
}

func TestSOASerialMismatch(t *testing.T) {
	runCases(t, "soa-serial-mismatch", []checkCase{
		{name: "same serial"},
		{name: "non-authoritative server's serial ignored", mutate: func(t *testing.T, w *world) {
			w.srv(1).Authoritative = false
			w.srv(1).Serial = 1
		}},
		{
			name:     "stale secondary",
			mutate:   func(t *testing.T, w *world) { w.srv(1).Serial = 2026020101 },
			want:     []string{"low soa-serial-mismatch example.com"},
			evidence: []string{"ns2.example.net (198.51.100.53) serves serial 2026020101", "ns1.example.com (192.0.2.53) serves serial 2026030101"},
		},
	})
}

func TestNSSetMismatch(t *testing.T) {
	runCases(t, "ns-set-mismatch", []checkCase{
		{name: "same sets in another order and case", mutate: func(t *testing.T, w *world) {
			w.res.Zones[0].ChildNS = []string{"NS2.example.net.", "ns1.example.com"}
		}},
		{name: "no child set known", mutate: func(t *testing.T, w *world) { w.res.Zones[0].ChildNS = nil }},
		{
			name: "parent lists an extra server",
			mutate: func(t *testing.T, w *world) {
				w.res.Zones[0].ParentNS = append(w.res.Zones[0].ParentNS, "ns3.example.com")
			},
			want:     []string{"low ns-set-mismatch example.com"},
			evidence: []string{"only in the parent's delegation: ns3.example.com"},
		},
		{
			name:     "server returns another NS set",
			mutate:   func(t *testing.T, w *world) { w.srv(1).NS = []string{"ns1.example.com"} },
			want:     []string{"low ns-set-mismatch example.com"},
			evidence: []string{"ns2.example.net (198.51.100.53) returns NS set ns1.example.com, not ns1.example.com, ns2.example.net"},
		},
	})
}

func TestSingleNameserver(t *testing.T) {
	runCases(t, "single-nameserver", []checkCase{
		{name: "two nameservers"},
		{
			name: "one name",
			mutate: func(t *testing.T, w *world) {
				w.res.Nameservers = w.res.Nameservers[:1]
				w.res.Zones[0].ParentNS = []string{"ns1.example.com"}
				w.res.Zones[0].ChildNS = []string{"ns1.example.com"}
			},
			want: []string{"medium single-nameserver example.com"},
		},
		{
			name: "two names, one address",
			mutate: func(t *testing.T, w *world) {
				ns := &w.res.Nameservers[1]
				ns.Addresses = []string{"192.0.2.53"}
				ns.Servers[0].Address = "192.0.2.53"
			},
			want:     []string{"medium single-nameserver example.com"},
			evidence: []string{"share one address: 192.0.2.53"},
		},
	})
}

func TestNameserverDiversity(t *testing.T) {
	runCases(t, "nameserver-diversity", []checkCase{
		{name: "two networks, two domains"},
		{name: "v4 in one /24 but v6 spread", mutate: func(t *testing.T, w *world) {
			w.res.Nameservers[1].Addresses = []string{"192.0.2.54", "2001:db8:1::53"}
			w.res.Nameservers[1].Servers[0].Address = "192.0.2.54"
			w.res.Nameservers[0].Addresses = append(w.res.Nameservers[0].Addresses, "2001:db8:2::53")
		}},
		{name: "lab world on loopback: no network clause", mutate: func(t *testing.T, w *world) {
			w.res.Nameservers[0].Addresses = []string{"127.53.0.4"}
			w.res.Nameservers[0].Servers[0].Address = "127.53.0.4"
			w.res.Nameservers[1].Addresses = []string{"127.53.0.5"}
			w.res.Nameservers[1].Servers[0].Address = "127.53.0.5"
		}},
		{
			name: "one /24",
			mutate: func(t *testing.T, w *world) {
				w.res.Nameservers[1].Addresses = []string{"192.0.2.54"}
				w.res.Nameservers[1].Servers[0].Address = "192.0.2.54"
			},
			want:     []string{"low nameserver-diversity example.com"},
			evidence: []string{"all 2 nameserver addresses of example.com lie in 192.0.2.0/24"},
		},
		{
			name: "one domain",
			mutate: func(t *testing.T, w *world) {
				w.res.Nameservers[1].Name = "ns2.example.com"
				w.res.Zones[0].ParentNS = []string{"ns1.example.com", "ns2.example.com"}
				w.res.Zones[0].ChildNS = []string{"ns1.example.com", "ns2.example.com"}
			},
			want:     []string{"info nameserver-diversity example.com"},
			evidence: []string{"are under one domain: example.com"},
		},
	})
}
