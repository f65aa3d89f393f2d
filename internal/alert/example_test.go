package alert_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/finding"
)

// A watch run wires a configuration to a Dispatcher and enqueues what
// changed; here the one sink writes NDJSON to standard output.
func Example() {
	cfg, err := alert.ParseConfig([]byte(`{
	  "rules": [{"name": "high", "min_severity": "high", "sinks": ["stdout"]}],
	  "sinks": [{"name": "stdout", "ndjson": {}}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	targets, err := alert.NewTargets(cfg, alert.Env{Stdout: os.Stdout})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "alert-example-")
	defer os.RemoveAll(dir)
	d, err := alert.Open(alert.Options{Dir: dir, Rules: cfg.Rules, Targets: targets, DigestWindow: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	opened := alert.Alert{
		ID:   alert.NewID("example.com", alert.KindFindingOpened, "ns1.example.com", "axfr-allowed", "scan-42"),
		Time: at, Domain: "example.com", Kind: alert.KindFindingOpened, Severity: finding.High,
		Subject: "ns1.example.com", Text: "zone transfer allowed on ns1.example.com",
	}
	added := alert.Alert{ID: "name-1", Time: at, Domain: "example.com", Kind: alert.KindNameAdded, Subject: "www.example.com"}
	d.Enqueue(ctx, opened, added) // added is info: no rule matches it
	d.Enqueue(ctx, opened)        // the same ID again: not sent twice
	d.Flush(ctx)
	d.Close(ctx)
	st := d.Stats()
	fmt.Printf("delivered %d, duplicates %d, unrouted %d\n", st.Sinks[0].Delivered, st.Sinks[0].Duplicates, st.Unrouted)
	// Output:
	// {"id":"2fd9e86bb3ebfcfc76580a7a5d766a592e48c6b1f2b306b8f5dc3983e84b31c0","time":"2026-03-14T09:26:53Z","domain":"example.com","kind":"finding-opened","severity":"high","subject":"ns1.example.com","text":"zone transfer allowed on ns1.example.com"}
	// delivered 1, duplicates 1, unrouted 1
}
