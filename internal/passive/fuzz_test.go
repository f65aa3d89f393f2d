package passive

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/dnsscout/dnsscout/internal/dnsname"
)

var discard = slog.New(slog.DiscardHandler)

// addSeeds adds every file under testdata/dir as a seed.
func addSeeds(f *testing.F, dirs ...string) {
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

func checkObservation(t *testing.T, o Observation, domain string) {
	t.Helper()
	if !dnsname.IsSubdomain(o.Name, domain) {
		t.Fatalf("out-of-scope name %q", o.Name)
	}
	if !o.FirstSeen.IsZero() && !o.LastSeen.IsZero() && o.LastSeen.Before(o.FirstSeen) {
		t.Fatalf("%s: last seen %v before first seen %v", o.Name, o.LastSeen, o.FirstSeen)
	}
}

// FuzzReadCrtSh: any body gives names in scope and canonical, or an error;
// never a panic.
// Run: go test ./internal/passive -run '^$' -fuzz FuzzReadCrtSh -fuzztime 20s
func FuzzReadCrtSh(f *testing.F) {
	addSeeds(f, "crtsh")
	f.Fuzz(func(t *testing.T, b []byte) {
		obs, _ := readCrtSh(context.Background(), bytes.NewReader(b), "example.com", 1000, discard)
		for _, o := range obs {
			checkObservation(t, o, "example.com")
			if n, err := dnsname.Normalize(o.Name); err != nil || n != o.Name {
				t.Fatalf("name %q is not canonical (%q, %v)", o.Name, n, err)
			}
			if o.Count == 0 {
				t.Fatalf("%s: zero certificates", o.Name)
			}
		}
	})
}

// FuzzReadStream: CIRCL (COF NDJSON) and DNSDB (SAF) bodies give in-scope
// observations with a type and data, or an error; never a panic.
// Run: go test ./internal/passive -run '^$' -fuzz FuzzReadStream -fuzztime 20s
func FuzzReadStream(f *testing.F) {
	addSeeds(f, "circl", "dnsdb")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = readStream(context.Background(), bytes.NewReader(b), "example.com", "fuzz", 1000, discard, func(o Observation) error {
			checkObservation(t, o, "example.com")
			if !o.HasRecord() {
				t.Fatalf("%s: observation without a record: %+v", o.Name, o)
			}
			return nil
		})
	})
}

// FuzzCertDNSName: accepted certificate identities are canonical names
// without wildcards.
// Run: go test ./internal/passive -run '^$' -fuzz FuzzCertDNSName -fuzztime 20s
func FuzzCertDNSName(f *testing.F) {
	for _, s := range []string{"*.a.example.com", "admin@example.com", "bücher.example.com", "192.0.2.1", "WWW.EXAMPLE.COM.", "*.*.x.example.com"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := certDNSName(string(b))
		if !ok {
			return
		}
		if c, err := dnsname.Normalize(n); err != nil || c != n || bytes.ContainsAny([]byte(n), "*@") {
			t.Fatalf("certDNSName(%q) = %q, not canonical (%q, %v)", b, n, c, err)
		}
	})
}

// FuzzParseConfig: any config file parses or fails with ErrConfig.
// Run: go test ./internal/passive -run '^$' -fuzz FuzzParseConfig -fuzztime 20s
func FuzzParseConfig(f *testing.F) {
	addSeeds(f, "config")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		for _, s := range c.Sources {
			if s.Type != KindCrtSh && s.Type != KindCIRCL && s.Type != KindDNSDB {
				t.Fatalf("accepted type %q", s.Type)
			}
		}
	})
}
