// Package recon discovers what a domain's DNS reveals: its records, every
// nameserver and what each address answers, zone transfers, brute-forced
// names with wildcard filtering, NSEC walks and NSEC3 chains, SRV services,
// PTR neighbourhoods and names mined from record data. Each stage streams
// what it finds through Options.OnEvent and the whole is returned as a
// Result. recon sends every query through the exchanger it is given; it
// never opens sockets or reads resolv.conf itself, and it does not judge
// what it finds (package checks does).
//
// # How a run is built
//
// A run (recon.go) is a scheduler over techniques. It checks that the
// target exists and finds its zone, opens the zone (apex records, through
// the zone's own servers when the resolver cannot answer for it), runs
// every zone technique on it, then runs expansion rounds — every round
// technique once per round — until a round finds nothing new. Each
// technique is a type in its own file, with its own state, driven through
// the small interfaces of technique.go; the ordered registry there,
// techniques, lists them:
//
//	passive      passive.go      start: names passive sources know; finish: historic names
//	expand       expand.go       round: resolve new names, verify mined candidates
//	subzones     expand.go       round: enumerate delegated sub-zones found
//	ptr          ptr.go          round: PTR sweep of the neighbourhoods of new addresses
//	alterations  bruteforce.go   round: amass-style alterations of the labels found
//	nameservers  nameservers.go  zone: every nameserver, what it answers, AXFR/IXFR
//	dnssec       nsec.go         zone: NSEC walk, NSEC3 chain and cracking; round: re-crack
//	srv          srv.go          zone: SRV service and TXT policy labels
//	bruteforce   bruteforce.go   zone: the word list; round: below names found
//
// What techniques find goes to the run's ledger (ledger.go): names,
// records, references, wildcards, zones, nameservers, gaps, the names
// waiting for expansion and the name budget, behind one lock, with the
// events and progress they cause. A technique reads and writes shared
// facts only through the ledger's methods and never another technique's
// state. The scope (scope.go) hands each technique the ledger, the
// options and the services that ask questions: queries (routed to a
// zone's own servers when the resolver cannot answer for it), delegation
// walks (delegation.go), the existence rule (exist.go) and the wildcard
// judgement (wildcard.go). Every record kept is mined (mine.go) for the
// names and ranges it mentions.
//
// # Adding a technique
//
// Write one file with a type that has name() and the abilities it needs
// (zone, round, start, finish), keeping its state in its fields:
//
//	// mxHosts asks the hosts of every MX target in scope.
//	type mxHosts struct{ asked map[string]bool }
//
//	func (t *mxHosts) name() string { return "mx" }
//
//	func (t *mxHosts) round(ctx context.Context, s *scope) bool {
//		s.stage("mx")
//		... s.query(ctx, name, dns.TypeA); s.absorb(...); s.ledger.addName(...)
//		return foundSomething
//	}
//
// add one line to techniques (with the option that turns it off, if any),
// test it alone with runTechnique (technique_test.go), and add a line to
// the table above and to README's architecture section.
package recon
