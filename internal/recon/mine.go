package recon

import (
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/mailauth"
	"github.com/dnsscout/dnsscout/internal/rr"
)

// miner reads the records the ledger keeps (ledger.onRecord) for the
// names and address ranges they mention: in-scope names become candidates
// for expansion to verify, out-of-scope names references, SPF ranges
// neighbourhoods for the PTR sweep (ranges wider than the sweep prefix
// are left alone).
type miner struct {
	l                *ledger
	prefix4, prefix6 int
}

// mine extracts the names and address ranges a record mentions: targets of
// NS/MX/CNAME/SRV/PTR/SOA/HTTPS/..., CAA iodef addresses, SPF mechanisms,
// DMARC report addresses and host names inside other TXT strings. In-scope names become
// candidates; out-of-scope names become references.
func (r *miner) mine(x dns.RR, owner string) {
	via := rr.Type(x)
	for _, t := range rr.Targets(x) {
		r.mention(t, owner, via)
	}
	if caa, ok := x.(*dns.CAA); ok && caa.Tag == "iodef" {
		// Incident reports go to mailto:user@domain or a URL's host.
		v := strings.ToLower(caa.Value)
		if addr, ok := strings.CutPrefix(v, "mailto:"); ok {
			if _, domain, ok := strings.Cut(addr, "@"); ok {
				r.mention(domain, owner, "caa-iodef")
			}
		} else if u, err := url.Parse(v); err == nil && u.Hostname() != "" {
			r.mention(u.Hostname(), owner, "caa-iodef")
		}
		return
	}
	txt, ok := x.(*dns.TXT)
	if !ok {
		return
	}
	text := strings.Join(txt.Txt, "")
	lower := strings.ToLower(strings.TrimSpace(text))
	switch {
	case strings.HasPrefix(lower, "v=spf1"):
		names, prefixes := parseSPF(strings.TrimSpace(text))
		for _, n := range names {
			r.mention(n.name, owner, "spf-"+n.mechanism)
		}
		for _, p := range prefixes {
			r.sweep(p)
		}
	case strings.HasPrefix(lower, "v=dmarc1"):
		for _, n := range parseDMARC(strings.TrimSpace(text)) {
			r.mention(n.name, owner, "dmarc-"+n.mechanism)
		}
	default:
		for _, tok := range hostToken.FindAllString(lower, -1) {
			if n, err := dnsname.Normalize(tok); err == nil && r.l.inScope(n) {
				r.l.candidate(n, SourceMined)
			}
		}
	}
}

// mention handles one name found in data.
func (r *miner) mention(name, owner, via string) {
	n, err := dnsname.Normalize(name)
	if err != nil {
		return
	}
	if r.l.inScope(n) {
		r.l.candidate(n, SourceMined)
		return
	}
	r.l.addRef(n, owner, via)
}

// sweep asks for the neighbourhood of the addresses in p to be swept.
func (r *miner) sweep(p netip.Prefix) {
	bits := r.prefix4
	if p.Addr().Is6() {
		bits = r.prefix6
	}
	if p.Bits() < bits {
		return
	}
	r.l.addSweep(p.Addr())
}

// hostToken matches dotted host-name-looking tokens in free text.
var hostToken = regexp.MustCompile(`[a-z0-9_-]+(?:\.[a-z0-9_-]+)+`)

// mentioned is a name and the mechanism or tag it came from.
type mentioned struct{ name, mechanism string }

// parseSPF returns the domain names (include, exists, redirect, a, mx, ptr)
// and the ip4/ip6 ranges of an SPF record (RFC 7208). Macro-expanded parts
// are cut off: "exists:%{i}._spf.example.com" yields "_spf.example.com".
// A record that does not parse yields nothing (the audit reports it).
func parseSPF(record string) ([]mentioned, []netip.Prefix) {
	rec, err := mailauth.ParseSPF(record)
	if err != nil {
		return nil, nil
	}
	var names []mentioned
	var prefixes []netip.Prefix
	for _, t := range rec.Terms {
		switch t.Name {
		case "include", "exists", "redirect", "a", "mx", "ptr":
			arg := t.Value
			if i := strings.LastIndex(arg, "}"); i >= 0 {
				arg = strings.TrimPrefix(arg[i+1:], ".")
			}
			if arg != "" && !mailauth.HasMacro(arg) {
				names = append(names, mentioned{arg, t.Name})
			}
		case "ip4", "ip6":
			a, err := netip.ParseAddr(t.Value)
			if err != nil {
				continue
			}
			bits := t.Prefix
			if bits < 0 {
				bits = a.BitLen()
			}
			if p, err := a.Prefix(bits); err == nil {
				prefixes = append(prefixes, p)
			}
		}
	}
	return names, prefixes
}

// parseDMARC returns the domains of the rua and ruf report addresses of a
// DMARC record (RFC 7489 section 6.3).
func parseDMARC(record string) []mentioned {
	rec, err := mailauth.ParseDMARC(record)
	if err != nil {
		return nil
	}
	var out []mentioned
	for tag, uris := range map[string][]string{"rua": rec.RUA, "ruf": rec.RUF} {
		for _, uri := range uris {
			addr, ok := strings.CutPrefix(strings.ToLower(uri), "mailto:")
			if !ok {
				continue
			}
			if i := strings.IndexByte(addr, '!'); i >= 0 {
				addr = addr[:i]
			}
			if _, domain, ok := strings.Cut(addr, "@"); ok && domain != "" {
				out = append(out, mentioned{domain, tag})
			}
		}
	}
	return out
}
