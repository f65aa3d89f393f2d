package passive

import (
	"slices"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnsname"
)

// Liveness is what live DNS says of a name today, as the caller (recon)
// found it.
type Liveness uint8

// Liveness values.
const (
	// LiveUnknown: not asked, or no usable answer (timeout, SERVFAIL).
	// FindStale never judges such a name.
	LiveUnknown Liveness = iota
	// LiveExists: the name has records (not only through a wildcard).
	LiveExists
	// LiveNoData: the name exists but holds none of the address types
	// (A, AAAA, CNAME) asked for.
	LiveNoData
	// LiveNXDomain: the name does not exist. Callers report a name that
	// only a wildcard answers as LiveNXDomain too: it is gone from the
	// zone.
	LiveNXDomain
)

// Stale kinds.
const (
	// StaleGone: passive data knows the name; today it does not exist, or
	// no longer has any address although passive data saw one.
	StaleGone = "gone"
	// StaleTarget: passive data saw the name as a CNAME whose target does
	// not exist today.
	StaleTarget = "cname-target-gone"
)

// Stale is one historic-dangling fact: a name passive data knows that no
// longer resolves, or whose former CNAME target no longer exists.
type Stale struct {
	Name string `json:"name"`
	// Kind is StaleGone or StaleTarget.
	Kind string `json:"kind"`
	// Target is the CNAME target that no longer exists (StaleTarget), or
	// for StaleGone the former CNAME targets joined by ", " (may be empty).
	Target string `json:"target,omitempty"`
	// Live is what DNS says of Name today.
	Live Liveness `json:"-"`
	// LastSeen is when passive data last saw the name (or the CNAME).
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Sources are the passive sources that knew the name (or the CNAME).
	Sources []string `json:"sources"`
	// Records are the records passive data held for the name, for the
	// finding's evidence (at most 16).
	Records []Record `json:"records,omitempty"`
}

// FindStale compares what passive data knows (Aggregate.Names) with what
// live DNS says today. live reports the state of a canonical name; it is
// called for every passive name and for every CNAME target passive data
// holds (targets may lie outside the domain: that is the dangerous case).
// A name is StaleGone when live says LiveNXDomain, or LiveNoData while
// passive data saw an address or CNAME record for it; a name that still
// exists is StaleTarget for each former CNAME target that is LiveNXDomain.
// Results are sorted by name, then target.
func FindStale(names []NameInfo, live func(name string) Liveness) []Stale {
	var out []Stale
	for _, n := range names {
		state := live(n.Name)
		if state == LiveUnknown {
			continue
		}
		var targets []string
		var cnameRecs []Record
		hadAddress := false
		for _, r := range n.Records {
			switch r.Type {
			case "A", "AAAA":
				hadAddress = true
			case "CNAME":
				hadAddress = true
				t := dnsname.FromWire(strings.TrimSpace(r.Data))
				if t != "." && t != "" {
					targets = append(targets, t)
					cnameRecs = append(cnameRecs, r)
				}
			}
		}
		evidence := n.Records
		if len(evidence) > 16 {
			evidence = evidence[:16]
		}
		if state == LiveNXDomain || state == LiveNoData && hadAddress {
			out = append(out, Stale{
				Name: n.Name, Kind: StaleGone, Target: strings.Join(targets, ", "), Live: state,
				LastSeen: n.LastSeen, Sources: n.Sources, Records: evidence,
			})
			continue
		}
		for i, t := range targets {
			if live(t) != LiveNXDomain {
				continue
			}
			r := cnameRecs[i]
			out = append(out, Stale{
				Name: n.Name, Kind: StaleTarget, Target: t, Live: state,
				LastSeen: r.LastSeen, Sources: r.Sources, Records: []Record{r},
			})
		}
	}
	slices.SortFunc(out, func(a, b Stale) int {
		if c := dnsname.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Target, b.Target)
	})
	return out
}
