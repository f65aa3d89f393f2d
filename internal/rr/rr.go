// Package rr converts miekg/dns resource records into dnsscout's
// presentation form (owner and RDATA as in a master file, domain names lower
// case and fully qualified) and extracts the domain names a record points
// at. It is the one place that knows which RDATA fields hold names
// (NameTypes, from which store, ingest and pdns derive theirs); it does not
// send queries.
package rr

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
)

// Data returns the RDATA of r in master-file presentation form, with every
// embedded domain name lower case and fully qualified (RFC 4034 section 6.2
// canonical case). TXT and other free text keep their case.
func Data(r dns.RR) string {
	r = canonical(r)
	full := r.String()
	hdr := r.Header().String()
	if strings.HasPrefix(full, hdr) {
		return full[len(hdr):]
	}
	// Header().String() and String() disagree only for exotic types; fall
	// back to cutting the four header fields.
	return cutHeader(full)
}

// Type returns the mnemonic of r's type, or TYPEn (RFC 3597).
func Type(r dns.RR) string { return TypeString(r.Header().Rrtype) }

// TypeString returns the mnemonic of t, or TYPEn (RFC 3597).
func TypeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// Owner returns the canonical owner name of r.
func Owner(r dns.RR) string { return dnsname.FromWire(r.Header().Name) }

// Targets returns the canonical domain names that r's RDATA points at (the
// Target fields of NameTypes): CNAME/DNAME/NS/PTR targets, MX exchanges,
// SRV/SVCB/HTTPS targets, SOA MNAME and RNAME (as a name), NAPTR
// replacements and the like. The root name and empty targets ("." in SVCB
// meaning "the owner") are left out.
func Targets(r dns.RR) []string {
	var out []string
	eachName(r, true, func(v reflect.Value) {
		if c := dnsname.FromWire(v.String()); c != "." {
			out = append(out, c)
		}
	})
	return out
}

// canonical returns r, or a copy of r with its embedded names lower-cased
// when any of them has upper case.
func canonical(r dns.RR) dns.RR {
	upper := false
	eachName(r, false, func(v reflect.Value) { upper = upper || hasUpper(v.String()) })
	if !upper {
		return r
	}
	c := dns.Copy(r)
	MapNames(c, strings.ToLower)
	return c
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// cutHeader drops "owner TTL class type" from a presentation line.
func cutHeader(line string) string {
	fields := 0
	inField := false
	for i := 0; i < len(line); i++ {
		sp := line[i] == ' ' || line[i] == '\t'
		if !sp && !inField {
			inField = true
			if fields == 4 {
				return line[i:]
			}
		} else if sp && inField {
			inField = false
			fields++
		}
	}
	return ""
}
