package report

import (
	"bytes"
	"testing"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// TestWriteNDJSON: each step of a scan is one line, "kind" and "domain"
// first, then the contract's fields; the summary closes the domain.
func TestWriteNDJSON(t *testing.T) {
	partial := false
	rep := &scan.Report{
		Result: &recon.Result{Domain: "example.com", Complete: &partial, Gaps: []recon.Gap{{Stage: "interrupted", Reason: "stopped"}},
			Names: []recon.Name{{Name: "www.example.com"}}, Records: []recon.Record{{}, {}}},
		Findings: []finding.Finding{{ID: "wildcard", Severity: finding.Low}},
		Stats:    scan.Stats{Queries: 3, Dropped: 1},
	}
	tests := []struct {
		name string
		ev   scan.Event
		want string
	}{
		{"name", scan.Event{Domain: "example.com", Recon: &recon.Event{Domain: "example.com", Name: &recon.Name{Name: "www.example.com", Addresses: []string{"192.0.2.10"}, Sources: []string{"axfr"}}}},
			`{"kind":"name","domain":"example.com","name":"www.example.com","addresses":["192.0.2.10"],"sources":["axfr"]}`},
		{"record", scan.Event{Domain: "example.com", Recon: &recon.Event{Domain: "example.com", Record: &recon.Record{Name: "www.example.com", Type: "A", TTL: 60, Data: "192.0.2.10", Source: "axfr"}}},
			`{"kind":"record","domain":"example.com","name":"www.example.com","type":"A","ttl":60,"data":"192.0.2.10","source":"axfr"}`},
		{"wildcard", scan.Event{Domain: "example.com", Recon: &recon.Event{Domain: "example.com", Wildcard: &recon.Wildcard{Name: "*.example.com", Type: "A", Data: []string{"192.0.2.99"}}}},
			`{"kind":"wildcard","domain":"example.com","name":"*.example.com","type":"A","data":["192.0.2.99"]}`},
		{"nameserver", scan.Event{Domain: "example.com", Recon: &recon.Event{Domain: "example.com", Nameserver: &recon.Nameserver{Name: "ns1.example.com", Zone: "example.com"}}},
			`{"kind":"nameserver","domain":"example.com","name":"ns1.example.com","zone":"example.com","sources":null,"addresses":null,"resolves":false,"servers":null}`},
		{"finding", scan.Event{Domain: "example.com", Finding: &rep.Findings[0]},
			`{"kind":"finding","domain":"example.com","id":"wildcard","severity":"low","title":"","subject":"","evidence":null,"remediation":"","references":null}`},
		{"summary", scan.Event{Domain: "example.com", Report: rep},
			`{"kind":"summary","domain":"example.com","names":1,"records":2,"findings":[{"id":"wildcard","severity":"low","title":"","subject":"","evidence":null,"remediation":"","references":null}],"stats":{"queries":3,"responses":0,"timeouts":0,"dropped":1,"retries":0,"tcp":0,"duration_ms":0},"complete":false,"gaps":[{"stage":"interrupted","reason":"stopped"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteNDJSON(&buf, tc.ev); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
