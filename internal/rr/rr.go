// Package rr converts miekg/dns resource records into dnsscout's
// presentation form (owner and RDATA as in a master file, domain names lower
// case and fully qualified) and extracts the domain names a record points
// at. It is the one place that knows which RDATA fields hold names; it does
// not send queries.
package rr

import (
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

// Targets returns the canonical domain names that r's RDATA points at:
// CNAME/DNAME/NS/PTR targets, MX exchanges, SRV/SVCB/HTTPS targets, SOA
// MNAME and RNAME (as a name), NAPTR replacements and the like. The root
// name and empty targets ("." in SVCB meaning "the owner") are left out.
func Targets(r dns.RR) []string {
	var names []string
	for _, f := range targetFields(r) {
		if c := dnsname.FromWire(*f); c != "." {
			names = append(names, c)
		}
	}
	return names
}

// targetFields returns pointers to the RDATA fields of r that hold domain
// names a resolver would follow or a person would look up.
func targetFields(r dns.RR) []*string {
	switch v := r.(type) {
	case *dns.CNAME:
		return []*string{&v.Target}
	case *dns.DNAME:
		return []*string{&v.Target}
	case *dns.NS:
		return []*string{&v.Ns}
	case *dns.PTR:
		return []*string{&v.Ptr}
	case *dns.MX:
		return []*string{&v.Mx}
	case *dns.SRV:
		return []*string{&v.Target}
	case *dns.SOA:
		return []*string{&v.Ns, &v.Mbox}
	case *dns.SVCB:
		return []*string{&v.Target}
	case *dns.HTTPS:
		return []*string{&v.Target}
	case *dns.NAPTR:
		return []*string{&v.Replacement}
	case *dns.KX:
		return []*string{&v.Exchanger}
	case *dns.AFSDB:
		return []*string{&v.Hostname}
	case *dns.RT:
		return []*string{&v.Host}
	case *dns.MINFO:
		return []*string{&v.Rmail, &v.Email}
	case *dns.RP:
		return []*string{&v.Mbox, &v.Txt}
	case *dns.MB:
		return []*string{&v.Mb}
	case *dns.MG:
		return []*string{&v.Mg}
	case *dns.MR:
		return []*string{&v.Mr}
	case *dns.LP:
		return []*string{&v.Fqdn}
	}
	return nil
}

// nameFields is targetFields plus the names that are not targets but are
// still domain names in canonical form (NSEC next name, RRSIG signer).
func nameFields(r dns.RR) []*string {
	switch v := r.(type) {
	case *dns.NSEC:
		return []*string{&v.NextDomain}
	case *dns.RRSIG:
		return []*string{&v.SignerName}
	}
	return targetFields(r)
}

// canonical returns r, or a copy of r with its embedded names lower-cased
// when any of them has upper case.
func canonical(r dns.RR) dns.RR {
	upper := false
	for _, f := range nameFields(r) {
		if hasUpper(*f) {
			upper = true
			break
		}
	}
	if !upper {
		return r
	}
	c := dns.Copy(r)
	for _, f := range nameFields(c) {
		*f = strings.ToLower(*f)
	}
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
