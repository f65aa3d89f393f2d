// Package dnsworld is DNS held in memory: zones parsed from master files
// (Zone, ParseZone), a pure-Go DNSSEC signer with NSEC and NSEC3 chains
// (Zone.Sign), an authoritative zone server that implements the RFC 1034
// lookup algorithm with CNAME, DNAME, wildcards, delegations, AXFR/IXFR,
// CHAOS identity, NSID and DNSSEC denial of existence (ZoneHandler), an
// iterative resolver that starts at given root hints (Recursor), and the
// open-resolver misconfiguration (OpenResolver). `dnsscout demo` builds its
// offline world from it and the tests' helper package dnstest re-exports
// it. It opens no sockets itself (servers wrap its dns.Handlers), and the
// Recursor refuses to query anything but loopback unless told otherwise.
package dnsworld
