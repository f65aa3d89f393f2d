package imports

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// IsEVE reports whether the first line of head is a Suricata EVE event: a
// JSON object with "event_type" and "timestamp" (an eve.json holds events
// of every kind; the DNS ones are read).
func IsEVE(head []byte) bool {
	line := firstLine(head)
	if len(line) == 0 || line[0] != '{' {
		return false
	}
	var j struct {
		EventType string `json:"event_type"`
		Timestamp string `json:"timestamp"`
	}
	return json.Unmarshal(line, &j) == nil && j.EventType != "" && j.Timestamp != ""
}

// eveAnswer is one answer record as Suricata logs it: rdata as a string
// for A, AAAA, CNAME, PTR, NS, TXT (and MX cut to its exchange), objects
// for SOA, SRV and SSHFP.
type eveAnswer struct {
	RRName string          `json:"rrname"`
	RRType string          `json:"rrtype"`
	RData  json.RawMessage `json:"rdata"`
	SOA    *struct {
		MName   string `json:"mname"`
		RName   string `json:"rname"`
		Serial  uint32 `json:"serial"`
		Refresh uint32 `json:"refresh"`
		Retry   uint32 `json:"retry"`
		Expire  uint32 `json:"expire"`
		Minimum uint32 `json:"minimum"`
	} `json:"soa"`
	SRV *struct {
		Priority uint16 `json:"priority"`
		Weight   uint16 `json:"weight"`
		Port     uint16 `json:"port"`
		Name     string `json:"name"`
	} `json:"srv"`
	SSHFP *struct {
		Fingerprint string `json:"fingerprint"`
		Algo        uint8  `json:"algo"`
		Type        uint8  `json:"type"`
	} `json:"sshfp"`
}

type eveEvent struct {
	Timestamp string `json:"timestamp"`
	EventType string `json:"event_type"`
	DNS       *struct {
		eveAnswer
		Version int                        `json:"version"`
		Type    string                     `json:"type"`
		RCode   string                     `json:"rcode"`
		Opcode  int                        `json:"opcode"`
		Queries []eveAnswer                `json:"queries"`
		Answers []eveAnswer                `json:"answers"`
		Grouped map[string]json.RawMessage `json:"grouped"`
	} `json:"dns"`
}

// ReadEVE imports the DNS answers of a Suricata eve.json: version 1 (one
// event per answer record, with its owner) and version 2 (an event per
// response with an "answers" array, a "grouped" map by type, or both;
// version 3 of Suricata 8, type "response" with the question in
// "queries", is read like it).
// Other events and DNS queries are skipped and counted (OtherEvent). Only
// NOERROR answers give tuples, NXDOMAIN responses NXDOMAIN counts; each is
// seen once at the event's timestamp.
func ReadEVE(ctx context.Context, r io.Reader, o Options, st *Stats, sink Sink) error {
	var buf []pdns.Tuple
	return readLines(ctx, r, o, st, func(line []byte) error {
		var ev eveEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return lineErr(BadSyntax, "%v", err)
		}
		if ev.EventType != "dns" || ev.DNS == nil || ev.DNS.Type != "answer" && ev.DNS.Type != "response" {
			return lineErr(OtherEvent, "%s event", quote(ev.EventType))
		}
		if ev.DNS.Opcode != 0 {
			return lineErr(OtherEvent, "opcode %d", ev.DNS.Opcode)
		}
		if ev.DNS.RRName == "" && len(ev.DNS.Queries) > 0 {
			// Version 3 (Suricata 8) names the question in "queries".
			ev.DNS.RRName = ev.DNS.Queries[0].RRName
		}
		ts, err := eveTime(ev.Timestamp)
		if err != nil {
			return err
		}
		d := ev.DNS
		switch d.RCode {
		case "NOERROR":
		case "NXDOMAIN":
			name, ok := zeekName(d.RRName)
			if !ok || store.CheckName(name) != nil {
				return lineErr(Undetermined, "NXDOMAIN name %s", quote(d.RRName))
			}
			if name, ok = nxName(name, d.Version, d.Answers, d.Grouped); !ok {
				return lineErr(Undetermined, "NXDOMAIN whose CNAME chain the answers do not tell")
			}
			atomic.AddUint64(&st.NX, 1)
			return sink.NXDomain(name, ts, 1)
		default:
			return lineErr(NoAnswer, "rcode %s", quote(d.RCode))
		}
		buf = buf[:0]
		undetermined := false
		switch {
		case d.Version < 2:
			// Version 1: this event is one record, with its owner.
			if d.RRType == "" {
				return lineErr(NoAnswer, "response without answers")
			}
			buf, undetermined = d.eveAnswer.appendTo(buf)
		case len(d.Answers) > 0:
			for i := range d.Answers {
				var u bool
				buf, u = d.Answers[i].appendTo(buf)
				undetermined = undetermined || u
			}
		case len(d.Grouped) > 0:
			buf, undetermined = grouped(buf, d.RRName, d.Grouped)
		default:
			return nil // NODATA
		}
		buf = distinct(buf)
		for i := range buf {
			t := &buf[i]
			t.TimeFirst, t.TimeLast, t.Count = ts, ts, 1
			atomic.AddUint64(&st.Tuples, 1)
			if err := sink.Tuple(t); err != nil {
				return err
			}
		}
		if undetermined {
			if len(buf) == 0 {
				return lineErr(Undetermined, "answers without a type's full data")
			}
			atomic.AddUint64(&st.Skipped[Undetermined], 1)
		}
		return nil
	})
}

// eveTime reads Suricata's timestamp, 2026-01-02T03:04:05.123456+0000
// (RFC 3339 also taken).
func eveTime(s string) (int64, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil && t.Unix() > 0 {
			return t.Unix(), nil
		}
	}
	return 0, lineErr(BadNumber, "timestamp %s", quote(s))
}

// appendTo appends the record a answer gives, when its data is whole and
// storable; undetermined reports one that was not (MX cut to its
// exchange, TXT strings run together, types without rdata).
func (a *eveAnswer) appendTo(buf []pdns.Tuple) ([]pdns.Tuple, bool) {
	owner, ok := zeekName(a.RRName)
	if !ok {
		return buf, true
	}
	t, ok := pdns.ParseType(a.RRType)
	if !ok {
		return buf, true
	}
	rdata, ok := a.rdata(t)
	if !ok {
		return buf, true
	}
	tu := pdns.Tuple{RRName: owner, RRType: t, RData: rdata}
	if check(&tu) != nil {
		return buf, true
	}
	return append(buf, tu), false
}

// rdata renders the answer's data in canonical form.
func (a *eveAnswer) rdata(t uint16) (string, bool) {
	switch {
	case a.SOA != nil && t == dns.TypeSOA:
		s := a.SOA
		return pdns.CanonicalRData(t, fmt.Sprintf("%s. %s. %d %d %d %d %d", strings.TrimSuffix(s.MName, "."), strings.TrimSuffix(s.RName, "."), s.Serial, s.Refresh, s.Retry, s.Expire, s.Minimum))
	case a.SRV != nil && t == dns.TypeSRV:
		s := a.SRV
		return pdns.CanonicalRData(t, fmt.Sprintf("%d %d %d %s.", s.Priority, s.Weight, s.Port, strings.TrimSuffix(s.Name, ".")))
	case a.SSHFP != nil && t == dns.TypeSSHFP:
		s := a.SSHFP
		return pdns.CanonicalRData(t, fmt.Sprintf("%d %d %s", s.Algo, s.Type, s.Fingerprint))
	}
	var s string
	if len(a.RData) == 0 || json.Unmarshal(a.RData, &s) != nil {
		return "", false
	}
	return eveRData(t, s)
}

// eveRData renders one rdata string of type t: addresses and names, and a
// TXT of at most 255 bytes (one character-string: Suricata runs several
// together). MX (the exchange without its preference) and the rest are
// not whole.
func eveRData(t uint16, s string) (string, bool) {
	switch t {
	case dns.TypeA, dns.TypeAAAA:
		return pdns.CanonicalRData(t, s)
	case dns.TypeCNAME, dns.TypeNS, dns.TypePTR, dns.TypeDNAME:
		n, ok := zeekName(s)
		if !ok {
			return "", false
		}
		return n + ".", true
	case dns.TypeTXT, dns.TypeSPF:
		if len(s) > 255 {
			return "", false
		}
		rd := renderTXT(t, []string{s})
		return rd, rd != ""
	}
	return "", false
}

// grouped reads version 2's "grouped" answers: per type, the rdata in
// message order, without owners. The CNAME targets, in order, are the
// chain from the query name; every other record belongs to its end.
func grouped(buf []pdns.Tuple, query string, g map[string]json.RawMessage) ([]pdns.Tuple, bool) {
	owner, ok := zeekName(query)
	if !ok {
		return buf, true
	}
	undetermined := false
	if raw, ok := g["CNAME"]; ok {
		var targets []string
		if json.Unmarshal(raw, &targets) != nil {
			return buf, true
		}
		for _, target := range targets {
			n, ok := zeekName(target)
			if !ok {
				return buf, true
			}
			buf = append(buf, pdns.Tuple{RRName: owner, RRType: dns.TypeCNAME, RData: n + "."})
			owner = n
		}
	}
	if _, dname := g["DNAME"]; dname {
		// The DNAME's owner is above the query, and the CNAME its target
		// makes may be missing: nothing else is sure.
		return buf[:0], true
	}
	// Map order is random: sort the types for a stable output.
	types := make([]string, 0, len(g))
	for k := range g {
		if k != "CNAME" {
			types = append(types, k)
		}
	}
	slices.Sort(types)
	for _, k := range types {
		t, ok := pdns.ParseType(k)
		var vals []string
		if !ok || json.Unmarshal(g[k], &vals) != nil {
			undetermined = true
			continue
		}
		for _, v := range vals {
			rd, ok := eveRData(t, v)
			if !ok {
				undetermined = true
				continue
			}
			tu := pdns.Tuple{RRName: owner, RRType: t, RData: rd}
			if check(&tu) != nil {
				undetermined = true
				continue
			}
			buf = append(buf, tu)
		}
	}
	return buf, undetermined
}

// nxName returns the name an NXDOMAIN response is about: the last name of
// the CNAME chain from the query's name (version 2 "answers" carry their
// owners, "grouped" CNAMEs are in chain order), as the sensor counts it.
func nxName(query string, version int, answers []eveAnswer, grouped map[string]json.RawMessage) (string, bool) {
	name := query
	switch {
	case version < 2:
	case len(answers) > 0:
		cnames := make(map[string]string)
		for i := range answers {
			owner, ok := zeekName(answers[i].RRName)
			if !ok || answers[i].RRType != "CNAME" {
				continue
			}
			var target string
			if json.Unmarshal(answers[i].RData, &target) != nil {
				return "", false
			}
			if cnames[owner], ok = zeekName(target); !ok {
				return "", false
			}
		}
		for range answers { // at most one step per answer: no loop
			next, ok := cnames[name]
			if !ok {
				break
			}
			name = next
		}
	case len(grouped) > 0:
		var targets []string
		if raw, ok := grouped["CNAME"]; ok && json.Unmarshal(raw, &targets) != nil {
			return "", false
		}
		for _, target := range targets {
			n, ok := zeekName(target)
			if !ok {
				return "", false
			}
			name = n
		}
	}
	return name, store.CheckName(name) == nil
}
