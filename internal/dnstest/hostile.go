package dnstest

import (
	"crypto/sha1"
	"encoding/base32"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsworld"
)

// Hostile servers, for the suites and benchmarks that check that the code
// under test survives peers that lie, loop and never stop: a zone handler
// with misbehaviours in front of it. Each misbehaviour sees the request
// first and reports whether it answered.

// Misbehaviour answers some requests its own way; it returns false to
// leave a request to the next misbehaviour or the zone.
type Misbehaviour func(w dns.ResponseWriter, req *dns.Msg, zone *ZoneHandler) bool

// Hostile serves zone with the misbehaviours in front of it, in order.
func Hostile(zone *ZoneHandler, ms ...Misbehaviour) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if len(req.Question) == 1 && !req.Response {
			for _, m := range ms {
				if m(w, req, zone) {
					return
				}
			}
		}
		zone.ServeDNS(w, req)
	})
}

// ServeOn serves h on UDP and TCP at addr (an address a World's server
// held, stopped first: the delegation then leads to h) until stop is
// called. Tests use StartServer; this is for programs such as benchmarks.
func ServeOn(addr netip.AddrPort, h dns.Handler) (stop func() error, err error) {
	stop, _, err = serveOn(addr, h)
	return stop, err
}

func qnameOf(req *dns.Msg) string { return dnsworld.CanonName(req.Question[0].Name) }

func soaOfZone(zone *ZoneHandler, origin string) dns.RR {
	z := zone.Zone(origin)
	if z == nil {
		return nil
	}
	for _, x := range z.Records() {
		if x.Header().Rrtype == dns.TypeSOA {
			return x
		}
	}
	return nil
}

// EndlessTransfer answers AXFR and IXFR of origin over TCP with its SOA
// and then messages of 100 invented A records (x<N>.origin), pausing
// between messages, until the client goes away; with stop > 0 it closes
// the connection after stop records instead, before the closing SOA.
func EndlessTransfer(origin string, pause time.Duration, stop int) Misbehaviour {
	origin = dnsworld.CanonName(origin)
	return func(w dns.ResponseWriter, req *dns.Msg, zone *ZoneHandler) bool {
		t := req.Question[0].Qtype
		if (t != dns.TypeAXFR && t != dns.TypeIXFR) || !dnsworld.IsTCP(w) || qnameOf(req) != origin {
			return false
		}
		first := new(dns.Msg)
		first.SetReply(req)
		first.Answer = []dns.RR{soaOfZone(zone, origin)}
		if w.WriteMsg(first) != nil {
			return true
		}
		for i := 0; ; i += 100 {
			if stop > 0 && i >= stop {
				_ = w.Close()
				return true
			}
			m := new(dns.Msg)
			m.SetReply(req)
			m.Question = nil
			for j := range 100 {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "x" + strconv.Itoa(i+j) + "." + origin, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A: net.IPv4(192, 0, 2, byte(j))})
			}
			if w.WriteMsg(m) != nil {
				return true
			}
			if pause > 0 {
				time.Sleep(pause)
			}
		}
	}
}

// InventingNSEC is an NSEC chain of origin that never closes: the NSEC of
// n<K>.origin (and of the apex, K = 0) names n<K+1> as the next name, and
// every n<K> has an A record. Other missing names are denied by the apex's
// NSEC.
func InventingNSEC(origin string) Misbehaviour {
	origin = dnsworld.CanonName(origin)
	invented := func(name string) (int, bool) {
		if !dnsworld.IsSub(origin, name) || name == origin {
			return 0, false
		}
		label, _, _ := strings.Cut(name, ".")
		if !strings.HasPrefix(label, "n") || dnsworld.ParentOf(name) != origin {
			return 0, false
		}
		k, err := strconv.Atoi(label[1:])
		return k, err == nil && k > 0
	}
	nsec := func(owner string, k int) dns.RR {
		return &dns.NSEC{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: 60},
			NextDomain: fmt.Sprintf("n%d.%s", k+1, origin), TypeBitMap: []uint16{dns.TypeA, dns.TypeRRSIG, dns.TypeNSEC}}
	}
	return func(w dns.ResponseWriter, req *dns.Msg, zone *ZoneHandler) bool {
		q := req.Question[0]
		name := qnameOf(req)
		if !dnsworld.IsSub(origin, name) {
			return false
		}
		k, inv := invented(name)
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		switch {
		case q.Qtype == dns.TypeNSEC && (inv || name == origin):
			m.Answer = []dns.RR{nsec(name, k)}
		case inv && q.Qtype == dns.TypeA:
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 9)}}
		case inv:
			m.Ns = []dns.RR{soaOfZone(zone, origin), nsec(name, k)}
		case zone.Answer(req).Rcode == dns.RcodeNameError:
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{soaOfZone(zone, origin), nsec(origin, 0)}
		default:
			return false
		}
		_ = w.WriteMsg(m)
		return true
	}
}

// NSEC3Hashes returns n distinct random NSEC3 owner hashes (base32hex,
// upper case) in chain order, the same for the same seed: the chain of a
// zone of n names.
func NSEC3Hashes(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	enc := base32.HexEncoding.WithPadding(base32.NoPadding)
	out := make([]string, n)
	var b [sha1.Size]byte
	for i := range out {
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		out[i] = enc.EncodeToString(b[:])
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// NSEC3Chain denies every missing name of origin asked with DO with the
// link of hashes (SHA-1, no iterations, no salt) that covers its hash, as
// a zone signed with that chain would.
func NSEC3Chain(origin string, hashes []string) Misbehaviour {
	origin = dnsworld.CanonName(origin)
	return func(w dns.ResponseWriter, req *dns.Msg, zone *ZoneHandler) bool {
		name := qnameOf(req)
		opt := req.IsEdns0()
		if name == origin || !dnsworld.IsSub(origin, name) || opt == nil || !opt.Do() || zone.Answer(req).Rcode != dns.RcodeNameError {
			return false
		}
		h := strings.ToUpper(dns.HashName(name, dns.SHA1, 0, ""))
		i := sort.SearchStrings(hashes, h)
		owner, next := hashes[(i-1+len(hashes))%len(hashes)], hashes[i%len(hashes)]
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeNameError)
		m.Authoritative = true
		m.Ns = []dns.RR{soaOfZone(zone, origin), &dns.NSEC3{Hdr: dns.RR_Header{Name: owner + "." + origin, Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: 60},
			Hash: dns.SHA1, HashLength: 20, NextDomain: next, TypeBitMap: []uint16{dns.TypeA}}}
		_ = w.WriteMsg(m)
		return true
	}
}

// RandomWildcard answers every missing name of the zone (except "_"
// service labels) with an A record whose address changes with every
// query, drawn from 198.51.100.0/24 and 203.0.113.0/24.
func RandomWildcard() Misbehaviour {
	return func(w dns.ResponseWriter, req *dns.Msg, zone *ZoneHandler) bool {
		t := req.Question[0].Qtype
		if t == dns.TypeAXFR || t == dns.TypeIXFR || strings.HasPrefix(qnameOf(req), "_") {
			return false
		}
		m := zone.Answer(req)
		if m == nil || m.Rcode != dns.RcodeNameError {
			return false
		}
		pool := [][3]byte{{198, 51, 100}, {203, 0, 113}}[rand.IntN(2)]
		m.Rcode, m.Ns = dns.RcodeSuccess, nil
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A: net.IPv4(pool[0], pool[1], pool[2], byte(rand.IntN(254)+1))}}
		_ = w.WriteMsg(m)
		return true
	}
}

// Padded adds records to every answer h gives (zone transfers aside):
// records about other names in the answer section, a delegation in the
// authority section and addresses in the additional section — what a
// poisoning attempt sends.
func Padded(h dns.Handler, answer, authority, additional []dns.RR) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		h.ServeDNS(padWriter{ResponseWriter: w, answer: answer, authority: authority, additional: additional}, req)
	})
}

type padWriter struct {
	dns.ResponseWriter
	answer, authority, additional []dns.RR
}

func (p padWriter) WriteMsg(m *dns.Msg) error {
	if len(m.Question) == 1 && m.Question[0].Qtype != dns.TypeAXFR && m.Question[0].Qtype != dns.TypeIXFR {
		m.Answer = append(m.Answer, p.answer...)
		m.Ns = append(m.Ns, p.authority...)
		m.Extra = append(m.Extra, p.additional...)
	}
	return p.ResponseWriter.WriteMsg(m)
}
