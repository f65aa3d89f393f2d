// Package dnstest owns the DNS servers that dnsscout's tests talk to. It
// provides:
//
//   - loopback address allocation in 127.53.0.0/16 that is unique across
//     processes (AllocAddr);
//   - in-process miekg/dns servers for protocol corner cases (StartServer);
//   - the in-memory DNS of package dnsworld re-exported (Zone, ParseZone,
//     NewZoneHandler, Zone.Sign, NewRecursor), so that tests need one import;
//   - real BIND 9, NSD, Knot and Unbound processes started from generated
//     configurations (StartBIND, StartNSD, StartKnot, StartUnbound);
//   - a World builder that assembles a whole hierarchy (root, TLDs, target
//     zones, sub-zones) over those servers with a recursive resolver whose
//     root hints point at the test root (NewWorld, StartWorld);
//   - the same process handling for helper programs that are not DNS
//     servers, such as the alert tests' MTA (StartProcess).
//
// Every packet stays on loopback: servers listen on 127.53.x.y, the recursors
// refuse to query anything outside 127.0.0.0/8 and ::1, and nothing reads
// /etc/resolv.conf.
//
// Everything that starts a real server or allocates addresses for a test
// takes a testing.TB and cleans up with t.Cleanup; StartWorld is the same
// without a test. Production code (`dnsscout demo`) uses package dnsworld
// directly and never links this package.
//
// It does not contain a stub resolver or any recon logic (see
// internal/resolver and internal/recon).
package dnstest
