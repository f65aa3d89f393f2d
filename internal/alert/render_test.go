package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// digestAlerts is what a busy run produces: a finding, new names on two
// domains, an outage.
func digestAlerts() []Alert {
	out := []Alert{axfrAlert()}
	out = append(out, nameAlerts("example.com", 5)...)
	out = append(out, nameAlerts("example.net", 3)...)
	out = append(out, Alert{ID: NewID("example.org", KindOutage, "", "", "scan-43"), Time: t0.Add(time.Minute), Domain: "example.org",
		Kind: KindOutage, Severity: finding.Medium, Title: "Resolver outage", Text: "no resolver answered for example.org; the scan saw nothing and no diff was taken"})
	return out
}

func renderCases() []struct {
	name string
	msg  *Message
} {
	return []struct {
		name string
		msg  *Message
	}{
		{"single", newSingle(axfrAlert())},
		{"digest", newDigest(digestAlerts(), 4)},
	}
}

func indentJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// TestRenderGolden: what each sink sends, for one alert and for a digest.
func TestRenderGolden(t *testing.T) {
	smtp, err := newSMTP(&SMTPConfig{Address: "mail.example.net:587", From: "dnsscout <dnsscout@example.net>", To: []string{"ops@example.net", "Sécurité <sec@example.net>"}},
		&Env{Now: func() time.Time { return t0.Add(2 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	sys := &syslogSink{facility: facilities["local3"], app: "dnsscout", host: "watch1.example.net", procID: "4242"}
	for _, tc := range renderCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := webhookJSON(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "webhook-"+tc.name+".json", indentJSON(t, b))
			b, _ = json.Marshal(slackPayload(tc.msg))
			golden(t, "slack-"+tc.name+".json", indentJSON(t, b))
			b, _ = json.Marshal(mattermostPayload(tc.msg, &MattermostConfig{Channel: "dns-alerts"}))
			golden(t, "mattermost-"+tc.name+".json", indentJSON(t, b))
			golden(t, "mattermost-"+tc.name+".md", []byte(mattermostPayload(tc.msg, &MattermostConfig{}).Text+"\n"))
			golden(t, "email-"+tc.name+".eml", smtp.render(tc.msg))
			var lines bytes.Buffer
			for i := range tc.msg.Alerts {
				lines.Write(sys.format(&tc.msg.Alerts[i], syslogDatagramMax))
				lines.WriteByte('\n')
			}
			golden(t, "syslog-"+tc.name+".txt", lines.Bytes())
			var nd bytes.Buffer
			if err := (&ndjsonSink{w: &nd}).Send(context.Background(), tc.msg); err != nil {
				t.Fatal(err)
			}
			golden(t, "ndjson-"+tc.name+".ndjson", nd.Bytes())
		})
	}
}

// TestRenderHostile: text from the outside (a TXT record, a name) cannot
// add lines to a header, mention a Slack channel, format Markdown or
// break a syslog structured-data value.
func TestRenderHostile(t *testing.T) {
	a := axfrAlert()
	a.Title = "<!channel> *bold* [x](https://evil.example)\r\nBcc: victim@example.org"
	a.Subject = `ns1"] [evil@1 x="y` + "\n"
	a.Text = "line one\nline two \u2028 <@U123>"
	a.Link = "https://dnsscout.example.net/t?a=1|<!here>"
	m := newSingle(a)

	b, _ := json.Marshal(slackPayload(m))
	if bytes.Contains(b, []byte("<!channel>")) || bytes.Contains(b, []byte("<@U123>")) || bytes.Contains(b, []byte("<!here>")) || bytes.Contains(b, []byte("1|")) {
		t.Errorf("slack payload keeps a mention: %s", b)
	}
	md := mattermostPayload(m, &MattermostConfig{}).Text
	if strings.Contains(md, "[x](") || strings.Contains(md, "*bold*") {
		t.Errorf("mattermost text keeps Markdown: %s", md)
	}
	smtp, _ := newSMTP(&SMTPConfig{Address: "m:587", From: "a@example.net", To: []string{"b@example.net"}}, &Env{Now: func() time.Time { return t0 }})
	raw := smtp.render(m)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Bcc") != "" || bytes.Contains(raw, []byte("\nBcc:")) {
		t.Errorf("subject added a header:\n%s", raw)
	}
	sys := &syslogSink{facility: 3, app: "dnsscout", host: "h", procID: "1"}
	line := string(sys.format(&a, syslogDatagramMax))
	if !strings.Contains(line, `subject="ns1\"\] [evil@1 x=\"y "`) || strings.ContainsAny(line, "\n\r\u2028") {
		t.Errorf("syslog line: %q", line)
	}
	if _, err := parseRFC5424(line); err != nil {
		t.Errorf("not RFC 5424: %v: %q", err, line)
	}
}

// TestRenderLimits: long values are cut to what each receiver takes.
func TestRenderLimits(t *testing.T) {
	a := axfrAlert()
	a.Title = strings.Repeat("é", 400)
	a.Text = strings.Repeat("long words ", 2000)
	a.Subject = strings.Repeat("s", 3000)
	m := newSingle(a)
	p := slackPayload(m)
	if n := len(p.Blocks[0].Text.Text); n > slackHeaderMax {
		t.Errorf("slack header %d bytes", n)
	}
	if n := len(p.Blocks[1].Text.Text); n > slackSectionMax {
		t.Errorf("slack section %d bytes", n)
	}
	for _, f := range p.Blocks[2].Fields {
		if len(f.Text) > slackFieldMax {
			t.Errorf("slack field %d bytes", len(f.Text))
		}
	}
	if n := len(mattermostPayload(m, &MattermostConfig{}).Text); n > mattermostMax {
		t.Errorf("mattermost text %d bytes", n)
	}
	sys := &syslogSink{facility: 3, app: "dnsscout", host: "h", procID: "1"}
	if n := len(sys.format(&a, syslogDatagramMax)); n > syslogDatagramMax {
		t.Errorf("syslog datagram %d bytes", n)
	}
	for _, s := range []string{p.Blocks[1].Text.Text, mattermostPayload(m, &MattermostConfig{}).Text} {
		if !strings.HasSuffix(s, "…") || strings.ContainsRune(s, '\uFFFD') {
			t.Errorf("cut badly: ...%q", s[max(0, len(s)-20):])
		}
	}
	d := newDigest(append(nameAlerts("example.com", 300), a), 20)
	if len(d.Digest.Lines) != 20 || d.Digest.More != 281 {
		t.Errorf("digest lines %d, more %d", len(d.Digest.Lines), d.Digest.More)
	}
}

// TestEmailDigestAll: a digest email lists every alert of the digest, not
// only the digest's first lines; past its byte bound it says how many
// more there are and where they are.
func TestEmailDigestAll(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		limit   int
		shown   int
		hasMore bool
	}{
		{"all of 200", 200, 0, 200, false},
		{"bounded", 200, 2000, -1, true},
		{"one over", 3, 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alerts := nameAlerts("example.com", tc.n)
			for i := range alerts {
				alerts[i].Link = "https://dnsscout.example.net/#/watch/domain?d=example.com"
			}
			smtp, err := newSMTP(&SMTPConfig{Address: "m:587", From: "a@example.net", To: []string{"b@example.net"}},
				&Env{Now: func() time.Time { return t0 }, EmailDigestBytes: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			m := newDigest(alerts, 20)
			msg, err := mail.ReadMessage(bytes.NewReader(smtp.render(m)))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
			if err != nil {
				t.Fatal(err)
			}
			text := strings.ReplaceAll(string(body), "\r\n", "\n")
			shown := 0
			for i := range alerts {
				if strings.Contains(text, alerts[i].Line()+"\n") {
					if shown != i {
						t.Fatalf("alert %d shown after a gap of %d", i, i-shown)
					}
					shown++
				}
			}
			limit := tc.limit
			if limit == 0 {
				limit = DefaultEmailDigestBytes
			}
			if tc.shown >= 0 && shown != tc.shown {
				t.Errorf("%d alerts in the email, want %d", shown, tc.shown)
			}
			if tc.shown < 0 && (shown == 0 || shown == tc.n) {
				t.Errorf("%d alerts in the email, want some but not all of %d", shown, tc.n)
			}
			more := fmt.Sprintf("... and %d more, not shown (over the %d-byte limit", tc.n-shown, limit)
			if got := strings.Contains(text, more) && strings.Contains(text, "/api/v1/events?domain=example.com&since="); got != tc.hasMore {
				t.Errorf("says how many more and where: %v, want %v\n%s", got, tc.hasMore, text[max(0, len(text)-400):])
			}
			if start := strings.Index(text, "alerts:\n"); start < 0 || len(text)-start > limit+1000 {
				t.Errorf("alert part longer than the %d-byte bound", limit)
			}
		})
	}
}
