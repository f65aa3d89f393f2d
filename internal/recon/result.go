package recon

import (
	"slices"
	"time"
)

// Sources of a discovery, as they appear in JSON.
const (
	SourceStandard   = "standard"
	SourceAXFR       = "axfr"
	SourceIXFR       = "ixfr"
	SourceBruteforce = "bruteforce"
	SourceNSEC       = "nsec"
	SourceNSEC3      = "nsec3"
	SourcePTR        = "ptr"
	SourceSRV        = "srv"
	SourceMined      = "mined"
	SourcePassive    = "passive"
)

// Transfer outcomes for Server.AXFR and Server.IXFR.
const (
	TransferAllowed = "allowed"
	// TransferPartial: the server was sending the zone when recon stopped
	// reading (record cap, time cap, interrupted) or the connection broke
	// mid-transfer; what arrived is kept.
	TransferPartial = "partial"
	TransferRefused = "refused"
	TransferFailed  = "failed"
	TransferSkipped = "skipped"
)

// Result is everything recon learned about one target domain. It is the
// first part of the JSON contract documented in the README; package scan
// adds what the later stages return (findings, changes, resolver health
// and statistics) beside it in scan.Report, so recon knows nothing of
// them.
type Result struct {
	Domain   string    `json:"domain"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Complete is false when the run stopped before every stage had run
	// (interrupted, or --max-time reached): the result holds what was
	// found until then. It is omitted when the run completed, so results
	// written before the field existed read as complete; see Partial.
	Complete *bool `json:"complete,omitempty"`
	// Gaps lists what the run could not cover: the stage running when it
	// stopped early, capped zone transfers, NSEC walks and NSEC3
	// collections stopped by their budget, zones that no resolver
	// answered for (asked at their own servers) or that nobody answered
	// for at all.
	Gaps        []Gap        `json:"gaps,omitempty"`
	Nameservers []Nameserver `json:"nameservers"`
	Names       []Name       `json:"names"`
	Records     []Record     `json:"records"`
	Wildcards   []Wildcard   `json:"wildcards"`
	NSEC3       NSEC3Info    `json:"nsec3"`
	// Zones lists the target zone and every delegated sub-zone found inside
	// scope, with delegation and DNSSEC facts.
	Zones []Zone `json:"zones"`
	// References are names outside scope that in-scope data points at
	// (CNAME, MX, NS, SRV, PTR targets, SPF includes, ...).
	References []Reference `json:"references"`
	// Addresses lists every address in the result with its network,
	// origin AS and country, when an address database covers it.
	Addresses []AddressInfo `json:"addresses"`
	// Historic lists names passive data knows that no longer resolve, or
	// whose former CNAME target no longer exists.
	Historic []HistoricName `json:"historic,omitempty"`
	// PassiveSources says what each passive source delivered.
	PassiveSources []PassiveStatus `json:"passive_sources,omitempty"`
	// Stats counts the queries of this run. scan.Report shadows it with
	// the resolver's figures added.
	Stats Stats `json:"stats"`
}

// Partial reports whether the run stopped before every stage had run.
func (r *Result) Partial() bool { return r.Complete != nil && !*r.Complete }

// MarkPartial marks the result as cut short, for the reason g gives.
func (r *Result) MarkPartial(g Gap) {
	incomplete := false
	r.Complete = &incomplete
	if !slices.Contains(r.Gaps, g) {
		r.Gaps = append(r.Gaps, g)
	}
}

// Gap is one part of a run that was not covered, and why.
type Gap struct {
	// Stage is "interrupted", "max-time", "resolver", "nameservers",
	// "axfr", "ixfr", "nsec" or "nsec3".
	Stage string `json:"stage"`
	// Zone and Server (an address) say what it concerns, when it
	// concerns one zone or one server.
	Zone   string `json:"zone,omitempty"`
	Server string `json:"server,omitempty"`
	Reason string `json:"reason"`
}

// Nameserver is one NS name of a zone and what each of its addresses said.
type Nameserver struct {
	Name string `json:"name"`
	// Zone is the zone this server is a nameserver of.
	Zone string `json:"zone"`
	// Sources says where the name came from: "parent" (the delegation),
	// "child" (the zone's own NS RRset), "soa" (SOA MNAME).
	Sources   []string `json:"sources"`
	Addresses []string `json:"addresses"`
	// Resolves is false when the name has no address (NXDOMAIN or NODATA);
	// Error then says which.
	Resolves bool     `json:"resolves"`
	Error    string   `json:"error,omitempty"`
	Servers  []Server `json:"servers"`
}

// Server is what one nameserver address answered for the zone.
type Server struct {
	Address string `json:"address"`
	// Responding is false when the address never answered.
	Responding    bool `json:"responding"`
	Authoritative bool `json:"authoritative"`
	// AXFR and IXFR are the transfer outcomes (allowed, partial,
	// refused, failed, skipped), with the records received.
	AXFR        string `json:"axfr"`
	AXFRRecords int    `json:"axfr_records,omitempty"`
	IXFR        string `json:"ixfr"`
	IXFRRecords int    `json:"ixfr_records,omitempty"`
	Serial      uint32 `json:"serial"`
	Recursion   bool   `json:"recursion"`
	// CHAOS-class identity answers and NSID (RFC 5001); empty when not given.
	Version       string `json:"version,omitempty"`
	VersionServer string `json:"version_server,omitempty"`
	Hostname      string `json:"hostname,omitempty"`
	ID            string `json:"id,omitempty"`
	NSID          string `json:"nsid,omitempty"`
	// NS is the NS RRset this server returned for the zone (child side).
	NS    []string `json:"ns,omitempty"`
	Error string   `json:"error,omitempty"`
}

// Name is one discovered owner name in scope.
type Name struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
	Sources   []string `json:"sources"`
	// PassiveSources names the passive sources that knew the name, and
	// FirstSeen/LastSeen when they saw it (zero when unknown).
	PassiveSources []string  `json:"passive_sources,omitempty"`
	FirstSeen      time.Time `json:"first_seen,omitzero"`
	LastSeen       time.Time `json:"last_seen,omitzero"`
	// Chain is set when the name is an alias (it owns a CNAME, or a DNAME
	// rewrites it): where its chain ends and what was answered there.
	Chain *ChainEnd `json:"chain,omitempty"`
}

// ChainEnd is where the CNAME (and DNAME) chain starting at a name ends.
type ChainEnd struct {
	// Target is the last name of the chain.
	Target string `json:"target"`
	// Rcode is what the chain's end answered: "NOERROR" (it has data),
	// "NODATA", "NXDOMAIN" (a dangling alias), "SERVFAIL", "REFUSED",
	// "LOOP" (the chain comes back on itself), or "" when it was not
	// settled (the chain is longer than recon follows, or the last query
	// got no answer).
	Rcode string `json:"rcode"`
	// Hops is the number of CNAME/DNAME links followed.
	Hops int `json:"hops"`
	// Loop is true when the chain comes back to a name it passed.
	Loop bool `json:"loop,omitempty"`
}

// AddressInfo is what address intelligence knows about one address.
type AddressInfo struct {
	Address string `json:"address"`
	// Prefix is the announced network (or the database's range).
	Prefix  string `json:"prefix,omitempty"`
	ASN     uint32 `json:"asn,omitempty"`
	ASName  string `json:"as_name,omitempty"`
	Country string `json:"country,omitempty"`
	// IntelSources names the databases that answered (mmdb file, iptoasn,
	// cymru).
	IntelSources []string `json:"intel_sources,omitempty"`
}

// HistoricName is a name passive data knows that no longer resolves
// (Kind "gone"), or whose former CNAME target no longer exists (Kind
// "cname-target-gone", Target set).
type HistoricName struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Target   string    `json:"target,omitempty"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	Sources  []string  `json:"sources"`
	// Records are what passive data held for the name ("TYPE data").
	Records []string `json:"records,omitempty"`
}

// PassiveStatus says what one passive source delivered.
type PassiveStatus struct {
	Source       string `json:"source"`
	Observations int    `json:"observations"`
	Names        int    `json:"names"`
	DurationMS   int64  `json:"duration_ms"`
	Error        string `json:"error,omitempty"`
}

// Record is one resource record in presentation form. Data is the RDATA as
// in a master file, with names fully qualified and lower case.
type Record struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	TTL    uint32 `json:"ttl"`
	Data   string `json:"data"`
	Source string `json:"source"`
}

// Wildcard is a wildcard found at one label level, with the answers it
// synthesises for one type.
type Wildcard struct {
	Name string   `json:"name"`
	Type string   `json:"type"`
	Data []string `json:"data"`
}

// NSEC3Info summarises the NSEC3 chain of a zone.
type NSEC3Info struct {
	Zone       string `json:"zone,omitempty"`
	Hashes     int    `json:"hashes"`
	Cracked    int    `json:"cracked"`
	Iterations uint16 `json:"iterations"`
	Salt       string `json:"salt"`
	OptOut     bool   `json:"opt_out"`
	// Complete is true when the collected hashes close the chain.
	Complete bool `json:"complete"`
	// Stopped says why a collection that did not close ended early (its
	// query or time budget, no progress, interrupted); empty otherwise.
	Stopped string `json:"stopped,omitempty"`
	// Chain lists every collected hash in chain order with the name it
	// cracked to, if any.
	Chain []NSEC3Hash `json:"chain,omitempty"`
}

// NSEC3Hash is one link of an NSEC3 chain.
type NSEC3Hash struct {
	Hash  string   `json:"hash"`
	Next  string   `json:"next"`
	Types []string `json:"types"`
	Name  string   `json:"name,omitempty"`
}

// Zone is the target zone or a delegated sub-zone inside scope.
type Zone struct {
	Name string `json:"name"`
	// ParentNS is the NS set the parent zone delegates to; ChildNS the NS
	// RRset the zone itself publishes.
	ParentNS []string `json:"parent_ns"`
	ChildNS  []string `json:"child_ns"`
	SOA      string   `json:"soa,omitempty"`
	Signed   bool     `json:"signed"`
	// Denial is "nsec", "nsec3" or "" (unsigned or unknown).
	Denial string `json:"denial,omitempty"`
	// Walked is the number of owner names an NSEC walk revealed; WalkComplete
	// says whether the chain closed back at the apex.
	Walked       int  `json:"walked,omitempty"`
	WalkComplete bool `json:"walk_complete,omitempty"`
	// WalkStopped says why an NSEC walk that did not close ended early
	// (its step or time budget, interrupted); empty otherwise.
	WalkStopped string `json:"walk_stopped,omitempty"`
	// Direct lists the nameserver addresses recon asked directly for the
	// zone's names because the resolver could not answer for it (lame or
	// dead delegation, broken DNSSEC, a failing resolver).
	Direct []string `json:"direct,omitempty"`
	// NSEC3 is set for NSEC3-signed zones.
	NSEC3 *NSEC3Info `json:"nsec3,omitempty"`
}

// Reference is an out-of-scope name that in-scope data points at.
type Reference struct {
	Name string `json:"name"`
	// From is the in-scope owner name and Via the record type or mechanism
	// (CNAME, MX, NS, SRV, PTR, SOA, spf-include, dmarc-rua, txt, ...).
	From string `json:"from"`
	Via  string `json:"via"`
}

// Stats counts the work of one run, as recon's own exchanger saw it (a
// resolver shared by several runs counts each run's queries apart).
type Stats struct {
	Queries    uint64 `json:"queries"`
	Responses  uint64 `json:"responses"`
	Timeouts   uint64 `json:"timeouts"`
	TCP        uint64 `json:"tcp"`
	DurationMS int64  `json:"duration_ms"`
}
