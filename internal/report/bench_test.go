package report

import (
	"io"
	"testing"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// Benchmarks render a result of n names in each format and report names
// per second and output size.
//
//	go test ./internal/report -run '^$' -bench . -benchtime 2s
func benchmarkFormat(b *testing.B, format string, n int) {
	r := bigResult(n)
	for i := range r.Names {
		r.Records = append(r.Records, recon.Record{Name: r.Names[i].Name, Type: "A", TTL: 300, Data: "192.0.2.1", Source: "axfr"})
	}
	results := []*scan.Report{r}
	cw := &countWriter{}
	if err := Write(cw, format, results, Options{}); err != nil {
		b.Fatal(err)
	}
	size := cw.n
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, format, results, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "names/s")
	b.ReportMetric(float64(size), "bytes/report")
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

func BenchmarkHTML320(b *testing.B)  { benchmarkFormat(b, "html", 320) }
func BenchmarkHTML5000(b *testing.B) { benchmarkFormat(b, "html", 5000) }
func BenchmarkXLSX5000(b *testing.B) { benchmarkFormat(b, "xlsx", 5000) }
func BenchmarkMD5000(b *testing.B)   { benchmarkFormat(b, "md", 5000) }
func BenchmarkTable5000(b *testing.B) {
	benchmarkFormat(b, "table", 5000)
}

// BenchmarkMapLayout measures the layout alone for 5,000 names.
func BenchmarkMapLayout(b *testing.B) {
	r := bigResult(5000)
	opts := Options{}.withDefaults()
	v := buildView(0, r, nil)
	b.ReportAllocs()
	for b.Loop() {
		buildMap(r, v, opts)
	}
	b.ReportMetric(5000*float64(b.N)/b.Elapsed().Seconds(), "names/s")
}
