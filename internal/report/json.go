package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// streamJSON writes results exactly as json.MarshalIndent(v, "", "  ")
// would (v: the result, or the array of them), but streams the three
// lists that grow with the zone — names, records, addresses — one element
// at a time instead of building the whole document twice in memory (a
// transferred zone of a million records made that gigabytes).
func streamJSON(w io.Writer, results []*scan.Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	prefix := ""
	if len(results) > 1 {
		prefix = "  "
		bw.WriteString("[\n")
	}
	for i, r := range results {
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString(prefix)
		if err := streamResult(bw, r, prefix); err != nil {
			return err
		}
	}
	if len(results) > 1 {
		bw.WriteString("\n]")
	}
	bw.WriteString("\n")
	return bw.Flush()
}

// streamResult writes one result at indentation prefix, without a final
// newline.
func streamResult(w *bufio.Writer, r *scan.Report, prefix string) error {
	shallow, res := *r, *r.Result
	shallow.Result = &res
	type list struct {
		field string
		n     int
		elem  func(i int) any
	}
	var lists []list
	// Non-empty lists are replaced by empty ones, whose place in the
	// marshalled object is where their elements go.
	if len(r.Names) > 0 {
		res.Names = []recon.Name{}
		lists = append(lists, list{"names", len(r.Names), func(i int) any { return &r.Names[i] }})
	}
	if len(r.Records) > 0 {
		res.Records = []recon.Record{}
		lists = append(lists, list{"records", len(r.Records), func(i int) any { return &r.Records[i] }})
	}
	if len(r.Addresses) > 0 {
		res.Addresses = []recon.AddressInfo{}
		lists = append(lists, list{"addresses", len(r.Addresses), func(i int) any { return &r.Addresses[i] }})
	}
	b, err := json.MarshalIndent(&shallow, prefix, "  ")
	if err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	inner := prefix + "    "
	for len(lists) > 0 {
		// The first list left in b: its empty array at the object's top
		// level (one indentation step in).
		at, which := -1, 0
		for j, l := range lists {
			marker := []byte("\n" + prefix + "  \"" + l.field + "\": []")
			if k := bytes.Index(b, marker); k >= 0 && (at < 0 || k < at) {
				at, which = k+len(marker)-1, j
			}
		}
		if at < 0 {
			return fmt.Errorf("report: json: list %q not found in the marshalled result", lists[0].field)
		}
		l := lists[which]
		w.Write(b[:at]) // up to and including "["
		for i := range l.n {
			e, err := json.MarshalIndent(l.elem(i), inner, "  ")
			if err != nil {
				return fmt.Errorf("report: json: %s %d: %w", l.field, i, err)
			}
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString("\n" + inner)
			w.Write(e)
		}
		w.WriteString("\n" + prefix + "  ")
		b = b[at:] // from "]"
		lists = append(lists[:which], lists[which+1:]...)
	}
	_, err = w.Write(b)
	return err
}
