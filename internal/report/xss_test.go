package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// payloads are DNS strings an attacker controls (TXT data, CHAOS answers,
// names from AXFR of a hostile zone) that try to break out of each context
// the report puts them in.
var payloads = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(2)>`,
	`'><svg onload=alert(3)>`,
	`</title><script>alert(4)</script>`,
	`</style><script>alert(5)</script>`,
	`</script><script>alert(6)</script>`,
	`javascript:alert(7)`,
	`<a href="javascript:alert(8)">x</a>`,
	`]]><script>alert(9)</script>`,
	"<!-- --><iframe src=//example.net>",
	"\x00\x1b\u202e<b>",
}

// hostile puts every payload into every string field a report shows.
func hostile() *scan.Report {
	r := second()
	for i, p := range payloads {
		name := p + ".example.net"
		r.Names = append(r.Names, recon.Name{Name: name, Addresses: []string{"198.51.100.9", p}, Sources: []string{p}})
		r.Records = append(r.Records, recon.Record{Name: name, Type: p, TTL: uint32(i), Data: p, Source: p})
		r.Wildcards = append(r.Wildcards, recon.Wildcard{Name: "*." + name, Type: "A", Data: []string{p}})
		r.Nameservers = append(r.Nameservers, recon.Nameserver{Name: name, Zone: p, Sources: []string{p}, Addresses: []string{p},
			Servers: []recon.Server{{Address: p, AXFR: p, IXFR: p, Version: p, VersionServer: p, Hostname: p, ID: p, NSID: p, Error: p}}})
		r.Records = append(r.Records, recon.Record{Name: "example.net", Type: "MX", Data: "10 " + p})
		r.Findings = append(r.Findings, finding.Finding{ID: p, Severity: finding.Severity(i % 5), Title: p, Subject: name,
			Evidence: []string{p}, Remediation: p, References: []string{p}, Change: p})
		r.Zones = append(r.Zones, recon.Zone{Name: p, ParentNS: []string{p}, SOA: p, Denial: p})
		r.References = append(r.References, recon.Reference{Name: p, From: p, Via: p})
		// Address intelligence and passive DNS: AS names, historic records
		// and source errors come from third parties.
		addr := fmt.Sprintf("198.51.100.%d", 100+i)
		r.Names = append(r.Names, recon.Name{Name: "as" + strconv.Itoa(i) + ".example.net", Addresses: []string{addr}, Sources: []string{recon.SourcePassive},
			PassiveSources: []string{p}, FirstSeen: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), LastSeen: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		r.Addresses = append(r.Addresses,
			recon.AddressInfo{Address: addr, Prefix: addr + "/32", ASN: uint32(64500 + i), ASName: p, Country: p, IntelSources: []string{p}},
			recon.AddressInfo{Address: p, Prefix: p, ASName: p})
		r.Historic = append(r.Historic, recon.HistoricName{Name: name, Kind: p, Target: p, Sources: []string{p}, Records: []string{p, "TXT " + p}})
		r.PassiveSources = append(r.PassiveSources, recon.PassiveStatus{Source: p, Error: p})
	}
	r.NSEC3 = recon.NSEC3Info{Zone: payloads[0], Salt: payloads[1], Hashes: 1}
	return r
}

// checkHTMLSafe fails unless the page has exactly the report's own script
// and style, no element that loads or runs anything, and a CSP whose hashes
// match them.
func checkHTMLSafe(t testing.TB, page []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	scripts, styles := 0, 0
	var scriptText, styleText, csp string
	var inScript, inStyle bool
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("tokenizer: %v", z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			switch tok.Data {
			case "script":
				scripts++
				inScript = true
			case "style":
				styles++
				inStyle = true
			case "img", "iframe", "object", "embed", "image", "foreignobject", "base", "form", "video", "audio", "source":
				t.Fatalf("element <%s> in the report", tok.Data)
			}
			for _, a := range tok.Attr {
				k := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(k, "on"):
					t.Fatalf("event handler %s=%q on <%s>", a.Key, a.Val, tok.Data)
				case k == "src" || k == "srcset" || k == "xlink:href" || k == "style" || k == "action" || k == "formaction":
					t.Fatalf("attribute %s=%q on <%s>", a.Key, a.Val, tok.Data)
				case k == "href" && !(strings.HasPrefix(a.Val, "#") || a.Val == "data:,"):
					t.Fatalf("link to %q on <%s>", a.Val, tok.Data)
				case k == "http-equiv" && strings.EqualFold(a.Val, "refresh"):
					t.Fatal("meta refresh in the report")
				}
				if tok.Data == "meta" && k == "content" && strings.Contains(a.Val, "default-src") {
					csp = a.Val
				}
			}
		case html.TextToken:
			if inScript {
				scriptText += tok.Data
			}
			if inStyle {
				styleText += tok.Data
			}
		case html.EndTagToken:
			inScript, inStyle = false, false
		}
	}
	if scripts != 1 || styles != 1 {
		t.Fatalf("%d scripts and %d styles, want exactly the report's own", scripts, styles)
	}
	if scriptText != reportJS || styleText != reportCSS {
		t.Fatal("the script or style element holds something other than the report's own code")
	}
	for _, body := range []string{scriptText, styleText} {
		sum := sha256.Sum256([]byte(body))
		if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
			t.Fatalf("CSP %q does not allow the inline code by hash", csp)
		}
	}
	if !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q does not default to none", csp)
	}
}

func TestXSS(t *testing.T) {
	r := hostile()
	page := render(t, "html", []*scan.Report{r, loadSample(t)}, Options{Title: payloads[0], Version: payloads[1]})
	checkHTMLSafe(t, page)
	// The payloads are shown, as text.
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode && (n.Parent == nil || n.Parent.Data != "script" && n.Parent.Data != "style") {
			text.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, p := range payloads[:10] {
		if !strings.Contains(text.String(), p) {
			t.Errorf("payload %q is not shown as text", p)
		}
	}
	// In particular in the sections fed by address intelligence and
	// passive DNS: AS names, historic records, source errors.
	for _, id := range []string{"d0-networks-t", "d0-historic-t", "d0-passive"} {
		sec := textOf(findID(doc, id))
		if sec == "" {
			t.Fatalf("section %s missing", id)
		}
		for _, p := range payloads[:10] {
			if !strings.Contains(sec, p) {
				t.Errorf("payload %q is not shown as text in %s", p, id)
			}
		}
	}
	// The map alone is well-formed XML even with hostile names.
	var svg bytes.Buffer
	if _, err := writeMapSVG(&svg, r, Options{}); err != nil {
		t.Fatal(err)
	}
	checkXML(t, svg.Bytes())
}

// findID returns the element with the id, or nil.
func findID(n *html.Node, id string) *html.Node {
	if n.Type == html.ElementNode {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				return n
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findID(c, id); f != nil {
			return f
		}
	}
	return nil
}

// textOf is the text content of n.
func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}

// TestHostileTextFormats: in the table and Markdown, hostile AS names,
// historic records and passive errors cannot drive the terminal or become
// markup.
func TestHostileTextFormats(t *testing.T) {
	r := hostile()
	table := string(render(t, "table", []*scan.Report{r}, Options{}))
	for _, bad := range []string{"\x00", "\x1b", "\u202e"} {
		if strings.Contains(table, bad) {
			t.Errorf("table output carries %q", bad)
		}
	}
	for _, want := range []string{"NETWORKS", "SEEN BEFORE, GONE NOW", `\x00\x1b\u202e<b>`} {
		if !strings.Contains(table, want) {
			t.Errorf("table output lacks %q", want)
		}
	}
	md := string(render(t, "md", []*scan.Report{r}, Options{}))
	for _, line := range strings.Split(md, "\n") {
		for _, tag := range []string{"<script>", "<img", "<svg", "<iframe", "<b>"} {
			for off := 0; ; {
				j := strings.Index(line[off:], tag)
				if j < 0 {
					break
				}
				i := off + j
				off = i + 1
				// Escaped (\<) or inside a code span is safe.
				if (i == 0 || line[i-1] != '\\') && strings.Count(strings.ReplaceAll(line[:i], "\\`", ""), "`")%2 == 0 {
					t.Fatalf("raw %s outside a code span: %s", tag, line)
				}
			}
		}
	}
	if !strings.Contains(md, "### Networks") || !strings.Contains(md, "### Seen before, gone now") || !strings.Contains(md, "**Passive sources:**") {
		t.Error("markdown lacks the networks, historic or passive sections")
	}
}

func checkXML(t testing.TB, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
}

// FuzzHTML puts arbitrary strings where DNS data goes and checks that the
// report stays free of foreign markup and the map stays valid XML.
//
//	go test ./internal/report -run '^$' -fuzz FuzzHTML -fuzztime 20s
func FuzzHTML(f *testing.F) {
	for _, p := range payloads {
		f.Add(p, p)
	}
	seedFromTestdata(f)
	f.Fuzz(func(t *testing.T, name, data string) {
		r := second()
		r.Names = append(r.Names, recon.Name{Name: name, Addresses: []string{data, "198.51.100.7"}, Sources: []string{data}})
		r.Records = append(r.Records, recon.Record{Name: name, Type: "TXT", Data: data}, recon.Record{Name: "example.net", Type: "MX", Data: data})
		r.Findings = append(r.Findings, finding.Finding{ID: data, Title: name, Subject: name + " " + data, Evidence: []string{data}, Remediation: data})
		r.Nameservers = append(r.Nameservers, recon.Nameserver{Name: name, Addresses: []string{data}, Servers: []recon.Server{{Address: data, Version: name}}})
		r.Addresses = append(r.Addresses, recon.AddressInfo{Address: "198.51.100.7", Prefix: data, ASN: 64500, ASName: name, Country: data},
			recon.AddressInfo{Address: data, Prefix: name, ASName: data})
		r.Historic = append(r.Historic, recon.HistoricName{Name: name, Kind: data, Target: data, Sources: []string{name}, Records: []string{data}})
		r.PassiveSources = append(r.PassiveSources, recon.PassiveStatus{Source: name, Error: data})
		r.Names[len(r.Names)-1].PassiveSources = []string{name}
		var buf bytes.Buffer
		if err := Write(&buf, "html", []*scan.Report{r}, Options{}); err != nil {
			t.Fatal(err)
		}
		checkHTMLSafe(t, buf.Bytes())
		var svg bytes.Buffer
		if _, err := writeMapSVG(&svg, r, Options{}); err != nil {
			t.Fatal(err)
		}
		checkXML(t, svg.Bytes())
	})
}
