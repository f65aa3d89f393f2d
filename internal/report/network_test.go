package report

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

func TestNetworkFromAddresses(t *testing.T) {
	infos := []recon.AddressInfo{
		{Address: "192.0.2.10", Prefix: "192.0.2.0/25", ASN: 64500, ASName: "EXAMPLE-NET", Country: "NL"},
		{Address: "192.0.2.10", Prefix: "192.0.2.0/26", ASN: 64999}, // a repeat: the first entry wins
		{Address: "192.0.2.200", ASN: 64501, ASName: "NO-PREFIX"},
		{Address: "198.51.100.7", Prefix: "203.0.113.0/24", ASN: 64502}, // does not contain the address
		{Address: "198.51.100.8", Prefix: "not a prefix", ASN: 64503},
		{Address: "198.51.100.9", Prefix: "198.51.100.9/24", Country: "DE"}, // unmasked, country only
		{Address: "203.0.113.5", Prefix: "::ffff:203.0.113.0/120", ASN: 64504},
		{Address: "::ffff:203.0.113.77", Prefix: "203.0.113.64/26", ASN: 64505, ASName: "MAPPED"},
		{Address: "2001:db8:1::1", Prefix: "2001:db8::/32", ASN: 64506, ASName: "V6\x1b[31m"},
		{Address: "not an address", Prefix: "192.0.2.0/24", ASN: 1},
	}
	hook := NetworkFromAddresses(infos)
	tests := []struct {
		addr, prefix, detail string
	}{
		{"192.0.2.10", "192.0.2.0/25", "AS64500 EXAMPLE-NET, NL"},
		{"192.0.2.200", "192.0.2.0/24", ""},
		{"198.51.100.7", "198.51.100.0/24", ""},
		{"198.51.100.8", "198.51.100.0/24", ""},
		{"198.51.100.9", "198.51.100.0/24", "DE"},
		{"203.0.113.5", "203.0.113.0/24", "AS64504"},
		{"203.0.113.77", "203.0.113.64/26", "AS64505 MAPPED"},
		{"2001:db8:1::1", "2001:db8::/32", `AS64506 V6\x1b[31m`},
		{"2001:db8:2::1", "2001:db8:2::/48", ""},
		{"192.0.2.11", "192.0.2.0/24", ""},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			p, d := hook(netip.MustParseAddr(tc.addr))
			if p.String() != tc.prefix || d != tc.detail {
				t.Errorf("network(%s) = %s %q, want %s %q", tc.addr, p, d, tc.prefix, tc.detail)
			}
		})
	}
	ai := newAddrIntel(infos)
	if ai.skipped != 1 || ai.badPrefix != 2 {
		t.Errorf("skipped %d addresses and %d prefixes, want 1 and 2", ai.skipped, ai.badPrefix)
	}
	// The names tables still show the AS of an address without a prefix.
	if got := ai.addrView("192.0.2.200").Text(); got != "192.0.2.200 (AS64501)" {
		t.Errorf("address view %q", got)
	}
	if got := ai.addrView("192.0.2.11"); got.Text() != "192.0.2.11" || !strings.Contains(got.Note, "no address data") {
		t.Errorf("address without data: %+v", got)
	}
}

// networksResult has a web farm in one announced prefix, a second origin
// AS for the same prefix, hosts no database covers, an address that only
// address intelligence lists, and rubbish.
func networksResult() *scan.Report {
	r := &scan.Report{Result: &recon.Result{Domain: "example.com"}}
	for _, n := range []struct {
		name  string
		addrs []string
	}{
		{"www.example.com", []string{"192.0.2.10", "2001:db8:10::10"}},
		{"api.example.com", []string{"192.0.2.11"}},
		{"app.example.com", []string{"192.0.2.12"}},
		{"moas.example.com", []string{"192.0.2.130"}},
		{"vpn.example.com", []string{"198.51.100.20", "bogus"}},
		{"v6.example.com", []string{"2001:db8:99::1"}},
	} {
		r.Names = append(r.Names, recon.Name{Name: n.name, Addresses: n.addrs, Sources: []string{"axfr"}})
	}
	r.Nameservers = []recon.Nameserver{{Name: "ns1.example.com", Zone: "example.com", Addresses: []string{"192.0.2.1"}, Resolves: true}}
	farm := func(a string) recon.AddressInfo {
		return recon.AddressInfo{Address: a, Prefix: "192.0.2.0/25", ASN: 64500, ASName: "EXAMPLE-NET", Country: "NL", IntelSources: []string{"iptoasn"}}
	}
	r.Addresses = []recon.AddressInfo{
		farm("192.0.2.1"), farm("192.0.2.10"), farm("192.0.2.11"), farm("192.0.2.12"),
		{Address: "192.0.2.130", Prefix: "192.0.2.128/25", ASN: 64500, ASName: "EXAMPLE-NET", Country: "NL", IntelSources: []string{"cymru"}},
		{Address: "192.0.2.140", Prefix: "192.0.2.128/25", ASN: 64501, ASName: "OTHER-ORIGIN", IntelSources: []string{"cymru"}},
		{Address: "198.51.100.20"},
		{Address: "2001:db8:10::10", Prefix: "2001:db8:10::/48", ASN: 64500, ASName: "EXAMPLE-NET", Country: "NL", IntelSources: []string{"iptoasn"}},
	}
	return r
}

func TestBuildNetworks(t *testing.T) {
	r := networksResult()
	v := buildView(0, r, nil)
	type row struct{ prefix, as, names, addrs string }
	var got []row
	for _, n := range v.Networks {
		got = append(got, row{n.Prefix, n.ASText(), strings.Join(n.Names, " "), strings.Join(n.Addrs, " ")})
	}
	want := []row{
		{"192.0.2.0/25", "AS64500 EXAMPLE-NET", "api.example.com app.example.com ns1.example.com www.example.com", "192.0.2.1 192.0.2.10 192.0.2.11 192.0.2.12"},
		{"192.0.2.128/25", "AS64500 EXAMPLE-NET", "moas.example.com", "192.0.2.130"},
		{"198.51.100.0/24", "", "vpn.example.com", "198.51.100.20"},
		{"2001:db8:10::/48", "AS64500 EXAMPLE-NET", "www.example.com", "2001:db8:10::10"},
		{"2001:db8:99::/48", "", "v6.example.com", "2001:db8:99::1"},
		{"192.0.2.128/25", "AS64501 OTHER-ORIGIN", "", "192.0.2.140"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("networks:\n got %q\nwant %q", got, want)
	}
	if v.skippedAddrs != 1 {
		t.Errorf("skipped %d addresses, want 1 (bogus)", v.skippedAddrs)
	}
	fallback := map[string]bool{}
	for _, n := range v.Networks {
		fallback[n.Prefix] = n.Fallback
	}
	if !fallback["198.51.100.0/24"] || !fallback["2001:db8:99::/48"] || fallback["192.0.2.0/25"] {
		t.Errorf("fallback flags %v", fallback)
	}
	if d := v.Networks[0].DataText(); d != "iptoasn" {
		t.Errorf("data of the first network %q", d)
	}
	if d := v.Networks[2].DataText(); !strings.Contains(d, "/24") {
		t.Errorf("data of a fallback network %q", d)
	}
}

// TestMapSharesNetworks: without Options.Network the map draws exactly the
// networks of the Networks section that hold a drawn host, with the AS as
// the detail line.
func TestMapSharesNetworks(t *testing.T) {
	for name, r := range map[string]*scan.Report{"sample": loadSample(t), "networks": networksResult()} {
		t.Run(name, func(t *testing.T) {
			v := buildView(0, r, nil)
			m := buildMap(r, v, Options{}.withDefaults())
			drawn := map[string]bool{}
			for _, b := range m.Bands {
				for _, g := range b.Groups {
					for _, n := range g.Nets {
						drawn[strings.Join(n.Lines, "|")] = true
					}
				}
			}
			section := map[string]bool{}
			for _, n := range v.Networks {
				if len(n.Names) == 0 {
					continue
				}
				label := n.Prefix
				if d := (netGroup{ASN: asnOf(n.AS), ASName: n.ASName, Country: n.Country}).detail(); d != "" {
					label += "|" + d
				}
				section[label] = true
			}
			if len(drawn) == 0 {
				t.Fatal("no networks drawn")
			}
			for k := range drawn {
				if !section[k] {
					t.Errorf("map network %q is not in the Networks section", k)
				}
			}
			for k := range section {
				if !drawn[k] {
					t.Errorf("network %q of the Networks section is not on the map", k)
				}
			}
		})
	}
}

func asnOf(as string) uint32 {
	var n uint32
	for _, c := range strings.TrimPrefix(as, "AS") {
		n = n*10 + uint32(c-'0')
	}
	return n
}

func TestNamesShowASAndSeen(t *testing.T) {
	r := networksResult()
	table := string(render(t, "table", []*scan.Report{r}, Options{}))
	if strings.Contains(table, "FIRST SEEN") {
		t.Error("first/last seen columns without passive data")
	}
	if !strings.Contains(table, "192.0.2.10 (AS64500),2001:db8:10::10 (AS64500)") || !strings.Contains(table, "198.51.100.20,bogus") {
		t.Errorf("names table lacks the AS of the addresses:\n%s", table)
	}
	r.Names[1].PassiveSources = []string{"crtsh"}
	r.Names[1].FirstSeen = time.Date(2021, 4, 5, 6, 7, 8, 0, time.UTC)
	for format, want := range map[string][]string{
		"table": {"FIRST SEEN", "2021-04-05", "axfr, passive (crtsh)"},
		"md":    {"| First seen | Last seen |", "| 2021-04-05 |", "`axfr, passive (crtsh)`"},
		"html":  {"<th>First seen</th>", `<td title="2021-04-05T06:07:08Z">2021-04-05</td>`, "axfr, passive (crtsh)"},
	} {
		out := string(render(t, format, []*scan.Report{r}, Options{}))
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s output lacks %q", format, w)
			}
		}
	}
}

func TestHistoricAndPassiveSections(t *testing.T) {
	r := loadSample(t)
	v := buildView(0, r, nil)
	if len(v.Historic) != len(r.Historic) || len(r.Historic) == 0 {
		t.Fatalf("%d historic rows for %d entries", len(v.Historic), len(r.Historic))
	}
	for _, h := range v.Historic {
		if h.Finding == nil || h.Finding.ID != historicFindingID || h.Finding.Subject != h.Name {
			t.Errorf("historic %s is not joined to its finding: %+v", h.Name, h.Finding)
		}
	}
	for format, want := range map[string][]string{
		"table": {"SEEN BEFORE, GONE NOW (2)", "CNAME target gone", "passive source circl:https://pdns.example.net: 0 names from 0 observations in 1.5s; failed:"},
		"md":    {"### Seen before, gone now (2)", "`example-shop.cloudapp.test`", "- `crtsh`: 6 names from 14 observations in 2.3s"},
		"html":  {`id="d0-historic"`, `id="d0-passive"`, `<a href="#d0-historic">2 names</a>`},
	} {
		out := string(render(t, format, []*scan.Report{r}, Options{}))
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s output lacks %q", format, w)
			}
		}
	}
	// Without passive data there is no section.
	plain := second()
	for _, format := range []string{"table", "md", "html"} {
		out := string(render(t, format, []*scan.Report{plain}, Options{}))
		for _, no := range []string{"SEEN BEFORE", "Seen before", "Passive sources", "passive source"} {
			if strings.Contains(out, no) {
				t.Errorf("%s output without passive data mentions %q", format, no)
			}
		}
	}
}

func TestXLSXNetworksAndHistoric(t *testing.T) {
	r := loadSample(t)
	v := buildView(0, r, nil)
	_, rows := readWorkbook(t, render(t, "xlsx", []*scan.Report{r}, Options{}))
	nets := rows["Networks"]
	if len(nets)-1 != len(v.Networks) {
		t.Fatalf("%d network rows, want %d", len(nets)-1, len(v.Networks))
	}
	if got := strings.Join(nets[0], ","); got != "Domain,Network,AS,AS name,Country,Names,Name list,Addresses,Address list,Data" {
		t.Errorf("Networks header %s", got)
	}
	first := v.Networks[0]
	if row := nets[1]; row[1] != first.Prefix || row[2] != first.AS || row[5] != "7" || row[6] != strings.Join(first.Names, "\n") {
		t.Errorf("first network row %q, want %+v", row, first)
	}
	hist := rows["Historic"]
	if len(hist)-1 != len(r.Historic) {
		t.Fatalf("%d historic rows, want %d", len(hist)-1, len(r.Historic))
	}
	for i, h := range r.Historic {
		row := hist[i+1]
		if row[1] != h.Name || row[2] != h.Kind || row[6] != strings.Join(h.Records, "\n") {
			t.Errorf("historic row %q, want %+v", row, h)
		}
	}
	// The Names sheet carries networks, AS, country and passive dates.
	header := rows["Names"][0]
	col := func(name string) int { return slices.Index(header, name) }
	for _, row := range rows["Names"][1:] {
		if row[1] == "www.example.com" {
			if row[col("AS")] != "AS64500" || row[col("Networks")] != "192.0.2.0/26 2001:db8:10::/48" || row[col("First seen")] != "2019-03-01T08:00:00Z" {
				t.Errorf("www row %q", row)
			}
		}
	}
	// Nameservers: each address with its network and AS.
	nsHeader := rows["Nameservers"][0]
	for _, row := range rows["Nameservers"][1:] {
		if len(row) > 4 && row[4] == "198.51.100.53" {
			if row[slices.Index(nsHeader, "AS")] != "AS64502" || row[slices.Index(nsHeader, "AS name")] != "DNS-EXAMPLE & CO <ops>" {
				t.Errorf("ns2 row %q", row)
			}
		}
	}
	f, err := excelize.OpenReader(bytes.NewReader(render(t, "xlsx", []*scan.Report{hostile()}, Options{})))
	if err != nil {
		t.Fatalf("hostile workbook: %v", err)
	}
	f.Close()
}

// FuzzNetworks feeds arbitrary address and prefix text, as a hostile or
// broken JSON result would carry, to the address index: nothing may panic,
// every network must contain its address, and the section must list every
// parsable address once.
//
//	go test ./internal/report -run '^$' -fuzz FuzzNetworks -fuzztime 20s
func FuzzNetworks(f *testing.F) {
	r := loadResult(f, "testdata/sample.json")
	for _, a := range r.Addresses {
		f.Add(a.Address, a.Prefix, a.ASN, a.ASName)
	}
	f.Add("::ffff:192.0.2.1", "::ffff:192.0.2.0/120", uint32(1), "")
	f.Add("fe80::1%eth0", "fe80::/10", uint32(2), "x")
	f.Add("192.0.2.1", "0.0.0.0/0", uint32(3), "")
	f.Fuzz(func(t *testing.T, addr, prefix string, asn uint32, asName string) {
		r := &scan.Report{Result: &recon.Result{Domain: "example.com",
			Names:     []recon.Name{{Name: "a.example.com", Addresses: []string{addr, "192.0.2.1"}}},
			Addresses: []recon.AddressInfo{{Address: addr, Prefix: prefix, ASN: asn, ASName: asName}, {Address: "192.0.2.1", Prefix: prefix, ASN: asn}},
		}}
		hook := NetworkFromAddresses(r.Addresses)
		for _, s := range []string{addr, "192.0.2.1"} {
			a, err := netip.ParseAddr(s)
			if err != nil {
				continue
			}
			a = a.Unmap().WithZone("")
			if p, _ := hook(a); !p.Contains(a) {
				t.Fatalf("network %s of %s does not contain it", p, a)
			}
		}
		v := buildView(0, r, nil)
		seen := map[string]int{}
		for _, n := range v.Networks {
			for _, a := range n.Addrs {
				seen[a]++
			}
		}
		for a, c := range seen {
			if c != 1 {
				t.Fatalf("address %s in %d networks", a, c)
			}
		}
		if seen["192.0.2.1"] != 1 {
			t.Fatalf("192.0.2.1 missing from the networks: %v", seen)
		}
		var buf bytes.Buffer
		if err := Write(&buf, "table", []*scan.Report{r}, Options{}); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsRune(buf.String(), 0x1b) {
			t.Fatal("raw escape in the table")
		}
	})
}
