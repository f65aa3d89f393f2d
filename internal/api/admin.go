package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
)

// The admin channel lets `dnsscout keys` manage the keys of a store that a
// running server holds open (the embedded store admits one process). It
// is HTTP over a Unix socket that only the server's user can open (mode
// 0600); it is never served on the network listener.
//
//	GET  /v1/keys               list keys with today's usage
//	POST /v1/keys               create a key (body: keys.Spec) -> AddedKey
//	POST /v1/keys/{id}/revoke   revoke a key -> keys.Info

// AddedKey is the answer to a key creation: the token is shown only once.
type AddedKey struct {
	Token string    `json:"token"`
	Key   keys.Info `json:"key"`
}

// AdminHandler serves the admin channel for m.
func AdminHandler(m *keys.Manager) http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) {
		writeJSON(w, statusOf(flavorAPI, err), errorBody{Error: publicMessage(err), Status: statusOf(flavorAPI, err)})
	}
	mux.HandleFunc("GET /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, m.List())
	})
	mux.HandleFunc("POST /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		var spec keys.Spec
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			fail(w, badRequest("key spec: %v", err))
			return
		}
		tok, k, err := m.Add(r.Context(), spec)
		if err != nil {
			fail(w, err)
			return
		}
		info, _ := m.Get(k.ID)
		writeJSON(w, http.StatusOK, AddedKey{Token: tok, Key: info})
	})
	mux.HandleFunc("POST /v1/keys/{id}/revoke", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := m.Revoke(r.Context(), id); err != nil {
			fail(w, err)
			return
		}
		info, err := m.Get(id)
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	return mux
}

// AdminClient talks to a server's admin socket.
type AdminClient struct {
	socket string
	hc     *http.Client
}

// NewAdminClient returns a client for the admin socket at path.
func NewAdminClient(path string) *AdminClient {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &AdminClient{socket: path, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *AdminClient) do(ctx context.Context, method, path string, in, out any) error {
	err := CallJSON(ctx, c.hc, method, "http://admin"+path, nil, in, out, 16<<20)
	var ae *AnswerError
	switch {
	case errors.As(err, &ae) && ae.JSON:
		return adminError(ae.Code, ae.Msg)
	case ae != nil:
		return fmt.Errorf("api: admin socket: %s", ae.Status)
	case err != nil:
		return fmt.Errorf("api: admin socket %s: %w", c.socket, err)
	}
	return nil
}

// adminError turns an admin answer back into an error the CLI can test.
func adminError(code int, msg string) error {
	switch {
	case code == http.StatusNotFound:
		return fmt.Errorf("%w: %s", keys.ErrNotFound, strings.TrimPrefix(msg, "no such key: "))
	case code == http.StatusBadRequest:
		return fmt.Errorf("%w: %s", keys.ErrBadSpec, msg)
	}
	return errors.New(msg)
}

// List returns every key.
func (c *AdminClient) List(ctx context.Context) ([]keys.Info, error) {
	var out []keys.Info
	err := c.do(ctx, http.MethodGet, "/v1/keys", nil, &out)
	return out, err
}

// Add creates a key.
func (c *AdminClient) Add(ctx context.Context, spec keys.Spec) (AddedKey, error) {
	var out AddedKey
	err := c.do(ctx, http.MethodPost, "/v1/keys", spec, &out)
	return out, err
}

// Revoke revokes a key.
func (c *AdminClient) Revoke(ctx context.Context, id string) (keys.Info, error) {
	var out keys.Info
	if !keys.ValidID(id) {
		return out, fmt.Errorf("%w: %q is not a key id", keys.ErrNotFound, id)
	}
	err := c.do(ctx, http.MethodPost, "/v1/keys/"+id+"/revoke", nil, &out)
	return out, err
}
