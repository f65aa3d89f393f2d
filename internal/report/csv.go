package report

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/dnsscout/dnsscout/internal/change"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// writeCSV writes every record of every result with the header
// name,type,ttl,data,source. With a baseline it adds a change column and
// appends the records that are gone.
func writeCSV(w io.Writer, results []*scan.Report, opts Options) error {
	cw := csv.NewWriter(w)
	withChanges := anyChanges(results)
	header := []string{"name", "type", "ttl", "data", "source"}
	if withChanges {
		header = append(header, "change")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	for _, r := range results {
		cs := r.Changes
		marks := map[change.RecordKey]string{}
		if cs != nil {
			for _, rc := range cs.Records {
				marks[rc.Key()] = rc.Change
			}
		}
		for _, rec := range r.Records {
			row[0], row[1], row[2], row[3], row[4] = cell(rec.Name), cell(rec.Type), strconv.FormatUint(uint64(rec.TTL), 10), cell(rec.Data), cell(rec.Source)
			if withChanges {
				row[5] = marks[change.NewRecordKey(rec.Name, rec.Type, rec.Data)]
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		if cs == nil {
			continue
		}
		for _, rc := range cs.Records {
			if rc.Change != change.Gone {
				continue
			}
			row[0], row[1], row[2], row[3], row[4], row[5] = cell(rc.Name), cell(rc.Type), strconv.FormatUint(uint64(rc.TTL), 10), cell(rc.Data), cell(rc.Source), rc.Change
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell neutralises a value that a spreadsheet would evaluate as a formula
// (it starts with = + - @, a tab or a carriage return) by prefixing an
// apostrophe, as OWASP advises for CSV injection. Record data in
// presentation form never starts that way, so real data is unchanged.
func cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
