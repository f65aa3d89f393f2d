package scan_test

import (
	"go/build"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/dnsscout/dnsscout/"

// deps returns the module's packages that pkg imports, directly or not
// (tests excluded), as paths relative to the module.
func deps(t *testing.T, root, pkg string, memo map[string][]string) []string {
	t.Helper()
	if d, ok := memo[pkg]; ok {
		return d
	}
	memo[pkg] = nil // cycles end here
	p, err := build.ImportDir(filepath.Join(root, pkg), 0)
	if err != nil {
		t.Fatalf("%s: %v", pkg, err)
	}
	var out []string
	for _, imp := range p.Imports {
		rel, ok := strings.CutPrefix(imp, module)
		if !ok {
			continue
		}
		out = append(out, rel)
		out = append(out, deps(t, root, rel, memo)...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	memo[pkg] = out
	return out
}

// TestImportsRunOneWay: the layers import downwards only — cli on top,
// then api and report, then scan, then recon, checks and baseline, with
// change and finding at the bottom. recon knows nothing of judging,
// comparing or rendering, and nothing below cli imports it.
func TestImportsRunOneWay(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	memo := map[string][]string{}
	// not: neither directly nor through another package; notDirect: not
	// directly (recon reaches finding and change only through passive's
	// store source: store keeps the findings history).
	forbidden := []struct {
		pkg       string
		not       []string
		notDirect []string
	}{
		{"internal/recon", []string{"internal/checks", "internal/report", "internal/baseline", "internal/scan", "internal/api", "internal/cli"}, []string{"internal/change", "internal/finding"}},
		{"internal/checks", []string{"internal/baseline", "internal/report", "internal/scan", "internal/api", "internal/cli"}, []string{"internal/change"}},
		{"internal/baseline", []string{"internal/checks", "internal/report", "internal/scan", "internal/api", "internal/cli"}, nil},
		{"internal/change", []string{"internal/recon", "internal/checks", "internal/baseline", "internal/report", "internal/scan", "internal/api", "internal/cli"}, nil},
		{"internal/scan", []string{"internal/report", "internal/api", "internal/cli"}, nil},
		{"internal/report", []string{"internal/api", "internal/cli"}, nil},
		{"internal/api", []string{"internal/cli"}, nil},
	}
	for _, f := range forbidden {
		t.Run(f.pkg, func(t *testing.T) {
			for _, d := range deps(t, root, f.pkg, memo) {
				if slices.Contains(f.not, d) {
					t.Errorf("%s imports %s", f.pkg, d)
				}
			}
			p, err := build.ImportDir(filepath.Join(root, f.pkg), 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range p.Imports {
				if slices.Contains(f.notDirect, strings.TrimPrefix(imp, module)) {
					t.Errorf("%s imports %s directly", f.pkg, imp)
				}
			}
		})
	}
	// Nothing but main imports cli.
	pkgs, err := filepath.Glob(filepath.Join(root, "internal", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range pkgs {
		rel, _ := filepath.Rel(root, dir)
		if rel == "internal/cli" {
			continue
		}
		if _, err := build.ImportDir(dir, 0); err != nil {
			continue // not a package (testdata, nested only)
		}
		if slices.Contains(deps(t, root, rel, memo), "internal/cli") {
			t.Errorf("%s imports internal/cli", rel)
		}
	}
}
