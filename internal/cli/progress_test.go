package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/recon"
)

// TestProgress: the one status line draws, redraws on its ticker, clears
// when stopped, and a disabled line (nil) does nothing.
func TestProgress(t *testing.T) {
	tests := []struct {
		mode string
		on   bool
	}{
		{"always", true},
		{"auto", false}, // stderr is not a terminal here
		{"never", false},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			var buf syncBuffer
			p := newProgress(&env{stderr: &buf}, tc.mode)
			if (p != nil) != tc.on {
				t.Fatalf("newProgress(%s) on = %v, want %v", tc.mode, p != nil, tc.on)
			}
			rp := &recon.Progress{}
			rp.Stage.Store("bruteforce")
			rp.Names.Store(7)
			stop := p.tick(reconProgress("example.com", rp))
			deadline := time.Now().Add(5 * time.Second)
			for tc.on && !strings.Contains(buf.String(), "7 names") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			p.draw("x")
			p.clear()
			out := buf.String()
			if !tc.on {
				if out != "" {
					t.Errorf("disabled line wrote %q", out)
				}
				return
			}
			if !strings.Contains(out, "example.com  bruteforce  0/0 queries") || !strings.HasSuffix(out, "\r\033[K") {
				t.Errorf("line %q", out)
			}
		})
	}
}
