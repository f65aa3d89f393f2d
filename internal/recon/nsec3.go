package recon

import (
	"context"
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// nsec3Chain is the part of a zone's NSEC3 chain collected so far.
type nsec3Chain struct {
	zone       string
	alg        uint8
	iterations uint16
	salt       string // hex, "" for none
	optOut     bool
	links      map[string]*nsec3Link // owner hash (upper-case base32hex) -> link
	owners     []string              // sorted keys of links
}

type nsec3Link struct {
	next  string
	types []uint16
}

// add keeps an NSEC3 record of the chain and reports whether it was new.
func (c *nsec3Chain) add(x *dns.NSEC3) bool {
	if c.links == nil {
		c.links = map[string]*nsec3Link{}
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
	c.links[owner] = &nsec3Link{next: strings.ToUpper(x.NextDomain), types: x.TypeBitMap}
	i := sort.SearchStrings(c.owners, owner)
	c.owners = append(c.owners, "")
	copy(c.owners[i+1:], c.owners[i:])
	c.owners[i] = owner
	return true
}

// covered reports whether hash is an owner of the chain or falls inside a
// span [owner, next) we already hold.
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
	if len(c.links) == 0 {
		return false
	}
	for _, l := range c.links {
		if _, ok := c.links[l.next]; !ok {
			return false
		}
	}
	return true
}

// hash computes the NSEC3 hash of a canonical name with the chain's
// parameters.
func (c *nsec3Chain) hash(name string) string {
	return dns.HashName(dns.Fqdn(name), c.alg, c.iterations, c.salt)
}

// collectNSEC3 gathers the whole NSEC3 chain of zone z by asking for
// names whose hashes fall into spans not yet seen, then cracks the hashes
// offline against the word list and every name already known.
func (r *run) collectNSEC3(ctx context.Context, z *Zone, servers []netip.AddrPort) {
	chain := &nsec3Chain{zone: z.Name}
	var mu sync.Mutex
	ask := func(name string) int {
		for _, s := range servers {
			resp, err := r.direct(ctx, s, resolver.Query{Name: name, Type: dns.TypeA, DO: true})
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

	budget := r.opts.NSEC3MaxQueries
	ask(randomLabel() + "." + z.Name)
	budget--
	stale := 0
	for budget > 0 && ctx.Err() == nil {
		mu.Lock()
		done := chain.complete() || len(chain.links) == 0
		mu.Unlock()
		if done {
			break
		}
		batch := r.uncoveredNames(ctx, chain, &mu, min(64, budget))
		if len(batch) == 0 {
			break
		}
		var added int
		var amu sync.Mutex
		parallel(ctx, len(batch), len(batch), func(i int) {
			n := ask(batch[i])
			amu.Lock()
			added += n
			amu.Unlock()
		})
		budget -= len(batch)
		if added == 0 {
			stale++
			if stale >= 8 {
				r.log.Warn("nsec3 collection made no progress; stopping", "zone", z.Name, "hashes", len(chain.links))
				break
			}
		} else {
			stale = 0
		}
	}

	r.mu.Lock()
	if r.chains == nil {
		r.chains = map[string]*nsec3Chain{}
	}
	r.chains[z.Name] = chain
	r.mu.Unlock()
	r.crack(ctx, z, chain)
}

// crack (re)cracks the chain of zone z with everything known now and
// reports whether a new name turned up.
func (r *run) crack(ctx context.Context, z *Zone, chain *nsec3Chain) bool {
	r.mu.Lock()
	before := len(r.names)
	r.mu.Unlock()
	info := r.crackNSEC3(ctx, chain)
	r.mu.Lock()
	defer r.mu.Unlock()
	z.NSEC3 = info
	return len(r.names) > before
}

// recrack cracks every collected chain again, now that more names are
// known (PTR sweeps and mining find names a word list never guesses). It
// reports whether a new name turned up.
func (r *run) recrack(ctx context.Context) bool {
	r.mu.Lock()
	type job struct {
		z *Zone
		c *nsec3Chain
	}
	var jobs []job
	for name, c := range r.chains {
		jobs = append(jobs, job{r.zones[name], c})
	}
	r.mu.Unlock()
	found := false
	for _, j := range jobs {
		if r.crack(ctx, j.z, j.c) {
			found = true
		}
	}
	return found
}

// uncoveredNames finds up to n random names under the zone whose hashes
// fall outside every span held, hashing on all cores.
func (r *run) uncoveredNames(ctx context.Context, chain *nsec3Chain, mu *sync.Mutex, n int) []string {
	const maxTries = 4 << 20
	var (
		out   []string
		omu   sync.Mutex
		tries int
		wg    sync.WaitGroup
	)
	mu.Lock()
	snapshot := &nsec3Chain{zone: chain.zone, alg: chain.alg, iterations: chain.iterations, salt: chain.salt,
		links: make(map[string]*nsec3Link, len(chain.links)), owners: append([]string(nil), chain.owners...)}
	for k, v := range chain.links {
		snapshot.links[k] = v
	}
	mu.Unlock()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			taken := map[string]bool{}
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
					h := snapshot.hash(name)
					if snapshot.covered(h) || taken[h] {
						continue
					}
					taken[h] = true
					omu.Lock()
					if len(out) < n {
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
func (r *run) crackNSEC3(ctx context.Context, chain *nsec3Chain) *NSEC3Info {
	zone := chain.zone
	r.mu.Lock()
	var known []string
	labels := map[string]bool{}
	for n := range r.names {
		if dnsname.IsSubdomain(n, zone) {
			known = append(known, n)
			if n != zone {
				labels[dnsname.FirstLabel(n)] = true
			}
		}
	}
	r.mu.Unlock()
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
	words := append([]string(nil), r.words...)
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
		Complete: chain.complete(),
	}
	for _, h := range chain.owners {
		l := chain.links[h]
		link := NSEC3Hash{Hash: h, Next: l.next, Name: cracked[h], Types: []string{}}
		for _, t := range l.types {
			link.Types = append(link.Types, rr.TypeString(t))
		}
		info.Chain = append(info.Chain, link)
	}
	for _, name := range cracked {
		if strings.HasPrefix(name, "*.") {
			var types []string
			for _, t := range chain.links[chain.hash(name)].types {
				if t != dns.TypeRRSIG {
					types = append(types, rr.TypeString(t))
				}
			}
			r.addWildcardTypes(name, types)
			continue
		}
		r.addName(name, SourceNSEC3)
	}
	return info
}
