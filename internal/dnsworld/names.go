package dnsworld

import (
	"bytes"
	"strings"

	"github.com/miekg/dns"
)

// CanonName returns s as a lower-case fully qualified name in miekg's
// presentation format. Escaped upper-case letters (\065) are folded too, by a
// round trip through the wire format. Names that do not pack are lower-cased
// as text.
func CanonName(s string) string {
	if s == "" || s == "." {
		return "."
	}
	// Fast path: names made only of characters miekg never escapes.
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*' || c == '.') {
			simple = false
			break
		}
	}
	if simple {
		return dns.Fqdn(s)
	}
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(s), buf, 0, nil, false)
	if err != nil {
		return dns.CanonicalName(s)
	}
	lowerWire(buf[:n])
	out, _, err := dns.UnpackDomainName(buf[:n], 0)
	if err != nil {
		return dns.CanonicalName(s)
	}
	return out
}

// lowerWire lower-cases the ASCII letters of an uncompressed wire name.
func lowerWire(w []byte) {
	for i := 0; i < len(w); {
		l := int(w[i])
		if l == 0 || l > 63 {
			return
		}
		for j := i + 1; j <= i+l && j < len(w); j++ {
			if w[j] >= 'A' && w[j] <= 'Z' {
				w[j] += 'a' - 'A'
			}
		}
		i += l + 1
	}
}

// nameKey is a name prepared for canonical ordering (RFC 4034 section 6.1):
// its lower-cased labels, rightmost first.
type nameKey [][]byte

// keyOf returns the canonical ordering key of name. Names that do not pack
// get the key of their text labels.
func keyOf(name string) nameKey {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		labels := dns.SplitDomainName(strings.ToLower(name))
		k := make(nameKey, len(labels))
		for i, l := range labels {
			k[len(labels)-1-i] = []byte(l)
		}
		return k
	}
	w := buf[:n]
	lowerWire(w)
	var labels [][]byte
	for i := 0; i < len(w); {
		l := int(w[i])
		if l == 0 || i+1+l > len(w) {
			break
		}
		labels = append(labels, w[i+1:i+1+l])
		i += l + 1
	}
	k := make(nameKey, len(labels))
	for i, l := range labels {
		k[len(labels)-1-i] = l
	}
	return k
}

// compareKeys orders two names canonically: label by label from the right,
// each label compared as an octet string.
func compareKeys(a, b nameKey) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := bytes.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// CanonicalCompare orders two names canonically.
func CanonicalCompare(a, b string) int { return compareKeys(keyOf(a), keyOf(b)) }

// IsSub reports whether child is parent or below it. Both must be canonical.
func IsSub(parent, child string) bool {
	if parent == "." {
		return true
	}
	if len(child) < len(parent) {
		return false
	}
	if child == parent {
		return true
	}
	if !strings.HasSuffix(child, parent) {
		return false
	}
	// The byte before the suffix must be an unescaped label separator.
	return dns.IsSubDomain(parent, child)
}

// ParentOf returns the name one label up, "." for a TLD and for the root.
func ParentOf(name string) string {
	if name == "." {
		return "."
	}
	off, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[off:]
}

// LabelCount returns the number of labels of a canonical name.
func LabelCount(name string) int { return dns.CountLabel(name) }

// AncestorAt returns the ancestor of name that has n labels (name itself
// when n >= its label count).
func AncestorAt(name string, n int) string {
	c := LabelCount(name)
	if n >= c {
		return name
	}
	if n <= 0 {
		return "."
	}
	idx := dns.Split(name)
	return name[idx[c-n]:]
}
