package dnstest

import "errors"

// Errors returned by the zone parser, the signer, the recursor and the
// server starters. Wrapped errors carry the details.
var (
	// ErrZoneSyntax reports master-file text that does not parse.
	ErrZoneSyntax = errors.New("dnstest: zone syntax error")
	// ErrBadOrigin reports a zone origin that is not a valid domain name.
	ErrBadOrigin = errors.New("dnstest: invalid zone origin")
	// ErrNoSOA reports a zone without exactly one SOA record at its apex.
	ErrNoSOA = errors.New("dnstest: zone needs exactly one SOA record at its apex")
	// ErrOutOfZone reports a record whose owner is not at or below the origin.
	ErrOutOfZone = errors.New("dnstest: record outside the zone")
	// ErrCNAMEConflict reports a CNAME beside other data or a second CNAME.
	ErrCNAMEConflict = errors.New("dnstest: CNAME and other data at the same name")
	// ErrClass reports a record whose class is not IN.
	ErrClass = errors.New("dnstest: record class is not IN")
	// ErrTooManyRecords reports a zone larger than MaxZoneRecords.
	ErrTooManyRecords = errors.New("dnstest: too many records in zone")
	// ErrSign reports a zone that could not be signed.
	ErrSign = errors.New("dnstest: signing failed")

	// ErrServFail reports a recursive resolution that failed (the recursor
	// answers SERVFAIL).
	ErrServFail = errors.New("dnstest: resolution failed")
	// ErrNotAllowed reports a server address outside the recursor's allowed
	// prefixes (by default only loopback may be queried).
	ErrNotAllowed = errors.New("dnstest: server address not allowed")

	// ErrServerStart reports a real or in-process server that did not start
	// or did not become ready; the message includes the server's log.
	ErrServerStart = errors.New("dnstest: server did not start")
	// ErrNeedRoot reports a real server (or Unbound world) started without
	// root: they listen on port 53.
	ErrNeedRoot = errors.New("dnstest: real servers need root (port 53 on 127.53.x.y)")
	// ErrNoAddress reports that no free address was left in 127.53.0.0/16.
	ErrNoAddress = errors.New("dnstest: no free address in 127.53.0.0/16")
	// ErrWorldSpec reports an invalid WorldSpec.
	ErrWorldSpec = errors.New("dnstest: invalid world spec")
)
