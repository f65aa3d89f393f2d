package api

import "net/http"

// Header keys and values that most answers carry, set by assignment under
// their canonical key: net/http only reads header values, so one shared
// slice serves every answer, where Header.Set would canonicalize the key
// and allocate a slice per header per request (it showed in profiles at
// tens of thousands of requests per second).
var (
	hkContentType   = http.CanonicalHeaderKey("Content-Type")
	hkContentLength = http.CanonicalHeaderKey("Content-Length")
	hkNoSniff       = http.CanonicalHeaderKey("X-Content-Type-Options")
	hkReferrer      = http.CanonicalHeaderKey("Referrer-Policy")
	hkRateLimit     = http.CanonicalHeaderKey("X-RateLimit-Limit")
	hkRateRemain    = http.CanonicalHeaderKey("X-RateLimit-Remaining")
	hkRateReset     = http.CanonicalHeaderKey("X-RateLimit-Reset")
	hkRateExpires   = http.CanonicalHeaderKey("X-RateLimit-Expires")

	// Request headers read on every request: Header.Get would
	// canonicalize the key each time, and "X-API-Key" is not canonical
	// (a new string per request).
	hkAPIKey        = http.CanonicalHeaderKey("X-API-Key")
	hkAuthorization = http.CanonicalHeaderKey("Authorization")
	hkAccept        = http.CanonicalHeaderKey("Accept")

	hvNoSniff    = []string{"nosniff"}
	hvNoReferrer = []string{"no-referrer"}
	hvNDJSON     = []string{"application/x-ndjson"}
	hvUnlimited  = []string{"unlimited"}
	hvNA         = []string{"n/a"}
)

// setShared sets a header to a shared value (never modified).
func setShared(h http.Header, key string, v []string) { h[key] = v }

// headerValue is h.Get(key) for a key already canonical.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
