package cli

import (
	"io"

	"github.com/dnsscout/dnsscout/internal/report"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// writeResults writes the finished results in format.
func writeResults(w io.Writer, format string, results []*scan.Report, color bool) error {
	return report.Write(w, format, results, report.Options{Version: Version, Color: color})
}
