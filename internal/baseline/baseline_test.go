package baseline

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/finding"
	"github.com/dnsscout/dnsscout/internal/recon"
)

func name(n string, addrs ...string) recon.Name { return recon.Name{Name: n, Addresses: addrs} }

func rec(n, typ, data string) recon.Record {
	return recon.Record{Name: n, Type: typ, TTL: 300, Data: data, Source: "axfr"}
}

func fnd(id, subject string, sev finding.Severity, evidence ...string) finding.Finding {
	return finding.Finding{ID: id, Subject: subject, Severity: sev, Title: id, Evidence: evidence, Remediation: "fix " + id}
}

func result(names []recon.Name, records []recon.Record, findings []finding.Finding) *Run {
	return &Run{Result: &recon.Result{Domain: "example.com", Started: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), Names: names, Records: records}, Findings: findings}
}

// summary renders a diff compactly for table tests: "kind:change:identity".
func summary(d Diff) []string {
	var out []string
	for _, n := range d.Names {
		out = append(out, "name:"+n.Change+":"+n.Name)
	}
	for _, r := range d.Records {
		out = append(out, "record:"+r.Change+":"+r.Name+" "+r.Type+" "+r.Data)
	}
	for _, f := range d.Findings {
		out = append(out, "finding:"+f.Change+":"+f.ID+"@"+f.Subject)
	}
	return out
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur *Run
		want      []string
		counts    change.Summary
	}{
		{
			name: "identical",
			prev: result([]recon.Name{name("www.example.com", "192.0.2.1")}, []recon.Record{rec("www.example.com", "A", "192.0.2.1")}, []finding.Finding{fnd("wildcard", "*.example.com", finding.Medium, "a")}),
			cur:  result([]recon.Name{name("www.example.com", "192.0.2.1")}, []recon.Record{rec("www.example.com", "A", "192.0.2.1")}, []finding.Finding{fnd("wildcard", "*.example.com", finding.Medium, "a")}),
		},
		{
			name:   "new and gone names",
			prev:   result([]recon.Name{name("old.example.com", "192.0.2.1")}, nil, nil),
			cur:    result([]recon.Name{name("new.example.com", "192.0.2.2")}, nil, nil),
			want:   []string{"name:new:new.example.com", "name:gone:old.example.com"},
			counts: change.Summary{Names: change.Counts{New: 1, Gone: 1}},
		},
		{
			name:   "addresses moved",
			prev:   result([]recon.Name{name("www.example.com", "192.0.2.1", "2001:db8::1")}, nil, nil),
			cur:    result([]recon.Name{name("www.example.com", "192.0.2.9", "2001:db8::1")}, nil, nil),
			want:   []string{"name:changed:www.example.com"},
			counts: change.Summary{Names: change.Counts{Changed: 1}},
		},
		{
			name: "address order and spelling are not changes",
			prev: result([]recon.Name{name("www.example.com", "2001:DB8::1", "192.0.2.1")}, nil, nil),
			cur:  result([]recon.Name{name("WWW.example.com.", "192.0.2.1", "2001:db8:0::1", "192.0.2.1")}, nil, nil),
		},
		{
			name:   "records by name, type and data; TTL and source are not identity",
			prev:   result(nil, []recon.Record{rec("www.example.com", "A", "192.0.2.1"), rec("www.example.com", "TXT", `"a"`)}, nil),
			cur:    result(nil, []recon.Record{{Name: "www.example.com", Type: "a", TTL: 60, Data: "192.0.2.1", Source: "bruteforce"}, rec("www.example.com", "TXT", `"b"`)}, nil),
			want:   []string{`record:gone:www.example.com TXT "a"`, `record:new:www.example.com TXT "b"`},
			counts: change.Summary{Records: change.Counts{New: 1, Gone: 1}},
		},
		{
			name:   "duplicate records count once",
			prev:   result(nil, nil, nil),
			cur:    result(nil, []recon.Record{rec("www.example.com", "A", "192.0.2.1"), rec("www.example.com", "A", "192.0.2.1")}, nil),
			want:   []string{"record:new:www.example.com A 192.0.2.1"},
			counts: change.Summary{Records: change.Counts{New: 1}},
		},
		{
			name: "findings: new, severity changed, evidence changed, gone, same",
			prev: result(nil, nil, []finding.Finding{
				fnd("axfr-allowed", "ns1.example.com 192.0.2.1", finding.High, "37 records"),
				fnd("nsec3-enumerable", "example.com", finding.Medium, "5 cracked"),
				fnd("dmarc-missing", "_dmarc.example.com", finding.Medium),
				fnd("spf-permissive", "example.com", finding.Low, "+all", "x"),
			}),
			cur: result(nil, nil, []finding.Finding{
				fnd("axfr-allowed", "ns1.example.com 192.0.2.1", finding.Critical, "37 records"),
				fnd("private-address-leak", "intranet.example.com", finding.High),
				fnd("nsec3-enumerable", "example.com", finding.Medium, "9 cracked"),
				fnd("spf-permissive", "example.com", finding.Low, "x", "+all"),
			}),
			want: []string{"finding:changed:axfr-allowed@ns1.example.com 192.0.2.1", "finding:new:private-address-leak@intranet.example.com",
				"finding:gone:dmarc-missing@_dmarc.example.com", "finding:changed:nsec3-enumerable@example.com"},
			counts: change.Summary{Findings: change.Counts{New: 1, Changed: 2, Gone: 1}},
		},
		{
			name:   "same id, other subject is another finding",
			prev:   result(nil, nil, []finding.Finding{fnd("private-address-leak", "a.example.com", finding.High)}),
			cur:    result(nil, nil, []finding.Finding{fnd("private-address-leak", "b.example.com", finding.High)}),
			want:   []string{"finding:gone:private-address-leak@a.example.com", "finding:new:private-address-leak@b.example.com"},
			counts: change.Summary{Findings: change.Counts{New: 1, Gone: 1}},
		},
		{
			name:   "a repeated identity pairs in order",
			prev:   result(nil, nil, []finding.Finding{fnd("x", "s", finding.Low)}),
			cur:    result(nil, nil, []finding.Finding{fnd("x", "s", finding.Low), fnd("x", "s", finding.Low)}),
			want:   []string{"finding:new:x@s"},
			counts: change.Summary{Findings: change.Counts{New: 1}},
		},
		{
			name:   "no baseline: all new",
			prev:   nil,
			cur:    result([]recon.Name{name("www.example.com")}, []recon.Record{rec("www.example.com", "A", "192.0.2.1")}, []finding.Finding{fnd("x", "s", finding.Info)}),
			want:   []string{"name:new:www.example.com", "record:new:www.example.com A 192.0.2.1", "finding:new:x@s"},
			counts: change.Summary{Names: change.Counts{New: 1}, Records: change.Counts{New: 1}, Findings: change.Counts{New: 1}},
		},
		{
			name:   "no current result: all gone",
			prev:   result([]recon.Name{name("www.example.com")}, nil, []finding.Finding{fnd("x", "s", finding.Info)}),
			cur:    nil,
			want:   []string{"name:gone:www.example.com", "finding:gone:x@s"},
			counts: change.Summary{Names: change.Counts{Gone: 1}, Findings: change.Counts{Gone: 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Compare(tc.prev, tc.cur)
			if got := summary(d); !slices.Equal(got, tc.want) {
				t.Errorf("diff\n got %q\nwant %q", got, tc.want)
			}
			if d.Summary != tc.counts {
				t.Errorf("summary %+v, want %+v", d.Summary, tc.counts)
			}
			if d.Empty() != (len(tc.want) == 0) {
				t.Errorf("Empty() = %v", d.Empty())
			}
			if d.Missing != (tc.prev == nil) {
				t.Errorf("Missing = %v", d.Missing)
			}
			if d.Domain != "example.com" {
				t.Errorf("Domain = %q", d.Domain)
			}
		})
	}
}

func TestCompareDetails(t *testing.T) {
	prev := result([]recon.Name{name("www.example.com", "192.0.2.1")}, nil, []finding.Finding{
		fnd("axfr-allowed", "ns1", finding.High, "old"), fnd("gone-one", "s", finding.Low, "e"),
	})
	cur := result([]recon.Name{name("www.example.com", "192.0.2.9")}, nil, []finding.Finding{fnd("axfr-allowed", "ns1", finding.Critical, "new")})
	d := Compare(prev, cur)
	if !d.Since.Equal(prev.Started) {
		t.Errorf("Since = %v, want the baseline's start", d.Since)
	}
	n := d.Names[0]
	if !slices.Equal(n.Addresses, []string{"192.0.2.9"}) || !slices.Equal(n.PreviousAddresses, []string{"192.0.2.1"}) {
		t.Errorf("name change %+v", n)
	}
	var ch, gone change.Finding
	for _, f := range d.Findings {
		switch f.Change {
		case change.Changed:
			ch = f
		case change.Gone:
			gone = f
		}
	}
	if ch.Previous == nil || ch.Previous.Severity != finding.High || !slices.Equal(ch.Previous.Evidence, []string{"old"}) || ch.Severity != finding.Critical {
		t.Errorf("changed finding %+v", ch)
	}
	if gone.Remediation != "fix gone-one" || gone.Severity != finding.Low {
		t.Errorf("gone finding %+v, want its remediation and severity kept", gone)
	}
	// Worst first.
	if d.Findings[0].Severity != finding.Critical {
		t.Errorf("findings not ordered worst first: %+v", d.Findings)
	}
	// Compare does not modify its inputs.
	if cur.Findings[0].Change != "" || prev.Findings[0].Change != "" {
		t.Error("Compare marked the inputs")
	}
	// JSON shape.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"domain", "since", "summary", "names", "findings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
}

func TestApply(t *testing.T) {
	prev := result(nil, nil, []finding.Finding{fnd("a", "s", finding.High), fnd("b", "s", finding.Low), fnd("gone", "s", finding.Low)})
	cur := result(nil, nil, []finding.Finding{fnd("a", "s", finding.Critical), fnd("b", "s", finding.Low), fnd("c", "s", finding.Info)})
	cur.Findings[1].Change = "stale"
	d := Compare(prev, cur)
	Apply(cur.Findings, &d)
	got := map[string]string{}
	for _, f := range cur.Findings {
		got[f.ID] = f.Change
	}
	want := map[string]string{"a": "changed", "b": "", "c": "new"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("finding %s marked %q, want %q", k, got[k], v)
		}
	}
	if len(cur.Findings) != 3 {
		t.Errorf("Apply changed the findings list: %d", len(cur.Findings))
	}
	Apply(cur.Findings, nil)
	for _, f := range cur.Findings {
		if f.Change != "" {
			t.Errorf("Apply(nil) left %q on %s", f.Change, f.ID)
		}
	}
	Apply(nil, &d) // must not panic
}

func TestAgainst(t *testing.T) {
	f, err := Load("testdata/array.json")
	if err != nil {
		t.Fatal(err)
	}
	cur := &Run{Result: &recon.Result{Domain: "example.net", Names: []recon.Name{name("www.example.net", "198.51.100.81")}}}
	other := &Run{Result: &recon.Result{Domain: "example.org"}, Findings: []finding.Finding{fnd("x", "s", finding.Low)}}
	ds := map[string]*Diff{}
	for _, r := range []*Run{cur, other, nil} {
		if d := f.Against(r); d != nil {
			ds[d.Domain] = d
		}
	}
	if len(ds) != 2 {
		t.Fatalf("%d diffs, want 2", len(ds))
	}
	if d := ds["example.net"]; d.Missing || d.Summary.Names.Changed != 1 || d.Baseline != "testdata/array.json" {
		t.Errorf("example.net diff %+v", d)
	}
	if d := ds["example.org"]; !d.Missing || d.Summary.Findings.New != 1 {
		t.Errorf("example.org diff %+v, want Missing with everything new", d)
	}
	if other.Findings[0].Change != change.New {
		t.Errorf("Against did not mark findings: %q", other.Findings[0].Change)
	}
	if (*File)(nil).Against(cur) != nil {
		t.Error("Against without a baseline returned a diff")
	}
}

// BenchmarkCompare compares two results of 5,000 names, 20,000 records and
// 200 findings that differ by a tenth.
//
//	go test ./internal/baseline -run '^$' -bench Compare -benchtime 2s
func BenchmarkCompare(b *testing.B) {
	mk := func(shift int) *Run {
		r := &Run{Result: &recon.Result{Domain: "example.com"}}
		for i := 0; i < 5000; i++ {
			n := "h" + itoa(i+shift) + ".example.com"
			r.Names = append(r.Names, name(n, "192.0.2."+itoa(i%250)))
			for j := 0; j < 4; j++ {
				r.Records = append(r.Records, rec(n, "TXT", itoa(j)))
			}
		}
		for i := 0; i < 200; i++ {
			r.Findings = append(r.Findings, fnd("id"+itoa(i%10), "s"+itoa(i+shift/25), finding.Severity(i%5), "e"))
		}
		return r
	}
	prev, cur := mk(0), mk(500)
	b.ReportAllocs()
	items := float64(len(prev.Names) + len(prev.Records) + len(prev.Findings))
	for b.Loop() {
		Compare(prev, cur)
	}
	b.ReportMetric(items*float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

func itoa(i int) string { return strconv.Itoa(i) }
