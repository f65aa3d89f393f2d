package pebble

// Tuple values are compact records; Pebble's merge operator folds them so
// that writers never read before writing.
//
//	flags (1 byte): 1 sensor times, 2 zone times, 4 bailiwick, 8 sensors;
//	                the high four bits are zero in format 1
//	[1] time_first as 4 bytes big-endian, uvarint (time_last - time_first)
//	    uvarint count
//	[2] uvarint zone_time_first, uvarint (zone_time_last - zone_time_first)
//	[4] uvarint code: 0 = literal (uvarint length + bytes), k >= 1 = the
//	    rrname's last k-1 labels (1 = the root)
//	[8] uvarint n, then n uvarint sensor numbers, ascending (see sensors.go)
//
// Times are Unix seconds up to 2^32-1 (year 2106); time_last >= time_first.
// The fixed-width time_first compresses better than a varint (its high
// bytes repeat from tuple to tuple).
//
// NXDOMAIN counters: uvarint count, uvarint time_first, uvarint
// (time_last - time_first).

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

const (
	fTimes   = 1
	fZone    = 2
	fBail    = 4
	fSensors = 8
	fUnknown = 0xf0
)

// maxSensors bounds the sensor ids kept per tuple, so that a value cannot
// grow without bound; extra ids are dropped (the lowest ids are kept).
const maxSensors = 64

// agg is a decoded tuple value. bail is the encoded bailiwick (code and
// literal) so that merging never needs the rrname.
type agg struct {
	timeFirst, timeLast int64
	zoneFirst, zoneLast int64
	count               uint64
	bail                []byte
	sensors             []uint32
}

// appendValue encodes t's aggregate for the tuple key of t.RRName, with
// its sensors already numbered (ascending, distinct).
func appendValue(dst []byte, t *pdns.Tuple, sensors []uint32) []byte {
	a := agg{timeFirst: t.TimeFirst, timeLast: t.TimeLast, zoneFirst: t.ZoneTimeFirst, zoneLast: t.ZoneTimeLast,
		count: t.Count, sensors: sensors}
	if t.Bailiwick != "" {
		var buf [64]byte
		a.bail = appendBailiwick(buf[:0], t.RRName, t.Bailiwick)
	}
	return a.encode(dst)
}

// appendBailiwick encodes bailiwick relative to rrname.
func appendBailiwick(dst []byte, rrname, bail string) []byte {
	if bail == "." {
		return append(dst, 1)
	}
	var buf [32]int
	starts := labelStarts(rrname, buf[:0])
	for k, s := range starts {
		if rrname[s:] == bail {
			return binary.AppendUvarint(dst, uint64(len(starts)-k+1))
		}
	}
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(bail)))
	return append(dst, bail...)
}

// bailiwickOf decodes an encoded bailiwick for rrname.
func bailiwickOf(rrname string, code []byte) (string, error) {
	if len(code) == 0 {
		return "", nil
	}
	c, n := binary.Uvarint(code)
	if n <= 0 {
		return "", errValue
	}
	if c == 0 {
		l, m := binary.Uvarint(code[n:])
		if m <= 0 || uint64(len(code)-n-m) != l {
			return "", errValue
		}
		return string(code[n+m:]), nil
	}
	if c == 1 {
		return ".", nil
	}
	var buf [32]int
	starts := labelStarts(rrname, buf[:0])
	k := int(c - 1)
	if c-1 > uint64(len(starts)) {
		return "", errValue
	}
	return rrname[starts[len(starts)-k]:], nil
}

var errValue = fmt.Errorf("%w: malformed value", store.ErrCorrupt)

// decodeValue decodes a tuple value into a (reusing a's slices).
func decodeValue(b []byte, a *agg) error {
	*a = agg{bail: a.bail[:0], sensors: a.sensors[:0]}
	if len(b) == 0 {
		return errValue
	}
	flags := b[0]
	if flags&fUnknown != 0 {
		return fmt.Errorf("%w: value format 0x%02x is newer than this dnsscout", store.ErrCorrupt, flags)
	}
	r := reader{b: b[1:]}
	if flags&fTimes != 0 {
		a.timeFirst = int64(r.uint32())
		a.timeLast = a.timeFirst + int64(r.uvarint32())
	}
	a.count = r.uvarint()
	if flags&fZone != 0 {
		a.zoneFirst = int64(r.uvarint32())
		a.zoneLast = a.zoneFirst + int64(r.uvarint32())
	}
	if flags&fBail != 0 {
		start := len(b) - len(r.b)
		if c := r.uvarint(); c == 0 && r.err == nil {
			r.bytes(int(r.uvarint()))
		}
		if r.err == nil {
			a.bail = append(a.bail, b[start:len(b)-len(r.b)]...)
		}
	}
	if flags&fSensors != 0 {
		n := r.uvarint()
		if n > maxSensors {
			return errValue
		}
		for range n {
			id := r.uvarint32()
			if r.err != nil {
				break
			}
			if len(a.sensors) > 0 && id <= a.sensors[len(a.sensors)-1] {
				return errValue
			}
			a.sensors = append(a.sensors, id)
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return errValue
	}
	if a.timeLast > store.MaxTime || a.zoneLast > store.MaxTime {
		return errValue
	}
	return nil
}

// encode writes a back in value form.
func (a *agg) encode(dst []byte) []byte {
	var flags byte
	if a.timeFirst != 0 || a.timeLast != 0 {
		flags |= fTimes
	}
	if a.zoneFirst != 0 || a.zoneLast != 0 {
		flags |= fZone
	}
	if len(a.bail) > 0 {
		flags |= fBail
	}
	if len(a.sensors) > 0 {
		flags |= fSensors
	}
	dst = append(dst, flags)
	if flags&fTimes != 0 {
		dst = binary.BigEndian.AppendUint32(dst, uint32(a.timeFirst))
		dst = binary.AppendUvarint(dst, uint64(a.timeLast-a.timeFirst))
	}
	dst = binary.AppendUvarint(dst, a.count)
	if flags&fZone != 0 {
		dst = binary.AppendUvarint(dst, uint64(a.zoneFirst))
		dst = binary.AppendUvarint(dst, uint64(a.zoneLast-a.zoneFirst))
	}
	dst = append(dst, a.bail...)
	if flags&fSensors != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(a.sensors)))
		for _, id := range a.sensors {
			dst = binary.AppendUvarint(dst, uint64(id))
		}
	}
	return dst
}

// merge folds o into a. When older is set, o is older than everything in
// a, and its bailiwick wins (the first non-empty bailiwick ever written is
// kept, as pdns.Tuple.Merge keeps the receiver's).
func (a *agg) merge(o *agg, older bool) {
	a.timeFirst = minNonZero(a.timeFirst, o.timeFirst)
	a.timeLast = max(a.timeLast, o.timeLast)
	a.zoneFirst = minNonZero(a.zoneFirst, o.zoneFirst)
	a.zoneLast = max(a.zoneLast, o.zoneLast)
	a.count += o.count
	if len(o.bail) > 0 && (len(a.bail) == 0 || older) {
		a.bail = append(a.bail[:0], o.bail...)
	}
	for _, s := range o.sensors {
		if i, found := slices.BinarySearch(a.sensors, s); !found {
			a.sensors = slices.Insert(a.sensors, i, s)
		}
	}
	if len(a.sensors) > maxSensors {
		a.sensors = a.sensors[:maxSensors]
	}
}

func minNonZero(x, y int64) int64 {
	switch {
	case x == 0:
		return y
	case y == 0:
		return x
	}
	return min(x, y)
}

// fill sets the fields of t from a; t.RRName must be set. names maps
// sensor numbers to ids.
func (a *agg) fill(t *pdns.Tuple, names *sensorDict) error {
	t.TimeFirst, t.TimeLast = a.timeFirst, a.timeLast
	t.ZoneTimeFirst, t.ZoneTimeLast = a.zoneFirst, a.zoneLast
	t.Count = a.count
	bail, err := bailiwickOf(t.RRName, a.bail)
	if err != nil {
		return err
	}
	t.Bailiwick = bail
	if len(a.sensors) > 0 {
		t.SensorIDs = names.names(a.sensors)
	}
	return nil
}

// NXDOMAIN counter values.

func appendNX(dst []byte, c *store.NXCount) []byte {
	dst = binary.AppendUvarint(dst, c.Count)
	dst = binary.AppendUvarint(dst, uint64(c.TimeFirst))
	return binary.AppendUvarint(dst, uint64(c.TimeLast-c.TimeFirst))
}

func decodeNX(b []byte, c *store.NXCount) error {
	r := reader{b: b}
	c.Count = r.uvarint()
	c.TimeFirst = int64(r.uvarint32())
	c.TimeLast = c.TimeFirst + int64(r.uvarint32())
	if r.err != nil || len(r.b) != 0 || c.TimeLast > store.MaxTime {
		return errValue
	}
	return nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errValue
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint32() uint32 {
	v := r.uvarint()
	if v > math.MaxUint32 {
		r.err = errValue
		return 0
	}
	return uint32(v)
}

func (r *reader) uint32() uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 4 {
		r.err = errValue
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errValue
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// The merge operator.

const mergerName = "dnsscout.tuple.v1"

var merger = &pebble.Merger{
	Name: mergerName,
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		m := &valueMerger{nx: len(key) > 0 && key[0] == tNX}
		if err := m.decode(value, &m.acc); err != nil {
			return nil, err
		}
		return m, nil
	},
}

type valueMerger struct {
	nx    bool
	acc   agg
	accNX store.NXCount
	tmp   agg
	tmpNX store.NXCount
}

func (m *valueMerger) decode(b []byte, a *agg) error {
	if m.nx {
		c := &m.accNX
		if a == &m.tmp {
			c = &m.tmpNX
		}
		return decodeNX(b, c)
	}
	return decodeValue(b, a)
}

func (m *valueMerger) add(value []byte, older bool) error {
	if err := m.decode(value, &m.tmp); err != nil {
		return err
	}
	if m.nx {
		m.accNX.Merge(&m.tmpNX)
		return nil
	}
	m.acc.merge(&m.tmp, older)
	return nil
}

func (m *valueMerger) MergeNewer(value []byte) error { return m.add(value, false) }
func (m *valueMerger) MergeOlder(value []byte) error { return m.add(value, true) }

func (m *valueMerger) Finish(bool) ([]byte, io.Closer, error) {
	if m.nx {
		return appendNX(nil, &m.accNX), nil, nil
	}
	return m.acc.encode(nil), nil, nil
}
