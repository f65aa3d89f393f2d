package ipintel

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/resolver"
)

// Exchanger sends one DNS question through recursive resolvers.
// *resolver.Resolver implements it (recon's resolver).
type Exchanger interface {
	Exchange(ctx context.Context, q resolver.Query) (*resolver.Response, error)
}

// CymruOptions configure the Team Cymru source. The zero value uses the
// public service.
type CymruOptions struct {
	// OriginZone, Origin6Zone and ASZone are the zones asked. Defaults
	// origin.asn.cymru.com, origin6.asn.cymru.com, asn.cymru.com.
	OriginZone, Origin6Zone, ASZone string
	// NoASName skips the second query for the AS name. Default false.
	NoASName bool
}

// Cymru asks Team Cymru's IP-to-ASN service over DNS: TXT
// <reversed octets>.origin.asn.cymru.com (or the reversed nibbles under
// origin6.asn.cymru.com) answers "ASN | prefix | CC | registry | date";
// TXT AS<n>.asn.cymru.com answers "ASN | CC | registry | date | name".
// Only global unicast, non-private addresses are sent (internal addresses
// must not leak to a third party, and the service knows nothing of them).
// AS names are cached. It is safe for concurrent use.
type Cymru struct {
	ex   Exchanger
	opts CymruOptions

	mu    sync.Mutex
	names map[uint32]string
}

var _ Source = (*Cymru)(nil)

// NewCymru returns the source; ex is required.
func NewCymru(ex Exchanger, opts CymruOptions) (*Cymru, error) {
	if ex == nil {
		return nil, fmt.Errorf("%w: Team Cymru lookups need a DNS exchanger", ErrConfig)
	}
	if opts.OriginZone == "" {
		opts.OriginZone = "origin.asn.cymru.com"
	}
	if opts.Origin6Zone == "" {
		opts.Origin6Zone = "origin6.asn.cymru.com"
	}
	if opts.ASZone == "" {
		opts.ASZone = "asn.cymru.com"
	}
	return &Cymru{ex: ex, opts: opts, names: make(map[uint32]string)}, nil
}

// Name is "cymru".
func (c *Cymru) Name() string { return "cymru" }

// wants tells the Annotator whether asking is worthwhile: an address the
// service can know, and an AS still unknown.
func (c *Cymru) wants(sofar Info, addr netip.Addr) bool {
	return Askable(addr) && sofar.ASN == 0
}

// Askable reports whether an address may be sent to a public service:
// global unicast and not private (RFC 1918, RFC 4193).
func Askable(addr netip.Addr) bool {
	addr = addr.Unmap()
	return addr.IsGlobalUnicast() && !addr.IsPrivate()
}

// OriginName returns the query name for addr.
func (c *Cymru) OriginName(addr netip.Addr) string {
	addr = addr.Unmap()
	var b strings.Builder
	if addr.Is4() {
		o := addr.As4()
		for i := 3; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(o[i])))
			b.WriteByte('.')
		}
		b.WriteString(c.opts.OriginZone)
		return b.String()
	}
	o := addr.As16()
	const hex = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[o[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[o[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString(c.opts.Origin6Zone)
	return b.String()
}

// Lookup implements Source.
func (c *Cymru) Lookup(ctx context.Context, addr netip.Addr) (Info, error) {
	addr = addr.Unmap()
	if !Askable(addr) {
		return Info{}, nil
	}
	txts, err := c.txt(ctx, c.OriginName(addr))
	if err != nil || len(txts) == 0 {
		return Info{}, err
	}
	var best CymruOrigin
	for _, t := range txts {
		o, err := ParseCymruOrigin(t)
		if err != nil || !o.Prefix.Contains(addr) {
			continue
		}
		if !best.Prefix.IsValid() || o.Prefix.Bits() > best.Prefix.Bits() {
			best = o
		}
	}
	if !best.Prefix.IsValid() {
		return Info{}, fmt.Errorf("%w: cymru: %s: no usable answer in %q", ErrLookup, addr, txts)
	}
	info := Info{Prefix: best.Prefix, ASN: best.ASNs[0], Country: best.Country, Registry: best.Registry}
	if !c.opts.NoASName {
		// A missing name is not an error: the prefix and AS stand.
		info.ASName, _ = c.ASName(ctx, info.ASN)
	}
	return info, nil
}

// ASName returns the name of an AS (cached).
func (c *Cymru) ASName(ctx context.Context, asn uint32) (string, error) {
	c.mu.Lock()
	n, ok := c.names[asn]
	c.mu.Unlock()
	if ok {
		return n, nil
	}
	txts, err := c.txt(ctx, "AS"+strconv.FormatUint(uint64(asn), 10)+"."+c.opts.ASZone)
	if err != nil {
		return "", err
	}
	for _, t := range txts {
		a, err := ParseCymruAS(t)
		if err == nil && a.ASN == asn {
			n = a.Name
			break
		}
	}
	c.mu.Lock()
	if len(c.names) < 100000 {
		c.names[asn] = n
	}
	c.mu.Unlock()
	return n, nil
}

// txt asks one TXT question; NXDOMAIN and NODATA are no answer, not an
// error.
func (c *Cymru) txt(ctx context.Context, name string) ([]string, error) {
	resp, err := c.ex.Exchange(ctx, resolver.Query{Name: name, Type: dns.TypeTXT})
	if err != nil {
		return nil, fmt.Errorf("%w: cymru: %s: %v", ErrLookup, name, err)
	}
	if resp == nil || resp.Msg == nil {
		return nil, fmt.Errorf("%w: cymru: %s: empty response", ErrLookup, name)
	}
	switch resp.Msg.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: cymru: %s: %s", ErrLookup, name, dns.RcodeToString[resp.Msg.Rcode])
	}
	var out []string
	for _, rr := range resp.Msg.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// CymruOrigin is one origin answer.
type CymruOrigin struct {
	// ASNs are the origin ASes (several when the prefix is announced by
	// more than one); never empty.
	ASNs     []uint32
	Prefix   netip.Prefix
	Country  string
	Registry string
	// Allocated is the allocation date as written ("2011-08-11"), may be
	// empty.
	Allocated string
}

// ParseCymruOrigin parses "ASN[ ASN...] | prefix | CC | registry | date".
func ParseCymruOrigin(s string) (CymruOrigin, error) {
	f := strings.Split(s, "|")
	if len(f) < 2 {
		return CymruOrigin{}, fmt.Errorf("%w: cymru origin %q: want ASN | prefix | ...", ErrFormat, s)
	}
	var o CymruOrigin
	for _, a := range strings.Fields(f[0]) {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(a), "AS"), 10, 32)
		if err != nil || n == 0 {
			return CymruOrigin{}, fmt.Errorf("%w: cymru origin %q: AS number %q", ErrFormat, s, a)
		}
		o.ASNs = append(o.ASNs, uint32(n))
	}
	if len(o.ASNs) == 0 {
		return CymruOrigin{}, fmt.Errorf("%w: cymru origin %q: no AS number", ErrFormat, s)
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(f[1]))
	if err != nil || p.Addr().Zone() != "" {
		return CymruOrigin{}, fmt.Errorf("%w: cymru origin %q: prefix %q", ErrFormat, s, f[1])
	}
	o.Prefix = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p)).Masked()
	if len(f) > 2 {
		o.Country = countryCode(f[2])
	}
	if len(f) > 3 {
		o.Registry = cleanText(strings.ToLower(f[3]))
	}
	if len(f) > 4 {
		o.Allocated = cleanText(f[4])
	}
	return o, nil
}

// unmapBits is 96 for an IPv4-mapped IPv6 prefix of at least 96 bits.
func unmapBits(p netip.Prefix) int {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return 96
	}
	return 0
}

// CymruAS is one AS answer.
type CymruAS struct {
	ASN      uint32
	Country  string
	Registry string
	// Name is everything after the fourth "|", e.g. "EXAMPLE-NET, US".
	Name string
}

// ParseCymruAS parses "ASN | CC | registry | date | name".
func ParseCymruAS(s string) (CymruAS, error) {
	f := strings.SplitN(s, "|", 5)
	if len(f) < 5 {
		return CymruAS{}, fmt.Errorf("%w: cymru AS %q: want ASN | CC | registry | date | name", ErrFormat, s)
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(f[0])), "AS"), 10, 32)
	if err != nil || n == 0 {
		return CymruAS{}, fmt.Errorf("%w: cymru AS %q: AS number %q", ErrFormat, s, f[0])
	}
	return CymruAS{ASN: uint32(n), Country: countryCode(f[1]), Registry: cleanText(strings.ToLower(f[2])), Name: cleanText(f[4])}, nil
}
