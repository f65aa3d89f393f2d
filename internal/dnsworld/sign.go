package dnsworld

import (
	"crypto"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// SignOptions configures Zone.Sign.
type SignOptions struct {
	// NSEC3 selects NSEC3 (RFC 5155) denial of existence. Default false: NSEC.
	NSEC3 bool
	// Salt is the NSEC3 salt in hex ("" or "-" for none). Default none.
	Salt string
	// Iterations is the number of extra NSEC3 hash iterations. Default 0.
	Iterations uint16
	// OptOut leaves unsigned delegations out of the NSEC3 chain and sets the
	// opt-out flag. Default false.
	OptOut bool
	// Algorithm is the DNSKEY algorithm: ECDSAP256SHA256 (default),
	// ECDSAP384SHA384 or ED25519.
	Algorithm uint8
	// Inception and Expiration bound the signatures. Defaults: one hour ago
	// and thirty days from now.
	Inception, Expiration time.Time
}

// Sign returns a signed copy of the zone: a fresh combined signing key (a
// DNSKEY with flags 257) at the apex, an NSEC or NSEC3 chain, and an RRSIG
// over every authoritative RRset (delegation NS sets and glue stay
// unsigned). DNSSEC records already in the zone are replaced, DS records at
// delegations are kept and signed. The receiver is not modified.
func (z *Zone) Sign(opts SignOptions) (*Zone, error) {
	bits, err := opts.fill(time.Now())
	if err != nil {
		return nil, err
	}
	base := z.unsignedRecords()
	key, signer, err := newSigningKey(z.Origin, z.soa.Hdr.Ttl, opts.Algorithm, bits)
	if err != nil {
		return nil, err
	}
	base = append(base, key)
	negTTL := min(z.soa.Hdr.Ttl, z.soa.Minttl)
	if opts.NSEC3 {
		base = append(base, &dns.NSEC3PARAM{
			Hdr:  dns.RR_Header{Name: z.Origin, Rrtype: dns.TypeNSEC3PARAM, Class: dns.ClassINET, Ttl: 0},
			Hash: dns.SHA1, Iterations: opts.Iterations, Salt: opts.Salt, SaltLength: uint8(len(opts.Salt) / 2),
		})
	}
	u, err := NewZone(z.Origin, base)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSign, err)
	}

	auth, cuts := u.authoritative()
	var chain []dns.RR
	if !opts.NSEC3 {
		chain = u.nsecChain(auth, negTTL)
	} else if chain, err = u.nsec3Chain(auth, cuts, &opts, negTTL); err != nil {
		return nil, err
	}

	// Sign every authoritative RRset and the chain.
	zs := rrsetSigner{opts: &opts, key: key, signer: signer, origin: u.Origin}
	out := u.Records()
	for _, name := range auth {
		n := u.nodes[name]
		for t, set := range n.rrsets {
			if cuts[name] && t != dns.TypeDS {
				continue
			}
			sig, err := zs.sign(set)
			if err != nil {
				return nil, err
			}
			out = append(out, sig)
		}
	}
	for _, rr := range chain {
		sig, err := zs.sign([]dns.RR{rr})
		if err != nil {
			return nil, err
		}
		out = append(out, rr, sig)
	}
	signed, err := NewZone(u.Origin, out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSign, err)
	}
	signed.AllowTransfer = z.AllowTransfer
	return signed, nil
}

// fill sets the documented defaults of o (times relative to now), checks
// the algorithm and salt, upper-cases the salt and returns the key size
// the algorithm takes.
func (o *SignOptions) fill(now time.Time) (bits int, _ error) {
	if o.Algorithm == 0 {
		o.Algorithm = dns.ECDSAP256SHA256
	}
	bits = 256
	switch o.Algorithm {
	case dns.ECDSAP256SHA256, dns.ED25519:
	case dns.ECDSAP384SHA384:
		bits = 384
	default:
		return 0, fmt.Errorf("%w: unsupported algorithm %d", ErrSign, o.Algorithm)
	}
	if o.Inception.IsZero() {
		o.Inception = now.Add(-time.Hour)
	}
	if o.Expiration.IsZero() {
		o.Expiration = now.Add(30 * 24 * time.Hour)
	}
	if o.Salt == "-" {
		o.Salt = ""
	}
	if _, err := hex.DecodeString(o.Salt); err != nil || len(o.Salt) > 510 {
		return 0, fmt.Errorf("%w: bad NSEC3 salt %q", ErrSign, o.Salt)
	}
	o.Salt = strings.ToUpper(o.Salt)
	return bits, nil
}

// unsignedRecords returns the records of z without its DNSSEC records,
// except DS at delegations.
func (z *Zone) unsignedRecords() []dns.RR {
	var base []dns.RR
	for _, rr := range z.Records() {
		switch rr.Header().Rrtype {
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM, dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY:
			continue
		}
		base = append(base, rr)
	}
	return base
}

// newSigningKey generates a combined signing key (flags 257) for origin.
func newSigningKey(origin string, ttl uint32, alg uint8, bits int) (*dns.DNSKEY, crypto.Signer, error) {
	key := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: origin, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: ttl},
		Flags:     dns.ZONE | dns.SEP,
		Protocol:  3,
		Algorithm: alg,
	}
	priv, err := key.Generate(bits)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrSign, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%w: key is not a crypto.Signer", ErrSign)
	}
	return key, signer, nil
}

// authoritative returns, in canonical order, the names whose data z is
// authoritative for or that are delegation points (glue and names below a
// DNAME left out), and the set of delegation points among them.
func (z *Zone) authoritative() (auth []string, cuts map[string]bool) {
	cuts = map[string]bool{}
	auth = make([]string, 0, len(z.order))
	for _, name := range z.order {
		if z.occluded(name) {
			continue
		}
		if name != z.Origin && len(z.nodes[name].rrsets[dns.TypeNS]) > 0 {
			cuts[name] = true
		}
		auth = append(auth, name)
	}
	return auth, cuts
}

// nsecChain links the authoritative names in canonical order with NSEC
// records, the last pointing back to the apex.
func (z *Zone) nsecChain(auth []string, ttl uint32) []dns.RR {
	var chain []dns.RR
	for i, name := range auth {
		next := auth[(i+1)%len(auth)]
		types := nodeTypes(z.nodes[name])
		types = append(types, dns.TypeNSEC, dns.TypeRRSIG)
		chain = append(chain, &dns.NSEC{
			Hdr:        dns.RR_Header{Name: name, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: ttl},
			NextDomain: next,
			TypeBitMap: sortTypes(types),
		})
	}
	return chain
}

// nsec3Chain links the hashes of the authoritative names and the empty
// non-terminals above them with NSEC3 records in hash order; with OptOut,
// delegations without DS stay out and the opt-out flag is set.
func (z *Zone) nsec3Chain(auth []string, cuts map[string]bool, opts *SignOptions, ttl uint32) ([]dns.RR, error) {
	type hashed struct {
		hash  string
		types []uint16
	}
	included := map[string]bool{}
	for _, name := range auth {
		n := z.nodes[name]
		if opts.OptOut && cuts[name] && len(n.rrsets[dns.TypeDS]) == 0 {
			continue
		}
		included[name] = true
	}
	for name := range included {
		for p := name; p != z.Origin; {
			p = ParentOf(p)
			included[p] = true
		}
	}
	hs := make([]hashed, 0, len(included))
	for name := range included {
		var types []uint16
		if n := z.nodes[name]; n != nil {
			types = nodeTypes(n)
			insecure := cuts[name] && len(n.rrsets[dns.TypeDS]) == 0
			if !insecure {
				types = append(types, dns.TypeRRSIG)
			}
		}
		hs = append(hs, hashed{hash: dns.HashName(name, dns.SHA1, opts.Iterations, opts.Salt), types: sortTypes(types)})
	}
	slices.SortFunc(hs, func(a, b hashed) int { return strings.Compare(a.hash, b.hash) })
	var flags uint8
	if opts.OptOut {
		flags = 1
	}
	var chain []dns.RR
	for i, h := range hs {
		if i > 0 && hs[i-1].hash == h.hash {
			return nil, fmt.Errorf("%w: NSEC3 hash collision", ErrSign)
		}
		chain = append(chain, &dns.NSEC3{
			Hdr:        dns.RR_Header{Name: strings.ToLower(h.hash) + "." + Dotless(z.Origin), Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: ttl},
			Hash:       dns.SHA1,
			Flags:      flags,
			Iterations: opts.Iterations,
			SaltLength: uint8(len(opts.Salt) / 2),
			Salt:       opts.Salt,
			HashLength: 20,
			NextDomain: hs[(i+1)%len(hs)].hash,
			TypeBitMap: h.types,
		})
	}
	return chain, nil
}

// rrsetSigner makes the RRSIGs of one zone with its key.
type rrsetSigner struct {
	opts   *SignOptions
	key    *dns.DNSKEY
	signer crypto.Signer
	origin string
}

// sign returns the RRSIG over rrset.
func (s rrsetSigner) sign(rrset []dns.RR) (dns.RR, error) {
	sig := &dns.RRSIG{
		Hdr:        dns.RR_Header{Ttl: rrset[0].Header().Ttl},
		Algorithm:  s.opts.Algorithm,
		Expiration: uint32(s.opts.Expiration.Unix()),
		Inception:  uint32(s.opts.Inception.Unix()),
		KeyTag:     s.key.KeyTag(),
		SignerName: s.origin,
	}
	if err := sig.Sign(s.signer, rrset); err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %v", ErrSign, rrset[0].Header().Name, dns.TypeToString[rrset[0].Header().Rrtype], err)
	}
	return sig, nil
}

// occluded reports whether name lies below a zone cut or a DNAME of z, so
// that its data is glue (or invisible) rather than authoritative.
func (z *Zone) occluded(name string) bool {
	for p := name; p != z.Origin; {
		p = ParentOf(p)
		n := z.nodes[p]
		if n == nil {
			continue
		}
		if p != z.Origin && len(n.rrsets[dns.TypeNS]) > 0 {
			return true
		}
		if len(n.rrsets[dns.TypeDNAME]) > 0 {
			return true
		}
	}
	return false
}

func nodeTypes(n *node) []uint16 {
	ts := make([]uint16, 0, len(n.rrsets)+2)
	for t := range n.rrsets {
		ts = append(ts, t)
	}
	return ts
}

func sortTypes(ts []uint16) []uint16 {
	slices.Sort(ts)
	return slices.Compact(ts)
}

func Dotless(origin string) string {
	if origin == "." {
		return ""
	}
	return origin
}
