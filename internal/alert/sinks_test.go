package alert

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSignature(t *testing.T) {
	secret := []byte("It's a Secret to Everybody")
	body := []byte(`{"version":1}`)
	now := time.Unix(1773480413, 0)
	ts := "1773480413"
	sig := Sign(secret, ts, body)
	cases := []struct {
		name          string
		secret        []byte
		ts, sig, body string
		now           time.Time
		ok            bool
	}{
		{"good", secret, ts, sig, string(body), now, true},
		{"late but within tolerance", secret, ts, sig, string(body), now.Add(4 * time.Minute), true},
		{"replayed later", secret, ts, sig, string(body), now.Add(6 * time.Minute), false},
		{"from the future", secret, ts, sig, string(body), now.Add(-6 * time.Minute), false},
		{"other body", secret, ts, sig, `{"version":2}`, now, false},
		{"other timestamp", secret, "1773480414", sig, string(body), now, false},
		{"other secret", []byte("x"), ts, sig, string(body), now, false},
		{"no prefix", secret, ts, strings.TrimPrefix(sig, "sha256="), string(body), now, false},
		{"short", secret, ts, sig[:20], string(body), now, false},
		{"not hex", secret, ts, "sha256=" + strings.Repeat("zz", 32), string(body), now, false},
		{"bad timestamp", secret, "soon", sig, string(body), now, false},
		{"empty", secret, "", "", string(body), now, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.secret, tc.ts, tc.sig, []byte(tc.body), tc.now, 5*time.Minute)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrSignature)) {
				t.Errorf("VerifySignature: %v", err)
			}
		})
	}
}

// TestSignatureRecipe: Sign agrees with the recipe in docs/alerts.md, a
// known answer computed with
//
//	printf '%s.%s' 1773480413 '{"version":1,"alerts":[]}' | openssl dgst -sha256 -hmac s3cret
func TestSignatureRecipe(t *testing.T) {
	got := Sign([]byte("s3cret"), "1773480413", []byte(`{"version":1,"alerts":[]}`))
	if want := "sha256=39582703f0e46936d41d6887ec82332bee95e3bb931c4a8c2240f278028fd6b2"; got != want {
		t.Errorf("Sign = %s, openssl says %s", got, want)
	}
}

// captured is what an HTTP endpoint received.
type captured struct {
	mu     sync.Mutex
	bodies [][]byte
	hdrs   []http.Header
}

func (c *captured) handler(status int, hdr map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.hdrs = append(c.hdrs, r.Header.Clone())
		c.mu.Unlock()
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, "answer from the receiver")
	}
}

// TestChatSinks: Slack and Mattermost payloads arrive as JSON with the
// shapes their incoming webhooks take, over TLS checked against a CA file.
func TestChatSinks(t *testing.T) {
	var c captured
	srv := httptest.NewTLSServer(c.handler(200, nil))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{
		Rules: []Rule{{Name: "all", Sinks: []string{"slack", "mm"}}},
		Sinks: []SinkConfig{
			{Name: "slack", Slack: &SlackConfig{URLEnv: "SLACK_URL", TLS: TLSConfig{CAFile: ca, ServerName: "example.com"}}},
			{Name: "mm", Mattermost: &MattermostConfig{URL: srv.URL + "/hooks/x", Username: "watch", Channel: "dns", TLS: TLSConfig{CAFile: ca, ServerName: "example.com"}}},
		},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	targets, err := NewTargets(cfg, Env{Getenv: func(string) string { return srv.URL + "/services/T0/B0/token" }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if err := tg.Sink.Send(sendCtx(t), newSingle(axfrAlert())); err != nil {
			t.Fatalf("%s: %v", tg.Name, err)
		}
	}
	var slack slackMessage
	if err := json.Unmarshal(c.bodies[0], &slack); err != nil || slack.Text == "" || len(slack.Blocks) != 4 || slack.Blocks[0].Type != "header" {
		t.Errorf("slack body %s (%v)", c.bodies[0], err)
	}
	var mm map[string]any
	if err := json.Unmarshal(c.bodies[1], &mm); err != nil || mm["username"] != "watch" || mm["channel"] != "dns" || !strings.HasPrefix(mm["text"].(string), "#### [high]") {
		t.Errorf("mattermost body %s (%v)", c.bodies[1], err)
	}
	// Without the CA file the certificate is refused.
	cfg.Sinks[1].Mattermost.TLS.CAFile = ""
	targets, _ = NewTargets(cfg, Env{Getenv: func(string) string { return srv.URL }})
	if err := targets[1].Sink.Send(sendCtx(t), newSingle(axfrAlert())); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
}

// TestHTTPAnswers: how each answer of a receiver is taken.
func TestHTTPAnswers(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		hdr      map[string]string
		ok       bool
		rejected bool
		after    time.Duration
	}{
		{"200", 200, nil, true, false, 0},
		{"204", 204, nil, true, false, 0},
		{"400 rejected", 400, nil, false, true, 0},
		{"413 rejected", 413, nil, false, true, 0},
		{"404 retried", 404, nil, false, false, 0},
		{"500 retried", 500, nil, false, false, 0},
		{"429 with Retry-After", 429, map[string]string{"Retry-After": "7"}, false, false, 7 * time.Second},
		{"503 with a date", 503, map[string]string{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, false, false, 0},
		{"redirect not followed", 307, map[string]string{"Location": "http://127.0.0.1:1/elsewhere"}, false, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c captured
			srv := httptest.NewServer(c.handler(tc.status, tc.hdr))
			defer srv.Close()
			s, err := newWebhook(&WebhookConfig{URL: srv.URL + "/secret-path", Secret: "k", Headers: map[string]string{"Authorization": "Bearer t"}}, &Env{Now: time.Now})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(sendCtx(t), newSingle(axfrAlert()))
			var ra *retryAfterError
			if (err == nil) != tc.ok || errors.Is(err, ErrRejected) != tc.rejected || (errors.As(err, &ra) && ra.after != tc.after) || (tc.after > 0 && ra == nil) {
				t.Errorf("Send: %v", err)
			}
			if err != nil && strings.Contains(err.Error(), "secret-path") {
				t.Errorf("the error shows the URL's path: %v", err)
			}
			if len(c.hdrs) != 1 || c.hdrs[0].Get("Authorization") != "Bearer t" || c.hdrs[0].Get(HeaderDelivery) == "" {
				t.Errorf("requests %d, headers %v", len(c.hdrs), c.hdrs)
			}
		})
	}
}

// TestNDJSONFile: appended, one line per alert.
func TestNDJSONFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.ndjson")
	s, err := newNDJSON(&NDJSONConfig{Path: path}, &Env{})
	if err != nil {
		t.Fatal(err)
	}
	alerts := digestAlerts()
	if err := s.Send(context.Background(), newSingle(alerts[0])); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), newDigest(alerts[1:], 5)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != len(alerts) {
		t.Fatalf("%d lines, want %d", len(lines), len(alerts))
	}
	for i, l := range lines {
		var a Alert
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.ID != alerts[i].ID || !a.Time.Equal(alerts[i].Time) {
			t.Errorf("line %d: %v %s", i, err, l)
		}
	}
}
