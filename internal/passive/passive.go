// Package passive owns the passive sources that recon draws names from
// without sending a packet to the target: dnsscout's own passive DNS store
// (store.Backend), remote passive DNS services that speak the CIRCL pDNS or
// DNSDB API v2 protocols (a remote dnsscout server speaks both), and
// certificate transparency through crt.sh's JSON interface.
//
// Every source implements one small interface, Source: stream every
// observation of names at or below a domain. An Observation carries the
// owner name in canonical form, the record passive data holds for it (type
// and rdata in canonical presentation form, or none for names known only
// from certificates), when it was first and last seen, and which source saw
// it. Collect runs several sources at once; Aggregate folds observations
// into one entry per name; FindStale classifies passive names against what
// live DNS says today (the facts behind the historic-dangling check).
//
// The HTTP clients have timeouts, per-source rate limits
// (golang.org/x/time/rate), paging, bounded retries of server errors, and
// distinct errors for rejected credentials (ErrAuth) and exhausted quotas
// (ErrQuota). Credentials come from Options (flags), the environment or a
// small JSON config file (see config.go and docs/passive.md).
//
// The package does not resolve names, does not decide whether recon may
// send packets (Options.Only only carries the --passive-only switch to the
// caller), and does not write to the store.
package passive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Errors of package passive. Source errors wrap one of them with %w and
// name the source and the URL or query involved.
var (
	// ErrAuth: the service rejected the credentials (HTTP 401 or 403), or
	// none were given to a service that needs them.
	ErrAuth = errors.New("passive: credentials rejected")
	// ErrQuota: the service says the quota or rate limit is exhausted
	// (HTTP 429).
	ErrQuota = errors.New("passive: quota exhausted")
	// ErrHTTP: any other unexpected HTTP status, or a transport failure
	// after every retry.
	ErrHTTP = errors.New("passive: request failed")
	// ErrProtocol: the response does not follow the documented format
	// (not JSON, a cursor that repeats, a SAF stream that reports failure).
	ErrProtocol = errors.New("passive: malformed response")
	// ErrTruncated: a response ended early (a SAF stream without its
	// terminator, a body cut off by the size limit).
	ErrTruncated = errors.New("passive: response truncated")
	// ErrBadDomain: the domain to look up is empty, a wildcard or invalid.
	ErrBadDomain = errors.New("passive: bad domain")
	// ErrConfig: options, environment or config file are inconsistent.
	ErrConfig = errors.New("passive: bad configuration")
)

// Source is one origin of passive data.
type Source interface {
	// Name identifies the source in Observation.Source and in statuses:
	// "store", "crtsh", "circl:<url>", "dnsdb:<url>", or a label the
	// configuration gives.
	Name() string
	// Names streams every observation of domain and of the names below it
	// to fn, one call at a time. Out-of-scope and malformed entries are
	// skipped (counted in Status.Skipped when run by Collect). An error
	// from fn stops the stream and is returned as is; otherwise the error
	// says why the source could not deliver everything (observations
	// already delivered stay valid).
	Names(ctx context.Context, domain string, fn func(Observation) error) error
}

// Observation is one thing a passive source knows about a name.
type Observation struct {
	// Name is the owner name: canonical (lower case, A-labels, no trailing
	// dot) and always at or below the domain asked for.
	Name string `json:"name"`
	// Type is the rrtype mnemonic ("A", "CNAME", TYPEn for types without
	// one); empty when the source knows only that the name exists (crt.sh).
	Type string `json:"type,omitempty"`
	// Data is the rdata in canonical presentation form (as pdns.RData
	// renders it: names fully qualified and lower case); empty with Type.
	Data string `json:"data,omitempty"`
	// FirstSeen and LastSeen bound the sightings; zero when unknown. For
	// certificates they are the earliest not_before and the latest
	// not_after of the certificates naming it.
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// Count is the number of sightings (certificates for crt.sh); 0 when
	// the source does not say.
	Count uint64 `json:"count,omitempty"`
	// Source is the Name of the source that delivered it.
	Source string `json:"source"`
	// Detail is free text for people (e.g. the newest certificate's crt.sh
	// id and issuer); may be empty.
	Detail string `json:"detail,omitempty"`
}

// HasRecord reports whether the observation carries a record (type and
// data) rather than only the existence of the name.
func (o *Observation) HasRecord() bool { return o.Type != "" && o.Data != "" }

// CheckDomain normalizes the domain to look up (IDNA, lower case, no
// trailing dot) and rejects wildcards and the root.
func CheckDomain(domain string) (string, error) {
	d, err := dnsname.Normalize(domain)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadDomain, domain, err)
	}
	if strings.HasPrefix(d, "*") {
		return "", fmt.Errorf("%w: %q is a wildcard", ErrBadDomain, domain)
	}
	return d, nil
}

// inScope reports whether a canonical name is domain or below it and can
// be a stored name (printable, no empty label).
func inScope(name, domain string) bool {
	return dnsname.IsSubdomain(name, domain) && store.CheckName(name) == nil
}

// Status is what one source did during Collect.
type Status struct {
	// Source is the source's Name.
	Source string `json:"source"`
	// Observations is the number delivered; Names the distinct names among
	// them.
	Observations int `json:"observations"`
	Names        int `json:"names"`
	// Skipped counts entries the source dropped (out of scope, malformed).
	Skipped int `json:"skipped,omitempty"`
	// Duration is the wall time the source took; DurationMS the same in
	// milliseconds, for JSON.
	Duration   time.Duration `json:"-"`
	DurationMS int64         `json:"duration_ms"`
	// Err is why the source stopped early; nil when it finished.
	Err error `json:"-"`
	// Error is Err's text, for JSON.
	Error string `json:"error,omitempty"`
}

// skipCounter is installed in the context by Collect so that the built-in
// sources can count what they drop without widening the Source interface.
type skipCounter struct{ n atomic.Int64 }

type skipKey struct{}

// skip counts and logs one dropped entry.
func skip(ctx context.Context, log *slog.Logger, reason string, args ...any) {
	if c, ok := ctx.Value(skipKey{}).(*skipCounter); ok {
		c.n.Add(1)
	}
	log.Debug("skipped entry: "+reason, args...)
}

// Collect runs every source for domain concurrently and calls fn for each
// observation, one call at a time. A failing source does not stop the
// others: its error is in its Status. An error from fn cancels every
// source and is returned. Statuses come back in the order of sources.
func Collect(ctx context.Context, sources []Source, domain string, fn func(Observation) error) ([]Status, error) {
	d, err := CheckDomain(domain)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu     sync.Mutex
		fnErr  error
		wg     sync.WaitGroup
		status = make([]Status, len(sources))
	)
	for i, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &status[i]
			st.Source = src.Name()
			counter := &skipCounter{}
			names := make(map[string]struct{})
			start := time.Now()
			err := src.Names(context.WithValue(ctx, skipKey{}, counter), d, func(o Observation) error {
				mu.Lock()
				defer mu.Unlock()
				if fnErr != nil {
					return fnErr
				}
				if err := fn(o); err != nil {
					fnErr = err
					cancel(err)
					return err
				}
				st.Observations++
				names[o.Name] = struct{}{}
				return nil
			})
			st.Duration = time.Since(start)
			st.DurationMS = st.Duration.Milliseconds()
			st.Names = len(names)
			st.Skipped = int(counter.n.Load())
			if err != nil {
				st.Err = err
				st.Error = err.Error()
			}
		}()
	}
	wg.Wait()
	if fnErr != nil {
		return status, fnErr
	}
	return status, ctx.Err()
}

// Record is one (type, data) a name held, merged over sources.
type Record struct {
	Type      string    `json:"type"`
	Data      string    `json:"data"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	Count     uint64    `json:"count,omitempty"`
	Sources   []string  `json:"sources"`
}

// NameInfo is everything the passive sources said about one name.
type NameInfo struct {
	Name string `json:"name"`
	// Sources are the distinct Observation.Source values, sorted.
	Sources []string `json:"sources"`
	// FirstSeen and LastSeen span every observation of the name.
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// Records are the distinct records, sorted by type then data.
	Records []Record `json:"records,omitempty"`
	// Details are the distinct non-empty Observation.Detail values.
	Details []string `json:"details,omitempty"`
}

// Aggregate folds observations into one NameInfo per name. The zero value
// is ready to use; it is not safe for concurrent use (Collect's callback
// is serialized, so Add can be called from it directly).
type Aggregate struct {
	names map[string]*NameInfo
}

// Add folds one observation in.
func (a *Aggregate) Add(o Observation) {
	if a.names == nil {
		a.names = make(map[string]*NameInfo)
	}
	n := a.names[o.Name]
	if n == nil {
		n = &NameInfo{Name: o.Name}
		a.names[o.Name] = n
	}
	n.Sources = addSorted(n.Sources, o.Source)
	n.FirstSeen, n.LastSeen = widen(n.FirstSeen, n.LastSeen, o.FirstSeen, o.LastSeen)
	if o.Detail != "" && !slices.Contains(n.Details, o.Detail) && len(n.Details) < 8 {
		n.Details = append(n.Details, o.Detail)
	}
	if !o.HasRecord() {
		return
	}
	i, found := slices.BinarySearchFunc(n.Records, o, func(r Record, o Observation) int {
		if c := strings.Compare(r.Type, o.Type); c != 0 {
			return c
		}
		return strings.Compare(r.Data, o.Data)
	})
	if !found {
		n.Records = slices.Insert(n.Records, i, Record{Type: o.Type, Data: o.Data})
	}
	r := &n.Records[i]
	r.Sources = addSorted(r.Sources, o.Source)
	r.FirstSeen, r.LastSeen = widen(r.FirstSeen, r.LastSeen, o.FirstSeen, o.LastSeen)
	r.Count += o.Count
}

// Len returns the number of distinct names.
func (a *Aggregate) Len() int { return len(a.names) }

// Get returns the entry of one name, or nil.
func (a *Aggregate) Get(name string) *NameInfo { return a.names[name] }

// Names returns every entry sorted canonically (dnsname.Compare).
func (a *Aggregate) Names() []NameInfo {
	out := make([]NameInfo, 0, len(a.names))
	for _, n := range a.names {
		out = append(out, *n)
	}
	slices.SortFunc(out, func(x, y NameInfo) int { return dnsname.Compare(x.Name, y.Name) })
	return out
}

func addSorted(list []string, s string) []string {
	if i, found := slices.BinarySearch(list, s); !found {
		list = slices.Insert(list, i, s)
	}
	return list
}

// widen returns the span of [f1,l1] and [f2,l2], zero meaning unknown.
func widen(f1, l1, f2, l2 time.Time) (time.Time, time.Time) {
	if f1.IsZero() || !f2.IsZero() && f2.Before(f1) {
		f1 = f2
	}
	if l2.After(l1) {
		l1 = l2
	}
	return f1, l1
}
