// Package dnsname owns the canonical form of domain names inside dnsscout:
// lower case, A-labels (IDNA), no trailing dot. It converts user input and
// wire names into that form, compares names by label, and answers
// public-suffix questions. It does not resolve anything.
package dnsname

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Errors returned by Normalize.
var (
	ErrEmpty        = errors.New("dnsname: empty name")
	ErrTooLong      = errors.New("dnsname: name longer than 253 octets")
	ErrLabelTooLong = errors.New("dnsname: label longer than 63 octets")
	ErrEmptyLabel   = errors.New("dnsname: empty label")
	ErrBadChar      = errors.New("dnsname: invalid character")
)

// lookup converts one non-ASCII label. It is the IDNA2008 lookup profile
// (UTS #46 mapping, bidi rule), applied per label so that ASCII labels with
// underscores (_ldap._tcp) stay legal.
var lookup = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))

var display = idna.New(idna.Transitional(false))

// dotReplacer maps the full stops that IDNA treats as label separators.
var dotReplacer = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".")

// Normalize turns user input into the canonical form: IDNA A-labels, lower
// case, no trailing dot. It accepts LDH labels, underscores (service labels)
// and a leading "*" label. It rejects empty labels, over-long names and
// characters that cannot appear in a host or service name.
func Normalize(s string) (string, error) {
	if n, ok := normalizedLDH(s); ok {
		return n, nil
	}
	return normalize(s)
}

// normalizedLDH is Normalize's fast path for the common input that is
// already canonical but for one optional trailing dot: lower-case LDH and
// underscore labels, none empty or longer than 63 octets, 253 in all. It
// returns the name without allocating (an API lookup normalizes its name
// on every request); ok is false for everything else, which normalize
// handles.
func normalizedLDH(s string) (string, bool) {
	n := len(s)
	if n > 0 && s[n-1] == '.' {
		n--
	}
	if n == 0 || n > 253 {
		return "", false
	}
	label := 0
	for i := 0; i < n; i++ {
		switch c := s[i]; {
		case c == '.':
			if label == 0 {
				return "", false
			}
			label = 0
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			if label++; label > 63 {
				return "", false
			}
		default:
			return "", false
		}
	}
	if label == 0 {
		return "", false
	}
	return s[:n], true
}

// normalize is Normalize for any input.
func normalize(s string) (string, error) {
	s = strings.TrimSpace(dotReplacer.Replace(s))
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", ErrEmpty
	}
	labels := strings.Split(s, ".")
	for i, l := range labels {
		if l == "" {
			return "", fmt.Errorf("%w in %q", ErrEmptyLabel, s)
		}
		if !isASCII(l) {
			a, err := lookup.ToASCII(l)
			if err != nil {
				return "", fmt.Errorf("dnsname: %q is not a valid IDNA label: %v", l, err)
			}
			if a == "" {
				// IDNA mapping removed every code point (U+034F, ...).
				return "", fmt.Errorf("%w in %q", ErrEmptyLabel, s)
			}
			l = a
		}
		l = strings.ToLower(l)
		if len(l) > 63 {
			return "", fmt.Errorf("%w: %q", ErrLabelTooLong, l)
		}
		if l == "*" && i == 0 {
			labels[i] = l
			continue
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return "", fmt.Errorf("%w %q in %q", ErrBadChar, string(c), s)
			}
		}
		labels[i] = l
	}
	out := strings.Join(labels, ".")
	if len(out) > 253 {
		return "", ErrTooLong
	}
	return out, nil
}

// FromWire converts a name as miekg/dns presents it (fully qualified, any
// case, escapes kept) into the canonical form: lower case, no trailing dot.
// The root becomes ".".
func FromWire(fqdn string) string {
	if fqdn == "." || fqdn == "" {
		return "."
	}
	return strings.ToLower(strings.TrimSuffix(fqdn, "."))
}

// FQDN returns name with exactly one trailing dot.
func FQDN(name string) string {
	if name == "" || name == "." {
		return "."
	}
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// Display returns the Unicode form of a canonical name for people to read.
// Names that are not valid IDNA are returned unchanged.
func Display(name string) string {
	if !strings.Contains(name, "xn--") {
		return name
	}
	u, err := display.ToUnicode(name)
	if err != nil {
		return name
	}
	return u
}

// IsSubdomain reports whether child equals parent or lies below it. Both are
// canonical names; "." is the parent of every name.
func IsSubdomain(child, parent string) bool {
	if parent == "." || parent == "" {
		return true
	}
	if len(child) == len(parent) {
		return child == parent
	}
	return len(child) > len(parent) && strings.HasSuffix(child, parent) && child[len(child)-len(parent)-1] == '.'
}

// Parent returns the name one label up; the parent of a single label is ".".
func Parent(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return "."
}

// CountLabels returns the number of labels in a canonical name.
func CountLabels(name string) int {
	if name == "." || name == "" {
		return 0
	}
	return strings.Count(name, ".") + 1
}

// FirstLabel returns the leftmost label.
func FirstLabel(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return name
}

// PublicSuffix returns the public suffix of name and whether it is listed in
// the ICANN or private section of the Public Suffix List (false when only the
// list's default "*" rule matched, i.e. the TLD is unknown).
func PublicSuffix(name string) (suffix string, listed bool) {
	suffix, icann := publicsuffix.PublicSuffix(name)
	if icann {
		return suffix, true
	}
	// Private-section suffixes contain a dot; the default rule yields the
	// bare last label.
	return suffix, strings.Contains(suffix, ".")
}

// Registrable returns the registrable domain (eTLD+1) of name, or "" when
// name is itself a public suffix.
func Registrable(name string) string {
	r, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return ""
	}
	return r
}

// Reverse returns the labels of name in reverse order joined by dots
// (www.example.com -> com.example.www), the key order for suffix scans.
func Reverse(name string) string {
	labels := strings.Split(name, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Compare orders two names canonically (RFC 4034 section 6.1): label by
// label from the right, each label as lower-case octets, a name sorting
// before its children. Presentation escapes (\. and \DDD) are decoded. It
// returns -1, 0 or +1.
func Compare(a, b string) int {
	la, lb := wireLabels(a), wireLabels(b)
	for i, j := len(la)-1, len(lb)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if c := strings.Compare(la[i], lb[j]); c != 0 {
			return c
		}
	}
	switch {
	case len(la) < len(lb):
		return -1
	case len(la) > len(lb):
		return 1
	}
	return 0
}

// wireLabels splits a presentation name into lower-cased, unescaped labels.
func wireLabels(name string) []string {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return nil
	}
	var labels []string
	var cur []byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '\\' && i+3 < len(name) && isDigit(name[i+1]) && isDigit(name[i+2]) && isDigit(name[i+3]):
			v := int(name[i+1]-'0')*100 + int(name[i+2]-'0')*10 + int(name[i+3]-'0')
			cur = append(cur, byte(v))
			i += 3
		case c == '\\' && i+1 < len(name):
			cur = append(cur, name[i+1])
			i++
		case c == '.':
			labels = append(labels, strings.ToLower(string(cur)))
			cur = cur[:0]
		default:
			cur = append(cur, c)
		}
	}
	return append(labels, strings.ToLower(string(cur)))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
