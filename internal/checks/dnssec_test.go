package checks

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/recon"
)

// unsign removes every DNSSEC trace of example.com from the world.
func (w *world) unsign(t *testing.T) {
	w.res.Zones[0].Signed = false
	w.setRecords(t, "example.com", dns.TypeDNSKEY)
	w.setRecords(t, "example.com", dns.TypeDS)
	delete(w.ex.rrs, fkey("example.com", dns.TypeSOA))
	w.ex.add(t, w.soa.String())
}

// resign replaces the RRSIGs of example.com's SOA (all servers) with one
// valid from inception to expiration.
func (w *world) resignSOA(t testing.TB, ex *fakeExchanger, inception, expiration time.Time) {
	delete(ex.rrs, fkey("example.com", dns.TypeSOA))
	ex.add(t, w.soa.String())
	ex.addRR(w.zsk.sign(t, []dns.RR{w.soa}, inception, expiration))
}

func TestDNSSECMissing(t *testing.T) {
	runCases(t, "dnssec-missing", []checkCase{
		{name: "signed with DS"},
		{
			name:     "unsigned",
			mutate:   func(t *testing.T, w *world) { w.unsign(t) },
			want:     []string{"low dnssec-missing example.com"},
			evidence: []string{"example.com publishes no DNSKEY"},
		},
		{
			name: "signed, no DS at the parent",
			mutate: func(t *testing.T, w *world) {
				w.setRecords(t, "example.com", dns.TypeDS)
			},
			want:     []string{"low dnssec-missing example.com"},
			evidence: []string{"is signed but its parent publishes no DS record"},
		},
		{
			name: "zone recon never probed and the network cannot say",
			mutate: func(t *testing.T, w *world) {
				w.unsign(t)
				w.res.Zones = nil
				w.ex.fail[fkey("example.com", dns.TypeDNSKEY)] = errNoCanned
			},
			want: nil,
		},
	})
}

func TestDNSSECInvalid(t *testing.T) {
	runCases(t, "dnssec-invalid", []checkCase{
		{name: "valid chain"},
		{name: "unsigned, no DS", mutate: func(t *testing.T, w *world) { w.unsign(t) }},
		{
			name: "expired SOA signature",
			mutate: func(t *testing.T, w *world) {
				w.resignSOA(t, w.ex, testNow.Add(-60*24*time.Hour), testNow.Add(-24*time.Hour))
			},
			want:        []string{"high dnssec-invalid example.com"},
			wantOffline: []string{}, // recon data holds no RRSIGs
			evidence:    []string{"ns1.example.com (192.0.2.53): RRSIG SOA (key tag", "expired at 2026-02-28T12:00:00Z"},
		},
		{
			name:        "not yet valid SOA signature",
			mutate:      func(t *testing.T, w *world) { w.resignSOA(t, w.ex, testNow.Add(time.Hour), testNow.Add(48*time.Hour)) },
			want:        []string{"high dnssec-invalid example.com"},
			wantOffline: []string{},
			evidence:    []string{"is not valid before 2026-03-01T13:00:00Z"},
		},
		{
			name: "one secondary serves stale signatures",
			mutate: func(t *testing.T, w *world) {
				stale := newFake()
				for k, v := range w.ex.rrs {
					stale.rrs[k] = v
				}
				w.resignSOA(t, stale, testNow.Add(-60*24*time.Hour), testNow.Add(-24*time.Hour))
				w.ex.perServer[netip.MustParseAddrPort("198.51.100.53:53")] = stale
			},
			want:        []string{"high dnssec-invalid example.com"},
			wantOffline: []string{},
			evidence:    []string{"ns2.example.net (198.51.100.53): RRSIG SOA"},
		},
		{
			name: "expired spare signature beside a valid one",
			mutate: func(t *testing.T, w *world) {
				w.ex.addRR(w.zsk.sign(t, []dns.RR{w.soa}, testNow.Add(-60*24*time.Hour), testNow.Add(-24*time.Hour)))
			},
		},
		{
			name: "signature that does not verify",
			mutate: func(t *testing.T, w *world) {
				delete(w.ex.rrs, fkey("example.com", dns.TypeSOA))
				w.ex.add(t, w.soa.String())
				other := mustRR(t, "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600")
				w.ex.addRR(w.zsk.sign(t, []dns.RR{other}, w.inception, testNow.Add(24*time.Hour)))
			},
			want:        []string{"high dnssec-invalid example.com"},
			wantOffline: []string{},
			evidence:    []string{"does not verify"},
		},
		{
			name: "DS matches no DNSKEY",
			mutate: func(t *testing.T, w *world) {
				wrong := newTestKey("example.com", 257, 9).dnskey.ToDS(dns.SHA256)
				w.setRecords(t, "example.com", dns.TypeDS, wrong.String())
			},
			want:     []string{"high dnssec-invalid example.com"},
			evidence: []string{"DS key tag", "matches no DNSKEY of example.com"},
		},
		{
			name: "stale DS beside a matching one",
			mutate: func(t *testing.T, w *world) {
				wrong := newTestKey("example.com", 257, 9).dnskey.ToDS(dns.SHA256)
				w.addRecords(t, wrong.String())
			},
			want: []string{"medium dnssec-invalid example.com"},
		},
		{
			name: "DS for an unsigned zone",
			mutate: func(t *testing.T, w *world) {
				w.res.Zones[0].Signed = false
				w.setRecords(t, "example.com", dns.TypeDNSKEY)
				w.ex.exist("example.com")
			},
			want:     []string{"high dnssec-invalid example.com"},
			evidence: []string{"the parent publishes DS (key tag", "but example.com serves no DNSKEY"},
		},
		{
			name: "DNSKEY set unsigned",
			mutate: func(t *testing.T, w *world) {
				delete(w.ex.rrs, fkey("example.com", dns.TypeDNSKEY))
				w.ex.addRR(w.keyset...)
			},
			want:        []string{"high dnssec-invalid example.com"},
			wantOffline: []string{},
			evidence:    []string{"the DNSKEY RRset carries no RRSIG"},
		},
		{
			name: "sub-zone answered through the resolver",
			mutate: func(t *testing.T, w *world) {
				w.res.Zones = append(w.res.Zones, recon.Zone{Name: "eu.example.com", Signed: true})
				k := newTestKey("eu.example.com", 257, 5)
				soa := mustRR(t, "eu.example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600")
				w.ex.addRR(k.dnskey, k.dnskey.ToDS(dns.SHA256), soa,
					k.sign(t, []dns.RR{k.dnskey}, w.inception, testNow.Add(-time.Hour)),
					k.sign(t, []dns.RR{soa}, w.inception, testNow.Add(time.Hour)))
			},
			want:        []string{"high dnssec-invalid eu.example.com"},
			wantOffline: []string{},
			evidence:    []string{"the resolver: RRSIG DNSKEY"},
		},
	})
}

func TestSigTime(t *testing.T) {
	now := time.Date(2106, 3, 1, 0, 0, 0, 0, time.UTC) // past the 32-bit wrap
	want := now.Add(48 * time.Hour)
	if got := sigTime(uint32(want.Unix()), now); !got.Equal(want) {
		t.Fatalf("sigTime = %v, want %v", got, want)
	}
}
