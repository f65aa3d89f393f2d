package dnstest

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// ask sends one query (UDP, retried over TCP on truncation) and fails the
// test on a transport error.
func ask(t testing.TB, addr netip.AddrPort, name string, qtype uint16, do bool) *dns.Msg {
	t.Helper()
	m := newQuery(name, qtype, dns.ClassINET, do)
	r, err := askMsg(addr, m)
	if err != nil {
		t.Fatalf("%s %s @%s: %v", name, dns.TypeToString[qtype], addr, err)
	}
	return r
}

// askRD is ask with RD set (for recursive resolvers).
func askRD(t testing.TB, addr netip.AddrPort, name string, qtype uint16, do bool) *dns.Msg {
	t.Helper()
	m := newQuery(name, qtype, dns.ClassINET, do)
	m.RecursionDesired = true
	r, err := askMsg(addr, m)
	if err != nil {
		t.Fatalf("%s %s @%s (RD): %v", name, dns.TypeToString[qtype], addr, err)
	}
	return r
}

func askMsg(addr netip.AddrPort, m *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exchange(ctx, addr, m, false)
}

// axfr transfers zone from addr; it returns the records and the rcode of a
// refusal (or a transport error).
func axfr(addr netip.AddrPort, zone string) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetAxfr(dns.Fqdn(zone))
	tr := &dns.Transfer{DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second}
	ch, err := tr.In(m, addr.String())
	if err != nil {
		return nil, err
	}
	var rrs []dns.RR
	for env := range ch {
		if env.Error != nil {
			return rrs, env.Error
		}
		rrs = append(rrs, env.RR...)
	}
	return rrs, nil
}

// chaosTXT returns the CHAOS TXT answer for name, "" when there is none.
func chaosTXT(t testing.TB, addr netip.AddrPort, name string) (string, int) {
	t.Helper()
	r, err := askMsg(addr, newQuery(name, dns.TypeTXT, dns.ClassCHAOS, false))
	if err != nil {
		t.Fatalf("CH TXT %s @%s: %v", name, addr, err)
	}
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			return strings.Join(txt.Txt, ""), r.Rcode
		}
	}
	return "", r.Rcode
}

// nsid asks addr for its NSID.
func nsid(t testing.TB, addr netip.AddrPort, zone string) string {
	t.Helper()
	m := newQuery(zone, dns.TypeSOA, dns.ClassINET, false)
	opt := m.IsEdns0()
	opt.Option = append(opt.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
	r, err := askMsg(addr, m)
	if err != nil {
		t.Fatalf("NSID @%s: %v", addr, err)
	}
	if o := r.IsEdns0(); o != nil {
		for _, e := range o.Option {
			if n, ok := e.(*dns.EDNS0_NSID); ok {
				return hexText(n.Nsid)
			}
		}
	}
	return ""
}

func hexText(h string) string {
	var b []byte
	for i := 0; i+1 < len(h); i += 2 {
		var v byte
		for _, c := range h[i : i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			case c >= 'a' && c <= 'f':
				v |= byte(c - 'a' + 10)
			case c >= 'A' && c <= 'F':
				v |= byte(c - 'A' + 10)
			}
		}
		b = append(b, v)
	}
	return string(b)
}

func types(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, dns.TypeToString[rr.Header().Rrtype])
	}
	return out
}

func count(rrs []dns.RR, t uint16) int {
	n := 0
	for _, rr := range rrs {
		if rr.Header().Rrtype == t {
			n++
		}
	}
	return n
}

// readTestZone reads testdata/zones/<name>.
func readTestZone(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "zones", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func addrsOf(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		}
	}
	return out
}
