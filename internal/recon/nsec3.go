package recon

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// nsec3Chain is the part of a zone's NSEC3 chain collected so far. It is
// built for chains of millions of hashes: adding a link costs O(1) (new
// owners are merged into the sorted list once per batch of queries), and
// whether the chain is closed is kept up to date rather than recomputed.
type nsec3Chain struct {
	zone       string
	alg        uint8
	iterations uint16
	salt       string // hex, "" for none
	optOut     bool
	links      map[string]*nsec3Link // owner hash (upper-case base32hex) -> link
	stopped    string                // why collection ended before the chain closed
	owners     []string              // sorted keys of links, as of the last merge
	fresh      []string              // owners added since the last merge
	// wanted counts, per hash that links name as their successor but that
	// is not held yet, the links waiting for it; missing is their total.
	wanted  map[string]int
	missing int
}

type nsec3Link struct {
	next  string
	types []uint16
}

// add keeps an NSEC3 record of the chain and reports whether it was new.
// Call merge before covered or reading owners.
func (c *nsec3Chain) add(x *dns.NSEC3) bool {
	if c.links == nil {
		c.links = map[string]*nsec3Link{}
		c.wanted = map[string]int{}
		c.alg, c.iterations, c.salt = x.Hash, x.Iterations, strings.ToLower(x.Salt)
		if c.salt == "-" {
			c.salt = ""
		}
	}
	if x.Flags&1 == 1 {
		c.optOut = true
	}
	owner := strings.ToUpper(dnsname.FirstLabel(dnsname.FromWire(x.Hdr.Name)))
	if _, ok := c.links[owner]; ok {
		return false
	}
	next := strings.ToUpper(x.NextDomain)
	c.links[owner] = &nsec3Link{next: next, types: x.TypeBitMap}
	c.fresh = append(c.fresh, owner)
	if n := c.wanted[owner]; n > 0 {
		c.missing -= n
		delete(c.wanted, owner)
	}
	if _, ok := c.links[next]; !ok {
		c.missing++
		c.wanted[next]++
	}
	return true
}

// merge sorts the owners added since the last merge into owners.
func (c *nsec3Chain) merge() {
	if len(c.fresh) == 0 {
		return
	}
	sort.Strings(c.fresh)
	out := make([]string, 0, len(c.owners)+len(c.fresh))
	i, j := 0, 0
	for i < len(c.owners) || j < len(c.fresh) {
		if j == len(c.fresh) || i < len(c.owners) && c.owners[i] < c.fresh[j] {
			out = append(out, c.owners[i])
			i++
		} else {
			out = append(out, c.fresh[j])
			j++
		}
	}
	c.owners, c.fresh = out, c.fresh[:0]
}

// covered reports whether hash is an owner of the chain or falls inside a
// span [owner, next) we already hold (as of the last merge).
func (c *nsec3Chain) covered(hash string) bool {
	n := len(c.owners)
	if n == 0 {
		return false
	}
	i := sort.SearchStrings(c.owners, hash)
	if i < n && c.owners[i] == hash {
		return true
	}
	// The predecessor owner, wrapping to the last one.
	p := c.owners[(i-1+n)%n]
	next := c.links[p].next
	if p < next {
		return hash > p && hash < next
	}
	return hash > p || hash < next
}

// complete reports whether every link's successor is also held: the chain
// closes on itself.
func (c *nsec3Chain) complete() bool {
	return len(c.links) > 0 && c.missing == 0
}

// hash computes the NSEC3 hash of a canonical name with the chain's
// parameters.
func (c *nsec3Chain) hash(name string) string {
	return dns.HashName(dns.Fqdn(name), c.alg, c.iterations, c.salt)
}

// collectNSEC3 gathers the whole NSEC3 chain of zone z by asking for
// names whose hashes fall into spans not yet seen, within the zone's query
// budget (Options.NSEC3MaxQueries) and ctx (the zone's time budget), then
// cracks the hashes offline against the word list and every name already
// known.
func (t *dnssecChains) collectNSEC3(ctx context.Context, s *scope, z *Zone, servers []netip.AddrPort) {
	chain := &nsec3Chain{zone: z.Name}
	var mu sync.Mutex
	ask := func(name string) int {
		for _, srv := range servers {
			resp, err := s.direct(ctx, srv, resolver.Query{Name: name, Type: dns.TypeA, DO: true})
			if err != nil {
				continue
			}
			added := 0
			mu.Lock()
			for _, x := range resp.Msg.Ns {
				if n3, ok := x.(*dns.NSEC3); ok && dnsname.IsSubdomain(rr.Owner(x), z.Name) {
					if chain.add(n3) {
						added++
					}
				}
			}
			mu.Unlock()
			return added
		}
		return 0
	}

	budget := s.opts.NSEC3MaxQueries
	ask(randomLabel() + "." + z.Name)
	budget--
	stale := 0
	stopped := ""
	for {
		// No query is in flight between batches: the chain is ours.
		chain.merge()
		if chain.complete() || len(chain.links) == 0 {
			break
		}
		if budget <= 0 {
			stopped = fmt.Sprintf("query budget of %d reached (--walk-max)", s.opts.NSEC3MaxQueries)
			break
		}
		if ctx.Err() != nil {
			stopped = s.budgetText(ctx)
			break
		}
		batch := t.uncoveredNames(ctx, s, chain, min(64, budget))
		if len(batch) == 0 {
			if ctx.Err() != nil {
				stopped = s.budgetText(ctx)
			} else {
				stopped = "no name with an unseen hash found"
			}
			break
		}
		var added atomic.Int64
		parallel(ctx, len(batch), len(batch), func(i int) {
			added.Add(int64(ask(batch[i])))
		})
		budget -= len(batch)
		if added.Load() == 0 {
			stale++
			if stale >= 8 {
				stopped = "no progress: the servers stopped revealing new hashes"
				break
			}
		} else {
			stale = 0
		}
	}
	chain.merge()
	if stopped != "" {
		s.log.Debug("nsec3 collection stopped", "zone", z.Name, "hashes", len(chain.links), "why", stopped)
		s.ledger.gap(Gap{Stage: "nsec3", Zone: z.Name, Reason: fmt.Sprintf("collection stopped at %d hashes: %s", len(chain.links), stopped)})
	}

	t.chains[z.Name] = zoneChain{z, chain}
	chain.stopped = stopped
	t.crack(s.root, s, z, chain)
}

// crack (re)cracks the chain of zone z with everything known now and
// reports whether a new name turned up.
func (t *dnssecChains) crack(ctx context.Context, s *scope, z *Zone, chain *nsec3Chain) bool {
	// Hashing is offline work, but a chain with many iterations makes it
	// costly: it gets the zone's time budget of its own.
	ctx, cancel := context.WithTimeout(ctx, s.opts.WalkTimeout)
	defer cancel()
	before := s.ledger.nameCount()
	info := t.crackNSEC3(ctx, s, chain)
	s.ledger.editZone(z, func(z *Zone) { z.NSEC3 = info })
	return s.ledger.nameCount() > before
}

// recrack cracks every collected chain again, now that more names are
// known (PTR sweeps and mining find names a word list never guesses). It
// reports whether a new name turned up.
func (t *dnssecChains) recrack(ctx context.Context, s *scope) bool {
	found := false
	for _, j := range t.chains {
		if t.crack(ctx, s, j.z, j.chain) {
			found = true
		}
	}
	return found
}

// uncoveredNames finds up to n random names under the zone whose hashes
// fall outside every span held, hashing on all cores. The chain must be
// merged and not change meanwhile.
func (t *dnssecChains) uncoveredNames(ctx context.Context, s *scope, chain *nsec3Chain, n int) []string {
	const maxTries = 4 << 20
	var (
		out   []string
		taken = map[string]bool{}
		omu   sync.Mutex
		tries int
		wg    sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for ctx.Err() == nil {
				omu.Lock()
				if len(out) >= n || tries >= maxTries {
					omu.Unlock()
					return
				}
				tries += 64
				omu.Unlock()
				for range 64 {
					name := randomLabel() + "." + chain.zone
					h := chain.hash(name)
					if chain.covered(h) {
						continue
					}
					omu.Lock()
					if len(out) < n && !taken[h] {
						taken[h] = true
						out = append(out, name)
					}
					omu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return out
}

// crackNSEC3 hashes candidate names — the word list under the zone and
// under every known name of the zone, the known names themselves, and the
// wildcard — and turns matches into discoveries.
func (t *dnssecChains) crackNSEC3(ctx context.Context, s *scope, chain *nsec3Chain) *NSEC3Info {
	zone := chain.zone
	var known []string
	labels := map[string]bool{}
	s.ledger.eachName(func(n string, _ []string) {
		if dnsname.IsSubdomain(n, zone) {
			known = append(known, n)
			if n != zone {
				labels[dnsname.FirstLabel(n)] = true
			}
		}
	})
	sort.Strings(known)

	cand := map[string]bool{"*." + zone: true}
	for _, n := range known {
		// The name and every ancestor up to the zone: ancestors may be
		// empty non-terminals, which hold NSEC3 records too.
		for p := n; dnsname.IsSubdomain(p, zone); p = dnsname.Parent(p) {
			cand[p] = true
			if p == zone {
				break
			}
		}
	}
	words := append([]string(nil), s.words...)
	if len(words) == 0 {
		words = DefaultWordlist()
	}
	for l := range labels {
		words = append(words, l)
	}
	parents := []string{zone}
	for _, n := range known {
		if n != zone && len(parents) < 256 {
			parents = append(parents, n)
		}
	}
	for _, p := range parents {
		for _, w := range words {
			if name, err := dnsname.Normalize(w + "." + p); err == nil {
				cand[name] = true
			}
		}
	}
	list := make([]string, 0, len(cand))
	for n := range cand {
		list = append(list, n)
	}
	cracked := map[string]string{}
	var mu sync.Mutex
	parallel(ctx, len(list), runtime.GOMAXPROCS(0)*4, func(i int) {
		h := chain.hash(list[i])
		if _, ok := chain.links[h]; ok {
			mu.Lock()
			cracked[h] = list[i]
			mu.Unlock()
		}
	})

	info := &NSEC3Info{
		Zone: zone, Hashes: len(chain.links), Cracked: len(cracked),
		Iterations: chain.iterations, Salt: chain.salt, OptOut: chain.optOut,
		Complete: chain.complete(), Stopped: chain.stopped,
	}
	for _, h := range chain.owners {
		l := chain.links[h]
		link := NSEC3Hash{Hash: h, Next: l.next, Name: cracked[h], Types: []string{}}
		for _, t := range l.types {
			link.Types = append(link.Types, rr.TypeString(t))
		}
		info.Chain = append(info.Chain, link)
	}
	for h, name := range cracked {
		if strings.HasPrefix(name, "*.") {
			var types []string
			for _, t := range chain.links[h].types {
				if t != dns.TypeRRSIG {
					types = append(types, rr.TypeString(t))
				}
			}
			s.addWildcardTypes(name, types)
			continue
		}
		s.ledger.addName(name, SourceNSEC3)
		s.ledger.noteTypes(name, chain.links[h].types)
	}
	return info
}
