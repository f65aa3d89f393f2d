package checks

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnsname"
)

var update = flag.Bool("update", false, "rewrite golden files and takeover.json from testdata")

// deriveTakeover builds takeover.json from can-i-take-over-xyz's
// fingerprints.json: services with at least one CNAME that is a domain name
// (IP addresses and URLs in the cname column are dropped), suffixes
// canonical and unique, statuses lower-cased, HTTP fingerprints dropped.
func deriveTakeover(fingerprints []byte) (takeoverData, error) {
	var src []struct {
		Service    string   `json:"service"`
		Status     string   `json:"status"`
		CNAME      []string `json:"cname"`
		NXDomain   bool     `json:"nxdomain"`
		Discussion string   `json:"discussion"`
	}
	if err := json.Unmarshal(fingerprints, &src); err != nil {
		return takeoverData{}, err
	}
	d := takeoverData{
		Source:  "https://github.com/EdOverflow/can-i-take-over-xyz",
		Path:    "fingerprints.json",
		Commit:  "5bd4e1283791",
		License: "CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/)",
		Attribution: "Derived from \"can-i-take-over-xyz\" by EdOverflow and contributors " +
			"(https://github.com/EdOverflow/can-i-take-over-xyz), licensed under CC BY 4.0.",
		Changes: "Kept service, status, nxdomain flag, discussion URL and the CNAME values that are domain names " +
			"(canonical form, duplicates removed); dropped services without such a CNAME, IP addresses, URLs " +
			"and the HTTP fingerprints.",
		Services: []takeoverService{},
	}
	for _, s := range src {
		var suffixes []string
		for _, c := range s.CNAME {
			c = strings.TrimSpace(c)
			if _, err := netip.ParseAddr(c); err == nil || strings.Contains(c, "/") || strings.Contains(c, ":") {
				continue
			}
			n, err := dnsname.Normalize(c)
			if err != nil || !strings.Contains(n, ".") {
				continue
			}
			suffixes = append(suffixes, n)
		}
		slices.Sort(suffixes)
		suffixes = slices.Compact(suffixes)
		if len(suffixes) == 0 {
			continue
		}
		d.Services = append(d.Services, takeoverService{
			Service:    s.Service,
			Status:     strings.ToLower(strings.TrimSpace(s.Status)),
			NXDomain:   s.NXDomain,
			Suffixes:   suffixes,
			Discussion: markdownURL(s.Discussion),
		})
	}
	return d, nil
}

// markdownURL returns the target of a "[text](url)" link, or s unchanged.
func markdownURL(s string) string {
	if i := strings.Index(s, "]("); i >= 0 && strings.HasSuffix(s, ")") {
		return s[i+2 : len(s)-1]
	}
	return s
}

// TestTakeoverData checks that the embedded takeover.json is exactly what
// the source file derives to (run with -update to regenerate it).
func TestTakeoverData(t *testing.T) {
	src, err := os.ReadFile("testdata/takeover/fingerprints.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := deriveTakeover(src)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile("takeover.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(want, takeoverJSON) {
		t.Fatalf("takeover.json differs from its derivation from testdata/takeover/fingerprints.json; run go test ./internal/checks -run TestTakeoverData -update")
	}
	got, err := takeover()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got.Services {
		switch s.Status {
		case statusVulnerable, statusEdgeCase, statusNotVulnerable:
		default:
			t.Errorf("service %s: unknown status %q", s.Service, s.Status)
		}
	}
}

func TestMatchTakeover(t *testing.T) {
	tests := []struct {
		name, service, suffix string
		ok                    bool
	}{
		{"shop-old.azurewebsites.net.", "Microsoft Azure", "azurewebsites.net", true},
		{"a.b.cloudapp.azure.com", "Microsoft Azure", "cloudapp.azure.com", true},
		{"example-bucket.s3.amazonaws.com", "AWS/S3", "s3.amazonaws.com", true},
		{"x.elb.amazonaws.com", "AWS/Load Balancer (ELB)", "elb.amazonaws.com", true},
		{"app.elasticbeanstalk.com", "AWS/Elastic Beanstalk", "elasticbeanstalk.com", true},
		{"elasticbeanstalk.com.example.net", "", "", false},
		{"notazurewebsites.net", "", "", false},
		{"www.example.com", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, suf, ok := matchTakeover(tc.name)
			if ok != tc.ok || s.Service != tc.service || suf != tc.suffix {
				t.Fatalf("matchTakeover(%q) = %q, %q, %v; want %q, %q, %v", tc.name, s.Service, suf, ok, tc.service, tc.suffix, tc.ok)
			}
		})
	}
}
