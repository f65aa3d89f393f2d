package rr

import (
	"fmt"
	"reflect"

	"github.com/miekg/dns"
)

// A NameType is an RR type whose RDATA holds domain names: which fields
// they are and, for readers that walk messages without miekg/dns, where they
// sit in the wire form.
type NameType struct {
	Type uint16
	// Fields are the name fields, in RDATA order.
	Fields []NameField
	// Wire is the layout of the whole RDATA in wire form, element by
	// element (a WireField). nil means the layout is not fixed (lengths
	// inside the RDATA or a gateway type decide where the names are): such
	// RDATA is taken as is.
	Wire []WireField
}

// A NameField is one RDATA field that holds a domain name.
type NameField struct {
	// Field is the miekg/dns struct field ("Mx", "SignerName"); a []string
	// field (HIP rendezvous servers) holds several names.
	Field string
	// Target: the record points at this name. Recon follows it (Targets)
	// and rdata-name lookups find it (TargetTokens, store.RDataNames).
	// Other names (signer, next owner, algorithm, and hosts whose place in
	// the text is not fixed) are only brought to canonical case.
	Target bool
}

// WireField is one element of a wire layout: n > 0 is n bytes as they are,
// or one of the elements below.
type WireField int

// Wire layout elements other than fixed bytes.
const (
	WireName   WireField = -1 // a domain name, possibly compressed
	WireString WireField = -2 // a <character-string>: length byte, data
	WireRest   WireField = -3 // everything up to the end of the RDATA
)

// nameTypes is the one table of name-bearing RDATA fields; the store
// (rdata-name index), ingest (wire keys) and pdns (canonical rdata) derive
// theirs from it. TestNameTableMatchesMiekg holds it to the struct tags of
// every type miekg/dns knows.
var nameTypes = []NameType{
	{dns.TypeNS, targets("Ns"), wire(WireName)},
	{dns.TypeMD, targets("Md"), wire(WireName)},
	{dns.TypeMF, targets("Mf"), wire(WireName)},
	{dns.TypeCNAME, targets("Target"), wire(WireName)},
	{dns.TypeSOA, targets("Ns", "Mbox"), wire(WireName, WireName, 20)},
	{dns.TypeMB, targets("Mb"), wire(WireName)},
	{dns.TypeMG, targets("Mg"), wire(WireName)},
	{dns.TypeMR, targets("Mr"), wire(WireName)},
	{dns.TypePTR, targets("Ptr"), wire(WireName)},
	{dns.TypeMINFO, targets("Rmail", "Email"), wire(WireName, WireName)},
	{dns.TypeMX, targets("Mx"), wire(2, WireName)},
	{dns.TypeRP, targets("Mbox", "Txt"), wire(WireName, WireName)},
	{dns.TypeAFSDB, targets("Hostname"), wire(2, WireName)},
	{dns.TypeRT, targets("Host"), wire(2, WireName)},
	{dns.TypeNSAPPTR, others("Ptr"), wire(WireName)}, // obsolete (RFC 1706): not indexed
	{dns.TypeSIG, others("SignerName"), wire(18, WireName, WireRest)},
	{dns.TypePX, targets("Map822", "Mapx400"), wire(2, WireName, WireName)},
	{dns.TypeNXT, others("NextDomain"), wire(WireName, WireRest)},
	{dns.TypeSRV, targets("Target"), wire(6, WireName)},
	{dns.TypeNAPTR, targets("Replacement"), wire(4, WireString, WireString, WireString, WireName)},
	{dns.TypeKX, targets("Exchanger"), wire(2, WireName)},
	{dns.TypeDNAME, targets("Target"), wire(WireName)},
	{dns.TypeIPSECKEY, others("GatewayHost"), nil}, // a host, but only for gateway type 3
	{dns.TypeRRSIG, others("SignerName"), wire(18, WireName, WireRest)},
	{dns.TypeNSEC, others("NextDomain"), wire(WireName, WireRest)},
	{dns.TypeHIP, others("RendezvousServers"), nil}, // hosts, after the variable-length HIT and key
	{dns.TypeTALINK, targets("PreviousName", "NextName"), wire(WireName, WireName)},
	{dns.TypeSVCB, targets("Target"), wire(2, WireName, WireRest)},
	{dns.TypeHTTPS, targets("Target"), wire(2, WireName, WireRest)},
	{dns.TypeLP, targets("Fqdn"), wire(2, WireName)},
	{dns.TypeTKEY, others("Algorithm"), nil},
	{dns.TypeTSIG, others("Algorithm"), nil},
	{dns.TypeAMTRELAY, others("GatewayHost"), nil}, // a host, but only for gateway type 3
}

func wire(l ...WireField) []WireField { return l }

func targets(fields ...string) []NameField { return nameFieldsOf(fields, true) }
func others(fields ...string) []NameField  { return nameFieldsOf(fields, false) }

func nameFieldsOf(fields []string, target bool) []NameField {
	out := make([]NameField, len(fields))
	for i, f := range fields {
		out[i] = NameField{Field: f, Target: target}
	}
	return out
}

// NameTypes returns the table of name-bearing RDATA fields, in type order.
// The caller must not modify it.
func NameTypes() []NameType { return nameTypes }

// TargetTokens returns the 1-based whitespace-separated fields of type t's
// presentation RDATA that hold target names, or nil when t has none. A
// single 0 means the whole RDATA is the name (the type has no other field).
func TargetTokens(t uint16) []int { return tokensByType[t] }

// HasNames reports whether r's RDATA holds domain names.
func HasNames(r dns.RR) bool { return accessors[reflect.TypeOf(r)] != nil }

// MapNames replaces every domain name in r's RDATA with f(name), in place.
func MapNames(r dns.RR, f func(string) string) {
	eachName(r, false, func(v reflect.Value) { v.SetString(f(v.String())) })
}

// eachName calls fn with every (target) name field of r, as a settable
// string value.
func eachName(r dns.RR, targetsOnly bool, fn func(reflect.Value)) {
	acc := accessors[reflect.TypeOf(r)]
	if acc == nil {
		return
	}
	v := reflect.ValueOf(r).Elem()
	for _, f := range acc {
		if targetsOnly && !f.target {
			continue
		}
		fv := v.FieldByIndex(f.index)
		if fv.Kind() == reflect.Slice {
			for i := range fv.Len() {
				fn(fv.Index(i))
			}
			continue
		}
		fn(fv)
	}
}

// accessor is a name field found in the miekg/dns struct.
type accessor struct {
	index  []int // reflect field index
	target bool
}

var (
	// accessors maps the miekg/dns struct type (*dns.MX) to its name
	// fields.
	accessors = map[reflect.Type][]accessor{}
	// tokensByType maps a type to its TargetTokens.
	tokensByType = map[uint16][]int{}
)

func init() {
	for _, nt := range nameTypes {
		acc, tokens, err := derive(nt)
		if err != nil {
			// The table is a constant: TestNameTableMatchesMiekg
			// fails first.
			panic(err)
		}
		accessors[reflect.TypeOf(dns.TypeToRR[nt.Type]())] = acc
		if len(tokens) > 0 {
			tokensByType[nt.Type] = tokens
		}
	}
}

// derive finds nt's fields in the miekg/dns struct of its type and their
// place in the presentation form: the position among the RDATA fields
// (each field before a target name is one token), or 0 when the name is the
// only field.
func derive(nt NameType) ([]accessor, []int, error) {
	newRR, ok := dns.TypeToRR[nt.Type]
	if !ok {
		return nil, nil, fmt.Errorf("rr: name table: type %d unknown to miekg/dns", nt.Type)
	}
	st := reflect.TypeOf(newRR()).Elem()
	flat := rdataFields(st)
	var acc []accessor
	var tokens []int
	for _, nf := range nt.Fields {
		sf, ok := st.FieldByName(nf.Field)
		if !ok {
			return nil, nil, fmt.Errorf("rr: name table: %s has no field %s", st.Name(), nf.Field)
		}
		acc = append(acc, accessor{index: sf.Index, target: nf.Target})
		if !nf.Target {
			continue
		}
		pos := 0
		if len(flat) > 1 {
			for i, f := range flat {
				if f.Name == nf.Field {
					pos = i + 1
				}
			}
		}
		tokens = append(tokens, pos)
	}
	return acc, tokens, nil
}

// rdataFields lists the RDATA fields of a miekg/dns struct in order,
// flattening embedded structs (SIG embeds RRSIG) and leaving out the header.
func rdataFields(st reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range st.NumField() {
		f := st.Field(i)
		switch {
		case f.Name == "Hdr":
		case f.Anonymous && f.Type.Kind() == reflect.Struct:
			out = append(out, rdataFields(f.Type)...)
		default:
			out = append(out, f)
		}
	}
	return out
}
