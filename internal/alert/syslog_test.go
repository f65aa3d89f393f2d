package alert

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// sysMsg is an RFC 5424 message taken apart.
type sysMsg struct {
	pri                           int
	timestamp                     time.Time
	host, app, procID, msgID, msg string
	sd                            map[string]map[string]string
}

var rfc5424Header = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) `)

// parseRFC5424 reads one message strictly (RFC 5424 section 6).
func parseRFC5424(s string) (*sysMsg, error) {
	h := rfc5424Header.FindStringSubmatch(s)
	if h == nil {
		return nil, fmt.Errorf("header")
	}
	m := &sysMsg{host: h[3], app: h[4], procID: h[5], msgID: h[6], sd: map[string]map[string]string{}}
	m.pri, _ = strconv.Atoi(h[1])
	if m.pri > 191 {
		return nil, fmt.Errorf("PRI %d", m.pri)
	}
	ts, err := time.Parse(time.RFC3339Nano, h[2])
	if err != nil || len(h[2]) > len("2006-01-02T15:04:05.000000Z") {
		return nil, fmt.Errorf("timestamp %q", h[2])
	}
	m.timestamp = ts
	for _, f := range h[3:7] {
		for _, c := range []byte(f) {
			if c < 33 || c > 126 {
				return nil, fmt.Errorf("header field %q", f)
			}
		}
	}
	rest := s[len(h[0]):]
	if strings.HasPrefix(rest, "-") {
		rest = rest[1:]
	} else {
		for strings.HasPrefix(rest, "[") {
			var err error
			if rest, err = parseSDElement(rest, m.sd); err != nil {
				return nil, err
			}
		}
		if len(m.sd) == 0 {
			return nil, fmt.Errorf("no structured data")
		}
	}
	if rest == "" {
		return m, nil
	}
	if rest[0] != ' ' {
		return nil, fmt.Errorf("no space before MSG")
	}
	m.msg = rest[1:]
	if b, ok := strings.CutPrefix(m.msg, "\xEF\xBB\xBF"); ok {
		if !utf8.ValidString(b) {
			return nil, fmt.Errorf("MSG after BOM is not UTF-8")
		}
		m.msg = b
	}
	return m, nil
}

func parseSDElement(s string, sd map[string]map[string]string) (string, error) {
	s = s[1:]
	end := strings.IndexAny(s, " ]")
	if end < 1 || end > 32 {
		return "", fmt.Errorf("SD-ID")
	}
	id := s[:end]
	params := map[string]string{}
	sd[id] = params
	s = s[end:]
	for strings.HasPrefix(s, " ") {
		s = s[1:]
		eq := strings.Index(s, `="`)
		if eq < 1 || eq > 32 || strings.ContainsAny(s[:eq], ` ]"=`) {
			return "", fmt.Errorf("PARAM-NAME in %q", s)
		}
		name := s[:eq]
		s = s[eq+2:]
		var v strings.Builder
		for {
			if s == "" {
				return "", fmt.Errorf("unterminated value")
			}
			c := s[0]
			if c == '\\' && len(s) > 1 && strings.IndexByte(`"\]`, s[1]) >= 0 {
				v.WriteByte(s[1])
				s = s[2:]
				continue
			}
			if c == '"' {
				s = s[1:]
				break
			}
			if c == ']' {
				return "", fmt.Errorf("unescaped ] in a value")
			}
			v.WriteByte(c)
			s = s[1:]
		}
		params[name] = v.String()
	}
	if !strings.HasPrefix(s, "]") {
		return "", fmt.Errorf("SD-ELEMENT not closed")
	}
	return s[1:], nil
}

// checkSyslog compares received messages (in any order: each message of
// a stream sink may come on its own connection) with the alerts.
func checkSyslog(t *testing.T, got []string, alerts []Alert, facility int) {
	t.Helper()
	if len(got) != len(alerts) {
		t.Fatalf("%d messages, want %d: %q", len(got), len(alerts), got)
	}
	byID := map[string]Alert{}
	for _, a := range alerts {
		byID[a.ID] = a
	}
	for i, line := range got {
		m, err := parseRFC5424(line)
		if err != nil {
			t.Errorf("message %d: %v: %q", i, err, line)
			continue
		}
		sd := m.sd[SDID]
		a, ok := byID[sd["id"]]
		if !ok {
			t.Errorf("message %d: unknown or repeated alert id %q", i, sd["id"])
			continue
		}
		delete(byID, a.ID)
		if m.pri != facility*8+syslogSeverity(a.Severity) || m.msgID != a.Kind || m.app != "dnsscout" || !m.timestamp.Equal(a.Time) ||
			sd["domain"] != a.Domain || sd["severity"] != a.Severity.String() || m.msg != a.Line() {
			t.Errorf("message %d: %+v\nfor %+v", i, m, a)
		}
	}
}

func syslogTarget(t *testing.T, network, addr, framing string) *syslogSink {
	t.Helper()
	c := &SyslogConfig{Network: network, Address: addr, Facility: "local3", Framing: framing}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	s, err := newSyslog(c, &Env{Hostname: "watch1.example.net"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSyslogDatagram: one datagram per alert, over UDP and a unixgram
// socket.
func TestSyslogDatagram(t *testing.T) {
	for _, network := range []string{"udp", "unixgram"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unixgram" {
				addr = filepath.Join(t.TempDir(), "log.sock")
			}
			pc, err := net.ListenPacket(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			s := syslogTarget(t, network, pc.LocalAddr().String(), "")
			alerts := digestAlerts()[:4]
			if err := s.Send(context.Background(), newDigest(alerts, 20)); err != nil {
				t.Fatal(err)
			}
			var got []string
			buf := make([]byte, 65536)
			pc.SetReadDeadline(time.Now().Add(10 * time.Second))
			for range alerts {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(buf[:n]))
			}
			checkSyslog(t, got, alerts, 19)
		})
	}
}

// TestSyslogStream: TCP and unix stream sockets with RFC 6587 octet
// counting or newline framing, delivered through a Dispatcher.
func TestSyslogStream(t *testing.T) {
	for _, tc := range []struct{ network, framing string }{{"tcp", ""}, {"tcp", "newline"}, {"unix", "octet-counting"}} {
		t.Run(tc.network+"-"+tc.framing, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if tc.network == "unix" {
				addr = filepath.Join(t.TempDir(), "log.sock")
			}
			ln, err := net.Listen(tc.network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			lines := make(chan string, 100)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go readFrames(t, c, tc.framing == "newline", lines)
				}
			}()
			s := syslogTarget(t, tc.network, ln.Addr().String(), tc.framing)
			d := mustOpen(t, fastOptions(t.TempDir(), Target{Name: "siem", Type: "syslog", Sink: s}))
			defer closeD(t, d)
			alerts := digestAlerts()
			if err := d.Enqueue(context.Background(), alerts...); err != nil {
				t.Fatal(err)
			}
			flush(t, d)
			var got []string
			for range alerts {
				select {
				case l := <-lines:
					got = append(got, l)
				case <-time.After(10 * time.Second):
					t.Fatalf("received %d of %d", len(got), len(alerts))
				}
			}
			checkSyslog(t, got, alerts, 19)
		})
	}
}

// readFrames reads syslog frames from a stream until EOF.
func readFrames(t *testing.T, c net.Conn, newline bool, out chan<- string) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		if newline {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			out <- strings.TrimSuffix(l, "\n")
			continue
		}
		n, err := r.ReadString(' ')
		if err != nil {
			return
		}
		size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
		if err != nil || size < 1 || size > syslogStreamMax {
			t.Errorf("bad frame length %q", n)
			return
		}
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Errorf("short frame: %v", err)
			return
		}
		out <- string(b)
	}
}
