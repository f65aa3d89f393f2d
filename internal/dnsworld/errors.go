package dnsworld

import "errors"

// Errors returned by the zone parser, the signer and the recursor. Wrapped
// errors carry the details.
var (
	// ErrZoneSyntax reports master-file text that does not parse.
	ErrZoneSyntax = errors.New("dnsworld: zone syntax error")
	// ErrBadOrigin reports a zone origin that is not a valid domain name.
	ErrBadOrigin = errors.New("dnsworld: invalid zone origin")
	// ErrNoSOA reports a zone without exactly one SOA record at its apex.
	ErrNoSOA = errors.New("dnsworld: zone needs exactly one SOA record at its apex")
	// ErrOutOfZone reports a record whose owner is not at or below the origin.
	ErrOutOfZone = errors.New("dnsworld: record outside the zone")
	// ErrCNAMEConflict reports a CNAME beside other data or a second CNAME.
	ErrCNAMEConflict = errors.New("dnsworld: CNAME and other data at the same name")
	// ErrClass reports a record whose class is not IN.
	ErrClass = errors.New("dnsworld: record class is not IN")
	// ErrTooManyRecords reports a zone larger than MaxZoneRecords.
	ErrTooManyRecords = errors.New("dnsworld: too many records in zone")
	// ErrSign reports a zone that could not be signed.
	ErrSign = errors.New("dnsworld: signing failed")

	// ErrServFail reports a recursive resolution that failed (the recursor
	// answers SERVFAIL).
	ErrServFail = errors.New("dnsworld: resolution failed")
	// ErrNotAllowed reports a server address outside the recursor's allowed
	// prefixes (by default only loopback may be queried).
	ErrNotAllowed = errors.New("dnsworld: server address not allowed")
)
