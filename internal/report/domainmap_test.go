package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// bigResult is a domain with n names spread the way real zones are: a big
// web farm in one /24, dual-stack hosts, many IPv6 /48s, names without
// addresses, hosts with many addresses, long and Unicode names, and
// findings on some of them.
func bigResult(n int) *scan.Report {
	r := &scan.Report{Result: &recon.Result{Domain: "example.com"}}
	r.Nameservers = []recon.Nameserver{
		{Name: "ns1.example.com", Zone: "example.com", Addresses: []string{"192.0.2.1", "2001:db8::1"}, Resolves: true,
			Servers: []recon.Server{{Address: "192.0.2.1", Responding: true, Authoritative: true, AXFR: "allowed"}}},
		{Name: "ns2.example.com", Zone: "example.com", Addresses: []string{"192.0.2.2"}, Resolves: true},
		{Name: "ns1.example.net", Zone: "example.com", Addresses: []string{"198.51.100.53"}, Resolves: true},
		{Name: "ns-lame.example.org", Zone: "example.com", Resolves: false, Error: "NXDOMAIN"},
	}
	r.Records = append(r.Records,
		recon.Record{Name: "example.com", Type: "MX", Data: "10 mx1.example.com."},
		recon.Record{Name: "example.com", Type: "MX", Data: "20 mx2.example.com."},
		recon.Record{Name: "example.com", Type: "MX", Data: "30 mx.example.net."},
	)
	r.Names = append(r.Names,
		recon.Name{Name: "mx1.example.com", Addresses: []string{"192.0.2.25"}},
		recon.Name{Name: "mx2.example.com", Addresses: []string{"198.51.100.25"}},
	)
	for i := 0; len(r.Names) < n; i++ {
		var name string
		var addrs []string
		switch k := i % 10; {
		case k < 4: // web farm
			name = fmt.Sprintf("web%d.example.com", i)
			addrs = []string{fmt.Sprintf("192.0.2.%d", 10+i%240)}
		case k < 6: // dual stack
			name = fmt.Sprintf("app%d.example.com", i)
			addrs = []string{fmt.Sprintf("198.51.100.%d", 10+i%240), fmt.Sprintf("2001:db8:1::%x", i)}
		case k < 8: // IPv6 across many /48s
			name = fmt.Sprintf("v6-%d.example.com", i)
			addrs = []string{fmt.Sprintf("2001:db8:%x::%x", 16+i%40, i)}
		case k == 8:
			name = fmt.Sprintf("_svc%d._tcp.example.com", i)
		default:
			if i%20 == 9 {
				name = fmt.Sprintf("a-rather-long-host-name-that-goes-on-and-on-and-on-%d.department.example.com", i)
			} else {
				name = fmt.Sprintf("xn--caf-dma%d.example.com", i)
			}
			addrs = []string{fmt.Sprintf("203.0.113.%d", i%250), fmt.Sprintf("203.0.113.%d", (i+1)%250), fmt.Sprintf("203.0.113.%d", (i+2)%250),
				fmt.Sprintf("203.0.113.%d", (i+3)%250), fmt.Sprintf("203.0.113.%d", (i+4)%250), fmt.Sprintf("2001:db8:ff::%x", i)}
		}
		r.Names = append(r.Names, recon.Name{Name: name, Addresses: addrs, Sources: []string{"bruteforce"}})
	}
	r.Wildcards = []recon.Wildcard{{Name: "*.example.com", Type: "A", Data: []string{"192.0.2.99"}}}
	// Address intelligence covers the web farm (two announced halves, a
	// long AS name) and part of IPv6; the rest falls back to /24 and /48.
	for i := 0; i < 256; i++ {
		half, asName := "192.0.2.0/25", "EXAMPLE-HOSTING-INTERNATIONAL-CLOUD-AND-COLOCATION-SERVICES"
		if i >= 128 {
			half, asName = "192.0.2.128/25", "EXAMPLE-NET"
		}
		r.Addresses = append(r.Addresses, recon.AddressInfo{Address: fmt.Sprintf("192.0.2.%d", i), Prefix: half, ASN: 64500, ASName: asName, Country: "NL"})
	}
	for i := 0; i < 40; i += 2 {
		r.Addresses = append(r.Addresses, recon.AddressInfo{Address: fmt.Sprintf("2001:db8:%x::1", 16+i), Prefix: fmt.Sprintf("2001:db8:%x::/48", 16+i), ASN: 64510, Country: "DE"})
	}
	r.Findings = []finding.Finding{
		{ID: "axfr-allowed", Severity: finding.Critical, Title: "AXFR allowed", Subject: "ns1.example.com (192.0.2.1)"},
		{ID: "private-address-leak", Severity: finding.High, Title: "Private address", Subject: "web0.example.com"},
		{ID: "wildcard", Severity: finding.Medium, Title: "Wildcard", Subject: "*.example.com"},
		{ID: "dangling-ns", Severity: finding.Medium, Title: "Dangling NS", Subject: "ns-lame.example.org"},
		{ID: "spf-missing", Severity: finding.Low, Title: "No SPF", Subject: "example.com"},
		{ID: "open-resolver", Severity: finding.High, Title: "Open resolver", Subject: "198.51.100.53:53"},
	}
	return r
}

// checkNoOverlap fails when two boxes intersect.
func checkNoOverlap(t *testing.T, what string, bs []box) {
	t.Helper()
	slices.SortFunc(bs, func(a, b box) int {
		if a.Y != b.Y {
			if a.Y < b.Y {
				return -1
			}
			return 1
		}
		return 0
	})
	for i := range bs {
		for j := i + 1; j < len(bs) && bs[j].Y < bs[i].Y+bs[i].H; j++ {
			if bs[i].overlaps(bs[j]) {
				t.Fatalf("%s: %q %+v overlaps %q %+v", what, bs[i].Label, bs[i], bs[j].Label, bs[j])
			}
		}
	}
}

func TestMapAt300Names(t *testing.T) {
	for _, n := range []int{1, 10, 320, 1000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			r := bigResult(n)
			var svg bytes.Buffer
			m, err := writeMapSVG(&svg, r, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkXML(t, svg.Bytes())
			closed, open := m.boxes(false), m.boxes(true)
			checkNoOverlap(t, "closed", closed)
			checkNoOverlap(t, "open", open)

			// The drawn SVG agrees with the layout: the same node rectangles,
			// none overlapping, every text inside its rectangle.
			rects, texts := svgGeometry(t, svg.Bytes())
			if len(rects) != len(closed) {
				t.Fatalf("SVG shows %d node rectangles, layout has %d", len(rects), len(closed))
			}
			checkNoOverlap(t, "drawn", rects)
			for _, tx := range texts {
				inside := false
				for _, rc := range rects {
					if tx.X >= rc.X-0.01 && tx.X+tx.W <= rc.X+rc.W+0.01 && tx.Y >= rc.Y-0.01 && tx.Y+tx.H <= rc.Y+rc.H+0.01 {
						inside = true
						break
					}
				}
				if !inside {
					t.Fatalf("text %q at %+v is not inside any node", tx.Label, tx)
				}
			}

			t.Logf("%d names: %.0f x %.0f px folded, %.0f px tall unfolded, %d bytes of SVG", n, m.Width, m.Height, m.HeightExpanded, svg.Len())
			// Sane size, whatever the number of names.
			if m.Width > 1400 {
				t.Errorf("map is %.0f px wide", m.Width)
			}
			if m.Height > 5000 {
				t.Errorf("map is %.0f px tall with groups folded", m.Height)
			}
			if svg.Len() > 2<<20 {
				t.Errorf("map SVG is %d bytes", svg.Len())
			}
			if m.HeightExpanded < m.Height {
				t.Errorf("open height %.0f below closed height %.0f", m.HeightExpanded, m.Height)
			}

			// Every name is on the map, open or folded.
			if m.Hosts < len(r.Names) {
				t.Errorf("map has %d host nodes for %d names", m.Hosts, len(r.Names))
			}
			for _, nm := range r.Names {
				if !bytes.Contains(svg.Bytes(), []byte(nm.Name)) {
					t.Fatalf("name %s missing from the map", nm.Name)
				}
			}
			// Findings are marked on the right nodes.
			for subject, class := range map[string]string{"ns1.example.com": "sev-critical", "web0.example.com": "sev-high", "*.example.com": "sev-medium", "ns-lame.example.org": "sev-medium"} {
				if n >= 10 || subject != "web0.example.com" {
					if !nodeHasBadge(m, subject, class) {
						t.Errorf("node %s has no %s badge", subject, class)
					}
				}
			}
			if m.Domain.Badge == nil || !strings.Contains(m.Domain.Badge.Title, "spf-missing") {
				t.Errorf("domain badge %+v, want the spf finding on it", m.Domain.Badge)
			}
			if web0 := n >= 10; web0 == strings.Contains(m.Domain.Badge.Title, "private-address-leak") {
				t.Errorf("domain badge %q: a finding on web0 belongs on the domain only when web0 is not drawn", m.Domain.Badge.Title)
			}
		})
	}
}

func nodeHasBadge(m *mapLayout, label, class string) bool {
	for _, b := range m.Bands {
		for _, g := range b.Groups {
			for _, r := range append(slices.Clone(g.Rows), g.More...) {
				if r.Host.Lines[0] == label && r.Host.Badge != nil && "sev-"+r.Host.Badge.Class == class {
					return true
				}
			}
		}
	}
	return false
}

// svgGeometry walks the SVG as a browser would lay it out with every group
// folded: it applies translate() transforms, skips display="none" subtrees,
// and returns the node rectangles and the estimated text boxes.
func svgGeometry(t *testing.T, b []byte) (rects, texts []box) {
	t.Helper()
	type frame struct {
		dx, dy float64
		hidden bool
		node   bool
	}
	stack := []frame{{}}
	d := xml.NewDecoder(bytes.NewReader(b))
	var inText *box
	var textDepth int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			top := stack[len(stack)-1]
			f := frame{dx: top.dx, dy: top.dy, hidden: top.hidden}
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			if tr := attr["transform"]; tr != "" {
				var x, y float64
				if _, err := fmt.Sscanf(tr, "translate(%g,%g)", &x, &y); err != nil {
					t.Fatalf("unexpected transform %q", tr)
				}
				f.dx += x
				f.dy += y
			}
			if attr["display"] == "none" {
				f.hidden = true
			}
			f.node = el.Name.Local == "g" && strings.HasPrefix(attr["class"], "node")
			parent := top
			stack = append(stack, f)
			if f.hidden {
				continue
			}
			num := func(k string) float64 { v, _ := strconv.ParseFloat(attr[k], 64); return v }
			switch el.Name.Local {
			case "rect":
				if parent.node {
					rects = append(rects, box{X: num("x") + f.dx, Y: num("y") + f.dy, W: num("width"), H: num("height")})
				}
			case "text":
				if attr["text-anchor"] == "middle" { // badge digits sit in their circle
					continue
				}
				inText = &box{X: num("x") + f.dx, Y: num("y") + f.dy - 10, H: 12}
				textDepth = len(stack)
			}
		case xml.CharData:
			if inText != nil {
				inText.Label += string(el)
			}
		case xml.EndElement:
			if inText != nil && len(stack) == textDepth {
				inText.W = textWidth(inText.Label)
				if strings.HasPrefix(inText.Label, "NEW") || inText.Label == "CHG" || inText.Label == "GONE" {
					inText.W = textWidth(inText.Label) * 10 / mapFontSize
				}
				texts = append(texts, *inText)
				inText = nil
			}
			stack = stack[:len(stack)-1]
		}
	}
	return rects, texts
}

func TestSubjectTokens(t *testing.T) {
	tests := []struct {
		in    string
		names []string
		addrs []string
	}{
		{"ns1.example.com 192.0.2.1", []string{"ns1.example.com"}, []string{"192.0.2.1"}},
		{"ns1.example.com (192.0.2.1)", []string{"ns1.example.com"}, []string{"192.0.2.1"}},
		{"NS1.Example.COM./[2001:DB8::1]:53", []string{"ns1.example.com"}, []string{"2001:db8::1"}},
		{"192.0.2.1:53", nil, []string{"192.0.2.1"}},
		{"*.dev.example.com", []string{"*.dev.example.com"}, nil},
		{"_ldap._tcp.example.com", []string{"_ldap._tcp.example.com"}, nil},
		{"bücher.example.com", []string{"xn--bcher-kva.example.com"}, nil},
		{"example.com", []string{"example.com"}, nil},
		{"nothing here", nil, nil},
		{"::ffff:192.0.2.1", nil, []string{"192.0.2.1"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			names, addrs := subjectTokens(tc.in)
			var as []string
			for _, a := range addrs {
				as = append(as, a.String())
			}
			if !slices.Equal(names, tc.names) || !slices.Equal(as, tc.addrs) {
				t.Errorf("subjectTokens(%q) = %v %v, want %v %v", tc.in, names, as, tc.names, tc.addrs)
			}
		})
	}
}

func TestCutMiddle(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short.example.com", 40, "short.example.com"},
		{"abcdefghij", 5, "ab…ij"},
		{"例え例え例え.example.com", 10, "例え例え例….com"},
	}
	for _, tc := range tests {
		got, cut := cutMiddle(tc.in, tc.limit)
		if got != tc.want || cut != (got != tc.in) {
			t.Errorf("cutMiddle(%q, %d) = %q %v, want %q", tc.in, tc.limit, got, cut, tc.want)
		}
		if n := len([]rune(got)); n > tc.limit {
			t.Errorf("cutMiddle(%q) has %d runes, limit %d", tc.in, n, tc.limit)
		}
	}
}

func TestTextWidth(t *testing.T) {
	if a, w := textWidth("ab"), textWidth("例え"); w != 2*a {
		t.Errorf("wide runes: %v, want twice %v", w, a)
	}
	if textWidth("e\u0301") != textWidth("e") {
		t.Error("a combining mark takes space")
	}
}

func TestMapNetworkHook(t *testing.T) {
	r := bigResult(30)
	var svg bytes.Buffer
	m, err := writeMapSVG(&svg, r, Options{Network: func(a netip.Addr) (netip.Prefix, string) {
		if a.Is4() {
			p, _ := a.Prefix(16)
			return p, "AS64500 EXAMPLE-NET, NL"
		}
		return netip.Prefix{}, ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg.Bytes(), []byte("AS64500 EXAMPLE-NET, NL")) || !bytes.Contains(svg.Bytes(), []byte("192.0.0.0/16")) {
		t.Error("network hook's prefix and detail not drawn")
	}
	if !bytes.Contains(svg.Bytes(), []byte("2001:db8:1::/48")) {
		t.Error("an invalid prefix from the hook did not fall back to the default")
	}
	checkNoOverlap(t, "closed", m.boxes(false))
	checkNoOverlap(t, "open", m.boxes(true))
}

func TestMapSkipsBadAddresses(t *testing.T) {
	r := second()
	r.Names[0].Addresses = append(r.Names[0].Addresses, "not-an-address", "300.1.2.3")
	var svg bytes.Buffer
	m, err := writeMapSVG(&svg, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Skipped != 2 {
		t.Errorf("skipped %d addresses, want 2", m.Skipped)
	}
	if bytes.Contains(svg.Bytes(), []byte("not-an-address")) {
		t.Error("an unparsable address was drawn")
	}
}
