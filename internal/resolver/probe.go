package resolver

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Probe checks every healthy pool server before a run: that it answers at
// all, that it does not refuse recursion, and that it does not lie —
// answering random names that cannot exist (NXDOMAIN hijacking). Two
// random labels are asked under each of zones (parent zones under which
// such labels cannot exist; recon passes the targets' public suffixes) and
// under "invalid" (RFC 6761), which is always added.
//
// A server that answers under "invalid", or under a zone for which another
// server says NXDOMAIN, is lying. A zone for which every responding server
// answers has a wildcard (or every server lies) and is ignored, logged.
// Bad servers are dropped with their reason (Servers reports it), even the
// last one. When none is left, Probe returns ErrNoServers wrapped with
// each server and why. After a first Probe, servers are re-checked every
// Options.RecheckInterval with one random name under the clean zones.
func (r *Resolver) Probe(ctx context.Context, zones []string) error {
	if r.isClosed.Load() {
		return ErrClosed
	}
	zs, err := probeZones(zones)
	if err != nil {
		return err
	}
	hs := r.healthy.Load()
	if hs == nil || len(*hs) == 0 {
		return fmt.Errorf("%w: pool is empty or every server was already dropped", ErrNoServers)
	}
	servers := *hs

	results := make([]probeResult, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { results[i] = r.probeServer(ctx, s, zs) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.isClosed.Load() {
		return ErrClosed
	}

	clean := r.cleanZones(zs, results)
	for i, s := range servers {
		if reason := results[i].verdict(zs, clean); reason != "" {
			r.markUnhealthy(s, reason, false)
		}
	}

	r.mu.Lock()
	r.zones = clean
	start := !r.recheck && r.opts.RecheckInterval > 0 && len(clean) > 0
	r.recheck = r.recheck || start
	r.mu.Unlock()
	if start {
		r.goroutine(r.recheckLoop)
	}

	if hs := r.healthy.Load(); hs == nil || len(*hs) == 0 {
		var why []string
		for _, st := range r.Servers() {
			why = append(why, st.Address.String()+": "+st.Reason)
		}
		return fmt.Errorf("%w: %s", ErrNoServers, strings.Join(why, "; "))
	}
	return nil
}

// probeZones returns "invalid." and then each of zones once, fully
// qualified and lower case; a zone no name can be made under is an error.
func probeZones(zones []string) ([]string, error) {
	zs := []string{"invalid."}
	for _, z := range zones {
		z = strings.ToLower(dns.Fqdn(strings.TrimSpace(z)))
		if !slices.Contains(zs, z) {
			zs = append(zs, z)
		}
	}
	for _, z := range zs {
		if _, err := newQuestion(under(z), dns.TypeA, dns.ClassINET); err != nil {
			return nil, fmt.Errorf("resolver: probe zone %q: %w", z, err)
		}
	}
	return zs, nil
}

// cleanZones returns the zones that judge resolvers: those for which some
// server said NXDOMAIN, leaving out (and logging) those every responding
// server answered, which have a wildcard or only liars to ask.
func (r *Resolver) cleanZones(zs []string, results []probeResult) []string {
	var clean []string
	for _, z := range zs {
		nx, answered, responded := false, 0, 0
		for _, res := range results {
			if res.responded == 0 {
				continue
			}
			responded++
			if res.nx[z] {
				nx = true
			}
			if res.answered[z] != "" {
				answered++
			}
		}
		if z != "invalid." && responded > 0 && answered == responded {
			r.log.Warn("probe zone has a wildcard (or every resolver lies); not used to judge resolvers", "zone", z)
			continue
		}
		if nx {
			clean = append(clean, z)
		}
	}
	return clean
}

// verdict returns why the server that gave res is dropped, or "" when it
// stays: unreachable, refusing recursion, or answering under "invalid." or
// a clean zone.
func (res *probeResult) verdict(zs, clean []string) string {
	switch {
	case res.responded == 0:
		return "unreachable: " + res.err
	case res.refused == res.responded:
		return "refuses recursive queries"
	}
	for _, z := range zs {
		if res.answered[z] != "" && (z == "invalid." || slices.Contains(clean, z)) {
			return "lies: " + res.answered[z]
		}
	}
	return ""
}

type probeResult struct {
	responded, refused int
	nx                 map[string]bool
	answered           map[string]string // zone -> "name answered with data"
	err                string
}

// probeServer asks one server two random names under each zone. The first
// query doubles as the reachability check, so an unreachable server costs
// one query's retries, not all of them.
func (r *Resolver) probeServer(ctx context.Context, s *server, zones []string) probeResult {
	res := probeResult{nx: map[string]bool{}, answered: map[string]string{}}
	var mu sync.Mutex
	ask := func(z string) {
		name := under(z)
		resp, err := r.Direct(ctx, s.addr, Query{Name: name, Type: dns.TypeA, RD: true})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.err = err.Error()
			return
		}
		res.responded++
		switch resp.Msg.Rcode {
		case dns.RcodeNameError:
			res.nx[z] = true
		case dns.RcodeRefused:
			res.refused++
		case dns.RcodeSuccess:
			if a := lie(resp.Msg); a != "" {
				res.answered[z] = strings.TrimSuffix(name, ".") + " answered with " + a
			}
		}
	}
	ask(zones[0])
	if res.responded == 0 {
		return res
	}
	var wg sync.WaitGroup
	for i, z := range zones {
		for j := range 2 {
			if i == 0 && j == 0 {
				continue
			}
			wg.Go(func() { ask(z) })
		}
	}
	wg.Wait()
	return res
}

// lie returns the first address or alias in an answer, or "".
func lie(m *dns.Msg) string {
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *dns.A:
			return v.A.String()
		case *dns.AAAA:
			return v.AAAA.String()
		case *dns.CNAME:
			return "CNAME " + v.Target
		case *dns.DNAME:
			return "DNAME " + v.Target
		}
	}
	return ""
}

// under returns a random name directly below zone (a fully qualified
// name, possibly the root).
func under(zone string) string {
	if zone == "." {
		return randomLabel() + "."
	}
	return randomLabel() + "." + zone
}

// randomLabel returns 16 random letters and digits: ~82 bits, so the name
// cannot exist by accident and cannot be guessed in advance.
func randomLabel() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [16]byte
	for i := range b {
		b[i] = alphabet[rand.N(len(alphabet))]
	}
	return string(b[:])
}

// recheckLoop asks every healthy pool server one random name under a
// clean zone every RecheckInterval and drops those that answer.
func (r *Resolver) recheckLoop() {
	t := time.NewTicker(r.opts.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		zones := r.zones
		r.mu.Unlock()
		hs := r.healthy.Load()
		if hs == nil || len(zones) == 0 {
			continue
		}
		for _, s := range *hs {
			name := under(zones[rand.N(len(zones))])
			resp, err := r.Direct(r.ctx, s.addr, Query{Name: name, Type: dns.TypeA, RD: true})
			if err != nil {
				continue
			}
			if resp.Msg.Rcode == dns.RcodeSuccess {
				if a := lie(resp.Msg); a != "" {
					r.markUnhealthy(s, "lies: "+strings.TrimSuffix(name, ".")+" answered with "+a, false)
				}
			}
		}
	}
}

// NSID returns the NSID option (RFC 5001) of m as text: the bytes
// themselves when all are printable ASCII, else lower-case hex. Empty when
// m carries no NSID.
func NSID(m *dns.Msg) string {
	if m == nil {
		return ""
	}
	opt := m.IsEdns0()
	if opt == nil {
		return ""
	}
	for _, o := range opt.Option {
		n, ok := o.(*dns.EDNS0_NSID)
		if !ok {
			continue
		}
		b, err := hex.DecodeString(n.Nsid)
		if err != nil {
			return n.Nsid
		}
		for _, c := range b {
			if c < 0x20 || c > 0x7e {
				return hex.EncodeToString(b)
			}
		}
		return string(b)
	}
	return ""
}
