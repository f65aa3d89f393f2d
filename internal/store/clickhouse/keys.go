package clickhouse

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/dnsscout/dnsscout/internal/store"
)

// Names are stored label-reversed with a dot after every label
// ("www.example.com" is "com.example.www.", the root is ""), so that the
// names below a zone are the range [rev(zone), rev(zone) with its last dot
// replaced by "/") of the primary key and an exact name is one key value.
// A label's escaped dots ("a\.b") stay inside the label: a dot that ends a
// label is never preceded by an odd run of backslashes, so prefixes end on
// label boundaries.

// revName returns the stored, label-reversed form of a canonical name.
func revName(name string) string {
	if name == "." || name == "" {
		return ""
	}
	ls := labels(name)
	var b strings.Builder
	b.Grow(len(name) + 1)
	for i := len(ls) - 1; i >= 0; i-- {
		b.WriteString(ls[i])
		b.WriteByte('.')
	}
	return b.String()
}

// fwdName returns the forward form used by right-hand wildcards: the name
// with a dot after its last label; "" for the root.
func fwdName(name string) string {
	if name == "." || name == "" {
		return ""
	}
	return name + "."
}

// nameFromRev turns the stored form back into a canonical name.
func nameFromRev(rev string) string {
	if rev == "" {
		return "."
	}
	ls := labels(strings.TrimSuffix(rev, "."))
	for i, j := 0, len(ls)-1; i < j; i, j = i+1, j-1 {
		ls[i], ls[j] = ls[j], ls[i]
	}
	return strings.Join(ls, ".")
}

// labels splits a presentation name on its unescaped dots.
func labels(name string) []string {
	var out []string
	start := 0
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '.':
			out = append(out, name[start:i])
			start = i + 1
		}
	}
	return append(out, name[start:])
}

// below returns the bounds (exclusive both) of the keys strictly below the
// key prefix p (a stored name form ending in a dot, or "" for everything):
// key > p and, unless hi is "", key < hi.
func below(p string) (lo, hi string) {
	if p == "" {
		return "", ""
	}
	return p, p[:len(p)-1] + "/"
}

// Index keys. Every tuple has index rows in the idx table whose key k is
// one of:
//
//	"f" fwd(rrname)          right-hand wildcards on owner names (rrtype 0, rdata "": one per name)
//	"r" rev(target)          rdata-name lookups, exact and left-hand wildcard
//	"R" fwd(target)          rdata-name right-hand wildcards
//	"4" 4 bytes / "6" 16     address lookups (A, AAAA; IPv4-mapped is "6")
//	"h" 8-byte FNV-1a(rdata) raw rdata lookups (the rdata is compared too)
const (
	kName     = "f"
	kTarget   = "r"
	kTargetFw = "R"
	kIPv4     = "4"
	kIPv6     = "6"
	kRaw      = "h"
)

// rawKey returns the idx key of an exact rdata.
func rawKey(rdata string) string {
	h := fnv.New64a()
	h.Write([]byte(rdata))
	var b [9]byte
	b[0] = kRaw[0]
	binary.BigEndian.PutUint64(b[1:], h.Sum64())
	return string(b[:])
}

// tupleIndexKeys returns the idx keys of a tuple other than its name key.
func tupleIndexKeys(dst []string, rrtype uint16, rdata string) []string {
	for _, n := range store.RDataNames(rrtype, rdata) {
		dst = append(dst, kTarget+revName(n), kTargetFw+fwdName(n))
	}
	if a, ok := store.RDataIP(rrtype, rdata); ok {
		if a.Is4() {
			b := a.As4()
			dst = append(dst, kIPv4+string(b[:]))
		} else {
			b := a.As16()
			dst = append(dst, kIPv6+string(b[:]))
		}
	}
	return append(dst, rawKey(rdata))
}

// Cursors resume after the last tuple delivered: base64url of a version
// byte, the stored owner name (uvarint length first), the rrtype (two bytes)
// and the rdata.
const cursorVersion = 'c'

type tupleKey struct {
	rev    string
	rrtype uint16
	rdata  string
}

func encodeCursor(k tupleKey) string {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(k.rev)+2+len(k.rdata))
	b = append(b, cursorVersion)
	b = binary.AppendUvarint(b, uint64(len(k.rev)))
	b = append(b, k.rev...)
	b = binary.BigEndian.AppendUint16(b, k.rrtype)
	b = append(b, k.rdata...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (tupleKey, error) {
	var k tupleKey
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != cursorVersion {
		return k, fmt.Errorf("%w: %q", store.ErrBadCursor, s)
	}
	b = b[1:]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) || uint64(len(b)-w)-n < 2 {
		return k, fmt.Errorf("%w: %q", store.ErrBadCursor, s)
	}
	b = b[w:]
	k.rev = string(b[:n])
	k.rrtype = binary.BigEndian.Uint16(b[n:])
	k.rdata = string(b[n+2:])
	return k, nil
}
