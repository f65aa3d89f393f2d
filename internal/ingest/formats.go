package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/dnsscout/dnsscout/internal/ingest/dnstap"
	"github.com/dnsscout/dnsscout/internal/ingest/imports"
	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
)

// Format is one kind of file ingest reads. Formats lists them all; the
// prefixes that force a kind ("pcap:FILE"), content detection, the help
// text (FormatHelp) and the table in docs/ingest.md (FormatTable, kept
// honest by a test) are derived from that list. Adding a format is one
// value there and its test.
type Format struct {
	// Name is the prefix that forces the format ("pcap" for "pcap:FILE")
	// and its name in messages.
	Name string
	// Summary describes the format in one line for --help and the docs.
	Summary string
	// Detect reports whether head, the first bytes of a file (at most
	// DetectBytes, gzip and zstd removed), start a file of this format:
	// they must parse as one, not merely look like one. head may be cut
	// anywhere. Formats are tried in order, so that the more permissive
	// come last.
	Detect func(head []byte) bool
	// Import marks files of tuples another tool wrote: such a file is
	// committed whole or not at all (Options.SkipBad), its bad lines are
	// reported by number.
	Import bool
	// Read reads the whole source into the ingester.
	Read func(ctx context.Context, in *Ingester, src *Source) error
}

// Source is an open, identified file as a Format reads it.
type Source struct {
	// Name is the file name, "-" for standard input.
	Name string
	// R is the content, decompressed, within the limits of Options, and
	// cancellable between reads.
	R *bufio.Reader
	// For imports: the line limits and the bad-line report, the counters,
	// and where the tuples go (held back until the file is known good).
	Lines imports.Options
	Stats *imports.Stats
	Sink  imports.Sink
}

// Formats lists the file formats, in detection order.
var Formats = []Format{
	{
		Name:    "pcap",
		Summary: "pcap or pcapng capture (Ethernet, VLAN, SLL, raw IP, loopback)",
		Detect:  isCapture,
		Read:    func(ctx context.Context, in *Ingester, src *Source) error { return in.readPcap(ctx, src.R) },
	},
	{
		Name:    "dnstap",
		Summary: "dnstap Frame Streams file",
		Detect:  isDnstap,
		Read:    func(ctx context.Context, in *Ingester, src *Source) error { return in.readDnstap(ctx, src.R) },
	},
	{
		Name:    "passivedns",
		Summary: "gamelinux/passivedns log, text or -j JSON",
		Detect:  imports.IsPassiveDNS,
		Import:  true,
		Read:    importReader(imports.ReadPassiveDNS),
	},
	{
		Name:    "cof",
		Summary: "COF or DNSDB SAF NDJSON (what pdns export writes)",
		Detect:  imports.IsCOF,
		Import:  true,
		Read:    importReader(imports.ReadCOF),
	},
	{
		Name:    "zeek",
		Summary: "Zeek dns.log, TSV (with its header) or JSON",
		Detect:  imports.IsZeek,
		Import:  true,
		Read:    importReader(imports.ReadZeek),
	},
	{
		Name:    "eve",
		Summary: "Suricata eve.json DNS answers (version 1 or 2)",
		Detect:  imports.IsEVE,
		Import:  true,
		Read:    importReader(imports.ReadEVE),
	},
	{
		Name:    "zone",
		Summary: "DNS zone (master) file; $INCLUDE refused",
		Detect:  imports.IsZone,
		Import:  true,
		Read: func(ctx context.Context, in *Ingester, src *Source) error {
			zo := imports.ZoneOptions{Options: src.Lines, Origin: in.opt.ZoneOrigin, FileName: src.Name, Time: in.opt.Now().Unix()}
			return imports.ReadZone(ctx, src.R, zo, src.Stats, src.Sink)
		},
	},
}

// importReader adapts a reader of package imports to Format.Read.
func importReader(read func(context.Context, io.Reader, imports.Options, *imports.Stats, imports.Sink) error) func(context.Context, *Ingester, *Source) error {
	return func(ctx context.Context, _ *Ingester, src *Source) error {
		return read(ctx, src.R, src.Lines, src.Stats, src.Sink)
	}
}

// DetectBytes is the most a file is read ahead to tell its format.
const DetectBytes = 64 << 10

// formatNamed returns the format called name, or nil.
func formatNamed(name string) *Format {
	for i := range Formats {
		if Formats[i].Name == name {
			return &Formats[i]
		}
	}
	return nil
}

// detect returns the first format that accepts head, or nil.
func detect(head []byte) *Format {
	for i := range Formats {
		if Formats[i].Detect(head) {
			return &Formats[i]
		}
	}
	return nil
}

// cutPrefix splits "pcap:FILE" into the format and the file; a source
// without a known prefix has no format (it is detected).
func cutPrefix(src string) (*Format, string) {
	if name, rest, ok := strings.Cut(src, ":"); ok {
		if f := formatNamed(name); f != nil {
			return f, rest
		}
	}
	return nil, src
}

// FormatHelp lists the formats for --help, one per line, indented.
func FormatHelp() string {
	var b strings.Builder
	for _, f := range Formats {
		fmt.Fprintf(&b, "  %-26s %s\n", f.Name+":FILE", f.Summary)
	}
	return b.String()
}

// FormatTable is the table of formats in docs/ingest.md.
func FormatTable() string {
	var b strings.Builder
	b.WriteString("| prefix | format | import (committed whole) |\n|---|---|---|\n")
	for _, f := range Formats {
		imp := ""
		if f.Import {
			imp = "yes"
		}
		fmt.Fprintf(&b, "| `%s:` | %s | %s |\n", f.Name, f.Summary, imp)
	}
	return b.String()
}

// isCapture accepts the global header of a pcap file (version 2.4, as the
// reader requires) or the section header block of a pcapng file (its length
// and byte-order magic).
func isCapture(head []byte) bool {
	if !pcap.IsCapture(head) {
		return false
	}
	switch binary.LittleEndian.Uint32(head) {
	case 0x0a0d0d0a: // pcapng section header block
		if len(head) < 28 {
			return false
		}
		var bo binary.ByteOrder = binary.LittleEndian
		if binary.BigEndian.Uint32(head[8:]) == 0x1a2b3c4d {
			bo = binary.BigEndian
		} else if bo.Uint32(head[8:]) != 0x1a2b3c4d {
			return false
		}
		n := bo.Uint32(head[4:])
		return n >= 28 && n%4 == 0 && bo.Uint16(head[12:]) == 1
	default: // pcap global header
		if len(head) < 24 {
			return false
		}
		var bo binary.ByteOrder = binary.LittleEndian
		if m := binary.BigEndian.Uint32(head); m == 0xa1b2c3d4 || m == 0xa1b23c4d {
			bo = binary.BigEndian
		}
		return bo.Uint16(head[4:]) == 2 && bo.Uint16(head[6:]) == 4
	}
}

// isDnstap accepts a Frame Streams START control frame whose content
// type is dnstap's.
func isDnstap(head []byte) bool {
	if !dnstap.IsFrameStream(head) {
		return false
	}
	n := int(binary.BigEndian.Uint32(head[4:8]))
	return len(head) >= 8+n && bytes.Contains(head[8:8+n], []byte("protobuf:dnstap.Dnstap"))
}
