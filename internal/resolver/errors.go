package resolver

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test them with errors.Is; the returned errors
// wrap them with the name, type and server involved.
var (
	// ErrTimeout: no valid response within the per-attempt timeout, after
	// every retry.
	ErrTimeout = errors.New("resolver: timeout")
	// ErrNoServers: no healthy recursive resolver is left in the pool (or
	// the pool was empty).
	ErrNoServers = errors.New("resolver: no usable servers")
	// ErrClosed: the Resolver was closed.
	ErrClosed = errors.New("resolver: closed")
	// ErrBadQuery: the query cannot be sent (invalid name, zone-transfer
	// type through Exchange, ...).
	ErrBadQuery = errors.New("resolver: invalid query")
	// ErrBadServer: a server address is unusable (invalid address, port 0).
	ErrBadServer = errors.New("resolver: invalid server address")
	// ErrBadOptions: Options failed validation in New.
	ErrBadOptions = errors.New("resolver: invalid options")
	// ErrMalformed: a TCP peer sent bytes that are not a DNS message for our
	// query (bad length prefix, unparseable message, wrong ID or question).
	ErrMalformed = errors.New("resolver: malformed response")
	// ErrTransferRefused: the server answered a zone transfer with a
	// non-zero RCODE (REFUSED, NOTAUTH, ...). The wrapping error names it.
	ErrTransferRefused = errors.New("resolver: transfer refused")
	// ErrTransferIncomplete: the connection ended (or the server stopped
	// sending) before the closing SOA.
	ErrTransferIncomplete = errors.New("resolver: transfer incomplete")
	// ErrTransferTooLarge: more than Options.MaxTransferRecords records, or
	// the transfer ran longer than Options.TransferTimeout.
	ErrTransferTooLarge = errors.New("resolver: transfer too large")
)

// errTimeout is the internal per-attempt timeout; callers see ErrTimeout
// wrapped with the query.
var errTimeout = fmt.Errorf("%w (attempt)", ErrTimeout)
