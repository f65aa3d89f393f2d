package store

// Watched domains (issue 13): the domains added to a running watch
// through the server's API (POST /api/v1/domains), kept in the store's
// key-value area (MetaStore) so that they survive restarts and every
// backend with Meta keeps them the same way. The watch reads the list at
// each scheduler tick; removing a domain stops its scans and keeps its
// history.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dnsscout/dnsscout/internal/history"
)

// watchedNamespace is the Meta namespace of the list.
const watchedNamespace = "watch-domains"

// maxWatchedValue bounds one stored entry read back.
const maxWatchedValue = 4096

// WatchedDomain is one domain added through the API.
type WatchedDomain struct {
	// Domain is in identity form (history.DomainKey).
	Domain string `json:"domain"`
	// Every is its interval; 0 takes the watch's default.
	Every time.Duration `json:"every_ns,omitempty"`
	// Added is when it was added (or its interval last changed), By the
	// API key that did it ("" without keys).
	Added time.Time `json:"added"`
	By    string    `json:"by,omitempty"`
}

// WatchedList is the list of watched domains of a store.
type WatchedList struct{ m Meta }

// WatchedOf returns b's list of watched domains, or an error wrapping
// ErrUnsupported when b keeps no key-value area.
func WatchedOf(b Backend) (*WatchedList, error) {
	ms, ok := b.(MetaStore)
	if !ok {
		return nil, fmt.Errorf("%w: watched domains", ErrUnsupported)
	}
	m, err := ms.Meta(watchedNamespace)
	if err != nil {
		return nil, err
	}
	return &WatchedList{m: m}, nil
}

// Put adds d, or replaces the entry of the same domain. The domain must
// be in identity form.
func (l *WatchedList) Put(ctx context.Context, d WatchedDomain) error {
	if d.Domain != history.DomainKey(d.Domain) {
		return fmt.Errorf("%w: watched domain %q is not in identity form", ErrBadQuery, d.Domain)
	}
	if err := history.ValidDomain(d.Domain); err != nil {
		return fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	if d.Every < 0 {
		return fmt.Errorf("%w: watched domain %s: negative interval", ErrBadQuery, d.Domain)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return l.m.Put(ctx, d.Domain, b)
}

// Get returns the entry of domain, or an error wrapping ErrNotFound.
func (l *WatchedList) Get(ctx context.Context, domain string) (WatchedDomain, error) {
	b, err := l.m.Get(ctx, history.DomainKey(domain))
	if err != nil {
		return WatchedDomain{}, err
	}
	return decodeWatched(history.DomainKey(domain), b)
}

// Delete removes domain; it reports whether it was there.
func (l *WatchedList) Delete(ctx context.Context, domain string) (bool, error) {
	domain = history.DomainKey(domain)
	if _, err := l.m.Get(ctx, domain); errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, l.m.Delete(ctx, domain)
}

// List returns every entry, in domain order. An entry that does not
// decode is an error naming it.
func (l *WatchedList) List(ctx context.Context) ([]WatchedDomain, error) {
	var out []WatchedDomain
	err := l.m.List(ctx, "", func(k string, v []byte) error {
		d, err := decodeWatched(k, v)
		if err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

func decodeWatched(key string, b []byte) (WatchedDomain, error) {
	var d WatchedDomain
	if len(b) > maxWatchedValue {
		return d, fmt.Errorf("store: watched domain %q: entry of %d bytes", key, len(b))
	}
	if err := json.Unmarshal(b, &d); err != nil || d.Domain != key {
		return WatchedDomain{}, fmt.Errorf("store: watched domain %q: unreadable entry", key)
	}
	return d, nil
}
