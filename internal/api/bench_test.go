package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

// BenchmarkLookupHandler measures the server's own cost of one exact DNSDB
// lookup with a key (routing, authentication, admission, store lookup, SAF
// encoding), without the network: as dnsdbq sends it (parameters, a key
// with a daily quota) and as bench/api's wrk does (no parameters, a key
// without limits), each over one connection. The store is compacted, as a served store mostly is, so
// that lookups read tables rather than merge memtable entries. Besides
// the wall time it reports the process's CPU time per lookup (cpu-ns/op),
// the figure that survives a machine shared with other work. Whole-server
// load is bench/api's job.
//
//	go test ./internal/api -run '^$' -bench LookupHandler -benchtime 3s -count 10
func BenchmarkLookupHandler(b *testing.B) {
	ctx := context.Background()
	db, err := pebble.Open(ctx, b.TempDir(), pebble.Options{NoSync: true, MaxLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Upsert(ctx, storetest.Fixture()); err != nil {
		b.Fatal(err)
	}
	if err := db.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	km, err := keys.Open(ctx, db, keys.Options{})
	if err != nil {
		b.Fatal(err)
	}
	quota, _, err := km.Add(ctx, keys.Spec{Perms: []keys.Permission{keys.PermQuery}, Limits: keys.Limits{DailyQuota: 1 << 40}})
	if err != nil {
		b.Fatal(err)
	}
	unlimited, _, err := km.Add(ctx, keys.Spec{Perms: []keys.Permission{keys.PermQuery}})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Store: db, Keys: km})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for _, bc := range []struct {
		name, target, key string
	}{
		{"dnsdbq", "/dnsdb/v2/lookup/rrset/name/www.example.com?swclient=dnsdbq&version=2.6.4", quota},
		{"wrk", "/dnsdb/v2/lookup/rrset/name/www.example.com", unlimited},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// One connection's requests, as Serve gives them: with the
			// connection's memo of the key it verified (withAuthMemo).
			req := httptest.NewRequest(http.MethodGet, bc.target, nil)
			req = req.WithContext(withAuthMemo(req.Context(), nil))
			req.Header.Set("X-API-Key", bc.key)
			req.Header.Set("Accept", "application/x-ndjson")
			b.ReportAllocs()
			start, cpu0 := time.Now(), processCPU()
			n := 0
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				n++
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "qps")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(n), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time (user and system) of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
