package recon

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"io"
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
func (s *scope) bruteforce(ctx context.Context, base string, words []string, source string) int {
	names := make([]string, 0, len(words))
	for _, w := range words {
		n := w + "." + base
		if len(n) <= 253 {
			names = append(names, n)
		}
	}
	s.plan(len(names))
	var found int64
	var mu sync.Mutex
	parallel(ctx, len(names), s.opts.Concurrency, func(i int) {
		name := names[i]
		if s.ledger.hasName(name) {
			s.ledger.addName(name, source)
			s.done(1)
			return
		}
		m, err := s.send(ctx, resolver.Query{Name: name, Type: dns.TypeA})
		s.done(1)
		if err != nil {
			s.log.Debug("bruteforce query failed", "name", name, "err", err)
			return
		}
		if v := judge(name, dns.TypeA, m.Msg); !v.exists {
			return
		}
		if s.wildcardEcho(ctx, name, dns.TypeA, m.Msg) {
			return
		}
		if s.ledger.addName(name, source) {
			mu.Lock()
			found++
			mu.Unlock()
		}
		s.absorb(ctx, name, dns.TypeA, m.Msg, source)
	})
	s.log.Debug("bruteforce done", "base", base, "candidates", len(names), "found", found)
	return int(found)
}

// wordlist brute-forces the word list below each zone's base, and, each
// expansion round, below the discovered names worth it: empty
// non-terminals (a name that exists without records of its own has
// children) and names with children already known, never a zone apex
// (zones are brute-forced anyway), each at most once, up to
// Options.MaxRecursive per run. It remembers the names it went below.
type wordlist struct {
	words    []string
	done     map[string]bool
	recursed int
}

func newWordlist(words []string) *wordlist { return &wordlist{words: words, done: map[string]bool{}} }

func (t *wordlist) name() string { return "bruteforce" }

func (t *wordlist) zone(ctx context.Context, s *scope, _ *Zone, base string) {
	s.stage("bruteforce " + base)
	s.bruteforce(ctx, base, t.words, SourceBruteforce)
}

// round brute-forces below the names deeperBases picks and reports
// whether it found anything.
func (t *wordlist) round(ctx context.Context, s *scope) bool {
	found := 0
	for _, base := range t.deeperBases(s) {
		s.stage("bruteforce " + base)
		found += s.bruteforce(ctx, base, t.words, SourceBruteforce)
	}
	return found > 0
}

// deeperBases picks the names to brute-force below this round: the
// ledger's deeper candidates not gone below yet, empty non-terminals
// first, within Options.MaxRecursive.
func (t *wordlist) deeperBases(s *scope) []string {
	ents, parents := s.ledger.deeperCandidates()
	var out []string
	for _, n := range append(ents, parents...) {
		if t.done[n] {
			continue
		}
		if t.recursed >= s.opts.MaxRecursive {
			break
		}
		t.done[n] = true
		t.recursed++
		out = append(out, n)
	}
	return out
}

// alterations tries amass-style variants of the labels discovered so far
// (dev -> dev1, dev-api, api-dev, devapi) below their parents, at most
// Options.MaxAlterations per round. It remembers the names whose labels
// it tried.
type alterations struct {
	done map[string]bool
}

func newAlterations() *alterations { return &alterations{done: map[string]bool{}} }

func (t *alterations) name() string { return "alterations" }

// round reports whether it found anything.
func (t *alterations) round(ctx context.Context, s *scope) bool {
	byParent := map[string][]string{}
	var fresh []string
	s.ledger.eachName(func(n string, _ []string) {
		if !t.done[n] && n != s.apex {
			fresh = append(fresh, n)
		}
	})
	for _, n := range fresh {
		t.done[n] = true
		if s.ledger.isZone(n) {
			continue
		}
		p := dnsname.Parent(n)
		byParent[p] = append(byParent[p], dnsname.FirstLabel(n))
	}
	alts, _, _ := ReadWordlist(strings.NewReader(alterationWords))
	budget := s.opts.MaxAlterations
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
		found += s.bruteforce(ctx, parent, words, SourceBruteforce)
		if budget <= 0 {
			break
		}
	}
	return found > 0
}
