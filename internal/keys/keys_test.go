package keys

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T, dir string) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(context.Background(), dir, pebble.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newManager(t *testing.T) (*Manager, *clock, *pebble.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db := openStore(t, dir)
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	m, err := Open(context.Background(), db, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return m, c, db, dir
}

func mustAdd(t *testing.T, m *Manager, s Spec) (string, Key) {
	t.Helper()
	tok, k, err := m.Add(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return tok, k
}

func TestTokens(t *testing.T) {
	m, _, _, _ := newManager(t)
	tok, k := mustAdd(t, m, Spec{Name: "alice", Perms: []Permission{PermQuery}})
	id, secret, err := ParseToken(tok)
	if err != nil || id != k.ID {
		t.Fatalf("ParseToken(%q) = %q, %v; want id %q", tok, id, err, k.ID)
	}
	if strings.Contains(k.Hash, secret) || len(k.Hash) != 64 {
		t.Fatalf("stored hash %q must be a SHA-256 hex digest, not the secret", k.Hash)
	}
	wrong := tok[:len(tok)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(tok, "a")]
	for _, tc := range []struct {
		name, token string
		want        error
	}{
		{"token", tok, nil},
		{"basic id:secret", FromBasic(id, secret), nil},
		{"basic any:token", FromBasic("user", tok), nil},
		{"basic token:", FromBasic(tok, ""), nil},
		{"wrong secret", wrong, ErrUnknownKey},
		{"unknown id", "dss_aaaaaaaaaa_" + secret, ErrUnknownKey},
		{"malformed", "hello", ErrMalformed},
		{"empty", "", ErrMalformed},
		{"short secret", "dss_" + id + "_abc", ErrMalformed},
		{"upper case", strings.ToUpper(tok), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.Authenticate(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Authenticate: err %v, want %v", err, tc.want)
			}
			if err == nil && got.ID != k.ID {
				t.Fatalf("Authenticate gave key %q, want %q", got.ID, k.ID)
			}
		})
	}
}

func TestRevokeAndExpire(t *testing.T) {
	m, c, _, _ := newManager(t)
	ctx := context.Background()
	tok, k := mustAdd(t, m, Spec{Perms: []Permission{PermQuery}})
	tok2, _ := mustAdd(t, m, Spec{Perms: []Permission{PermQuery}, Expires: c.now().Add(time.Hour)})
	key, err := m.Authenticate(tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked key: %v, want ErrRevoked", err)
	}
	// A request authenticated before the revocation is refused at admission.
	if _, err := m.Admit(key, PermQuery, true, true); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Admit after revoke: %v, want ErrRevoked", err)
	}
	if err := m.Revoke(ctx, "zzzzzzzzzz"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Revoke unknown: %v, want ErrNotFound", err)
	}
	if _, err := m.Authenticate(tok2); err != nil {
		t.Fatalf("key before expiry: %v", err)
	}
	c.add(time.Hour)
	if _, err := m.Authenticate(tok2); !errors.Is(err, ErrExpired) {
		t.Fatalf("key at expiry: %v, want ErrExpired", err)
	}
	if m.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (revoked keys stay recorded)", m.Len())
	}
}

func TestAdmit(t *testing.T) {
	m, c, _, _ := newManager(t)
	auth := func(s Spec) *Key {
		tok, _ := mustAdd(t, m, s)
		k, err := m.Authenticate(tok)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	t.Run("permission", func(t *testing.T) {
		k := auth(Spec{Perms: []Permission{PermIngest}})
		if _, err := m.Admit(k, PermQuery, true, true); !errors.Is(err, ErrForbidden) {
			t.Fatalf("query with an ingest key: %v, want ErrForbidden", err)
		}
		rel, err := m.Admit(k, PermIngest, false, true)
		if err != nil {
			t.Fatal(err)
		}
		rel()
	})
	t.Run("quota", func(t *testing.T) {
		k := auth(Spec{Perms: []Permission{PermQuery}, Limits: Limits{DailyQuota: 3}})
		for i := range 3 {
			rel, err := m.Admit(k, PermQuery, true, true)
			if err != nil {
				t.Fatalf("query %d: %v", i, err)
			}
			rel()
		}
		if r := m.Rate(k); r.Remaining != 0 || r.DailyQuota != 3 {
			t.Fatalf("Rate = %+v, want remaining 0 of 3", r)
		}
		_, err := m.Admit(k, PermQuery, true, true)
		var le *LimitError
		if !errors.Is(err, ErrQuota) || !errors.As(err, &le) || le.RetryAfter != 12*time.Hour {
			t.Fatalf("4th query: %v, want ErrQuota retry after 12h", err)
		}
		// Requests that do not count against the quota still pass.
		rel, err := m.Admit(k, PermQuery, false, false)
		if err != nil {
			t.Fatalf("uncounted request: %v", err)
		}
		rel()
		c.add(12 * time.Hour) // next UTC day
		if r := m.Rate(k); r.Remaining != 3 {
			t.Fatalf("Rate after midnight = %+v, want 3 remaining", r)
		}
		rel, err = m.Admit(k, PermQuery, true, true)
		if err != nil {
			t.Fatalf("query the next day: %v", err)
		}
		rel()
	})
	t.Run("burst", func(t *testing.T) {
		k := auth(Spec{Perms: []Permission{PermQuery}, Limits: Limits{BurstSize: 2, BurstWindow: Seconds(10 * time.Second)}})
		for i := range 2 {
			rel, err := m.Admit(k, PermQuery, true, true)
			if err != nil {
				t.Fatalf("query %d: %v", i, err)
			}
			rel()
		}
		_, err := m.Admit(k, PermQuery, true, true)
		var le *LimitError
		if !errors.Is(err, ErrBurst) || !errors.As(err, &le) || le.RetryAfter != 5*time.Second {
			t.Fatalf("3rd query in the window: %v, want ErrBurst retry after 5s", err)
		}
		c.add(5 * time.Second)
		rel, err := m.Admit(k, PermQuery, true, true)
		if err != nil {
			t.Fatalf("after a refill: %v", err)
		}
		rel()
	})
	t.Run("concurrency", func(t *testing.T) {
		k := auth(Spec{Perms: []Permission{PermQuery}, Limits: Limits{MaxConcurrent: 2}})
		r1, err1 := m.Admit(k, PermQuery, true, true)
		r2, err2 := m.Admit(k, PermQuery, true, true)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if _, err := m.Admit(k, PermQuery, true, true); !errors.Is(err, ErrConcurrency) {
			t.Fatalf("3rd concurrent request: %v, want ErrConcurrency", err)
		}
		r1()
		r1() // release is idempotent
		r3, err := m.Admit(k, PermQuery, true, true)
		if err != nil {
			t.Fatalf("after a release: %v", err)
		}
		r2()
		r3()
		if in, _ := m.Get(k.ID); in.InFlight != 0 {
			t.Fatalf("in flight after all releases = %d", in.InFlight)
		}
	})
}

// TestNoCrossKeyLeakage: one key exhausting its quota and burst, and
// filling its concurrency, changes nothing for another key with the same
// limits.
func TestNoCrossKeyLeakage(t *testing.T) {
	m, _, _, _ := newManager(t)
	lim := Limits{DailyQuota: 2, BurstSize: 2, BurstWindow: Seconds(time.Hour), MaxConcurrent: 1}
	var ks []*Key
	for range 2 {
		tok, _ := mustAdd(t, m, Spec{Perms: []Permission{PermQuery}, Limits: lim})
		k, err := m.Authenticate(tok)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	a, b := ks[0], ks[1]
	held, err := m.Admit(a, PermQuery, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Admit(a, PermQuery, true, true); !errors.Is(err, ErrConcurrency) {
		t.Fatalf("a's 2nd concurrent request: %v", err)
	}
	held()
	rel, err := m.Admit(a, PermQuery, true, true)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if _, err := m.Admit(a, PermQuery, true, true); err == nil {
		t.Fatal("a's 3rd request passed its limits")
	}
	if r := m.Rate(b); r.Remaining != 2 {
		t.Fatalf("b's remaining = %d after a used its quota, want 2", r.Remaining)
	}
	for i := range 2 {
		rel, err := m.Admit(b, PermQuery, true, true)
		if err != nil {
			t.Fatalf("b's request %d: %v", i, err)
		}
		rel()
	}
	ia, _ := m.Get(a.ID)
	ib, _ := m.Get(b.ID)
	if ia.UsedToday != 2 || ib.UsedToday != 2 {
		t.Fatalf("used today: a %d, b %d; want 2 and 2", ia.UsedToday, ib.UsedToday)
	}
}

// TestPersistence: keys and today's usage survive a restart; counters
// of past days are dropped.
func TestPersistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{t: time.Date(2024, 5, 1, 23, 0, 0, 0, time.UTC)}
	db := openStore(t, dir)
	m, err := Open(ctx, db, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	tok, k := mustAdd(t, m, Spec{Name: "sensor", Perms: []Permission{PermQuery, PermIngest}, Limits: Limits{DailyQuota: 10}})
	key, _ := m.Authenticate(tok)
	for range 4 {
		rel, err := m.Admit(key, PermQuery, true, true)
		if err != nil {
			t.Fatal(err)
		}
		rel()
	}
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openStore(t, dir)
	defer db.Close()
	m, err = Open(ctx, db, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	in, err := m.Get(k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if in.UsedToday != 4 || in.Name != "sensor" || !in.Can(PermIngest) || in.DailyQuota != 10 {
		t.Fatalf("after reopen: %+v", in)
	}
	if _, err := m.Authenticate(tok); err != nil {
		t.Fatalf("token after reopen: %v", err)
	}
	c.add(2 * time.Hour)
	key, _ = m.Authenticate(tok)
	rel, err := m.Admit(key, PermQuery, true, true)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	um, _ := db.Meta(nsUsage)
	var keys []string
	if err := um.List(ctx, "", func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "2024-05-02/") {
		t.Fatalf("usage entries after a day change = %q, want only 2024-05-02's", keys)
	}
}

func TestSpecValidation(t *testing.T) {
	m, _, _, _ := newManager(t)
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		{"no permission", Spec{}},
		{"unknown permission", Spec{Perms: []Permission{"root"}}},
		{"negative quota", Spec{Perms: []Permission{PermQuery}, Limits: Limits{DailyQuota: -1}}},
		{"burst without window", Spec{Perms: []Permission{PermQuery}, Limits: Limits{BurstSize: 5}}},
		{"window without burst", Spec{Perms: []Permission{PermQuery}, Limits: Limits{BurstWindow: Seconds(time.Minute)}}},
		{"fractional window", Spec{Perms: []Permission{PermQuery}, Limits: Limits{BurstSize: 1, BurstWindow: Seconds(1500 * time.Millisecond)}}},
		{"control character in name", Spec{Name: "a\nb", Perms: []Permission{PermQuery}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := m.Add(context.Background(), tc.spec); !errors.Is(err, ErrBadSpec) {
				t.Fatalf("Add: %v, want ErrBadSpec", err)
			}
		})
	}
	if m.Len() != 0 {
		t.Fatalf("invalid specs created %d keys", m.Len())
	}
	if _, err := ParsePermissions("query, INGEST,query"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePermissions("query,root"); !errors.Is(err, ErrBadSpec) {
		t.Fatalf("ParsePermissions(root): %v", err)
	}
}

func TestOpenWithoutMeta(t *testing.T) {
	if _, err := Open(context.Background(), nil, Options{}); err == nil {
		t.Fatal("Open(nil) succeeded")
	}
	var _ store.MetaStore = (*pebble.DB)(nil)
}

func FuzzParseToken(f *testing.F) {
	f.Add("dss_abcdefghij_abcdefghijklmnopqrstuvwxyz")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !ValidID(id) || len(secret) != secretLen {
			t.Fatalf("ParseToken(%q) accepted id %q secret %q", s, id, secret)
		}
		if again := tokenPrefix + id + "_" + secret; strings.TrimSpace(s) != again {
			t.Fatalf("ParseToken(%q) does not round-trip: %q", s, again)
		}
	})
}

// FuzzParsePermissions: permission lists parse to known permissions or
// fail with ErrBadSpec.
func FuzzParsePermissions(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePermissions(s)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("ParsePermissions(%q): %v", s, err)
			}
			return
		}
		if len(ps) == 0 {
			t.Fatalf("ParsePermissions(%q) accepted no permission", s)
		}
		for _, p := range ps {
			if p != PermQuery && p != PermIngest && p != PermAdmin {
				t.Fatalf("ParsePermissions(%q) gave %q", s, p)
			}
		}
	})
}

// TestDayOf checks the cached day against formatting each time, across
// midnights, time zones and 1970.
func TestDayOf(t *testing.T) {
	east := time.FixedZone("UTC+14", 14*3600)
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"noon", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		{"same day", time.Date(2026, 3, 1, 23, 59, 59, 999, time.UTC)},
		{"midnight", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		{"back a day", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"zone ahead of UTC", time.Date(2026, 3, 2, 5, 0, 0, 0, east)},
		{"epoch", time.Unix(0, 0)},
		{"before 1970", time.Unix(-1, 0)},
		{"a day before 1970", time.Unix(-86400, 0)},
		{"just after", time.Unix(-86399, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // formatted, then from the cache
				if got, want := dayOf(tc.t), tc.t.UTC().Format("2006-01-02"); got != want {
					t.Fatalf("dayOf(%v) = %s, want %s", tc.t, got, want)
				}
			}
		})
	}
}

// TestMemo: a connection's memo spares re-hashing the token it verified
// last, and changes no answer: wrong secrets, other keys, revocation,
// expiry and a key record whose hash changed are told as without it.
func TestMemo(t *testing.T) {
	m, c, _, _ := newManager(t)
	ctx := context.Background()
	tokA, a := mustAdd(t, m, Spec{Perms: []Permission{PermQuery}})
	tokB, b := mustAdd(t, m, Spec{Perms: []Permission{PermQuery}, Expires: c.now().Add(time.Hour)})
	tokC, cKey := mustAdd(t, m, Spec{Perms: []Permission{PermQuery}})
	wrongA := tokA[:len(tokA)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(tokA, "a")]
	var memo Memo
	steps := []struct {
		name   string
		before func()
		token  string
		want   error
		wantID string
	}{
		{name: "first use", token: tokA, wantID: a.ID},
		{name: "again", token: tokA, wantID: a.ID},
		{name: "wrong secret, same id", token: wrongA, want: ErrUnknownKey},
		{name: "after a wrong one", token: tokA, wantID: a.ID},
		{name: "another key", token: tokB, wantID: b.ID},
		{name: "the first key again", token: tokA, wantID: a.ID},
		{name: "revoked", before: func() {
			if err := m.Revoke(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
		}, token: tokA, want: ErrRevoked},
		{name: "before expiry", token: tokB, wantID: b.ID},
		{name: "expired", before: func() { c.add(time.Hour) }, token: tokB, want: ErrExpired},
		{name: "verified", token: tokC, wantID: cKey.ID},
		{name: "its record's hash changed", before: func() {
			m.mu.Lock()
			k := *m.keys[cKey.ID]
			k.Hash = strings.Repeat("ab", 32)
			m.keys[cKey.ID] = &k
			m.mu.Unlock()
		}, token: tokC, want: ErrUnknownKey},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			k, err := m.AuthenticateMemo(st.token, &memo)
			if !errors.Is(err, st.want) {
				t.Fatalf("AuthenticateMemo: err %v, want %v", err, st.want)
			}
			if err == nil && k.ID != st.wantID {
				t.Fatalf("AuthenticateMemo gave key %q, want %q", k.ID, st.wantID)
			}
		})
	}
	t.Run("remembered token is not hashed again", func(t *testing.T) {
		// A memo vouches for the token it holds against the hash it
		// holds: forged here to show that the secret is then not hashed.
		m2, _, _, _ := newManager(t)
		tok, k := mustAdd(t, m2, Spec{Perms: []Permission{PermQuery}})
		wrong := tok[:len(tok)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(tok, "a")]
		var forged Memo
		forged.last.Store(&memoEntry{token: wrong, id: k.ID, hash: k.Hash})
		if got, err := m2.AuthenticateMemo(wrong, &forged); err != nil || got.ID != k.ID {
			t.Fatalf("AuthenticateMemo with the memo's token = %v, %v; want key %s (from the memo)", got, err, k.ID)
		}
		if _, err := m2.AuthenticateMemo(wrong, nil); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("without a memo: %v, want ErrUnknownKey", err)
		}
	})
}

// TestTicket: a zero ticket releases nothing; a released one can be
// admitted again; a refused admission leaves it holding nothing.
func TestTicket(t *testing.T) {
	m, _, _, _ := newManager(t)
	tok, _ := mustAdd(t, m, Spec{Perms: []Permission{PermQuery}, Limits: Limits{MaxConcurrent: 1}})
	k, err := m.Authenticate(tok)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := func() int {
		in, _ := m.Get(k.ID)
		return in.InFlight
	}
	var zero Ticket
	zero.Release()
	var t1, t2 Ticket
	if err := m.AdmitTicket(&t1, k, PermQuery, true, true); err != nil || inFlight() != 1 {
		t.Fatalf("AdmitTicket: %v, in flight %d; want nil, 1", err, inFlight())
	}
	if err := m.AdmitTicket(&t2, k, PermQuery, true, true); !errors.Is(err, ErrConcurrency) {
		t.Fatalf("2nd AdmitTicket: %v, want ErrConcurrency", err)
	}
	t2.Release() // refused: holds nothing
	if inFlight() != 1 {
		t.Fatalf("in flight %d after releasing a refused ticket, want 1", inFlight())
	}
	t1.Release()
	t1.Release()
	if inFlight() != 0 {
		t.Fatalf("in flight %d after releasing twice, want 0", inFlight())
	}
	if err := m.AdmitTicket(&t1, k, PermQuery, true, true); err != nil || inFlight() != 1 {
		t.Fatalf("AdmitTicket of a released ticket: %v, in flight %d; want nil, 1", err, inFlight())
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("AdmitTicket of a ticket holding a place did not panic")
			}
		}()
		m.AdmitTicket(&t1, k, PermQuery, true, true)
	}()
	if inFlight() != 1 {
		t.Fatalf("in flight %d after a refused second AdmitTicket, want 1", inFlight())
	}
	t1.Release()
	if inFlight() != 0 {
		t.Fatalf("in flight %d at the end, want 0", inFlight())
	}
}
