package cli

import (
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
	if err := o.SelectChecks(f.checks, f.skipChecks); err != nil {
		return o, usageError("%v", trimPkg(err))
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
