package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/history"
	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/watch"
)

// The scans seedHistory records, with the ids the OpenAPI examples use.
const (
	scan1 = "20240301T000000.000000000Z-00000001"
	scan2 = "20240301T060000.000000000Z-00000002"
	scan3 = "20240301T120000.000000000Z-00000003"
)

// seedHistory records three scans of example.com: a baseline with an open
// AXFR, then a new name and a dangling CNAME while AXFR is fixed, then an
// outage.
func seedHistory(t *testing.T, b store.Backend) {
	t.Helper()
	h, err := store.HistoryOf(b)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	axfr := finding.Finding{ID: "axfr-allowed", Subject: "ns1.example.com", Severity: finding.High, Title: "Zone transfer allowed"}
	dangling := finding.Finding{ID: "dangling-cname", Subject: "old.example.com", Severity: finding.Medium, Title: "CNAME points at a name that does not exist"}
	steps := []struct {
		id     string
		at     time.Duration
		snap   history.Snapshot
		outage bool
	}{
		{scan1, 0, history.Snapshot{Names: []string{"example.com", "www.example.com"}, Nameservers: []string{"ns1.example.com"},
			Records: []history.Record{{Name: "www.example.com", Type: "A", Data: "192.0.2.1"}}, Findings: []finding.Finding{axfr}}, false},
		{scan2, 6 * time.Hour, history.Snapshot{Names: []string{"example.com", "old.example.com", "www.example.com"}, Nameservers: []string{"ns1.example.com"},
			Records:  []history.Record{{Name: "www.example.com", Type: "A", Data: "192.0.2.1"}, {Name: "old.example.com", Type: "CNAME", Data: "gone.example.net."}},
			Findings: []finding.Finding{dangling}}, false},
		{scan3, 12 * time.Hour, history.Snapshot{}, true},
	}
	ctx := context.Background()
	for _, st := range steps {
		_, base, states, err := h.Last(ctx, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		at := t0.Add(st.at)
		sc := history.Scan{ID: st.id, Domain: "example.com", Started: at, Finished: at.Add(time.Minute), Complete: !st.outage, Outage: st.outage}
		step := history.Advance(base, states, st.snap, sc)
		if err := h.Record(ctx, &step); err != nil {
			t.Fatal(err)
		}
	}
}

type fakeWatch []watch.DomainStatus

func (f fakeWatch) Status() []watch.DomainStatus { return f }

func TestHistoryEndpoints(t *testing.T) {
	next := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, func(o *Options) {
		o.Watch = fakeWatch{{Domain: "example.com", Next: next}, {Domain: "example.org", Failures: 2, Error: "SERVFAIL"}}
	})
	tests := []struct {
		name, path string
		code       int
		check      func(t *testing.T, body string)
	}{
		{"inventory", "/api/v1/domains", 200, func(t *testing.T, body string) {
			var l DomainList
			decode(t, body, &l)
			if len(l.Domains) != 2 {
				t.Fatalf("%d domains: %s", len(l.Domains), body)
			}
			com, org := l.Domains[0], l.Domains[1]
			if com.Domain != "example.com" || com.LastScan.ID != scan3 || !com.LastScan.Outage || com.Open.Medium != 1 || com.Open.High != 0 || !com.Watched || !com.Next.Equal(next) {
				t.Errorf("example.com: %+v", com)
			}
			if org.Domain != "example.org" || org.LastScan.ID != "" || org.Failures != 2 || org.Error != "SERVFAIL" {
				t.Errorf("example.org (watched, never scanned): %+v", org)
			}
		}},
		{"scans of a domain, newest first", "/api/v1/scans?domain=example.com", 200, func(t *testing.T, body string) {
			var l ScanList
			decode(t, body, &l)
			var ids []string
			for _, s := range l.Scans {
				ids = append(ids, s.ID)
			}
			if !slices.Equal(ids, []string{scan3, scan2, scan1}) {
				t.Errorf("scans %q", ids)
			}
		}},
		{"scans paged", "/api/v1/scans?limit=2", 200, func(t *testing.T, body string) {
			var l ScanList
			decode(t, body, &l)
			if len(l.Scans) != 2 || l.Cursor == "" {
				t.Errorf("page: %s", body)
			}
		}},
		{"one scan", "/api/v1/scans/" + scan2, 200, func(t *testing.T, body string) {
			var d ScanDetail
			decode(t, body, &d)
			if d.Scan.ID != scan2 || d.Snapshot == nil || !slices.Contains(d.Snapshot.Names, "old.example.com") {
				t.Errorf("scan: %s", body)
			}
		}},
		{"diff of two scans", "/api/v1/scans/" + scan1 + "/diff/" + scan2, 200, func(t *testing.T, body string) {
			var d ScanDiff
			decode(t, body, &d)
			if !slices.Equal(d.Diff.NamesAdded, []string{"old.example.com"}) || len(d.Diff.FindingsAdded) != 1 || len(d.Diff.FindingsRemoved) != 1 ||
				d.Diff.FindingsRemoved[0].ID != "axfr-allowed" {
				t.Errorf("diff: %s", body)
			}
		}},
		{"diff with an outage", "/api/v1/scans/" + scan2 + "/diff/" + scan3, 400, nil},
		{"unknown scan", "/api/v1/scans/20240301T000000.000000000Z-99999999", 404, nil},
		{"bad scan id", "/api/v1/scans/a%20b", 404, nil},
		{"open findings", "/api/v1/findings?state=open", 200, func(t *testing.T, body string) {
			var l FindingList
			decode(t, body, &l)
			if len(l.Findings) != 1 || l.Findings[0].Finding.ID != "dangling-cname" {
				t.Errorf("open: %s", body)
			}
		}},
		{"resolved findings with their time", "/api/v1/findings?state=resolved&domain=example.com&severity=high", 200, func(t *testing.T, body string) {
			var l FindingList
			decode(t, body, &l)
			if len(l.Findings) != 1 || l.Findings[0].ResolvedScan != scan2 || !l.Findings[0].ResolvedAt.Equal(time.Date(2024, 3, 1, 6, 0, 0, 0, time.UTC)) {
				t.Errorf("resolved: %s", body)
			}
		}},
		{"findings above the severity", "/api/v1/findings?severity=critical", 200, func(t *testing.T, body string) {
			if !strings.Contains(body, `"findings":[]`) {
				t.Errorf("critical: %s", body)
			}
		}},
		{"bad state", "/api/v1/findings?state=closed", 400, nil},
		{"bad severity", "/api/v1/findings?severity=urgent", 400, nil},
		{"timeline, newest first", "/api/v1/events?domain=example.com", 200, func(t *testing.T, body string) {
			var l EventList
			decode(t, body, &l)
			if len(l.Events) == 0 || l.Events[0].Kind != history.KindOutage {
				t.Errorf("events: %s", body)
			}
		}},
		{"timeline of some kinds, oldest first", "/api/v1/events?kind=finding-opened,finding-resolved&order=oldest", 200, func(t *testing.T, body string) {
			var l EventList
			decode(t, body, &l)
			var got []string
			for _, e := range l.Events {
				got = append(got, e.Kind+" "+e.FindingID)
			}
			want := []string{"finding-opened axfr-allowed", "finding-opened dangling-cname", "finding-resolved axfr-allowed"}
			if !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		}},
		{"bad kind", "/api/v1/events?kind=explosion", 400, nil},
		{"bad time", "/api/v1/events?since=yesterday", 400, nil},
		{"bad domain", "/api/v1/scans?domain=a%00b", 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := e.get(tc.path, nil)
			if code != tc.code {
				t.Fatalf("%s: %d, want %d: %s", tc.path, code, tc.code, body)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
	// Keys apply: with a key in the store, no key is 401.
	e.addKey(keys.Spec{Name: "reader"})
	if code, _, _ := e.get("/api/v1/findings", nil); code != http.StatusUnauthorized {
		t.Errorf("without a key: %d, want 401", code)
	}
}

func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}
