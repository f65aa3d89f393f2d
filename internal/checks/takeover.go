package checks

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/dnsscout/dnsscout/internal/dnsname"
)

// takeoverJSON is the takeover-prone service table, derived from
// can-i-take-over-xyz's fingerprints.json (CC BY 4.0; attribution inside the
// file and in docs/checks.md). TestTakeoverData re-derives it from
// testdata/takeover/fingerprints.json; `go test ./internal/checks -run
// TestTakeoverData -update` rewrites it.
//
//go:embed takeover.json
var takeoverJSON []byte

// takeoverData is the shape of takeover.json.
type takeoverData struct {
	Source      string            `json:"source"`
	Path        string            `json:"path"`
	Commit      string            `json:"commit"`
	License     string            `json:"license"`
	Attribution string            `json:"attribution"`
	Changes     string            `json:"changes"`
	Services    []takeoverService `json:"services"`
}

// takeoverService is one service with the CNAME suffixes that point at it.
type takeoverService struct {
	Service string `json:"service"`
	// Status is "vulnerable", "edge case" or "not vulnerable", as the source
	// classifies takeover of a dangling record pointing at the service.
	Status string `json:"status"`
	// NXDomain is true when the source's fingerprint is NXDOMAIN itself.
	NXDomain   bool     `json:"nxdomain"`
	Suffixes   []string `json:"cname_suffixes"`
	Discussion string   `json:"discussion,omitempty"`
}

// Takeover statuses.
const (
	statusVulnerable    = "vulnerable"
	statusEdgeCase      = "edge case"
	statusNotVulnerable = "not vulnerable"
)

var takeover = sync.OnceValues(func() (takeoverData, error) {
	var d takeoverData
	if err := json.Unmarshal(takeoverJSON, &d); err != nil {
		return d, fmt.Errorf("checks: takeover.json: %w", err)
	}
	return d, nil
})

// matchTakeover returns the service whose CNAME suffix matches name, the
// longest suffix winning.
func matchTakeover(name string) (takeoverService, string, bool) {
	d, err := takeover()
	if err != nil {
		return takeoverService{}, "", false
	}
	name = dnsname.FromWire(name)
	var best takeoverService
	bestSuffix := ""
	for _, s := range d.Services {
		for _, suf := range s.Suffixes {
			if len(suf) > len(bestSuffix) && dnsname.IsSubdomain(name, suf) {
				best, bestSuffix = s, suf
			}
		}
	}
	return best, bestSuffix, bestSuffix != ""
}
