package cli

import (
	"testing"
	"time"
)

// FuzzServeFlags feeds the parsers of serve's and keys' flag values
// (--listen, --burst, --expires): none may panic, and what they accept is
// in range.
//
//	go test ./internal/cli -run '^$' -fuzz '^FuzzServeFlags$' -fuzztime 20s
func FuzzServeFlags(f *testing.F) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = listenIsLoopback(s)
		if n, w, err := parseBurst(s); err == nil && (n <= 0 || w < time.Second || w%time.Second != 0) {
			t.Fatalf("parseBurst(%q) = %d, %v", s, n, w)
		}
		if e, err := parseExpiry(s, now); err == nil && e.IsZero() {
			t.Fatalf("parseExpiry(%q) gave the zero time", s)
		}
	})
}
