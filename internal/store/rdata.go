package store

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/rr"
	"github.com/miekg/dns"
)

// HasRDataNames reports whether tuples of rrtype t carry names that
// KindRDataName lookups find: the Target fields of rr.NameTypes.
func HasRDataNames(t uint16) bool { return rr.TargetTokens(t) != nil }

// RDataNames returns the names in the rdata of an rrtype-t tuple that
// rdata-name lookups find, in canonical form (lower case, no trailing
// dot), without duplicates, in field order. The root (".") and names that
// are not valid stored names are left out. Other types yield nil.
func RDataNames(t uint16, rdata string) []string {
	return AppendRDataNames(nil, t, rdata)
}

// AppendRDataNames appends the names RDataNames returns to dst; with room
// in dst it does not allocate (a bulk write asks for every tuple's).
func AppendRDataNames(dst []string, t uint16, rdata string) []string {
	fields := rr.TargetTokens(t)
	if fields == nil {
		return dst
	}
	base := len(dst)
	add := func(s string) {
		n := canonicalRDataName(s)
		if n == "" || slices.Contains(dst[base:], n) {
			return
		}
		dst = append(dst, n)
	}
	if fields[0] == 0 {
		add(strings.TrimSpace(rdata))
		return dst
	}
	var buf [8]string
	toks := appendTokens(buf[:0], rdata, fields[len(fields)-1])
	for _, f := range fields {
		if f <= len(toks) {
			add(toks[f-1])
		}
	}
	return dst
}

// canonicalRDataName turns a name field into canonical form, or "" when it
// is the root or not a name.
func canonicalRDataName(s string) string {
	if s == "" || s == "." || s == "@" {
		return ""
	}
	if strings.HasSuffix(s, ".") && !escapedAt(s, len(s)-1) {
		s = s[:len(s)-1]
	}
	if s == "" || s == "." || CheckName(s) != nil {
		return ""
	}
	return pdns.ASCIILower(s)
}

// appendTokens appends to out the first n whitespace-separated fields
// of presentation rdata s; a quoted field is one token (quotes kept) and
// backslash escapes are kept.
func appendTokens(out []string, s string, n int) []string {
	n += len(out)
	i := 0
	for len(out) < n {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		quoted := s[i] == '"'
		if quoted {
			i++
		}
		for i < len(s) {
			c := s[i]
			if c == '\\' {
				i += 2
				continue
			}
			if quoted && c == '"' {
				i++
				break
			}
			if !quoted && (c == ' ' || c == '\t') {
				break
			}
			i++
		}
		out = append(out, s[start:min(i, len(s))])
	}
	return out
}

// RDataIP returns the address of an A or AAAA tuple's rdata. An A record
// yields an IPv4 address, an AAAA record an IPv6 one (IPv4-mapped stays
// IPv6).
func RDataIP(t uint16, rdata string) (netip.Addr, bool) {
	if t != dns.TypeA && t != dns.TypeAAAA {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(rdata)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	if t == dns.TypeA && !a.Is4() || t == dns.TypeAAAA && a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}
