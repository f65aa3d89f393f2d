package passive

import (
	"errors"
	"strings"
	"testing"
)

// TestSourceKinds: every kind is complete, named once, and what the
// messages, ParseConfig and Options name.
func TestSourceKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range sourceKinds {
		t.Run(k.name, func(t *testing.T) {
			if k.name == "" || k.open == nil || seen[k.name] {
				t.Fatalf("kind without name or open, or named twice: %+v", k)
			}
			seen[k.name] = true
			if (k.secret == nil) != (k.flagSecret == nil) || k.secret != nil && len(k.envSecret) == 0 {
				t.Error("a credential comes from a flag, the environment and the config file, or from none")
			}
			if (k.secret != nil || k.needsDB) != (k.missing != nil) {
				t.Error("a kind that needs something says so in missing, and only then")
			}
			if k.missing != nil && !errors.Is(k.missing, ErrAuth) && !errors.Is(k.missing, ErrConfig) {
				t.Errorf("missing %v wraps neither ErrAuth nor ErrConfig", k.missing)
			}
		})
	}
	for _, name := range []string{KindStore, KindCrtSh, KindCIRCL, KindDNSDB} {
		if kindNamed(name) == nil {
			t.Errorf("kind %s is not registered", name)
		}
	}
	if got := fileKinds(); got != "dnsdb, circl or crtsh" {
		t.Errorf("fileKinds = %q", got)
	}
	if _, err := ParseConfig([]byte(`{"sources":[{"type":"store"}]}`)); err == nil || !strings.Contains(err.Error(), "want dnsdb, circl or crtsh") {
		t.Errorf("a store entry in the config file: err %v", err)
	}
	if _, err := NewSources(Options{Sources: []string{"nope"}, Getenv: env(nil)}, nil); err == nil ||
		!strings.Contains(err.Error(), "kinds: store, dnsdb, circl, crtsh;") {
		t.Errorf("unknown source: err %v", err)
	}
}
