package dnstest

import (
	"errors"

	"github.com/dnsscout/dnsscout/internal/dnsworld"
)

// Errors returned by the server starters and the world builder; the zone
// parser, signer and recursor errors of package dnsworld are re-exported.
var (
	// Errors of the in-memory DNS (package dnsworld), re-exported for tests.
	ErrZoneSyntax     = dnsworld.ErrZoneSyntax
	ErrBadOrigin      = dnsworld.ErrBadOrigin
	ErrNoSOA          = dnsworld.ErrNoSOA
	ErrOutOfZone      = dnsworld.ErrOutOfZone
	ErrCNAMEConflict  = dnsworld.ErrCNAMEConflict
	ErrClass          = dnsworld.ErrClass
	ErrTooManyRecords = dnsworld.ErrTooManyRecords
	ErrSign           = dnsworld.ErrSign
	ErrServFail       = dnsworld.ErrServFail
	ErrNotAllowed     = dnsworld.ErrNotAllowed

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
