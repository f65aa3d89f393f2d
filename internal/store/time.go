package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a time for a time fence or a retention cut-off and
// returns Unix seconds: Unix seconds ("1700000000"), RFC 3339
// ("2024-05-01T12:00:00Z"), a date ("2024-05-01", midnight UTC), negative
// seconds relative to now as DNSDB takes them ("-86400"), or a relative
// duration before now ("-7d", "-12h", "-1w2d", "-90m"; units s, m, h, d, w).
func ParseTime(s string, now time.Time) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: empty time", ErrBadQuery)
	}
	if rel, ok := strings.CutPrefix(s, "-"); ok {
		secs, err := parseDuration(rel)
		if err != nil {
			return 0, fmt.Errorf("%w: time %q: %v", ErrBadQuery, s, err)
		}
		t := now.Unix() - secs
		if t <= 0 {
			return 0, fmt.Errorf("%w: time %q is before 1970", ErrBadQuery, s)
		}
		return t, nil
	}
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > 1<<40 {
			return 0, fmt.Errorf("%w: time %q out of range", ErrBadQuery, s)
		}
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Unix() <= 0 {
				return 0, fmt.Errorf("%w: time %q is before 1970", ErrBadQuery, s)
			}
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("%w: time %q is not Unix seconds, RFC 3339, a date or a relative time like -7d", ErrBadQuery, s)
}

// parseDuration reads "86400" (seconds) or a sequence of number+unit.
func parseDuration(s string) (int64, error) {
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > 1<<40 {
			return 0, fmt.Errorf("out of range")
		}
		return n, nil
	}
	if s == "" {
		return 0, fmt.Errorf("missing duration")
	}
	var total int64
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 12 || i == len(s) {
			return 0, fmt.Errorf("want a number and a unit (s, m, h, d, w)")
		}
		n, _ := strconv.ParseInt(s[:i], 10, 64)
		var unit int64
		switch s[i] {
		case 's':
			unit = 1
		case 'm':
			unit = 60
		case 'h':
			unit = 3600
		case 'd':
			unit = 86400
		case 'w':
			unit = 7 * 86400
		default:
			return 0, fmt.Errorf("unknown unit %q (use s, m, h, d, w)", s[i])
		}
		total += n * unit
		if total > 1<<40 {
			return 0, fmt.Errorf("out of range")
		}
		s = s[i+1:]
	}
	return total, nil
}
