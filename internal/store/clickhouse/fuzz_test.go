package clickhouse

import (
	"errors"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/store"
)

// FuzzDecodeCursor: any string a client sends back as a cursor decodes to
// a key that encodes to the same cursor, or fails with ErrBadCursor.
// Run: go test ./internal/store/clickhouse -run '^$' -fuzz FuzzDecodeCursor -fuzztime 20s
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(tupleKey{rev: "com.example.www.", rrtype: 1, rdata: "192.0.2.1"}))
	f.Add(encodeCursor(tupleKey{}))
	f.Add("not a cursor!")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := decodeCursor(s)
		if err != nil {
			if !errors.Is(err, store.ErrBadCursor) {
				t.Fatalf("decodeCursor(%q): %v, want ErrBadCursor", s, err)
			}
			return
		}
		again, err := decodeCursor(encodeCursor(k))
		if err != nil || again != k {
			t.Fatalf("decodeCursor(%q) = %+v, which does not round-trip (%+v, %v)", s, k, again, err)
		}
	})
}

// FuzzParseDSN: a DSN either parses into options whose identifiers are
// safe to put in SQL, or fails with ErrBadDSN; never a panic.
// Run: go test ./internal/store/clickhouse -run '^$' -fuzz FuzzParseDSN -fuzztime 20s
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9000/pdns", "u:p@h1:9000,h2:9001/db?cluster=c&dial_timeout=3s", "[::1]/x", "h/db;DROP"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseDSN(s)
		if err != nil {
			if !errors.Is(err, ErrBadDSN) {
				t.Fatalf("ParseDSN(%q): %v, want ErrBadDSN", s, err)
			}
			return
		}
		if !isIdent(o.Database) || o.Cluster != "" && !isIdent(o.Cluster) {
			t.Fatalf("ParseDSN(%q) accepted identifiers %q, %q", s, o.Database, o.Cluster)
		}
		if len(o.Addrs) == 0 {
			t.Fatalf("ParseDSN(%q) gave no address", s)
		}
		for _, a := range o.Addrs {
			if strings.ContainsAny(a, "/?#@ ") {
				t.Fatalf("ParseDSN(%q) gave address %q", s, a)
			}
		}
	})
}
