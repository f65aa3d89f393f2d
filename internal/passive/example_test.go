package passive_test

import (
	"context"
	"fmt"
	"os"

	"github.com/dnsscout/dnsscout/internal/passive"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	_ "github.com/dnsscout/dnsscout/internal/store/pebble"
)

// Recon's use in a nutshell: collect what the passive sources know of a
// domain, fold it per name, and compare it with what DNS says today.
func Example() {
	dir, _ := os.MkdirTemp("", "passive-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := store.Open(ctx, dir, store.Options{NoSync: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	_ = db.Upsert(ctx, []pdns.Tuple{
		{RRName: "www.example.com", RRType: 1, RData: "192.0.2.10", TimeFirst: 1600000000, TimeLast: 1700000000, Count: 9},
		{RRName: "old.example.com", RRType: 5, RData: "old-app.example.net.", TimeFirst: 1400000000, TimeLast: 1450000000, Count: 2},
	})

	sources, err := passive.NewSources(passive.Options{Sources: []string{"store"}, Getenv: func(string) string { return "" }}, db)
	if err != nil {
		fmt.Println(err)
		return
	}
	var agg passive.Aggregate
	status, err := passive.Collect(ctx, sources, "example.com", func(o passive.Observation) error {
		agg.Add(o)
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d observations of %d names\n", status[0].Source, status[0].Observations, status[0].Names)
	for _, n := range agg.Names() {
		fmt.Println(n.Name, n.Records[0].Type, n.Records[0].Data, n.Sources)
	}

	// What recon found live: www exists, old is gone.
	live := map[string]passive.Liveness{"www.example.com": passive.LiveExists, "old.example.com": passive.LiveNXDomain}
	for _, s := range passive.FindStale(agg.Names(), func(name string) passive.Liveness { return live[name] }) {
		fmt.Println("historic-dangling:", s.Name, s.Kind, "was CNAME to", s.Target)
	}
	// Output:
	// store: 2 observations of 2 names
	// old.example.com CNAME old-app.example.net. [store]
	// www.example.com A 192.0.2.10 [store]
	// historic-dangling: old.example.com gone was CNAME to old-app.example.net
}
