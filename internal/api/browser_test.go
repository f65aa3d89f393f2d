package api

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dnsscout/dnsscout/internal/browsertest"
	"github.com/dnsscout/dnsscout/internal/demo"
	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/dnsscout/dnsscout/internal/scan"
	"github.com/dnsscout/dnsscout/internal/store"
)

// The web UI in headless Chromium: search, sort, filter, timeline, pivot,
// the recon page against the in-process demo world (127.53.0.0/24), no
// console errors, screenshots (copied to $DNSSCOUT_SCREENSHOTS when set).

// waitFor polls a JavaScript condition.
func waitFor(ctx context.Context, t *testing.T, what, js string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('status')||{}).textContent + ' | ' + (document.getElementById('recon-status')||{}).textContent`))
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState + ' ' + location.href + ': ' + (document.body ? document.body.innerText.slice(0, 400) : '(no body)')`))
			t.Fatalf("waiting for %s: %v (page status: %s; page %q)", what, err, status, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestUIInChromium(t *testing.T) {
	tab := browsertest.Start(t, 6*time.Minute)
	ctx := context.Background()
	world, err := demo.Start(ctx)
	if err != nil {
		t.Fatalf("demo world: %v", err)
	}
	t.Cleanup(world.Close)
	res, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{world.Resolver}, Concurrency: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	e := newEnv(t, func(o *Options) {
		o.Recon = &ReconConfig{Exchanger: res, Options: scan.Options{Recon: recon.Options{NameserverPort: world.Port, Concurrency: 64}}, Timeout: 4 * time.Minute}
	})
	tok := e.addKey(keys.Spec{Name: "browser"})
	console := browsertest.RecordConsole(tab)
	run := func(what string, js string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Evaluate[any](js)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	if err := chromedp.Do(tab, chromedp.Navigate(e.url+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor(tab, t, "the page", `document.body.dataset.ready === "1"`, 30*time.Second)
	// Keys exist: the page asks for one.
	waitFor(tab, t, "the key box", `!document.getElementById('keybox').hidden`, 10*time.Second)
	run("key", `document.getElementById('apikey').value = `+jsString(tok)+`; document.getElementById('keybox').requestSubmit();`)

	// Search a wildcard.
	run("search", `document.getElementById('q').value = '*.example.com'; document.getElementById('search-form').requestSubmit();`)
	want := e.lookup(store.Query{Kind: store.KindRRSet, Name: "example.com", Wildcard: store.WildLeft})
	waitFor(tab, t, "results", fmt.Sprintf(`document.querySelectorAll('#results tbody tr').length === %d`, len(want)), 30*time.Second)
	names, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#results tbody td.rrname a:first-child')].map(a => a.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	wantNames := map[string]int{}
	for _, w := range want {
		wantNames[w.RRName]++
	}
	for _, n := range names {
		wantNames[n]--
	}
	for n, c := range wantNames {
		if c != 0 {
			t.Errorf("the table shows %s %d times too few", n, c)
		}
	}
	// Timelines are drawn.
	bars, err := chromedp.Run(tab, chromedp.Evaluate[int](`[...document.querySelectorAll('#results .bar')].filter(b => b.style.width !== '').length`))
	if err != nil || bars != len(want) {
		t.Errorf("%d timeline bars (%v), want %d", bars, err, len(want))
	}
	// Sort by count, descending: the first row has the largest count.
	maxCount := uint64(0)
	for _, w := range want {
		maxCount = max(maxCount, w.Count)
	}
	run("sort", `document.querySelector('#results th[data-key="count"]').click();`)
	first, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('#results tbody tr td.num').textContent`))
	if err != nil || first != fmt.Sprint(maxCount) {
		t.Errorf("after sorting by count the first count is %q (%v), want %d", first, err, maxCount)
	}
	// The type filter.
	nA := 0
	for _, w := range want {
		if w.RRType == 1 {
			nA++
		}
	}
	run("filter", `const s = document.getElementById('typefilter'); s.value = 'A'; s.dispatchEvent(new Event('change'));`)
	shown, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('#results tbody tr').length`))
	if err != nil || shown != nA {
		t.Errorf("type filter A shows %d rows (%v), want %d", shown, err, nA)
	}
	shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "ui-search.png", shot)

	// Pivot: click the address of www.example.com's A record.
	run("pivot", `[...document.querySelectorAll('#results td.rdata a')].find(a => a.textContent === '192.0.2.1').click();`)
	wantIP := e.lookup(ipq(t, "192.0.2.1", 0))
	waitFor(tab, t, "the pivot", fmt.Sprintf(`location.hash.includes('q=192.0.2.1') && document.getElementById('status').textContent.includes('192.0.2.1') && document.querySelectorAll('#results tbody tr').length === %d`, len(wantIP)), 30*time.Second)
	// Pivot on a name in rdata: the CNAME target.
	run("back", `document.getElementById('side').value = 'rrset'; document.getElementById('q').value = 'ftp.example.com'; document.getElementById('search-form').requestSubmit();`)
	waitFor(tab, t, "ftp", `[...document.querySelectorAll('#results td.rdata a')].some(a => a.textContent === 'www.example.com.')`, 30*time.Second)
	run("pivot name", `[...document.querySelectorAll('#results td.rdata a')].find(a => a.textContent === 'www.example.com.').click();`)
	wantWWW := e.lookup(store.Query{Kind: store.KindRRSet, Name: "www.example.com"})
	waitFor(tab, t, "the name pivot", fmt.Sprintf(`location.hash.includes('q=www.example.com') && document.querySelectorAll('#results tbody tr').length === %d`, len(wantWWW)), 30*time.Second)
	// And "who points here" from an owner name.
	run("who points", `document.querySelector('#results td.rrname a.back').click();`)
	wantBack := e.lookup(store.Query{Kind: store.KindRDataName, Name: "www.example.com"})
	waitFor(tab, t, "the rdata pivot", fmt.Sprintf(`location.hash.includes('side=rdata') && document.querySelectorAll('#results tbody tr').length === %d`, len(wantBack)), 30*time.Second)

	// The recon page against the demo world.
	run("recon", `location.hash = '#/recon'`)
	waitFor(tab, t, "the recon page", `!document.getElementById('page-recon').hidden`, 10*time.Second)
	run("recon run", `document.getElementById('domain').value = 'example.com'; document.getElementById('recon-form').requestSubmit();`)
	waitFor(tab, t, "recon findings", `!document.getElementById('findings').hidden && document.querySelectorAll('#findings tbody tr').length > 0`, 4*time.Minute)
	waitFor(tab, t, "the report frame", `(() => { const f = document.getElementById('report'); return !f.hidden && f.src.includes('/report.html'); })()`, 10*time.Second)
	axfr, err := chromedp.Run(tab, chromedp.Evaluate[bool](`[...document.querySelectorAll('#findings tbody tr')].some(r => r.textContent.includes('axfr-allowed') && r.textContent.includes('ns1.example.com'))`))
	if err != nil || !axfr {
		t.Errorf("no axfr-allowed finding about ns1.example.com (the demo's open zone transfer) on the recon page (%v)", err)
	}
	shot, err = chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "ui-recon.png", shot)
	src, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('report').src`))
	if err != nil {
		t.Fatal(err)
	}
	// The report loaded in its sandboxed frame: the browser fetched it,
	// and the frame shows more than a blank page. (The page cannot look
	// inside an opaque-origin frame, which runs in a process of its own.)
	deadline := time.Now().Add(30 * time.Second)
	for e.hits(strings.TrimPrefix(src, e.url)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the browser never fetched the report %s", src)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := chromedp.Run(tab, chromedp.Evaluate[any](`document.getElementById('report').scrollIntoView(); 1`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // let the frame paint its map
	shot, err = chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "ui-recon-report.png", shot)
	frame, err := chromedp.Run(tab, chromedp.Screenshot(chromedp.CSS("#report")))
	if err != nil {
		t.Fatal(err)
	}
	if n := colours(t, frame); n < 20 {
		t.Errorf("the report frame shows %d colours: blank?", n)
	}
	code, h, body := e.get(strings.TrimPrefix(src, e.url), nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "<svg") {
		t.Errorf("report %s: %d %s", src, code, h.Get("Content-Type"))
	}
	if p := console.Problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// colours counts the distinct colours of a PNG.
func colours(t *testing.T, b []byte) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			c0, c1, c2, c3 := img.At(x, y).RGBA()
			seen[[4]uint32{c0, c1, c2, c3}] = true
		}
	}
	return len(seen)
}

// jsString quotes s for JavaScript.
func jsString(s string) string { return string(appendJSONString(nil, s)) }
