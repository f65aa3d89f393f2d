// Package report renders scan reports (scan.Report: recon's result, the
// findings, the baseline changes) for people and programs: a terminal
// table, the JSON contract, CSV records, Markdown, one self-contained HTML
// file with a domain map, and an XLSX workbook. It shows baseline changes
// when it is given them; it groups hosts by network and origin AS from the
// result's address data (Result.Addresses), and shows what passive DNS
// knew (names seen before and gone now, first/last seen, what each passive
// source delivered). It does not discover, judge, look up or compare
// anything: scan (with recon, checks, ipintel, passive and baseline) does
// that. NDJSON is streamed by the CLI as the scan finds things; NDJSONLine
// helps it format a line.
//
// Everything that comes from DNS is attacker-controlled. Every format that a
// person reads (table, md, html, xlsx) shows control, bidi-override and
// invalid characters as visible escapes; HTML escapes through html/template
// and forbids all scripts but its own with a hash-based Content Security
// Policy; CSV neutralises cells that a spreadsheet would run as formulas.
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/dnsscout/dnsscout/internal/scan"
)

// Errors returned by Write.
var (
	ErrUnknownFormat = errors.New("report: unknown format")
	ErrNilResult     = errors.New("report: nil result")
)

// Formats lists the formats Write knows, in help order.
func Formats() []string { return []string{"table", "json", "csv", "md", "html", "xlsx"} }

// Options tune the reports. The zero value is ready to use.
type Options struct {
	// Title heads the md and html reports. Default: "DNS exposure report:"
	// followed by the domains.
	Title string
	// Version is the dnsscout version named in report footers. Default: ""
	// (not shown).
	Version string
	// Color adds ANSI colours to the table format (severities, changes).
	// Default: false.
	Color bool
	// MapGroupLimit is how many hosts a group of the domain map (hosts of
	// one role in the same networks) shows before the rest collapse behind a
	// "+N more" toggle. Default: 8.
	MapGroupLimit int
	// MapMaxLabel is the longest label, in characters, drawn on a map node;
	// longer labels are cut with "…" and shown whole in the tooltip.
	// Default: 44.
	MapMaxLabel int
	// Network maps an address to the network the domain map groups it
	// under and an optional detail line (origin AS, country). It changes
	// the map only; the Networks section always groups by the result's
	// address data. Default: for each result, NetworkFromAddresses of its
	// Addresses — the prefix address intelligence gave with "AS64500 NAME,
	// CC", else the /24 of an IPv4 or the /48 of an IPv6 address, no detail
	// — so that the map and the Networks section show the same groups.
	Network func(netip.Addr) (netip.Prefix, string)
	// Logger receives counted skips of bad input (unparsable addresses and
	// the like). Default: nil, discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MapGroupLimit <= 0 {
		o.MapGroupLimit = 8
	}
	if o.MapMaxLabel <= 0 {
		o.MapMaxLabel = 44
	}
	if o.MapMaxLabel < 8 {
		o.MapMaxLabel = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With("component", "report")
	return o
}

// DefaultNetwork groups IPv4 addresses by /24 and IPv6 addresses by /48.
func DefaultNetwork(a netip.Addr) (netip.Prefix, string) {
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p, ""
}

// Write renders results in format (one of Formats) to w. Several results
// become one report (json: an array). The writer receives nothing when the
// arguments are bad.
func Write(w io.Writer, format string, results []*scan.Report, opts Options) error {
	for i, r := range results {
		if r == nil {
			return fmt.Errorf("%w at index %d", ErrNilResult, i)
		}
	}
	opts = opts.withDefaults()
	switch strings.ToLower(format) {
	case "table":
		return writeTable(w, results, opts)
	case "json":
		return writeJSON(w, results, opts)
	case "csv":
		return writeCSV(w, results, opts)
	case "md", "markdown":
		return writeMarkdown(w, results, opts)
	case "html":
		return writeHTML(w, results, opts)
	case "xlsx":
		return writeXLSX(w, results, opts)
	case "ndjson":
		return fmt.Errorf("%w %q: ndjson is streamed by the recon command (see NDJSONLine)", ErrUnknownFormat, format)
	default:
		return fmt.Errorf("%w %q (want one of %s)", ErrUnknownFormat, format, strings.Join(Formats(), ", "))
	}
}

func writeJSON(w io.Writer, results []*scan.Report, _ Options) error {
	if len(results) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	return streamJSON(w, results)
}

// NDJSONLine formats one streamed NDJSON line: v's JSON object with a
// leading "kind" member (name, record, finding, ...), and a newline. A v
// that is not a JSON object is placed under "data".
func NDJSONLine(kind string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("report: ndjson %s: %w", kind, err)
	}
	k, _ := json.Marshal(kind)
	var buf bytes.Buffer
	buf.WriteString(`{"kind":`)
	buf.Write(k)
	switch {
	case len(body) > 2 && body[0] == '{':
		buf.WriteByte(',')
		buf.Write(body[1:])
	case string(body) == "{}":
		buf.WriteByte('}')
	default:
		buf.WriteString(`,"data":`)
		buf.Write(body)
		buf.WriteByte('}')
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// anyChanges reports whether some result carries a baseline comparison.
func anyChanges(results []*scan.Report) bool {
	for _, r := range results {
		if r.Changes != nil {
			return true
		}
	}
	return false
}
