package dnsworld

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// MaxZoneRecords bounds the records ParseZone and NewZone accept, so that a
// hostile $GENERATE cannot exhaust memory.
const MaxZoneRecords = 1_000_000

// Zone is one DNS zone held in memory and indexed for authoritative
// lookups. Build it with ParseZone or NewZone; it must not be changed after
// it is handed to a ZoneHandler (swap it with ZoneHandler.Replace instead).
type Zone struct {
	// Origin is the zone apex, a lower-case fully qualified name.
	Origin string
	// AllowTransfer lets ZoneHandler answer AXFR and IXFR for this zone.
	// Default false: transfers are REFUSED.
	AllowTransfer bool

	soa   *dns.SOA
	nodes map[string]*node
	ents  map[string]bool // empty non-terminals
	order []string        // node names in canonical order
	size  int

	nsecOwners []nsecOwner // names holding an NSEC record, canonical order

	nsec3Param  *dns.NSEC3PARAM      // set when the zone is NSEC3-signed
	nsec3       map[string]*nsec3Rec // upper-case hash label -> record
	nsec3Hashes []string             // sorted upper-case hash labels
}

type node struct {
	name   string
	rrsets map[uint16][]dns.RR // every type but RRSIG
	sigs   map[uint16][]dns.RR // RRSIGs by covered type
}

type nsecOwner struct {
	key  nameKey
	name string
}

type nsec3Rec struct {
	rr   *dns.NSEC3
	sigs []dns.RR
}

// ParseZone parses master-file text for the zone origin. Relative names are
// relative to origin; $INCLUDE is refused. The zone must have exactly one SOA
// at its apex, every record must be class IN and at or below the origin, and
// a CNAME may not share its name with other data (RRSIG and NSEC aside).
// Duplicate records are dropped.
func ParseZone(origin, text string) (*Zone, error) {
	rrs, err := ParseRecords(origin, text)
	if err != nil {
		return nil, err
	}
	return NewZone(origin, rrs)
}

// ParseRecords parses master-file text without any zone-level check.
func ParseRecords(origin, text string) ([]dns.RR, error) {
	o, err := CheckOrigin(origin)
	if err != nil {
		return nil, err
	}
	zp := dns.NewZoneParser(strings.NewReader(text), o, "")
	zp.SetIncludeAllowed(false)
	zp.SetDefaultTTL(3600)
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if len(rrs) >= MaxZoneRecords {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyRecords, MaxZoneRecords)
		}
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrZoneSyntax, err)
	}
	return rrs, nil
}

func CheckOrigin(origin string) (string, error) {
	if origin == "" {
		return "", fmt.Errorf("%w: empty", ErrBadOrigin)
	}
	o := CanonName(origin)
	if _, ok := dns.IsDomainName(o); !ok {
		return "", fmt.Errorf("%w: %q", ErrBadOrigin, origin)
	}
	return o, nil
}

// NewZone builds a zone from records, with the checks described at
// ParseZone. The records are copied; owner names are lower-cased.
func NewZone(origin string, rrs []dns.RR) (*Zone, error) {
	o, err := CheckOrigin(origin)
	if err != nil {
		return nil, err
	}
	if len(rrs) > MaxZoneRecords {
		return nil, fmt.Errorf("%w: %d", ErrTooManyRecords, len(rrs))
	}
	z := &Zone{Origin: o, nodes: map[string]*node{}, ents: map[string]bool{}, nsec3: map[string]*nsec3Rec{}}
	var nsec3Sigs []*dns.RRSIG
	packBuf := make([]byte, dns.MaxMsgSize)
	for _, in := range rrs {
		if in == nil {
			continue
		}
		sig, err := z.add(in, packBuf)
		if err != nil {
			return nil, err
		}
		if sig != nil {
			nsec3Sigs = append(nsec3Sigs, sig)
		}
	}
	for _, s := range nsec3Sigs {
		label := strings.ToUpper(strings.SplitN(s.Hdr.Name, ".", 2)[0])
		if rec := z.nsec3[label]; rec != nil && !containsDup(rec.sigs, s) {
			rec.sigs = append(rec.sigs, s)
			z.size++
		}
	}
	apex := z.nodes[o]
	if apex == nil || len(apex.rrsets[dns.TypeSOA]) != 1 {
		return nil, fmt.Errorf("%w (%s)", ErrNoSOA, o)
	}
	z.soa = apex.rrsets[dns.TypeSOA][0].(*dns.SOA)
	if err := z.checkNodes(); err != nil {
		return nil, err
	}
	z.sortNames()
	z.indexNSEC3(apex)
	return z, nil
}

// add checks a copy of one record and files it under its owner's node, or
// in the NSEC3 chain; an RRSIG over NSEC3 is returned instead, for the
// caller to attach once every NSEC3 record is known. Repeats are dropped.
func (z *Zone) add(in dns.RR, packBuf []byte) (nsec3Sig *dns.RRSIG, _ error) {
	o := z.Origin
	rr := dns.Copy(in)
	h := rr.Header()
	h.Name = CanonName(h.Name)
	if h.Class != dns.ClassINET {
		return nil, fmt.Errorf("%w: %s", ErrClass, rr)
	}
	if !IsSub(o, h.Name) {
		return nil, fmt.Errorf("%w %s: %s", ErrOutOfZone, o, rr)
	}
	if err := checkRDATA(rr, packBuf); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrZoneSyntax, rr, err)
	}
	switch v := rr.(type) {
	case *dns.NSEC3:
		if h.Name == o {
			return nil, fmt.Errorf("%w: NSEC3 at the apex %s", ErrZoneSyntax, o)
		}
		label := strings.ToUpper(strings.SplitN(h.Name, ".", 2)[0])
		if _, dup := z.nsec3[label]; !dup {
			z.nsec3[label] = &nsec3Rec{rr: v}
			z.size++
		}
		return nil, nil
	case *dns.RRSIG:
		if v.TypeCovered == dns.TypeNSEC3 {
			return v, nil
		}
	case *dns.SOA:
		if h.Name != o {
			return nil, fmt.Errorf("%w: SOA at %s", ErrNoSOA, h.Name)
		}
	}
	n := z.nodes[h.Name]
	if n == nil {
		n = &node{name: h.Name, rrsets: map[uint16][]dns.RR{}, sigs: map[uint16][]dns.RR{}}
		z.nodes[h.Name] = n
	}
	t, set := h.Rrtype, n.rrsets
	if sig, ok := rr.(*dns.RRSIG); ok {
		t, set = sig.TypeCovered, n.sigs
	}
	if !containsDup(set[t], rr) {
		set[t] = append(set[t], rr)
		z.size++
	}
	return nil, nil
}

// checkNodes refuses a CNAME beside other data (NSEC aside) or a second
// CNAME, and records the empty non-terminals between each node and the apex.
func (z *Zone) checkNodes() error {
	o := z.Origin
	for name, n := range z.nodes {
		if c := n.rrsets[dns.TypeCNAME]; len(c) > 0 {
			if len(c) > 1 {
				return fmt.Errorf("%w: %d CNAMEs at %s", ErrCNAMEConflict, len(c), name)
			}
			for t := range n.rrsets {
				if t != dns.TypeCNAME && t != dns.TypeNSEC {
					return fmt.Errorf("%w: %s has %s", ErrCNAMEConflict, name, dns.TypeToString[t])
				}
			}
		}
		for p := name; p != o; {
			p = ParentOf(p)
			if p == o || z.nodes[p] != nil || z.ents[p] {
				break
			}
			z.ents[p] = true
		}
	}
	return nil
}

// sortNames puts the owner names in canonical order and lists the NSEC owners.
func (z *Zone) sortNames() {
	z.order = make([]string, 0, len(z.nodes))
	keys := make(map[string]nameKey, len(z.nodes))
	for name := range z.nodes {
		z.order = append(z.order, name)
		keys[name] = keyOf(name)
	}
	sort.Slice(z.order, func(i, j int) bool {
		return compareKeys(keys[z.order[i]], keys[z.order[j]]) < 0
	})
	for _, name := range z.order {
		if len(z.nodes[name].rrsets[dns.TypeNSEC]) > 0 {
			z.nsecOwners = append(z.nsecOwners, nsecOwner{key: keys[name], name: name})
		}
	}
}

// indexNSEC3 picks the chain the apex NSEC3PARAM names (the first with no
// flags and SHA-1) and lists its hashes in order; records of another chain
// are served in AXFR, never as a proof.
func (z *Zone) indexNSEC3(apex *node) {
	if ps := apex.rrsets[dns.TypeNSEC3PARAM]; len(ps) > 0 && len(z.nsec3) > 0 {
		for _, p := range ps {
			p := p.(*dns.NSEC3PARAM)
			if p.Flags == 0 && p.Hash == dns.SHA1 {
				z.nsec3Param = p
				break
			}
		}
	}
	for h, rec := range z.nsec3 {
		if z.nsec3Param != nil && (rec.rr.Iterations != z.nsec3Param.Iterations ||
			!strings.EqualFold(rec.rr.Salt, z.nsec3Param.Salt) || rec.rr.Hash != z.nsec3Param.Hash) {
			continue // another chain: served in AXFR, never as a proof
		}
		z.nsec3Hashes = append(z.nsec3Hashes, h)
	}
	slices.Sort(z.nsec3Hashes)
}

// checkRDATA rejects records the text parser accepts but a zone cannot
// serve: RDATA the wire format cannot carry (an odd-length hex salt, say)
// and empty RDATA (an update-style "www NS" line), which would not survive
// Text either.
func checkRDATA(rr dns.RR, buf []byte) error {
	end, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return err
	}
	nameLen, err := dns.PackDomainName(rr.Header().Name, buf, 0, nil, false)
	if err != nil {
		return err
	}
	if end-nameLen-10 == 0 {
		if _, generic := rr.(*dns.RFC3597); !generic && rr.Header().Rrtype != dns.TypeAPL {
			return fmt.Errorf("empty RDATA")
		}
	}
	// Generic RDATA (\# n hex) that stops short of the type's last
	// field unpacks without error but leaves that field empty; the
	// record's text form then does not parse. Text() must round-trip.
	if _, err := dns.NewRR(rr.String()); err != nil {
		return fmt.Errorf("incomplete RDATA")
	}
	return nil
}

func containsDup(set []dns.RR, rr dns.RR) bool {
	for _, x := range set {
		if dns.IsDuplicate(x, rr) {
			return true
		}
	}
	return false
}

// Serial returns the SOA serial.
func (z *Zone) Serial() uint32 { return z.soa.Serial }

// SOA returns a copy of the zone's SOA record.
func (z *Zone) SOA() *dns.SOA { return dns.Copy(z.soa).(*dns.SOA) }

// Len returns the number of records in the zone.
func (z *Zone) Len() int { return z.size }

// Signed reports whether the zone holds DNSSEC denial records (NSEC or an
// NSEC3 chain announced by NSEC3PARAM).
func (z *Zone) Signed() bool { return len(z.nsecOwners) > 0 || z.nsec3Param != nil }

// NSEC3Param returns the zone's NSEC3PARAM, nil for unsigned and NSEC zones.
func (z *Zone) NSEC3Param() *dns.NSEC3PARAM {
	if z.nsec3Param == nil {
		return nil
	}
	return dns.Copy(z.nsec3Param).(*dns.NSEC3PARAM)
}

// Names returns every owner name (NSEC3 owners excluded) in canonical order.
func (z *Zone) Names() []string { return slices.Clone(z.order) }

// Lookup returns a copy of the RRset of type t at name (no RRSIGs), nil when
// there is none. It is a plain index lookup, not the query algorithm.
func (z *Zone) Lookup(name string, t uint16) []dns.RR {
	n := z.nodes[CanonName(name)]
	if n == nil {
		return nil
	}
	return copyRRs(n.rrsets[t])
}

// DS returns SHA-256 DS records for the zone's SEP (KSK or CSK) DNSKEYs.
func (z *Zone) DS() []dns.RR {
	var out []dns.RR
	for _, rr := range z.nodes[z.Origin].rrsets[dns.TypeDNSKEY] {
		k := rr.(*dns.DNSKEY)
		if k.Flags&dns.SEP == 0 || k.Flags&dns.ZONE == 0 {
			continue
		}
		if ds := k.ToDS(dns.SHA256); ds != nil {
			out = append(out, ds)
		}
	}
	return out
}

// Records returns every record of the zone: the SOA first, then each name in
// canonical order with its RRsets by type, each followed by its RRSIGs, then
// the NSEC3 chain. This is the order of an AXFR (without the closing SOA).
func (z *Zone) Records() []dns.RR {
	out := make([]dns.RR, 0, z.size)
	out = append(out, dns.Copy(z.soa))
	for _, s := range z.nodes[z.Origin].sigs[dns.TypeSOA] {
		out = append(out, dns.Copy(s))
	}
	for _, name := range z.order {
		n := z.nodes[name]
		for _, t := range sortedTypes(n) {
			if name == z.Origin && t == dns.TypeSOA {
				continue
			}
			out = append(out, copyRRs(n.rrsets[t])...)
			out = append(out, copyRRs(n.sigs[t])...)
		}
	}
	for _, h := range z.sortedNSEC3() {
		rec := z.nsec3[h]
		out = append(out, dns.Copy(rec.rr))
		out = append(out, copyRRs(rec.sigs)...)
	}
	return out
}

// sortedNSEC3 returns every NSEC3 hash label (of any chain) in order.
func (z *Zone) sortedNSEC3() []string {
	hs := make([]string, 0, len(z.nsec3))
	for h := range z.nsec3 {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	return hs
}

// Text returns the zone as master-file text with absolute names, in the
// order of Records. ParseZone(z.Origin, z.Text()) rebuilds the zone.
func (z *Zone) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n", z.Origin)
	for _, rr := range z.Records() {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// sortedTypes returns the types present at n (data or signatures) in
// numeric order.
func sortedTypes(n *node) []uint16 {
	ts := make([]uint16, 0, len(n.rrsets)+1)
	for t := range n.rrsets {
		ts = append(ts, t)
	}
	for t := range n.sigs {
		if _, ok := n.rrsets[t]; !ok {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return ts
}

func copyRRs(in []dns.RR) []dns.RR {
	if len(in) == 0 {
		return nil
	}
	out := make([]dns.RR, len(in))
	for i, rr := range in {
		out[i] = dns.Copy(rr)
	}
	return out
}

// NSEC3Hashes returns the owner hashes of the zone's NSEC3 chain
// (upper-case base32hex, sorted); empty unless the zone is NSEC3-signed.
func (z *Zone) NSEC3Hashes() []string { return slices.Clone(z.nsec3Hashes) }

// NSECOwners returns the names holding an NSEC record, in canonical order;
// empty unless the zone is NSEC-signed.
func (z *Zone) NSECOwners() []string {
	out := make([]string, len(z.nsecOwners))
	for i, o := range z.nsecOwners {
		out[i] = o.name
	}
	return out
}

// IsEmptyNonTerminal reports whether name (canonical, fully qualified)
// exists in the zone only as an ancestor of other names.
func (z *Zone) IsEmptyNonTerminal(name string) bool { return z.ents[name] }
