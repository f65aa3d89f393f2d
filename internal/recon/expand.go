package recon

import (
	"context"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/passive"
)

// expansion resolves every name that became known since the last round
// with the types worth asking there (see ledger.typesFor), and verifies
// the candidates that record data and passive sources mentioned. It keeps
// no state of its own: the ledger's pending names and candidates are its
// work list.
type expansion struct{}

func (expansion) name() string { return "expand" }

// round expands until no name is pending and reports whether anything
// was done.
func (expansion) round(ctx context.Context, s *scope) bool {
	s.stage("expand")
	progressed := verifyCandidates(ctx, s)
	for {
		names := s.ledger.takePending()
		if len(names) == 0 {
			return progressed
		}
		progressed = true
		type job struct {
			name  string
			qtype uint16
		}
		var jobs []job
		for _, n := range names {
			if s.ledger.coveredByTransfer(n) || s.ledger.isZone(n) {
				continue // a transfer or the zone's apex records already has its records
			}
			for _, t := range s.ledger.typesFor(n) {
				jobs = append(jobs, job{n, t})
			}
		}
		parallel(ctx, len(jobs), s.opts.Concurrency, func(i int) {
			j := jobs[i]
			m, err := s.query(ctx, j.name, j.qtype)
			if err != nil {
				return
			}
			s.absorb(ctx, j.name, j.qtype, m, SourceStandard)
		})
		verifyCandidates(ctx, s)
	}
}

// verifyCandidates resolves queued candidates; those that exist (and are
// not just a wildcard's echo) become names. It reports whether there were
// any.
func verifyCandidates(ctx context.Context, s *scope) bool {
	cands := s.ledger.takeCandidates()
	if len(cands) == 0 {
		return false
	}
	names := make([]string, 0, len(cands))
	for n := range cands {
		names = append(names, n)
	}
	parallel(ctx, len(names), s.opts.Concurrency, func(i int) {
		n := names[i]
		if s.ledger.hasName(n) {
			s.ledger.addName(n, cands[n])
			return
		}
		if s.ledger.coveredByTransfer(n) {
			// Not in the zone's transfer: it does not exist (or is a
			// wildcard's), or lies past a capped transfer's end.
			return
		}
		m, err := s.query(ctx, n, dns.TypeA)
		if err != nil {
			return
		}
		s.noteLiveness(ctx, n, m)
		if l, known := s.ledger.liveness(n); !known || l == passive.LiveNXDomain {
			return // no usable answer, gone, or a wildcard's echo
		}
		s.ledger.addName(n, cands[n])
		s.absorb(ctx, n, dns.TypeA, m, SourceStandard)
	})
	return true
}

// subzones enumerates every delegated sub-zone found inside scope: names
// below a known zone apex that carry NS records. Enumerating one runs the
// zone techniques on it (scope.enumerate).
type subzones struct{}

func (subzones) name() string { return "subzones" }

// round reports whether a new zone was enumerated.
func (subzones) round(ctx context.Context, s *scope) bool {
	found := s.ledger.newCuts()
	for _, z := range found {
		if ctx.Err() != nil {
			break
		}
		s.log.Debug("delegated sub-zone", "zone", z)
		if err := s.enumerate(ctx, z); err != nil {
			s.log.Warn("sub-zone enumeration failed", "zone", z, "err", err)
		}
	}
	return len(found) > 0
}
