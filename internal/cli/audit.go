package cli

import (
	"slices"
	"strings"

	"github.com/dnsscout/dnsscout/internal/checks"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// scanOptions turns recon's flags into the options of one scan: recon's,
// the audit checks (--checks, --skip-checks) and the baseline.
func scanOptions(f *reconFlags) (scan.Options, error) {
	var o scan.Options
	var err error
	if o.Recon, err = reconOptions(f); err != nil {
		return o, err
	}
	if slices.Contains(f.skipChecks, "all") {
		o.NoChecks = true
	} else {
		o.Checks = checks.Selection{Only: f.checks, Skip: f.skipChecks}
		if _, err := checks.Select(o.Checks); err != nil {
			return o, usageError("%v (known: %s)", trimPkg(err), strings.Join(checks.Known(), ", "))
		}
	}
	if o.Baseline, err = loadBaseline(f.baseline); err != nil {
		return o, err
	}
	return o, nil
}

// failOnOption reads --fail-on (nil when not given).
func failOnOption(f *reconFlags) (*finding.Severity, error) {
	if f.failOn == "" {
		return nil, nil
	}
	s, err := finding.ParseSeverity(f.failOn)
	if err != nil {
		return nil, usageError("--fail-on: %v", trimPkg(err))
	}
	return &s, nil
}
