package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/dnsname"
	"github.com/dnsscout/dnsscout/internal/finding"
)

// saasToken is a TXT prefix (case-insensitive) that a provider asks domain
// owners to publish to prove control, or an owner-name label it uses.
type saasToken struct {
	prefix   string // TXT content prefix; "" when matched by owner label
	label    string // first owner label prefix; "" when matched by content
	provider string
}

// saasTokens is the table of verification tokens, from each provider's
// domain-verification instructions. Extend it freely: a wrong entry only
// mislabels an info finding.
var saasTokens = []saasToken{
	{prefix: "google-site-verification=", provider: "Google (Search Console / Workspace)"},
	{prefix: "ms=ms", provider: "Microsoft 365"},
	{prefix: "atlassian-domain-verification=", provider: "Atlassian"},
	{prefix: "facebook-domain-verification=", provider: "Meta (Facebook)"},
	{prefix: "docusign=", provider: "DocuSign"},
	{prefix: "apple-domain-verification=", provider: "Apple"},
	{prefix: "globalsign-domain-verification=", provider: "GlobalSign"},
	{prefix: "_globalsign-domain-verification=", provider: "GlobalSign"},
	{prefix: "stripe-verification=", provider: "Stripe"},
	{prefix: "zoom_verify_", provider: "Zoom"},
	{prefix: "adobe-idp-site-verification=", provider: "Adobe"},
	{prefix: "amazonses:", provider: "Amazon SES"},
	{prefix: "dropbox-domain-verification=", provider: "Dropbox"},
	{prefix: "onetrust-domain-verification=", provider: "OneTrust"},
	{prefix: "teamviewer-sso-verification=", provider: "TeamViewer"},
	{prefix: "twilio-domain-verification=", provider: "Twilio"},
	{prefix: "webexdomainverification.", provider: "Cisco Webex"},
	{prefix: "cisco-ci-domain-verification=", provider: "Cisco"},
	{prefix: "citrix-verification-code=", provider: "Citrix"},
	{prefix: "mongodb-site-verification=", provider: "MongoDB"},
	{prefix: "yandex-verification:", provider: "Yandex"},
	{prefix: "pinterest-site-verification=", provider: "Pinterest"},
	{prefix: "miro-verification=", provider: "Miro"},
	{prefix: "hubspot-developer-verification=", provider: "HubSpot"},
	{prefix: "logmein-verification-code=", provider: "LogMeIn"},
	{prefix: "keybase-site-verification=", provider: "Keybase"},
	{prefix: "have-i-been-pwned-verification=", provider: "Have I Been Pwned"},
	{prefix: "knowbe4-site-verification=", provider: "KnowBe4"},
	{prefix: "postman-domain-verification=", provider: "Postman"},
	{prefix: "smartsheet-site-validation=", provider: "Smartsheet"},
	{prefix: "dynatrace-site-verification=", provider: "Dynatrace"},
	{prefix: "workplace-domain-verification=", provider: "Workplace from Meta"},
	{prefix: "openai-domain-verification=", provider: "OpenAI"},
	{prefix: "brevo-code:", provider: "Brevo (Sendinblue)"},
	{prefix: "sendinblue-code:", provider: "Brevo (Sendinblue)"},
	{prefix: "mailru-verification:", provider: "Mail.ru"},
	{prefix: "status-page-domain-verification=", provider: "Atlassian Statuspage"},
	{prefix: "loaderio=", provider: "Loader.io"},
	{prefix: "ahrefs-site-verification_", provider: "Ahrefs"},
	{label: "_github-challenge-", provider: "GitHub (organization)"},
	{label: "_github-pages-challenge-", provider: "GitHub Pages"},
	{label: "_gitlab-pages-verification-code", provider: "GitLab Pages"},
	{label: "_amazonses", provider: "Amazon SES"},
	{label: "_vercel", provider: "Vercel"},
	{label: "_cf-custom-hostname", provider: "Cloudflare (custom hostname)"},
	{label: "_acme-challenge", provider: "ACME certificate authority (e.g. Let's Encrypt)"},
}

// matchSaaS returns the provider a TXT record at owner reveals.
func matchSaaS(owner, txt string) (string, bool) {
	lower := strings.ToLower(strings.TrimSpace(txt))
	first := dnsname.FirstLabel(owner)
	for _, t := range saasTokens {
		if t.prefix != "" && strings.HasPrefix(lower, t.prefix) {
			return t.provider, true
		}
		if t.label != "" && strings.HasPrefix(first, t.label) {
			return t.provider, true
		}
	}
	return "", false
}

var saasVerificationTokensCheck = Check{
	ID:       "saas-verification-tokens",
	Title:    "TXT verification tokens reveal the providers in use",
	Severity: []Rating{{finding.Info, ""}},
	Remediation: "Remove verification tokens once the provider has verified the domain (most need them only once), " +
		"or publish them on a dedicated name.",
	References: []string{refATTACK, refM1056, refCWE200},
	Doc: Doc{
		Detects: "TXT records that prove domain ownership to a provider (Google, Microsoft 365, Atlassian, Meta, " +
			"DocuSign, Apple, GlobalSign, Stripe, Zoom, Adobe, Amazon SES, Dropbox, Cisco Webex, GitHub, and " +
			"more: the table `saasTokens` in `internal/checks/saas.go`). Subject: the owner name.",
		Severity: "each token tells an attacker which services the organisation uses (phishing pretexts, " +
			"password-spraying targets), but removing them is optional.",
		Fix:        "remove tokens the provider no longer needs.",
		References: "ATT&CK T1596.001, M1056; CWE-200.",
	},
	Run: checkSaaSTokens,
}

func checkSaaSTokens(_ context.Context, env *Env) ([]finding.Finding, error) {
	byOwner := make(map[string][]string)
	for _, r := range env.recordsOf(dns.TypeTXT) {
		txt := strings.Join(r.rr.(*dns.TXT).Txt, "")
		provider, ok := matchSaaS(r.owner, txt)
		if !ok {
			continue
		}
		shown := txt
		if len(shown) > 100 {
			shown = shown[:100] + "..."
		}
		line := fmt.Sprintf("%s: TXT %q", provider, shown)
		if !slices.Contains(byOwner[r.owner], line) {
			byOwner[r.owner] = append(byOwner[r.owner], line)
		}
	}
	var out []finding.Finding
	for owner, ev := range byOwner {
		slices.Sort(ev)
		out = append(out, newFinding(finding.Info, owner, ev...))
	}
	return out, nil
}
