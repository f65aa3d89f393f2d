package clickhouse_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store/clickhouse/chtest"
)

// BenchmarkUpsert measures one collector's flushes of 20,000 new tuples
// into one local server: "live" tuples all last seen in one month (one
// partition per insert), "import" tuples spread over three years (36
// partitions per insert).
// Run: go test ./internal/store/clickhouse -run '^$' -bench Upsert -benchtime 10x
func BenchmarkUpsert(b *testing.B) {
	s := chtest.StartServer(b)
	const batch = 20_000
	for _, spread := range []struct {
		name   string
		months int
	}{{"live", 1}, {"import", 36}} {
		b.Run(spread.name, func(b *testing.B) {
			db := openFresh(b, []string{s.Addr}, "")
			ctx := context.Background()
			b.ReportAllocs()
			round := 0
			for b.Loop() {
				b.StopTimer()
				ts := benchBatch(round, batch, spread.months)
				round++
				b.StartTimer()
				if err := db.Upsert(ctx, ts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*round)/b.Elapsed().Seconds(), "tuples/s")
		})
	}
}

func benchBatch(round, n, months int) []pdns.Tuple {
	out := make([]pdns.Tuple, n)
	for i := range out {
		t := int64(1_700_000_000) - int64(i%months)*30*86400
		out[i] = pdns.Tuple{RRName: fmt.Sprintf("h%d.z%d.example.com", i%50, round*n+i), RRType: dns.TypeA,
			RData: fmt.Sprintf("192.0.2.%d", i%256), Bailiwick: "example.com", Count: 1, TimeFirst: t, TimeLast: t,
			SensorIDs: []string{"s1"}}
	}
	return out
}
