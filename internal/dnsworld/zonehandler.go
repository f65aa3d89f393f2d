package dnsworld

import (
	"encoding/hex"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
)

// DefaultMaxUDPSize is the largest UDP response ZoneHandler and Recursor
// send unless told otherwise (the DNS flag day 2020 value).
const DefaultMaxUDPSize = 1232

// maxChase bounds CNAME/DNAME chains followed inside one response.
const maxChase = 12

// ZoneHandler is an authoritative DNS server for a set of zones, usable as a
// dns.Handler. It answers with the RFC 1034 section 4.3.2 algorithm
// (referrals with glue below zone cuts, CNAME and DNAME chains inside the
// zone, wildcards, NXDOMAIN and NODATA with the SOA, empty non-terminals),
// serves AXFR over TCP and IXFR (as a full transfer) when the zone allows it,
// answers CHAOS identity queries and NSID, and for signed zones returns
// RRSIGs and NSEC/NSEC3 proofs when the query sets DO.
//
// Configure the exported fields before serving; zones may be swapped while
// serving with Replace and Remove.
type ZoneHandler struct {
	// Version answers CHAOS TXT version.bind and version.server.
	// Default "": those queries are REFUSED.
	Version string
	// Hostname answers CHAOS TXT hostname.bind. Default "": REFUSED.
	Hostname string
	// ServerID answers CHAOS TXT id.server. Default "": REFUSED.
	ServerID string
	// NSID is returned in an EDNS NSID option when the query asks for one.
	// Default "": no NSID.
	NSID string
	// MaxUDPSize caps UDP responses; larger ones are truncated (TC).
	// Default DefaultMaxUDPSize; values below 512 mean 512.
	MaxUDPSize int
	// Logger receives one line per zone transfer. Default nil: discard.
	Logger *slog.Logger

	mu    sync.Mutex // serialises Replace and Remove
	zones atomic.Pointer[map[string]*Zone]
}

var _ dns.Handler = (*ZoneHandler)(nil)

// NewZoneHandler returns a handler serving zones. A later zone replaces an
// earlier one with the same origin; nil zones are skipped.
func NewZoneHandler(zones ...*Zone) *ZoneHandler {
	h := &ZoneHandler{}
	m := map[string]*Zone{}
	for _, z := range zones {
		if z != nil {
			m[z.Origin] = z
		}
	}
	h.zones.Store(&m)
	return h
}

// Replace adds z, or replaces the zone with the same origin, atomically.
func (h *ZoneHandler) Replace(z *Zone) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.zones.Load()
	m := make(map[string]*Zone, len(*old)+1)
	for k, v := range *old {
		m[k] = v
	}
	m[z.Origin] = z
	h.zones.Store(&m)
}

// Remove stops serving the zone with the given origin.
func (h *ZoneHandler) Remove(origin string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.zones.Load()
	m := make(map[string]*Zone, len(*old))
	for k, v := range *old {
		m[k] = v
	}
	delete(m, CanonName(origin))
	h.zones.Store(&m)
}

// Zone returns the zone with the given origin, nil if it is not served.
func (h *ZoneHandler) Zone(origin string) *Zone { return (*h.zones.Load())[CanonName(origin)] }

func (h *ZoneHandler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return h.Logger.With("component", "dnstest.zonehandler")
}

func (h *ZoneHandler) maxUDP() int {
	switch {
	case h.MaxUDPSize == 0:
		return DefaultMaxUDPSize
	case h.MaxUDPSize < dns.MinMsgSize:
		return dns.MinMsgSize
	}
	return h.MaxUDPSize
}

// ServeDNS implements dns.Handler.
func (h *ZoneHandler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	tcp := IsTCP(w)
	if len(req.Question) == 1 && req.Opcode == dns.OpcodeQuery && !req.Response {
		if t := req.Question[0].Qtype; (t == dns.TypeAXFR || t == dns.TypeIXFR) && tcp {
			if h.serveTransfer(w, req) {
				return
			}
		}
	}
	m := h.Answer(req)
	if m == nil {
		return
	}
	if !tcp {
		m.Truncate(UDPSize(req, h.maxUDP()))
	}
	_ = w.WriteMsg(m)
}

// IsTCP reports whether w answers over TCP.
func IsTCP(w dns.ResponseWriter) bool {
	if a := w.LocalAddr(); a != nil {
		return strings.HasPrefix(a.Network(), "tcp")
	}
	return false
}

// UDPSize returns the response size limit for a UDP request.
func UDPSize(req *dns.Msg, limit int) int {
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
		size = int(opt.UDPSize())
	}
	return min(size, max(limit, dns.MinMsgSize))
}

// Answer returns the response to req as if it had arrived over UDP without
// size limit (no truncation), and nil for messages that get no response
// (responses). AXFR gets FORMERR here; ServeDNS streams transfers over TCP.
func (h *ZoneHandler) Answer(req *dns.Msg) *dns.Msg {
	if req.Response {
		return nil
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Compress = true
	if req.Opcode != dns.OpcodeQuery {
		m.Question = req.Question
		if req.Opcode == dns.OpcodeUpdate || req.Opcode == dns.OpcodeNotify {
			m.Rcode = dns.RcodeRefused
		} else {
			m.Rcode = dns.RcodeNotImplemented
		}
		return m
	}
	if len(req.Question) != 1 {
		m.Question = nil
		m.Rcode = dns.RcodeFormatError
		return m
	}
	do := false
	if opt := req.IsEdns0(); opt != nil {
		ro := h.opt(opt)
		m.Extra = append(m.Extra, ro)
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers
			return m
		}
		do = opt.Do()
	}
	q := req.Question[0]
	qname := CanonName(q.Name)
	switch q.Qclass {
	case dns.ClassCHAOS:
		h.chaos(m, qname, q.Qtype)
		return m
	case dns.ClassINET, dns.ClassANY:
	default:
		m.Rcode = dns.RcodeRefused
		return m
	}
	switch q.Qtype {
	case dns.TypeAXFR:
		m.Rcode = dns.RcodeFormatError // AXFR is TCP only (RFC 5936 section 4.2)
		return m
	case dns.TypeIXFR:
		z := h.ZoneFor(qname, q.Qtype)
		if z == nil || z.Origin != qname {
			m.Rcode = dns.RcodeNotAuth
			return m
		}
		if !z.AllowTransfer {
			m.Rcode = dns.RcodeRefused
			return m
		}
		// RFC 1995 section 2: a UDP IXFR that does not fit gets the SOA only.
		m.Authoritative = true
		m.Answer = append(m.Answer, dns.Copy(z.soa))
		return m
	case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY, dns.TypeMAILA, dns.TypeMAILB:
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	z := h.ZoneFor(qname, q.Qtype)
	if z == nil {
		m.Rcode = dns.RcodeRefused
		return m
	}
	r := &response{z: z, m: m, do: do, seen: map[string]bool{}}
	r.resolve(qname, q.Qtype)
	r.finish()
	return m
}

// opt builds the response OPT record for a request OPT.
func (h *ZoneHandler) opt(in *dns.OPT) *dns.OPT {
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(uint16(h.maxUDP()))
	if in.Do() {
		o.SetDo()
	}
	if h.NSID != "" {
		for _, e := range in.Option {
			if e.Option() == dns.EDNS0NSID {
				o.Option = append(o.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: hex.EncodeToString([]byte(h.NSID))})
				break
			}
		}
	}
	return o
}

func (h *ZoneHandler) chaos(m *dns.Msg, qname string, qtype uint16) {
	var v string
	switch qname {
	case "version.bind.", "version.server.":
		v = h.Version
	case "hostname.bind.":
		v = h.Hostname
	case "id.server.":
		v = h.ServerID
	}
	if v == "" || qtype != dns.TypeTXT && qtype != dns.TypeANY {
		m.Rcode = dns.RcodeRefused
		return
	}
	m.Authoritative = true
	m.Answer = append(m.Answer, &dns.TXT{
		Hdr: dns.RR_Header{Name: m.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS},
		Txt: splitTXT(v),
	})
}

// splitTXT cuts s into character-strings of at most 255 octets.
func splitTXT(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}

// ZoneFor finds the zone that answers qname (canonical, fully qualified): the closest enclosing zone,
// except that DS at a zone apex is answered by the parent zone when served.
func (h *ZoneHandler) ZoneFor(qname string, qtype uint16) *Zone {
	zones := *h.zones.Load()
	var found *Zone
	for n := qname; ; n = ParentOf(n) {
		if z := zones[n]; z != nil {
			if found != nil {
				return z // parent of the apex, for DS
			}
			if qtype == dns.TypeDS && n == qname && n != "." {
				found = z
			} else {
				return z
			}
		}
		if n == "." {
			break
		}
	}
	return found
}

// serveTransfer streams an AXFR (or a full IXFR) over TCP. It returns false
// when the request should get an ordinary error response instead.
func (h *ZoneHandler) serveTransfer(w dns.ResponseWriter, req *dns.Msg) bool {
	q := req.Question[0]
	qname := CanonName(q.Name)
	z := (*h.zones.Load())[qname]
	if z == nil {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeNotAuth)
		_ = w.WriteMsg(m)
		return true
	}
	log := h.logger().With("zone", z.Origin, "type", dns.TypeToString[q.Qtype], "remote", w.RemoteAddr().String())
	if !z.AllowTransfer {
		log.Info("transfer refused")
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeRefused)
		_ = w.WriteMsg(m)
		return true
	}
	if q.Qtype == dns.TypeIXFR {
		for _, rr := range req.Ns {
			if soa, ok := rr.(*dns.SOA); ok && !SerialLess(soa.Serial, z.soa.Serial) {
				m := new(dns.Msg)
				m.SetReply(req)
				m.Authoritative = true
				m.Answer = []dns.RR{dns.Copy(z.soa)}
				_ = w.WriteMsg(m)
				log.Info("ixfr up to date", "serial", z.soa.Serial)
				return true
			}
		}
	}
	rrs := append(z.Records(), dns.Copy(z.soa))
	// Messages of about 16 KB, counted uncompressed so that even records
	// near 64 KB never overflow one.
	const chunk = 16 << 10
	msgs, size := 0, 0
	m := newTransferMsg(req)
	for _, rr := range rrs {
		l := dns.Len(rr)
		if len(m.Answer) > 0 && size+l > chunk {
			if err := w.WriteMsg(m); err != nil {
				log.Info("transfer aborted", "err", err)
				return true
			}
			msgs++
			m, size = newTransferMsg(req), 0
		}
		m.Answer = append(m.Answer, rr)
		size += l
	}
	if len(m.Answer) > 0 {
		if err := w.WriteMsg(m); err != nil {
			log.Info("transfer aborted", "err", err)
			return true
		}
		msgs++
	}
	log.Info("transfer done", "records", len(rrs), "messages", msgs, "serial", z.soa.Serial)
	return true
}

func newTransferMsg(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.Compress = true
	return m
}

// SerialLess reports a < b in RFC 1982 serial number arithmetic.
func SerialLess(a, b uint32) bool {
	return a != b && int32(b-a) > 0
}

// response accumulates one authoritative answer.
type response struct {
	z    *Zone
	m    *dns.Msg
	do   bool
	seen map[string]bool // records already added to authority/additional
}

func (r *response) resolve(qname string, qtype uint16) {
	z, m := r.z, r.m
	m.Authoritative = true
	name := qname
	visited := map[string]bool{}
	for hop := 0; hop < maxChase; hop++ {
		if visited[name] {
			return // CNAME loop: answer with the chain so far
		}
		visited[name] = true
		kind, n, ce := z.find(name, qtype)
		switch kind {
		case findCut:
			if hop == 0 {
				m.Authoritative = false
			}
			r.referral(n)
			return
		case findDNAME:
			dn := n.rrsets[dns.TypeDNAME][0].(*dns.DNAME)
			r.addSet(&m.Answer, n.rrsets[dns.TypeDNAME], n.sigs[dns.TypeDNAME], "")
			prefix := strings.TrimSuffix(name, n.name)
			if n.name == "." {
				prefix = name
			}
			target := prefix + dn.Target
			if dn.Target == "." {
				target = prefix
			}
			if _, ok := dns.IsDomainName(target); !ok || len(target) > 255 {
				m.Rcode = dns.RcodeYXDomain
				return
			}
			m.Answer = append(m.Answer, &dns.CNAME{
				Hdr:    dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: dn.Hdr.Ttl},
				Target: CanonName(target),
			})
			name = CanonName(target)
			if !IsSub(z.Origin, name) {
				return
			}
			continue
		case findExact, findENT:
			next, done := r.atNode(name, n, qtype, "")
			if done {
				return
			}
			name = next
			continue
		case findNX:
			wild := "*." + Dotless(ce)
			wn := z.nodes[wild]
			if wn == nil {
				m.Rcode = dns.RcodeNameError
				r.addSOA()
				if r.do {
					r.denyName(name, ce)
				}
				return
			}
			if r.do {
				r.proveNoExactMatch(name, ce)
			}
			next, done := r.atNode(name, wn, qtype, wild)
			if done {
				return
			}
			name = next
			continue
		}
	}
}

// atNode answers at an existing node n (nil for an empty non-terminal).
// wild is the wildcard owner when the answer is synthesised for name. It
// returns the CNAME target to follow, or done.
func (r *response) atNode(name string, n *node, qtype uint16, wild string) (string, bool) {
	z, m := r.z, r.m
	if n == nil {
		r.nodata(name, nil, "")
		return "", true
	}
	owner := ""
	if wild != "" {
		owner = name
	}
	switch {
	case qtype == dns.TypeANY:
		if len(n.rrsets) == 0 {
			r.nodata(name, n, wild)
			return "", true
		}
		for _, t := range sortedTypes(n) {
			if len(n.rrsets[t]) > 0 {
				r.addSet(&m.Answer, n.rrsets[t], n.sigs[t], owner)
			}
		}
		return "", true
	case qtype == dns.TypeRRSIG:
		var sigs []dns.RR
		for _, t := range sortedTypes(n) {
			sigs = append(sigs, n.sigs[t]...)
		}
		if len(sigs) == 0 {
			r.nodata(name, n, wild)
			return "", true
		}
		r.addSet(&m.Answer, sigs, nil, owner)
		return "", true
	case len(n.rrsets[qtype]) > 0:
		r.addSet(&m.Answer, n.rrsets[qtype], n.sigs[qtype], owner)
		r.additional(n.rrsets[qtype])
		return "", true
	case len(n.rrsets[dns.TypeCNAME]) > 0 && qtype != dns.TypeCNAME:
		c := n.rrsets[dns.TypeCNAME][0].(*dns.CNAME)
		r.addSet(&m.Answer, n.rrsets[dns.TypeCNAME], n.sigs[dns.TypeCNAME], owner)
		target := CanonName(c.Target)
		if !IsSub(z.Origin, target) {
			return "", true
		}
		return target, false
	}
	r.nodata(name, n, wild)
	return "", true
}

type findKind int

const (
	findExact findKind = iota
	findENT
	findCut
	findDNAME
	findNX
)

// find walks from the apex down to name. It stops at a zone cut (unless
// name is the cut and qtype is DS), at a DNAME strictly above name, at the
// first name that does not exist (returning its closest encloser), or at
// name itself.
func (z *Zone) find(name string, qtype uint16) (findKind, *node, string) {
	nl, ol := LabelCount(name), LabelCount(z.Origin)
	ce := z.Origin
	for i := ol; i <= nl; i++ {
		cur := AncestorAt(name, i)
		n := z.nodes[cur]
		if n == nil {
			if z.ents[cur] {
				if cur == name {
					return findENT, nil, ce
				}
				ce = cur
				continue
			}
			return findNX, nil, ce
		}
		if cur != z.Origin && len(n.rrsets[dns.TypeNS]) > 0 && (cur != name || qtype != dns.TypeDS) {
			return findCut, n, ce
		}
		if cur == name {
			return findExact, n, ce
		}
		if len(n.rrsets[dns.TypeDNAME]) > 0 {
			return findDNAME, n, ce
		}
		ce = cur
	}
	return findNX, nil, ce
}

// addSet appends copies of rrset (and, with DO, its signatures) to sec,
// renamed to owner when owner is not empty (wildcard synthesis).
func (r *response) addSet(sec *[]dns.RR, rrset, sigs []dns.RR, owner string) {
	for _, rr := range rrset {
		c := dns.Copy(rr)
		if owner != "" {
			c.Header().Name = owner
		}
		*sec = append(*sec, c)
	}
	if r.do {
		for _, s := range sigs {
			c := dns.Copy(s)
			if owner != "" {
				c.Header().Name = owner
			}
			*sec = append(*sec, c)
		}
	}
}

// addAuth appends a record set to the authority section once.
func (r *response) addAuth(key string, rrset, sigs []dns.RR) {
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	r.addSet(&r.m.Ns, rrset, sigs, "")
}

func (r *response) addSOA() {
	z := r.z
	soa := dns.Copy(z.soa).(*dns.SOA)
	soa.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
	var sigs []dns.RR
	for _, s := range z.nodes[z.Origin].sigs[dns.TypeSOA] {
		c := dns.Copy(s)
		c.Header().Ttl = soa.Hdr.Ttl
		sigs = append(sigs, c)
	}
	r.addAuth("soa", []dns.RR{soa}, sigs)
}

// nodata adds the SOA and, with DO, the proof that name has no data of the
// queried type (n nil: name is an empty non-terminal; wild: the answer comes
// from that wildcard).
func (r *response) nodata(name string, n *node, wild string) {
	r.addSOA()
	if !r.do {
		return
	}
	z := r.z
	if z.nsec3Param != nil {
		if wild != "" {
			ce := ParentOf(wild)
			r.nsec3Match(ce)
			r.nsec3Cover(nextCloser(name, ce))
			r.nsec3Match(wild)
			return
		}
		if !r.nsec3Match(name) {
			// Opt-out: name is not in the chain, prove the closest
			// provable encloser and cover the next closer name.
			r.closestEncloserProof(name)
		}
		return
	}
	if wild != "" {
		r.nsecCover(name)
		r.nsecAt(wild)
		return
	}
	if n != nil && len(n.rrsets[dns.TypeNSEC]) > 0 {
		r.nsecAt(name)
		return
	}
	r.nsecCover(name)
}

// denyName adds the NXDOMAIN proof for name whose closest encloser is ce.
func (r *response) denyName(name, ce string) {
	if r.z.nsec3Param != nil {
		cpe := r.closestEncloserProof(name)
		r.nsec3Cover("*." + Dotless(cpe))
		return
	}
	r.nsecCover(name)
	r.nsecCover("*." + Dotless(ce))
}

// proveNoExactMatch adds the proof that name does not exist, for an answer
// synthesised from the wildcard below ce.
func (r *response) proveNoExactMatch(name, ce string) {
	if r.z.nsec3Param != nil {
		r.nsec3Cover(nextCloser(name, ce))
		return
	}
	r.nsecCover(name)
}

// closestEncloserProof adds the NSEC3 matching the closest provable
// encloser of name and the NSEC3 covering the next closer name, and returns
// the encloser.
func (r *response) closestEncloserProof(name string) string {
	z := r.z
	ce := name
	if ce != z.Origin {
		ce = ParentOf(name)
	}
	for ce != z.Origin && IsSub(z.Origin, ce) && !z.nsec3Has(ce) {
		ce = ParentOf(ce)
	}
	if !IsSub(z.Origin, ce) {
		ce = z.Origin
	}
	r.nsec3Match(ce)
	if ce != name {
		r.nsec3Cover(nextCloser(name, ce))
	}
	return ce
}

// nextCloser returns the ancestor of name one label longer than ce.
func nextCloser(name, ce string) string {
	return AncestorAt(name, LabelCount(ce)+1)
}

func (z *Zone) nsec3Hash(name string) string {
	p := z.nsec3Param
	return dns.HashName(name, p.Hash, p.Iterations, p.Salt)
}

func (z *Zone) nsec3Has(name string) bool {
	h := z.nsec3Hash(name)
	i := sort.SearchStrings(z.nsec3Hashes, h)
	return i < len(z.nsec3Hashes) && z.nsec3Hashes[i] == h
}

// nsec3Match adds the NSEC3 whose owner hash equals the hash of name and
// reports whether there is one.
func (r *response) nsec3Match(name string) bool {
	z := r.z
	h := z.nsec3Hash(name)
	i := sort.SearchStrings(z.nsec3Hashes, h)
	if i >= len(z.nsec3Hashes) || z.nsec3Hashes[i] != h {
		return false
	}
	rec := z.nsec3[h]
	r.addAuth("nsec3:"+h, []dns.RR{rec.rr}, rec.sigs)
	return true
}

// nsec3Cover adds the NSEC3 whose interval covers the hash of name.
func (r *response) nsec3Cover(name string) {
	z := r.z
	if len(z.nsec3Hashes) == 0 {
		return
	}
	h := z.nsec3Hash(name)
	i := sort.SearchStrings(z.nsec3Hashes, h)
	if i < len(z.nsec3Hashes) && z.nsec3Hashes[i] == h {
		r.addAuth("nsec3:"+h, []dns.RR{z.nsec3[h].rr}, z.nsec3[h].sigs)
		return
	}
	i--
	if i < 0 {
		i = len(z.nsec3Hashes) - 1
	}
	rec := z.nsec3[z.nsec3Hashes[i]]
	r.addAuth("nsec3:"+z.nsec3Hashes[i], []dns.RR{rec.rr}, rec.sigs)
}

// nsecAt adds the NSEC record owned by name, if any.
func (r *response) nsecAt(name string) {
	n := r.z.nodes[name]
	if n == nil || len(n.rrsets[dns.TypeNSEC]) == 0 {
		return
	}
	r.addAuth("nsec:"+name, n.rrsets[dns.TypeNSEC], n.sigs[dns.TypeNSEC])
}

// nsecCover adds the NSEC whose interval covers name (or matches it).
func (r *response) nsecCover(name string) {
	owners := r.z.nsecOwners
	if len(owners) == 0 {
		return
	}
	k := keyOf(name)
	i := sort.Search(len(owners), func(i int) bool { return compareKeys(owners[i].key, k) > 0 })
	i--
	if i < 0 {
		i = len(owners) - 1
	}
	r.nsecAt(owners[i].name)
}

// referral adds the delegation NS set, the DS set or the proof that there is
// none (with DO), and glue for in-zone NS targets.
func (r *response) referral(cut *node) {
	z, m := r.z, r.m
	r.addSet(&m.Ns, cut.rrsets[dns.TypeNS], nil, "")
	if r.do {
		if ds := cut.rrsets[dns.TypeDS]; len(ds) > 0 {
			r.addSet(&m.Ns, ds, cut.sigs[dns.TypeDS], "")
		} else if z.nsec3Param != nil {
			if !r.nsec3Match(cut.name) {
				r.closestEncloserProof(cut.name)
			}
		} else {
			r.nsecAt(cut.name)
		}
	}
	for _, rr := range cut.rrsets[dns.TypeNS] {
		r.addAddresses(rr.(*dns.NS).Ns, false)
	}
}

// additional adds in-zone addresses for the targets of NS, MX and SRV
// answers.
func (r *response) additional(rrset []dns.RR) {
	for _, rr := range rrset {
		switch v := rr.(type) {
		case *dns.NS:
			r.addAddresses(v.Ns, true)
		case *dns.MX:
			r.addAddresses(v.Mx, true)
		case *dns.SRV:
			r.addAddresses(v.Target, true)
		}
	}
}

// addAddresses adds the A and AAAA records of target when it is in the zone;
// signatures only for authoritative data and when sign is set.
func (r *response) addAddresses(target string, sign bool) {
	z := r.z
	target = CanonName(target)
	if !IsSub(z.Origin, target) {
		return
	}
	n := z.nodes[target]
	if n == nil {
		return
	}
	key := "addr:" + target
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	sign = sign && !z.occluded(target)
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if len(n.rrsets[t]) == 0 {
			continue
		}
		if sign {
			r.addSet(&r.m.Extra, n.rrsets[t], n.sigs[t], "")
		} else {
			for _, rr := range n.rrsets[t] {
				r.m.Extra = append(r.m.Extra, dns.Copy(rr))
			}
		}
	}
}

// finish moves the OPT record to the end of the additional section.
func (r *response) finish() {
	extra := r.m.Extra
	for i, rr := range extra {
		if rr.Header().Rrtype == dns.TypeOPT && i != len(extra)-1 {
			extra = append(append(extra[:i:i], extra[i+1:]...), rr)
			break
		}
	}
	r.m.Extra = extra
}
