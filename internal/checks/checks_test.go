package checks

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/finding"
)

func TestKnownIsRegistryOrderAndUnique(t *testing.T) {
	ids := Known()
	if len(ids) != len(All()) {
		t.Fatalf("Known has %d ids, All %d checks", len(ids), len(All()))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("duplicate id %s", id)
		}
		seen[id] = true
	}
	// The brief's public vocabulary, every id present.
	for _, id := range []string{"axfr-allowed", "ixfr-allowed", "nsec-walkable", "nsec3-enumerable", "wildcard",
		"private-address-leak", "internal-name-leak", "open-resolver", "version-disclosure", "hostname-disclosure",
		"dangling-cname", "lame-delegation", "dangling-ns", "soa-serial-mismatch", "ns-set-mismatch",
		"dnssec-missing", "dnssec-invalid", "spf-missing", "spf-permissive", "dmarc-missing", "dmarc-weak",
		"saas-verification-tokens", "ad-srv-exposed", "single-nameserver", "nameserver-diversity"} {
		if !seen[id] {
			t.Errorf("id %s missing from the registry", id)
		}
	}
}

// TestChecksAreComplete: every check carries the fixed text of its
// findings, its severities (highest first, each once) and its documentation.
func TestChecksAreComplete(t *testing.T) {
	for _, c := range All() {
		t.Run(c.ID, func(t *testing.T) {
			if c.ID == "" || c.Title == "" || c.Remediation == "" || len(c.References) == 0 || c.Run == nil {
				t.Errorf("missing id, title, remediation, references or Run: %+v", c)
			}
			if c.Doc.Detects == "" || c.Doc.Severity == "" || c.Doc.Fix == "" || c.Doc.References == "" {
				t.Errorf("doc lacks Detects, Severity, Fix or References: %+v", c.Doc)
			}
			if len(c.Severity) == 0 {
				t.Fatal("no severity")
			}
			for i, r := range c.Severity {
				if i > 0 && r.Level >= c.Severity[i-1].Level {
					t.Errorf("severities not highest first, each once: %v", c.Severity)
				}
				if (r.When == "") != (len(c.Severity) == 1) {
					t.Errorf("severity %s: When %q; want it set exactly when there are several", r.Level, r.When)
				}
			}
			for _, u := range c.References {
				if !strings.HasPrefix(u, "https://") {
					t.Errorf("reference %q is not an https URL", u)
				}
			}
		})
	}
}

// TestDocsDescribeEveryCheck keeps docs/checks.md and the registry in step.
func TestDocsDescribeEveryCheck(t *testing.T) {
	b, err := os.ReadFile("../../docs/checks.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, id := range Known() {
		if !strings.Contains(doc, "\n## `"+id+"`") {
			t.Errorf("docs/checks.md has no section \"## `%s`\"", id)
		}
	}
	for _, s := range []string{"CC BY 4.0", "can-i-take-over-xyz", "dnsrecon", "NOTICE"} {
		if !strings.Contains(doc, s) {
			t.Errorf("docs/checks.md does not mention %q", s)
		}
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name    string
		sel     Selection
		want    []string
		wantErr string
	}{
		{name: "all", sel: Selection{}, want: Known()},
		{name: "only", sel: Selection{Only: []string{"wildcard", "axfr-allowed"}}, want: []string{"axfr-allowed", "wildcard"}},
		{name: "skip", sel: Selection{Skip: slices.Clone(Known()[1:])}, want: []string{"axfr-allowed"}},
		{name: "only and skip", sel: Selection{Only: []string{"wildcard", "axfr-allowed"}, Skip: []string{"wildcard"}}, want: []string{"axfr-allowed"}},
		{name: "unknown only", sel: Selection{Only: []string{"axfr", "wildcard"}}, wantErr: "axfr (valid ids: axfr-allowed, "},
		{name: "unknown skip", sel: Selection{Skip: []string{"nope", "nope"}}, wantErr: "unknown check id: nope (valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := Select(tc.sel)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrUnknownCheck) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrUnknownCheck containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cs {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(context.Background(), nil, nil, Selection{}); !errors.Is(err, ErrNoResult) {
		t.Fatalf("nil result: err = %v", err)
	}
	w := cleanWorld(t)
	if _, err := Run(context.Background(), w.res, nil, Selection{Only: []string{"bogus"}}); !errors.Is(err, ErrUnknownCheck) {
		t.Fatalf("bad selection: err = %v", err)
	}
}

func TestRunCancelled(t *testing.T) {
	w := cleanWorld(t)
	w.addRecords(t, "old.example.com. 300 IN CNAME gone.example.net.")
	w.ex.nxdomain("gone.example.net")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, w.res, w.ex, Selection{Only: []string{"dangling-cname"}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "dangling-cname") {
		t.Fatalf("err = %v, want context.Canceled naming the check", err)
	}
}

// TestCleanWorldHasNoFindings is the negative case of every check at once:
// a well-run domain yields nothing, online and offline.
func TestCleanWorldHasNoFindings(t *testing.T) {
	w := cleanWorld(t)
	if fs := run(t, w.res, w.ex); len(fs) != 0 {
		t.Errorf("online: %q\n%s", summary(fs), evidenceOf(fs))
	}
	if fs := run(t, w.res, nil); len(fs) != 0 {
		t.Errorf("offline: %q\n%s", summary(fs), evidenceOf(fs))
	}
}

func TestNormalize(t *testing.T) {
	in := []finding.Finding{
		{ID: "b", Severity: finding.Low, Subject: "x", Evidence: []string{"1"}},
		{ID: "a", Severity: finding.Low, Subject: "y", Evidence: []string{"2"}},
		{ID: "c", Severity: finding.High, Subject: "z", Evidence: []string{"3"}},
		{ID: "b", Severity: finding.Medium, Subject: "x", Evidence: []string{"4", "1"}},
		{ID: "a", Severity: finding.Low, Subject: "x", Evidence: []string{"5"}},
	}
	got := Normalize(in)
	want := []string{"high c z", "medium b x", "low a x", "low a y"}
	if s := summary(got); !slices.Equal(s, want) {
		t.Fatalf("got %q, want %q", s, want)
	}
	if !slices.Equal(got[1].Evidence, []string{"4", "1"}) {
		t.Fatalf("merged evidence = %q", got[1].Evidence)
	}
	if in[3].Evidence[0] != "4" || len(in[0].Evidence) != 1 {
		t.Fatalf("Normalize modified its input: %v", in)
	}
	if Normalize(nil) == nil {
		t.Fatal("Normalize(nil) = nil, want empty slice")
	}
}

func TestRecordsThatDoNotParseAreSkipped(t *testing.T) {
	w := cleanWorld(t)
	w.res.Records = append(w.res.Records,
		recRaw("bad.example.com", "A", "not-an-address"),
		recRaw("bad example.com", "A", "192.0.2.1"),
		recRaw("x.example.com", "TXT", "\"unterminated"),
		recRaw("", "", ""),
		recRaw("y.example.com", "A", "10.0.0.1\n10.0.0.2"),
	)
	env := &Env{Result: w.res, Now: w.res.Started.Local}
	env.init()
	n := len(env.records())
	if env.skipped != 5 {
		t.Fatalf("skipped = %d, want 5 (kept %d)", env.skipped, n)
	}
	if fs := run(t, w.res, nil, "private-address-leak"); len(fs) != 0 {
		t.Fatalf("unparseable records produced findings: %q", summary(fs))
	}
}
