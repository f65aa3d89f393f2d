package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dnsscout/dnsscout/internal/scan"
)

// seedFromTestdata adds every (name, data) pair of the testdata results to
// a fuzz corpus.
func seedFromTestdata(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.json")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var r scan.Report
		if err := json.Unmarshal(b, &r); err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		for _, rec := range r.Records {
			f.Add(rec.Name, rec.Data)
		}
		for _, fd := range r.Findings {
			for _, e := range fd.Evidence {
				f.Add(fd.Subject, e)
			}
		}
	}
}
