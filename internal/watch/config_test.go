package watch

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	full, err := os.ReadFile("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		// want is the watch list with --every 2h ("" for an error),
		// err a part of the error.
		want []Domain
		err  string
	}{
		{"full", string(full), []Domain{{"example.com", 6 * time.Hour}, {"shop.example.com", time.Hour}, {"xn--bcher-kva.example", 6 * time.Hour}}, ""},
		{"the flag's interval", `{"domains": [{"domain": "Example.COM."}]}`, []Domain{{"example.com", 2 * time.Hour}}, ""},
		{"no domains, interval too short", `{"domains": [], "every": "10ms"}`, nil, "shorter than 1s"},
		{"twice", `{"domains": [{"domain": "example.com"}, {"domain": "EXAMPLE.com"}]}`, nil, "also domains[0]"},
		{"not a name", `{"domains": [{"domain": "a..b"}]}`, nil, "domains[0]"},
		{"a wildcard", `{"domains": [{"domain": "*.example.com"}]}`, nil, "not a domain name"},
		{"interval too short", `{"domains": [{"domain": "example.com", "every": "10ms"}]}`, nil, "shorter than 1s"},
		{"bad duration", `{"every": "often", "domains": [{"domain": "example.com"}]}`, nil, `duration "often"`},
		{"typo", `{"domains": [{"domain": "example.com", "evry": "1h"}]}`, nil, `unknown field "evry"`},
		{"syntax", "{\n\"domains\": [,]}", nil, "line 2"},
		{"bad alerts", `{"domains": [{"domain": "example.com"}], "alerts": {"rules": [], "sinks": []}}`, nil, "alerts: sinks: at least one sink"},
		{"trailing data", `{"domains": [{"domain": "example.com"}]} {}`, nil, "data after"},
		{"empty", ``, nil, "empty input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "watch: bad config: ") {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.WatchList(2 * time.Hour); !slices.Equal(got, tc.want) {
				t.Errorf("watch list %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("testdata/full.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"domains": [{"domain": "example.com", "every": "1h"}]}`))
	f.Add([]byte(`{"every": "1s", "domains": [{"domain": "ex\u00e4mple.com"}], "alerts": null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			if len(err.Error()) > 600 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			return
		}
		for _, d := range c.WatchList(0) {
			if d.Every < MinInterval {
				t.Errorf("%s: interval %v", d.Name, d.Every)
			}
			if n, err := NormalizeDomain(d.Name); err != nil || n != d.Name {
				t.Errorf("domain %q not normalized (%q, %v)", d.Name, n, err)
			}
		}
	})
}
