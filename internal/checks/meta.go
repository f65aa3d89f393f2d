package checks

// checkMeta is the fixed text of a check's findings. docs/checks.md says
// the same at length.
type checkMeta struct {
	title       string
	remediation string
	references  []string
}

// Reference URLs, named once.
const (
	refATTACK    = "https://attack.mitre.org/techniques/T1596/001/"
	refM1056     = "https://attack.mitre.org/mitigations/M1056/"
	refCWE200    = "https://cwe.mitre.org/data/definitions/200.html"
	refRFC1034   = "https://www.rfc-editor.org/rfc/rfc1034"
	refRFC1035   = "https://www.rfc-editor.org/rfc/rfc1035"
	refRFC1918   = "https://www.rfc-editor.org/rfc/rfc1918"
	refRFC1995   = "https://www.rfc-editor.org/rfc/rfc1995"
	refRFC1996   = "https://www.rfc-editor.org/rfc/rfc1996"
	refRFC2182   = "https://www.rfc-editor.org/rfc/rfc2182"
	refRFC2308   = "https://www.rfc-editor.org/rfc/rfc2308"
	refRFC4033   = "https://www.rfc-editor.org/rfc/rfc4033"
	refRFC4034   = "https://www.rfc-editor.org/rfc/rfc4034"
	refRFC4035   = "https://www.rfc-editor.org/rfc/rfc4035"
	refRFC4592   = "https://www.rfc-editor.org/rfc/rfc4592"
	refRFC4193   = "https://www.rfc-editor.org/rfc/rfc4193"
	refRFC4470   = "https://www.rfc-editor.org/rfc/rfc4470"
	refRFC5001   = "https://www.rfc-editor.org/rfc/rfc5001"
	refRFC5155   = "https://www.rfc-editor.org/rfc/rfc5155"
	refRFC5358   = "https://www.rfc-editor.org/rfc/rfc5358"
	refRFC5936   = "https://www.rfc-editor.org/rfc/rfc5936"
	refRFC6598   = "https://www.rfc-editor.org/rfc/rfc6598"
	refRFC6761   = "https://www.rfc-editor.org/rfc/rfc6761"
	refRFC6762   = "https://www.rfc-editor.org/rfc/rfc6762"
	refRFC6890   = "https://www.rfc-editor.org/rfc/rfc6890"
	refRFC7208   = "https://www.rfc-editor.org/rfc/rfc7208"
	refRFC7489   = "https://www.rfc-editor.org/rfc/rfc7489"
	refRFC8499   = "https://www.rfc-editor.org/rfc/rfc8499"
	refRFC8375   = "https://www.rfc-editor.org/rfc/rfc8375"
	refRFC9276   = "https://www.rfc-editor.org/rfc/rfc9276"
	refRFC2782   = "https://www.rfc-editor.org/rfc/rfc2782"
	refIANA4     = "https://www.iana.org/assignments/iana-ipv4-special-registry/"
	refIANA6     = "https://www.iana.org/assignments/iana-ipv6-special-registry/"
	refPSL       = "https://publicsuffix.org/"
	refTakeover  = "https://github.com/EdOverflow/can-i-take-over-xyz"
	refCWE350    = "https://cwe.mitre.org/data/definitions/350.html"
	refCWE290    = "https://cwe.mitre.org/data/definitions/290.html"
	refCWE345    = "https://cwe.mitre.org/data/definitions/345.html"
	refCWE406    = "https://cwe.mitre.org/data/definitions/406.html"
	refCWE693    = "https://cwe.mitre.org/data/definitions/693.html"
	refMSADSRV   = "https://learn.microsoft.com/en-us/troubleshoot/windows-server/networking/verify-srv-dns-records-have-been-created"
	refCISADNS   = "https://www.cisa.gov/news-events/directives/emergency-directive-19-01"
	refTakeover2 = "https://developer.mozilla.org/en-US/docs/Web/Security/Subdomain_takeovers"
)

var meta = map[string]checkMeta{
	"axfr-allowed": {
		title:       "Zone transfer (AXFR) allowed to anyone",
		remediation: "Restrict zone transfers to the secondary servers' addresses or TSIG keys (BIND allow-transfer, NSD provide-xfr, Knot acl), on every nameserver of the zone.",
		references:  []string{refRFC5936, refATTACK, refM1056, refCWE200},
	},
	"ixfr-allowed": {
		title:       "Incremental zone transfer (IXFR) allowed to anyone",
		remediation: "Restrict IXFR together with AXFR to the secondaries' addresses or TSIG keys; most servers apply the same transfer ACL to both.",
		references:  []string{refRFC1995, refRFC5936, refATTACK, refM1056, refCWE200},
	},
	"nsec-walkable": {
		title:       "NSEC chain lets anyone list the zone",
		remediation: "Sign with NSEC3 (RFC 9276 parameters: 0 extra iterations, no salt) or use online signing with minimally covering NSEC records (white lies, RFC 4470) or compact denial, so that the chain no longer names the next owner.",
		references:  []string{refRFC4034, refRFC4470, refRFC5155, refATTACK, refM1056},
	},
	"nsec3-enumerable": {
		title:       "NSEC3 hashes can be collected and cracked offline",
		remediation: "NSEC3 hashes only slow enumeration down: use online signing with white lies or compact denial where names must stay secret; otherwise keep RFC 9276 parameters (0 extra iterations, empty salt) and avoid guessable names for sensitive hosts.",
		references:  []string{refRFC5155, refRFC9276, refRFC4470, refATTACK},
	},
	"wildcard": {
		title:       "Wildcard record answers for every name",
		remediation: "Remove the wildcard unless every name must resolve; a wildcard hides dangling names, widens cookie and certificate scope, and makes typos and phishing names resolve.",
		references:  []string{refRFC4592, refRFC1034},
	},
	"private-address-leak": {
		title:       "Public DNS publishes non-global (internal) addresses",
		remediation: "Move internal hosts to an internal (split-horizon) view or zone; publish only globally reachable addresses in public DNS.",
		references:  []string{refRFC1918, refRFC6598, refRFC4193, refRFC6890, refIANA4, refIANA6, refATTACK, refM1056, refCWE200},
	},
	"internal-name-leak": {
		title:       "Public DNS points at internal (non-public) names",
		remediation: "Remove records that point into internal namespaces from the public zone (keep them in an internal view), and use a registered domain (or home.arpa/.internal only internally) for internal names.",
		references:  []string{refRFC6761, refRFC6762, refRFC8375, refPSL, refATTACK, refM1056, refCWE200},
	},
	"open-resolver": {
		title:       "Authoritative nameserver is an open recursive resolver",
		remediation: "Disable recursion on authoritative servers (BIND recursion no; or allow-recursion { none; }), or restrict it to internal clients.",
		references:  []string{refRFC5358, refCWE406},
	},
	"version-disclosure": {
		title:       "Nameserver discloses its software version",
		remediation: "Hide the version (BIND version \"none\"; NSD hide-version: yes; Knot version: \"\"; Unbound hide-version: yes).",
		references:  []string{refRFC1035, refCWE200, refATTACK},
	},
	"hostname-disclosure": {
		title:       "Nameserver discloses its host name or server id",
		remediation: "Hide the identity (BIND hostname none; server-id none; NSD hide-identity: yes, no nsid; Knot identity: \"\", no nsid) or publish a value that names no internal host.",
		references:  []string{refRFC5001, refCWE200, refATTACK},
	},
	"dangling-cname": {
		title:       "CNAME points at a name that does not exist",
		remediation: "Remove the CNAME, or recreate the resource it points at; when the target lies in a third-party service or an unregistered domain, do it now: whoever claims the name serves content under your domain.",
		references:  []string{refTakeover, refTakeover2, refRFC1034, refCWE350},
	},
	"historic-dangling": {
		title:       "Passive DNS knows a name (or alias target) that no longer exists",
		remediation: "Delete what still points at the vanished name: CNAMEs to a removed target are takeover bait, and forgotten names in passive DNS tell an adversary which services existed; check that the resources behind them are really gone, and that no CNAME, MX, NS or link still refers to them.",
		references:  []string{refTakeover, refTakeover2, refRFC1034, refCWE350},
	},
	"lame-delegation": {
		title:       "Delegated nameserver does not answer authoritatively",
		remediation: "Fix or remove the server from the NS set at the parent and in the zone; make every listed server load the zone.",
		references:  []string{refRFC1034, refRFC8499, refRFC2182},
	},
	"dangling-ns": {
		title:       "Nameserver name does not resolve or lies in an unregistered domain",
		remediation: "Replace the nameserver name in the delegation and the zone's NS set; if its domain is unregistered, remove it at once (registering that domain would hand over the zone).",
		references:  []string{refRFC1034, refRFC2182, refCISADNS, refCWE350},
	},
	"soa-serial-mismatch": {
		title:       "Nameservers serve different SOA serials",
		remediation: "Check zone transfers and NOTIFY between primary and secondaries; a lasting difference means some servers serve stale data.",
		references:  []string{refRFC1996, refRFC1034},
	},
	"ns-set-mismatch": {
		title:       "Parent and child NS sets differ",
		remediation: "Make the delegation at the parent and the zone's own NS RRset list the same servers.",
		references:  []string{refRFC1034, refRFC2182},
	},
	"dnssec-missing": {
		title:       "Zone is not protected by DNSSEC",
		remediation: "Sign the zone and publish its DS record at the parent (through the registrar), so that resolvers can validate answers.",
		references:  []string{refRFC4033, refRFC4035, refCWE345},
	},
	"dnssec-invalid": {
		title:       "DNSSEC chain of trust is broken",
		remediation: "Re-sign the zone (check the signer's schedule), and make the DS at the parent match a published DNSKEY; validating resolvers return SERVFAIL until then.",
		references:  []string{refRFC4033, refRFC4034, refRFC4035, refCWE345},
	},
	"spf-missing": {
		title:       "No SPF record",
		remediation: "Publish an SPF record: \"v=spf1 <your senders> -all\", or \"v=spf1 -all\" for a name that sends no mail.",
		references:  []string{refRFC7208, refCWE290},
	},
	"spf-permissive": {
		title:       "SPF record authorises too much or cannot be evaluated",
		remediation: "End the record with -all (or ~all while DMARC reports are reviewed), list only your senders, and keep it within 10 DNS-querying terms (flatten includes).",
		references:  []string{refRFC7208, refCWE290},
	},
	"dmarc-missing": {
		title:       "No DMARC policy",
		remediation: "Publish _dmarc.<domain> TXT \"v=DMARC1; p=none; rua=mailto:...\", read the reports, then move to p=quarantine and p=reject.",
		references:  []string{refRFC7489, refCWE290},
	},
	"dmarc-weak": {
		title:       "DMARC policy does not protect the domain",
		remediation: "Move to p=reject (or quarantine) with pct=100 and an rua address, after the reports show that legitimate mail passes.",
		references:  []string{refRFC7489, refCWE290},
	},
	"saas-verification-tokens": {
		title:       "TXT verification tokens reveal the providers in use",
		remediation: "Remove verification tokens once the provider has verified the domain (most need them only once), or publish them on a dedicated name.",
		references:  []string{refATTACK, refM1056, refCWE200},
	},
	"ad-srv-exposed": {
		title:       "Active Directory service records in public DNS",
		remediation: "Serve the Active Directory zone (_msdcs, _kerberos, _ldap, _gc, _kpasswd) only on internal DNS; public DNS needs none of it.",
		references:  []string{refMSADSRV, refRFC2782, refATTACK, refM1056, refCWE200},
	},
	"single-nameserver": {
		title:       "Zone has a single nameserver",
		remediation: "Delegate to at least two nameservers on different networks (RFC 2182 asks for diversity; registries require two).",
		references:  []string{refRFC2182, refRFC1034},
	},
	"nameserver-diversity": {
		title:       "Nameservers share one network or one domain",
		remediation: "Place nameservers in different networks (different /24 and /48 prefixes, ideally different autonomous systems) and under more than one domain, so that one outage or one expired domain does not take the zone down.",
		references:  []string{refRFC2182},
	},
}
