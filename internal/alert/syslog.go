package alert

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dnsscout/dnsscout/internal/finding"
)

// facilities maps syslog facility names to their codes (RFC 5424 6.2.1).
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// syslogSeverity maps a finding severity to a syslog severity: critical
// is crit (2), high err (3), medium warning (4), low notice (5), info
// informational (6).
func syslogSeverity(s finding.Severity) int {
	switch s {
	case finding.Critical:
		return 2
	case finding.High:
		return 3
	case finding.Medium:
		return 4
	case finding.Low:
		return 5
	}
	return 6
}

// SDID is the structured-data ID of the alert fields in syslog messages
// (32473 is the private enterprise number RFC 5612 reserves for examples
// and documentation).
const SDID = "dnsscout@32473"

// Size bounds of one syslog message: datagrams stay within what RFC 5426
// says every receiver takes; stream messages are cut at 64 KiB.
const (
	syslogDatagramMax = 2048
	syslogStreamMax   = 64 << 10
)

type syslogSink struct {
	network, addr string
	facility      int
	app, host     string
	procID        string
	newline       bool
}

func newSyslog(c *SyslogConfig, env *Env) (*syslogSink, error) {
	s := &syslogSink{network: c.Network, addr: c.Address, facility: facilities["daemon"], app: c.AppName, host: c.Hostname,
		procID: strconv.Itoa(os.Getpid()), newline: c.Framing == "newline"}
	if c.Facility != "" {
		s.facility = facilities[c.Facility]
	}
	if s.app == "" {
		s.app = "dnsscout"
	}
	if s.host == "" {
		s.host = headerField(env.Hostname, 255)
	}
	return s, nil
}

func (s *syslogSink) datagram() bool { return s.network == "udp" || s.network == "unixgram" }

// Send writes one syslog message per alert (a digest too) over one
// connection.
func (s *syslogSink) Send(ctx context.Context, m *Message) error {
	conn, stop, err := dial(ctx, s.network, s.addr)
	if err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	defer conn.Close()
	defer stop()
	limit := syslogStreamMax
	if s.datagram() {
		limit = syslogDatagramMax
	}
	var frame []byte
	for i := range m.Alerts {
		line := s.format(&m.Alerts[i], limit)
		switch {
		case s.datagram():
			frame = line
		case s.newline:
			frame = append(append(frame[:0], line...), '\n')
		default: // RFC 6587 octet counting: "LEN SP MSG"
			frame = append(strconv.AppendInt(frame[:0], int64(len(line)), 10), ' ')
			frame = append(frame, line...)
		}
		if _, err := conn.Write(frame); err != nil {
			return fmt.Errorf("syslog: %s %s: %w", s.network, s.addr, err)
		}
	}
	return nil
}

// format renders an alert as an RFC 5424 message of at most limit bytes
// (the free-form MSG is cut to fit):
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] BOM MSG
func (s *syslogSink) format(a *Alert, limit int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s %s %s %s ", s.facility*8+syslogSeverity(a.Severity),
		a.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), orNil(s.host), s.app, s.procID, headerField(a.Kind, 32))
	b.WriteString("[" + SDID)
	for _, p := range [][2]string{
		{"id", a.ID}, {"domain", a.Domain}, {"kind", a.Kind}, {"severity", a.Severity.String()},
		{"finding", a.findingID()}, {"subject", truncate(a.Subject, 512)}, {"link", truncate(a.Link, 512)},
	} {
		if p[1] != "" {
			b.WriteString(" " + p[0] + `="` + sdEscape(p[1]) + `"`)
		}
	}
	b.WriteString("] \xEF\xBB\xBF")
	msg := a.Line()
	if room := limit - b.Len(); len(msg) > room {
		msg = truncate(msg, max(room, 0))
	}
	b.WriteString(msg)
	return b.Bytes()
}

func orNil(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// headerField keeps the printable ASCII of s (at most n bytes), as RFC
// 5424 header fields require.
func headerField(s string, n int) string {
	out := strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return -1
		}
		return r
	}, s)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// sdEscape escapes a PARAM-VALUE: '"', '\' and ']' get a backslash;
// control characters become spaces; invalid UTF-8 is replaced.
var sdReplacer = strings.NewReplacer(`"`, `\"`, `\`, `\\`, `]`, `\]`)

func sdEscape(s string) string { return sdReplacer.Replace(oneLine(s)) }
