package dnsworld

import "github.com/miekg/dns"

// OpenResolver serves its zones authoritatively and resolves every other
// recursive question through Recursor, for anyone who asks: the "open
// resolver" misconfiguration that recon must detect.
type OpenResolver struct {
	Zones    *ZoneHandler
	Recursor *Recursor
}

var _ dns.Handler = (*OpenResolver)(nil)

// ServeDNS answers r.
func (o *OpenResolver) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	if len(r.Question) == 1 && r.Question[0].Qclass == dns.ClassINET && r.RecursionDesired &&
		o.Zones.ZoneFor(CanonName(r.Question[0].Name), r.Question[0].Qtype) == nil {
		o.Recursor.ServeDNS(w, r)
		return
	}
	o.Zones.ServeDNS(w, r)
}
