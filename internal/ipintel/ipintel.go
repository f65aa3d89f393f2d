// Package ipintel owns address intelligence: for an IP address, the network
// prefix it belongs to, the origin AS number and name, and the country. It
// reads offline databases the user supplies — MaxMind-format .mmdb files
// (GeoLite2-ASN, GeoLite2-Country/City, DB-IP lite, IPinfo lite) through
// github.com/oschwald/maxminddb-golang/v2, and the public-domain iptoasn
// TSV (ip2asn-combined.tsv, plain or gzip) loaded into a sorted range table
// — and optionally asks Team Cymru's DNS-based IP-to-ASN service through an
// exchanger the caller provides (recon's resolver).
//
// An Annotator combines the sources in a fixed order with a cache; see
// Annotator.Lookup for how fields are merged. Group arranges annotated
// addresses by network and AS for reports.
//
// The package never downloads databases, opens no socket of its own, and
// does not decide which addresses to annotate (recon and report do).
package ipintel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
)

// Errors of package ipintel.
var (
	// ErrFormat: a database file is not in the expected format.
	ErrFormat = errors.New("ipintel: bad database format")
	// ErrConfig: Options are inconsistent (Cymru without an exchanger).
	ErrConfig = errors.New("ipintel: bad configuration")
	// ErrLookup: a source failed to answer (corrupt record, DNS failure).
	ErrLookup = errors.New("ipintel: lookup failed")
)

// Info is what is known of one address.
type Info struct {
	// Prefix is the network the address belongs to as the source that gave
	// the AS knows it (a BGP prefix for Team Cymru, the database network
	// for .mmdb files, the largest CIDR block of the iptoasn range that
	// holds the address); zero when unknown.
	Prefix netip.Prefix `json:"prefix,omitzero"`
	// ASN is the origin AS number; 0 when unknown.
	ASN uint32 `json:"asn,omitempty"`
	// ASName is the AS's name or description.
	ASName string `json:"as_name,omitempty"`
	// Country is the ISO 3166-1 alpha-2 code, upper case.
	Country string `json:"country,omitempty"`
	// Registry is the RIR (Team Cymru only: arin, ripencc, ...).
	Registry string `json:"registry,omitempty"`
	// Sources names the sources that contributed, in order.
	Sources []string `json:"sources,omitempty"`
}

// Found reports whether anything is known.
func (i *Info) Found() bool { return i.ASN != 0 || i.Country != "" || i.Prefix.IsValid() }

// complete reports whether no further source can add anything the
// Annotator merges.
func (i *Info) complete() bool {
	return i.ASN != 0 && i.ASName != "" && i.Country != "" && i.Prefix.IsValid()
}

// Source is one origin of address intelligence.
type Source interface {
	// Name identifies the source in Info.Sources ("mmdb:GeoLite2-ASN",
	// "iptoasn", "cymru").
	Name() string
	// Lookup returns what the source knows of addr (an unmapped address);
	// a zero Info when it knows nothing. Errors wrap ErrLookup.
	Lookup(ctx context.Context, addr netip.Addr) (Info, error)
}

// Options configure Open.
type Options struct {
	// MMDB lists .mmdb files, consulted in this order. Default none.
	MMDB []string
	// VerifyMMDB runs the library's full structural check on each .mmdb
	// file at Open (slow on large files). Default false: records are
	// still decoded with the library's size limits.
	VerifyMMDB bool
	// IPToASN lists iptoasn TSV files (ip2asn-combined.tsv, -v4, -v6, or
	// the -u32 variants; .gz accepted), merged into one table. Default none.
	IPToASN []string
	// Cymru enables Team Cymru's DNS service, asked last and only for
	// global unicast addresses that the files left incomplete. Default
	// false.
	Cymru bool
	// Exchanger sends Cymru's DNS queries; required with Cymru.
	Exchanger Exchanger
	// CymruOptions tune the Cymru source (zones, timeouts).
	CymruOptions CymruOptions
	// CacheSize bounds the addresses the Annotator remembers. Default
	// 65,536; negative disables the cache.
	CacheSize int
	// Logger receives load statistics and lookup failures; nil discards.
	Logger *slog.Logger
}

// Annotator answers address questions from several sources with a cache.
// It is safe for concurrent use.
type Annotator struct {
	sources []Source
	closers []func() error
	log     *slog.Logger
	max     int

	mu    sync.Mutex
	cache map[netip.Addr]*entry
}

type entry struct {
	done chan struct{}
	info Info
	err  error
}

// Open opens the databases opts names and returns an Annotator over them,
// in the order: .mmdb files, iptoasn tables, Team Cymru.
func Open(opts Options) (*Annotator, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "ipintel")
	var srcs []Source
	var closers []func() error
	fail := func(err error) (*Annotator, error) {
		for _, c := range closers {
			_ = c()
		}
		return nil, err
	}
	for _, p := range opts.MMDB {
		db, err := OpenMMDB(p, opts.VerifyMMDB)
		if err != nil {
			return fail(err)
		}
		log.Debug("mmdb opened", "path", p, "type", db.Type())
		srcs = append(srcs, db)
		closers = append(closers, db.Close)
	}
	if len(opts.IPToASN) > 0 {
		t := &Table{}
		for _, p := range opts.IPToASN {
			st, err := t.LoadFile(p)
			if err != nil {
				return fail(err)
			}
			log.Debug("iptoasn loaded", "path", p, "lines", st.Lines, "ranges", st.Ranges, "unrouted", st.Unrouted, "skipped", st.Skipped)
			if st.Skipped > 0 {
				log.Warn("iptoasn: skipped bad lines", "path", p, "skipped", st.Skipped, "first", st.FirstError)
			}
		}
		srcs = append(srcs, t)
	}
	if opts.Cymru {
		c, err := NewCymru(opts.Exchanger, opts.CymruOptions)
		if err != nil {
			return fail(err)
		}
		srcs = append(srcs, c)
	}
	a, err := NewAnnotator(srcs, opts.CacheSize, log)
	if err != nil {
		return fail(err)
	}
	a.closers = closers
	return a, nil
}

// NewAnnotator combines sources, consulted in the given order. cacheSize
// bounds the cache (0: 65,536; negative: none). log may be nil.
func NewAnnotator(sources []Source, cacheSize int, log *slog.Logger) (*Annotator, error) {
	for i, s := range sources {
		if s == nil {
			return nil, fmt.Errorf("%w: source %d is nil", ErrConfig, i)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cacheSize == 0 {
		cacheSize = 65536
	}
	return &Annotator{sources: slices.Clone(sources), log: log, max: cacheSize, cache: make(map[netip.Addr]*entry)}, nil
}

// Sources returns the names of the sources in the order they are asked.
func (a *Annotator) Sources() []string {
	var out []string
	for _, s := range a.sources {
		out = append(out, s.Name())
	}
	return out
}

// Close closes the databases Open opened.
func (a *Annotator) Close() error {
	var errs []error
	for _, c := range a.closers {
		errs = append(errs, c())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// Lookup annotates one address. Sources are asked in order until every
// field is known; each field comes from the first source that knows it:
//   - ASN, and with it Prefix and ASName, from the first source that knows
//     the AS; a later source that reports the same AS may fill a missing
//     ASName (Team Cymru's name for an AS a file numbered);
//   - Country from the first source that knows one;
//   - Prefix from the first source that knows any, when none knows the AS.
//
// A failing source is logged and skipped; Lookup returns the error only
// when no source answered at all. Results (misses included) are cached;
// concurrent lookups of one address ask the sources once.
func (a *Annotator) Lookup(ctx context.Context, addr netip.Addr) (Info, error) {
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() {
		return Info{}, fmt.Errorf("%w: invalid address", ErrLookup)
	}
	if a.max < 0 {
		return a.lookup(ctx, addr)
	}
	a.mu.Lock()
	if e, ok := a.cache[addr]; ok {
		a.mu.Unlock()
		select {
		case <-e.done:
			return cloneInfo(e.info), e.err
		case <-ctx.Done():
			return Info{}, ctx.Err()
		}
	}
	e := &entry{done: make(chan struct{})}
	cached := len(a.cache) < a.max
	if cached {
		a.cache[addr] = e
	}
	a.mu.Unlock()
	info, err := a.lookup(ctx, addr)
	if cached {
		if err != nil {
			// Do not remember failures: a later call may succeed.
			a.mu.Lock()
			delete(a.cache, addr)
			a.mu.Unlock()
		}
		e.info, e.err = info, err
		close(e.done)
	}
	return cloneInfo(info), err
}

func cloneInfo(i Info) Info {
	i.Sources = slices.Clone(i.Sources)
	return i
}

func (a *Annotator) lookup(ctx context.Context, addr netip.Addr) (Info, error) {
	var out Info
	var errs []error
	answered := false
	for _, s := range a.sources {
		if out.complete() {
			break
		}
		if namer, ok := s.(asNamer); ok && out.ASN != 0 && out.ASName == "" {
			// Only the name is missing: ask for it by AS number (which
			// does not reveal the address).
			if n, err := namer.ASName(ctx, out.ASN); err == nil && n != "" {
				out.ASName = n
				out.Sources = append(out.Sources, s.Name())
			}
			continue
		}
		if w, ok := s.(wanter); ok && !w.wants(out, addr) {
			continue
		}
		in, err := s.Lookup(ctx, addr)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			a.log.Debug("source failed", "source", s.Name(), "addr", addr, "err", err)
			errs = append(errs, err)
			continue
		}
		answered = true
		if merge(&out, &in) {
			out.Sources = append(out.Sources, s.Name())
		}
	}
	if !answered && len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	return out, nil
}

// asNamer is a source that can name an AS by number (Cymru).
type asNamer interface {
	ASName(ctx context.Context, asn uint32) (string, error)
}

// wanter is a source that is only worth asking in some cases (Cymru: a
// public address whose AS is still unknown).
type wanter interface {
	wants(sofar Info, addr netip.Addr) bool
}

// merge folds in into out by the rules of Lookup and reports whether in
// contributed anything.
func merge(out, in *Info) bool {
	used := false
	switch {
	case out.ASN == 0 && in.ASN != 0:
		out.ASN, out.ASName, out.Registry = in.ASN, in.ASName, in.Registry
		if in.Prefix.IsValid() {
			out.Prefix = in.Prefix
		}
		used = true
	case out.ASN != 0 && in.ASN == out.ASN && out.ASName == "" && in.ASName != "":
		out.ASName = in.ASName
		used = true
	}
	if out.Country == "" && in.Country != "" {
		out.Country = in.Country
		used = true
	}
	if !out.Prefix.IsValid() && in.Prefix.IsValid() {
		out.Prefix = in.Prefix
		used = true
	}
	return used
}

// Annotated is one address with its Info.
type Annotated struct {
	Addr netip.Addr
	Info Info
}

// Network is a group of addresses that share a prefix and an AS.
type Network struct {
	Prefix  netip.Prefix `json:"prefix,omitzero"`
	ASN     uint32       `json:"asn,omitempty"`
	ASName  string       `json:"as_name,omitempty"`
	Country string       `json:"country,omitempty"`
	// Addrs are the addresses, sorted.
	Addrs []netip.Addr `json:"addresses"`
}

// Group arranges annotated addresses by (Prefix, ASN) for reports (the
// DNSDumpster view). Groups are sorted by ASN (unknown last), then prefix;
// addresses without any data form one group with a zero Prefix and ASN.
func Group(in []Annotated) []Network {
	type key struct {
		p   netip.Prefix
		asn uint32
	}
	idx := make(map[key]int)
	var out []Network
	for _, x := range in {
		k := key{x.Info.Prefix, x.Info.ASN}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Network{Prefix: k.p, ASN: k.asn, ASName: x.Info.ASName, Country: x.Info.Country})
		}
		n := &out[i]
		if !slices.Contains(n.Addrs, x.Addr) {
			n.Addrs = append(n.Addrs, x.Addr)
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Addrs, netip.Addr.Compare)
	}
	slices.SortFunc(out, func(a, b Network) int {
		if (a.ASN == 0) != (b.ASN == 0) {
			if a.ASN == 0 {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(a.ASN, b.ASN); c != 0 {
			return c
		}
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits())
	})
	return out
}
