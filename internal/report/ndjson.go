package report

import (
	"encoding/json"
	"io"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// WriteNDJSON writes one step of a scan as one line of --format ndjson: a
// discovery ("kind" name, record, wildcard or nameserver), a finding, or
// the summary that closes a domain's stream. Every line carries "kind" and
// "domain" before the fields of the JSON contract.
func WriteNDJSON(w io.Writer, ev scan.Event) error {
	return json.NewEncoder(w).Encode(ndjsonValue(ev))
}

func ndjsonValue(ev scan.Event) any {
	switch {
	case ev.Recon != nil:
		return ndjsonEvent(*ev.Recon)
	case ev.Finding != nil:
		return ndjsonFinding(ev.Domain, ev.Finding)
	default:
		return ndjsonSummary(ev.Report)
	}
}

// ndjsonEvent wraps a discovery as one NDJSON line: "kind" names what it
// is (name, record, wildcard, nameserver) and "domain" the target it
// belongs to; the rest are the fields of the JSON contract.
func ndjsonEvent(ev recon.Event) any {
	switch {
	case ev.Name != nil:
		return struct {
			Kind   string `json:"kind"`
			Domain string `json:"domain"`
			*recon.Name
		}{"name", ev.Domain, ev.Name}
	case ev.Record != nil:
		return struct {
			Kind   string `json:"kind"`
			Domain string `json:"domain"`
			*recon.Record
		}{"record", ev.Domain, ev.Record}
	case ev.Wildcard != nil:
		return struct {
			Kind   string `json:"kind"`
			Domain string `json:"domain"`
			*recon.Wildcard
		}{"wildcard", ev.Domain, ev.Wildcard}
	default:
		return struct {
			Kind   string `json:"kind"`
			Domain string `json:"domain"`
			*recon.Nameserver
		}{"nameserver", ev.Domain, ev.Nameserver}
	}
}

// ndjsonFinding is one audit finding as an NDJSON line.
func ndjsonFinding(domain string, f *finding.Finding) any {
	return struct {
		Kind   string `json:"kind"`
		Domain string `json:"domain"`
		*finding.Finding
	}{"finding", domain, f}
}

// ndjsonSummary closes a domain's stream with its findings and statistics.
func ndjsonSummary(r *scan.Report) any {
	return struct {
		Kind     string      `json:"kind"`
		Domain   string      `json:"domain"`
		Names    int         `json:"names"`
		Records  int         `json:"records"`
		Findings any         `json:"findings"`
		Stats    scan.Stats  `json:"stats"`
		Complete *bool       `json:"complete,omitempty"`
		Gaps     []recon.Gap `json:"gaps,omitempty"`
	}{"summary", r.Domain, len(r.Names), len(r.Records), r.Findings, r.Stats, r.Complete, r.Gaps}
}
