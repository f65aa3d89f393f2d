package pebble

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/miekg/dns"
)

// Lookups run as a sequence of sources, each a key range of one table
// scanned in key order; sources do not overlap and are visited in key
// order, so every delivered tuple has a distinct, increasing sort key (the
// index key it was found through; for right-hand wildcards the
// distinct-name key followed by the rest of the inner key). The cursor is
// the last sort key delivered: resuming skips every key up to it.

// errDone stops a scan once the limit is reached.
var errDone = errors.New("pebble: lookup done")

const cursorVersion = 1

// source is one key range of a lookup plan.
type source struct {
	lo, hi []byte
	// nested: each key in [lo, hi) names an inner range scanned by inner.
	run func(l *lookup, s *source) error
	// target (rdata-raw 'd' sources) is the canonical target of the range.
	target string
}

type lookup struct {
	db        *DB
	ctx       context.Context
	q         store.Query
	fn        func(*pdns.Tuple) error
	after     []byte
	limit     int
	skip      int
	delivered int
	more      bool
	last      []byte
	ticks     int
	a         agg
	revCache  []byte
	nameCache string
	pk        []byte
	inner     *pebble.Iterator
}

// Lookup implements store.Backend.
func (db *DB) Lookup(ctx context.Context, q store.Query, fn func(*pdns.Tuple) error) (string, error) {
	if err := db.usable(false); err != nil {
		return "", err
	}
	if err := q.Validate(); err != nil {
		return "", err
	}
	l := &lookup{db: db, ctx: ctx, q: q, fn: fn, skip: q.Offset, limit: db.limitFor(q.Limit)}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			return "", err
		}
		l.after = after
	}
	return l.run(db.plan(&l.q))
}

func (db *DB) limitFor(n int) int {
	switch {
	case db.maxLimit < 0 && n == 0:
		return math.MaxInt
	case db.maxLimit < 0:
		return n
	case n == 0 || n > db.maxLimit:
		return db.maxLimit
	}
	return n
}

func (l *lookup) run(sources []source) (string, error) {
	defer func() {
		if l.inner != nil {
			l.inner.Close()
		}
	}()
	for i := range sources {
		s := &sources[i]
		if l.after != nil && s.hi != nil && bytes.Compare(s.hi, l.after) <= 0 {
			continue
		}
		err := s.run(l, s)
		if errors.Is(err, errDone) {
			break
		}
		if err != nil {
			return "", err
		}
	}
	if !l.more {
		return "", nil
	}
	return encodeCursor(l.last), nil
}

func encodeCursor(k []byte) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{cursorVersion}, k...))
}

func decodeCursor(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != cursorVersion {
		return nil, fmt.Errorf("%w: %q", store.ErrBadCursor, s)
	}
	switch b[1] {
	case tRecord, tIP, tTarget, tTargetFwd, tName, tHash, tNX:
		return b[1:], nil
	}
	return nil, fmt.Errorf("%w: %q", store.ErrBadCursor, s)
}

// plan turns a validated query into sources.
func (db *DB) plan(q *store.Query) []source {
	single, isSingle := q.Type.Single()
	withType := func(p []byte) []byte {
		if isSingle {
			p = binary.BigEndian.AppendUint16(p, single)
		}
		return p
	}
	switch q.Kind {
	case store.KindRRSet:
		switch q.Wildcard {
		case store.WildNone:
			p := withType(appendRecordPrefix(nil, q.Name))
			return []source{{lo: p, hi: prefixEnd(p), run: runRecords}}
		case store.WildLeft:
			lo, hi := subtreeRange(tRecord, q.Name)
			return []source{{lo: lo, hi: hi, run: runRecords}}
		case store.WildRight:
			lo, hi := fwdRange(tName, q.Name)
			return []source{{lo: lo, hi: hi, run: runNames}}
		}
	case store.KindRDataName:
		switch q.Wildcard {
		case store.WildNone:
			p := append([]byte{tTarget}, appendRev(nil, q.Name)...)
			p = withType(append(p, 0))
			return []source{{lo: p, hi: prefixEnd(p), run: runIndex}}
		case store.WildLeft:
			lo, hi := subtreeRange(tTarget, q.Name)
			return []source{{lo: lo, hi: hi, run: runIndex}}
		case store.WildRight:
			lo, hi := fwdRange(tTargetFwd, q.Name)
			return []source{{lo: lo, hi: hi, run: runTargets}}
		}
	case store.KindRDataIP:
		t := uint16(dns.TypeAAAA)
		if q.IPLow.Is4() {
			t = dns.TypeA
		}
		if !q.Type.Match(t) {
			return nil
		}
		fam := famByte(q.IPLow)
		lo := append([]byte{tIP, fam}, q.IPLow.AsSlice()...)
		hi := prefixEnd(append([]byte{tIP, fam}, q.IPHigh.AsSlice()...))
		return []source{{lo: lo, hi: hi, run: runIndex}}
	case store.KindRDataRaw:
		return rawSources(q, withType)
	}
	return nil
}

// rawSources plans an exact-rdata lookup: the address index when the rdata
// is an address, the rdata-name index under every name the rdata contains,
// and the hash index for everything else.
func rawSources(q *store.Query, withType func([]byte) []byte) []source {
	var srcs []source
	if a, err := netip.ParseAddr(q.RData); err == nil && a.Zone() == "" && a.String() == q.RData {
		t := uint16(dns.TypeAAAA)
		if a.Is4() {
			t = dns.TypeA
		}
		if q.Type.Match(t) {
			p := append([]byte{tIP, famByte(a)}, a.AsSlice()...)
			srcs = append(srcs, source{lo: p, hi: prefixEnd(p), run: runIndex})
		}
	}
	var targets []string
	for _, tok := range append(tokensAll(q.RData), q.RData) {
		if n := store.RDataNames(dns.TypeCNAME, tok); len(n) == 1 && !slices.Contains(targets, n[0]) {
			targets = append(targets, n[0])
		}
	}
	for _, t := range targets {
		p := append([]byte{tTarget}, appendRev(nil, t)...)
		p = withType(append(p, 0))
		srcs = append(srcs, source{lo: p, hi: prefixEnd(p), run: runIndex, target: t})
	}
	p := binary.BigEndian.AppendUint64([]byte{tHash}, rdataHash(q.RData))
	p = withType(p)
	srcs = append(srcs, source{lo: p, hi: prefixEnd(p), run: runIndex})
	slices.SortFunc(srcs, func(a, b source) int { return bytes.Compare(a.lo, b.lo) })
	// Two candidate names can nest ("example.com" and "www.example.com"
	// have disjoint exact prefixes, so ranges never overlap).
	return srcs
}

// tokensAll splits rdata on blanks (quotes respected), at most 16 fields.
func tokensAll(s string) []string {
	var out []string
	inQuote := false
	start := -1
	for i := 0; i <= len(s) && len(out) < 16; i++ {
		if i == len(s) || !inQuote && (s[i] == ' ' || s[i] == '\t') {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQuote = !inQuote
		}
	}
	return out
}

func (l *lookup) tick() error {
	l.ticks++
	if l.ticks&1023 == 0 {
		return l.ctx.Err()
	}
	return nil
}

// seekFrom returns where a source scan starts: lo, or the cursor when it
// lies inside the range.
func (l *lookup) seekFrom(lo []byte) []byte {
	if l.after != nil && bytes.Compare(l.after, lo) > 0 {
		return l.after
	}
	return lo
}

// skipped reports whether a sort key is at or before the cursor.
func (l *lookup) skipped(sk []byte) bool {
	return l.after != nil && bytes.Compare(sk, l.after) <= 0
}

func (l *lookup) newIter(lo, hi []byte) (*pebble.Iterator, error) {
	it, err := l.db.pdb.NewIterWithContext(l.ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("pebble: %w", err)
	}
	return it, nil
}

// emit delivers one matching tuple, honouring offset and limit.
func (l *lookup) emit(sk []byte, t *pdns.Tuple) error {
	if l.delivered >= l.limit {
		l.more = true
		return errDone
	}
	if l.skip > 0 {
		l.skip--
		return nil
	}
	if err := l.fn(t); err != nil {
		return err
	}
	l.delivered++
	l.last = append(l.last[:0], sk...)
	return nil
}

// name returns the canonical name of a reversed name, reusing the last
// result for runs of the same name.
func (l *lookup) name(rev []byte) string {
	if l.nameCache != "" && bytes.Equal(rev, l.revCache) {
		return l.nameCache
	}
	l.nameCache = revToName(rev)
	l.revCache = append(l.revCache[:0], rev...)
	return l.nameCache
}

// tuple builds the tuple of a record key and its value, or nil when the
// value fails the query's time fences or bailiwick.
func (l *lookup) tuple(rk recordKey, v []byte) (*pdns.Tuple, error) {
	if err := decodeValue(v, &l.a); err != nil {
		return nil, err
	}
	if l.q.HasFences() && !l.q.MatchTimes(&pdns.Tuple{TimeFirst: l.a.timeFirst, TimeLast: l.a.timeLast, ZoneTimeFirst: l.a.zoneFirst, ZoneTimeLast: l.a.zoneLast}) {
		return nil, nil
	}
	t := &pdns.Tuple{RRName: l.name(rk.rev), RRType: rk.rrtype}
	if err := l.a.fill(t, &l.db.sensors); err != nil {
		return nil, err
	}
	if l.q.Bailiwick != "" && t.Bailiwick != l.q.Bailiwick {
		return nil, nil
	}
	rd, err := decodeRData(rk.rrtype, rk.rdata)
	if err != nil {
		return nil, err
	}
	t.RData = rd
	return t, nil
}

func corrupt(k []byte, err error) error {
	return fmt.Errorf("%w: key %q: %v", store.ErrCorrupt, k, err)
}

// runRecords scans tuple keys directly.
func runRecords(l *lookup, s *source) error {
	pi := l.db.iters.get(l.db.pdb, s.lo, s.hi)
	defer l.db.iters.put(pi)
	return l.scanRecords(pi.it, l.seekFrom(s.lo), nil, 0)
}

// scanRecords walks tuple keys from seek. With outer set, sort keys are
// outer + key[cut:].
func (l *lookup) scanRecords(it *pebble.Iterator, seek, outer []byte, cut int) error {
	var sk []byte
	for ok := it.SeekGE(seek); ok; ok = it.Next() {
		if err := l.tick(); err != nil {
			return err
		}
		k := it.Key()
		rk, err := parseRecordKey(k)
		if err != nil {
			return corrupt(k, err)
		}
		if !l.q.Type.Match(rk.rrtype) {
			continue
		}
		sk = k
		if outer != nil {
			sk = append(append(sk[:0:0], outer...), k[cut:]...)
		}
		if l.skipped(sk) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("pebble: %w", err)
		}
		t, err := l.tuple(rk, v)
		if err != nil {
			return corrupt(k, err)
		}
		if t == nil {
			continue
		}
		if err := l.emit(sk, t); err != nil {
			return err
		}
	}
	return it.Error()
}

// runNames resolves a right-hand rrname wildcard through the distinct-name
// table.
func runNames(l *lookup, s *source) error {
	return runDistinct(l, s, tName, tRecord, l.scanRecords)
}

// runTargets resolves a right-hand rdata-name wildcard through the
// distinct-target table.
func runTargets(l *lookup, s *source) error {
	return runDistinct(l, s, tTargetFwd, tTarget, func(it *pebble.Iterator, seek, outer []byte, cut int) error {
		return l.scanIndex(it, seek, outer, cut, "")
	})
}

// runDistinct walks the range s of a table of distinct names (tag
// distinct, keys tag + name + 0) and, for each name, scans the rows of
// table under it with scan, sorted after the distinct key.
func runDistinct(l *lookup, s *source, distinct, table byte, scan func(it *pebble.Iterator, seek, outer []byte, cut int) error) error {
	it, err := l.newIter(s.lo, s.hi)
	if err != nil {
		return err
	}
	defer it.Close()
	seek := s.lo
	if len(l.after) > 0 && l.after[0] == distinct {
		if i := bytes.IndexByte(l.after, 0); i > 0 && bytes.Compare(l.after[:i+1], s.lo) > 0 {
			seek = l.after[:i+1]
		}
	}
	if l.inner == nil {
		if l.inner, err = l.newIter(nil, nil); err != nil {
			return err
		}
	}
	var prefix []byte
	for ok := it.SeekGE(seek); ok; ok = it.Next() {
		if err := l.tick(); err != nil {
			return err
		}
		dk := bytes.Clone(it.Key())
		if len(dk) < 3 || dk[len(dk)-1] != 0 {
			return corrupt(dk, errKey)
		}
		prefix = append(prefix[:0], table)
		prefix = appendRev(prefix, string(dk[1:len(dk)-1]))
		prefix = append(prefix, 0)
		cut := len(prefix)
		if t, ok := l.q.Type.Single(); ok {
			prefix = binary.BigEndian.AppendUint16(prefix, t)
		}
		l.inner.SetBounds(prefix, prefixEnd(prefix))
		if err := scan(l.inner, prefix, dk, cut); err != nil {
			return err
		}
	}
	return it.Error()
}

// runIndex scans one range of a secondary index ('i', 'd' or 'h').
func runIndex(l *lookup, s *source) error {
	pi := l.db.iters.get(l.db.pdb, s.lo, s.hi)
	defer l.db.iters.put(pi)
	return l.scanIndex(pi.it, l.seekFrom(s.lo), nil, 0, s.target)
}

// scanIndex walks index keys from seek and reads the tuple each points at.
// target is set for exact-rdata scans of the rdata-name index.
func (l *lookup) scanIndex(it *pebble.Iterator, seek, outer []byte, cut int, target string) error {
	var sk []byte
	for ok := it.SeekGE(seek); ok; ok = it.Next() {
		if err := l.tick(); err != nil {
			return err
		}
		k := it.Key()
		sk = k
		if outer != nil {
			sk = append(append(sk[:0:0], outer...), k[cut:]...)
		}
		if l.skipped(sk) {
			continue
		}
		pk, rrtype, err := l.primaryOf(k)
		if err != nil {
			return corrupt(k, err)
		}
		if !l.q.Type.Match(rrtype) {
			continue
		}
		t, err := l.get(pk)
		if err != nil {
			return corrupt(k, err)
		}
		if t == nil {
			continue // dangling index entry (pruned tuple)
		}
		if l.q.Kind == store.KindRDataName && k[0] == tTarget {
			// A tuple with several names in its rdata (SOA, RP, ...) is
			// delivered once, under the first of them the pattern matches.
			if n := store.RDataNames(t.RRType, t.RData); len(n) > 1 {
				i := bytes.IndexByte(k[1:], 0)
				this := revToName(k[1 : 1+i])
				for _, x := range n {
					if store.MatchName(x, l.q.Name, l.q.Wildcard) {
						if x != this {
							t = nil
						}
						break
					}
				}
				if t == nil {
					continue
				}
			}
		}
		if l.q.Kind == store.KindRDataRaw {
			if t.RData != l.q.RData {
				continue
			}
			if target != "" {
				if n := store.RDataNames(t.RRType, t.RData); len(n) == 0 || n[0] != target {
					continue // delivered under its first name
				}
			}
		}
		if err := l.emit(sk, t); err != nil {
			return err
		}
	}
	return it.Error()
}

// primaryOf rebuilds the tuple key an index key points at (into l.pk).
func (l *lookup) primaryOf(k []byte) ([]byte, uint16, error) {
	pk := append(l.pk[:0], tRecord)
	defer func() { l.pk = pk }()
	switch k[0] {
	case tIP:
		if len(k) < 2 {
			return nil, 0, errKey
		}
		n, t := 4, uint16(dns.TypeA)
		if k[1] == 6 {
			n, t = 16, dns.TypeAAAA
		} else if k[1] != 4 {
			return nil, 0, errKey
		}
		if len(k) < 2+n+1 || k[len(k)-1] != 0 {
			return nil, 0, errKey
		}
		pk = append(pk, k[2+n:]...)
		pk = binary.BigEndian.AppendUint16(pk, t)
		pk = append(pk, rdataIP)
		pk = append(pk, k[2:2+n]...)
		return pk, t, nil
	case tTarget:
		i := bytes.IndexByte(k[1:], 0)
		if i < 0 || len(k) < 1+i+1+2+1 {
			return nil, 0, errKey
		}
		rest := k[1+i+1:]
		t := binary.BigEndian.Uint16(rest)
		j := bytes.IndexByte(rest[2:], 0)
		if j < 0 {
			return nil, 0, errKey
		}
		owner, rdata := rest[2:2+j+1], rest[2+j+1:]
		pk = append(pk, owner...)
		pk = binary.BigEndian.AppendUint16(pk, t)
		pk = append(pk, rdataText)
		if len(rdata) > 0 {
			pk = append(pk, rdata...)
		} else {
			pk = appendRev(pk, string(k[1:1+i]))
			pk = append(pk, '.')
		}
		return pk, t, nil
	case tHash:
		if len(k) < 1+8+2+1 || k[len(k)-1] != 0 {
			return nil, 0, errKey
		}
		t := binary.BigEndian.Uint16(k[9:])
		pk = append(pk, k[11:]...)
		pk = binary.BigEndian.AppendUint16(pk, t)
		pk = appendRData(pk, t, l.q.RData)
		return pk, t, nil
	}
	return nil, 0, errKey
}

// get reads one tuple by key and applies the time and bailiwick filters;
// nil when it is missing or filtered out.
func (l *lookup) get(pk []byte) (*pdns.Tuple, error) {
	v, closer, err := l.db.pdb.Get(pk)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	rk, err := parseRecordKey(pk)
	if err != nil {
		return nil, err
	}
	return l.tuple(rk, v)
}
