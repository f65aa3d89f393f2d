package dnsworld

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Recursor defaults.
const (
	defaultRecursorTimeout = time.Second
	defaultMaxQueries      = 300
	defaultCacheSize       = 100_000
	maxNSDepth             = 6  // nested resolutions of NS names without glue
	maxReferrals           = 32 // referrals followed for one name
	clientDeadline         = 10 * time.Second
)

// Recursor is an in-process iterative resolver usable as a dns.Handler: it
// starts at the root hints and follows referrals (glue, NS names without
// glue, CNAME chains across zones, NXDOMAIN and NODATA with the SOA), with a
// simple TTL-bounded cache. It is meant for loopback test worlds and the
// offline demo: by default it refuses to send a query anywhere but
// 127.0.0.0/8 and ::1. It does not validate DNSSEC; with DO set the
// signatures and proofs the servers returned are passed through.
//
// Set the exported fields before the first query.
type Recursor struct {
	// Timeout bounds one query to one server. Default 1s.
	Timeout time.Duration
	// MaxQueries bounds the upstream queries spent on one client question.
	// Default 300.
	MaxQueries int
	// Allowed lists the prefixes servers may be queried in. Default
	// 127.0.0.0/8 and ::1/128; anything else gets ErrNotAllowed.
	Allowed []netip.Prefix
	// MaxUDPSize caps UDP responses to clients. Default DefaultMaxUDPSize.
	MaxUDPSize int
	// CacheSize bounds the cached answers; when full the cache is emptied.
	// Default 100000; negative disables caching.
	CacheSize int
	// Logger receives one debug line per upstream query. Default nil:
	// discard.
	Logger *slog.Logger

	roots []netip.AddrPort
	port  uint16

	base   context.Context
	cancel context.CancelFunc

	upstream atomic.Int64

	mu    sync.Mutex
	cache map[cacheKey]cacheEntry
	deleg map[string]delegation
}

var _ dns.Handler = (*Recursor)(nil)

// NewRecursor returns a resolver that starts at rootHints and sends every
// other query to port (0 means 53) of the addresses it learns from glue and
// NS lookups.
func NewRecursor(rootHints []netip.AddrPort, port uint16) *Recursor {
	if port == 0 {
		port = 53
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Recursor{
		roots:  append([]netip.AddrPort(nil), rootHints...),
		port:   port,
		base:   ctx,
		cancel: cancel,
		cache:  map[cacheKey]cacheEntry{},
		deleg:  map[string]delegation{},
	}
}

// Close aborts resolutions in flight; later queries get SERVFAIL.
func (r *Recursor) Close() { r.cancel() }

// Upstream returns how many queries the recursor has sent to servers.
func (r *Recursor) Upstream() int64 { return r.upstream.Load() }

// FlushCache forgets every cached answer and delegation.
func (r *Recursor) FlushCache() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache = map[cacheKey]cacheEntry{}
	r.deleg = map[string]delegation{}
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	res     *result
	expires time.Time
}

// delegation is a cached zone cut: the zone's name servers.
type delegation struct {
	servers []nameServer
	expires time.Time
}

type nameServer struct {
	name  string // "" for root hints
	addrs []netip.AddrPort
}

// result is the outcome of resolving one question.
type result struct {
	rcode  int
	answer []dns.RR // CNAME chain and final data, in order
	ns     []dns.RR // SOA and denial records of a negative answer
}

// job carries the budget of one client question.
type job struct {
	queries int
}

func (r *Recursor) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return r.Logger.With("component", "dnstest.recursor")
}

func (r *Recursor) allowed(a netip.Addr) bool {
	a = a.Unmap()
	if len(r.Allowed) == 0 {
		return a.Is4() && netip.MustParsePrefix("127.0.0.0/8").Contains(a) || a == netip.IPv6Loopback()
	}
	for _, p := range r.Allowed {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ServeDNS implements dns.Handler: RD is assumed, RA is set, AD never.
func (r *Recursor) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := r.Answer(req)
	if m == nil {
		return
	}
	if !IsTCP(w) {
		limit := r.MaxUDPSize
		if limit == 0 {
			limit = DefaultMaxUDPSize
		}
		m.Truncate(UDPSize(req, limit))
	}
	_ = w.WriteMsg(m)
}

// Answer returns the response to req without a socket: the recursor's
// resolution of its question (SERVFAIL when it fails). Tests use it as a
// table of requests and responses.
func (r *Recursor) Answer(req *dns.Msg) *dns.Msg {
	if req.Response {
		return nil
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	m.Compress = true
	if req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	if len(req.Question) != 1 {
		m.Question = nil
		m.Rcode = dns.RcodeFormatError
		return m
	}
	do := false
	if opt := req.IsEdns0(); opt != nil {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		o.SetUDPSize(DefaultMaxUDPSize)
		if opt.Do() {
			o.SetDo()
		}
		m.Extra = append(m.Extra, o)
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers
			return m
		}
		do = opt.Do()
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET {
		m.Rcode = dns.RcodeRefused
		return m
	}
	switch q.Qtype {
	case dns.TypeAXFR, dns.TypeIXFR, dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeMAILA, dns.TypeMAILB:
		m.Rcode = dns.RcodeRefused
		return m
	}
	ctx, cancel := context.WithTimeout(r.base, clientDeadline)
	defer cancel()
	res, err := r.Resolve(ctx, q.Name, q.Qtype)
	if err != nil {
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	m.Rcode = res.Rcode
	m.Answer = res.Answer
	m.Ns = res.Ns
	if !do {
		m.Answer = stripDNSSEC(m.Answer, q.Qtype)
		m.Ns = stripDNSSEC(m.Ns, 0)
	}
	return m
}

// stripDNSSEC drops RRSIG, NSEC and NSEC3 records unless asked for.
func stripDNSSEC(rrs []dns.RR, qtype uint16) []dns.RR {
	out := rrs[:0:0]
	for _, rr := range rrs {
		t := rr.Header().Rrtype
		if (t == dns.TypeRRSIG || t == dns.TypeNSEC || t == dns.TypeNSEC3) && t != qtype && qtype != dns.TypeANY {
			continue
		}
		out = append(out, rr)
	}
	return out
}

// Resolve answers one question by iteration from the root hints. The
// returned message carries the rcode, the answer (CNAME chain included) and
// for negative answers the SOA with any NSEC/NSEC3 records; it is a copy
// the caller may keep. An error (wrapping ErrServFail or ErrNotAllowed)
// means no server gave a usable answer.
func (r *Recursor) Resolve(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	qname := CanonName(name)
	if _, ok := dns.IsDomainName(qname); !ok {
		return nil, fmt.Errorf("%w: invalid name %q", ErrServFail, name)
	}
	res, err := r.resolve(ctx, &job{}, qname, qtype, 0)
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response = true
	m.RecursionAvailable = true
	m.Rcode = res.rcode
	m.Answer = copyRRs(res.answer)
	m.Ns = copyRRs(res.ns)
	return m, nil
}

// resolve follows the CNAME chain of qname, one lookup per name.
func (r *Recursor) resolve(ctx context.Context, j *job, qname string, qtype uint16, depth int) (*result, error) {
	var chain []dns.RR
	name := qname
	seen := map[string]bool{}
	for range maxChase {
		if seen[name] {
			return nil, fmt.Errorf("%w: CNAME loop at %s", ErrServFail, name)
		}
		seen[name] = true
		res, err := r.lookup(ctx, j, name, qtype, depth)
		if err != nil {
			return nil, err
		}
		chain = append(chain, res.answer...)
		if res.rcode != dns.RcodeSuccess {
			return &result{rcode: res.rcode, answer: chain, ns: res.ns}, nil
		}
		target, complete := followChain(res.answer, name, qtype)
		if complete || qtype == dns.TypeCNAME || target == name {
			return &result{rcode: dns.RcodeSuccess, answer: chain, ns: res.ns}, nil
		}
		for _, n := range chainNames(res.answer, name) {
			seen[n] = true
		}
		if seen[target] {
			return nil, fmt.Errorf("%w: CNAME loop at %s", ErrServFail, target)
		}
		name = target
	}
	return nil, fmt.Errorf("%w: CNAME chain from %s longer than %d", ErrServFail, qname, maxChase)
}

// followChain walks the CNAMEs in answer from name; it returns the last
// name reached and whether data of qtype is present there.
func followChain(answer []dns.RR, name string, qtype uint16) (string, bool) {
	cur := name
	for range len(answer) + 1 {
		next := ""
		for _, rr := range answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, cur) {
				continue
			}
			if h.Rrtype == qtype || qtype == dns.TypeANY && h.Rrtype != dns.TypeRRSIG {
				return cur, true
			}
			if c, ok := rr.(*dns.CNAME); ok {
				next = CanonName(c.Target)
			}
		}
		if next == "" || next == cur {
			return cur, false
		}
		cur = next
	}
	return cur, false
}

// chainNames lists the owners of the CNAME chain in answer from name, name
// excluded.
func chainNames(answer []dns.RR, name string) []string {
	var out []string
	cur := name
	for range len(answer) {
		next := ""
		for _, rr := range answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, cur) {
				next = CanonName(c.Target)
			}
		}
		if next == "" {
			break
		}
		out = append(out, cur)
		cur = next
	}
	return out
}

// lookup answers one name from the cache or by iteration.
func (r *Recursor) lookup(ctx context.Context, j *job, name string, qtype uint16, depth int) (*result, error) {
	key := cacheKey{name, qtype}
	now := time.Now()
	r.mu.Lock()
	e, ok := r.cache[key]
	r.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.res, nil
	}
	res, err := r.iterate(ctx, j, name, qtype, depth)
	if err != nil {
		return nil, err
	}
	if ttl := resultTTL(res); ttl > 0 && r.CacheSize >= 0 {
		r.mu.Lock()
		limit := r.CacheSize
		if limit == 0 {
			limit = defaultCacheSize
		}
		if len(r.cache) >= limit {
			r.cache = map[cacheKey]cacheEntry{}
		}
		r.cache[key] = cacheEntry{res: res, expires: now.Add(time.Duration(ttl) * time.Second)}
		r.mu.Unlock()
	}
	return res, nil
}

// resultTTL is the smallest TTL of a positive answer, or the negative TTL
// of a negative one (RFC 2308), 0 when nothing may be cached.
func resultTTL(res *result) uint32 {
	var ttl uint32
	first := true
	take := func(t uint32) {
		if first || t < ttl {
			ttl, first = t, false
		}
	}
	if len(res.answer) > 0 && res.rcode == dns.RcodeSuccess {
		for _, rr := range res.answer {
			take(rr.Header().Ttl)
		}
		return ttl
	}
	for _, rr := range res.ns {
		if soa, ok := rr.(*dns.SOA); ok {
			take(min(soa.Hdr.Ttl, soa.Minttl))
		}
	}
	return ttl
}

// closest returns the deepest cached delegation at or above name (for DS,
// strictly above), or the root hints.
func (r *Recursor) closest(name string, qtype uint16) (string, []nameServer) {
	now := time.Now()
	n := name
	if qtype == dns.TypeDS && n != "." {
		n = ParentOf(n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if d, ok := r.deleg[n]; ok && now.Before(d.expires) {
			return n, cloneServers(d.servers)
		}
		if n == "." {
			break
		}
		n = ParentOf(n)
	}
	return ".", []nameServer{{addrs: append([]netip.AddrPort(nil), r.roots...)}}
}

func cloneServers(in []nameServer) []nameServer {
	out := make([]nameServer, len(in))
	for i, s := range in {
		out[i] = nameServer{name: s.name, addrs: append([]netip.AddrPort(nil), s.addrs...)}
	}
	return out
}

type respKind int

const (
	respLame respKind = iota
	respAnswer
	respNXDomain
	respNoData
	respReferral
)

// iterate asks the servers of the closest known zone and follows referrals
// down to an answer.
func (r *Recursor) iterate(ctx context.Context, j *job, name string, qtype uint16, depth int) (*result, error) {
	zone, servers := r.closest(name, qtype)
	for range maxReferrals {
		kind, resp, child, err := r.askZone(ctx, j, zone, servers, name, qtype, depth)
		if err != nil {
			return nil, err
		}
		switch kind {
		case respAnswer:
			return &result{rcode: dns.RcodeSuccess, answer: inZone(resp.Answer, zone)}, nil
		case respNXDomain:
			// An alias whose in-zone target does not exist: NXDOMAIN with
			// the CNAME in the answer (RFC 6604), which is kept.
			return &result{rcode: dns.RcodeNameError, answer: inZone(resp.Answer, zone), ns: inZone(resp.Ns, zone)}, nil
		case respNoData:
			return &result{rcode: dns.RcodeSuccess, ns: inZone(resp.Ns, zone)}, nil
		case respReferral:
			servers = referralServers(resp, zone, child, r.port)
			var ttl uint32 = 3600
			for _, rr := range resp.Ns {
				if rr.Header().Rrtype == dns.TypeNS {
					ttl = min(ttl, rr.Header().Ttl)
				}
			}
			if ttl > 0 && r.CacheSize >= 0 {
				r.mu.Lock()
				r.deleg[child] = delegation{servers: cloneServers(servers), expires: time.Now().Add(time.Duration(ttl) * time.Second)}
				r.mu.Unlock()
			}
			zone = child
		}
	}
	return nil, fmt.Errorf("%w: more than %d referrals for %s", ErrServFail, maxReferrals, name)
}

// inZone keeps the records owned by names at or below zone (bailiwick).
func inZone(rrs []dns.RR, zone string) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if IsSub(zone, CanonName(rr.Header().Name)) {
			out = append(out, rr)
		}
	}
	return out
}

// referralServers builds the server list of child from a referral: NS
// names with the glue that zone may vouch for.
func referralServers(resp *dns.Msg, zone, child string, port uint16) []nameServer {
	var servers []nameServer
	idx := map[string]int{}
	for _, rr := range resp.Ns {
		ns, ok := rr.(*dns.NS)
		if !ok || CanonName(ns.Hdr.Name) != child {
			continue
		}
		target := CanonName(ns.Ns)
		if _, dup := idx[target]; dup {
			continue
		}
		idx[target] = len(servers)
		servers = append(servers, nameServer{name: target})
	}
	for _, rr := range resp.Extra {
		var a netip.Addr
		switch v := rr.(type) {
		case *dns.A:
			a, _ = netip.AddrFromSlice(v.A.To4())
		case *dns.AAAA:
			a, _ = netip.AddrFromSlice(v.AAAA)
		default:
			continue
		}
		owner := CanonName(rr.Header().Name)
		i, ok := idx[owner]
		if !ok || !a.IsValid() || !IsSub(zone, owner) {
			continue
		}
		servers[i].addrs = append(servers[i].addrs, netip.AddrPortFrom(a.Unmap(), port))
	}
	return servers
}

// classify decides what a response from a server of zone means for name.
func classify(resp *dns.Msg, zone, name string, qtype uint16) (respKind, string) {
	switch resp.Rcode {
	case dns.RcodeNameError:
		return respNXDomain, ""
	case dns.RcodeSuccess:
	default:
		return respLame, ""
	}
	for _, rr := range resp.Answer {
		h := rr.Header()
		if !strings.EqualFold(h.Name, name) || !IsSub(zone, CanonName(h.Name)) {
			continue
		}
		if h.Rrtype == qtype || h.Rrtype == dns.TypeCNAME || qtype == dns.TypeANY {
			return respAnswer, ""
		}
	}
	if len(resp.Answer) > 0 && !resp.Authoritative {
		return respLame, ""
	}
	for _, rr := range resp.Ns {
		if rr.Header().Rrtype != dns.TypeNS {
			continue
		}
		child := CanonName(rr.Header().Name)
		if child != zone && IsSub(zone, child) && IsSub(child, name) {
			if len(resp.Answer) == 0 {
				return respReferral, child
			}
		}
	}
	for _, rr := range resp.Ns {
		if rr.Header().Rrtype == dns.TypeSOA && IsSub(zone, CanonName(rr.Header().Name)) {
			return respNoData, ""
		}
	}
	if resp.Authoritative && len(resp.Answer) == 0 {
		return respNoData, ""
	}
	return respLame, ""
}

// askZone queries the servers of zone until one gives a usable response:
// first the addresses already known, then those of NS names resolved on
// the way.
func (r *Recursor) askZone(ctx context.Context, j *job, zone string, servers []nameServer, name string, qtype uint16, depth int) (respKind, *dns.Msg, string, error) {
	tried := map[netip.AddrPort]bool{}
	var lastErr error
	for pass := range 2 {
		for i := range servers {
			s := &servers[i]
			if pass == 1 {
				if len(s.addrs) > 0 || s.name == "" || depth >= maxNSDepth || IsSub(zone, s.name) {
					continue // known already, or unresolvable without glue
				}
				res, err := r.resolve(ctx, j, s.name, dns.TypeA, depth+1)
				if err != nil {
					lastErr = err
					continue
				}
				for _, rr := range res.answer {
					if a, ok := rr.(*dns.A); ok && strings.EqualFold(a.Hdr.Name, finalName(res.answer, s.name)) {
						if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
							s.addrs = append(s.addrs, netip.AddrPortFrom(ip, r.port))
						}
					}
				}
			}
			for _, a := range s.addrs {
				if tried[a] {
					continue
				}
				tried[a] = true
				resp, err := r.exchange(ctx, j, a, name, qtype)
				if err != nil {
					lastErr = err
					if errors.Is(err, ErrBudget) || ctx.Err() != nil {
						return 0, nil, "", err
					}
					continue
				}
				kind, child := classify(resp, zone, name, qtype)
				if kind == respLame {
					lastErr = fmt.Errorf("%w: lame answer from %s for %s (zone %s, rcode %s)", ErrServFail, a, name, zone, dns.RcodeToString[resp.Rcode])
					continue
				}
				return kind, resp, child, nil
			}
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: no usable server for zone %s", ErrServFail, zone)
	}
	return 0, nil, "", fmt.Errorf("%w: %s %s: %w", ErrServFail, name, dns.TypeToString[qtype], lastErr)
}

// finalName is the last name of the CNAME chain from name in answer.
func finalName(answer []dns.RR, name string) string {
	n, _ := followChain(answer, name, dns.TypeA)
	return n
}

// ErrBudget: a resolution used up Recursor.MaxQueries.
var ErrBudget = fmt.Errorf("%w: query budget exhausted", ErrServFail)

// exchange sends one non-recursive query with EDNS and DO, over TCP when the
// UDP answer is truncated, and checks that the response matches.
func (r *Recursor) exchange(ctx context.Context, j *job, addr netip.AddrPort, name string, qtype uint16) (*dns.Msg, error) {
	if !r.allowed(addr.Addr()) {
		return nil, fmt.Errorf("%w: %s", ErrNotAllowed, addr)
	}
	limit := r.MaxQueries
	if limit == 0 {
		limit = defaultMaxQueries
	}
	if j.queries >= limit {
		return nil, ErrBudget
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = defaultRecursorTimeout
	}
	edns := true
	for attempt := 0; attempt < 3; attempt++ {
		j.queries++
		r.upstream.Add(1)
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.RecursionDesired = false
		if edns {
			m.SetEdns0(DefaultMaxUDPSize, true)
		}
		c := &dns.Client{Net: "udp", Timeout: timeout, UDPSize: DefaultMaxUDPSize}
		resp, _, err := c.ExchangeContext(ctx, m, addr.String())
		if err == nil && resp.Truncated {
			c.Net = "tcp"
			resp, _, err = c.ExchangeContext(ctx, m, addr.String())
		}
		r.logger().Debug("query", "server", addr, "name", name, "type", dns.TypeToString[qtype], "err", err)
		if err != nil {
			return nil, err
		}
		if len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, name) ||
			resp.Question[0].Qtype != qtype || resp.Question[0].Qclass != dns.ClassINET {
			return nil, fmt.Errorf("%w: %s answered another question", ErrServFail, addr)
		}
		if edns && (resp.Rcode == dns.RcodeFormatError || resp.Rcode == dns.RcodeNotImplemented) && resp.IsEdns0() == nil {
			edns = false // a server without EDNS: ask again plainly
			continue
		}
		return resp, nil
	}
	return nil, fmt.Errorf("%w: %s: no usable response", ErrServFail, addr)
}
