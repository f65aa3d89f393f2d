package pebble_test

import (
	"context"
	"fmt"
	"os"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/miekg/dns"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "pdns")
	defer os.RemoveAll(dir)
	db, err := pebble.Open(ctx, dir, pebble.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	// Two sightings of one record and one of another; upserts merge.
	db.Upsert(ctx, []pdns.Tuple{
		{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Count: 1, TimeFirst: 1700000000, TimeLast: 1700000000},
		{RRName: "www.example.com", RRType: dns.TypeA, RData: "192.0.2.1", Count: 2, TimeFirst: 1700000500, TimeLast: 1700000900},
		{RRName: "mail.example.com", RRType: dns.TypeA, RData: "192.0.2.25", Count: 1, TimeFirst: 1700000100, TimeLast: 1700000100},
	})

	q, _ := store.ParseQuery("192.0.2.0/24", false)
	db.Lookup(ctx, q, func(t *pdns.Tuple) error {
		fmt.Println(t.RRName, pdns.TypeString(t.RRType), t.RData, t.Count, t.TimeFirst, t.TimeLast)
		return nil
	})
	// Output:
	// www.example.com A 192.0.2.1 3 1700000000 1700000900
	// mail.example.com A 192.0.2.25 1 1700000100 1700000100
}
