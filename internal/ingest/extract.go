package ingest

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// The bailiwick rule (docs/ingest.md has the reader's version):
//
//  1. Only responses (QR=1) with opcode QUERY are considered. Rcode
//     NOERROR (including the extended rcode of an OPT in the additional
//     section) gives records; NXDOMAIN counts one NXDOMAIN for the last
//     name of the answer's CNAME chain (the query name when there is
//     none) and keeps nothing else. Other rcodes are counted and dropped.
//     A message that does not parse completely is dropped whole.
//  2. The zone Z the server answered for is, in order: the zone the
//     transport reports (dnstap query_zone); else the owner of an SOA in
//     the authority section that is at or above the query name or a name
//     of its CNAME chain; else the longest such owner of NS records in the
//     authority section, except that in a referral (AA=0 and an empty
//     answer section) Z is that owner's parent, and a referral to the root
//     gives no Z; else Z is unknown.
//  3. Every answer-section record is kept; its bailiwick is Z when its
//     owner is at or below Z, else empty. Authority and additional records
//     are kept only when Z is known and their owner is at or below Z
//     (bailiwick Z).
//  4. Records of class other than IN (the mDNS cache-flush bit ignored),
//     and OPT, TSIG and TKEY records are never kept. A record kept twice in
//     one message is counted once.
//
// A message cut short (by a capture's snap length, or sent so) keeps the
// complete records before the cut under the same rule; the records it
// lost can only make Z unknown or the CNAME chain shorter, never wrong.
// An NXDOMAIN whose answer section was cut is counted but names nobody:
// the chain's last name may be missing.
//
// Answers of mDNS and LLMNR (origin) are local names: their records are
// kept under their own sensor ids (origin.go) and their NXDOMAINs are
// only counted.

func (in *Ingester) messageLocked(ts int64, msg []byte, zone []byte, from origin) {
	st := &in.stats
	st.Messages++
	if len(msg) < 12 {
		st.bad(wireErrNames[errShort])
		return
	}
	flags := binary.BigEndian.Uint16(msg[2:4])
	if flags&0x8000 == 0 {
		st.Queries++
		return
	}
	st.Responses++
	if from != originDNS {
		st.LocalResponses++
	}
	if (flags>>11)&0xf != 0 {
		st.NotQuery++
		return
	}
	rcode := flags & 0xf
	if rcode != dns.RcodeSuccess && rcode != dns.RcodeNameError {
		st.OtherRcode++
		return
	}
	w := &in.w
	if e := w.walk(msg); e != wireOK {
		st.bad(wireErrNames[e])
		return
	}
	if w.extRcode != 0 {
		st.OtherRcode++
		return
	}
	if w.cut {
		st.bad(wireErrNames[errRecord])
	}
	sec := ts / 1e9
	in.serial++
	chain := in.cnameChain()
	if rcode == dns.RcodeNameError {
		st.NXDomain++
		if len(chain) == 0 || from != originDNS || w.cut && w.cutSection == 1 {
			return
		}
		last := chain[len(chain)-1]
		in.nx.add(last, sec, 1, func() string { return wireToText(last) })
		return
	}
	st.Used++
	if zone == nil {
		zone = in.zoneOf(flags, chain)
	}
	b := in.cur
	var (
		bw     *zoneName // bailiwick of zone, found on first need
		msgOff = -1      // where the message was copied into b, on first need
	)
	for i := range w.rrs {
		r := &w.rrs[i]
		if r.class&0x7fff != classIN || r.typ == typeOPT || r.typ == typeTSIG || r.typ == typeTKEY {
			continue
		}
		owner := w.ownerOf(r)
		inZone := zone != nil && isSubWire(owner, zone)
		if r.section != 1 && !inZone {
			st.OutOfBailiwick++
			continue
		}
		keyOff := len(b.keys)
		var e wireErr
		if from != originDNS {
			// Local names are tuples of their own (aggregate.go).
			b.keys = append(b.keys, localKeyPrefix|byte(from))
		}
		b.keys = append(b.keys, owner...)
		b.keys = append(b.keys, byte(r.typ>>8), byte(r.typ))
		if b.keys, e = w.appendRData(b.keys, msg, r.rdOff, r.rdOff+r.rdLen, r.typ); e != wireOK {
			b.keys = b.keys[:keyOff]
			st.bad(wireErrNames[e])
			continue
		}
		if msgOff < 0 {
			msgOff = len(b.msgs)
			b.msgs = append(b.msgs, msg...)
		}
		if inZone && bw == nil {
			bw = in.zoneText(zone)
		}
		// Written in place. A sighting built on the stack and then
		// copied was loaded 16 bytes at a time from its fields' narrow
		// stores, which the processor cannot forward to a wider load:
		// each copy waited until every store before it had reached
		// the cache, the misses of the key and message copies too.
		// messageLocked's own time fell from 5% to 2.5% of the
		// command's CPU on bench/ingest (perf, two runs each).
		b.recs = append(b.recs, sighting{})
		sg := &b.recs[len(b.recs)-1]
		sg.key, sg.keyLen, sg.ownerLen = uint32(keyOff), uint32(len(b.keys)-keyOff), uint16(len(owner))
		sg.msg, sg.msgLen, sg.rdOff, sg.rdLen = uint32(msgOff), uint32(len(msg)), uint32(r.rdOff), uint16(r.rdLen)
		sg.typ, sg.ts, sg.serial, sg.origin = r.typ, sec, in.serial, from
		if inZone {
			sg.zone = bw
		}
	}
	in.maybeHandOver()
}

// fold adds the sightings of a batch to the aggregate (the aggregator's
// side of the pipeline, see pipeline.go).
func (in *Ingester) fold(b *sightBatch) {
	a := &in.agg
	var records, folded uint64
	hs := in.hashes[:0]
	for i := range b.recs {
		sg := &b.recs[i]
		if sg.tuple == nil {
			hs = append(hs, a.hash(b.keys[sg.key:sg.key+sg.keyLen]))
		}
	}
	in.hashes = hs
	a.prefetch(hs)
	for i := range b.recs {
		sg := &b.recs[i]
		if sg.tuple != nil {
			in.foldTuple(sg.tuple)
			continue
		}
		key := b.keys[sg.key : sg.key+sg.keyLen]
		ent, h := a.lookupHashed(key, hs[0])
		hs = hs[1:]
		if ent == nil {
			msg := b.msgs[sg.msg : sg.msg+sg.msgLen]
			r := rr{typ: sg.typ, rdOff: int(sg.rdOff), rdLen: int(sg.rdLen)}
			wk := key
			if sg.origin != originDNS {
				wk = key[1:]
			}
			name, rdata, ok := in.render(msg, wk[:sg.ownerLen], &r, wk[int(sg.ownerLen)+2:])
			if !ok {
				continue
			}
			ent = a.insert(key, h, sg.typ, name, rdata)
		} else if ent.serial == sg.serial {
			continue // same record twice in one message
		} else {
			folded++
		}
		records++
		ent.serial = sg.serial
		a.sight(ent, sg.ts)
		if sg.origin != originDNS {
			a.insertSensors(ent, in.localSensors[sg.origin])
		}
		if sg.zone != nil && ent.bail == 0 {
			ent.bail = a.bailOfZone(sg.zone)
		}
	}
	in.aggStats.records.Add(records)
	in.aggStats.folded.Add(folded)
	a.publish()
}

// render makes the presentation strings of a record not yet aggregated
// (into scratch buffers, valid until the next call); rd is its rdata in
// key form. The hand-written renderers (render.go) take the common cases,
// miekg/dns the rest.
func (in *Ingester) render(msg, owner []byte, r *rr, rd []byte) (name, rdata []byte, ok bool) {
	if name, ok = appendOwnerText(in.nameBuf[:0], owner); !ok {
		name = append(in.nameBuf[:0], wireToText(owner)...)
	}
	in.nameBuf = name
	rdata = in.rdataBuf[:0]
	switch {
	case r.rdLen == 0:
		rdata = append(rdata, `\# 0`...)
	default:
		// An RRSIG signer name compressed with a pointer (RFC 4034 forbids
		// it) is left to miekg/dns, which reads the record alone and so
		// refuses a pointer past it, as it always did: the key form has
		// the name decompressed, and is then longer or shorter than the
		// record (a pointer is two bytes, a name one or at least three).
		if r.typ != typeRRSIG || len(rd) == r.rdLen {
			if rdata, ok = appendRDataText(rdata, r.typ, rd); ok {
				break
			}
		}
		h := dns.RR_Header{Name: ".", Rrtype: r.typ, Class: dns.ClassINET, Rdlength: uint16(r.rdLen)}
		// miekg/dns reads some rdata (TXT) up to the end of the slice it
		// is given, so the message is cut at the end of this record.
		x, _, err := dns.UnpackRRWithHeader(h, msg[:r.rdOff+r.rdLen], r.rdOff)
		if err != nil || x == nil {
			in.log.Debug("rdata rejected", "type", r.typ, "err", err)
			in.aggStats.rejected.Add(1)
			return nil, nil, false
		}
		text := pdns.RData(x)
		if text == "" {
			in.aggStats.rejected.Add(1)
			return nil, nil, false
		}
		rdata = append(rdata, text...)
	}
	in.rdataBuf = rdata
	return name, rdata, true
}

// cnameChain returns the query name followed by the CNAME targets the
// answer section leads to from it (at most 16 steps); empty without a
// question.
func (in *Ingester) cnameChain() [][]byte {
	w := &in.w
	chain := in.chain[:0]
	if w.qname == nil {
		return chain
	}
	chain = append(chain, w.qname)
	cur := w.qname
	for range 16 {
		found := false
		for i := range w.rrs {
			r := &w.rrs[i]
			if r.section == 1 && r.typ == typeCNAME && r.targetTo > 0 && bytes.Equal(w.ownerOf(r), cur) {
				cur = w.names[r.target:r.targetTo]
				chain = append(chain, cur)
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	in.chain = chain
	return chain
}

// zoneOf applies step 2 of the bailiwick rule.
func (in *Ingester) zoneOf(flags uint16, chain [][]byte) []byte {
	w := &in.w
	above := func(z []byte) bool {
		for _, n := range chain {
			if isSubWire(n, z) {
				return true
			}
		}
		return false
	}
	answers := 0
	var ns []byte
	for i := range w.rrs {
		r := &w.rrs[i]
		switch {
		case r.section == 1:
			answers++
		case r.section != 2 || r.class&0x7fff != classIN:
		case r.typ == typeSOA:
			if o := w.ownerOf(r); above(o) {
				return o
			}
		case r.typ == typeNS:
			if o := w.ownerOf(r); len(o) > len(ns) && above(o) {
				ns = o
			}
		}
	}
	if ns == nil {
		return nil
	}
	if answers == 0 && flags&0x0400 == 0 { // referral
		if len(ns) == 1 {
			return nil // upward referral to the root
		}
		return parentWire(ns)
	}
	return ns
}

// wireToText renders a lower-case wire name (from the walker, so valid) in
// canonical text form, escaping as miekg/dns does.
func wireToText(name []byte) string {
	// Names of plain bytes (nearly all) by hand, the others by
	// miekg/dns: the same text (checkRender, in TestRender and
	// FuzzRender). NXDOMAIN names and zones are mostly new ones, and
	// miekg/dns's allocations took a fifth of their cost.
	var buf [maxNameWire + 1]byte
	if b, ok := appendOwnerText(buf[:0], name); ok {
		return string(b)
	}
	s, _, err := dns.UnpackDomainName(name, 0)
	if err != nil {
		return "."
	}
	return pdns.CanonicalName(s)
}

// textToWire converts a zone name in text form to lower-case wire form.
func textToWire(s string) ([]byte, bool) {
	s = strings.ToLower(dns.Fqdn(strings.TrimSpace(s)))
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(s, buf, 0, nil, false)
	if err != nil {
		return nil, false
	}
	return buf[:n], true
}
