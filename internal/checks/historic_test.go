package checks

import (
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/recon"
)

func TestHistoricDangling(t *testing.T) {
	seen := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	runCases(t, "historic-dangling", []checkCase{
		{name: "nothing historic"},
		{
			name: "a name gone and a vanished target",
			mutate: func(t *testing.T, w *world) {
				w.ex.nxdomain("old-app.example.net").exist("example.net")
				w.res.Historic = []recon.HistoricName{
					{Name: "legacy.example.com", Kind: "gone", LastSeen: seen, Sources: []string{"store"}, Records: []string{"A 192.0.2.77"}},
					{Name: "shop.example.com", Kind: "cname-target-gone", Target: "old-app.example.net", LastSeen: seen, Sources: []string{"dnsdb"}, Records: []string{"CNAME old-app.example.net."}},
				}
			},
			want: []string{"medium historic-dangling shop.example.com", "low historic-dangling legacy.example.com"},
			evidence: []string{
				"passive DNS (store) last saw it 2025-03-01 knew legacy.example.com; it does not resolve now",
				"was: legacy.example.com A 192.0.2.77",
				"as an alias of old-app.example.net; old-app.example.net does not exist now (NXDOMAIN)",
			},
		},
		{
			name: "vanished target at a takeover-prone service",
			mutate: func(t *testing.T, w *world) {
				w.ex.exist("azurewebsites.net")
				w.res.Historic = []recon.HistoricName{
					{Name: "shop.example.com", Kind: "cname-target-gone", Target: "example-shop.azurewebsites.net", Sources: []string{"crtsh"}},
				}
			},
			want:     []string{"high historic-dangling shop.example.com"},
			evidence: []string{"listed as vulnerable to takeover"},
		},
	})
}
