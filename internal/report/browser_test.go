package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dnsscout/dnsscout/internal/browsertest"
	"github.com/dnsscout/dnsscout/internal/scan"
)

func writePage(t *testing.T, results []*scan.Report, opts Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, render(t, "html", results, opts), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// layoutCheck runs in the page: it measures every visible map node and
// text with the browser's real fonts and reports text that leaves its box
// or boxes that overlap. It returns "" when all is well.
const layoutCheck = `(() => {
  const problems = [];
  for (const svg of document.querySelectorAll('svg.dmap')) {
    const nodes = [...svg.querySelectorAll('g.node')].filter(g => g.getClientRects().length > 0);
    const boxes = [];
    for (const g of nodes) {
      const rect = g.querySelector(':scope > rect');
      const r = rect.getBoundingClientRect();
      boxes.push({r, label: g.textContent});
      for (const tx of g.querySelectorAll(':scope > text')) {
        const b = tx.getBoundingClientRect();
        if (b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5 || b.bottom > r.bottom + 0.5) {
          problems.push('text "' + tx.textContent + '" ' + JSON.stringify([b.left, b.right, b.top, b.bottom]) + ' leaves its box ' + JSON.stringify([r.left, r.right, r.top, r.bottom]));
        }
      }
    }
    boxes.sort((a, b) => a.r.top - b.r.top);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length && boxes[j].r.top < boxes[i].r.bottom - 0.01; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        if (a.left < b.right - 0.01 && b.left < a.right - 0.01) {
          problems.push('"' + boxes[i].label + '" overlaps "' + boxes[j].label + '"');
        }
      }
    }
  }
  return problems.slice(0, 10).join('\n');
})()`

func TestHTMLInChromium(t *testing.T) {
	tab := browsertest.Start(t, 3*time.Minute)
	r, _ := withBaseline(t)
	path := writePage(t, []*scan.Report{r}, Options{Version: "test"})
	console := browsertest.RecordConsole(tab)

	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate("file://"+path),
		chromedp.WaitVisible(chromedp.CSS("#d0-summary .fixfirst li")),
		chromedp.WaitVisible(chromedp.CSS("#d0-findings article.finding.sev-critical")),
		chromedp.WaitVisible(chromedp.CSS("#d0-mapsec svg.dmap")),
	)
	if err != nil {
		t.Fatalf("loading the report: %v", err)
	}
	// Nothing hostile ran: one script, no images, and the TXT record with
	// markup is text.
	safe, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.scripts.length === 1 && document.images.length === 0 &&
		[...document.querySelectorAll('td.data')].some(td => td.textContent.includes("<script>alert('txt')</script>"))`))
	if err != nil || !safe {
		t.Errorf("hostile TXT data: safe=%v err=%v", safe, err)
	}
	// The first item to fix is the critical finding, and its badge is on
	// the nameserver's map node.
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#d0-summary .fixfirst li').textContent`))
	if err != nil || !strings.Contains(first, "Zone transfer") {
		t.Errorf("first thing to fix = %q (%v), want the AXFR finding", first, err)
	}
	badge, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll('svg.dmap g.node.ns')].some(g =>
		g.textContent.includes('ns1.example.com') && g.querySelector('a.badge.sev-critical') && g.querySelector('a.badge').getClientRects().length > 0)`))
	if err != nil || !badge {
		t.Errorf("no visible critical badge on ns1.example.com in the map (%v)", err)
	}
	if p, err := chromedp.Run(ctx, chromedp.Evaluate[string](layoutCheck)); err != nil || p != "" {
		t.Errorf("map layout in the browser: %v\n%s", err, p)
	}
	// The tables filter and sort.
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		const input = document.querySelector('input.filter[data-table="d0-names-t"]');
		input.value = 'cdn'; input.dispatchEvent(new Event('input'));
		const n = [...document.querySelectorAll('#d0-names-t tbody tr')].filter(r => !r.hidden).length;
		input.value = ''; input.dispatchEvent(new Event('input'));
		document.querySelector('#d0-records-t th').click();
		return n; })()`))
	if err != nil || shown != 4 {
		t.Errorf("filtering names by cdn shows %d rows (%v), want 4", shown, err)
	}
	checkAddressIntelInChromium(t, ctx, r)
	top, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "report-top.png", top)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "report.png", png)
	map1, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("#d0-mapsec")))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "report-map.png", map1)
	if p := console.Problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// TestMapInChromium opens the map of 320 names, unfolds every group and
// checks with the browser's own fonts that no text leaves its box, no
// boxes overlap, and the script's relayout matches the Go layout.
func TestMapInChromium(t *testing.T) {
	tab := browsertest.Start(t, 3*time.Minute)
	r := bigResult(320)
	path := writePage(t, []*scan.Report{r}, Options{})
	m := buildMap(r, buildView(0, r, nil), Options{}.withDefaults())
	console := browsertest.RecordConsole(tab)
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("svg.dmap"))); err != nil {
		t.Fatal(err)
	}
	if p, err := chromedp.Run(ctx, chromedp.Evaluate[string](layoutCheck)); err != nil || p != "" {
		t.Errorf("folded map: %v\n%s", err, p)
	}
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(".mapsec")))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "map-320-folded.png", png)

	h, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('.maptools button[data-act="open"]').click(); parseFloat(document.querySelector('svg.dmap').getAttribute('height'))`))
	if err != nil {
		t.Fatal(err)
	}
	if d := h - m.HeightExpanded; d > 0.5 || d < -0.5 {
		t.Errorf("unfolded height in the browser %.1f, Go layout %.1f", h, m.HeightExpanded)
	}
	if p, err := chromedp.Run(ctx, chromedp.Evaluate[string](layoutCheck)); err != nil || p != "" {
		t.Errorf("unfolded map: %v\n%s", err, p)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('svg.dmap g.node.host')].filter(g => g.getClientRects().length === 0).length`))
	if err != nil || hidden != 0 {
		t.Errorf("%d host nodes still hidden after unfolding (%v)", hidden, err)
	}
	h2, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('.maptools button[data-act="close"]').click(); parseFloat(document.querySelector('svg.dmap').getAttribute('height'))`))
	if err != nil || h2 < m.Height-0.5 || h2 > m.Height+0.5 {
		t.Errorf("folded again: height %.1f (%v), Go layout %.1f", h2, err, m.Height)
	}
	if p := console.Problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// TestHostileHTMLInChromium opens a report of two domains whose every DNS
// string is a markup or script injection attempt: nothing may run, load
// or log an error, and the maps still work.
func TestHostileHTMLInChromium(t *testing.T) {
	tab := browsertest.Start(t, 3*time.Minute)
	path := writePage(t, []*scan.Report{hostile(), loadSample(t)}, Options{Title: payloads[0]})
	console := browsertest.RecordConsole(tab)
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("#d1-mapsec svg.dmap"))); err != nil {
		t.Fatal(err)
	}
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		document.querySelectorAll('.maptools button[data-act="open"]').forEach(b => b.click());
		return [document.scripts.length, document.images.length, document.querySelectorAll('iframe,object,embed,foreignObject').length,
			document.querySelectorAll('svg.dmap').length, document.title.includes('<script>'),
			document.documentElement.scrollWidth <= document.documentElement.clientWidth].join(' ');
	})()`))
	if err != nil || state != "1 0 0 2 true true" {
		t.Errorf("page state %q (%v), want 1 script, 0 images, 0 frames, 2 maps, title shown as text, no sideways scrolling", state, err)
	}
	if p, err := chromedp.Run(ctx, chromedp.Evaluate[string](layoutCheck)); err != nil || p != "" {
		t.Errorf("map layout: %v\n%s", err, p)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "hostile-top.png", png)
	if p := console.Problems(); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// checkAddressIntelInChromium checks, in the loaded sample report, the
// Networks section, the AS detail of the map's networks, the names with
// their AS and passive dates, the historic names and the passive sources,
// and keeps screenshots of the new sections.
func checkAddressIntelInChromium(t *testing.T, ctx context.Context, r *scan.Report) {
	t.Helper()
	v := buildView(0, r, r.Changes)
	// Networks: one row per network of the view, in the same order.
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#d0-networks-t tbody tr')].map(tr =>
		[...tr.cells].slice(0, 5).map(td => td.textContent.trim()).join('|'))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(v.Networks) {
		t.Fatalf("networks table has %d rows, the view %d", len(rows), len(v.Networks))
	}
	for i, n := range v.Networks {
		want := strings.Join([]string{n.Prefix, n.AS, n.ASName, n.Country, fmt.Sprint(len(n.Names))}, "|")
		if n.Fallback {
			want = strings.Replace(want, n.Prefix, n.Prefix+" no address data", 1)
		}
		if rows[i] != want {
			t.Errorf("networks row %d = %q, want %q", i, rows[i], want)
		}
	}
	// Filtering the networks by AS leaves the rows of that AS.
	wantAS := 0
	for _, n := range v.Networks {
		if n.AS == "AS64500" {
			wantAS++
		}
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		const input = document.querySelector('input.filter[data-table="d0-networks-t"]');
		input.value = 'AS64500'; input.dispatchEvent(new Event('input'));
		const n = [...document.querySelectorAll('#d0-networks-t tbody tr')].filter(r => !r.hidden).length;
		input.value = ''; input.dispatchEvent(new Event('input'));
		return n; })()`))
	if err != nil || wantAS == 0 || shown != wantAS {
		t.Errorf("filtering networks by AS64500 shows %d rows (%v), want %d", shown, err, wantAS)
	}
	// The map draws the same networks, with the AS as the detail line, and
	// the hostile AS name as text.
	detail, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const nets = [...document.querySelectorAll('#d0-map g.node.net')].map(g => [...g.querySelectorAll(':scope > text')].map(t => t.textContent).join('|'));
		return nets.includes('192.0.2.0/26|AS64500 EXAMPLE-HOSTING, NL') && nets.includes('198.51.100.48/28|AS64502 DNS-EXAMPLE & CO <ops>, DE') && nets.includes('10.20.30.0/24');
	})()`))
	if err != nil || !detail {
		t.Errorf("map networks lack their AS detail lines (%v)", err)
	}
	// Names show their addresses' AS and the passive first/last seen.
	www, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#d0-names-t tbody tr')].find(tr => tr.cells[0].textContent === 'www.example.com').textContent`))
	if err != nil || !strings.Contains(www, "192.0.2.10 (AS64500)") || !strings.Contains(www, "2019-03-01") || !strings.Contains(www, "passive (crtsh, store)") {
		t.Errorf("www row %q (%v), want its AS, passive sources and first seen", www, err)
	}
	// Historic names link to their findings; the failed passive source is marked.
	hist, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#d0-historic-t tbody tr')].map(tr => {
		const a = tr.querySelector('a.sev');
		const target = a ? document.querySelector(a.getAttribute('href')) : null;
		return tr.cells[0].textContent + '>' + (target ? target.querySelector('.fid').textContent + ':' + target.className : 'none');
	}).join(' ')`))
	if err != nil || hist != "legacy-app.example.com>historic-dangling:finding sev-low shop.example.com>historic-dangling:finding sev-high" {
		t.Errorf("historic rows %q (%v)", hist, err)
	}
	failed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#d0-passive tr.bad td')].map(td => td.textContent).join('|')`))
	if err != nil || !strings.HasPrefix(failed, "circl:") || !strings.Contains(failed, "quota exceeded") {
		t.Errorf("failed passive source row %q (%v)", failed, err)
	}
	for _, sec := range []string{"networks", "historic", "passive"} {
		png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("#d0-"+sec)))
		if err != nil {
			t.Fatal(err)
		}
		browsertest.SaveScreenshot(t, "report-"+sec+".png", png)
	}
}
