package recon

import (
	"context"

	"github.com/miekg/dns"
)

// srvLabels are the service labels asked for SRV records below every zone:
// Active Directory and Kerberos, LDAP, SIP and federation, XMPP, mail,
// calendars and contacts, autodiscovery, and common application services.
var srvLabels = []string{
	// Active Directory / Kerberos / LDAP (RFC 2782, MS-ADTS 6.3.2.3).
	"_ldap._tcp", "_ldap._udp", "_ldaps._tcp", "_gc._tcp", "_gc._msdcs",
	"_ldap._tcp.dc._msdcs", "_ldap._tcp.gc._msdcs", "_ldap._tcp.pdc._msdcs",
	"_kerberos._tcp.dc._msdcs", "_ldap._tcp.domaindnszones", "_ldap._tcp.forestdnszones",
	"_ldap._tcp.default-first-site-name._sites", "_kerberos._tcp.default-first-site-name._sites",
	"_gc._tcp.default-first-site-name._sites", "_ldap._tcp.default-first-site-name._sites.dc._msdcs",
	"_kerberos._tcp", "_kerberos._udp", "_kerberos-master._tcp", "_kerberos-master._udp",
	"_kerberos-adm._tcp", "_kpasswd._tcp", "_kpasswd._udp", "_kerberos-iv._udp",
	// SIP, VoIP, federation.
	"_sip._tcp", "_sip._udp", "_sip._tls", "_sips._tcp", "_sipfederationtls._tcp",
	"_sipinternal._tcp", "_sipinternaltls._tcp", "_h323cs._tcp", "_h323ls._udp", "_h323rs._udp",
	"_iax._udp", "_collab-edge._tls", "_cisco-uds._tcp", "_cuplogin._tcp",
	"_stun._udp", "_stun._tcp", "_stuns._tcp", "_turn._udp", "_turn._tcp", "_turns._tcp",
	// XMPP.
	"_xmpp-client._tcp", "_xmpp-server._tcp", "_xmpps-client._tcp", "_xmpps-server._tcp",
	"_jabber._tcp", "_jabber-client._tcp",
	// Mail (RFC 6186, RFC 8314) and autodiscovery.
	"_submission._tcp", "_submissions._tcp", "_imap._tcp", "_imaps._tcp", "_pop3._tcp",
	"_pop3s._tcp", "_smtp._tcp", "_autodiscover._tcp",
	// Calendars and contacts (RFC 6764).
	"_caldav._tcp", "_caldavs._tcp", "_carddav._tcp", "_carddavs._tcp",
	// Web, file transfer, remote access.
	"_http._tcp", "_https._tcp", "_www._tcp", "_ftp._tcp", "_sftp._tcp", "_ssh._tcp",
	"_telnet._tcp", "_rdp._tcp", "_vnc._tcp", "_nntp._tcp", "_ntp._udp", "_rsync._tcp",
	// Directory, certificates, keys (RFC 4387, RFC 6698 neighbours).
	"_certificates._tcp", "_crls._tcp", "_pgpkeys._tcp", "_pgprevokations._tcp", "_hkp._tcp",
	"_ocsp._tcp",
	// Printing and file sharing.
	"_ipp._tcp", "_ipps._tcp", "_printer._tcp", "_pdl-datastream._tcp", "_smb._tcp", "_afpovertcp._tcp",
	"_nfs._tcp",
	// Windows KMS, Citrix, Puppet, databases, chat, games.
	"_vlmcs._tcp", "_citrixreceiver._tcp", "_x-puppet._tcp", "_puppet._tcp", "_mysql._tcp",
	"_postgresql._tcp", "_mongodb._tcp", "_matrix._tcp", "_matrix-fed._tcp", "_minecraft._tcp",
	"_ts3._udp", "_avatars._tcp", "_avatars-sec._tcp",
	// More directory, messaging and management services.
	"_ldap-admin._tcp", "_kerberos._tcp.gc._msdcs", "_xmpp._tcp", "_matrix-identity._tcp",
	"_smtps._tcp", "_jmap._tcp", "_radius._udp", "_radsec._tcp", "_snmp._udp", "_syslog._udp",
	"_elasticsearch._tcp", "_redis._tcp", "_etcd-server._tcp", "_etcd-client._tcp", "_kubernetes._tcp",
	"_mqtt._tcp", "_amqp._tcp", "_git._tcp", "_svn._tcp", "_docker._tcp", "_vmware._tcp",
}

// txtLabels are well-known names that hold TXT policy records: DMARC,
// MTA-STS, TLS reporting, BIMI and common DKIM selectors.
var txtLabels = []string{
	"_dmarc", "_mta-sts", "_smtp._tls", "_domainkey", "default._bimi",
	"default._domainkey", "google._domainkey", "selector1._domainkey", "selector2._domainkey",
	"k1._domainkey", "k2._domainkey", "mail._domainkey", "dkim._domainkey", "s1._domainkey",
	"s2._domainkey", "mxvault._domainkey", "_acme-challenge", "_github-challenge", "_amazonses",
}

// serviceLabels asks every SRV service label and TXT policy label below
// each zone's base. It keeps no state.
type serviceLabels struct{}

func (serviceLabels) name() string { return "srv" }

func (serviceLabels) zone(ctx context.Context, s *scope, _ *Zone, base string) {
	s.stage("srv " + base)
	type job struct {
		name  string
		qtype uint16
	}
	jobs := make([]job, 0, len(srvLabels)+len(txtLabels))
	for _, l := range srvLabels {
		jobs = append(jobs, job{l + "." + base, dns.TypeSRV})
	}
	for _, l := range txtLabels {
		jobs = append(jobs, job{l + "." + base, dns.TypeTXT})
	}
	parallel(ctx, len(jobs), s.opts.Concurrency, func(i int) {
		j := jobs[i]
		m, err := s.query(ctx, j.name, j.qtype)
		if err != nil {
			return
		}
		if v := judge(j.name, j.qtype, m); !v.exists {
			return
		}
		if s.wildcardEcho(ctx, j.name, j.qtype, m) {
			return
		}
		s.ledger.addName(j.name, SourceSRV)
		s.absorb(ctx, j.name, j.qtype, m, SourceSRV)
	})
}
