package pebble

// Scan history (store.History) under its own table byte 'H'. TIME is Unix
// nanoseconds as 8 bytes big-endian (history times are 1970 to 2262);
// domains and scan ids hold no 0x00 byte (history validates them), so 0x00
// ends them and prefixes sort as their strings do.
//
//	H a TIME ID                          scan, every domain (value: scan JSON)
//	H s DOMAIN 00 TIME ID                scan of one domain (value: scan JSON)
//	H i ID                               scan id -> DOMAIN 00 TIME
//	H p ID                               what the scan saw (history's stored snapshot)
//	H b DOMAIN 00                        baseline: TIME, uvarint len + scan id, flag, [snapshot]
//	H f DOMAIN 00 KEY                    finding state: state, severity, updated TIME, JSON
//	H e DOMAIN 00 TIME SCANID 00 SEQ(4)  event of one domain (value: event JSON)
//	H t TIME SCANID 00 SEQ(4)            event, every domain (value: event JSON)
//
// Scans and events are written twice (by domain and for all domains) so
// that both listings are range scans in their order. A Record is one batch;
// reads that need several keys use a Pebble snapshot, so they see a Record
// whole or not at all. PruneHistory holds pruneMu exclusively per chunk and
// Record shares it, so a state a Record rewrites is never deleted by a
// prune that read its old value.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/store"
)

const tHistory = 'H'

// History sub-tables.
const (
	hScanAll   = 'a'
	hScan      = 's'
	hScanID    = 'i'
	hSnapshot  = 'p'
	hBaseline  = 'b'
	hState     = 'f'
	hEvent     = 'e'
	hEventAll  = 't'
	stateOpen  = 0
	stateResol = 1
	// Baseline flags: the snapshot follows, or it is the scan's own.
	baseOwn  = 0
	baseSame = 1
)

var (
	_ store.HistoryStore = (*DB)(nil)
	_ store.History      = (*hist)(nil)
)

// History returns the scan history area (store.HistoryStore).
func (db *DB) History() (store.History, error) {
	if err := db.usable(false); err != nil {
		return nil, err
	}
	return &hist{db: db}, nil
}

type hist struct{ db *DB }

func nanos(t time.Time) uint64 { return uint64(t.UnixNano()) }

// hk starts a history key of sub-table sub.
func hk(sub byte) []byte { return []byte{tHistory, sub} }

// domainKey returns "H sub DOMAIN 00".
func domainKey(sub byte, domain string) []byte {
	b := append(hk(sub), domain...)
	return append(b, 0)
}

func appendTime(b []byte, ns uint64) []byte { return binary.BigEndian.AppendUint64(b, ns) }

// eventSuffix appends "TIME SCANID 00 SEQ".
func eventSuffix(b []byte, ns uint64, scanID string, seq int) []byte {
	b = appendTime(b, ns)
	b = append(b, scanID...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint32(b, uint32(seq))
}

// successor returns the smallest key after k.
func successor(k []byte) []byte { return append(bytes.Clone(k), 0) }

// Record implements store.History.
func (h *hist) Record(ctx context.Context, step *history.Step) error {
	db := h.db
	if err := db.usable(true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	enc, err := store.EncodeStep(step)
	if err != nil {
		return err
	}
	sc := &step.Scan
	base, same := enc.Baseline, enc.SameBaseline
	started := nanos(sc.Started)
	b := db.pdb.NewBatch()
	defer b.Close()
	set := func(k, v []byte) error {
		if err := b.Set(k, v, nil); err != nil {
			return fmt.Errorf("pebble: %w", err)
		}
		return nil
	}

	db.pruneMu.RLock()
	defer db.pruneMu.RUnlock()
	// A retry may carry another start time: drop the old scan keys.
	idKey := append(hk(hScanID), sc.ID...)
	if old, ok, err := get(db.pdb, idKey); err != nil {
		return err
	} else if ok {
		dom, ns, err := parseScanRef(old)
		if err != nil {
			return corrupt(idKey, err)
		}
		if dom != sc.Domain {
			return fmt.Errorf("%w: scan id %s already names a scan of %s", store.ErrBadHistory, sc.ID, dom)
		}
		if ns != started {
			b.Delete(append(appendTime(hk(hScanAll), ns), sc.ID...), nil)
			b.Delete(append(appendTime(domainKey(hScan, dom), ns), sc.ID...), nil)
		}
	}
	kvs := [][2][]byte{
		{append(appendTime(hk(hScanAll), started), sc.ID...), enc.Scan},
		{append(appendTime(domainKey(hScan, sc.Domain), started), sc.ID...), enc.Scan},
		{idKey, appendTime(append([]byte(sc.Domain), 0), started)},
	}
	if enc.Snapshot != nil {
		kvs = append(kvs, [2][]byte{append(hk(hSnapshot), sc.ID...), enc.Snapshot})
	}
	// A late retry of an older step must not regress the baseline or the
	// states: the newest wins, as in ClickHouse.
	baseKey := domainKey(hBaseline, sc.Domain)
	if base != nil || same {
		if v, ok, err := get(db.pdb, baseKey); err != nil {
			return err
		} else if ok && len(v) >= 8 && binary.BigEndian.Uint64(v) > started {
			base, same = nil, false
		}
	}
	if base != nil || same {
		v := appendTime(nil, started)
		v = binary.AppendUvarint(v, uint64(len(sc.ID)))
		v = append(v, sc.ID...)
		if same {
			v = append(v, baseSame)
		} else {
			v = append(append(v, baseOwn), base...)
		}
		kvs = append(kvs, [2][]byte{baseKey, v})
	}
	for i := range enc.States {
		st := &enc.States[i]
		k := append(domainKey(hState, sc.Domain), st.Key...)
		if v, ok, err := get(db.pdb, k); err != nil {
			return err
		} else if ok {
			if old, err := parseStateHeader(v); err == nil && old.updated > nanos(st.Updated()) {
				continue
			}
		}
		kvs = append(kvs, [2][]byte{k, appendStateHeader(nil, st, enc.StateJSON[i])})
	}
	for i := range step.Events {
		e := &step.Events[i]
		kvs = append(kvs,
			[2][]byte{eventSuffix(domainKey(hEvent, e.Domain), nanos(e.Time), e.ScanID, e.Seq), enc.EventJSON[i]},
			[2][]byte{eventSuffix(hk(hEventAll), nanos(e.Time), e.ScanID, e.Seq), enc.EventJSON[i]})
	}
	for _, kv := range kvs {
		if err := set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := db.commit(b); err != nil {
		return fmt.Errorf("pebble: commit: %w", err)
	}
	return nil
}

// appendStateHeader appends the header of a state value (what listings and
// prune read without decoding the JSON) and the JSON.
func appendStateHeader(dst []byte, s *history.FindingState, js []byte) []byte {
	st := byte(stateOpen)
	if s.State == history.StateResolved {
		st = stateResol
	}
	dst = append(dst, st, byte(s.Finding.Severity))
	dst = appendTime(dst, nanos(s.Updated()))
	return append(dst, js...)
}

// stateHeader is the decoded header of a state value.
type stateHeader struct {
	open     bool
	severity finding.Severity
	updated  uint64
	json     []byte
}

func parseStateHeader(v []byte) (stateHeader, error) {
	if len(v) < 10 || v[0] > stateResol || v[1] > byte(finding.Critical) {
		return stateHeader{}, errKey
	}
	return stateHeader{open: v[0] == stateOpen, severity: finding.Severity(v[1]), updated: binary.BigEndian.Uint64(v[2:10]), json: v[10:]}, nil
}

// parseScanRef reads the value of "H i ID".
func parseScanRef(v []byte) (domain string, ns uint64, err error) {
	i := bytes.IndexByte(v, 0)
	if i <= 0 || len(v) != i+1+8 {
		return "", 0, errKey
	}
	return string(v[:i]), binary.BigEndian.Uint64(v[i+1:]), nil
}

func decodeScan(k, v []byte) (history.Scan, error) {
	s, err := history.UnmarshalRecord[history.Scan](v)
	if err != nil {
		return s, corrupt(k, err)
	}
	return s, nil
}

// get reads one key from r; ok is false when it is missing.
func get(r pebble.Reader, k []byte) (v []byte, ok bool, err error) {
	val, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("pebble: %w", err)
	}
	defer closer.Close()
	return bytes.Clone(val), true, nil
}

// Last implements store.History.
func (h *hist) Last(ctx context.Context, domain string) (history.Scan, *history.Snapshot, []history.FindingState, error) {
	var last history.Scan
	if err := h.db.usable(false); err != nil {
		return last, nil, nil, err
	}
	domain, err := store.HistoryDomain(domain)
	if err != nil {
		return last, nil, nil, err
	}
	r := h.db.pdb.NewSnapshot()
	defer r.Close()
	p := domainKey(hScan, domain)
	it, err := r.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return last, nil, nil, fmt.Errorf("pebble: %w", err)
	}
	if it.Last() {
		v, err := it.ValueAndErr()
		if err == nil {
			last, err = decodeScan(it.Key(), v)
		}
		if err != nil {
			it.Close()
			return last, nil, nil, err
		}
	}
	if err := it.Close(); err != nil {
		return last, nil, nil, fmt.Errorf("pebble: %w", err)
	}
	base, err := readBaseline(r, domain)
	if err != nil {
		return last, nil, nil, err
	}
	var states []history.FindingState
	p = domainKey(hState, domain)
	err = scanRange(ctx, r, p, prefixEnd(p), false, func(k, v []byte) (bool, error) {
		sh, err := parseStateHeader(v)
		if err != nil {
			return false, corrupt(k, err)
		}
		s, err := history.UnmarshalRecord[history.FindingState](sh.json)
		if err != nil {
			return false, corrupt(k, err)
		}
		states = append(states, s)
		return true, nil
	})
	return last, base, states, err
}

func readBaseline(r pebble.Reader, domain string) (*history.Snapshot, error) {
	k := domainKey(hBaseline, domain)
	v, ok, err := get(r, k)
	if err != nil || !ok {
		return nil, err
	}
	if len(v) < 8 {
		return nil, corrupt(k, errKey)
	}
	n, w := binary.Uvarint(v[8:])
	if w <= 0 || n > uint64(len(v)-8-w) || uint64(len(v)-8-w)-n < 1 {
		return nil, corrupt(k, errKey)
	}
	id := v[8+w : 8+w+int(n)]
	rest := v[8+w+int(n):]
	blob := rest[1:]
	switch rest[0] {
	case baseOwn:
	case baseSame:
		sk := append(hk(hSnapshot), id...)
		var ok bool
		if blob, ok, err = get(r, sk); err != nil {
			return nil, err
		} else if !ok {
			return nil, corrupt(k, errors.New("baseline names a missing snapshot"))
		}
	default:
		return nil, corrupt(k, errKey)
	}
	s, err := store.DecodeSnapshot(blob)
	if err != nil {
		return nil, fmt.Errorf("pebble: baseline of %s: %w", domain, err)
	}
	return s, nil
}

// scanRange calls fn for the keys in [lo, hi), in order or in reverse,
// until fn returns false or an error.
func scanRange(ctx context.Context, r pebble.Reader, lo, hi []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	it, err := r.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	defer it.Close()
	n := 0
	ok := it.First()
	if reverse {
		ok = it.Last()
	}
	for ; ok; n++ {
		if n&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("pebble: %w", err)
		}
		more, err := fn(it.Key(), v)
		if err != nil || !more {
			return err
		}
		if reverse {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	return nil
}

// fence narrows [lo, hi) of a time-keyed prefix to [since, until).
func fence(prefix []byte, since, until time.Time) (lo, hi []byte) {
	lo, hi = prefix, prefixEnd(prefix)
	if !since.IsZero() {
		lo = appendTime(bytes.Clone(prefix), nanos(since))
	}
	if !until.IsZero() {
		hi = appendTime(bytes.Clone(prefix), nanos(until))
	}
	return lo, hi
}

func minKey(a, b []byte) []byte {
	if bytes.Compare(a, b) < 0 {
		return a
	}
	return b
}

func maxKey(a, b []byte) []byte {
	if bytes.Compare(a, b) > 0 {
		return a
	}
	return b
}

// Scans implements store.History.
func (h *hist) Scans(ctx context.Context, q store.ScanQuery) ([]history.Scan, string, error) {
	if err := h.db.usable(false); err != nil {
		return nil, "", err
	}
	if err := q.Validate(); err != nil {
		return nil, "", err
	}
	prefix := hk(hScanAll)
	if q.Domain != "" {
		prefix = domainKey(hScan, q.Domain)
	}
	lo, hi := fence(prefix, q.Since, q.Until)
	if q.Cursor != "" {
		c, err := store.DecodeHistoryCursor(store.CursorScans, q.Cursor)
		if err != nil {
			return nil, "", err
		}
		hi = minKey(hi, append(appendTime(bytes.Clone(prefix), uint64(c.Time)), c.ID...))
	}
	var out []history.Scan
	more := false
	err := scanRange(ctx, h.db.pdb, lo, hi, true, func(k, v []byte) (bool, error) {
		if len(out) == q.Limit {
			more = true
			return false, nil
		}
		s, err := decodeScan(k, v)
		if err != nil {
			return false, err
		}
		out = append(out, s)
		return true, nil
	})
	if err != nil || !more {
		return out, "", err
	}
	return out, store.ScanCursor(&out[len(out)-1]), nil
}

// Snapshot implements store.History.
func (h *hist) Snapshot(ctx context.Context, scanID string) (history.Scan, *history.Snapshot, error) {
	var sc history.Scan
	if err := h.db.usable(false); err != nil {
		return sc, nil, err
	}
	if !history.ValidScanID(scanID) {
		return sc, nil, fmt.Errorf("%w: scan %q", store.ErrNotFound, scanID)
	}
	r := h.db.pdb.NewSnapshot()
	defer r.Close()
	idKey := append(hk(hScanID), scanID...)
	ref, ok, err := get(r, idKey)
	if err != nil {
		return sc, nil, err
	}
	if !ok {
		return sc, nil, fmt.Errorf("%w: scan %q", store.ErrNotFound, scanID)
	}
	dom, ns, err := parseScanRef(ref)
	if err != nil {
		return sc, nil, corrupt(idKey, err)
	}
	sk := append(appendTime(domainKey(hScan, dom), ns), scanID...)
	v, ok, err := get(r, sk)
	if err != nil {
		return sc, nil, err
	}
	if !ok {
		return sc, nil, corrupt(idKey, errors.New("scan reference without its scan"))
	}
	if sc, err = decodeScan(sk, v); err != nil {
		return sc, nil, err
	}
	blob, ok, err := get(r, append(hk(hSnapshot), scanID...))
	if err != nil || !ok {
		return sc, nil, err
	}
	s, err := store.DecodeSnapshot(blob)
	if err != nil {
		return sc, nil, fmt.Errorf("pebble: snapshot of %s: %w", scanID, err)
	}
	return sc, s, nil
}

// Findings implements store.History.
func (h *hist) Findings(ctx context.Context, q store.FindingQuery) ([]history.FindingState, string, error) {
	if err := h.db.usable(false); err != nil {
		return nil, "", err
	}
	if err := q.Validate(); err != nil {
		return nil, "", err
	}
	lo := hk(hState)
	if q.Domain != "" {
		lo = domainKey(hState, q.Domain)
	}
	hi := prefixEnd(lo)
	if q.Cursor != "" {
		c, err := store.DecodeHistoryCursor(store.CursorFindings, q.Cursor)
		if err != nil {
			return nil, "", err
		}
		lo = maxKey(lo, successor(append(domainKey(hState, c.Domain), c.ID...)))
	}
	var out []history.FindingState
	more := false
	err := scanRange(ctx, h.db.pdb, lo, hi, false, func(k, v []byte) (bool, error) {
		sh, err := parseStateHeader(v)
		if err != nil {
			return false, corrupt(k, err)
		}
		if sh.severity < q.MinSeverity || q.State == history.StateOpen && !sh.open || q.State == history.StateResolved && sh.open {
			return true, nil
		}
		if len(out) == q.Limit {
			more = true
			return false, nil
		}
		s, err := history.UnmarshalRecord[history.FindingState](sh.json)
		if err != nil {
			return false, corrupt(k, err)
		}
		out = append(out, s)
		return true, nil
	})
	if err != nil || !more {
		return out, "", err
	}
	return out, store.FindingCursor(&out[len(out)-1]), nil
}

// Events implements store.History.
func (h *hist) Events(ctx context.Context, q store.EventQuery) ([]history.Event, string, error) {
	if err := h.db.usable(false); err != nil {
		return nil, "", err
	}
	if err := q.Validate(); err != nil {
		return nil, "", err
	}
	prefix := hk(hEventAll)
	if q.Domain != "" {
		prefix = domainKey(hEvent, q.Domain)
	}
	lo, hi := fence(prefix, q.Since, q.Until)
	if q.Cursor != "" {
		c, err := store.DecodeHistoryCursor(store.CursorEvents, q.Cursor)
		if err != nil {
			return nil, "", err
		}
		k := eventSuffix(bytes.Clone(prefix), uint64(c.Time), c.ID, c.Seq)
		if q.Newest {
			hi = minKey(hi, k)
		} else {
			lo = maxKey(lo, successor(k))
		}
	}
	var out []history.Event
	more := false
	err := scanRange(ctx, h.db.pdb, lo, hi, q.Newest, func(k, v []byte) (bool, error) {
		e, err := history.UnmarshalRecord[history.Event](v)
		if err != nil {
			return false, corrupt(k, err)
		}
		if len(q.Kinds) > 0 && !slices.Contains(q.Kinds, e.Kind) {
			return true, nil
		}
		if len(out) == q.Limit {
			more = true
			return false, nil
		}
		out = append(out, e)
		return true, nil
	})
	if err != nil || !more {
		return out, "", err
	}
	return out, store.EventCursor(&out[len(out)-1]), nil
}

// Domains implements store.History: a skip scan over the per-domain scans
// (one seek per domain) and a pass over each domain's state headers.
func (h *hist) Domains(ctx context.Context) ([]store.DomainSummary, error) {
	if err := h.db.usable(false); err != nil {
		return nil, err
	}
	r := h.db.pdb.NewSnapshot()
	defer r.Close()
	it, err := r.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: hk(hScan), UpperBound: prefixEnd(hk(hScan))})
	if err != nil {
		return nil, fmt.Errorf("pebble: %w", err)
	}
	defer it.Close()
	var out []store.DomainSummary
	for ok := it.First(); ok; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := it.Key()
		i := bytes.IndexByte(k[2:], 0)
		if i < 0 {
			return nil, corrupt(k, errKey)
		}
		domain := string(k[2 : 2+i])
		end := append(domainKey(hScan, domain)[:2+i], 1)
		if !it.SeekLT(end) {
			return nil, corrupt(k, errKey)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("pebble: %w", err)
		}
		sum := store.DomainSummary{Domain: domain}
		if sum.LastScan, err = decodeScan(it.Key(), v); err != nil {
			return nil, err
		}
		p := domainKey(hState, domain)
		err = scanRange(ctx, r, p, prefixEnd(p), false, func(k, v []byte) (bool, error) {
			sh, err := parseStateHeader(v)
			if err != nil {
				return false, corrupt(k, err)
			}
			if sh.open {
				sum.Open.Add(sh.severity)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
		ok = it.SeekGE(end)
	}
	return out, it.Error()
}

// PruneHistory implements store.History.
func (h *hist) PruneHistory(ctx context.Context, before time.Time) (store.HistoryPruneResult, error) {
	var res store.HistoryPruneResult
	db := h.db
	if err := db.usable(true); err != nil {
		return res, err
	}
	if !before.After(time.Unix(0, 0)) {
		return res, nil
	}
	cut := uint64(before.UnixNano())
	if before.After(time.Unix(0, 1<<63-1)) {
		cut = 1<<63 - 1
	}
	cutKey := func(sub byte) []byte { return appendTime(hk(sub), cut) }
	var err error
	// Scans with their per-domain copy, id reference and snapshot.
	res.Scans, err = db.pruneChunks(ctx, hk(hScanAll), cutKey(hScanAll), func(b *pebble.Batch, k, v []byte) (bool, error) {
		s, err := decodeScan(k, v)
		if err != nil {
			return false, err
		}
		b.Delete(k, nil)
		b.Delete(append(appendTime(domainKey(hScan, s.Domain), nanos(s.Started)), s.ID...), nil)
		b.Delete(append(hk(hScanID), s.ID...), nil)
		b.Delete(append(hk(hSnapshot), s.ID...), nil)
		return true, nil
	})
	if err != nil {
		return res, err
	}
	res.Events, err = db.pruneChunks(ctx, hk(hEventAll), cutKey(hEventAll), func(b *pebble.Batch, k, v []byte) (bool, error) {
		e, err := history.UnmarshalRecord[history.Event](v)
		if err != nil {
			return false, corrupt(k, err)
		}
		b.Delete(k, nil)
		b.Delete(append(domainKey(hEvent, e.Domain), k[2:]...), nil)
		return true, nil
	})
	if err != nil {
		return res, err
	}
	res.FindingStates, err = db.pruneChunks(ctx, hk(hState), prefixEnd(hk(hState)), func(b *pebble.Batch, k, v []byte) (bool, error) {
		sh, err := parseStateHeader(v)
		if err != nil {
			return false, corrupt(k, err)
		}
		if sh.updated >= cut {
			return false, nil
		}
		return true, b.Delete(k, nil)
	})
	if err != nil {
		return res, err
	}
	_, err = db.pruneChunks(ctx, hk(hBaseline), prefixEnd(hk(hBaseline)), func(b *pebble.Batch, k, v []byte) (bool, error) {
		if len(v) < 8 {
			return false, corrupt(k, errKey)
		}
		if binary.BigEndian.Uint64(v) >= cut {
			return false, nil
		}
		return true, b.Delete(k, nil)
	})
	return res, err
}

// pruneChunks visits [lo, hi) and lets fn delete, committing every
// pruneChunk deletions with pruneMu held exclusively; it returns how many
// keys fn deleted.
func (db *DB) pruneChunks(ctx context.Context, lo, hi []byte, fn func(b *pebble.Batch, k, v []byte) (deleted bool, err error)) (int64, error) {
	var total int64
	for lo != nil {
		n, next, err := db.pruneChunk(ctx, lo, hi, fn)
		total += n
		if err != nil {
			return total, err
		}
		lo = next
	}
	return total, nil
}

func (db *DB) pruneChunk(ctx context.Context, lo, hi []byte, fn func(b *pebble.Batch, k, v []byte) (bool, error)) (int64, []byte, error) {
	db.pruneMu.Lock()
	defer db.pruneMu.Unlock()
	b := db.pdb.NewBatch()
	defer b.Close()
	var n int64
	var next []byte
	err := scanRange(ctx, db.pdb, lo, hi, false, func(k, v []byte) (bool, error) {
		if n >= pruneChunk {
			next = bytes.Clone(k)
			return false, nil
		}
		del, err := fn(b, k, v)
		if del {
			n++
		}
		return err == nil, err
	})
	if err != nil {
		return 0, nil, err
	}
	if err := db.commit(b); err != nil {
		return 0, nil, fmt.Errorf("pebble: commit: %w", err)
	}
	return n, next, nil
}
