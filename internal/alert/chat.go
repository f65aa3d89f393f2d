package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Slack limits (Block Kit): a header's text, a section's text and a
// field's text; the top-level text is the notification.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldMax   = 2000
	slackTextMax    = 4000
)

type slackSink struct{ p *poster }

func (s *slackSink) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(slackPayload(m))
	if err != nil {
		return err
	}
	return s.p.post(ctx, body, http.Header{})
}

// slackMessage is a Slack incoming-webhook payload.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

func plain(s string, n int) *slackText { return &slackText{Type: "plain_text", Text: truncate(s, n)} }
func mrkdwn(s string, n int) slackText { return slackText{Type: "mrkdwn", Text: truncate(s, n)} }

// slackEscape escapes the three characters Slack's mrkdwn treats as
// control sequences.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

func slackPayload(m *Message) *slackMessage {
	if m.Digest != nil {
		return slackDigest(m.Digest)
	}
	a := &m.Alerts[0]
	head := fmt.Sprintf("%s · %s · %s", a.Severity, a.Kind, a.Domain)
	var text strings.Builder
	fmt.Fprintf(&text, "*%s*", slackEscape(a.headline()))
	if a.Text != "" {
		text.WriteString("\n" + slackEscape(a.Line()))
	}
	fields := []slackText{
		mrkdwn("*Domain*\n"+slackEscape(a.Domain), slackFieldMax),
		mrkdwn("*Severity*\n"+a.Severity.String(), slackFieldMax),
		mrkdwn("*Kind*\n"+a.Kind, slackFieldMax),
	}
	if a.Subject != "" {
		fields = append(fields, mrkdwn("*Subject*\n"+slackEscape(oneLine(a.Subject)), slackFieldMax))
	}
	if id := a.findingID(); id != "" {
		fields = append(fields, mrkdwn("*Finding*\n"+slackEscape(id), slackFieldMax))
	}
	ctx := timeText(a.Time)
	if a.Link != "" {
		// "|" would end the URL part of the link.
		ctx = fmt.Sprintf("<%s|Timeline> · %s", slackEscape(strings.ReplaceAll(a.Link, "|", "%7C")), ctx)
	}
	return &slackMessage{
		Text: truncate(fmt.Sprintf("[%s] %s", a.Severity, a.Line()), slackTextMax),
		Blocks: []slackBlock{
			{Type: "header", Text: plain(head, slackHeaderMax)},
			{Type: "section", Text: ptr(mrkdwn(text.String(), slackSectionMax))},
			{Type: "section", Fields: fields},
			{Type: "context", Elements: []slackText{mrkdwn(ctx, slackFieldMax)}},
		},
	}
}

func slackDigest(d *Digest) *slackMessage {
	var groups strings.Builder
	last := ""
	for _, g := range d.Groups {
		if g.Domain != last {
			if last != "" {
				groups.WriteString("\n")
			}
			fmt.Fprintf(&groups, "*%s*:", slackEscape(g.Domain))
			last = g.Domain
		} else {
			groups.WriteString(",")
		}
		fmt.Fprintf(&groups, " %s %d", g.Kind, g.Count)
	}
	var lines strings.Builder
	for _, l := range d.Lines {
		lines.WriteString("• " + slackEscape(l) + "\n")
	}
	more := fmt.Sprintf("%s to %s", timeText(d.First), timeText(d.Last))
	if d.More > 0 {
		more = fmt.Sprintf("… and %d more · %s", d.More, more)
	}
	return &slackMessage{
		Text: truncate(fmt.Sprintf("%d dnsscout alerts: %s", d.Total, d.domainCounts(3)), slackTextMax),
		Blocks: []slackBlock{
			{Type: "header", Text: plain(d.summary(), slackHeaderMax)},
			{Type: "section", Text: ptr(mrkdwn(groups.String(), slackSectionMax))},
			{Type: "section", Text: ptr(mrkdwn(strings.TrimSuffix(lines.String(), "\n"), slackSectionMax))},
			{Type: "context", Elements: []slackText{mrkdwn(more, slackFieldMax)}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// mattermostMax bounds a Mattermost post (the server's limit is 16,383
// characters).
const mattermostMax = 12000

type mattermostSink struct {
	p   *poster
	cfg MattermostConfig
}

// mattermostMessage is a Mattermost incoming-webhook payload.
type mattermostMessage struct {
	Text     string `json:"text"`
	Username string `json:"username"`
	Channel  string `json:"channel,omitempty"`
	IconURL  string `json:"icon_url,omitempty"`
}

func (s *mattermostSink) Send(ctx context.Context, m *Message) error {
	body, err := json.Marshal(mattermostPayload(m, &s.cfg))
	if err != nil {
		return err
	}
	return s.p.post(ctx, body, http.Header{})
}

// mdEscape backslash-escapes Markdown punctuation in text from the
// outside (names, titles), so that it shows as written.
var mdEscape = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "~", `\~`, "[", `\[`, "]", `\]`,
	"(", `\(`, ")", `\)`, "#", `\#`, "|", `\|`, "<", `\<`, ">", `\>`, "!", `\!`,
).Replace

func mattermostPayload(m *Message, c *MattermostConfig) *mattermostMessage {
	user := c.Username
	if user == "" {
		user = "dnsscout"
	}
	out := &mattermostMessage{Username: user, Channel: c.Channel, IconURL: c.IconURL}
	if m.Digest != nil {
		out.Text = mattermostDigest(m.Digest)
		return out
	}
	a := &m.Alerts[0]
	var b strings.Builder
	fmt.Fprintf(&b, "#### [%s] %s: %s\n", a.Severity, mdEscape(a.Domain), mdEscape(a.headline()))
	fmt.Fprintf(&b, "**%s**", a.Kind)
	if a.Subject != "" {
		fmt.Fprintf(&b, " · %s", mdEscape(oneLine(a.Subject)))
	}
	if id := a.findingID(); id != "" {
		fmt.Fprintf(&b, " · finding `%s`", id)
	}
	b.WriteString("\n")
	if a.Text != "" {
		b.WriteString(mdEscape(a.Line()) + "\n")
	}
	if a.Link != "" {
		fmt.Fprintf(&b, "[Timeline](<%s>) · ", strings.ReplaceAll(a.Link, ">", "%3E"))
	}
	b.WriteString(timeText(a.Time))
	out.Text = truncate(b.String(), mattermostMax)
	return out
}

func mattermostDigest(d *Digest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### dnsscout: %s\n", d.summary())
	b.WriteString("| Domain | Kind | Count | Highest |\n|:--|:--|--:|:--|\n")
	for _, g := range d.Groups {
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", mdEscape(g.Domain), g.Kind, g.Count, g.MaxSeverity)
	}
	b.WriteString("\n")
	// The lines go last and are the part cut to fit.
	tail := fmt.Sprintf("%s to %s", timeText(d.First), timeText(d.Last))
	if d.More > 0 {
		tail = fmt.Sprintf("… and %d more · %s", d.More, tail)
	}
	for _, l := range d.Lines {
		line := "- " + mdEscape(l) + "\n"
		if b.Len()+len(line)+len(tail) > mattermostMax {
			break
		}
		b.WriteString(line)
	}
	b.WriteString(tail)
	return truncate(b.String(), mattermostMax)
}
