package recon

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// wildcardProbes is the number of random labels asked at each level.
const wildcardProbes = 3

// maxReprobes bounds the extra probes spent at one level on a wildcard
// whose answers vary from query to query.
const maxReprobes = 6

// wildcardLevel is what names directly below parent answer when they do
// not exist: the wildcard's signature at that level.
type wildcardLevel struct {
	parent string
	// exists is true when random names below parent do not get NXDOMAIN.
	exists bool
	// dname is true when a DNAME above rewrites the names below parent:
	// they mirror another zone and are no discoveries of this one.
	dname bool
	// answers is the union, per query type, of the answer signatures seen
	// for random names (see signature).
	answers map[uint16]map[string]bool
	// varying is set once re-probes keep producing answers never seen
	// before: the wildcard hands out changing data (a load balancer pool),
	// so answers are compared by shape (types and CNAME targets) only.
	varying  bool
	reprobes int
	// probed holds, per type asked at this level after the first probe,
	// a channel closed when that probe's answer is in answers.
	probed    map[uint16]chan struct{}
	mu        sync.Mutex
	reprobeMu sync.Mutex
}

type wildcardCall struct {
	done  chan struct{}
	level *wildcardLevel
}

// wildcardAt returns the wildcard signature of the level below parent,
// probing it once (concurrent callers wait for the first probe).
func (s *scope) wildcardAt(ctx context.Context, parent string) *wildcardLevel {
	s.wcMu.Lock()
	if c, ok := s.wcCalls[parent]; ok {
		s.wcMu.Unlock()
		<-c.done
		return c.level
	}
	c := &wildcardCall{done: make(chan struct{})}
	s.wcCalls[parent] = c
	s.wcMu.Unlock()

	c.level = s.probeLevel(ctx, parent)
	close(c.done)
	return c.level
}

// probeLevel asks random names below parent for A and AAAA and records the
// wildcard it finds.
func (s *scope) probeLevel(ctx context.Context, parent string) *wildcardLevel {
	w := &wildcardLevel{parent: parent, answers: map[uint16]map[string]bool{}}
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeMX}
	type probe struct {
		name  string
		qtype uint16
	}
	var probes []probe
	for range wildcardProbes {
		label := randomLabel() + "." + parent
		for _, t := range types {
			probes = append(probes, probe{label, t})
		}
	}
	msgs := make([]*dns.Msg, len(probes))
	parallel(ctx, len(probes), len(probes), func(i int) {
		if m, err := s.query(ctx, probes[i].name, probes[i].qtype); err == nil {
			msgs[i] = m
		}
	})
	for i, m := range msgs {
		// A wildcard CNAME whose target is gone answers NXDOMAIN with the
		// CNAME: the random name exists all the same.
		if m == nil {
			continue
		}
		v := judge(probes[i].name, probes[i].qtype, m)
		if v.dname {
			w.exists, w.dname = true, true
			continue
		}
		if !v.exists {
			continue
		}
		w.exists = true
		w.add(probes[i].qtype, signature(probes[i].name, m))
		s.recordWildcard(parent, probes[i].name, m)
	}
	if w.dname {
		s.log.Debug("names below are rewritten by a DNAME", "level", parent)
	} else if w.exists {
		s.log.Debug("wildcard", "level", "*."+parent)
	}
	return w
}

func (w *wildcardLevel) add(qtype uint16, sig []string) {
	set := w.answers[qtype]
	if set == nil {
		set = map[string]bool{}
		w.answers[qtype] = set
	}
	if len(sig) == 0 {
		set[""] = true // NODATA
	}
	for _, s := range sig {
		set[s] = true
	}
}

// explains reports whether the answer signature sig for qtype is one the
// wildcard gives. known is false when the level never answered qtype.
func (w *wildcardLevel) explains(qtype uint16, sig []string) (explained, known bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	set, ok := w.answers[qtype]
	if !ok {
		return false, false
	}
	if len(sig) == 0 {
		return set[""], true
	}
	for _, s := range sig {
		if w.varying {
			s = shape(s)
			if !slices.ContainsFunc(mapKeys(set), func(k string) bool { return shape(k) == s }) {
				return false, true
			}
			continue
		}
		if !set[s] {
			return false, true
		}
	}
	return true, true
}

// signature describes an answer independently of the query name: one
// "TYPE data" string per record of name's chain (RRSIGs left out). Records
// owned by other names of the chain are included, since a wildcard CNAME
// leads there; records about names off the chain are not (a server that
// pads its answers must not make every answer look unique).
func signature(name string, m *dns.Msg) []string {
	v := walkChain(name, 0, m)
	var sig []string
	for _, x := range m.Answer {
		switch x.Header().Rrtype {
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
			continue
		}
		if !v.onChain(x) {
			continue
		}
		sig = append(sig, rr.Type(x)+" "+rr.Data(x))
	}
	sort.Strings(sig)
	return slices.Compact(sig)
}

// shape keeps the type of an A/AAAA signature entry and the whole of any
// other, so that pools of changing addresses compare equal.
func shape(sig string) string {
	if strings.HasPrefix(sig, "A ") || strings.HasPrefix(sig, "AAAA ") {
		t, _, _ := strings.Cut(sig, " ")
		return t
	}
	return sig
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// wildcardEcho reports whether the response m to "name qtype" is only a
// wildcard's answer: the level below name's parent has a wildcard and m
// says nothing the wildcard does not say. A name whose own records differ
// from the wildcard's (or that has none of a type the wildcard has) is
// real.
func (s *scope) wildcardEcho(ctx context.Context, name string, qtype uint16, m *dns.Msg) bool {
	parent := dnsname.Parent(name)
	w := s.wildcardAt(ctx, parent)
	if !w.exists {
		return false
	}
	if w.dname {
		return true
	}
	// A signed answer tells directly: an RRSIG whose label count is
	// smaller than the owner's was made for a wildcard expansion (RFC 4035
	// section 5.3.4).
	if expanded, known := rrsigWildcard(name, m); known {
		return expanded
	}
	sig := signature(name, m)
	explained, known := w.explains(qtype, sig)
	if !known {
		// The level was not probed for this type (SRV, TXT policy
		// names, PTR): ask a random name for it now.
		s.probeType(ctx, w, qtype)
		if explained, known = w.explains(qtype, sig); !known {
			return false
		}
	}
	if explained {
		// In a signed zone, ask again with DNSSEC OK: the signatures tell
		// a real name holding the wildcard's data from an expansion. Only
		// the names a wildcard explains pay for the bigger answer.
		if !hasRRSIG(m) && s.ledger.signedZone(name) {
			if signed, err := s.queryDO(ctx, name, qtype); err == nil && signed.Rcode == dns.RcodeSuccess {
				if expanded, known := rrsigWildcard(name, signed); known {
					return expanded
				}
			}
		}
		if len(sig) == 0 {
			return s.nodataEcho(ctx, name, qtype, w)
		}
		return !s.stableUnderVarying(ctx, name, qtype, sig, w)
	}
	if qtype != dns.TypeA {
		return false
	}
	// Not explained: either a real name or a wildcard whose answers vary.
	// Probe the level again; if a fresh random name also answers with
	// something new, the wildcard varies and we compare shapes.
	varying, settled := s.reprobe(ctx, w)
	if !settled {
		// No fresh random name could be asked (timeouts, a failing
		// resolver): under a wildcard, an answer that cannot be told from
		// an echo is not reported (no false discovery).
		return true
	}
	if varying {
		explained, _ = w.explains(dns.TypeA, sig)
		return explained && !s.stableUnderVarying(ctx, name, qtype, sig, w)
	}
	return false
}

// stableUnderVarying settles a name whose addresses a varying wildcard
// explains only by their shape: it asks the zone's authoritative servers
// directly, twice (a resolver's cache would repeat an echo). A name whose
// own records answer the same every time is real; a wildcard that hands
// out changing addresses answers differently. Without known servers, or
// when the wildcard explains the exact answer, it reports false (an echo:
// no false discovery).
func (s *scope) stableUnderVarying(ctx context.Context, name string, qtype uint16, sig []string, w *wildcardLevel) bool {
	w.mu.Lock()
	varying := w.varying
	exact := true
	for _, s := range sig {
		if !w.answers[qtype][s] {
			exact = false
		}
	}
	w.mu.Unlock()
	if !varying || exact || (qtype != dns.TypeA && qtype != dns.TypeAAAA) {
		return false
	}
	servers := s.ledger.authFor(name)
	if len(servers) == 0 {
		return false
	}
	for range 2 {
		resp, _ := s.askAuth(ctx, servers, resolver.Query{Name: name, Type: qtype})
		if resp == nil || !slices.Equal(signature(name, resp.Msg), sig) {
			return false
		}
	}
	return true
}

// probeType asks a random name at level w for qtype, once per level and
// type, and adds what the wildcard answers (NXDOMAIN leaves the type
// unknown: the level's wildcard does not answer it). Concurrent callers
// wait for the one probe: a name judged before its answer is in would be
// taken for real.
func (s *scope) probeType(ctx context.Context, w *wildcardLevel, qtype uint16) {
	w.mu.Lock()
	if w.probed == nil {
		w.probed = map[uint16]chan struct{}{}
	}
	if done, ok := w.probed[qtype]; ok {
		w.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
		}
		return
	}
	done := make(chan struct{})
	w.probed[qtype] = done
	w.mu.Unlock()
	defer close(done)
	name := randomLabel() + "." + w.parent
	m, err := s.query(ctx, name, qtype)
	if err != nil || !judge(name, qtype, m).exists {
		return
	}
	w.mu.Lock()
	w.add(qtype, signature(name, m))
	w.mu.Unlock()
}

// nodataEcho settles a name that has no records of the asked type under a
// wildcard that has none either: it is an echo when its answers for the
// types the wildcard does have match the wildcard's.
func (s *scope) nodataEcho(ctx context.Context, name string, asked uint16, w *wildcardLevel) bool {
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeMX} {
		if t == asked {
			continue
		}
		w.mu.Lock()
		set := w.answers[t]
		hasData := len(set) > 0 && !(len(set) == 1 && set[""])
		w.mu.Unlock()
		if !hasData {
			continue
		}
		m, err := s.query(ctx, name, t)
		if err != nil || !judge(name, t, m).exists {
			return true
		}
		explained, _ := w.explains(t, signature(name, m))
		return explained
	}
	// The wildcard answers nothing we can compare: an existing name and a
	// wildcard echo look alike. Count it as an echo (no false discovery).
	return true
}

// reprobeAttempts is how many random names reprobe asks, one after the
// other, when the previous ones got no answer or one the level had given
// before.
const reprobeAttempts = 3

// reprobe asks more random names at level w. varying is true when the
// level turned out to vary (a random name got an answer the level had
// never given); settled is false when no random name could be asked (each
// query failed), so nothing is known. A wildcard handing out random
// addresses from a small pool repeats one now and then: one answer seen
// before does not show that the level is fixed, so up to reprobeAttempts
// names are asked before it is taken for fixed.
func (s *scope) reprobe(ctx context.Context, w *wildcardLevel) (varying, settled bool) {
	// One re-probe at a time: names asked concurrently must not use up
	// the budget before the first re-probe has told whether the level
	// varies.
	w.reprobeMu.Lock()
	defer w.reprobeMu.Unlock()
	w.mu.Lock()
	if w.varying {
		w.mu.Unlock()
		return true, true
	}
	if w.reprobes >= maxReprobes {
		w.mu.Unlock()
		return false, true
	}
	w.reprobes++
	w.mu.Unlock()
	for range reprobeAttempts {
		name := randomLabel() + "." + w.parent
		m, err := s.query(ctx, name, dns.TypeA)
		if err != nil {
			if ctx.Err() != nil {
				return false, false
			}
			continue
		}
		if !judge(name, dns.TypeA, m).exists {
			return false, true
		}
		settled = true
		if w.addVarying(signature(name, m)) {
			return true, true
		}
	}
	return false, settled
}

// addVarying adds an A answer of a random name to level w and reports
// whether it makes the level varying (an answer it does not explain).
func (w *wildcardLevel) addVarying(sig []string) bool {
	explained, _ := w.explains(dns.TypeA, sig)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !explained {
		w.varying = true
	}
	w.add(dns.TypeA, sig)
	return w.varying
}

// hasRRSIG reports whether m's answer carries signatures.
func hasRRSIG(m *dns.Msg) bool {
	for _, x := range m.Answer {
		if x.Header().Rrtype == dns.TypeRRSIG {
			return true
		}
	}
	return false
}

// rrsigWildcard inspects the RRSIGs over name's own records in m. known is
// false when m carries none.
func rrsigWildcard(name string, m *dns.Msg) (expanded, known bool) {
	labels := uint8(dnsname.CountLabels(name))
	for _, x := range m.Answer {
		sig, ok := x.(*dns.RRSIG)
		if !ok || rr.Owner(x) != name {
			continue
		}
		return sig.Labels < labels, true
	}
	return false, false
}

// recordWildcard notes the wildcard that answered a probe below parent,
// when parent is a name we know (otherwise the wildcard sits higher up and
// its own level records it).
func (s *scope) recordWildcard(parent, probe string, m *dns.Msg) {
	if !s.ledger.hasName(parent) {
		return
	}
	owner := "*." + parent
	for _, x := range m.Answer {
		if rr.Owner(x) != probe {
			continue
		}
		switch x.Header().Rrtype {
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
			continue
		}
		s.ledger.addWildcardData(owner, rr.Type(x), rr.Data(x))
	}
}

// addWildcardTypes notes a wildcard owner that a denial chain revealed; its
// records are fetched like any name's.
func (s *scope) addWildcardTypes(owner string, types []string) {
	if !s.inScope(dnsname.Parent(owner)) {
		return
	}
	s.ledger.queue(owner)
	s.log.Debug("wildcard from denial chain", "owner", owner, "types", types)
}
