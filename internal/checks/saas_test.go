package checks

import "testing"

func TestMatchSaaS(t *testing.T) {
	tests := []struct{ owner, txt, want string }{
		{"example.com", "google-site-verification=abc123", "Google (Search Console / Workspace)"},
		{"example.com", "MS=ms12345678", "Microsoft 365"},
		{"example.com", "atlassian-domain-verification=xyz", "Atlassian"},
		{"example.com", "ZOOM_verify_abcdef", "Zoom"},
		{"_github-challenge-example-org.example.com", "0123456789", "GitHub (organization)"},
		{"example.com", "v=spf1 -all", ""},
		{"example.com", "mention google-site-verification= later", ""},
		{"www.example.com", "MS=", ""},
	}
	for _, tc := range tests {
		t.Run(tc.owner+" "+tc.txt, func(t *testing.T) {
			got, ok := matchSaaS(tc.owner, tc.txt)
			if got != tc.want || ok != (tc.want != "") {
				t.Fatalf("matchSaaS = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestSaaSVerificationTokens(t *testing.T) {
	runCases(t, "saas-verification-tokens", []checkCase{
		{name: "SPF and DMARC only"},
		{
			name: "tokens at the apex and a challenge label",
			mutate: func(t *testing.T, w *world) {
				w.addRecords(t,
					`example.com. 300 IN TXT "google-site-verification=Ab12Cd34"`,
					`example.com. 300 IN TXT "MS=ms98765432"`,
					`example.com. 300 IN TXT "docusign=1a2b3c4d-0000-4000-8000-0123456789ab"`,
					`_github-challenge-example.example.com. 300 IN TXT "9f8e7d6c5b"`,
				)
			},
			want: []string{"info saas-verification-tokens _github-challenge-example.example.com", "info saas-verification-tokens example.com"},
			evidence: []string{`Google (Search Console / Workspace): TXT "google-site-verification=Ab12Cd34"`,
				`Microsoft 365: TXT "MS=ms98765432"`, "DocuSign:"},
		},
	})
}
