package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// NXDOMAIN counters travel between remote sensors and a server as NDJSON,
// one object per name:
//
//	{"rrname":"nothere.example.com","count":3,"time_first":1700000000,"time_last":1700000300}
//
// count is at least 1; times are Unix seconds (time_first may be 0,
// unknown).

// ErrNXLine: an NXDOMAIN counter line is malformed.
var ErrNXLine = errors.New("store: bad NXDOMAIN counter line")

// AppendNXLine appends c as one JSON line, newline included.
func AppendNXLine(b []byte, c *NXCount) []byte {
	b = append(b, `{"rrname":`...)
	name, _ := json.Marshal(c.Name) // a string always marshals
	b = append(b, name...)
	b = append(b, `,"count":`...)
	b = strconv.AppendUint(b, c.Count, 10)
	b = append(b, `,"time_first":`...)
	b = strconv.AppendInt(b, c.TimeFirst, 10)
	b = append(b, `,"time_last":`...)
	b = strconv.AppendInt(b, c.TimeLast, 10)
	return append(b, "}\n"...)
}

// ParseNXLine reads one line written by AppendNXLine (or by hand): the
// name is brought to canonical form and checked like a stored name.
func ParseNXLine(line []byte) (NXCount, error) {
	var v struct {
		RRName    *string `json:"rrname"`
		Count     *uint64 `json:"count"`
		TimeFirst int64   `json:"time_first"`
		TimeLast  *int64  `json:"time_last"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return NXCount{}, fmt.Errorf("%w: %v", ErrNXLine, err)
	}
	if dec.More() {
		return NXCount{}, fmt.Errorf("%w: more than one value", ErrNXLine)
	}
	switch {
	case v.RRName == nil:
		return NXCount{}, fmt.Errorf("%w: no rrname", ErrNXLine)
	case v.Count == nil || *v.Count == 0:
		return NXCount{}, fmt.Errorf("%w: count must be at least 1", ErrNXLine)
	case v.TimeLast == nil:
		return NXCount{}, fmt.Errorf("%w: no time_last", ErrNXLine)
	}
	c := NXCount{Name: pdns.CanonicalName(*v.RRName), Count: *v.Count, TimeFirst: v.TimeFirst, TimeLast: *v.TimeLast}
	if err := CheckName(c.Name); err != nil {
		return NXCount{}, fmt.Errorf("%w: rrname: %v", ErrNXLine, err)
	}
	if c.TimeFirst < 0 || c.TimeLast < 0 || c.TimeFirst > MaxTime || c.TimeLast > MaxTime {
		return NXCount{}, fmt.Errorf("%w: time out of range (0 to %d)", ErrNXLine, int64(MaxTime))
	}
	if c.TimeFirst > c.TimeLast {
		return NXCount{}, fmt.Errorf("%w: time_first after time_last", ErrNXLine)
	}
	return c, nil
}
