package api

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dnsscout/dnsscout/internal/browsertest"
	"github.com/dnsscout/dnsscout/internal/store"
)

// TestWatchUIInChromium: the inventory, a domain's timeline (what the
// alerts said), its finding lifecycles and the diff of two scans, over
// the history seedHistory records: a baseline with an open AXFR, a scan
// where a dangling CNAME appears and AXFR is fixed, then an outage.
func TestWatchUIInChromium(t *testing.T) {
	tab := browsertest.Start(t, 2*time.Minute)
	e := newEnv(t, nil)
	console := browsertest.RecordConsole(tab)
	eval := evaluator(t, tab)
	if err := chromedp.Do(tab, chromedp.Navigate(e.url+"/#/watch")); err != nil {
		t.Fatal(err)
	}
	waitFor(tab, t, "the inventory", `document.querySelectorAll('#inventory tbody tr').length === 1`, 30*time.Second)
	waitFor(tab, t, "the trend", `!!document.querySelector('#inventory svg.trend')`, 10*time.Second)
	row := eval("row", `(() => { const r = document.querySelector('#inventory tbody tr');
		return [r.dataset.domain, r.querySelector('.chip.medium').textContent, r.querySelector('.chip.high').textContent,
			r.querySelector('.scan-outage') ? 'outage' : 'not outage', r.querySelector('svg.trend').dataset.values].join('|'); })()`)
	if want := "example.com|medium 1|high 0|outage|1,1"; row != want {
		t.Errorf("inventory row %q, want %q", row, want)
	}
	shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err == nil {
		browsertest.SaveScreenshot(t, "ui-watch-inventory.png", shot)
	}

	// The timeline, newest first, as the alerts said it.
	eval("click", `document.querySelector('#inventory tbody a').click(); ''`)
	waitFor(tab, t, "the timeline", `document.querySelectorAll('#timeline tbody tr[data-kind]').length > 0 && !document.getElementById('lifecycle').hidden`, 30*time.Second)
	lines := eval("timeline", `[...document.querySelectorAll('#timeline tbody tr[data-kind]')].map(r =>
		r.dataset.kind + ' ' + r.dataset.subject + ' ' + r.querySelector('td.detail').textContent).join('\n')`)
	want := []string{
		"outage example.com the scan saw nothing: resolution failed",
		"finding-opened old.example.com dangling-cname: CNAME points at a name that does not exist",
		"finding-resolved ns1.example.com axfr-allowed: Zone transfer allowed",
		"name-added old.example.com CNAME gone.example.net.",
		"baseline example.com 2 names, 1 records, 1 nameservers, 1 findings",
		"finding-opened ns1.example.com axfr-allowed: Zone transfer allowed",
	}
	if got := strings.Split(lines, "\n"); !slices.Equal(got, want) {
		t.Errorf("timeline:\n%s\nwant:\n%s", lines, strings.Join(want, "\n"))
	}
	resolved := eval("lifecycle", `(() => { const r = document.querySelector('#lifecycle tr[data-key="axfr-allowed ns1.example.com"]');
		return r.querySelector('td.state').textContent + ' ' + r.querySelector('td.resolved').textContent; })()`)
	if resolved != "resolved 2024-03-01 06:00:00Z" {
		t.Errorf("AXFR's lifecycle: %q", resolved)
	}
	shot, err = chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err == nil {
		browsertest.SaveScreenshot(t, "ui-watch-timeline.png", shot)
	}

	// The diff of the two scans that saw something.
	eval("diff", `document.getElementById('diff-form').requestSubmit(); ''`)
	waitFor(tab, t, "the diff", `document.querySelectorAll('#diff-body ul').length > 0`, 30*time.Second)
	diff := eval("diff body", `[...document.querySelectorAll('#diff-body ul')].map(u => u.dataset.part + ': ' + [...u.children].map(li => li.textContent).join(', ')).join('\n')`)
	wantDiff := "Names that appeared: old.example.com\nRecords added: old.example.com CNAME gone.example.net.\n" +
		"Findings opened: medium dangling-cname: old.example.com\nFindings resolved: high axfr-allowed: ns1.example.com"
	if diff != wantDiff {
		t.Errorf("diff:\n%s\nwant:\n%s", diff, wantDiff)
	}
	if p := console.Problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// TestWatchUIManagesDomains: the Watch page adds domains to a running
// watch (a Unicode name stored as its A-label, with an interval) and stops
// watching one added through the API; a configured domain has no button.
func TestWatchUIManagesDomains(t *testing.T) {
	tab := browsertest.Start(t, 2*time.Minute)
	fw := &managedWatch{config: []string{"example.com"}}
	e := newEnv(t, func(o *Options) { o.Watch = fw })
	console := browsertest.RecordConsole(tab)
	eval := evaluator(t, tab)
	if err := chromedp.Do(tab, chromedp.Navigate(e.url+"/#/watch")); err != nil {
		t.Fatal(err)
	}
	rows := `[...document.querySelectorAll('#inventory tbody tr')].map(r => r.dataset.domain + '=' +
		r.querySelector('td.source').firstChild.textContent + (r.querySelector('button.unwatch') ? '+stop' : '')).sort().join(' ')`
	waitFor(tab, t, "the configured domain", `document.querySelectorAll('#inventory tbody tr').length === 1`, 30*time.Second)
	if got, want := eval("rows", rows), "example.com=config"; got != want {
		t.Errorf("rows %q, want %q", got, want)
	}
	eval("add", `document.getElementById('watch-add-domains').value = 'Bücher.example.org, https://www.example.net/x';
		document.getElementById('watch-add-every').value = '2h';
		document.getElementById('watch-add').requestSubmit(); ''`)
	waitFor(tab, t, "the added domains", `document.querySelectorAll('#inventory tbody tr').length === 3`, 30*time.Second)
	if got, want := eval("rows", rows), "example.com=config www.example.net=api+stop xn--bcher-kva.example.org=api+stop"; got != want {
		t.Errorf("rows after adding %q, want %q", got, want)
	}
	if got := eval("status", `document.getElementById('watch-add-status').textContent`); got != "xn--bcher-kva.example.org: added, www.example.net: added." {
		t.Errorf("status after adding %q", got)
	}
	eval("stop", `document.querySelector('button.unwatch[data-domain="www.example.net"]').click(); ''`)
	waitFor(tab, t, "the removal", `document.querySelectorAll('#inventory tbody tr').length === 2`, 30*time.Second)
	if got, want := eval("rows", rows), "example.com=config xn--bcher-kva.example.org=api+stop"; got != want {
		t.Errorf("rows after removal %q, want %q", got, want)
	}
	list, err := store.WatchedOf(e.db)
	if err != nil {
		t.Fatal(err)
	}
	got, err := list.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Domain != "xn--bcher-kva.example.org" || got[0].Every != 2*time.Hour {
		t.Errorf("stored list %+v, want xn--bcher-kva.example.org every 2h", got)
	}
	if fw.woken() != 2 {
		t.Errorf("watch woken %d times, want 2 (one add, one removal)", fw.woken())
	}
	if p := console.Problems(); len(p) > 0 {
		t.Errorf("console: %v", p)
	}
	// A bad name: the error is shown (the browser logs the 400 itself)
	// and nothing changes.
	eval("bad", `document.getElementById('watch-add-domains').value = 'exa_mple..org';
		document.getElementById('watch-add-every').value = '';
		document.getElementById('watch-add').requestSubmit(); ''`)
	waitFor(tab, t, "the error", `document.getElementById('watch-add-status').className === 'error'`, 30*time.Second)
	if got := eval("error", `document.getElementById('watch-add-status').textContent`); !strings.HasPrefix(got, "Cannot add: ") {
		t.Errorf("status after a bad name %q", got)
	}
	if got, want := eval("rows", rows), "example.com=config xn--bcher-kva.example.org=api+stop"; got != want {
		t.Errorf("rows after a bad name %q, want %q", got, want)
	}
	shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err == nil {
		browsertest.SaveScreenshot(t, "ui-watch-manage.png", shot)
	}
}

// evaluator returns a function that runs js in tab and returns its string
// result, failing t (with what) when it cannot.
func evaluator(t *testing.T, tab context.Context) func(what, js string) string {
	return func(what, js string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}
}
