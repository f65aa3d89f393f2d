package ingest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
)

// Stats counts what an ingester did. Malformed maps a reason to the number
// of packets, messages, records, frames or lines skipped for it.
type Stats struct {
	// Captures (pcap, pcapng, live).
	Packets         uint64 `json:"packets"`           // packets read
	IgnoredPackets  uint64 `json:"ignored_packets"`   // not IP/UDP/TCP or not from/to a DNS port
	Reassembled     uint64 `json:"reassembled"`       // IP datagrams rebuilt from fragments
	TCPMessages     uint64 `json:"tcp_messages"`      // DNS messages taken from TCP streams
	Retransmissions uint64 `json:"retransmissions"`   // TCP segments with nothing new
	CutMessages     uint64 `json:"cut_messages"`      // UDP messages the snap length cut short (records before the cut kept)
	AnyPortMessages uint64 `json:"any_port_messages"` // responses on other UDP ports matched with their query (--dns-any-port)
	Protected       uint64 `json:"protected_frames"`  // 802.11 frames encrypted, not decodable
	// Decapsulated counts the packets that carried each kind of
	// encapsulation or link layer taken apart (VXLAN, GRE, 802.1Q VLAN,
	// ...; ingest/pcap Encap names), only kinds seen.
	Decapsulated map[string]uint64 `json:"decapsulated"`
	// dnstap.
	Frames        uint64 `json:"dnstap_frames"`         // dnstap frames read
	FramesSkipped uint64 `json:"dnstap_frames_skipped"` // frames of a message type not selected
	// DNS messages, whatever their source.
	Messages   uint64 `json:"messages"`    // DNS messages decoded (queries and responses)
	Queries    uint64 `json:"queries"`     // QR=0 (captures count UDP queries without decoding them)
	Responses  uint64 `json:"responses"`   // QR=1
	Used       uint64 `json:"used"`        // responses with rcode NOERROR whose records were used
	NXDomain   uint64 `json:"nxdomain"`    // NXDOMAIN responses (counted per name)
	OtherRcode uint64 `json:"other_rcode"` // responses with another rcode
	NotQuery   uint64 `json:"not_query"`   // responses with an opcode other than QUERY
	// LocalResponses are the responses from mDNS and LLMNR (in Responses),
	// whose records are stored under SENSOR/mdns and SENSOR/llmnr.
	LocalResponses uint64 `json:"local_responses"`
	// Records and tuples.
	Records        uint64 `json:"records"`          // sightings kept (records of messages, imported tuples)
	OutOfBailiwick uint64 `json:"out_of_bailiwick"` // authority/additional records dropped by the bailiwick rule
	Folded         uint64 `json:"folded"`           // sightings folded into a tuple already in memory
	Tuples         uint64 `json:"tuples"`           // tuples written to the sink
	NXNames        uint64 `json:"nx_names"`         // NXDOMAIN counters written to the sink
	NXNotStored    uint64 `json:"nx_not_stored"`    // NXDOMAIN counters dropped: the sink cannot keep them
	Pending        uint64 `json:"pending"`          // tuples in memory, not yet written
	Flushes        uint64 `json:"flushes"`          // flushes to the sink
	// Imports.
	Lines        uint64 `json:"lines"`         // lines (or zone records) read from imports
	SkippedLines uint64 `json:"skipped_lines"` // bad lines left out of imports committed with SkipBad
	// AlreadyIngested counts the files skipped because their content was
	// ingested before (Options.Force reads them again).
	AlreadyIngested uint64 `json:"already_ingested"`
	// Malformed input by reason.
	Malformed map[string]uint64 `json:"malformed"`
	// Elapsed is the wall time since the ingester started its first source
	// (nanoseconds in JSON).
	Elapsed time.Duration `json:"elapsed_ns"`
}

func (s *Stats) bad(reason string) { s.Malformed[reason]++ }

func (s *Stats) clone() Stats {
	c := *s
	c.Malformed = maps.Clone(s.Malformed)
	if c.Malformed == nil {
		c.Malformed = make(map[string]uint64)
	}
	c.Decapsulated = maps.Clone(s.Decapsulated)
	if c.Decapsulated == nil {
		c.Decapsulated = make(map[string]uint64)
	}
	return c
}

// MalformedTotal sums Malformed.
func (s *Stats) MalformedTotal() uint64 {
	var n uint64
	for _, v := range s.Malformed {
		n += v
	}
	return n
}

// addPcap adds a capture decoder's counters.
func (s *Stats) addPcap(p *pcap.Stats) {
	s.Packets += p.Packets
	s.IgnoredPackets += p.Ignored
	s.Reassembled += p.Reassembled
	s.TCPMessages += p.TCPMessages
	s.Retransmissions += p.Retransmissions
	s.Queries += p.Queries
	s.Messages += p.Queries
	s.CutMessages += p.Cut
	s.AnyPortMessages += p.AnyPortMessages
	s.Protected += p.Protected
	for e, n := range p.Encaps {
		if n > 0 {
			if s.Decapsulated == nil {
				s.Decapsulated = make(map[string]uint64)
			}
			s.Decapsulated[pcap.Encap(e).String()] += n
		}
	}
	for r, n := range p.Malformed {
		if n > 0 {
			s.Malformed[pcap.Reason(r).String()] += n
		}
	}
}

// WriteTo prints the statistics as an aligned two-column table.
func (s *Stats) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	tw := tabwriter.NewWriter(cw, 0, 8, 2, ' ', tabwriter.AlignRight)
	row := func(label string, v uint64) { fmt.Fprintf(tw, "%d\t  %s\n", v, label) }
	secs := s.Elapsed.Seconds()
	if s.Packets > 0 {
		row("packets", s.Packets)
		row("packets ignored (not DNS)", s.IgnoredPackets)
		if s.Reassembled > 0 {
			row("IP datagrams reassembled", s.Reassembled)
		}
		if s.TCPMessages > 0 || s.Retransmissions > 0 {
			row("DNS messages from TCP", s.TCPMessages)
			row("TCP retransmissions", s.Retransmissions)
		}
		if s.CutMessages > 0 {
			row("DNS messages cut by the snap length (records before the cut kept)", s.CutMessages)
		}
		if s.AnyPortMessages > 0 {
			row("DNS responses on other ports (matched with their query)", s.AnyPortMessages)
		}
		if s.Protected > 0 {
			row("802.11 frames encrypted (not decodable)", s.Protected)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Decapsulated)) {
			if s.Decapsulated[k] > 0 {
				row("packets through "+k, s.Decapsulated[k])
			}
		}
	}
	if s.Frames > 0 {
		row("dnstap frames", s.Frames)
		row("dnstap frames of unselected types", s.FramesSkipped)
	}
	if s.Lines > 0 {
		row("import lines and zone records", s.Lines)
	}
	if s.SkippedLines > 0 {
		row("bad import lines skipped (--skip-bad)", s.SkippedLines)
	}
	if s.AlreadyIngested > 0 {
		row("files skipped: ingested before (--force reads them again)", s.AlreadyIngested)
	}
	if s.Messages > 0 {
		row("DNS messages", s.Messages)
		row("queries", s.Queries)
		row("responses", s.Responses)
		if s.LocalResponses > 0 {
			row("responses from mDNS/LLMNR (local names)", s.LocalResponses)
		}
		row("responses used (NOERROR)", s.Used)
		row("NXDOMAIN responses", s.NXDomain)
		row("other rcodes / opcodes", s.OtherRcode+s.NotQuery)
		row("records out of bailiwick", s.OutOfBailiwick)
	}
	row("sightings kept", s.Records)
	row("duplicates folded in memory", s.Folded)
	row("tuples written", s.Tuples)
	row("flushes to the store", s.Flushes)
	if s.NXNames > 0 || s.NXNotStored > 0 {
		row("NXDOMAIN names written", s.NXNames)
	}
	if s.NXNotStored > 0 {
		row("NXDOMAIN names not stored (sink cannot)", s.NXNotStored)
	}
	if s.Pending > 0 {
		row("tuples pending in memory", s.Pending)
	}
	reasons := slices.Sorted(maps.Keys(s.Malformed))
	row("malformed (total)", s.MalformedTotal())
	for _, r := range reasons {
		if s.Malformed[r] > 0 {
			fmt.Fprintf(tw, "%d\t    %s\n", s.Malformed[r], r)
		}
	}
	if secs > 0 {
		fmt.Fprintf(tw, "%.1f s\t  elapsed\n", secs)
		if s.Messages > 0 {
			fmt.Fprintf(tw, "%.0f\t  DNS messages/s\n", float64(s.Messages)/secs)
		}
		if s.Tuples > 0 {
			fmt.Fprintf(tw, "%.0f\t  tuples written/s\n", float64(s.Tuples)/secs)
		}
	}
	err := tw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// sourceStats lets Stats read the counters of a running source.
type sourceStats struct {
	mu  sync.Mutex
	add func(*Stats)
}

func (s *sourceStats) addTo(st *Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.add != nil {
		s.add(st)
	}
}
