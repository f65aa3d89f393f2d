package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dnsscout/dnsscout/internal/checks"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

// auditSettings is what recon's audit flags asked for.
type auditSettings struct {
	off    bool // --skip-checks all
	sel    checks.Selection
	failOn *finding.Severity
}

func auditOptions(f *reconFlags) (auditSettings, error) {
	var a auditSettings
	if slices.Contains(f.skipChecks, "all") {
		a.off = true
	} else {
		a.sel = checks.Selection{Only: f.checks, Skip: f.skipChecks}
		if _, err := checks.Select(a.sel); err != nil {
			return a, usageError("%v (known: %s)", trimPkg(err), strings.Join(checks.Known(), ", "))
		}
	}
	if f.failOn != "" {
		s, err := finding.ParseSeverity(f.failOn)
		if err != nil {
			return a, usageError("--fail-on: %v", trimPkg(err))
		}
		a.failOn = &s
	}
	return a, nil
}

// runChecks audits r and fills its findings. The checks send their own
// queries through ex (nil: offline).
func runChecks(ctx context.Context, r *recon.Result, ex checks.Exchanger, port uint16, out reconOutput) error {
	if out.audit.off {
		return nil
	}
	env := &checks.Env{Result: r, Exchanger: ex, Logger: out.logger, NameserverPort: port}
	found, err := checks.RunEnv(ctx, env, out.audit.sel)
	if err != nil {
		if ctx.Err() != nil {
			// Interrupted while auditing: keep the findings made so far.
			r.MarkPartial(recon.Gap{Stage: "interrupted", Reason: "the run was stopped during the audit: some checks did not finish"})
		} else {
			out.logger.Warn("audit incomplete", "domain", r.Domain, "err", err)
		}
	}
	r.Findings = found
	if r.Findings == nil {
		r.Findings = []finding.Finding{}
	}
	return nil
}

// gate returns the findings exit error when --fail-on is reached.
func (a auditSettings) gate(results []*recon.Result) error {
	if a.failOn == nil {
		return nil
	}
	n := 0
	for _, r := range results {
		for _, f := range r.Findings {
			if f.Severity >= *a.failOn {
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	return &exitError{code: ExitFindings, err: fmt.Errorf("%d findings at or above %s", n, *a.failOn)}
}
