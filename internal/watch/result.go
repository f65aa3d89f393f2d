package watch

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// Result is what one scan of one domain gave the watch.
type Result struct {
	Domain string
	// Started and Finished bound the scan.
	Started, Finished time.Time
	// Snapshot is what the scan saw.
	Snapshot history.Snapshot
	// Complete is true when the scan covered everything it meant to (see
	// history.Scan.Complete: a partial scan resolves nothing).
	Complete bool
	// Outage is true when resolution failed: the scan is recorded as an
	// outage and is not compared with the last one.
	Outage bool
	// Err, when set and Outage is false, is a failed scan: nothing is
	// recorded and the domain is retried with backoff. With Outage it is
	// the outage's reason.
	Err error
}

// ignoredTypes are record types whose data changes without anything
// changing for the domain's exposure (signatures, serials, denial chains):
// they are left out of snapshots so that a re-signed zone is not a diff.
var ignoredTypes = []string{"SOA", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM"}

// SnapshotOf builds the snapshot of a scan report: its names, records (but
// those of ignoredTypes), nameserver names and findings.
func SnapshotOf(rep *scan.Report) history.Snapshot {
	r := rep.Result
	s := history.Snapshot{Domain: r.Domain, Findings: slices.Clone(rep.Findings)}
	owners := make(map[string]bool, len(r.Records))
	for i := range r.Records {
		owners[change.NameKey(r.Records[i].Name)] = true
	}
	for i := range r.Names {
		n := &r.Names[i]
		if len(n.Addresses) == 0 && !owners[change.NameKey(n.Name)] && underWildcard(r, n.Name) {
			continue
		}
		s.Names = append(s.Names, n.Name)
	}
	for i := range r.Records {
		x := &r.Records[i]
		if slices.Contains(ignoredTypes, strings.ToUpper(x.Type)) {
			continue
		}
		s.Records = append(s.Records, history.Record{Name: x.Name, Type: x.Type, Data: x.Data})
	}
	for i := range r.Nameservers {
		s.Nameservers = append(s.Nameservers, r.Nameservers[i].Name)
	}
	s.Normalize()
	return s
}

// underWildcard reports whether a wildcard of r covers name. A name under
// a wildcard without records or addresses of its own is one the wildcard
// answered (NODATA for the type asked): whether recon lists it depends on
// which query reached it first, so a snapshot leaves it out rather than
// report it appearing and vanishing from one scan to the next.
func underWildcard(r *recon.Result, name string) bool {
	name = change.NameKey(name)
	for i := range r.Wildcards {
		parent := strings.TrimPrefix(change.NameKey(r.Wildcards[i].Name), "*.")
		if strings.HasSuffix(name, "."+parent) {
			return true
		}
	}
	return false
}

// ResultOf turns what scan.Run returned for domain into a Result. A
// resolution failure (no resolver or server answered, every resolver
// down) is an outage; another error without a report is a failed scan. A
// report is complete unless it was cut short or a zone could not be
// enumerated at all (see Covered).
func ResultOf(domain string, rep *scan.Report, err error, started, finished time.Time) Result {
	out := Result{Domain: domain, Started: started, Finished: finished}
	r := (*recon.Result)(nil)
	if rep != nil {
		r = rep.Result
	}
	if r != nil {
		out.Snapshot = SnapshotOf(rep)
		out.Complete = Covered(r) && err == nil
	}
	if out.Snapshot.Domain == "" {
		out.Snapshot.Domain = domain
	}
	switch {
	case err == nil:
	case IsOutage(err):
		out.Outage, out.Err = true, err
	case r == nil || out.Snapshot.Empty():
		out.Err = err
	default:
		// Kept, as a partial scan: it may open, but it resolves nothing.
		out.Complete = false
		out.Err = err
	}
	return out
}

// Covered reports whether a recon result covered the domain: it was not
// cut short (interrupted, --max-time), and every zone was enumerated
// (through the resolvers, or directly at its servers).
func Covered(r *recon.Result) bool {
	if r.Partial() {
		return false
	}
	direct := make(map[string]bool)
	for i := range r.Zones {
		if len(r.Zones[i].Direct) > 0 {
			direct[r.Zones[i].Name] = true
		}
	}
	for _, g := range r.Gaps {
		switch g.Stage {
		case "interrupted", "max-time", "nameservers":
			return false
		case "resolver":
			if !direct[g.Zone] {
				return false
			}
		}
	}
	return true
}

// IsOutage reports whether err says that resolution itself failed (no
// resolver or server answered), as opposed to a domain that failed.
func IsOutage(err error) bool {
	var o *outageError
	return errors.As(err, &o) || errors.Is(err, recon.ErrNoAnswer) || errors.Is(err, resolver.ErrNoServers) ||
		errors.Is(err, resolver.ErrTimeout)
}

// outageError marks an error as an outage (Outage).
type outageError struct{ err error }

func (e *outageError) Error() string { return e.err.Error() }
func (e *outageError) Unwrap() error { return e.err }

// Outage wraps err so that IsOutage reports true: a scan function uses it
// for a failure it knows to be one of resolution (its resolvers failed
// their probe, say).
func Outage(err error) error { return &outageError{err} }
