package rr

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestNameTableMatchesMiekg holds the name table to an independent source:
// the struct tags miekg/dns packs and unpacks by. Every type miekg/dns knows
// is visited; a type with a name field missing from the table, a field the
// table names that is not a name, or a wire layout that differs from the
// struct's fails.
func TestNameTableMatchesMiekg(t *testing.T) {
	table := map[uint16]NameType{}
	for _, nt := range NameTypes() {
		if _, dup := table[nt.Type]; dup {
			t.Errorf("type %s listed twice", TypeString(nt.Type))
		}
		table[nt.Type] = nt
	}
	if !slices.IsSortedFunc(NameTypes(), func(a, b NameType) int { return cmp.Compare(a.Type, b.Type) }) {
		t.Error("the table is not in type order")
	}
	for _, typ := range slices.Sorted(maps.Keys(dns.TypeToRR)) {
		t.Run(TypeString(typ), func(t *testing.T) {
			st := reflect.TypeOf(dns.TypeToRR[typ]()).Elem()
			want := tagNameFields(st)
			nt, listed := table[typ]
			delete(table, typ)
			var got []string
			for _, f := range nt.Fields {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("table lists name fields %q, miekg/dns tags %q", got, want)
			}
			if !listed {
				return
			}
			if w := wireOf(st); !slices.Equal(nt.Wire, w) {
				t.Errorf("wire layout %v, the struct says %v", nt.Wire, w)
			}
		})
	}
	for typ := range table {
		t.Errorf("type %d in the table is unknown to miekg/dns", typ)
	}
}

// tagNameFields returns the fields miekg/dns packs as domain names:
// (c)domain-name, and the gateway of IPSECKEY and AMTRELAY (a name when the
// gateway type is 3).
func tagNameFields(st reflect.Type) []string {
	var out []string
	for _, f := range rdataFields(st) {
		switch f.Tag.Get("dns") {
		case "domain-name", "cdomain-name", "ipsechost", "amtrelayhost":
			out = append(out, f.Name)
		}
	}
	return out
}

// wireOf derives the wire layout of a struct from its field types and tags:
// fixed-size integers, names, character-strings (an untagged string) and a
// last field of any other encoding taken to the end; nil when a field of
// variable size comes before the end.
func wireOf(st reflect.Type) []WireField {
	fields := rdataFields(st)
	var out []WireField
	fixed := func(n WireField) {
		if k := len(out); k > 0 && out[k-1] > 0 {
			out[k-1] += n
			return
		}
		out = append(out, n)
	}
	for i, f := range fields {
		tag := f.Tag.Get("dns")
		switch {
		case tag == "domain-name" || tag == "cdomain-name":
			out = append(out, WireName)
		case tag == "" && f.Type.Kind() == reflect.String:
			out = append(out, WireString)
		case tag == "" && f.Type.Kind() == reflect.Uint8:
			fixed(1)
		case tag == "" && f.Type.Kind() == reflect.Uint16:
			fixed(2)
		case tag == "" && f.Type.Kind() == reflect.Uint32:
			fixed(4)
		case i == len(fields)-1:
			out = append(out, WireRest)
		default:
			return nil
		}
	}
	return out
}

func TestTargetTokens(t *testing.T) {
	tests := []struct {
		typ  uint16
		want []int
	}{
		{dns.TypeCNAME, []int{0}},
		{dns.TypeMD, []int{0}},
		{dns.TypeMX, []int{2}},
		{dns.TypeSRV, []int{4}},
		{dns.TypeNAPTR, []int{6}},
		{dns.TypeSOA, []int{1, 2}},
		{dns.TypeTALINK, []int{1, 2}},
		{dns.TypePX, []int{2, 3}},
		{dns.TypeHTTPS, []int{2}},
		{dns.TypeRRSIG, nil},
		{dns.TypeNSAPPTR, nil},
		{dns.TypeA, nil},
	}
	for _, tc := range tests {
		t.Run(TypeString(tc.typ), func(t *testing.T) {
			if got := TargetTokens(tc.typ); !slices.Equal(got, tc.want) {
				t.Fatalf("TargetTokens = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMapNames(t *testing.T) {
	tests := []struct {
		rr, wantEnd string
	}{
		{"example.com. 1 IN MX 10 Mail.Example.COM.", "\t10 mail.example.com."},
		{"example.com. 1 IN RRSIG SOA 8 2 300 20300101000000 20200101000000 1 Example.COM. AAAA", " 1 example.com. AAAA"},
		{"example.com. 1 IN HIP 2 200100107B1A74DF365639CC39F1D578 AwEAAbdxyhNuSutc5EMzxTs9LBPCIkOFH8cIvM4p9+LrV4e19WzK00+CI6zBCQTdtWsuxKbWIy87UOoJTwkUs7lBu+Upr1gsNrut79ryra+bSRGQb1slImA8YVJyuIDsj7kwzG7jnERNqnWxZ48AWkskmdHaVDP4BcelrTI3rMXdXF5D RVS1.Example.COM. rvs2.example.com.", " rvs1.example.com. rvs2.example.com."},
		{"example.com. 1 IN TXT \"Mixed Case\"", "\t\"Mixed Case\""},
	}
	for _, tc := range tests {
		t.Run(tc.rr, func(t *testing.T) {
			x := mustRR(t, tc.rr)
			MapNames(x, strings.ToLower)
			if got := x.String(); !strings.HasSuffix(got, tc.wantEnd) {
				t.Fatalf("got %q, want it to end in %q", got, tc.wantEnd)
			}
		})
	}
}

func TestHasNames(t *testing.T) {
	for s, want := range map[string]bool{
		"example.com. 1 IN CNAME a.example.net.":  true,
		"example.com. 1 IN A 192.0.2.1":           false,
		"example.com. 1 IN TYPE65280 \\# 1 00":    false,
		"example.com. 1 IN NSEC a.example.com. A": true,
	} {
		if got := HasNames(mustRR(t, s)); got != want {
			t.Errorf("HasNames(%q) = %v, want %v", s, got, want)
		}
	}
}
