// Package mailauth parses the mail-authentication policies published in
// DNS TXT records: SPF (RFC 7208) and DMARC (RFC 7489). Recon mines names
// from them; the audit checks judge them. It sends no queries and judges
// nothing itself.
package mailauth

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SPF parse errors (RFC 7208 permerror causes).
var (
	ErrSPFNotSPF       = errors.New("mailauth: not an SPF record (no v=spf1)")
	ErrSPFSyntax       = errors.New("mailauth: SPF syntax error")
	ErrSPFDupModifier  = errors.New("mailauth: SPF modifier repeated")
	ErrSPFBadMechanism = errors.New("mailauth: unknown SPF mechanism")
)

// SPFTerm is one term of an SPF record: a directive (qualifier and
// mechanism) or a modifier (name=value).
type SPFTerm struct {
	// Qualifier is '+', '-', '~' or '?' for directives ('+' when omitted),
	// 0 for modifiers.
	Qualifier byte
	// Name is the mechanism (all, include, a, mx, ptr, ip4, ip6, exists) or
	// the modifier name, lower case.
	Name string
	// Value is the domain-spec, address or modifier value ("" when absent).
	Value string
	// Prefix is the CIDR length of ip4/ip6/a/mx (-1 when absent); Prefix6
	// the IPv6 dual-cidr length of a/mx (-1 when absent).
	Prefix, Prefix6 int
	// Modifier is true for name=value terms.
	Modifier bool
}

// String returns the term in record form.
func (t SPFTerm) String() string {
	if t.Modifier {
		return t.Name + "=" + t.Value
	}
	var b strings.Builder
	if t.Qualifier != '+' {
		b.WriteByte(t.Qualifier)
	}
	b.WriteString(t.Name)
	if t.Value != "" {
		b.WriteString(":" + t.Value)
	}
	if t.Prefix >= 0 {
		b.WriteString("/" + strconv.Itoa(t.Prefix))
	}
	if t.Prefix6 >= 0 {
		b.WriteString("//" + strconv.Itoa(t.Prefix6))
	}
	return b.String()
}

// SPFRecord is a parsed SPF record.
type SPFRecord struct {
	Terms []SPFTerm
}

// Redirect returns the redirect= modifier's value, or "".
func (r SPFRecord) Redirect() string {
	for _, t := range r.Terms {
		if t.Modifier && t.Name == "redirect" {
			return t.Value
		}
	}
	return ""
}

// All returns the all mechanism, if any.
func (r SPFRecord) All() (SPFTerm, bool) {
	for _, t := range r.Terms {
		if !t.Modifier && t.Name == "all" {
			return t, true
		}
	}
	return SPFTerm{}, false
}

// IsSPF reports whether a TXT string is an SPF record (RFC 7208 4.5: it
// begins with "v=spf1" followed by a space or the end).
func IsSPF(txt string) bool {
	if len(txt) < 6 || !strings.EqualFold(txt[:6], "v=spf1") {
		return false
	}
	return len(txt) == 6 || txt[6] == ' '
}

// ParseSPF parses an SPF record (RFC 7208 section 12 grammar). Errors wrap
// the ErrSPF* sentinels and correspond to permerror results.
func ParseSPF(txt string) (SPFRecord, error) {
	if !IsSPF(txt) {
		return SPFRecord{}, ErrSPFNotSPF
	}
	var rec SPFRecord
	seen := make(map[string]bool)
	for _, f := range strings.Split(txt[6:], " ") {
		if f == "" {
			continue
		}
		t, err := parseSPFTerm(f)
		if err != nil {
			return SPFRecord{}, err
		}
		if t.Modifier && (t.Name == "redirect" || t.Name == "exp") {
			if seen[t.Name] {
				return SPFRecord{}, fmt.Errorf("%w: %s", ErrSPFDupModifier, t.Name)
			}
			seen[t.Name] = true
		}
		rec.Terms = append(rec.Terms, t)
	}
	return rec, nil
}

func parseSPFTerm(f string) (SPFTerm, error) {
	// A modifier is name "=" value with name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
	if i := strings.IndexByte(f, '='); i > 0 && isModifierName(f[:i]) {
		return parseSPFModifier(strings.ToLower(f[:i]), f[i+1:])
	}
	t := SPFTerm{Prefix: -1, Prefix6: -1, Qualifier: '+'}
	if strings.ContainsRune("+-~?", rune(f[0])) {
		t.Qualifier = f[0]
		f = f[1:]
	}
	name, rest := f, ""
	if i := strings.IndexAny(f, ":/"); i >= 0 {
		name, rest = f[:i], f[i:]
	}
	t.Name = strings.ToLower(name)
	var err error
	switch t.Name {
	case "all":
		if rest != "" {
			err = fmt.Errorf("%w: %q", ErrSPFSyntax, f)
		}
	case "include", "exists":
		err = parseSPFDomainArg(&t, rest)
	case "a", "mx", "ptr":
		err = parseSPFHostArgs(&t, f, rest)
	case "ip4", "ip6":
		err = parseSPFNetwork(&t, f, rest)
	default:
		err = fmt.Errorf("%w: %q", ErrSPFBadMechanism, name)
	}
	if err != nil {
		return SPFTerm{}, err
	}
	return t, nil
}

// parseSPFModifier builds the modifier term name=value; name is already lower case.
func parseSPFModifier(name, value string) (SPFTerm, error) {
	t := SPFTerm{Prefix: -1, Prefix6: -1, Modifier: true, Name: name, Value: value}
	if err := checkMacroString(t.Value); err != nil {
		return SPFTerm{}, err
	}
	if (t.Name == "redirect" || t.Name == "exp") && t.Value == "" {
		return SPFTerm{}, fmt.Errorf("%w: empty %s", ErrSPFSyntax, t.Name)
	}
	return t, nil
}

// parseSPFDomainArg parses the required ":domain-spec" of include and exists onto t.
func parseSPFDomainArg(t *SPFTerm, rest string) error {
	if !strings.HasPrefix(rest, ":") || len(rest) == 1 {
		return fmt.Errorf("%w: %s needs a domain", ErrSPFSyntax, t.Name)
	}
	t.Value = rest[1:]
	return checkDomainSpec(t.Value)
}

// parseSPFHostArgs parses the optional ":domain-spec" and dual CIDR of a, mx
// and ptr onto t; f is the whole mechanism for error messages.
func parseSPFHostArgs(t *SPFTerm, f, rest string) error {
	cidr := rest
	if strings.HasPrefix(rest, ":") {
		spec := rest[1:]
		cidr = ""
		if i := strings.IndexByte(spec, '/'); i >= 0 {
			spec, cidr = spec[:i], spec[i:]
		}
		if spec == "" {
			return fmt.Errorf("%w: empty domain in %q", ErrSPFSyntax, f)
		}
		if err := checkDomainSpec(spec); err != nil {
			return err
		}
		t.Value = spec
	}
	if cidr == "" {
		return nil
	}
	if t.Name == "ptr" {
		return fmt.Errorf("%w: ptr takes no prefix", ErrSPFSyntax)
	}
	return parseDualCIDR(cidr, t)
}

// parseSPFNetwork parses the ":address[/prefix]" of ip4 and ip6 onto t; f is
// the whole mechanism for error messages.
func parseSPFNetwork(t *SPFTerm, f, rest string) error {
	if !strings.HasPrefix(rest, ":") {
		return fmt.Errorf("%w: %s needs an address", ErrSPFSyntax, t.Name)
	}
	addr, bits, hasBits := strings.Cut(rest[1:], "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" || (t.Name == "ip4") != a.Is4() {
		return fmt.Errorf("%w: bad %s address %q", ErrSPFSyntax, t.Name, addr)
	}
	t.Value = a.String()
	if !hasBits {
		return nil
	}
	limit := 32
	if t.Name == "ip6" {
		limit = 128
	}
	n, ok := parsePrefixLen(bits, limit)
	if !ok {
		return fmt.Errorf("%w: bad prefix length in %q", ErrSPFSyntax, f)
	}
	t.Prefix = n
	return nil
}

// parsePrefixLen parses a prefix length of at most limit written in decimal
// without sign or leading zero.
func parsePrefixLen(x string, limit int) (int, bool) {
	n, err := strconv.Atoi(x)
	if err != nil || n < 0 || n > limit || x == "" || (len(x) > 1 && x[0] == '0') || x[0] == '+' {
		return 0, false
	}
	return n, true
}

func isModifierName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseDualCIDR parses "/n", "//m" or "/n//m" onto t.
func parseDualCIDR(s string, t *SPFTerm) error {
	v4, v6, dual := strings.Cut(s, "//")
	parse := func(x string, limit int) (int, error) {
		n, ok := parsePrefixLen(x, limit)
		if !ok {
			return 0, fmt.Errorf("%w: bad prefix length %q", ErrSPFSyntax, s)
		}
		return n, nil
	}
	if v4 != "" {
		if !strings.HasPrefix(v4, "/") {
			return fmt.Errorf("%w: bad prefix %q", ErrSPFSyntax, s)
		}
		n, err := parse(v4[1:], 32)
		if err != nil {
			return err
		}
		t.Prefix = n
	}
	if dual {
		n, err := parse(v6, 128)
		if err != nil {
			return err
		}
		t.Prefix6 = n
	}
	return nil
}

// checkMacroString validates macro syntax (RFC 7208 7.1): "%" must be
// followed by "%", "_", "-" or a "{...}" macro.
func checkMacroString(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: invalid character in %q", ErrSPFSyntax, s)
		}
		if c != '%' {
			continue
		}
		if i+1 >= len(s) {
			return fmt.Errorf("%w: dangling %% in %q", ErrSPFSyntax, s)
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return fmt.Errorf("%w: unclosed macro in %q", ErrSPFSyntax, s)
			}
			body := s[i+2 : i+end]
			if body == "" || !strings.ContainsRune("slodiphcrtvSLODIPHCRTV", rune(body[0])) {
				return fmt.Errorf("%w: unknown macro in %q", ErrSPFSyntax, s)
			}
			i += end
		default:
			return fmt.Errorf("%w: bad macro in %q", ErrSPFSyntax, s)
		}
	}
	return nil
}

// checkDomainSpec validates a domain-spec: a macro-string; without macros it
// must end in a label that is not all digits (toplabel).
func checkDomainSpec(s string) error {
	if err := checkMacroString(s); err != nil {
		return err
	}
	if HasMacro(s) {
		return nil
	}
	n := strings.TrimSuffix(s, ".")
	if n == "" || strings.Contains(n, "..") {
		return fmt.Errorf("%w: bad domain %q", ErrSPFSyntax, s)
	}
	top := n[strings.LastIndexByte(n, '.')+1:]
	if strings.Trim(top, "0123456789") == "" {
		return fmt.Errorf("%w: bad domain %q", ErrSPFSyntax, s)
	}
	return nil
}

// HasMacro reports whether an SPF domain-spec holds a macro (%{...}).
func HasMacro(s string) bool { return strings.Contains(s, "%{") }

// DMARC parse errors.
var (
	ErrDMARCNotDMARC = errors.New("mailauth: not a DMARC record (no leading v=DMARC1)")
	ErrDMARCSyntax   = errors.New("mailauth: DMARC syntax error")
)

// DMARCRecord is a parsed DMARC policy record (RFC 7489 6.3).
type DMARCRecord struct {
	// Policy is p= (none, quarantine, reject), "" when absent or invalid.
	Policy string
	// SubdomainPolicy is sp=, "" when absent or invalid (then p applies).
	SubdomainPolicy string
	// Pct is pct= (0..100); 100 when absent or invalid.
	Pct int
	// RUA and RUF are the report URIs.
	RUA, RUF []string
	// ADKIM and ASPF are "r" or "s" ("" when absent: relaxed).
	ADKIM, ASPF string
	// Invalid lists tag values that were ignored as invalid.
	Invalid []string
}

// IsDMARC reports whether a TXT string is a DMARC record: it begins with
// the v tag with value DMARC1 (RFC 7489 6.6.3).
func IsDMARC(txt string) bool {
	tag, _, _ := strings.Cut(txt, ";")
	k, v, ok := strings.Cut(tag, "=")
	return ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(v) == "DMARC1"
}

// ParseDMARC parses a DMARC record. Unknown tags are ignored; invalid
// values of known tags are listed in Invalid. An absent or invalid p tag is
// an error unless a valid rua is present (RFC 7489 6.6.3: then p=none).
func ParseDMARC(txt string) (DMARCRecord, error) {
	if !IsDMARC(txt) {
		return DMARCRecord{}, ErrDMARCNotDMARC
	}
	rec := DMARCRecord{Pct: 100}
	seen := make(map[string]bool)
	parts := strings.Split(txt, ";")
	for i, part := range parts {
		part = strings.Trim(part, " \t")
		if part == "" {
			if i == len(parts)-1 || strings.TrimSpace(strings.Join(parts[i+1:], "")) == "" {
				break // trailing separators
			}
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return DMARCRecord{}, fmt.Errorf("%w: %q is not tag=value", ErrDMARCSyntax, part)
		}
		k = strings.ToLower(strings.Trim(k, " \t"))
		v = strings.Trim(v, " \t")
		if k == "" {
			return DMARCRecord{}, fmt.Errorf("%w: empty tag name", ErrDMARCSyntax)
		}
		if seen[k] {
			rec.Invalid = append(rec.Invalid, fmt.Sprintf("%s repeated (first value kept)", k))
			continue
		}
		seen[k] = true
		switch k {
		case "p", "sp":
			p := strings.ToLower(v)
			if p != "none" && p != "quarantine" && p != "reject" {
				rec.Invalid = append(rec.Invalid, fmt.Sprintf("%s=%s", k, v))
				continue
			}
			if k == "p" {
				rec.Policy = p
			} else {
				rec.SubdomainPolicy = p
			}
		case "pct":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				rec.Invalid = append(rec.Invalid, "pct="+v)
				continue
			}
			rec.Pct = n
		case "rua", "ruf":
			uris, bad := parseDMARCURIs(v)
			if bad != "" {
				rec.Invalid = append(rec.Invalid, fmt.Sprintf("%s=%s", k, bad))
			}
			if k == "rua" {
				rec.RUA = uris
			} else {
				rec.RUF = uris
			}
		case "adkim", "aspf":
			a := strings.ToLower(v)
			if a != "r" && a != "s" {
				rec.Invalid = append(rec.Invalid, fmt.Sprintf("%s=%s", k, v))
				continue
			}
			if k == "adkim" {
				rec.ADKIM = a
			} else {
				rec.ASPF = a
			}
		}
	}
	if rec.Policy == "" {
		if len(rec.RUA) == 0 {
			return DMARCRecord{}, fmt.Errorf("%w: no valid p tag and no rua", ErrDMARCSyntax)
		}
		rec.Policy = "none"
		rec.Invalid = append(rec.Invalid, "p missing or invalid (treated as p=none, RFC 7489 6.6.3)")
	}
	return rec, nil
}

// parseDMARCURIs splits a comma-separated URI list; bad is the first entry
// that is not a URI with a scheme.
func parseDMARCURIs(v string) (uris []string, bad string) {
	for _, u := range strings.Split(v, ",") {
		u = strings.Trim(u, " \t")
		if u == "" {
			continue
		}
		scheme, rest, ok := strings.Cut(u, ":")
		if !ok || scheme == "" || rest == "" || strings.ContainsAny(scheme, " /@") {
			if bad == "" {
				bad = u
			}
			continue
		}
		uris = append(uris, u)
	}
	return uris, bad
}
