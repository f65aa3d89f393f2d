package main

// The generator makes passive DNS data shaped like what a resolver's
// sensor sees: many registered domains under a realistic TLD mix, most
// with a handful of names and a few with thousands (hosting, CDNs, ISPs'
// per-customer names); apex NS/SOA/MX/TXT/A/AAAA; www and friends as A or
// CNAME; addresses drawn from per-provider blocks; nameservers and mail
// exchangers shared across many zones through a pool of providers;
// heavy-tailed counts; first/last times spread over three years.
//
// It is deterministic for a seed. The data never leaves the process: the
// names use real TLDs and the addresses span the unicast space only so that
// key prefixes and compression behave as on real data.

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/miekg/dns"
)

type gen struct {
	r         *rand.Rand
	providers []provider
	sensors   []string
	now       int64
}

type provider struct {
	name    string // registered domain of the provider, e.g. "vokamira.net"
	v4      [2]byte
	v6      [4]byte // 2 bytes of a /32 after a fixed first 2
	ns      []string
	mx      []string
	cdn     string
	spf     string
	hosting bool
}

var tlds = []struct {
	tld string
	w   int
}{
	{"com", 450}, {"net", 70}, {"org", 50}, {"de", 45}, {"co.uk", 25}, {"ru", 25}, {"nl", 18}, {"fr", 15},
	{"com.br", 15}, {"it", 12}, {"info", 12}, {"io", 10}, {"jp", 10}, {"pl", 10}, {"es", 10}, {"ca", 9},
	{"com.au", 9}, {"ch", 7}, {"se", 6}, {"be", 6}, {"cz", 5}, {"co", 5}, {"eu", 5}, {"dk", 4}, {"at", 4},
	{"xyz", 6}, {"online", 4}, {"app", 3}, {"dev", 3}, {"us", 4}, {"in", 6}, {"cn", 8}, {"kr", 3}, {"tw", 2},
	{"ac.uk", 1}, {"edu", 3}, {"gov", 1}, {"me", 3}, {"tv", 2}, {"cloud", 2},
}

var tldTotal = func() int {
	n := 0
	for _, t := range tlds {
		n += t.w
	}
	return n
}()

var syllables = strings.Fields(`ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo fu ga ge gi go gu
ha he hi ho hu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru
sa se si so su ta te ti to tu va ve vi vo vu za ze zi zo zu tra tre tri bro bra pla ple ster mon lan tor
vin net cor sol mar dan ken rex lux max tek dat web hub`)

var hostWords = strings.Fields(`www mail api cdn shop blog dev staging vpn m ftp smtp imap pop autodiscover
portal admin login secure app static img media news docs support help status test beta git ci jenkins
grafana kibana ns1 ns2 mx1 mx2 owa remote intranet crm erp wiki forum store pay checkout auth sso id
assets files download upload video stream chat meet calendar office webmail cpanel whm direct origin edge`)

func newGen(seed uint64, now int64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: now}
	g.sensors = []string{"sensor-fra1", "sensor-ams2", "sensor-nyc1", "sensor-sgp1"}
	for i := range 3000 {
		p := provider{name: g.word(2, 4) + "." + []string{"net", "com", "io", "cloud", "de"}[g.r.IntN(5)]}
		p.v4 = [2]byte{byte(1 + g.r.IntN(222)), byte(g.r.IntN(256))}
		if p.v4[0] == 10 || p.v4[0] == 127 {
			p.v4[0]++
		}
		p.v6 = [4]byte{byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(g.r.IntN(256))}
		nns := 2 + g.r.IntN(3)
		for j := range nns {
			p.ns = append(p.ns, fmt.Sprintf("ns%d.%s.", j+1, p.name))
		}
		p.mx = []string{"mx1." + p.name + ".", "mx2." + p.name + "."}
		p.cdn = g.word(1, 2) + ".edge." + p.name + "."
		p.spf = "include:_spf." + p.name
		p.hosting = i%7 == 0
		g.providers = append(g.providers, p)
	}
	return g
}

func (g *gen) word(minSyl, maxSyl int) string {
	n := minSyl + g.r.IntN(maxSyl-minSyl+1)
	var b strings.Builder
	for range n {
		b.WriteString(syllables[g.r.IntN(len(syllables))])
	}
	switch x := g.r.IntN(100); {
	case x < 8:
		b.WriteString(strconv.Itoa(g.r.IntN(1000)))
	case x < 13:
		b.WriteByte('-')
		b.WriteString(syllables[g.r.IntN(len(syllables))])
		b.WriteString(syllables[g.r.IntN(len(syllables))])
	}
	return b.String()
}

func (g *gen) tld() string {
	x := g.r.IntN(tldTotal)
	for _, t := range tlds {
		if x < t.w {
			return t.tld
		}
		x -= t.w
	}
	return "com"
}

// provider picks a provider, favouring the big ones (Zipf-like).
func (g *gen) provider() *provider {
	i := int(float64(len(g.providers)) * g.r.Float64() * g.r.Float64() * g.r.Float64())
	return &g.providers[i]
}

func (g *gen) v4(p *provider) string {
	return netip.AddrFrom4([4]byte{p.v4[0], p.v4[1], byte(g.r.IntN(256)), byte(1 + g.r.IntN(254))}).String()
}

func (g *gen) v6(p *provider) string {
	var a [16]byte
	a[0], a[1] = 0x2a, 0x01
	copy(a[2:6], p.v6[:])
	if g.r.IntN(2) == 0 {
		a[15] = byte(1 + g.r.IntN(255))
		a[7] = byte(g.r.IntN(16))
	} else {
		for i := 8; i < 16; i++ {
			a[i] = byte(g.r.IntN(256))
		}
	}
	return netip.AddrFrom16(a).String()
}

// times returns first/last sighting times and a count.
func (g *gen) times() (int64, int64, uint64) {
	span := int64(3 * 365 * 86400)
	first := g.now - g.r.Int64N(span)
	life := int64(g.r.ExpFloat64() * 120 * 86400)
	last := min(first+life, g.now)
	var count uint64 = 1
	if last > first {
		count = uint64(1 + g.r.ExpFloat64()*float64(1+(last-first)/86400)*3)
	}
	if g.r.IntN(50) == 0 {
		count *= uint64(100 + g.r.IntN(10000))
	}
	return first, last, count
}

func (g *gen) sensorIDs() []string {
	switch g.r.IntN(10) {
	case 0, 1, 2, 3, 4, 5:
		return []string{g.sensors[g.r.IntN(len(g.sensors))]}
	case 6, 7:
		a, b := g.r.IntN(len(g.sensors)), g.r.IntN(len(g.sensors))
		if a == b {
			return []string{g.sensors[a]}
		}
		if a > b {
			a, b = b, a
		}
		return []string{g.sensors[a], g.sensors[b]}
	}
	return nil
}

// zone appends the tuples of one registered domain to dst and returns the
// names worth looking up (the apex and a few hosts).
func (g *gen) zone(dst []pdns.Tuple) ([]pdns.Tuple, string) {
	apex := g.word(2, 4) + "." + g.tld()
	parent := apex[strings.IndexByte(apex, '.')+1:]
	p := g.provider()
	add := func(name string, t uint16, rdata, bail string) {
		first, last, count := g.times()
		dst = append(dst, pdns.Tuple{RRName: name, RRType: t, RData: rdata, Bailiwick: bail,
			TimeFirst: first, TimeLast: last, Count: count, SensorIDs: g.sensorIDs()})
	}
	for _, ns := range p.ns {
		add(apex, dns.TypeNS, ns, parent)
	}
	if g.r.IntN(8) == 0 { // moved DNS provider at some point
		for _, ns := range g.provider().ns[:2] {
			add(apex, dns.TypeNS, ns, parent)
		}
	}
	add(apex, dns.TypeSOA, fmt.Sprintf("%s hostmaster.%s. %d 7200 3600 1209600 300", p.ns[0], apex, 2020000000+g.r.IntN(5000000)), apex)
	if g.r.IntN(10) < 7 {
		if g.r.IntN(2) == 0 {
			add(apex, dns.TypeMX, "10 "+p.mx[0], apex)
			add(apex, dns.TypeMX, "20 "+p.mx[1], apex)
		} else {
			add(apex, dns.TypeMX, "10 mail."+apex+".", apex)
		}
		add(apex, dns.TypeTXT, fmt.Sprintf(`"v=spf1 %s ~all"`, p.spf), apex)
	}
	if g.r.IntN(3) == 0 {
		tok := make([]byte, 24)
		for i := range tok {
			tok[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[g.r.IntN(62)]
		}
		add(apex, dns.TypeTXT, fmt.Sprintf(`"%s-site-verification=%s"`, []string{"google", "ms", "facebook-domain", "apple"}[g.r.IntN(4)], tok), apex)
	}
	nA := 1 + g.r.IntN(2)
	for range nA {
		add(apex, dns.TypeA, g.v4(p), apex)
	}
	if g.r.IntN(10) < 3 {
		add(apex, dns.TypeAAAA, g.v6(p), apex)
	}
	// www: CNAME to a CDN or the apex, or addresses.
	switch g.r.IntN(10) {
	case 0, 1, 2:
		add("www."+apex, dns.TypeCNAME, p.cdn, apex)
	case 3, 4:
		add("www."+apex, dns.TypeCNAME, apex+".", apex)
	default:
		add("www."+apex, dns.TypeA, g.v4(p), apex)
		if g.r.IntN(3) == 0 {
			add("www."+apex, dns.TypeAAAA, g.v6(p), apex)
		}
	}
	// Other hosts: heavy-tailed.
	var hosts int
	switch x := g.r.IntN(1000); {
	case x < 600:
		hosts = g.r.IntN(4)
	case x < 900:
		hosts = 4 + g.r.IntN(16)
	case x < 990:
		hosts = 20 + g.r.IntN(180)
	default:
		hosts = 200 + g.r.IntN(4800)
	}
	machine := hosts > 100 || p.hosting && hosts > 20
	for h := range hosts {
		var label string
		switch {
		case machine && g.r.IntN(3) > 0:
			switch g.r.IntN(3) {
			case 0:
				label = fmt.Sprintf("ip-%d-%d-%d-%d", p.v4[0], p.v4[1], g.r.IntN(256), g.r.IntN(256))
			case 1:
				label = fmt.Sprintf("%s%d", []string{"host", "node", "srv", "vm", "user", "cust"}[g.r.IntN(6)], g.r.IntN(100000))
			default:
				label = strconv.FormatUint(g.r.Uint64()>>20, 36)
			}
		case h < 3 || g.r.IntN(2) == 0:
			label = hostWords[g.r.IntN(len(hostWords))]
		default:
			label = g.word(1, 3)
		}
		name := label + "." + apex
		if g.r.IntN(8) == 0 {
			name = label + "." + hostWords[g.r.IntN(len(hostWords))] + "." + apex
		}
		switch x := g.r.IntN(100); {
		case x < 62:
			for range 1 + g.r.IntN(2) {
				add(name, dns.TypeA, g.v4(p), apex)
			}
		case x < 75:
			add(name, dns.TypeAAAA, g.v6(p), apex)
		case x < 90:
			add(name, dns.TypeCNAME, hostWords[g.r.IntN(len(hostWords))]+"."+apex+".", apex)
		case x < 95:
			add(name, dns.TypeCNAME, p.cdn, apex)
		case x < 98:
			add(name, dns.TypeTXT, fmt.Sprintf(`"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4%s"`, strconv.FormatUint(g.r.Uint64(), 36)), apex)
		default:
			add(name, dns.TypeMX, "10 "+p.mx[0], apex)
		}
	}
	return dst, apex
}
