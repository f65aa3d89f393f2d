package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasExamples walks the whole command tree: every command
// a user can run documents itself with a short line and examples, and its
// --help works.
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRoot(&env{getenv: func(string) string { return "" }})
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			n++
			path := sub.CommandPath()
			if strings.TrimSpace(sub.Short) == "" {
				t.Errorf("%s has no short description", path)
			}
			if !strings.Contains(sub.Example, "dnsscout ") {
				t.Errorf("%s has no examples", path)
			}
			walk(sub)
		}
	}
	walk(root)
	if n < 8 {
		t.Fatalf("only %d commands found", n)
	}
	for _, args := range [][]string{{"--help"}, {"recon", "--help"}, {"ingest", "--help"}, {"pdns", "prune", "--help"}} {
		code, out, errOut := run(t, nil, args...)
		if code != ExitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}
