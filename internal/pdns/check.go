package pdns

// This file holds the rule every stored tuple follows, whatever produced it
// (sensor, imports, the ingest API): names are names, and rdata is what its
// type says it is.

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"

	"github.com/miekg/dns"
)

// ErrRData: a tuple's rdata is not valid presentation data for its type
// (an A record that is not an IPv4 address, an MX without its preference),
// or the type is one no record may have (OPT, TSIG, ANY).
var ErrRData = errors.New("pdns: rdata does not match its type")

// MaxRData is the longest rdata text a tuple may carry.
const MaxRData = 65535

// CheckRData reports whether rdata is valid presentation data for rrtype:
// what miekg/dns would parse as that type from a master file. The common
// types (A, AAAA, the name types, MX, SRV, SOA, TXT) are checked by hand;
// the others are parsed by miekg/dns. Relative names are accepted (the
// canonical form has them fully qualified). Errors wrap ErrRData and quote
// at most 80 bytes of rdata.
func CheckRData(rrtype uint16, rdata string) error {
	switch {
	case rdata == "":
		return fmt.Errorf("%w: empty rdata", ErrRData)
	case len(rdata) > MaxRData:
		return fmt.Errorf("%w: rdata longer than %d bytes", ErrRData, MaxRData)
	case !storableType(rrtype):
		return fmt.Errorf("%w: type %s is not a record type", ErrRData, TypeString(rrtype))
	}
	var ok bool
	switch rrtype {
	case dns.TypeA:
		a, err := netip.ParseAddr(rdata)
		ok = err == nil && a.Is4()
	case dns.TypeAAAA:
		a, err := netip.ParseAddr(rdata)
		ok = err == nil && a.Is6() && a.Zone() == ""
	case dns.TypeNS, dns.TypeCNAME, dns.TypeDNAME, dns.TypePTR, dns.TypeMB, dns.TypeMD, dns.TypeMF,
		dns.TypeMG, dns.TypeMR:
		ok = fields(rdata, "n")
	case dns.TypeMX, dns.TypeKX, dns.TypeRT, dns.TypeAFSDB:
		ok = fields(rdata, "2n")
	case dns.TypeSRV:
		ok = fields(rdata, "222n")
	case dns.TypeSOA:
		ok = fields(rdata, "nn44444")
	case dns.TypeTXT, dns.TypeSPF:
		ok = txtStrings(rdata)
	case dns.TypeRRSIG:
		// Frequent in traffic, and slow to parse: the form miekg/dns
		// prints is accepted here, anything else is left to it.
		ok = fields(rdata, "t124TT2nb") || parses(rrtype, rdata)
	default:
		ok = parses(rrtype, rdata)
	}
	if !ok {
		return fmt.Errorf("%w: %s rdata %s", ErrRData, TypeString(rrtype), Excerpt(rdata))
	}
	return nil
}

// storableType reports whether a record may have type t: not 0, not a
// meta type (OPT, TSIG, TKEY) and not a query type (AXFR, ANY, ...).
func storableType(t uint16) bool {
	switch t {
	case 0, dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeIXFR, dns.TypeAXFR,
		dns.TypeMAILA, dns.TypeMAILB, dns.TypeANY:
		return false
	}
	return true
}

// fields checks rdata against a layout: one letter per space-separated
// field, "n" a name, "1", "2" and "4" an 8-, 16- and 32-bit decimal
// number, "t" a type, "T" a DNSSEC time (YYYYMMDDHHmmSS or a 32-bit
// number), "b" base64 without spaces.
func fields(rdata, layout string) bool {
	for i := 0; i < len(layout); i++ {
		var tok string
		tok, rdata = cutField(rdata)
		var ok bool
		switch layout[i] {
		case 'n':
			ok = IsPresentationName(tok)
		case '1', '2', '4':
			_, err := strconv.ParseUint(tok, 10, 8*int(layout[i]-'0'))
			ok = err == nil
		case 't':
			_, ok = ParseType(tok)
		case 'T':
			_, err := dns.StringToTime(tok)
			if ok = err == nil; !ok {
				_, err = strconv.ParseUint(tok, 10, 32)
				ok = err == nil
			}
		case 'b':
			ok = tok != "" && isBase64(tok)
		}
		if !ok {
			return false
		}
	}
	return rdata == ""
}

// isBase64 reports whether s is standard, padded base64. It looks each
// byte up in a table: RRSIG and DNSKEY rdata are mostly base64.
func isBase64(s string) bool {
	n := len(s)
	if n%4 != 0 {
		return false
	}
	if n > 0 && s[n-1] == '=' {
		s = s[:n-1]
		if s[n-2] == '=' {
			s = s[:n-2]
		}
	}
	for i := 0; i < len(s); i++ {
		if !base64Alphabet[s[i]] {
			return false
		}
	}
	return true
}

// base64Alphabet marks the bytes of the standard base64 alphabet.
var base64Alphabet = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = true
	}
	return t
}()

// cutField cuts s at its first space that is not escaped.
func cutField(s string) (field, rest string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ' ':
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// IsPresentationName reports whether s is a domain name as master files
// write it: printable ASCII, the characters a master file gives a meaning
// to (space, quotes, parentheses, semicolon) escaped, \DDD escapes at most
// 255, labels of at most 63 octets and at most 255 octets in all; a final
// unescaped dot makes it fully qualified, "." is the root.
func IsPresentationName(s string) bool {
	if s == "." {
		return true
	}
	if s == "" || s[0] == '.' {
		return false
	}
	label, wire := 0, 1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			wire += label + 1
			label = 0
			continue
		case c == '\\':
			n := escapeLen(s[i:])
			if n == 0 {
				return false
			}
			i += n - 1
		case c <= 0x20 || c >= 0x7f || c == '"' || c == '(' || c == ')' || c == ';':
			return false
		}
		if label++; label > 63 {
			return false
		}
	}
	wire += label
	if label > 0 {
		wire++ // the root label of a relative name made absolute
	}
	return wire <= 255
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// escapeLen returns the length of the backslash escape s starts with: 4
// for \DDD (DDD at most 255), 2 for a backslash and a printable ASCII
// character, 0 when it is neither.
func escapeLen(s string) int {
	switch {
	case len(s) < 2:
		return 0
	case isDigit(s[1]):
		if len(s) < 4 || !isDigit(s[2]) || !isDigit(s[3]) ||
			int(s[1]-'0')*100+int(s[2]-'0')*10+int(s[3]-'0') > 255 {
			return 0
		}
		return 4
	case s[1] < 0x20 || s[1] >= 0x7f:
		return 0
	}
	return 2
}

// txtStrings checks TXT rdata: one or more quoted character-strings of at
// most 255 octets, separated by single spaces, printable ASCII inside with
// backslash escapes.
func txtStrings(s string) bool {
	for {
		if len(s) < 2 || s[0] != '"' {
			return false
		}
		n := 0
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			c := s[i]
			switch {
			case c == '\\':
				e := escapeLen(s[i:])
				if e == 0 {
					return false
				}
				i += e - 1
			case c < 0x20 || c >= 0x7f:
				return false
			}
			n++
		}
		if i >= len(s) || n > 255 {
			return false // no closing quote
		}
		s = s[i+1:]
		if s == "" {
			return true
		}
		if s[0] != ' ' {
			return false
		}
		s = s[1:]
	}
}

// parses reports whether miekg/dns parses rdata as a record of type t.
// Master-file syntax that would change what is parsed (an unquoted
// semicolon starting a comment, parentheses joining lines, bytes that are
// not printable ASCII, which the canonical form escapes)
// is refused first.
func parses(t uint16, rdata string) bool {
	quoted := false
	for i := 0; i < len(rdata); i++ {
		c := rdata[i]
		switch {
		case c < 0x20 && c != '\t' || c >= 0x7f:
			return false
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ';' || c == '(' || c == ')'):
			return false
		}
	}
	if quoted {
		return false
	}
	rr, err := dns.NewRR(". 0 IN " + TypeString(t) + " " + rdata)
	if err != nil || rr == nil || rr.Header().Rrtype != t {
		return false
	}
	// The parser keeps some fields as text (hex digests, salts) that only
	// packing decodes.
	buf := packBufs.Get().(*[]byte)
	defer packBufs.Put(buf)
	_, err = dns.PackRR(rr, *buf, 0, nil, false)
	return err == nil
}

// packBufs holds buffers for the largest packed record.
var packBufs = sync.Pool{New: func() any { b := make([]byte, 2*MaxRData); return &b }}

// Excerpt quotes at most 80 bytes of s, Go-escaped, marking a cut with
// "..." and the full length: what an error message may show of input.
func Excerpt(s string) string {
	const max = 80
	if len(s) <= max {
		return strconv.QuoteToASCII(s)
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.QuoteToASCII(s[:max]), len(s))
}
