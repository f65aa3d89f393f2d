package api

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
)

// authRequired reports whether API requests need a key now: some key
// exists (revoked ones count, so that revoking the last key never opens
// the server) and auth was not switched off.
func (s *Server) authRequired() bool {
	return !s.opt.NoAuth && s.keys != nil && s.keys.Len() > 0
}

// credential extracts the token of a request: the X-API-Key header
// (DNSDB), HTTP Basic (CIRCL, dnsdbq -u circl: user = key id and password
// = secret, or the whole token as either), or a raw token in
// Authorization, optionally after "Bearer" or "Token".
func credential(r *http.Request) (string, bool) {
	if k := strings.TrimSpace(headerValue(r.Header, hkAPIKey)); k != "" {
		return k, true
	}
	a := strings.TrimSpace(headerValue(r.Header, hkAuthorization))
	if a == "" {
		return "", false
	}
	scheme, rest, _ := strings.Cut(a, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "basic":
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", true // present but unreadable: an invalid key
		}
		user, pass, _ := strings.Cut(string(b), ":")
		return keys.FromBasic(user, pass), true
	case "bearer", "token":
		return rest, true
	}
	return a, true
}

// authenticate returns the request's key: nil (anonymous) when auth is
// not required, else the key or an error for statusOf.
func (s *Server) authenticate(r *http.Request) (*keys.Key, error) {
	if !s.authRequired() {
		return nil, nil
	}
	tok, ok := credential(r)
	if !ok {
		return nil, ErrNoCredentials
	}
	k, err := s.keys.AuthenticateMemo(tok, authMemo(r))
	if err != nil {
		s.met.authFailures.WithLabelValues(authReason(err)).Inc()
		return nil, err
	}
	return k, nil
}

// authMemoKey is the context key of a connection's keys.Memo.
type authMemoKey struct{}

// withAuthMemo gives a connection a keys.Memo (http.Server.ConnContext):
// the requests of a client that sends the same key over one connection
// have its secret hashed once.
func withAuthMemo(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, authMemoKey{}, new(keys.Memo))
}

// authMemo is the memo of r's connection, nil without one (a handler
// served outside Serve).
func authMemo(r *http.Request) *keys.Memo {
	m, _ := r.Context().Value(authMemoKey{}).(*keys.Memo)
	return m
}

func authReason(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, keys.ErrRevoked):
		return "revoked"
	case errors.Is(err, keys.ErrExpired):
		return "expired"
	case errors.Is(err, keys.ErrMalformed):
		return "malformed"
	}
	return "unknown_key"
}

// class is what a request costs.
type class uint8

const (
	// classQuery: lookups, summaries, flex, UI search and recon — the
	// query permission, counted against the daily quota, burst and
	// concurrency limited.
	classQuery class = iota
	// classIngest: the ingest permission, burst and concurrency limited.
	classIngest
	// classMeta: ping and rate_limit — any valid key, free.
	classMeta
	// classAdmin: managing the watch's domains — the admin permission,
	// burst and concurrency limited, not counted against the quota.
	classAdmin
)

// keyID is the ID of the request's key, "" without one.
func (c *call) keyID() string {
	if c.key == nil {
		return ""
	}
	return c.key.ID
}

func firstPerm(k *keys.Key) keys.Permission {
	if len(k.Perms) > 0 {
		return k.Perms[0]
	}
	return keys.PermQuery
}

func limitReason(err error) string {
	switch {
	case errors.Is(err, keys.ErrQuota):
		return "quota"
	case errors.Is(err, keys.ErrBurst):
		return "burst"
	case errors.Is(err, keys.ErrConcurrency):
		return "concurrency"
	case errors.Is(err, keys.ErrForbidden):
		return "permission"
	}
	return "other"
}

// resultsMax is the most results one query of k may return.
func (s *Server) resultsMax(k *keys.Key) int {
	if k != nil && k.MaxResults > 0 {
		return min(k.MaxResults, s.opt.MaxResults)
	}
	return s.opt.MaxResults
}

// offsetMax is the largest offset k may ask for.
func (s *Server) offsetMax(k *keys.Key) int {
	if k != nil && k.MaxOffset > 0 {
		return min(k.MaxOffset, s.opt.MaxOffset)
	}
	return s.opt.MaxOffset
}

// rateOf returns what rate_limit reports for k (nil = anonymous: no
// quota, server caps).
func (s *Server) rateOf(k *keys.Key) keys.Rate {
	if k == nil {
		return keys.Rate{DailyQuota: -1, Remaining: -1, MaxResults: s.opt.MaxResults, MaxOffset: s.opt.MaxOffset}
	}
	r := s.keys.Rate(k)
	r.MaxResults = s.resultsMax(k)
	r.MaxOffset = s.offsetMax(k)
	return r
}

// setRateHeaders adds DNSDB's X-RateLimit-* headers.
func (s *Server) setRateHeaders(w http.ResponseWriter, k *keys.Key) {
	r := s.rateOf(k)
	h := w.Header()
	if r.DailyQuota < 0 {
		setShared(h, hkRateLimit, hvUnlimited)
		setShared(h, hkRateRemain, hvNA)
		setShared(h, hkRateReset, hvNA)
	} else {
		setShared(h, hkRateLimit, s.rateLimit.of(r.DailyQuota))
		h[hkRateRemain] = []string{strconv.FormatInt(r.Remaining, 10)}
		setShared(h, hkRateReset, s.rateReset.of(r.Reset.Unix()))
	}
	if r.Expires.IsZero() {
		setShared(h, hkRateExpires, hvNA)
	} else {
		h[hkRateExpires] = []string{strconv.FormatInt(r.Expires.Unix(), 10)}
	}
}

// intValue is the last header value of a number that most requests
// share and that rarely changes (a quota, the next reset): the requests
// that send the same one share it read-only, where each would allocate
// two.
type intValue struct {
	last atomic.Pointer[intValueOf]
}

type intValueOf struct {
	n int64
	v []string
}

// of returns the header value of n.
func (iv *intValue) of(n int64) []string {
	if p := iv.last.Load(); p != nil && p.n == n {
		return p.v
	}
	p := &intValueOf{n: n, v: []string{strconv.FormatInt(n, 10)}}
	iv.last.Store(p)
	return p.v
}

// rateLimitJSON renders DNSDB's rate_limit object. Burst fields appear only
// as integers and only together (dnsdbq asserts that).
func rateLimitJSON(r keys.Rate) []byte {
	b := []byte(`{"rate":{`)
	intOr := func(name string, v int64, ok bool, alt string) {
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
		if ok {
			b = strconv.AppendInt(b, v, 10)
		} else {
			b = append(b, '"')
			b = append(b, alt...)
			b = append(b, '"')
		}
		b = append(b, ',')
	}
	quota := r.DailyQuota >= 0
	intOr("reset", r.Reset.Unix(), quota, "n/a")
	intOr("expires", r.Expires.Unix(), !r.Expires.IsZero(), "n/a")
	intOr("limit", r.DailyQuota, quota, "unlimited")
	intOr("remaining", r.Remaining, quota, "n/a")
	intOr("results_max", int64(r.MaxResults), r.MaxResults > 0, "unlimited")
	intOr("offset_max", int64(r.MaxOffset), r.MaxOffset > 0, "n/a")
	if r.BurstSize > 0 {
		intOr("burst_size", int64(r.BurstSize), true, "")
		intOr("burst_window", int64(r.BurstWindow/time.Second), true, "")
	}
	b = b[:len(b)-1]
	return append(b, "}}\n"...)
}
