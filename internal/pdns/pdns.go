// Package pdns defines the passive DNS observation tuple that sensors
// produce, stores keep and APIs serve, and its Common Output Format (COF,
// draft-dulaunoy-dnsop-passive-dns-cof) encoding. It knows nothing of
// packets, storage or HTTP.
package pdns

import (
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Tuple is the aggregate of every sighting of one (RRName, RRType, RData):
// when it was first and last seen, how many times, from which bailiwick and
// by which sensors.
type Tuple struct {
	// RRName is the owner name: lower case, no trailing dot ("." for the
	// root), A-labels.
	RRName string
	RRType uint16
	// RData is one record's data in master-file presentation form with
	// names fully qualified (trailing dot), as DNSDB presents it.
	RData string
	// Bailiwick is the zone the answering server was authoritative for, as
	// far as the sensor could tell (no trailing dot); empty when unknown.
	Bailiwick string
	// TimeFirst and TimeLast are Unix seconds of sightings in traffic;
	// zero when the tuple has only been seen in zone files.
	TimeFirst int64
	TimeLast  int64
	// ZoneTimeFirst and ZoneTimeLast are Unix seconds of sightings in zone
	// files; zero when never seen in one.
	ZoneTimeFirst int64
	ZoneTimeLast  int64
	// Count is the number of sightings.
	Count uint64
	// SensorIDs is the sorted set of sensors that saw the tuple.
	SensorIDs []string
}

// Key identifies a tuple.
type Key struct {
	RRName string
	RRType uint16
	RData  string
}

// Key returns the tuple's identity.
func (t *Tuple) Key() Key { return Key{t.RRName, t.RRType, t.RData} }

// Merge folds o into t: first = min, last = max, count = sum, sensor ids
// united. A zero time means "never" and does not win a min. The bailiwick
// of t is kept unless it is empty.
func (t *Tuple) Merge(o *Tuple) {
	t.TimeFirst = minNonZero(t.TimeFirst, o.TimeFirst)
	t.TimeLast = max(t.TimeLast, o.TimeLast)
	t.ZoneTimeFirst = minNonZero(t.ZoneTimeFirst, o.ZoneTimeFirst)
	t.ZoneTimeLast = max(t.ZoneTimeLast, o.ZoneTimeLast)
	t.Count += o.Count
	if t.Bailiwick == "" {
		t.Bailiwick = o.Bailiwick
	}
	for _, s := range o.SensorIDs {
		if i, found := slices.BinarySearch(t.SensorIDs, s); !found {
			t.SensorIDs = slices.Insert(t.SensorIDs, i, s)
		}
	}
}

func minNonZero(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	default:
		return min(a, b)
	}
}

// TypeString returns the rrtype mnemonic, or TYPEn (RFC 3597) when it has
// none.
func TypeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// ParseType accepts a mnemonic in any case or TYPEn.
func ParseType(s string) (uint16, bool) {
	u := strings.ToUpper(s)
	if t, ok := dns.StringToType[u]; ok {
		return t, true
	}
	if n, ok := strings.CutPrefix(u, "TYPE"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		if err == nil {
			return uint16(v), true
		}
	}
	return 0, false
}

// DNSSECTypes are the types that DNSDB's ANY excludes and ANY-DNSSEC
// selects.
var DNSSECTypes = []uint16{
	dns.TypeDS, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeDNSKEY, dns.TypeNSEC3,
	dns.TypeNSEC3PARAM, dns.TypeDLV, dns.TypeCDS, dns.TypeCDNSKEY, dns.TypeTA,
}

// IsDNSSEC reports whether t is one of DNSSECTypes.
func IsDNSSEC(t uint16) bool { return slices.Contains(DNSSECTypes, t) }
