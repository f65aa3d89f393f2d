package report

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// severities lists the scale from the worst down, the order reports use.
var severities = []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info}

// fixFirstLimit is how many findings the summary puts under "fix first".
const fixFirstLimit = 5

// view is one domain's result prepared for the human formats: strings made
// safe to show, findings grouped, changes joined to the rows they concern.
type view struct {
	Index          int
	Anchor         string
	Domain         string
	DomainUnicode  string
	Started        string
	Finished       string
	Duration       string
	Stats          scan.Stats
	Counts         [5]int // by finding.Severity
	FindingsTotal  int
	Groups         []sevGroup
	FixFirst       []*findingView
	Names          []nameView
	Records        []recordView
	Nameservers    []nsView
	Wildcards      []recon.Wildcard
	Zones          []recon.Zone
	NSEC3          *recon.NSEC3Info
	References     []recon.Reference
	Changes        *change.Set
	GoneNames      []change.Name
	GoneRecords    []change.Record
	GoneFindings   []change.Finding
	NewFindings    []*findingView
	ChangedNames   []change.Name
	BaselineSource string
	BaselineSince  string
	// Networks groups the addresses by network and AS, largest first.
	Networks []networkView
	// Historic lists what passive DNS knew that no longer resolves.
	Historic []historicView
	// Passive says what each passive source delivered.
	Passive []passiveView
	// HasSeen is set when some name carries passive first/last-seen times.
	HasSeen bool
	// intel is the address index the networks and the map use.
	intel *addrIntel
	// skippedAddrs counts address strings that did not parse.
	skippedAddrs int
	// Partial is the banner of a run cut short ("" when it completed);
	// Gaps says what the run could not cover.
	Partial string
	Gaps    []string
}

type sevGroup struct {
	Severity finding.Severity
	Name     string
	Findings []*findingView
}

type findingView struct {
	finding.Finding
	Anchor   string
	Previous *change.FindingState
}

type nameView struct {
	Name      string
	Unicode   string
	Addresses []string
	// Addrs are the addresses with their AS and network.
	Addrs    []addrView
	Sources  []string
	Change   string
	Previous []string
	// PassiveSources are the passive sources that knew the name; FirstSeen
	// and LastSeen when they saw it (dates, "" when unknown), with the full
	// times in FirstSeenFull/LastSeenFull.
	PassiveSources []string
	FirstSeen      string
	LastSeen       string
	FirstSeenFull  string
	LastSeenFull   string
}

// AddrText is the addresses as the names tables show them: "192.0.2.10
// (AS64500)".
func (n nameView) AddrText(sep string) string {
	out := make([]string, len(n.Addrs))
	for i, a := range n.Addrs {
		out[i] = a.Text()
	}
	return strings.Join(out, sep)
}

// SourcesText is the discovery sources, with the passive sources that
// knew the name: "bruteforce, passive (crtsh, store)".
func (n nameView) SourcesText() string {
	srcs := slices.Clone(n.Sources)
	if len(n.PassiveSources) > 0 {
		detail := "passive (" + strings.Join(n.PassiveSources, ", ") + ")"
		if i := slices.Index(srcs, recon.SourcePassive); i >= 0 {
			srcs[i] = detail
		} else {
			srcs = append(srcs, detail)
		}
	}
	return strings.Join(srcs, ", ")
}

// historicView is a name passive DNS knew that is gone now.
type historicView struct {
	Name    string
	Unicode string
	Kind    string
	Target  string
	// LastSeen is the day passive DNS last saw the name, LastSeenFull the
	// time.
	LastSeen     string
	LastSeenFull string
	Sources      []string
	Records      []string
	// Finding is the historic-dangling finding about the name, if any.
	Finding *findingView
}

// KindText says what happened in words.
func (h historicView) KindText() string {
	switch h.Kind {
	case "gone":
		return "no longer resolves"
	case "cname-target-gone":
		return "CNAME target gone"
	}
	return h.Kind
}

// severityText is the severity of the name's finding, or "" when it has
// none.
func (h historicView) severityText() string {
	if h.Finding == nil {
		return ""
	}
	return h.Finding.Severity.String()
}

// passiveView is what one passive source delivered.
type passiveView struct {
	Source       string
	Observations int
	Names        int
	Duration     string
	Error        string
}

// Text is the summary line of the source: "crtsh: 12 names from 40
// observations in 1.2s" or "crtsh: failed: ...".
func (p passiveView) Text() string {
	s := p.Source + ": " + plural(p.Names, "name", "names") + " from " + plural(p.Observations, "observation", "observations")
	if p.Duration != "" {
		s += " in " + p.Duration
	}
	if p.Error != "" {
		s += "; failed: " + p.Error
	}
	return s
}

type recordView struct {
	recon.Record
	Change string
}

type nsView struct {
	Name     string
	Unicode  string
	Zone     string
	Sources  []string
	Resolves bool
	Error    string
	Servers  []recon.Server
}

// buildViews prepares every result. Strings from DNS are cleaned here once,
// so that each format only adds its own escaping.
func buildViews(results []*scan.Report, opts Options) []*view {
	out := make([]*view, len(results))
	for i, r := range results {
		out[i] = buildView(i, r, r.Changes)
		if v := out[i]; v.skippedAddrs > 0 || v.intel.badPrefix > 0 {
			opts.Logger.Debug("skipped unusable addresses", "domain", v.Domain, "addresses", v.skippedAddrs, "prefixes", v.intel.badPrefix)
		}
	}
	return out
}

// buildView prepares one result, section by section. The changes are
// indexed first, so that each section can mark its rows.
func buildView(i int, r *scan.Report, cs *change.Set) *view {
	v := &view{
		Index:   i,
		Anchor:  fmt.Sprintf("d%d", i),
		Domain:  clean(r.Domain),
		Stats:   r.Stats,
		Changes: cs,
	}
	v.DomainUnicode = unicodeOf(v.Domain)
	v.addTimes(r)
	v.Partial, v.Gaps = gapsView(r)
	ch := v.addChanges(cs)
	v.addFindings(r.Findings, ch)
	v.intel = newAddrIntel(r.Addresses)
	v.Networks, v.skippedAddrs = buildNetworks(r, v.intel)
	v.addNames(r.Names, ch)
	v.addRecords(r.Records, ch)
	v.addNameservers(r.Nameservers)
	v.addZoneFacts(r)
	v.addHistoric(r.Historic)
	v.addPassive(r.PassiveSources)
	return v
}

// addTimes sets when the run started and finished, and how long it took.
func (v *view) addTimes(r *scan.Report) {
	v.Started = fmtTime(r.Started)
	v.Finished = fmtTime(r.Finished)
	if r.Stats.DurationMS > 0 {
		v.Duration = (time.Duration(r.Stats.DurationMS) * time.Millisecond).String()
	} else if !r.Started.IsZero() && r.Finished.After(r.Started) {
		v.Duration = r.Finished.Sub(r.Started).Round(time.Millisecond).String()
	}
}

// changeIndex finds the change of a row still present; what is gone is
// listed on the view.
type changeIndex struct {
	names    map[string]change.Name
	records  map[change.RecordKey]string
	findings map[change.FindingKey]change.Finding
}

// addChanges lists what is gone since the baseline and indexes the rest.
func (v *view) addChanges(cs *change.Set) changeIndex {
	ch := changeIndex{
		names:    map[string]change.Name{},
		records:  map[change.RecordKey]string{},
		findings: map[change.FindingKey]change.Finding{},
	}
	if cs == nil {
		return ch
	}
	v.BaselineSource = clean(cs.Baseline)
	v.BaselineSince = fmtTime(cs.Since)
	for _, n := range cs.Names {
		n = cleanChangeName(n)
		switch n.Change {
		case change.Gone:
			v.GoneNames = append(v.GoneNames, n)
		case change.Changed:
			v.ChangedNames = append(v.ChangedNames, n)
			ch.names[n.Name] = n
		default:
			ch.names[n.Name] = n
		}
	}
	for _, rc := range cs.Records {
		if rc.Change == change.Gone {
			v.GoneRecords = append(v.GoneRecords, cleanChangeRecord(rc))
		} else {
			ch.records[rc.Key()] = clean(rc.Change)
		}
	}
	for _, f := range cs.Findings {
		f = cleanChangeFinding(f)
		if f.Change == change.Gone {
			v.GoneFindings = append(v.GoneFindings, f)
		} else {
			ch.findings[f.Key()] = f
		}
	}
	return ch
}

// addFindings groups the findings by severity in the order they arrived,
// counts them and picks what to fix first.
func (v *view) addFindings(fs []finding.Finding, ch changeIndex) {
	groups := make(map[finding.Severity][]*findingView)
	for j, f := range fs {
		fv := &findingView{Finding: cleanFinding(f), Anchor: fmt.Sprintf("d%d-f%d", v.Index, j)}
		if fc, ok := ch.findings[change.FindingKey{ID: fv.ID, Subject: fv.Subject}]; ok {
			fv.Change = fc.Change
			fv.Previous = fc.Previous
		}
		sev := f.Severity
		if sev < finding.Info || sev > finding.Critical {
			sev = finding.Info
		}
		groups[sev] = append(groups[sev], fv)
		v.Counts[sev]++
		v.FindingsTotal++
		if fv.Change == change.New || fv.Change == change.Changed {
			v.NewFindings = append(v.NewFindings, fv)
		}
	}
	for _, s := range severities {
		if fs := groups[s]; len(fs) > 0 {
			v.Groups = append(v.Groups, sevGroup{Severity: s, Name: s.String(), Findings: fs})
		}
	}
	// Fix first: the worst findings, but never info when anything else
	// exists, and at most fixFirstLimit.
	for _, g := range v.Groups {
		if g.Severity == finding.Info && len(v.FixFirst) > 0 {
			break
		}
		for _, f := range g.Findings {
			if len(v.FixFirst) < fixFirstLimit {
				v.FixFirst = append(v.FixFirst, f)
			}
		}
	}
}

// addNames adds the names with their addresses (AS and network from
// v.intel), passive sightings and change.
func (v *view) addNames(names []recon.Name, ch changeIndex) {
	v.Names = make([]nameView, 0, len(names))
	for _, n := range names {
		nv := nameView{Name: clean(n.Name), Addresses: cleanAll(n.Addresses), Sources: cleanAll(n.Sources),
			PassiveSources: cleanAll(n.PassiveSources), FirstSeen: fmtDate(n.FirstSeen), LastSeen: fmtDate(n.LastSeen),
			FirstSeenFull: fmtTime(n.FirstSeen), LastSeenFull: fmtTime(n.LastSeen)}
		nv.Unicode = unicodeOf(nv.Name)
		nv.Addrs = make([]addrView, len(n.Addresses))
		for i, a := range n.Addresses {
			nv.Addrs[i] = v.intel.addrView(a)
		}
		if nv.FirstSeen != "" || nv.LastSeen != "" {
			v.HasSeen = true
		}
		if c, ok := ch.names[clean(change.NameKey(n.Name))]; ok {
			nv.Change = c.Change
			nv.Previous = c.PreviousAddresses
		}
		v.Names = append(v.Names, nv)
	}
}

// addRecords adds the records with their change.
func (v *view) addRecords(records []recon.Record, ch changeIndex) {
	for _, rec := range records {
		rv := recordView{Record: recon.Record{Name: clean(rec.Name), Type: clean(rec.Type), TTL: rec.TTL, Data: clean(rec.Data), Source: clean(rec.Source)}}
		rv.Change = ch.records[change.NewRecordKey(rec.Name, rec.Type, rec.Data)]
		v.Records = append(v.Records, rv)
	}
}

// addNameservers adds the nameservers and what each address said.
func (v *view) addNameservers(nss []recon.Nameserver) {
	for _, ns := range nss {
		nv := nsView{Name: clean(ns.Name), Zone: clean(ns.Zone), Sources: cleanAll(ns.Sources), Resolves: ns.Resolves, Error: clean(ns.Error)}
		nv.Unicode = unicodeOf(nv.Name)
		for _, s := range ns.Servers {
			nv.Servers = append(nv.Servers, cleanServer(s))
		}
		v.Nameservers = append(v.Nameservers, nv)
	}
}

// addZoneFacts adds the wildcards, zones, NSEC3 facts and references.
func (v *view) addZoneFacts(r *scan.Report) {
	for _, w := range r.Wildcards {
		v.Wildcards = append(v.Wildcards, recon.Wildcard{Name: clean(w.Name), Type: clean(w.Type), Data: cleanAll(w.Data)})
	}
	for _, z := range r.Zones {
		z.Name = clean(z.Name)
		z.ParentNS = cleanAll(z.ParentNS)
		z.ChildNS = cleanAll(z.ChildNS)
		z.SOA = clean(z.SOA)
		z.Denial = clean(z.Denial)
		z.NSEC3 = nil
		v.Zones = append(v.Zones, z)
	}
	if r.NSEC3.Hashes > 0 || r.NSEC3.Iterations > 0 || r.NSEC3.Salt != "" || r.NSEC3.Zone != "" {
		n := r.NSEC3
		n.Zone = clean(n.Zone)
		n.Salt = clean(n.Salt)
		n.Chain = nil
		v.NSEC3 = &n
	}
	for _, ref := range r.References {
		v.References = append(v.References, recon.Reference{Name: clean(ref.Name), From: clean(ref.From), Via: clean(ref.Via)})
	}
}

// addHistoric adds what passive DNS knew that is gone, each with its
// historic-dangling finding (v.Groups must be set).
func (v *view) addHistoric(hs []recon.HistoricName) {
	historicFinding := map[string]*findingView{}
	for _, g := range v.Groups {
		for _, f := range g.Findings {
			if f.ID == historicFindingID {
				if _, ok := historicFinding[f.Subject]; !ok {
					historicFinding[f.Subject] = f
				}
			}
		}
	}
	for _, h := range hs {
		hv := historicView{Name: clean(h.Name), Kind: clean(h.Kind), Target: clean(h.Target), LastSeen: fmtDate(h.LastSeen), LastSeenFull: fmtTime(h.LastSeen),
			Sources: cleanAll(h.Sources), Records: cleanAll(h.Records)}
		hv.Unicode = unicodeOf(hv.Name)
		hv.Finding = historicFinding[hv.Name]
		v.Historic = append(v.Historic, hv)
	}
}

// addPassive adds what each passive source delivered.
func (v *view) addPassive(ps []recon.PassiveStatus) {
	for _, p := range ps {
		pv := passiveView{Source: clean(p.Source), Observations: p.Observations, Names: p.Names, Error: clean(p.Error)}
		if p.DurationMS > 0 {
			pv.Duration = (time.Duration(p.DurationMS) * time.Millisecond).String()
		}
		v.Passive = append(v.Passive, pv)
	}
}

// historicFindingID is the finding checks raise for a Historic entry.
const historicFindingID = "historic-dangling"

// gapsView returns the banner of a partial result and one line per gap.
func gapsView(r *scan.Report) (string, []string) {
	banner := ""
	if r.Partial() {
		banner = "PARTIAL RESULT: the run stopped before every stage had run"
	}
	var lines []string
	for _, g := range r.Gaps {
		line := g.Stage
		if g.Zone != "" {
			line += " " + g.Zone
		}
		if g.Server != "" {
			line += " at " + g.Server
		}
		line = clean(line + ": " + g.Reason)
		if banner != "" && (g.Stage == "interrupted" || g.Stage == "max-time") {
			banner += " (" + clean(g.Reason) + ")"
		}
		lines = append(lines, line)
	}
	if banner != "" {
		banner += "; what was found until then is shown."
	}
	return banner, lines
}

func cleanFinding(f finding.Finding) finding.Finding {
	f.ID = clean(f.ID)
	f.Title = clean(f.Title)
	f.Subject = clean(f.Subject)
	f.Evidence = cleanAll(f.Evidence)
	f.Remediation = clean(f.Remediation)
	f.References = cleanAll(f.References)
	f.Change = clean(f.Change)
	return f
}

func cleanServer(s recon.Server) recon.Server {
	s.Address = clean(s.Address)
	s.AXFR = clean(s.AXFR)
	s.IXFR = clean(s.IXFR)
	s.Version = clean(s.Version)
	s.VersionServer = clean(s.VersionServer)
	s.Hostname = clean(s.Hostname)
	s.ID = clean(s.ID)
	s.NSID = clean(s.NSID)
	s.NS = cleanAll(s.NS)
	s.Error = clean(s.Error)
	return s
}

func cleanChangeName(n change.Name) change.Name {
	n.Change = clean(n.Change)
	n.Name = clean(n.Name)
	n.Addresses = cleanAll(n.Addresses)
	n.PreviousAddresses = cleanAll(n.PreviousAddresses)
	return n
}

func cleanChangeRecord(r change.Record) change.Record {
	r.Change, r.Name, r.Type, r.Data, r.Source = clean(r.Change), clean(r.Name), clean(r.Type), clean(r.Data), clean(r.Source)
	return r
}

func cleanChangeFinding(f change.Finding) change.Finding {
	f.Change, f.ID, f.Subject, f.Title, f.Remediation = clean(f.Change), clean(f.ID), clean(f.Subject), clean(f.Title), clean(f.Remediation)
	f.Evidence = cleanAll(f.Evidence)
	if f.Previous != nil {
		p := *f.Previous
		p.Evidence = cleanAll(p.Evidence)
		f.Previous = &p
	}
	return f
}

// scanFacts is when the run started, how long it took and how many
// queries it sent.
func (v *view) scanFacts() []string {
	var facts []string
	if v.Started != "" {
		facts = append(facts, "started "+v.Started)
	}
	if v.Duration != "" {
		facts = append(facts, "took "+v.Duration)
	}
	return append(facts, plural(int(v.Stats.Queries), "query", "queries"))
}

// noServerText says why a nameserver has no server rows: its error, or
// that it has no address.
func (ns nsView) noServerText() string {
	if ns.Error != "" {
		return ns.Error
	}
	return "no address"
}

// authText says whether s answered with authority: "yes", "no", or the
// format's word for no answer at all.
func authText(s recon.Server, silent string) string {
	if !s.Responding {
		return silent
	}
	return yesNo(s.Authoritative)
}

// serialText is s's SOA serial, or none when it is unknown.
func serialText(s recon.Server, none string) string {
	if s.Serial == 0 {
		return none
	}
	return strconv.FormatUint(uint64(s.Serial), 10)
}

// serverFacts summarises what one nameserver address said, for tooltips
// and compact cells.
func serverFacts(s recon.Server) []string {
	var out []string
	if !s.Responding {
		out = append(out, "not responding")
	} else if s.Authoritative {
		out = append(out, "authoritative")
	} else {
		out = append(out, "not authoritative")
	}
	if s.AXFR != "" {
		out = append(out, "AXFR "+s.AXFR)
	}
	if s.IXFR != "" {
		out = append(out, "IXFR "+s.IXFR)
	}
	if s.Serial != 0 {
		out = append(out, "serial "+strconv.FormatUint(uint64(s.Serial), 10))
	}
	if s.Recursion {
		out = append(out, "recursion on")
	}
	if id := identity(s); id != "" {
		out = append(out, id)
	}
	if s.Error != "" {
		out = append(out, "error: "+s.Error)
	}
	return out
}

// identity joins the CHAOS answers and NSID of a server.
func identity(s recon.Server) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("version.bind", s.Version)
	add("version.server", s.VersionServer)
	add("hostname.bind", s.Hostname)
	add("id.server", s.ID)
	add("nsid", s.NSID)
	return strings.Join(parts, " ")
}

// fmtDate is the day of t (UTC), or "" for the zero time.
func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// unicodeOf returns the Unicode form of an A-label name, or "" when it has
// none (the name is plain ASCII or not valid IDNA).
func unicodeOf(name string) string {
	u := dnsname.Display(name)
	if u == name {
		return ""
	}
	return clean(u)
}

// clean makes s safe to show to a person: invalid UTF-8, control
// characters, bidi overrides, zero-width and non-characters become visible
// escapes (\x1b, \u202e), so that DNS data can neither drive a terminal nor
// disguise itself, and every result is valid XML text.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c || r == 0x200e || r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true // bidi controls
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff:
		return true // zero-width
	case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
		return true // non-characters
	case r >= 0xd800 && r <= 0xdfff:
		return true
	}
	return false
}

func cleanAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return out
}

// sortedAddrs parses, de-duplicates and orders addresses (IPv4 first). Text
// that is not an address is returned in skipped.
func sortedAddrs(in []string) (addrs []netip.Addr, skipped int) {
	for _, s := range in {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			skipped++
			continue
		}
		addrs = append(addrs, a.Unmap().WithZone(""))
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(addrs), skipped
}

// sevClass is the CSS class and colour key of a severity.
func sevClass(s finding.Severity) string {
	if s < finding.Info || s > finding.Critical {
		return "info"
	}
	return s.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// countsLine says "1 critical, 2 high" for the non-zero severities, or
// "none".
func countsLine(c [5]int) string {
	var parts []string
	for _, s := range severities {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func changeLine(c change.Counts) string {
	return fmt.Sprintf("%d new, %d changed, %d gone", c.New, c.Changed, c.Gone)
}

func reportTitle(results []*scan.Report, opts Options) string {
	if opts.Title != "" {
		return clean(opts.Title)
	}
	var ds []string
	for _, r := range results {
		d := clean(r.Domain)
		if u := unicodeOf(d); u != "" {
			d = u
		}
		ds = append(ds, d)
	}
	if len(ds) > 4 {
		ds = append(ds[:4], fmt.Sprintf("and %d more", len(ds)-4))
	}
	if len(ds) == 0 {
		return "DNS exposure report"
	}
	return "DNS exposure report: " + strings.Join(ds, ", ")
}

// worst returns the highest severity present, or -1 when there is none.
func (v *view) worst() finding.Severity {
	for _, s := range severities {
		if v.Counts[s] > 0 {
			return s
		}
	}
	return -1
}
