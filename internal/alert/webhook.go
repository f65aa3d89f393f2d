package alert

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook request.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with the
	// sink's secret, of the timestamp header's value, a full stop and the
	// body.
	HeaderSignature = "X-Dnsscout-Signature"
	// HeaderTimestamp is the Unix time (seconds) of the attempt; it is
	// signed, so that a receiver can refuse replays of old requests.
	HeaderTimestamp = "X-Dnsscout-Timestamp"
	// HeaderDelivery is the Message ID, the same in every attempt.
	HeaderDelivery = "X-Dnsscout-Delivery"
)

// WebhookBody is the JSON a webhook receives.
type WebhookBody struct {
	// Version of this shape: 1.
	Version int `json:"version"`
	// Delivery is the Message ID (also in X-Dnsscout-Delivery).
	Delivery string `json:"delivery"`
	// Digest summarises Alerts when several are sent at once.
	Digest *Digest `json:"digest,omitempty"`
	// Alerts are all the alerts of the message, digest or not.
	Alerts []Alert `json:"alerts"`
}

type webhookSink struct {
	p       *poster
	secret  []byte
	headers map[string]string
	now     func() time.Time
}

func newWebhook(c *WebhookConfig, env *Env) (*webhookSink, error) {
	p, err := newPoster(c.URL, c.URLEnv, &c.TLS, env)
	if err != nil {
		return nil, fmt.Errorf("webhook.%v", err)
	}
	secret, err := fromEnv(env, "webhook.secret_env", c.Secret, c.SecretEnv)
	if err != nil {
		return nil, err
	}
	return &webhookSink{p: p, secret: []byte(secret), headers: c.Headers, now: env.Now}, nil
}

// webhookJSON renders a message as a webhook body.
func webhookJSON(m *Message) ([]byte, error) {
	return json.Marshal(WebhookBody{Version: 1, Delivery: m.ID, Digest: m.Digest, Alerts: m.Alerts})
}

func (w *webhookSink) Send(ctx context.Context, m *Message) error {
	body, err := webhookJSON(m)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	hdr := http.Header{}
	for k, v := range w.headers {
		hdr.Set(k, v)
	}
	hdr.Set(HeaderTimestamp, ts)
	hdr.Set(HeaderSignature, Sign(w.secret, ts, body))
	hdr.Set(HeaderDelivery, m.ID)
	return w.p.post(ctx, body, hdr)
}

// Sign returns the X-Dnsscout-Signature value for a body sent at
// timestamp ts (the X-Dnsscout-Timestamp value): "sha256=" and the hex
// HMAC-SHA256 of ts + "." + body keyed with secret.
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a webhook request as a receiver should: the
// signature must match the timestamp and body (compared in constant
// time), and the timestamp must be within tolerance of now (5 minutes is
// a sensible tolerance). Errors wrap ErrSignature.
func VerifySignature(secret []byte, ts, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %s", ErrSignature, quote(ts))
	}
	hexSig, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return fmt.Errorf("%w: want sha256=HEX", ErrSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: want sha256= and 64 hex digits", ErrSignature)
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, ts, body), "sha256="))
	if !hmac.Equal(got, want) {
		return fmt.Errorf("%w: mismatch", ErrSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s is %v away from now", ErrSignature, ts, d.Round(time.Second))
	}
	return nil
}
