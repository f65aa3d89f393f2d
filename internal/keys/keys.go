// Package keys owns dnsscout's API keys: their secrets (kept only as
// SHA-256 hashes), permissions (query, ingest) and limits (daily quota,
// burst, result and offset caps, concurrency), and the per-key accounting
// that enforces them. Keys and each key's usage of the day live in the
// passive DNS store's Meta area (namespaces "apikeys" and "apikeys-usage"),
// so that they move with the data and a restart does not reset a quota.
//
// It does not speak HTTP: internal/api authenticates requests with it and
// maps its errors to status codes. Accounting is per key: nothing one key
// does is visible in another key's counters.
package keys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/dnsscout/dnsscout/internal/store"
)

// Errors of package keys. Limit errors come wrapped in *LimitError, which
// says when to retry.
var (
	// ErrMalformed: the credential is not shaped like a dnsscout key.
	ErrMalformed = errors.New("keys: malformed key")
	// ErrUnknownKey: no key has this id, or the secret does not match.
	ErrUnknownKey = errors.New("keys: unknown key")
	// ErrRevoked: the key was revoked.
	ErrRevoked = errors.New("keys: key revoked")
	// ErrExpired: the key's expiry time has passed.
	ErrExpired = errors.New("keys: key expired")
	// ErrForbidden: the key lacks the permission the request needs.
	ErrForbidden = errors.New("keys: permission denied")
	// ErrQuota: the key's daily quota is used up.
	ErrQuota = errors.New("keys: daily quota exhausted")
	// ErrBurst: the key sent more requests than its burst limit allows.
	ErrBurst = errors.New("keys: burst limit exceeded")
	// ErrConcurrency: the key has its maximum of requests in flight.
	ErrConcurrency = errors.New("keys: too many concurrent requests")
	// ErrBadSpec: a key specification is invalid (unknown permission,
	// negative limit, burst size without window).
	ErrBadSpec = errors.New("keys: bad key specification")
	// ErrNotFound: no key has this id (Revoke, Get).
	ErrNotFound = errors.New("keys: no such key")
)

// Permission is what a key may do.
type Permission string

// Permissions.
const (
	// PermQuery allows lookups, summaries, flex searches and the web UI.
	PermQuery Permission = "query"
	// PermIngest allows remote sensors to POST tuples.
	PermIngest Permission = "ingest"
	// PermAdmin allows managing the server's watch: adding and removing
	// watched domains (POST and DELETE /api/v1/domains).
	PermAdmin Permission = "admin"
)

// validPerm reports whether p is a known permission.
func validPerm(p Permission) bool { return p == PermQuery || p == PermIngest || p == PermAdmin }

// ParsePermissions reads a comma-separated list ("query,ingest").
func ParsePermissions(s string) ([]Permission, error) {
	var out []Permission
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch Permission(p) {
		case "":
			continue
		case PermQuery, PermIngest, PermAdmin:
			if !slices.Contains(out, Permission(p)) {
				out = append(out, Permission(p))
			}
		default:
			return nil, fmt.Errorf("%w: unknown permission %q (want query, ingest, admin)", ErrBadSpec, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no permission", ErrBadSpec)
	}
	slices.Sort(out)
	return out, nil
}

// Limits bound what one key may use. Zero values mean "no limit of the
// key's own"; the server's caps still apply.
type Limits struct {
	// DailyQuota is the number of queries (lookups, summaries, flex
	// searches) per UTC day; 0 = unlimited.
	DailyQuota int64 `json:"daily_quota,omitempty"`
	// BurstSize queries (and ingest batches) may be made per BurstWindow;
	// 0 = no burst limit. Tokens refill evenly over the window.
	BurstSize   int     `json:"burst_size,omitempty"`
	BurstWindow Seconds `json:"burst_window,omitempty"`
	// MaxResults caps the results of one query; 0 = the server's cap.
	MaxResults int `json:"max_results,omitempty"`
	// MaxOffset caps the offset of one query; 0 = the server's cap.
	MaxOffset int `json:"max_offset,omitempty"`
	// MaxConcurrent caps the key's requests in flight; 0 = unlimited.
	MaxConcurrent int `json:"max_concurrent,omitempty"`
}

// Seconds is a duration that JSON keeps as whole seconds (as DNSDB's
// rate_limit shows burst_window).
type Seconds time.Duration

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) }

// MarshalJSON writes whole seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(time.Duration(s)/time.Second), 10), nil
}

// UnmarshalJSON reads whole seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return fmt.Errorf("%w: burst window %s: want whole seconds", ErrBadSpec, b)
	}
	*s = Seconds(time.Duration(n) * time.Second)
	return nil
}

func (l *Limits) validate() error {
	switch {
	case l.DailyQuota < 0 || l.BurstSize < 0 || l.BurstWindow < 0 || l.MaxResults < 0 || l.MaxOffset < 0 || l.MaxConcurrent < 0:
		return fmt.Errorf("%w: limits must not be negative", ErrBadSpec)
	case l.BurstSize > 0 && l.BurstWindow < Seconds(time.Second):
		return fmt.Errorf("%w: a burst size needs a burst window of at least one second", ErrBadSpec)
	case l.BurstSize == 0 && l.BurstWindow != 0:
		return fmt.Errorf("%w: a burst window needs a burst size", ErrBadSpec)
	case time.Duration(l.BurstWindow)%time.Second != 0:
		return fmt.Errorf("%w: the burst window must be whole seconds", ErrBadSpec)
	}
	return nil
}

// Key is one API key as stored. The secret itself is never stored.
type Key struct {
	// ID is the public part of the key, also its name in logs and in
	// `dnsscout keys list`.
	ID string `json:"id"`
	// Name is a free label ("sensor-fra1", "alice").
	Name string `json:"name,omitempty"`
	// Hash is the hex SHA-256 of the secret.
	Hash  string       `json:"hash"`
	Perms []Permission `json:"perms"`
	Limits
	Created time.Time `json:"created"`
	// Expires is when the key stops working; zero = never.
	Expires time.Time `json:"expires,omitzero"`
	// Revoked is when the key was revoked; zero = active.
	Revoked time.Time `json:"revoked,omitzero"`
}

// Can reports whether the key has permission p.
func (k *Key) Can(p Permission) bool { return slices.Contains(k.Perms, p) }

// Spec describes a key to create.
type Spec struct {
	Name  string
	Perms []Permission
	Limits
	// Expires is when the key stops working; zero = never.
	Expires time.Time
}

// Info is a key with its usage of the current UTC day.
type Info struct {
	Key
	// UsedToday is the number of queries counted against DailyQuota today.
	UsedToday int64 `json:"used_today"`
	// InFlight is the number of the key's requests running now.
	InFlight int `json:"in_flight"`
}

// LimitError is a refusal by a limit (ErrQuota, ErrBurst, ErrConcurrency)
// with the time after which a retry may succeed (zero when unknown).
type LimitError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (retry after %v)", e.Err, e.RetryAfter.Round(time.Second))
	}
	return e.Err.Error()
}

func (e *LimitError) Unwrap() error { return e.Err }

// Token format: "dss_" + id + "_" + secret; id is 10 and secret 26
// lower-case base32 characters (50 and 130 bits).
const (
	tokenPrefix = "dss_"
	idLen       = 10
	secretLen   = 26
)

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ParseToken splits a token into its id and secret.
func ParseToken(s string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), tokenPrefix)
	if !ok {
		return "", "", fmt.Errorf("%w: want dss_<id>_<secret>", ErrMalformed)
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || !validPart(id, idLen) || !validPart(secret, secretLen) {
		return "", "", fmt.Errorf("%w: want dss_<id>_<secret>", ErrMalformed)
	}
	return id, secret, nil
}

// ValidID reports whether s can be a key id.
func ValidID(s string) bool { return validPart(s, idLen) }

func validPart(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// FromBasic turns HTTP Basic credentials into a token: the password or
// the user name when either is a whole token, else user = id and
// password = secret.
func FromBasic(user, pass string) string {
	switch {
	case strings.HasPrefix(pass, tokenPrefix):
		return pass
	case strings.HasPrefix(user, tokenPrefix):
		return user
	}
	return tokenPrefix + user + "_" + pass
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// secretMatches reports whether secret's hash is hash (hex), in time that
// does not depend on where they differ, and without allocating (it runs
// on every request).
func secretMatches(secret, hash string) bool {
	sum := sha256.Sum256([]byte(secret))
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum[:])
	if len(hash) != len(hx) {
		return false
	}
	var diff byte
	for i := range hx {
		diff |= hx[i] ^ hash[i]
	}
	return subtle.ConstantTimeByteEq(diff, 0) == 1
}

// Meta namespaces.
const (
	nsKeys  = "apikeys"
	nsUsage = "apikeys-usage"
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Now is the clock (quota days, expiry). Default time.Now.
	Now func() time.Time
	// Rand is the source of ids and secrets. Default crypto/rand.Reader.
	Rand io.Reader
	// Logger receives persistence warnings; nil discards.
	Logger *slog.Logger
}

// Manager keeps the keys of one store and their accounting. It is safe
// for concurrent use.
type Manager struct {
	keysMeta, usageMeta store.Meta
	now                 func() time.Time
	rand                io.Reader
	log                 *slog.Logger

	mu   sync.RWMutex
	keys map[string]*Key     // by id; values are never modified, only replaced
	acct map[string]*account // by id
	// n is len(keys), readable without the lock (Len runs on every
	// request of a server).
	n atomic.Int64
}

// account is the live accounting of one key.
type account struct {
	mu       sync.Mutex
	day      string // UTC date the counter is for
	used     int64
	dirty    bool
	inflight int
	burst    *rate.Limiter
}

// Open loads the keys of ms and today's usage.
func Open(ctx context.Context, ms store.MetaStore, o Options) (*Manager, error) {
	if ms == nil {
		return nil, fmt.Errorf("keys: the store keeps no metadata (no MetaStore ability)")
	}
	km, err := ms.Meta(nsKeys)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	um, err := ms.Meta(nsUsage)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	m := &Manager{keysMeta: km, usageMeta: um, now: o.Now, rand: o.Rand, log: o.Logger,
		keys: map[string]*Key{}, acct: map[string]*account{}}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.log = m.log.With("component", "keys")
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Reload reads the keys and today's usage from the store again (after
// another process changed them). In-memory usage not yet flushed is kept
// when it is higher than the stored one.
func (m *Manager) Reload(ctx context.Context) error {
	keys := map[string]*Key{}
	err := m.keysMeta.List(ctx, "", func(id string, v []byte) error {
		var k Key
		if err := json.Unmarshal(v, &k); err != nil {
			return fmt.Errorf("keys: key %q: %w: %v", id, store.ErrCorrupt, err)
		}
		if k.ID != id {
			return fmt.Errorf("keys: key %q: %w: id mismatch", id, store.ErrCorrupt)
		}
		keys[id] = &k
		return nil
	})
	if err != nil {
		return err
	}
	day := dayOf(m.now())
	used := map[string]int64{}
	err = m.usageMeta.List(ctx, day+"/", func(k string, v []byte) error {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err == nil && n >= 0 {
			used[strings.TrimPrefix(k, day+"/")] = n
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = keys
	m.n.Store(int64(len(keys)))
	for id, k := range keys {
		a := m.acct[id]
		if a == nil {
			a = &account{day: day}
			m.acct[id] = a
		}
		a.mu.Lock()
		if a.day != day {
			a.day, a.used = day, 0
		}
		a.used = max(a.used, used[id])
		a.burst = newBurst(k.Limits, a.burst)
		a.mu.Unlock()
	}
	for id := range m.acct {
		if keys[id] == nil {
			delete(m.acct, id)
		}
	}
	return nil
}

// newBurst returns the token bucket of l, reusing old when it has the
// same shape (so that a reload does not refill it).
func newBurst(l Limits, old *rate.Limiter) *rate.Limiter {
	if l.BurstSize <= 0 {
		return nil
	}
	r := rate.Limit(float64(l.BurstSize) / l.BurstWindow.Duration().Seconds())
	if old != nil && old.Burst() == l.BurstSize && old.Limit() == r {
		return old
	}
	return rate.NewLimiter(r, l.BurstSize)
}

func dayOf(t time.Time) string {
	sec := t.Unix()
	day := sec / 86400
	if sec < 0 && sec%86400 != 0 {
		day-- // floor: the UTC day of a time before 1970
	}
	if d := lastDay.Load(); d != nil && d.n == day {
		return d.s
	}
	d := &formattedDay{n: day, s: t.UTC().Format("2006-01-02")}
	lastDay.Store(d)
	return d.s
}

// lastDay is the day dayOf formatted last: every admitted query asks
// for today's date, which is formatted once a day instead.
var lastDay atomic.Pointer[formattedDay]

// formattedDay is a UTC day: days since 1970-01-01 and its date.
type formattedDay struct {
	n int64
	s string
}

// nextReset is the next UTC midnight after t.
func nextReset(t time.Time) time.Time {
	y, mo, d := t.UTC().Date()
	return time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
}

// Add creates a key and returns its token, which is shown only now.
func (m *Manager) Add(ctx context.Context, spec Spec) (string, Key, error) {
	if err := spec.Limits.validate(); err != nil {
		return "", Key{}, err
	}
	if len(spec.Perms) == 0 {
		return "", Key{}, fmt.Errorf("%w: no permission", ErrBadSpec)
	}
	for _, p := range spec.Perms {
		if !validPerm(p) {
			return "", Key{}, fmt.Errorf("%w: unknown permission %q", ErrBadSpec, p)
		}
	}
	if len(spec.Name) > 200 || strings.ContainsFunc(spec.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", Key{}, fmt.Errorf("%w: the name must be at most 200 printable characters", ErrBadSpec)
	}
	buf := make([]byte, 6+17)
	if _, err := io.ReadFull(m.rand, buf); err != nil {
		return "", Key{}, fmt.Errorf("keys: random source: %w", err)
	}
	id := b32.EncodeToString(buf[:6])[:idLen]
	secret := b32.EncodeToString(buf[6:])[:secretLen]
	perms := slices.Clone(spec.Perms)
	slices.Sort(perms)
	perms = slices.Compact(perms)
	k := Key{ID: id, Name: spec.Name, Hash: hashSecret(secret), Perms: perms, Limits: spec.Limits,
		Created: m.now().UTC()}
	if !spec.Expires.IsZero() {
		k.Expires = spec.Expires.UTC()
	}
	m.mu.RLock()
	_, dup := m.keys[id]
	m.mu.RUnlock()
	if dup {
		return "", Key{}, fmt.Errorf("keys: random id collision, try again")
	}
	if err := m.put(ctx, &k); err != nil {
		return "", Key{}, err
	}
	return tokenPrefix + id + "_" + secret, k, nil
}

func (m *Manager) put(ctx context.Context, k *Key) error {
	b, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := m.keysMeta.Put(ctx, k.ID, b); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[k.ID] = k
	m.n.Store(int64(len(m.keys)))
	a := m.acct[k.ID]
	if a == nil {
		a = &account{day: dayOf(m.now())}
		m.acct[k.ID] = a
	}
	a.mu.Lock()
	a.burst = newBurst(k.Limits, a.burst)
	a.mu.Unlock()
	return nil
}

// Revoke marks the key revoked; it is refused from now on. The record
// stays (so that `keys list` shows it and a store that once had keys
// keeps requiring them).
func (m *Manager) Revoke(ctx context.Context, id string) error {
	m.mu.RLock()
	k := m.keys[id]
	m.mu.RUnlock()
	if k == nil {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if !k.Revoked.IsZero() {
		return nil
	}
	c := *k
	c.Revoked = m.now().UTC()
	return m.put(ctx, &c)
}

// Len is the number of keys recorded, revoked and expired ones included.
func (m *Manager) Len() int {
	return int(m.n.Load())
}

// List returns every key with its usage, by creation time then id.
func (m *Manager) List() []Info {
	m.mu.RLock()
	out := make([]Info, 0, len(m.keys))
	for id, k := range m.keys {
		out = append(out, m.info(k, m.acct[id]))
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b Info) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Get returns one key with its usage.
func (m *Manager) Get(id string) (Info, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	k := m.keys[id]
	if k == nil {
		return Info{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return m.info(k, m.acct[id]), nil
}

func (m *Manager) info(k *Key, a *account) Info {
	in := Info{Key: *k}
	in.Perms = slices.Clone(k.Perms)
	if a != nil {
		a.mu.Lock()
		if a.day == dayOf(m.now()) {
			in.UsedToday = a.used
		}
		in.InFlight = a.inflight
		a.mu.Unlock()
	}
	return in
}

// Authenticate returns the key a token names. It fails with ErrMalformed,
// ErrUnknownKey, ErrRevoked or ErrExpired.
func (m *Manager) Authenticate(token string) (*Key, error) {
	return m.AuthenticateMemo(token, nil)
}

// A Memo remembers the last token a Manager verified for one client
// connection, so that the connection's next requests with the same token
// skip hashing the secret (a SHA-256 per request showed in the server's
// profiles): the token is compared with the remembered one in constant
// time instead, and used only while its key's record still has the hash
// it was verified against. Revocation and expiry are checked on every
// request as without a memo. The zero value is empty; a Memo is safe for
// concurrent use (HTTP/2 streams share a connection).
type Memo struct {
	last atomic.Pointer[memoEntry]
}

// memoEntry is a verified token, its key's id and the hash it matched.
type memoEntry struct {
	token, id, hash string
}

// AuthenticateMemo is Authenticate for the client whose memo is memo
// (nil = none).
func (m *Manager) AuthenticateMemo(token string, memo *Memo) (*Key, error) {
	if e := memo.holds(token); e != nil {
		// The token was parsed and verified when it was remembered.
		m.mu.RLock()
		k := m.keys[e.id]
		m.mu.RUnlock()
		if k != nil && k.Hash == e.hash {
			return m.usable(k)
		}
	}
	id, secret, err := ParseToken(token)
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	k := m.keys[id]
	m.mu.RUnlock()
	want := zeroHash
	if k != nil {
		want = k.Hash
	}
	// Compare even for unknown ids, so that timing does not tell ids apart.
	ok := secretMatches(secret, want)
	if k == nil || !ok {
		return nil, ErrUnknownKey
	}
	if memo != nil {
		memo.last.Store(&memoEntry{token: token, id: id, hash: k.Hash})
	}
	return m.usable(k)
}

// usable returns k unless it is revoked or expired.
func (m *Manager) usable(k *Key) (*Key, error) {
	if !k.Revoked.IsZero() {
		return nil, fmt.Errorf("%w: %s", ErrRevoked, k.ID)
	}
	if !k.Expires.IsZero() && !m.now().Before(k.Expires) {
		return nil, fmt.Errorf("%w: %s (at %s)", ErrExpired, k.ID, k.Expires.Format(time.RFC3339))
	}
	return k, nil
}

var zeroHash = strings.Repeat("0", 64)

// holds returns the memo's entry when token is the token it holds, else
// nil. The tokens are compared in time that does not depend on where
// they differ (the memo holds only a token this client sent and had
// verified); subtle.ConstantTimeCompare would need both as []byte, a
// copy of the token per request.
func (memo *Memo) holds(token string) *memoEntry {
	if memo == nil {
		return nil
	}
	e := memo.last.Load()
	if e == nil || len(e.token) != len(token) {
		return nil
	}
	var diff byte
	for i := 0; i < len(token); i++ {
		diff |= token[i] ^ e.token[i]
	}
	if subtle.ConstantTimeByteEq(diff, 0) != 1 {
		return nil
	}
	return e
}

// Admit lets one request of key k that needs permission p start, or says
// why not (ErrForbidden, or a *LimitError wrapping ErrConcurrency,
// ErrBurst or ErrQuota). quota says whether the request counts against
// the daily quota (queries do; ingest, ping and rate_limit do not);
// limited says whether burst and concurrency apply. The caller must call
// release when the request ends; calling it again does nothing.
func (m *Manager) Admit(k *Key, p Permission, quota, limited bool) (release func(), err error) {
	t := new(Ticket)
	if err := m.AdmitTicket(t, k, p, quota, limited); err != nil {
		return nil, err
	}
	return t.Release, nil
}

// A Ticket is an admitted request's place in its key's concurrency
// (AdmitTicket). The zero value holds nothing. A server keeps one in
// each request's state, so that admitting a request allocates nothing
// (Admit's release function cost two allocations per request).
type Ticket struct {
	a    *account
	done atomic.Bool
}

// Release ends the request's place; calling it again, or on a ticket
// that holds nothing, does nothing.
func (t *Ticket) Release() {
	if t.a == nil || !t.done.CompareAndSwap(false, true) {
		return
	}
	t.a.mu.Lock()
	t.a.inflight--
	t.a.mu.Unlock()
}

// AdmitTicket is Admit that records the place taken in t (which must
// hold nothing: a zero or released Ticket) instead of returning a
// function: on success the caller must call t.Release when the request
// ends. On error t holds nothing.
func (m *Manager) AdmitTicket(t *Ticket, k *Key, p Permission, quota, limited bool) error {
	if t.a != nil && !t.done.Load() {
		// Forgetting the place would keep it taken for good.
		panic("keys: AdmitTicket on a ticket that holds a place")
	}
	t.a = nil
	m.mu.RLock()
	a := m.acct[k.ID]
	cur := m.keys[k.ID]
	m.mu.RUnlock()
	if a == nil || cur == nil {
		return ErrUnknownKey // deleted meanwhile
	}
	if !cur.Can(p) {
		return fmt.Errorf("%w: key %s lacks the %s permission", ErrForbidden, k.ID, p)
	}
	if !cur.Revoked.IsZero() {
		return fmt.Errorf("%w: %s", ErrRevoked, k.ID)
	}
	if !limited {
		return nil
	}
	now := m.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur.MaxConcurrent > 0 && a.inflight >= cur.MaxConcurrent {
		return &LimitError{Err: ErrConcurrency}
	}
	var res *rate.Reservation
	if a.burst != nil {
		res = a.burst.ReserveN(now, 1)
		if d := res.DelayFrom(now); !res.OK() || d > 0 {
			res.CancelAt(now)
			return &LimitError{Err: ErrBurst, RetryAfter: max(d, time.Second)}
		}
	}
	if quota {
		if day := dayOf(now); a.day != day {
			a.day, a.used, a.dirty = day, 0, true
		}
		if cur.DailyQuota > 0 && a.used >= cur.DailyQuota {
			if res != nil {
				res.CancelAt(now)
			}
			return &LimitError{Err: ErrQuota, RetryAfter: nextReset(now).Sub(now)}
		}
		a.used++
		a.dirty = true
	}
	a.inflight++
	t.a = a
	t.done.Store(false)
	return nil
}

// Rate is what DNSDB's rate_limit reports for one key. Negative
// DailyQuota / Remaining mean unlimited; zero Expires means never.
type Rate struct {
	DailyQuota  int64
	Remaining   int64
	Reset       time.Time // next UTC midnight; zero when there is no quota
	Expires     time.Time
	MaxResults  int
	MaxOffset   int
	BurstSize   int
	BurstWindow time.Duration
}

// Rate returns k's quota state.
func (m *Manager) Rate(k *Key) Rate {
	m.mu.RLock()
	a := m.acct[k.ID]
	if cur := m.keys[k.ID]; cur != nil {
		k = cur
	}
	m.mu.RUnlock()
	r := Rate{DailyQuota: -1, Remaining: -1, Expires: k.Expires, MaxResults: k.MaxResults, MaxOffset: k.MaxOffset,
		BurstSize: k.BurstSize, BurstWindow: k.BurstWindow.Duration()}
	if k.DailyQuota > 0 {
		now := m.now()
		r.DailyQuota = k.DailyQuota
		r.Remaining = k.DailyQuota
		r.Reset = nextReset(now)
		if a != nil {
			a.mu.Lock()
			if a.day == dayOf(now) {
				r.Remaining = max(0, k.DailyQuota-a.used)
			}
			a.mu.Unlock()
		}
	}
	return r
}

// Flush writes the usage counters that changed to the store and deletes
// the counters of past days.
func (m *Manager) Flush(ctx context.Context) error {
	type entry struct {
		key  string
		used int64
	}
	var todo []entry
	m.mu.RLock()
	for id, a := range m.acct {
		a.mu.Lock()
		if a.dirty {
			todo = append(todo, entry{a.day + "/" + id, a.used})
			a.dirty = false
		}
		a.mu.Unlock()
	}
	m.mu.RUnlock()
	var errs []error
	for _, e := range todo {
		if err := m.usageMeta.Put(ctx, e.key, []byte(strconv.FormatInt(e.used, 10))); err != nil {
			errs = append(errs, err)
		}
	}
	today := dayOf(m.now())
	var old []string
	err := m.usageMeta.List(ctx, "", func(k string, _ []byte) error {
		if !strings.HasPrefix(k, today+"/") {
			old = append(old, k)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	for _, k := range old {
		if err := m.usageMeta.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Put the changes back so that the next flush retries them.
		m.mu.RLock()
		for _, e := range todo {
			day, id, _ := strings.Cut(e.key, "/")
			if a := m.acct[id]; a != nil {
				a.mu.Lock()
				if a.day == day {
					a.dirty = true
				}
				a.mu.Unlock()
			}
		}
		m.mu.RUnlock()
		return fmt.Errorf("keys: saving usage: %w", err)
	}
	return nil
}

// Run flushes usage every interval until ctx ends, then once more.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := m.Flush(context.WithoutCancel(ctx)); err != nil {
				m.log.Warn("final usage flush failed", "err", err)
			}
			return
		case <-t.C:
			if err := m.Flush(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("usage flush failed", "err", err)
			}
		}
	}
}
