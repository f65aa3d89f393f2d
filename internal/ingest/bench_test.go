package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// referral is a typical upstream response: a referral with glue, one of
// them out of bailiwick, and EDNS.
func referral(b *testing.B) []byte {
	return msgSpec{q: "www.d42.z07.test A",
		auth: []string{"d42.z07.test. 86400 IN NS ns1.d42.z07.test.", "d42.z07.test. 86400 IN NS ns2.d42.z07.test.",
			"d42.z07.test. 86400 IN NS ns1.provider.example."},
		extra: []string{"ns1.d42.z07.test. 86400 IN A 198.51.100.1", "ns1.d42.z07.test. 86400 IN AAAA 2001:db8::1",
			"ns2.d42.z07.test. 86400 IN A 198.51.100.2", "ns1.provider.example. 86400 IN A 203.0.113.9"},
	}.pack(b)
}

// BenchmarkWalk compares the hot path's walker (structure, names, keys of
// every record) with miekg/dns Msg.Unpack on the same response. On the
// development machine (2 shared cores, Go 1.26): walker 317 ns and 0
// allocations, miekg/dns Unpack 2,031 ns and 32 allocations; the walker
// stays, and miekg/dns only renders tuples the aggregate has not seen.
//
//	go test ./internal/ingest -run '^$' -bench BenchmarkWalk -benchtime 2s
func BenchmarkWalk(b *testing.B) {
	msg := referral(b)
	b.Run("walker", func(b *testing.B) {
		var w walker
		var key []byte
		b.ReportAllocs()
		for b.Loop() {
			if w.walk(msg) != wireOK {
				b.Fatal("walk failed")
			}
			for i := range w.rrs {
				r := &w.rrs[i]
				key = append(key[:0], w.ownerOf(r)...)
				key = append(key, byte(r.typ>>8), byte(r.typ))
				key, _ = appendRData(key, msg, r.rdOff, r.rdOff+r.rdLen, r.typ)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("miekg", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m dns.Msg
			if err := m.Unpack(msg); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkMessage measures the whole per-message path (walk, bailiwick
// rule, aggregation) for a response whose tuples are already in memory,
// the common case in resolver traffic.
//
//	go test ./internal/ingest -run '^$' -bench BenchmarkMessage -benchtime 2s
func BenchmarkMessage(b *testing.B) {
	msg := referral(b)
	in, err := New(newMemSink(), Options{SensorID: "b"})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close(context.Background())
	ts := time.Unix(t0, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := in.Message(context.Background(), ts, msg, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
