package pebble

// Sensor ids are stored as small numbers: a tuple value lists numbers, and
// the dictionary "z sensor 00 ID" -> uvarint number maps them back. A new
// id is numbered and its entry committed before any tuple uses the number;
// the write-ahead log replays in commit order, so a crash can never leave a
// number without its id. Sensors are
// few (one per capture point); the dictionary lives in memory.

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/dnsscout/dnsscout/internal/store"
)

// maxSensorIDs bounds the dictionary.
const maxSensorIDs = 1 << 16

var sensorPrefix = []byte{tSys, 's', 'e', 'n', 's', 'o', 'r', 0}

type sensorDict struct {
	mu   sync.RWMutex
	num  map[string]uint32
	name []string
}

// load reads the dictionary.
func (d *sensorDict) load(db *pebble.DB) error {
	d.num = map[string]uint32{}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: sensorPrefix, UpperBound: prefixEnd(sensorPrefix)})
	if err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		id := string(it.Key()[len(sensorPrefix):])
		n, k := binary.Uvarint(it.Value())
		if k <= 0 || n >= maxSensorIDs {
			return fmt.Errorf("%w: sensor dictionary entry %q", store.ErrCorrupt, id)
		}
		for uint64(len(d.name)) <= n {
			d.name = append(d.name, "")
		}
		if d.name[n] != "" {
			return fmt.Errorf("%w: sensor number %d used twice", store.ErrCorrupt, n)
		}
		d.name[n] = id
		d.num[id] = uint32(n)
	}
	return it.Error()
}

// numbers returns the ascending, distinct numbers of ids (empty ids
// skipped, at most maxSensors), numbering new ids and writing their
// entries durably first.
func (d *sensorDict) numbers(db *pebble.DB, wo *pebble.WriteOptions, ids []string, dst []uint32) ([]uint32, error) {
	dst = dst[:0]
	d.mu.RLock()
	missing := false
	for _, id := range ids {
		if id == "" {
			continue
		}
		if n, ok := d.num[id]; ok {
			dst = append(dst, n)
		} else {
			missing = true
		}
	}
	d.mu.RUnlock()
	if missing {
		dst = dst[:0]
		d.mu.Lock()
		for _, id := range ids {
			if id == "" {
				continue
			}
			n, ok := d.num[id]
			if !ok {
				if len(d.name) >= maxSensorIDs {
					d.mu.Unlock()
					return nil, fmt.Errorf("%w: more than %d distinct sensor ids", store.ErrBadTuple, maxSensorIDs)
				}
				n = uint32(len(d.name))
				key := append(slices.Clone(sensorPrefix), id...)
				if err := db.Set(key, binary.AppendUvarint(nil, uint64(n)), wo); err != nil {
					d.mu.Unlock()
					return nil, fmt.Errorf("pebble: %w", err)
				}
				d.name = append(d.name, id)
				d.num[id] = n
			}
			dst = append(dst, n)
		}
		d.mu.Unlock()
	}
	slices.Sort(dst)
	dst = slices.Compact(dst)
	if len(dst) > maxSensors {
		dst = dst[:maxSensors]
	}
	return dst, nil
}

// names maps numbers back to ids; a number without an entry (which the
// write order rules out) shows as "sensor#N".
func (d *sensorDict) names(nums []uint32) []string {
	out := make([]string, len(nums))
	d.mu.RLock()
	for i, n := range nums {
		if int(n) < len(d.name) && d.name[n] != "" {
			out[i] = d.name[n]
		} else {
			out[i] = "sensor#" + strconv.Itoa(int(n))
		}
	}
	d.mu.RUnlock()
	slices.Sort(out)
	return out
}
