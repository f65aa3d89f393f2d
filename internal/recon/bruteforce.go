package recon

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/resolver"
)

//go:embed wordlists/default.txt
var defaultWordlist string

//go:embed wordlists/alterations.txt
var alterationWords string

var (
	defaultOnce  sync.Once
	defaultWords []string
)

// DefaultWordlist returns the built-in brute-force list: OWASP Amass's name
// list merged with its alterations (Apache-2.0; see wordlists/README.md).
// The slice is shared: do not modify it.
func DefaultWordlist() []string {
	defaultOnce.Do(func() {
		defaultWords, _, _ = ReadWordlist(strings.NewReader(defaultWordlist))
	})
	return defaultWords
}

// ReadWordlist reads one label (or dotted label sequence) per line. Blank
// lines and lines starting with '#' are ignored; entries that are not valid
// name labels are skipped and counted. Entries are normalised (IDNA, lower
// case) and deduplicated, order kept.
func ReadWordlist(rd io.Reader) (words []string, skipped int, err error) {
	seen := map[string]bool{}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		w := strings.TrimSpace(sc.Text())
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		n, err := dnsname.Normalize(w)
		if err != nil || strings.Contains(n, "*") || len(n) > 200 {
			skipped++
			continue
		}
		if !seen[n] {
			seen[n] = true
			words = append(words, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, skipped, fmt.Errorf("recon: word list line %d: %w", line+1, err)
	}
	return words, skipped, nil
}

// bruteforce asks "word.base A" for every word and keeps the names that
// exist and are not just a wildcard's echo.
func (r *run) bruteforce(ctx context.Context, base string, words []string, source string) int {
	names := make([]string, 0, len(words))
	for _, w := range words {
		n := w + "." + base
		if len(n) <= 253 {
			names = append(names, n)
		}
	}
	r.plan(len(names))
	var found int64
	var mu sync.Mutex
	parallel(ctx, len(names), r.opts.Concurrency, func(i int) {
		name := names[i]
		if r.hasName(name) {
			r.addName(name, source)
			r.done(1)
			return
		}
		m, err := r.send(ctx, resolver.Query{Name: name, Type: dns.TypeA})
		r.done(1)
		if err != nil {
			r.log.Debug("bruteforce query failed", "name", name, "err", err)
			return
		}
		if v := judge(name, dns.TypeA, m.Msg); !v.exists {
			return
		}
		if r.wildcardEcho(ctx, name, dns.TypeA, m.Msg) {
			return
		}
		if r.addName(name, source) {
			mu.Lock()
			found++
			mu.Unlock()
		}
		r.absorb(ctx, name, dns.TypeA, m.Msg, source)
	})
	r.log.Debug("bruteforce done", "base", base, "candidates", len(names), "found", found)
	return int(found)
}

// alterations tries amass-style variants of the labels discovered so far
// (dev -> dev1, dev-api, api-dev, devapi) below their parents. It reports
// whether it found anything.
func (r *run) alterations(ctx context.Context) bool {
	r.mu.Lock()
	if r.altDone == nil {
		r.altDone = map[string]bool{}
	}
	byParent := map[string][]string{}
	for n := range r.names {
		if r.altDone[n] || n == r.apex {
			continue
		}
		r.altDone[n] = true
		if _, isZone := r.zones[n]; isZone {
			continue
		}
		p := dnsname.Parent(n)
		byParent[p] = append(byParent[p], dnsname.FirstLabel(n))
	}
	r.mu.Unlock()
	alts, _, _ := ReadWordlist(strings.NewReader(alterationWords))
	budget := r.opts.MaxAlterations
	found := 0
	for parent, labels := range byParent {
		var words []string
		seen := map[string]bool{}
		for _, l := range labels {
			if strings.HasPrefix(l, "_") {
				continue
			}
			for _, a := range alts {
				for _, w := range []string{l + a, l + "-" + a, a + "-" + l} {
					if !seen[w] && len(w) <= 63 {
						seen[w] = true
						words = append(words, w)
					}
				}
			}
		}
		if len(words) > budget {
			words = words[:budget]
		}
		budget -= len(words)
		found += r.bruteforce(ctx, parent, words, SourceBruteforce)
		if budget <= 0 {
			break
		}
	}
	return found > 0
}

// deeperBases picks discovered names worth brute-forcing below: empty
// non-terminals (a name that exists without records of its own has
// children) and names with children already known, never a zone apex
// (zones are brute-forced anyway) and each at most once, up to
// Options.MaxRecursive per run.
func (r *run) deeperBases() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bruteDone == nil {
		r.bruteDone = map[string]bool{}
	}
	hasRecords := map[string]bool{}
	for _, rec := range r.res.Records {
		hasRecords[rec.Name] = true
	}
	hasChild := map[string]bool{}
	for n := range r.names {
		hasChild[dnsname.Parent(n)] = true
	}
	pending := map[string]bool{}
	for _, n := range r.pending {
		pending[n] = true
	}
	var ents, parents []string
	for n := range r.names {
		if _, isZone := r.zones[n]; isZone || r.bruteDone[n] || pending[n] || strings.HasPrefix(n, "_") {
			continue
		}
		switch {
		case !hasRecords[n] && len(r.answered[n]) > 0:
			// It answered NOERROR and holds no records: an empty
			// non-terminal. (A PTR target that does not exist forward
			// never answered NOERROR.)
			ents = append(ents, n)
		case hasChild[n]:
			parents = append(parents, n)
		}
	}
	sort.Strings(ents)
	sort.Strings(parents)
	var out []string
	for _, n := range append(ents, parents...) {
		if r.recursed >= r.opts.MaxRecursive {
			break
		}
		r.bruteDone[n] = true
		r.recursed++
		out = append(out, n)
	}
	return out
}

// bruteforceDeeper brute-forces below the names deeperBases picks and
// reports whether it found anything.
func (r *run) bruteforceDeeper(ctx context.Context) bool {
	if len(r.words) == 0 {
		return false
	}
	found := 0
	for _, base := range r.deeperBases() {
		r.stage("bruteforce " + base)
		found += r.bruteforce(ctx, base, r.words, SourceBruteforce)
	}
	return found > 0
}
