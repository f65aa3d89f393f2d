package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrNotAnswer is an answer of 200 OK that is not the JSON asked for.
var ErrNotAnswer = errors.New("api: not a dnsscout answer")

// AnswerError is a server's answer other than 200 OK: its status and the
// message of its JSON error body (the body itself, trimmed, when it has
// none).
type AnswerError struct {
	Code   int
	Status string
	Msg    string
	// JSON is true when Msg came from a dnsscout error body.
	JSON bool
}

func (e *AnswerError) Error() string { return e.Status + ": " + e.Msg }

// CallJSON sends in (when not nil) as JSON with method to url through hc,
// with header, and decodes a 200 answer of at most limit bytes into out.
// Another status is an *AnswerError, an answer that does not decode
// ErrNotAnswer; a transport error is returned as is.
func CallJSON(ctx context.Context, hc *http.Client, method, url string, header http.Header, in, out any, limit int64) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, limit))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		ae := &AnswerError{Code: res.StatusCode, Status: res.Status, Msg: strings.TrimSpace(string(b))}
		var eb errorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
			ae.Msg, ae.JSON = eb.Error, true
		}
		return ae
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: %v", ErrNotAnswer, err)
	}
	return nil
}
