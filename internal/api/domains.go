package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dnsscout/dnsscout/internal/alert"
	"github.com/dnsscout/dnsscout/internal/inventory"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/watch"
)

// Watched domains managed through the API (issue 13): POST
// /api/v1/domains adds domains to the running watch (serve --watch),
// DELETE /api/v1/domains/{domain} stops watching one (its history is
// kept). Both need the admin permission when the server has keys. The
// list lives in the store (store.WatchedList); the watch reads it at its
// next scheduler tick, which the server starts at once (Watcher.Wake).

// Limits of domain management.
const (
	// MaxAddDomains is the most domains one POST may add.
	MaxAddDomains = 1000
	// DefaultMaxWatched is the default of Options.MaxWatched.
	DefaultMaxWatched = 10_000
	// maxAddBody bounds a POST body.
	maxAddBody = 1 << 20
	// adminCost is the expected cost of a management request.
	adminCost = 10 * time.Millisecond
)

// DomainsAdd is the body of POST /api/v1/domains: one domain or many,
// with an optional interval for all of them.
type DomainsAdd struct {
	Domain  string   `json:"domain,omitempty"`
	Domains []string `json:"domains,omitempty"`
	// Every is a Go duration ("6h"); default the watch's interval.
	Every string `json:"every,omitempty"`
}

// DomainChange is one domain of a management answer.
type DomainChange struct {
	Domain string `json:"domain"`
	// Status is "added", "updated" (its interval changed), "unchanged",
	// "configured" (in the watch's configuration: it keeps that interval)
	// or "removed".
	Status string        `json:"status"`
	Every  time.Duration `json:"every_ns,omitempty"`
}

// DomainsChanged is the answer of POST and DELETE /api/v1/domains.
type DomainsChanged struct {
	Domains []DomainChange `json:"domains"`
	// Managed is the number of domains managed through the API now.
	Managed int `json:"managed"`
}

// watchManager is what the management endpoints ask of the running watch.
type watchManager interface {
	WatchStatus
	Wake()
}

// watchedList returns the store's list of watched domains and the running
// watch, or ErrDisabled when the server runs none.
func (s *Server) watchedList() (*store.WatchedList, watchManager, error) {
	wm, ok := s.opt.Watch.(watchManager)
	if !ok || s.opt.Watch == nil {
		return nil, nil, sentinelf(ErrDisabled, "domains are managed through a running watch: start serve with --watch")
	}
	l, err := store.WatchedOf(s.st)
	if err != nil {
		return nil, nil, sentinelf(ErrDisabled, "this store keeps no watched-domain list")
	}
	return l, wm, nil
}

// parseDomainsAdd reads and validates a POST body: every name is read as
// a line of an inventory list (IDNA, URLs reduced to their host, "*."
// and trailing dots dropped); one invalid name refuses the request.
func parseDomainsAdd(w http.ResponseWriter, r *http.Request) ([]string, time.Duration, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" && mt != "" {
		return nil, 0, sentinelf(ErrMediaType, "Content-Type %q: send JSON", pdns.Excerpt(mt))
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAddBody))
	if err != nil {
		return nil, 0, sentinelf(ErrTooLarge, "body larger than %d bytes", maxAddBody)
	}
	var req DomainsAdd
	if err := alert.DecodeStrict(b, &req); err != nil {
		return nil, 0, badRequest("want {\"domains\": [\"example.com\"], \"every\": \"6h\"}: %v", err)
	}
	names := req.Domains
	if req.Domain != "" {
		names = append([]string{req.Domain}, names...)
	}
	switch {
	case len(names) == 0:
		return nil, 0, badRequest("no domain given")
	case len(names) > MaxAddDomains:
		return nil, 0, badRequest("%d domains in one request, more than %d", len(names), MaxAddDomains)
	}
	var every time.Duration
	if req.Every != "" {
		if every, err = time.ParseDuration(req.Every); err != nil || every < watch.MinInterval {
			return nil, 0, badRequest("every %s: want a duration of at least %v (\"6h\")", pdns.Excerpt(req.Every), watch.MinInterval)
		}
	}
	for i, n := range names {
		if strings.ContainsAny(n, "\r\n") || strings.TrimSpace(n) == "" {
			return nil, 0, badRequest("domains[%d] %s: not a domain name", i, pdns.Excerpt(n))
		}
	}
	l, err := inventory.ReadList(r.Context(), strings.NewReader(strings.Join(names, "\n")+"\n"),
		inventory.ListOptions{MaxDomains: MaxAddDomains, MaxIssues: 1})
	if l != nil && l.Invalid > 0 {
		for _, is := range l.Issues {
			if is.Kind == inventory.IssueInvalid {
				return nil, 0, badRequest("domains[%d] %s: %s", is.Line-1, is.Text, is.Reason)
			}
		}
		return nil, 0, badRequest("%d invalid domain names", l.Invalid)
	}
	if err != nil {
		return nil, 0, badRequest("%v", strings.TrimPrefix(err.Error(), "inventory: "))
	}
	for _, d := range l.Domains {
		if _, err := watch.NormalizeDomain(d); err != nil {
			return nil, 0, badRequest("%v", err)
		}
	}
	return l.Domains, every, nil
}

func (s *Server) serveDomainsAdd(c *call) {
	list, wm, err := s.watchedList()
	if err != nil {
		c.fail(err)
		return
	}
	names, every, err := parseDomainsAdd(&c.w, c.r)
	if err != nil {
		c.fail(err)
		return
	}
	if !c.admit(classAdmin, page{cost: adminCost}) {
		return
	}
	ans, err := s.addDomains(c.r.Context(), list, wm, names, every, c.keyID())
	if err != nil {
		c.fail(err)
		return
	}
	wm.Wake()
	writeJSON(&c.w, http.StatusOK, ans)
}

// addDomains stores names with every, within Options.MaxWatched.
func (s *Server) addDomains(ctx context.Context, list *store.WatchedList, wm watchManager, names []string, every time.Duration, by string) (*DomainsChanged, error) {
	s.manageMu.Lock()
	defer s.manageMu.Unlock()
	have, err := list.List(ctx)
	if err != nil {
		return nil, err
	}
	cur := make(map[string]store.WatchedDomain, len(have))
	for _, d := range have {
		cur[d.Domain] = d
	}
	configured := map[string]bool{}
	for _, st := range wm.Status() {
		if st.Source == watch.SourceConfig {
			configured[st.Domain] = true
		}
	}
	ans := &DomainsChanged{Domains: make([]DomainChange, 0, len(names))}
	var put []store.WatchedDomain
	for _, n := range names {
		old, exists := cur[n]
		ch := DomainChange{Domain: n, Every: every}
		switch {
		case configured[n]:
			ch.Status = "configured"
		case !exists:
			ch.Status = "added"
		case old.Every == every:
			ch.Status = "unchanged"
		default:
			ch.Status = "updated"
		}
		if ch.Status == "added" || ch.Status == "updated" {
			put = append(put, store.WatchedDomain{Domain: n, Every: every, Added: s.now().UTC(), By: by})
		}
		ans.Domains = append(ans.Domains, ch)
	}
	added := 0
	for _, d := range put {
		if _, ok := cur[d.Domain]; !ok {
			added++
		}
	}
	if len(cur)+added > s.opt.MaxWatched {
		return nil, badRequest("%d domains are managed and %d would be added: more than the server's %d (serve --watch-max-domains)", len(cur), added, s.opt.MaxWatched)
	}
	for _, d := range put {
		if err := list.Put(ctx, d); err != nil {
			return nil, err
		}
	}
	ans.Managed = len(cur) + added
	return ans, nil
}

// parseDomainRoute reads /api/v1/domains/{domain}.
func parseDomainRoute(_ *Server, r *http.Request) (any, error) {
	raw := strings.TrimPrefix(r.URL.EscapedPath(), domainsPrefix)
	name, err := url.PathUnescape(raw)
	if err != nil || name == "" || strings.Contains(name, "/") {
		return nil, notFound(r.URL.Path)
	}
	d, err := watch.NormalizeDomain(name)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return d, nil
}

// domainsPrefix is the path of one managed domain, without the domain.
const domainsPrefix = "/api/v1/domains/"

func (s *Server) serveDomainRemove(c *call) {
	list, wm, err := s.watchedList()
	if err != nil {
		c.fail(err)
		return
	}
	domain := c.parsed.(string)
	if !c.admit(classAdmin, page{cost: adminCost}) {
		return
	}
	s.manageMu.Lock()
	defer s.manageMu.Unlock()
	ok, err := list.Delete(c.r.Context(), domain)
	if err != nil {
		c.fail(err)
		return
	}
	if !ok {
		for _, st := range wm.Status() {
			if st.Domain == domain && st.Source == watch.SourceConfig {
				c.fail(sentinelf(ErrConflict, "%s is in the watch's configuration file: remove it there", domain))
				return
			}
		}
		c.fail(sentinelf(ErrNoSuchDomain, "%s is not managed through the API", domain))
		return
	}
	rest, err := list.List(c.r.Context())
	if err != nil {
		c.fail(err)
		return
	}
	wm.Wake()
	writeJSON(&c.w, http.StatusOK, DomainsChanged{Domains: []DomainChange{{Domain: domain, Status: "removed"}}, Managed: len(rest)})
}

// managedEntries adds the domains of the store's list that the watch has
// not picked up yet (between a POST and its next tick) to an inventory.
func (s *Server) managedEntries(ctx context.Context, out *DomainList) error {
	if s.opt.Watch == nil {
		return nil
	}
	idx := make(map[string]int, len(out.Domains))
	for i := range out.Domains {
		idx[out.Domains[i].Domain] = i
	}
	list, err := store.WatchedOf(s.st)
	if errors.Is(err, store.ErrUnsupported) {
		return nil
	}
	if err != nil {
		return err
	}
	ds, err := list.List(ctx)
	if err != nil {
		return fmt.Errorf("the watched-domain list: %w", err)
	}
	for _, d := range ds {
		i, ok := idx[d.Domain]
		if !ok {
			i = len(out.Domains)
			idx[d.Domain] = i
			out.Domains = append(out.Domains, DomainEntry{DomainSummary: store.DomainSummary{Domain: d.Domain}})
		}
		if e := &out.Domains[i]; !e.Watched {
			e.Source, e.Every = watch.SourceAPI, d.Every
		}
	}
	return nil
}
