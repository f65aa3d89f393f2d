package dnstest

import "github.com/dnsscout/dnsscout/internal/dnsworld"

// The in-memory DNS of package dnsworld (zones, signing, the zone server and
// the recursor), re-exported so that tests build worlds from one package.
type (
	Zone        = dnsworld.Zone
	ZoneHandler = dnsworld.ZoneHandler
	Recursor    = dnsworld.Recursor
	SignOptions = dnsworld.SignOptions
)

// Constructors of package dnsworld.
var (
	ParseZone      = dnsworld.ParseZone
	NewZone        = dnsworld.NewZone
	NewZoneHandler = dnsworld.NewZoneHandler
	NewRecursor    = dnsworld.NewRecursor
)
